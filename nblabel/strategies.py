"""Queue-ordering strategies as plain functions of probability arrays (pure numpy).

A *measure* scores items (higher = more useful to label next); a *selector* turns scores
into a batch or a whole queue order; :func:`priorities` joins the two. Every function returns
an ``ndarray`` and takes an explicit ``random_state`` where randomness is involved.

Probability layouts
-------------------
single-label
    ``(n, k)`` rows summing to 1 (``predict_proba`` of a multi-class model).
multi-label
    ``(n, k)`` independent per-tag probabilities of the positive class (one-vs-rest).
    A per-tag uncertainty is computed for each column and aggregated over tags with
    ``aggregate="mean"`` (default: an item uncertain about many tags wins) or
    ``aggregate="max"`` (an item very uncertain about a single tag wins).

Cold start: before a model is fitted there are no probabilities; :func:`uniform_scores`
gives every item the same score, so selectors fall back to their random tie-breaking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

__all__ = [
    "MEASURES",
    "STRATEGIES",
    "density",
    "entropy",
    "expected_cardinality",
    "least_confidence",
    "margin",
    "order_from_scores",
    "priorities",
    "score",
    "select_batch",
    "uniform_scores",
    "vote_entropy",
]

Aggregate = Literal["mean", "max"]
_EPS = 1e-12


def _as_proba(proba: np.ndarray) -> np.ndarray:
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2:
        raise ValueError(f"probabilities must be a (n, k) array, got shape {p.shape}")
    if p.size and (np.nanmin(p) < -1e-9 or np.nanmax(p) > 1 + 1e-9):
        raise ValueError("probabilities must lie in [0, 1]")
    return np.clip(np.nan_to_num(p, nan=0.5), 0.0, 1.0)


def _aggregate(per_tag: np.ndarray, aggregate: Aggregate) -> np.ndarray:
    if per_tag.shape[1] == 0:
        return np.zeros(per_tag.shape[0])
    if aggregate == "mean":
        return per_tag.mean(axis=1)
    if aggregate == "max":
        return per_tag.max(axis=1)
    raise ValueError(f"aggregate must be 'mean' or 'max', got {aggregate!r}")


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    # natural log then rescale: np.log is vectorised (SIMD), np.log2 is not (10x slower).
    q = np.clip(p, _EPS, 1 - _EPS)
    r = 1.0 - q
    h = q * np.log(q)
    h += r * np.log(r)
    h *= -1.0 / np.log(2.0)
    return h


def least_confidence(
    proba: np.ndarray, *, multilabel: bool = False, aggregate: Aggregate = "mean"
) -> np.ndarray:
    """``1 - max_c p(c)``: how unsure the model is of its best guess.

    Multi-label: one minus the probability of the most likely *tag set* (tags independent),
    ``1 - prod_j max(p_j, 1 - p_j)``; ``aggregate`` is not used. (The per-tag form
    ``1 - max(p, 1 - p)`` equals half the per-tag margin, so it would rank items exactly
    as :func:`margin` does.)

    Returns
    -------
    ndarray of shape (n,)
    """
    p = _as_proba(proba)
    if multilabel:
        sure = np.clip(np.maximum(p, 1.0 - p), _EPS, 1.0)
        return 1.0 - np.exp(np.log(sure).sum(axis=1))
    if p.shape[1] == 0:
        return np.zeros(p.shape[0])
    return 1.0 - p.max(axis=1)


def margin(
    proba: np.ndarray, *, multilabel: bool = False, aggregate: Aggregate = "mean"
) -> np.ndarray:
    """``1 - (p_first - p_second)``: a small gap between the two best classes scores high.

    Multi-label: per tag the gap between "has tag" and "has not", ``1 - |2p - 1|``,
    aggregated (``aggregate="max"`` picks the item with the tag closest to 0.5).

    Returns
    -------
    ndarray of shape (n,), in [0, 1]
    """
    p = _as_proba(proba)
    if multilabel:
        return _aggregate(1.0 - np.abs(2.0 * p - 1.0), aggregate)
    if p.shape[1] < 2:
        return np.zeros(p.shape[0]) if p.shape[1] == 0 else 1.0 - np.abs(2 * p[:, 0] - 1)
    top2 = -np.partition(-p, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def entropy(
    proba: np.ndarray, *, multilabel: bool = False, aggregate: Aggregate = "mean"
) -> np.ndarray:
    """Shannon entropy in bits of the predicted distribution.

    Multi-label: binary entropy of each tag, aggregated.

    Returns
    -------
    ndarray of shape (n,)
    """
    p = _as_proba(proba)
    if multilabel:
        return _aggregate(_binary_entropy(p), aggregate)
    q = np.clip(p, _EPS, 1.0)
    return -(p * np.log(q)).sum(axis=1) / np.log(2.0)


def vote_entropy(
    committee_proba: np.ndarray,
    *,
    multilabel: bool = False,
    aggregate: Aggregate = "mean",
    threshold: float = 0.5,
) -> np.ndarray:
    """Query-by-committee disagreement: entropy of the committee's votes.

    Parameters
    ----------
    committee_proba : array of shape (m, n, k)
        Probabilities of ``m`` committee members for ``n`` items and ``k`` classes/tags.
    multilabel : bool
        Single-label: each member votes for its ``argmax`` class; the score is the entropy
        of the vote fractions over classes. Multi-label: each member votes "has tag" when
        ``p >= threshold``; the per-tag binary entropy of the vote fraction is aggregated.

    Returns
    -------
    ndarray of shape (n,)
    """
    c = np.asarray(committee_proba, dtype=float)
    if c.ndim != 3:
        raise ValueError(f"committee probabilities must be (m, n, k), got shape {c.shape}")
    m, n, k = c.shape
    if m == 0:
        return np.zeros(n)
    if multilabel:
        frac = (c >= threshold).mean(axis=0)
        return _aggregate(_binary_entropy(frac), aggregate)
    votes = c.argmax(axis=2)  # (m, n)
    counts = np.zeros((n, k))
    np.add.at(counts, (np.broadcast_to(np.arange(n), (m, n)), votes), 1.0)
    return entropy(counts / m)


def density(features: np.ndarray) -> np.ndarray:
    """Information density: mean cosine similarity of each item to all items.

    For L2-normalised rows (TF-IDF) this is the dot product with the centroid, O(n d).
    Multiplying an uncertainty score by ``density ** beta`` prefers uncertain items that
    are typical of the pool over outliers (Settles & Craven, 2008).

    Parameters
    ----------
    features : array or scipy sparse matrix of shape (n, d), rows L2-normalised
    """
    centroid = np.asarray(features.mean(axis=0)).ravel()
    d = np.asarray(features @ centroid).ravel()
    return np.clip(d, 0.0, None)


def expected_cardinality(proba: np.ndarray) -> np.ndarray:
    """Expected number of tags of each item, ``sum_j p_j`` (multi-label probabilities).

    Multiplying an uncertainty score by ``expected_cardinality ** gamma`` prefers items
    likely to carry many tags: each such label teaches the model several positives.
    """
    return _as_proba(proba).sum(axis=1)


def uniform_scores(n: int) -> np.ndarray:
    """Scores for a cold start (no fitted model): every item equal."""
    return np.zeros(int(n))


#: Measures by name; each maps probabilities to one score per item.
MEASURES: dict[str, Callable[..., np.ndarray]] = {
    "least_confidence": least_confidence,
    "margin": margin,
    "entropy": entropy,
}

#: Queue orders a session accepts (``committee`` needs a committee of models).
STRATEGIES = ("sequential", "random", "least_confidence", "margin", "entropy", "committee")


def score(
    proba: np.ndarray | None,
    strategy: str,
    *,
    n: int | None = None,
    multilabel: bool = False,
    aggregate: Aggregate = "mean",
) -> np.ndarray:
    """Score items with the named strategy; ``proba=None`` (unfitted model) -> uniform.

    For ``"committee"`` pass the ``(m, n, k)`` committee probabilities as ``proba``.
    ``"sequential"`` scores earlier items higher; ``"random"`` scores everything equal
    (the selector's random tie-breaking then gives a random order).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if proba is None or strategy == "random":
        if n is None:
            if proba is None:
                raise ValueError("pass n= when there are no probabilities")
            n = np.shape(proba)[-2] if strategy == "committee" else np.shape(proba)[0]
        if strategy == "sequential":
            return -np.arange(n, dtype=float)
        return uniform_scores(n)
    if strategy == "sequential":
        return -np.arange(np.shape(proba)[0], dtype=float)
    if strategy == "committee":
        return vote_entropy(proba, multilabel=multilabel, aggregate=aggregate)
    return MEASURES[strategy](proba, multilabel=multilabel, aggregate=aggregate)


def order_from_scores(
    scores: np.ndarray, *, exploration: float = 0.0, random_state: int | None = 0
) -> np.ndarray:
    """A full queue order (item indices, best first) with an exploration share.

    ``round(exploration * n)`` randomly chosen items are put at randomly chosen positions
    of the queue; the other positions hold the remaining items by decreasing score (ties
    broken at random). Vectorised: O(n log n), a few ms for 100,000 items.

    Returns
    -------
    ndarray of int, shape (n,): a permutation of ``range(n)``
    """
    s = np.asarray(scores, dtype=float).ravel()
    n = s.size
    if not 0.0 <= exploration <= 1.0:
        raise ValueError(f"exploration must be in [0, 1], got {exploration}")
    rng = np.random.default_rng(random_state)
    tie = rng.random(n)
    by_score = np.lexsort((tie, -np.nan_to_num(s, nan=-np.inf)))
    n_explore = round(exploration * n)
    if n_explore == 0:
        return by_score
    explore_items = rng.choice(n, size=n_explore, replace=False)
    explore_pos = np.sort(rng.choice(n, size=n_explore, replace=False))
    is_explore = np.zeros(n, dtype=bool)
    is_explore[explore_items] = True
    exploit_items = by_score[~is_explore[by_score]]
    slot_is_explore = np.zeros(n, dtype=bool)
    slot_is_explore[explore_pos] = True
    order = np.empty(n, dtype=np.intp)
    order[slot_is_explore] = explore_items
    order[~slot_is_explore] = exploit_items
    return order


def priorities(
    scores: np.ndarray, *, exploration: float = 0.0, random_state: int | None = 0
) -> np.ndarray:
    """Priority per item (higher first) for ``queue.reorder``: ``n - position`` in
    :func:`order_from_scores`."""
    order = order_from_scores(scores, exploration=exploration, random_state=random_state)
    pri = np.empty(order.size, dtype=float)
    pri[order] = np.arange(order.size, 0, -1, dtype=float)
    return pri


def select_batch(
    scores: np.ndarray,
    batch_size: int,
    *,
    exploration: float = 0.0,
    random_state: int | None = 0,
    features: np.ndarray | None = None,
    diversity: float = 0.0,
    candidates: int = 4,
) -> np.ndarray:
    """Pick ``batch_size`` item indices to label next.

    Parameters
    ----------
    scores : array of shape (n,)
        Informativeness of each candidate (higher first).
    exploration : float
        Share of the batch drawn uniformly at random from the rest.
    features : array of shape (n, d), optional
        L2-normalised item features (dense or scipy sparse) for diversity-aware selection.
    diversity : float
        0 = top scores only. Above 0, greedy selection among the ``candidates * batch_size``
        best items maximising ``score_rank_gain - diversity * max cosine similarity`` to the
        items already in the batch, so one batch does not hold near-duplicates.

    Returns
    -------
    ndarray of int, shape (min(batch_size, n),)
    """
    s = np.asarray(scores, dtype=float).ravel()
    n = s.size
    b = min(int(batch_size), n)
    if b <= 0:
        return np.empty(0, dtype=np.intp)
    rng = np.random.default_rng(random_state)
    n_explore = min(round(exploration * b), b)
    n_exploit = b - n_explore
    order = np.lexsort((rng.random(n), -np.nan_to_num(s, nan=-np.inf)))
    if features is None or diversity <= 0 or n_exploit <= 1:
        chosen = order[:n_exploit]
    else:
        chosen = _diverse(order, s, n_exploit, features, diversity, candidates)
    rest = np.setdiff1d(np.arange(n), chosen, assume_unique=True)
    explore = rng.choice(rest, size=n_explore, replace=False) if n_explore else rest[:0]
    return np.concatenate([chosen, explore]).astype(np.intp)


def _diverse(
    order: np.ndarray,
    s: np.ndarray,
    k: int,
    features: np.ndarray,
    diversity: float,
    candidates: int,
) -> np.ndarray:
    pool = order[: max(k, candidates * k)]
    x = features[pool]
    sim = x @ x.T
    sim = np.asarray(sim.todense() if hasattr(sim, "todense") else sim, dtype=float)
    sv = s[pool]
    span = float(sv.max() - sv.min())
    gain = (sv - sv.min()) / span if span > 0 else np.zeros_like(sv)
    taken = np.zeros(pool.size, dtype=bool)
    max_sim = np.zeros(pool.size)
    out = []
    for _ in range(k):
        value = np.where(taken, -np.inf, gain - diversity * max_sim)
        j = int(np.argmax(value))
        taken[j] = True
        out.append(pool[j])
        max_sim = np.maximum(max_sim, sim[j])
    return np.asarray(out, dtype=np.intp)
