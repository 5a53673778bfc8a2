"""Find wrong labels: out-of-fold predictions and a confident-learning ranking.

Implements the *confident learning* rule of C. Northcutt, L. Jiang and I. Chuang,
"Confident Learning: Estimating Uncertainty in Dataset Labels", JAIR 70 (2021):

1. out-of-fold predicted probabilities ``p[i, j]`` (every item predicted by a model that
   did not see its label: :func:`out_of_fold_proba`);
2. per-class thresholds ``t_j`` = mean ``p[i, j]`` over the items labeled ``j`` (the
   model's expected self-confidence for class ``j``);
3. an item labeled ``y`` is an *issue* when some other class ``j != y`` has
   ``p[i, j] >= t_j`` and is the most probable of those confidently-above-threshold
   classes (it falls off the diagonal of the *confident joint*);
4. issues are ranked by self-confidence ``p[i, y]`` (lowest first), the rest follow in
   the same order.

Multi-label tags are handled per tag as binary problems; an item's score is its worst tag.
The cleanlab library implements the same rule (``find_label_issues(filter_by=
"confident_learning")``); this module avoids the dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold

from nblabel.errors import InputError

__all__ = ["find_label_issues", "issue_scores", "out_of_fold_proba", "rank_label_issues"]


def _subset(X: Any, idx: np.ndarray) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if isinstance(X, list):
        return [X[i] for i in idx]
    return X[idx]


def out_of_fold_proba(
    model: Any,
    X: Any,
    y: Sequence[Any],
    *,
    classes: Sequence[Any] | None = None,
    n_splits: int = 5,
    random_state: int = 0,
) -> tuple[np.ndarray, list[Any]]:
    """Predicted probabilities of each item by a clone of ``model`` fitted without it.

    Parameters
    ----------
    model : scikit-learn style classifier (``fit``, ``predict_proba``, ``classes_``)
    X : features (array, list of texts, DataFrame) aligned with ``y``
    y : labels: one class per item, or (multi-label) a tag collection per item
    classes : column order of the result (default: sorted labels seen)

    Returns
    -------
    (ndarray of shape (n, k), list of classes)
        Classes a fold's training part lacks get probability 0 in that fold.
    """
    y = list(y)
    n = len(y)
    multi = any(not isinstance(v, str) and hasattr(v, "__iter__") for v in y)
    if classes is None:
        classes = sorted({t for v in y for t in v} if multi else set(y), key=str)
    classes = list(classes)
    col = {c: i for i, c in enumerate(classes)}
    if n < 2:
        raise InputError(f"out-of-fold predictions need at least 2 labeled items, got {n}")
    k = min(n_splits, n)
    strat = None if multi else np.array([col[v] for v in y])
    if strat is not None and np.bincount(strat).min() >= k:
        splitter: Any = StratifiedKFold(k, shuffle=True, random_state=random_state)
        folds = splitter.split(np.zeros(n), strat)
    else:
        folds = KFold(k, shuffle=True, random_state=random_state).split(np.zeros(n))
    P = np.zeros((n, len(classes)))
    for train, test in folds:
        ytr = [y[i] for i in train]
        if not multi and len(set(ytr)) < 2:
            P[test, col[ytr[0]]] = 1.0
            continue
        m = clone(model).fit(_subset(X, train), ytr)
        p = np.asarray(m.predict_proba(_subset(X, test)))
        for j, c in enumerate(m.classes_):
            if c in col:
                P[test, col[c]] = p[:, j]
    return P, classes


def _binary(labels: np.ndarray, p1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels 0/1 and P(1) -> (issue mask, self-confidence)."""
    P = np.stack([1 - p1, p1], axis=1)
    return _single(labels.astype(int), P)


def _single(y: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k = P.shape
    self_conf = P[np.arange(n), y]
    t = np.array([P[y == j, j].mean() if (y == j).any() else np.inf for j in range(k)])
    above = t[None, :] <= P
    masked = np.where(above, P, -np.inf)
    best = masked.argmax(1)
    issue = above.any(1) & (best != y)
    return issue, self_conf


def _as_indicator(labels: Sequence[Any], classes: list[Any]) -> np.ndarray:
    col = {c: i for i, c in enumerate(classes)}
    Y = np.zeros((len(labels), len(classes)), dtype=int)
    for i, v in enumerate(labels):
        for t in v:
            if t in col:
                Y[i, col[t]] = 1
    return Y


def find_label_issues(
    labels: Sequence[Any], pred_probs: np.ndarray, classes: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Confident-learning issues.

    Parameters
    ----------
    labels : given labels (a class per item, or a tag collection per item)
    pred_probs : ``(n, k)`` out-of-fold probabilities (rows sum to 1 for single-label;
        independent per-tag probabilities for multi-label)
    classes : the ``k`` column names

    Returns
    -------
    (issue mask of shape (n,), score of shape (n,))
        ``score`` is ``1 - self-confidence`` of the given label (multi-label: of the worst
        tag, present or absent); higher is more suspicious.
    """
    P = np.asarray(pred_probs, dtype=float)
    classes = list(classes)
    labels = list(labels)
    if P.shape != (len(labels), len(classes)):
        raise InputError(f"pred_probs has shape {P.shape}, expected "
                         f"{(len(labels), len(classes))}")
    multi = any(not isinstance(v, str) and hasattr(v, "__iter__") for v in labels)
    if not multi:
        col = {c: i for i, c in enumerate(classes)}
        missing = sorted({str(v) for v in labels if v not in col})
        if missing:
            raise InputError(f"labels {missing} are not columns of pred_probs ({classes})")
        y = np.array([col[v] for v in labels])
        issue, conf = _single(y, P)
        return issue, 1.0 - conf
    Y = _as_indicator(labels, classes)
    issue = np.zeros(len(labels), dtype=bool)
    score = np.zeros(len(labels))
    for j in range(len(classes)):
        iss, conf = _binary(Y[:, j], P[:, j])
        issue |= iss
        score = np.maximum(score, 1.0 - conf)
    return issue, score


def issue_scores(labels: Sequence[Any], pred_probs: np.ndarray, classes: Sequence[Any]
                 ) -> np.ndarray:
    """One number per item for ranking: ``1 + score`` for issues, ``score`` otherwise (so
    every confident-learning issue comes before every other item)."""
    issue, score = find_label_issues(labels, pred_probs, classes)
    return np.where(issue, 1.0 + score, score)


def rank_label_issues(labels: Sequence[Any], pred_probs: np.ndarray, classes: Sequence[Any]
                      ) -> np.ndarray:
    """Item indices, most suspicious first (issues by self-confidence, then the rest)."""
    s = issue_scores(labels, pred_probs, classes)
    return np.argsort(-s, kind="stable")
