"""Labeling functions (weak supervision): plain functions of a row that vote or abstain.

A labeling function (LF) takes one row of a DataFrame (a pandas ``Series``) and returns

- ``None`` (:data:`ABSTAIN`): no opinion;
- one label (``"spam"``) or, for multi-label tags, a collection of labels (``{"3d",
  "computer-vision"}``): a vote *for* those labels.

:func:`labeling_function` turns a function into an LF; :func:`keyword_lf`,
:func:`regex_lf`, :func:`alias_lfs`, :func:`model_lf` and :func:`lookup_lf` build common
ones. :func:`apply_lfs` runs LFs over a DataFrame into a :class:`Votes` matrix, which
:mod:`nblabel.quality.labelmodel` combines into probabilistic labels and :func:`lf_summary`
describes (coverage, overlaps, conflicts and accuracy against the human labels so far).

Examples
--------
>>> @labeling_function(labels=["spam"])
... def mentions_prize(row):
...     return "spam" if "prize" in row.text.lower() else None
>>> votes = apply_lfs(df, [mentions_prize, keyword_lf("ham", ["meeting", "lunch"])])
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nblabel.errors import InputError
from nblabel.quality.lf_report import _as_labels, lf_summary, plot_lf_summary

__all__ = [
    "ABSTAIN",
    "LabelingFunction",
    "Votes",
    "alias_lfs",
    "apply_lfs",
    "keyword_lf",
    "labeling_function",
    "lf_summary",
    "lookup_lf",
    "model_lf",
    "plot_lf_summary",
    "regex_lf",
]

#: What a labeling function returns to abstain.
ABSTAIN = None


@dataclass(frozen=True)
class LabelingFunction:
    """A named function of a row that votes for labels or abstains.

    Parameters
    ----------
    name : str
        Unique name (a column of the vote matrix).
    func : callable
        ``func(row) -> None | label | collection of labels``.
    labels : tuple of str, optional
        The labels the function can vote (its *polarity*); informative only.
    """

    name: str
    func: Callable[[Any], Any] = field(repr=False)
    labels: tuple[str, ...] | None = None
    #: optional vectorised form ``batch(df, cache) -> list of votes`` used by apply_lfs
    batch: Callable[[pd.DataFrame, dict], list[Any]] | None = field(default=None, repr=False)

    def __call__(self, row: Any) -> frozenset[str]:
        return _as_labels(self.func(row))


def labeling_function(
    name: str | None = None, *, labels: Iterable[str] | None = None
) -> Callable[[Callable[[Any], Any]], LabelingFunction]:
    """Decorator: turn ``f(row)`` into a :class:`LabelingFunction` (named after ``f``).

    ``@labeling_function()`` and ``@labeling_function("name", labels=[...])`` both work; a
    bare ``@labeling_function`` too.
    """
    if callable(name):  # used bare: @labeling_function
        f = name
        return LabelingFunction(f.__name__, f)  # type: ignore[return-value]

    def wrap(f: Callable[[Any], Any]) -> LabelingFunction:
        return LabelingFunction(
            name or f.__name__, f, None if labels is None else tuple(str(x) for x in labels)
        )

    return wrap


def _text_of(row: Any, columns: str | Sequence[str] | None) -> str:
    if isinstance(row, str):
        return row
    if columns is None:
        vals = [v for v in row.to_numpy() if isinstance(v, str)]
    else:
        cols = [columns] if isinstance(columns, str) else list(columns)
        vals = [row[c] for c in cols]
    return " . ".join("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                      for v in vals)


def _word_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """Whole-word match of any of ``words``; ``-``, ``_`` and space are interchangeable."""
    alts = []
    for w in words:
        parts = [re.escape(p) for p in re.split(r"[-_\s]+", w.strip()) if p]
        if parts:
            alts.append(r"[-_\s]?".join(parts))
    if not alts:
        raise InputError("a keyword labeling function needs at least one keyword")
    alts.sort(key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.IGNORECASE)


def regex_lf(
    label: str | Iterable[str],
    pattern: str | re.Pattern[str],
    *,
    text: str | Sequence[str] | None = None,
    name: str | None = None,
) -> LabelingFunction:
    """Vote ``label`` when ``pattern`` matches the row's text (``text`` columns; default:
    all string cells joined), else abstain."""
    pat = re.compile(pattern, re.IGNORECASE) if isinstance(pattern, str) else pattern
    vote = _as_labels(label)

    def f(row: Any) -> frozenset[str] | None:
        return vote if pat.search(_text_of(row, text)) else None

    def batch(df: pd.DataFrame, cache: dict) -> list[Any]:
        key = ("texts", text if text is None or isinstance(text, str) else tuple(text))
        if key not in cache:
            cache[key] = [_text_of(r, text) for _, r in df.iterrows()]
        return [vote if pat.search(x) else None for x in cache[key]]

    return LabelingFunction(
        name or f"regex:{'+'.join(sorted(vote))}", f, tuple(sorted(vote)), batch
    )


def keyword_lf(
    label: str | Iterable[str],
    keywords: Iterable[str],
    *,
    text: str | Sequence[str] | None = None,
    name: str | None = None,
) -> LabelingFunction:
    """Vote ``label`` when one of ``keywords`` occurs as a whole word (case-insensitive;
    ``-``, ``_`` and spaces inside a keyword are interchangeable)."""
    vote = _as_labels(label)
    lf = regex_lf(vote, _word_pattern(keywords), text=text)
    return LabelingFunction(
        name or f"keyword:{'+'.join(sorted(vote))}", lf.func, lf.labels, lf.batch
    )


def alias_lfs(
    vocabulary: Any,
    *,
    text: str | Sequence[str] | None = None,
    tags: Iterable[str] | None = None,
    closure: bool = True,
) -> list[LabelingFunction]:
    """One LF per vocabulary tag: vote the tag (and its ancestors when ``closure``) when the
    text mentions the tag's name or one of its aliases.

    Parameters
    ----------
    vocabulary : TagVocabulary
        See :mod:`nblabel.vocab`.
    tags : iterable of str, optional
        Restrict to these tags (default: all).
    """
    aliases: dict[str, list[str]] = {t: [t] for t in vocabulary.tags}
    for a, t in vocabulary.aliases().items():
        aliases[t].append(a)
    wanted = vocabulary.tags if tags is None else [vocabulary.canonical(t) for t in tags]
    out = []
    for t in wanted:
        vote = [t, *vocabulary.ancestors(t)] if closure else [t]
        out.append(keyword_lf(vote, aliases[t], text=text, name=f"alias:{t}"))
    return out


def lookup_lf(
    label_of: Mapping[str, Any] | Callable[[str], Any],
    *,
    key: str,
    name: str = "lookup",
) -> LabelingFunction:
    """A knowledge-base LF: vote ``label_of[row[key]]`` (a mapping, or a function returning
    ``None`` for unknown keys); abstain when the key is missing."""
    get = label_of.get if isinstance(label_of, Mapping) else label_of

    def f(row: Any) -> Any:
        v = row[key]
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        return get(v)

    return LabelingFunction(name, f)


def model_lf(
    model: Any,
    *,
    text: str | Sequence[str] | None = None,
    features: Callable[[Any], Any] | None = None,
    threshold: float = 0.8,
    name: str = "model",
) -> LabelingFunction:
    """Vote the labels a fitted model gives probability ``>= threshold`` (abstain below).

    ``model`` follows the scikit-learn contract (``predict_proba``, ``classes_``); the row
    is given to it as ``[text]`` (``text`` columns joined) or as ``[features(row)]``.
    For a multi-label model (``multilabel_`` true, as :class:`~nblabel.models.text.TextTagModel`)
    every tag at or above the threshold is voted; otherwise the top class if confident.
    """
    def f(row: Any) -> Any:
        x = [features(row)] if features is not None else [_text_of(row, text)]
        p = np.asarray(model.predict_proba(x))[0]
        classes = [str(c) for c in model.classes_]
        if getattr(model, "multilabel_", False):
            return {c for c, q in zip(classes, p) if q >= threshold} or None
        j = int(np.argmax(p))
        return classes[j] if p[j] >= threshold else None

    return LabelingFunction(name, f)


# ---------------------------------------------------------------------------- votes
@dataclass
class Votes:
    """The votes of ``m`` labeling functions on ``n`` rows.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``n x m``, index of the input rows, one column per LF; cells are frozensets of
        voted labels (empty: abstained).
    classes : list of str
        Label space: the ``classes`` given to :func:`apply_lfs`, then any other voted label.
    multilabel : bool
        Whether an LF may vote several labels and rows may have several true labels.
    """

    frame: pd.DataFrame
    classes: list[str]
    multilabel: bool

    @property
    def names(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    @property
    def shape(self) -> tuple[int, int]:
        return self.frame.shape  # type: ignore[return-value]

    def matrix(self) -> np.ndarray:
        """Single-label: ``(n, m)`` int array, class index or ``-1`` for abstain."""
        idx = {c: i for i, c in enumerate(self.classes)}
        out = np.full(self.frame.shape, -1, dtype=int)
        for j, col in enumerate(self.frame.columns):
            for i, v in enumerate(self.frame[col].to_numpy()):
                if len(v) > 1:
                    raise InputError(
                        f"labeling function {col!r} voted {sorted(v)} on row "
                        f"{self.frame.index[i]!r}: several labels need multilabel=True"
                    )
                if v:
                    out[i, j] = idx[next(iter(v))]
        return out

    def fired(self) -> np.ndarray:
        """``(n, m)`` bool: did LF ``j`` vote on row ``i``."""
        return np.stack([self.frame[c].map(bool).to_numpy(dtype=bool)
                         for c in self.frame.columns], axis=1) if self.shape[1] else \
            np.zeros((self.shape[0], 0), dtype=bool)

    def triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every vote as ``(row, lf, class)`` index arrays (sparse form of the votes)."""
        idx = {c: i for i, c in enumerate(self.classes)}
        r, f, c = [], [], []
        cells = self.frame.to_numpy(dtype=object)
        for i, j in zip(*np.nonzero(self.fired())):
            for lab in cells[i, j]:
                r.append(i)
                f.append(j)
                c.append(idx[lab])
        return np.asarray(r, dtype=int), np.asarray(f, dtype=int), np.asarray(c, dtype=int)

    def tag_matrix(self, tag: str) -> tuple[np.ndarray, np.ndarray]:
        """Multi-label, one tag: ``(n, m_t)`` 0/1 fired-for-``tag`` array over the LFs that
        ever vote ``tag`` (their indices are the second result)."""
        r, f, c = self.triplets()
        return _tag_block(r, f, c, self.classes.index(tag), self.shape[0])

    def indicator(self) -> np.ndarray:
        """``(n, m, k)`` bool: LF ``j`` voted class ``c`` on row ``i`` (small problems)."""
        idx = {c: i for i, c in enumerate(self.classes)}
        out = np.zeros((*self.shape, len(self.classes)), dtype=bool)
        for j, col in enumerate(self.frame.columns):
            for i, v in enumerate(self.frame[col].to_numpy()):
                for c in v:
                    out[i, j, idx[c]] = True
        return out


def _tag_block(
    r: np.ndarray, f: np.ndarray, c: np.ndarray, k: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    sel = c == k
    cols = np.unique(f[sel])
    X = np.zeros((n, len(cols)), dtype=np.int8)
    X[r[sel], np.searchsorted(cols, f[sel])] = 1
    return X, cols


def apply_lfs(
    df: pd.DataFrame,
    lfs: Sequence[LabelingFunction | Callable[[Any], Any]],
    *,
    classes: Iterable[str] | None = None,
    multilabel: bool | None = None,
) -> Votes:
    """Run labeling functions over every row of ``df``.

    Parameters
    ----------
    lfs : sequence of LabelingFunction (plain functions are wrapped, named after them)
    classes : iterable of str, optional
        Label space (order of probability columns later); voted labels not in it are added.
    multilabel : bool, optional
        Default: True when any LF voted several labels on one row.

    Raises
    ------
    InputError
        Two LFs with the same name, or an LF raising on a row (the message names both).
    """
    fns = [lf if isinstance(lf, LabelingFunction) else LabelingFunction(lf.__name__, lf)
           for lf in lfs]
    names = [f.name for f in fns]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"labeling functions need unique names; repeated: {dup}")
    cols: dict[str, list[frozenset[str]]] = {}
    cache: dict = {}
    rows: list[Any] | None = None
    for f in fns:
        if f.batch is not None:
            cols[f.name] = [_as_labels(v) for v in f.batch(df, cache)]
            continue
        if rows is None:
            rows = [r for _, r in df.iterrows()]
        out = []
        for idx, row in zip(df.index, rows):
            try:
                out.append(f(row))
            except Exception as e:
                raise InputError(
                    f"labeling function {f.name!r} failed on row {idx!r}: "
                    f"{type(e).__name__}: {e}"
                ) from e
        cols[f.name] = out
    frame = pd.DataFrame(cols, index=df.index, columns=names, dtype=object)
    seen: list[str] = [str(c) for c in classes or ()]
    known = set(seen)
    several = False
    for col in cols.values():
        for v in col:
            several |= len(v) > 1
            for c in sorted(v - known):
                seen.append(c)
                known.add(c)
    return Votes(frame, seen, several if multilabel is None else bool(multilabel))
