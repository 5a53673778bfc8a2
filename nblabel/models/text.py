"""Default text model: TF-IDF (word + character n-grams) and one-vs-rest logistic regression.

Follows the scikit-learn contract: keyword parameters, no work in ``__init__``, fitted
attributes end in ``_``, ``fit``/``predict_proba``/``predict``. Any other estimator with
``predict_proba`` can replace it in a session.

Two modes, chosen by the shape of ``y`` given to :meth:`TextTagModel.fit`:

multi-label
    ``y`` is a ``(n, k)`` 0/1 indicator array (columns named by ``tags=``) or a list of
    tag lists. One logistic regression per tag; ``predict_proba`` returns ``(n, k)``
    independent per-tag probabilities. A tag seen with only one value so far (no positive
    or no negative example) gets a constant probability, so a cold session never crashes.
single-label
    ``y`` is a 1-D sequence of class names; ``predict_proba`` rows sum to 1.

*Mention features*: for each tag, whether its name or one of its aliases (from
``vocabulary=``) occurs in the text, as a word. It is given to that tag's classifier only,
weighted by ``mention_weight``. On the madewithml time split (random subsets, threshold
0.5) it raises micro-F1 at 800 labels from 0.48 to 0.54 and at 200 labels from 0.31 to 0.44
(see ``benchmarks/results/tags.md``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from nblabel.vocab import TagVocabulary, normalize_tag

__all__ = ["TextTagModel", "mention_matrix"]


def _as_texts(X: Any) -> list[str]:
    if hasattr(X, "columns"):  # DataFrame: join its columns
        return [" . ".join("" if v is None else str(v) for v in row) for row in X.itertuples(False)]
    if isinstance(X, str):
        raise ValueError("X must be a sequence of texts, not one string")
    return ["" if x is None else str(x) for x in X]


#: probability at or above which a tag is predicted (see ``TextTagModel(threshold=)``)
DEFAULT_THRESHOLD = 0.4

_TOKEN = re.compile(r"[a-z0-9]+[+#]*")


def mention_matrix(
    texts: Sequence[str], tags: Sequence[str], vocabulary: TagVocabulary | None = None
) -> sparse.csr_matrix:
    """``(n, k)`` 0/1 matrix: does text ``i`` mention tag ``j`` (its name or an alias)?

    Words are compared, not substrings: ``"computer-vision"`` matches "computer vision",
    "Computer-Vision" and "computervision" but not "computer visionary".
    """
    keys: dict[str, set[int]] = {}
    longest = 1
    names = {t: j for j, t in enumerate(tags)}
    spellings = [(normalize_tag(t), j) for t, j in names.items()]
    if vocabulary is not None:
        spellings += [(a, names[t]) for a, t in vocabulary.aliases().items() if t in names]
    for key, j in spellings:
        words = _TOKEN.findall(key)
        if not words:
            continue
        longest = max(longest, len(words))
        for variant in ("-".join(words), "".join(words)):
            keys.setdefault(variant, set()).add(j)
    rows, cols = [], []
    for i, x in enumerate(texts):
        words = _TOKEN.findall(x.lower())
        hit: set[int] = set()
        for n in range(1, longest + 1):
            for s in range(len(words) - n + 1):
                gram = words[s : s + n]
                for variant in (("-".join(gram), "".join(gram)) if n > 1 else (gram[0],)):
                    js = keys.get(variant)
                    if js:
                        hit |= js
        rows.extend([i] * len(hit))
        cols.extend(hit)
    data = np.ones(len(rows))
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), len(tags)))


class _CorpusCache:
    """Fitted vectorizers and feature rows of recently used corpora (bounded, thread-safe).

    An active-learning session refits the model every few labels on the same pool of
    texts; with ``corpus=`` the TF-IDF is fitted once per pool and each text's features and
    tag mentions are computed once, so a refit costs only the logistic regressions.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Any, dict[str, Any]] = OrderedDict()

    def get(self, key: Any, build: Any) -> dict[str, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        entry = build()  # outside the lock: may take a second
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_CACHE = _CorpusCache()


class TextTagModel(ClassifierMixin, BaseEstimator):
    """TF-IDF + one-vs-rest logistic regression for tags (or one class) of short texts.

    Parameters
    ----------
    tags : sequence of str, optional
        Names of the columns of an indicator ``y``; needed for mention features when ``y``
        is an array. Ignored when ``y`` is a list of tag lists (names are learned).
    vocabulary : TagVocabulary, optional
        Adds aliases to the mention features.
    word_ngrams, char_ngrams : (int, int) or None
        N-gram ranges of the word and character (``char_wb``) TF-IDF; ``None`` drops one.
    C : float
        Inverse regularisation of each logistic regression.
    class_weight : "balanced" or None
        Rare tags need ``"balanced"`` to be predicted at all.
    mention_weight : float
        Weight of a tag's own mention feature; 0 disables mention features.
    threshold : float or "auto"
        Probability at or above which :meth:`predict` gives a tag (multi-label mode). The
        default 0.4 was chosen on two development time splits of madewithml (never the
        benchmark's test projects): against 0.5 it raised their micro-F1 at every label
        count from 100, for random and uncertainty orders alike (by 0.006-0.044); 0.3 and
        0.35 gave about the same F1. It changes only :meth:`predict`, not the probabilities an
        order ranks by.
        ``"auto"``: per-tag thresholds calibrated on out-of-fold predictions of the training
        labels (3 folds: fitting costs 4 times as much).
    corpus : sequence of str, optional
        All texts of the pool, labeled or not. The TF-IDF vocabulary and weights are fitted
        on them (unsupervised, so using unlabeled texts is fair) instead of on the training
        texts, and their features are computed once and reused by every refit on the same
        corpus (a small cache), which makes refits in an active-learning loop several times
        faster. ``None``: fit the TF-IDF on the training texts.
    lsa_components : int
        Topic features (latent semantic analysis): this many components of a truncated SVD
        of the TF-IDF rows, fitted on ``corpus`` (or on the training texts when there is no
        corpus), L2-normalised, scaled by ``lsa_weight`` and appended to the TF-IDF. They
        carry what a few labeled texts teach to the unlabeled texts that share their topics
        but not their words. ``0``: none.
    lsa_weight : float
        Scale of the topic features against the TF-IDF rows (each of unit length).
    random_state : int or None
        Seed of liblinear's shuffling (and of the topic projection). ``None`` draws from
        NumPy's global generator, so two fits on the same labels may differ slightly.

    Attributes
    ----------
    classes_ : ndarray of str
        Tag (or class) names, the columns of :meth:`predict_proba`.
    multilabel_ : bool
    vectorizer_ : FeatureUnion
    estimators_ : list
        Per tag a fitted ``LogisticRegression`` or a float (constant probability).
    coef_, intercept_, mention_coef_ : ndarray
        The per-tag weights stacked, ``(n_features, k)``, ``(k,)``, ``(k,)`` (multi-label).
    thresholds_ : ndarray of shape (k,)
    svd_ : TruncatedSVD or None
        The topic projection (``lsa_components > 0``).
    """

    def __init__(
        self,
        *,
        tags: Sequence[str] | None = None,
        vocabulary: TagVocabulary | None = None,
        word_ngrams: tuple[int, int] | None = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 5),
        C: float = 10.0,
        class_weight: str | None = "balanced",
        mention_weight: float = 3.0,
        threshold: float | str = DEFAULT_THRESHOLD,
        corpus: Sequence[str] | None = None,
        lsa_components: int = 0,
        lsa_weight: float = 1.0,
        random_state: int | None = 0,
    ) -> None:
        self.tags = tags
        self.vocabulary = vocabulary
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.C = C
        self.class_weight = class_weight
        self.mention_weight = mention_weight
        self.threshold = threshold
        self.corpus = corpus
        self.lsa_components = lsa_components
        self.lsa_weight = lsa_weight
        self.random_state = random_state

    # ------------------------------------------------------------------ helpers
    def _make_vectorizer(self) -> FeatureUnion:
        parts: list[tuple[str, TfidfVectorizer]] = []
        if self.word_ngrams:
            parts.append(
                ("word", TfidfVectorizer(ngram_range=self.word_ngrams, sublinear_tf=True))
            )
        if self.char_ngrams:
            parts.append(
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True,
                        min_df=2,
                    ),
                )
            )
        if not parts:
            raise ValueError("word_ngrams and char_ngrams cannot both be None")
        return FeatureUnion(parts)

    def _corpus_entry(self) -> dict[str, Any]:
        corpus = [str(t) for t in self.corpus]  # type: ignore[union-attr]
        key = (hash(tuple(corpus)), len(corpus), self.word_ngrams, self.char_ngrams)

        def build() -> dict[str, Any]:
            vec = self._make_vectorizer()
            A = vec.fit_transform(corpus).tocsr()
            index = {t: i for i, t in enumerate(corpus)}
            return {"vectorizer": vec, "A": A, "index": index, "texts": corpus, "mentions": {}}

        return _CACHE.get(key, build)

    def _rows(self, texts: list[str], entry: dict[str, Any]) -> tuple[np.ndarray, list[int]]:
        idx = np.array([entry["index"].get(t, -1) for t in texts], dtype=np.intp)
        return idx, [i for i, j in enumerate(idx) if j < 0]

    def _features(self, texts: list[str], fit: bool) -> sparse.csr_matrix:
        """TF-IDF rows of ``texts``, followed by their topic features when asked for."""
        A = self._tfidf(texts, fit)
        if fit:
            self.svd_ = self._fit_topics(A)
        svd = getattr(self, "svd_", None)  # a model pickled before topic features has none
        if svd is None:
            return A
        T = self.lsa_weight * normalize(svd.transform(A))
        return sparse.hstack([A, sparse.csr_matrix(T)], format="csr")

    def _fit_topics(self, A: sparse.csr_matrix) -> TruncatedSVD | None:
        if self.lsa_components <= 0:
            return None
        if self.corpus is None:
            rows = A
        else:  # fitted once per corpus, kept beside its TF-IDF in the cache
            entry = self._corpus_entry()
            key = ("svd", self.lsa_components, self.random_state)
            svd = entry.get(key)
            if svd is not None:
                return svd
            rows = entry["A"]
        k = min(int(self.lsa_components), rows.shape[0] - 1, rows.shape[1] - 1)
        if k < 1:
            return None
        svd = TruncatedSVD(k, random_state=self.random_state).fit(rows)
        if self.corpus is not None:
            entry[key] = svd
        return svd

    def _tfidf(self, texts: list[str], fit: bool) -> sparse.csr_matrix:
        if self.corpus is not None:
            entry = self._corpus_entry()
            self.vectorizer_ = entry["vectorizer"]
            idx, missing = self._rows(texts, entry)
            if not missing:
                return entry["A"][idx]
            known = np.flatnonzero(idx >= 0)
            out = sparse.vstack(
                [entry["A"][idx[known]], self.vectorizer_.transform([texts[i] for i in missing])]
            ).tocsr()
            order = np.concatenate([known, np.asarray(missing, dtype=np.intp)])
            return out[np.argsort(order)].tocsr()
        if fit:
            try:
                return self.vectorizer_.fit_transform(texts).tocsr()
            except ValueError:  # e.g. every char n-gram below min_df on tiny inputs
                self.vectorizer_ = FeatureUnion(
                    [("word", TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"))]
                )
                return self.vectorizer_.fit_transform(texts).tocsr()
        return self.vectorizer_.transform(texts).tocsr()

    def _with_mention(self, A: sparse.csr_matrix, M: sparse.csr_matrix | None, j: int):
        if M is None:
            return A
        out = sparse.hstack([A, self.mention_weight * M[:, j]], format="csr")
        out.has_canonical_format = True  # the extra column is last: rows stay sorted
        return out

    # ------------------------------------------------------------------ API
    def fit(self, X: Any, y: Any) -> TextTagModel:
        """Fit on texts ``X`` and labels ``y`` (indicator array, tag lists or class names)."""
        texts = _as_texts(X)
        Y, classes, multilabel = self._encode(y, len(texts))
        self.classes_ = np.asarray(classes, dtype=object)
        self.multilabel_ = multilabel
        self.vectorizer_ = self._make_vectorizer()
        A = self._features(texts, fit=True)
        if not multilabel:
            self.estimators_ = [self._fit_single(A, Y)]
            self.thresholds_ = np.full(len(classes), np.nan)
            return self
        M = self._mentions(texts)
        self.estimators_ = self._fit_tags(A, M, Y)
        self.coef_, self.intercept_, self.mention_coef_ = self._stack(self.estimators_, A.shape[1])
        if self.threshold == "auto":
            self.thresholds_ = self._calibrate(A, M, Y)
        else:
            self.thresholds_ = np.full(len(classes), float(self.threshold))
        return self

    def _fit_tags(self, A: sparse.csr_matrix, M: sparse.csr_matrix | None, Y: np.ndarray) -> list:
        out: list[Any] = []
        for j in range(Y.shape[1]):
            yj = Y[:, j]
            if yj.min() == yj.max():
                # one value seen: keep it, but stay a little unsure (never exactly 0 or 1)
                out.append(float((yj.sum() + 0.5) / (len(yj) + 1.0)))
                continue
            clf = LogisticRegression(
                C=self.C, class_weight=self.class_weight, solver="liblinear", dual=True,
                max_iter=1000, random_state=self.random_state,
            )
            out.append(clf.fit(self._with_mention(A, M, j), yj))
        return out

    @staticmethod
    def _stack(estimators: list, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # one sparse product predicts every tag: logit = A @ coef + mention * w + intercept
        k = len(estimators)
        coef, intercept, mention = np.zeros((d, k)), np.zeros(k), np.zeros(k)
        for j, est in enumerate(estimators):
            if isinstance(est, float):
                continue
            w = est.coef_.ravel()
            coef[:, j] = w[:d]
            intercept[j] = est.intercept_[0]
            if w.size > d:
                mention[j] = w[d]
        return coef, intercept, mention

    def _proba(
        self, A: sparse.csr_matrix, M: sparse.csr_matrix | None, estimators: list,
        stacked: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray:
        coef, intercept, mention = stacked
        logits = np.asarray(A @ coef + intercept, dtype=float)
        if M is not None:
            logits += M.toarray() * (self.mention_weight * mention)
        P = 1.0 / (1.0 + np.exp(-np.clip(logits, -500, 500)))
        for j, est in enumerate(estimators):
            if isinstance(est, float):
                P[:, j] = est
        return P

    def _calibrate(
        self, A: sparse.csr_matrix, M: sparse.csr_matrix | None, Y: np.ndarray
    ) -> np.ndarray:
        """Per-tag thresholds from 3-fold out-of-fold probabilities on the training labels.

        One global threshold maximises micro-F1; a tag with ``n`` positives gets its own
        F1-best threshold shrunk towards the global one, ``(n t_tag + 10 t) / (n + 10)``.
        Fewer than 30 labels: ``DEFAULT_THRESHOLD`` everywhere.
        """
        n, k = Y.shape
        if n < 30:
            return np.full(k, DEFAULT_THRESHOLD)
        oof = np.zeros(Y.shape)
        for f in range(3):
            va = np.arange(n) % 3 == f
            est = self._fit_tags(A[~va], None if M is None else M[~va], Y[~va])
            Mv = None if M is None else M[va]
            oof[va] = self._proba(A[va], Mv, est, self._stack(est, A.shape[1]))
        grid = np.arange(0.1, 0.91, 0.05)
        pos = Y == 1

        def f1(pred: np.ndarray, axis: int | None) -> np.ndarray:
            tp = (pred & pos).sum(axis=axis)
            return 2 * tp / np.maximum(pred.sum(axis=axis) + pos.sum(axis=axis), 1)

        glob = grid[int(np.argmax([f1(oof >= t, None) for t in grid]))]
        per = np.stack([f1(oof >= t, 0) for t in grid])  # (grid, k)
        best = grid[per.argmax(axis=0)]
        npos = pos.sum(axis=0)
        return (npos * best + 10 * glob) / (npos + 10)

    def _encode(self, y: Any, n: int) -> tuple[np.ndarray, list[str], bool]:
        if getattr(y, "ndim", 1) == 2:
            Y = np.asarray(y).astype(int)
            names = [str(i) for i in range(Y.shape[1])] if self.tags is None else list(self.tags)
            if len(names) != Y.shape[1]:
                raise ValueError(f"tags= names {len(names)} columns but y has {Y.shape[1]}")
            ml = True
        else:
            items = list(y)
            if items and all(isinstance(v, str) for v in items):
                classes = sorted(set(items))
                idx = {c: i for i, c in enumerate(classes)}
                return np.array([idx[v] for v in items]), classes, False
            names = sorted({t for ts in items for t in ts} | set(self.tags or ()))
            col = {t: i for i, t in enumerate(names)}
            Y = np.zeros((len(items), len(names)), dtype=int)
            for i, ts in enumerate(items):
                for t in ts:
                    Y[i, col[t]] = 1
            ml = True
        if Y.shape[0] != n:
            raise ValueError(f"X has {n} texts but y has {Y.shape[0]} rows")
        return Y, names, ml

    def _fit_single(self, A: sparse.csr_matrix, y: np.ndarray) -> LogisticRegression | float:
        if len(np.unique(y)) < 2:
            return float(y[0]) if len(y) else 0.0
        return LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=1000, random_state=self.random_state
        ).fit(A, y)

    def _mentions(self, texts: list[str]) -> sparse.csr_matrix | None:
        if self.mention_weight <= 0:
            return None
        tags = [str(c) for c in self.classes_]
        if self.corpus is None:
            return mention_matrix(texts, tags, self.vocabulary)
        entry = self._corpus_entry()
        aliases = {} if self.vocabulary is None else self.vocabulary.aliases()
        key = (tuple(tags), hash(tuple(sorted(aliases.items()))))
        M = entry["mentions"].get(key)
        if M is None:
            M = mention_matrix(entry["texts"], tags, self.vocabulary)
            entry["mentions"][key] = M
        idx, missing = self._rows(texts, entry)
        if not missing:
            return M[idx]
        return mention_matrix(texts, tags, self.vocabulary)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Per-tag probabilities ``(n, k)`` (multi-label) or class probabilities (single)."""
        check_is_fitted(self, "estimators_")
        texts = _as_texts(X)
        A = self._features(texts, fit=False)
        k = len(self.classes_)
        if not self.multilabel_:
            est = self.estimators_[0]
            if isinstance(est, float):
                P = np.zeros((len(texts), k))
                P[:, int(est)] = 1.0
                return P
            return est.predict_proba(A)
        M = self._mentions(texts)
        stacked = (self.coef_, self.intercept_, self.mention_coef_)
        return self._proba(A, M, self.estimators_, stacked)

    def features(self, X: Any) -> sparse.csr_matrix:
        """L2-normalised TF-IDF rows of texts (for density and diversity in selection)."""
        check_is_fitted(self, "vectorizer_")
        A = self._tfidf(_as_texts(X), fit=False)
        norms = np.sqrt(np.asarray(A.multiply(A).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags(1.0 / norms) @ A)

    def predict(self, X: Any) -> np.ndarray:
        """0/1 indicator ``(n, k)`` (multi-label) or class names (single-label)."""
        P = self.predict_proba(X)
        if not self.multilabel_:
            return self.classes_[P.argmax(axis=1)]
        return (self.thresholds_ <= P).astype(int)
