"""Combine the votes of labeling functions into probabilistic labels.

:class:`MajorityVote`
    The baseline. Single-label: the share of votes per class. Multi-label: a tag gets
    probability 1 when at least one function votes it (functions vote only *for* tags, so
    there is no dissent to count).
:class:`LabelModel`
    A generative model that learns how reliable each function is from the votes alone,
    without ground truth: the Dawid-Skene model (A. P. Dawid and A. M. Skene, "Maximum
    likelihood estimation of observer error-rates using the EM algorithm", *Applied
    Statistics* 28(1), 1979), fitted by EM with Dirichlet/Beta pseudo-counts (MAP) so that
    functions that fire rarely do not get degenerate 0/1 estimates.

    - Single-label, three parameterisations (``single=``):

      ``"fires"`` (default)
          for each function ``j`` and class ``v`` it votes, ``alpha = P(j votes v | y =
          v)`` and ``beta = P(j votes v | y != v)``; silence is observed. This suits
          one-sided functions (a keyword that only ever votes one class), the common case.
      ``"one_coin"``
          abstentions missing, one accuracy per function, errors spread evenly over the
          other classes (the "one-coin" Dawid-Skene model); for functions that vote
          several classes. With one-sided functions its EM can drift to a degenerate
          optimum where a class's functions are "always wrong".
      ``"confusion"``
          abstentions missing, a full confusion matrix per function (the paper's model);
          one-sided functions make it collapse to one class.

    - Multi-label: one binary model per tag over the functions that ever vote that tag.
      For them *not* voting the tag is an observation: ``alpha_j = P(fires | tag)`` and
      ``beta_j = P(fires | no tag)``. The posterior weighs who fired and who stayed silent.

Why not Snorkel: ``snorkel 0.10`` (the latest release) installs and runs with pandas 3 on
Python 3.11, but it requires torch, tensorboard, grpcio and protobuf as hard dependencies,
needs at least three labeling functions, and has no multi-label model. This module is pure
numpy and handles both cases.

:func:`push_suggestions` offers the combined labels to a session as suggestions of source
``rule`` with their probability.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nblabel.errors import InputError, UnknownClassError
from nblabel.quality.lf import Votes, _tag_block

__all__ = ["LabelModel", "MajorityVote", "push_suggestions"]


class _Base:
    def fit_predict_proba(self, votes: Votes) -> np.ndarray:
        return self.fit(votes).predict_proba(votes)  # type: ignore[attr-defined]

    def suggest(self, session: Any, votes: Votes, *, threshold: float = 0.5,
                only_unlabeled: bool = True) -> int:
        """Offer this model's combined labels to ``session`` (see :func:`push_suggestions`);
        returns the number of suggestions made."""
        P = self.predict_proba(votes)  # type: ignore[attr-defined]
        return push_suggestions(session, votes, P, threshold=threshold,
                                only_unlabeled=only_unlabeled)

    def predict(self, votes: Votes, *, threshold: float = 0.5) -> list[Any]:
        """Single-label: the most probable class (``None`` for rows without votes).
        Multi-label: the sorted list of tags with probability ``>= threshold``."""
        P = self.predict_proba(votes)  # type: ignore[attr-defined]
        covered = votes.fired().any(axis=1)
        classes = list(votes.classes)
        if votes.multilabel:
            return [sorted(classes[k] for k in np.flatnonzero(p >= threshold)) for p in P]
        return [classes[int(np.argmax(p))] if c else None for p, c in zip(P, covered)]


class MajorityVote(_Base):
    """Majority vote of the labeling functions (see the module docstring)."""

    def fit(self, votes: Votes) -> MajorityVote:
        self.classes_ = list(votes.classes)
        self.multilabel_ = votes.multilabel
        return self

    def predict_proba(self, votes: Votes) -> np.ndarray:
        """``(n, k)``; rows without any vote: uniform (single-label) or zeros (tags)."""
        n, k = votes.shape[0], len(votes.classes)
        r, _f, c = votes.triplets()
        counts = np.zeros((n, k))
        np.add.at(counts, (r, c), 1.0)
        if votes.multilabel:
            return (counts > 0).astype(float)
        tot = counts.sum(axis=1, keepdims=True)
        return np.where(tot > 0, counts / np.maximum(tot, 1), 1.0 / max(k, 1))


class LabelModel(_Base):
    """Dawid-Skene label model fitted by EM (see the module docstring).

    Parameters
    ----------
    n_iter : int
        Maximum EM iterations.
    tol : float
        Stop when no posterior moves more than this.
    accuracy_prior : float
        Single-label: extra pseudo-count on the diagonal of each confusion matrix (how
        strongly functions are assumed better than chance). Multi-label: pseudo-fires of
        ``alpha_j`` (against one pseudo-silence).
    prior_strength : float
        Weight, in data sets, of an empirical-Bayes prior on the class shares (single-
        label: Dirichlet centred on the majority vote's shares) or on each tag's prevalence
        (multi-label: Beta centred on the share of rows any function votes it); with human
        labels, centred on theirs and weighing as many rows. Without it EM on sparse
        functions drifts to degenerate solutions (one class, or "no row has the tag").
    silence_prior : float
        Multi-label: ``beta_j`` gets one pseudo-fire against ``silence_prior * n``
        pseudo-silences (functions are assumed to rarely fire on rows without their tag).
    min_lfs : int
        Multi-label: a tag voted by fewer functions keeps the majority vote (the
        Dawid-Skene model is not identifiable with fewer than three conditionally
        independent voters); listed in ``fallback_``.
    class_prior : array-like, optional
        Fix the single-label class prior instead of learning it.
    single : {"fires", "one_coin", "confusion"}
        Single-label parameterisation (see the module docstring).

    Attributes
    ----------
    classes_ : list of str
    prior_ : ndarray
        Single-label: ``(k,)`` class prior. Multi-label: ``(k,)`` per-tag prevalence.
    confusion_ : ndarray or None
        Single-label ``one_coin``/``confusion``: ``(m, k, k)``, ``P(vote | true class, it
        votes)`` per function.
    fire_params_ : dict
        Single-label ``fires``: ``(function index, class index) -> (alpha, beta)``.
    params_ : dict
        Multi-label: tag -> ``(lf indices, alpha, beta)`` (``alpha = P(fires | tag)``,
        ``beta = P(fires | no tag)`` of the functions that ever vote the tag).
    n_iter_ : int
        EM iterations run (single-label, or the most any tag needed).
    """

    def __init__(
        self,
        *,
        n_iter: int = 200,
        tol: float = 1e-5,
        accuracy_prior: float = 2.0,
        prior_strength: float = 1.0,
        class_prior: Any = None,
        min_lfs: int = 3,
        silence_prior: float = 0.2,
        single: str = "fires",
    ) -> None:
        if single not in ("one_coin", "confusion", "fires"):
            raise InputError(
                f"single must be 'one_coin', 'confusion' or 'fires', got {single!r}")
        self.single = single
        self.min_lfs = min_lfs
        self.silence_prior = silence_prior
        self.n_iter = n_iter
        self.tol = tol
        self.accuracy_prior = accuracy_prior
        self.prior_strength = prior_strength
        self.class_prior = class_prior

    # ------------------------------------------------------------------ fit
    def fit(self, votes: Votes, labels: Any = None) -> LabelModel:
        """Learn the function accuracies (and class prior) from the votes.

        Parameters
        ----------
        labels : sequence, Series, mapping or session, optional
            Human labels of some rows (aligned with the votes' index; ``None`` for
            unlabeled rows). Their posteriors are clamped to the truth in every EM step
            (semi-supervised Dawid-Skene), which also makes tags voted by a single
            function learnable: ``min_lfs`` is then not applied to tags with labeled rows.
        """
        from nblabel.quality.lf_report import _truth_of

        self.classes_ = list(votes.classes)
        self.multilabel_ = votes.multilabel
        self.n_lfs_ = votes.shape[1]
        if not self.classes_:
            raise InputError("no labeling function voted on any row: nothing to learn")
        truth = None
        if labels is not None:
            if isinstance(labels, (list, tuple, np.ndarray)):
                labels = pd.Series(list(labels), index=votes.frame.index, dtype=object)
            truth = _truth_of(labels, votes.frame.index)
        if votes.multilabel:
            self._fit_multi(votes, truth)
        else:
            self._fit_single(votes.matrix(), truth)
        return self

    def _fit_single(self, L: np.ndarray, truth: list | None = None) -> None:
        n, m = L.shape
        k = len(self.classes_)
        # soft majority vote as the starting posterior
        Q = np.zeros((n, k))
        rr, cc = np.nonzero(L >= 0)
        np.add.at(Q, (rr, L[rr, cc]), 1.0)
        Q = np.where(Q.sum(1, keepdims=True) > 0, Q + 1e-2, 1.0)
        Q /= Q.sum(1, keepdims=True)
        known, onehot_truth = self._clamp_single(truth, n, k)
        Q[known] = onehot_truth
        fixed = None if self.class_prior is None else np.asarray(self.class_prior, float)
        # empirical-Bayes Dirichlet prior on the class shares: centred on the majority
        # vote's shares (or the labeled rows'), weighing prior_strength data sets
        covered = (L >= 0).any(1)
        m0 = Q[covered].sum(0) + 1.0
        s0 = self.prior_strength * n
        if known.any():
            m0 = onehot_truth.sum(0) + 1.0
            s0 = self.prior_strength * known.sum()
        m0 = m0 / m0.sum()
        obs = L >= 0
        onehot = [(L[:, j][:, None] == np.arange(k)[None, :]).astype(float) for j in range(m)]
        eye = self.accuracy_prior * np.eye(k)
        it = 0
        for it in range(1, self.n_iter + 1):  # noqa: B007 - n_iter_ below
            pi = fixed if fixed is not None else (Q.sum(0) + s0 * m0)
            pi = pi / pi.sum()
            if self.single == "fires":
                logp = self._fires_step(L, Q, pi, k)
            elif self.single == "one_coin":
                # P(vote = y | y) = acc_j, other classes equally likely when wrong
                right = np.array([(Q * onehot[j]).sum() for j in range(m)])
                acc = (right + self.accuracy_prior + 1.0) / (obs.sum(0) + self.accuracy_prior
                                                             + 2.0)
                conf = acc[:, None, None] * np.eye(k) + \
                    ((1 - acc) / max(k - 1, 1))[:, None, None] * (1 - np.eye(k))
            else:
                conf = np.empty((m, k, k))
                for j in range(m):
                    counts = Q.T @ onehot[j] + 1.0 + eye
                    conf[j] = counts / counts.sum(1, keepdims=True)
            if self.single != "fires":
                logp = np.tile(np.log(pi), (n, 1))
                for j in range(m):
                    o = obs[:, j]
                    logp[o] += np.log(conf[j][:, L[o, j]].T)
            new = np.exp(logp - logp.max(1, keepdims=True))
            new /= new.sum(1, keepdims=True)
            delta = np.abs(new - Q).max() if n else 0.0
            new[known] = onehot_truth
            Q = new
            if delta < self.tol:
                break
        self.prior_ = pi
        self.confusion_ = None if self.single == "fires" else conf
        self.n_iter_ = it

    def _fit_multi(self, votes: Votes, truth: list | None = None) -> None:
        r, f, c = votes.triplets()
        n = votes.shape[0]
        self.params_: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.prior_ = np.zeros(len(self.classes_))
        self.n_iter_ = 0
        self.fallback_: list[str] = []
        a = self.accuracy_prior
        for k, tag in enumerate(self.classes_):
            X, cols = _tag_block(r, f, c, k, n)
            if not len(cols):
                continue
            known = np.zeros(n, dtype=bool) if truth is None else \
                np.array([t is not None for t in truth])
            y_known = np.array([tag in t for t in truth if t is not None], dtype=float) \
                if truth is not None else np.zeros(0)
            if len(cols) < self.min_lfs and not (known.any() and (y_known.any()
                                                                  or X[known].any())):
                # not identifiable: keep the majority vote
                self.fallback_.append(tag)
                self.prior_[k] = X.any(1).mean()
                continue
            fired = X.any(1)
            q = np.where(fired, 0.9, 0.1)  # smoothed union vote to start
            q[known] = y_known
            # empirical-Bayes prior of the prevalence: centred on the union vote's rate, or
            # with labeled rows on their prevalence (then priors weigh as much as they do)
            s0 = self.prior_strength * n
            m0 = (fired.sum() + 1.0) / (n + 2.0)
            silences = self.silence_prior * n
            if known.any():
                s0 = self.prior_strength * known.sum()
                m0 = (y_known.sum() + 1.0) / (known.sum() + 2.0)
                silences = self.silence_prior * known.sum()
            it = 0
            for it in range(1, self.n_iter + 1):  # noqa: B007
                pi = (q.sum() + s0 * m0) / (n + s0)
                alpha = (q @ X + a) / (q.sum() + a + 1.0)
                beta = ((1 - q) @ X + 1.0) / ((1 - q).sum() + 1.0 + silences)
                new = self._posterior(X, pi, alpha, beta)
                delta = np.abs(new - q).max()
                new[known] = y_known
                q = new
                if delta < self.tol:
                    break
            self.n_iter_ = max(self.n_iter_, it)
            self.prior_[k] = pi
            self.params_[tag] = (cols, alpha, beta)

    def _fires_step(self, L: np.ndarray, Q: np.ndarray, pi: np.ndarray, k: int) -> np.ndarray:
        """M-step and E-step of the "fires" model: per (function j, class v) the chance it
        votes v when the class is v (alpha) and when it is not (beta); silence observed."""
        n = len(L)
        a, sil = self.accuracy_prior, self.silence_prior * n
        logp = np.tile(np.log(pi), (n, 1))
        params = {}
        for j in range(L.shape[1]):
            for v in np.unique(L[L[:, j] >= 0, j]):
                x = (L[:, j] == v).astype(float)
                q = Q[:, v]
                alpha = (q @ x + a) / (q.sum() + a + 1.0)
                beta = ((1 - q) @ x + 1.0) / ((1 - q).sum() + 1.0 + sil)
                params[(j, int(v))] = (alpha, beta)
                lb = x * np.log(beta) + (1 - x) * np.log1p(-beta)
                logp += lb[:, None]
                logp[:, v] += x * np.log(alpha) + (1 - x) * np.log1p(-alpha) - lb
        self.fire_params_ = params
        return logp

    def _clamp_single(self, truth: list | None, n: int, k: int
                      ) -> tuple[np.ndarray, np.ndarray]:
        if truth is None:
            return np.zeros(n, dtype=bool), np.zeros((0, k))
        col = {c: i for i, c in enumerate(self.classes_)}
        known = np.array([t is not None and len(t) == 1 and next(iter(t)) in col
                          for t in truth])
        onehot = np.zeros((int(known.sum()), k))
        for r, t in enumerate(t for t, ok in zip(truth, known) if ok):
            onehot[r, col[next(iter(t))]] = 1.0
        return known, onehot

    @staticmethod
    def _posterior(X: np.ndarray, pi: float, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        la = X @ np.log(alpha) + (1 - X) @ np.log1p(-alpha) + np.log(pi)
        lb = X @ np.log(beta) + (1 - X) @ np.log1p(-beta) + np.log1p(-pi)
        return 1.0 / (1.0 + np.exp(np.clip(lb - la, -50, 50)))

    # ------------------------------------------------------------------ predict
    def predict_proba(self, votes: Votes) -> np.ndarray:
        """``(n, k)`` posterior class (single-label) or per-tag (multi-label) probabilities."""
        if not hasattr(self, "classes_"):
            raise InputError("LabelModel is not fitted: call fit(votes) first")
        if votes.shape[1] != self.n_lfs_ or list(votes.classes)[: len(self.classes_)] != \
                self.classes_:
            raise InputError(
                f"votes have {votes.shape[1]} functions and classes {votes.classes[:5]}...; "
                f"the model was fitted on {self.n_lfs_} functions and {self.classes_[:5]}..."
            )
        n = votes.shape[0]
        if self.multilabel_:
            r, f, c = votes.triplets()
            P = np.zeros((n, len(self.classes_)))
            for k, tag in enumerate(self.classes_):
                if tag not in self.params_:  # fallback, or never voted in training
                    P[np.unique(r[c == k]), k] = 1.0
                    continue
                cols, alpha, beta = self.params_[tag]
                sel = (c == k) & np.isin(f, cols)
                X = np.zeros((n, len(cols)), dtype=np.int8)
                X[r[sel], np.searchsorted(cols, f[sel])] = 1
                P[:, k] = self._posterior(X, self.prior_[k], alpha, beta)
            return P
        L = votes.matrix()
        logp = np.tile(np.log(self.prior_), (n, 1))
        if self.single == "fires":
            for (j, v), (alpha, beta) in self.fire_params_.items():
                x = (L[:, j] == v).astype(float)
                lb = x * np.log(beta) + (1 - x) * np.log1p(-beta)
                logp += lb[:, None]
                logp[:, v] += x * np.log(alpha) + (1 - x) * np.log1p(-alpha) - lb
        for j in range(L.shape[1] if self.single != "fires" else 0):
            o = L[:, j] >= 0
            logp[o] += np.log(self.confusion_[j][:, L[o, j]].T)
        P = np.exp(logp - logp.max(1, keepdims=True))
        return P / P.sum(1, keepdims=True)

    def lf_accuracies(self, names: list[str] | None = None) -> pd.Series:
        """Estimated accuracy of each function: single-label ``sum_y pi_y theta_j[y, y]``
        (given it votes); multi-label the precision ``P(tag | fires)`` averaged over the
        tags it votes, weighted by how often it fires for each."""
        m = self.n_lfs_
        acc = np.full(m, np.nan)
        if not self.multilabel_:
            if self.single == "fires":
                num, den = np.zeros(m), np.zeros(m)
                for (j, v), (alpha, beta) in self.fire_params_.items():
                    pv = self.prior_[v]
                    num[j] += pv * alpha
                    den[j] += pv * alpha + (1 - pv) * beta
                acc = np.where(den > 0, num / np.maximum(den, 1e-300), np.nan)
            else:
                # P(correct | it votes) = sum_y P(y) P(v=y|y) (abstentions missing)
                acc = np.einsum("k,mkk->m", self.prior_, self.confusion_)
        else:
            num = np.zeros(m)
            den = np.zeros(m)
            for k, tag in enumerate(self.classes_):
                if tag not in self.params_:
                    continue
                cols, alpha, beta = self.params_[tag]
                pi = self.prior_[k]
                fire = pi * alpha + (1 - pi) * beta
                num[cols] += pi * alpha
                den[cols] += fire
            ok = den > 0
            acc[ok] = num[ok] / den[ok]
        return pd.Series(acc, index=names, name="accuracy")


def push_suggestions(
    session: Any,
    votes: Votes,
    proba: np.ndarray,
    *,
    threshold: float = 0.5,
    only_unlabeled: bool = True,
) -> int:
    """Offer combined labels to a session as suggestions of source ``rule``.

    Single-label (:class:`~nblabel.session.ClassSession`): the most probable class, with
    its probability as the score, for rows with at least one vote. Multi-label
    (:class:`~nblabel.session.TagSession`): the tags with probability ``>= threshold``
    (tags unknown to the session are dropped), scored by the smallest of their
    probabilities. Rows are matched to items by ``str(index)``.

    Returns
    -------
    int
        Number of suggestions made.
    """
    P = np.asarray(proba, dtype=float)
    if P.shape != (votes.shape[0], len(votes.classes)):
        raise InputError(
            f"proba has shape {P.shape}; expected {(votes.shape[0], len(votes.classes))}"
        )
    covered = votes.fired().any(axis=1)
    made = 0
    for i, idx in enumerate(votes.frame.index):
        key = str(idx)
        if not covered[i] or (only_unlabeled and session.is_labeled(key)):
            continue
        if votes.multilabel:
            tags = [votes.classes[k] for k in np.flatnonzero(P[i] >= threshold)]
            known = []
            for t in tags:
                try:
                    session.normalize([t], key)
                    known.append(t)
                except UnknownClassError:
                    continue
            if not known:
                continue
            score = float(min(P[i, votes.classes.index(t)] for t in known))
            session.suggest(key, known, source="rule", score=score)
        else:
            k = int(np.argmax(P[i]))
            session.suggest(key, votes.classes[k], source="rule", score=float(P[i, k]))
        made += 1
    return made
