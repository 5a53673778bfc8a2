"""Serving order of a box session's items by image group: the assistant's queue policy.

Groups are visited one after the other (a group's images are served together, so the
tracker always has the neighbour just labeled); the group being labeled comes first, then
the least certain groups (lowest suggestion score), with a share ``explore`` of groups
placed at random so the model also sees typical ones. Inside a group the *keyframe* comes
first -- a labeled image if there is one, else the image the model is most sure of -- then
the images after it, then those before it, nearest first. With ``chunk`` the groups are
dealt round by round instead, ``chunk`` images of each group per round in the same group
order: the labels (and so the next model's training set) spread over many groups early.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["group_order", "priorities", "spread_order"]


def _inside(members: Sequence[int], labeled: set[int], scores: Mapping[int, float]
            ) -> list[int]:
    """A group's unlabeled members in serving order (keyframe, forward, backward)."""
    if not members:
        return []
    done = [j for j, p in enumerate(members) if p in labeled]
    if done:
        start = done[0]
    elif scores:
        start = max(range(len(members)), key=lambda j: (scores.get(members[j], -1.0), -j))
    else:
        start = 0
    seq = list(members[start:]) + list(reversed(members[:start]))
    return [p for p in seq if p not in labeled]


def group_order(
    groups: Sequence[Sequence[int]],
    *,
    labeled: set[int],
    scores: Mapping[int, float],
    first: int | None = None,
    explore: float = 0.2,
    random_state: int = 0,
    by_uncertainty: bool = True,
    group_rank: Sequence[float] | None = None,
    chunk: int | None = None,
) -> list[int]:
    """Item positions in serving order.

    Parameters
    ----------
    groups : sequence of sequences of int
        Item positions of each group, in the group's own order; the sequence order of the
        groups is kept where scores do not decide (cold start).
    labeled : set of int
        Positions already labeled (left out of the result).
    scores : mapping
        Position -> score of its pending suggestion (missing: none yet).
    first : int, optional
        Index of the group to put first (the one being labeled).
    explore : float
        Share of groups given a random place instead of their uncertainty rank.
    random_state : int
        Seed of the exploration draw.
    by_uncertainty : bool
        Order groups by their least certain open item; ``False`` keeps their order, or
        the order of ``group_rank`` when given.
    group_rank : sequence of float, optional
        Per group, its place when not ordered by uncertainty (lower first).
    chunk : int, optional
        Serve ``chunk`` images of each group per round, the groups in their order, round
        after round (``None``: each group whole, one after the other). The group in
        ``first`` is served whole first.
    """
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if not 0.0 <= explore <= 1.0:
        raise ValueError(f"explore must be in [0, 1], got {explore}")
    rng = np.random.default_rng(random_state)
    keyed: list[tuple[float, int]] = []
    for g, members in enumerate(groups):
        open_ = [p for p in members if p not in labeled]
        if not open_:
            continue
        if g == first:
            key = -np.inf
        elif not by_uncertainty:
            key = float(g if group_rank is None else group_rank[g])
        else:
            key = min((scores.get(p, 0.5) for p in open_), default=0.5)
            if rng.random() < explore:
                key = float(rng.random())
        keyed.append((key, g))
    keyed.sort(key=lambda t: t[0])
    seqs = [_inside(groups[g], labeled, {p: scores[p] for p in groups[g] if p in scores})
            for _, g in keyed]
    if chunk is None:
        return [p for seq in seqs for p in seq]
    out: list[int] = []
    if keyed and keyed[0][1] == first:  # the group on screen: finished first
        out += seqs.pop(0)
    longest = max((len(seq) for seq in seqs), default=0)
    for start in range(0, longest, chunk):
        for seq in seqs:
            out += seq[start:start + chunk]
    return out


def priorities(n: int, order: Sequence[int]) -> np.ndarray:
    """Queue priorities (higher first) that serve ``order`` first; the rest keep their
    places after it."""
    pri = np.full(n, -float(n), dtype=np.float64)
    pri[np.asarray(order, dtype=np.int64)] = -np.arange(len(order), dtype=np.float64)
    return pri


def spread_order(groups: Sequence[Sequence[int]], *, labeled: set[int], random_state: int = 0,
                 current: int | None = None) -> list[int]:
    """Cold start without a tracker: one random open image of each group first (a diverse
    first training set), groups in random order, then everything else. ``current`` (the
    image on screen) counts as its group's pick."""
    rng = np.random.default_rng(random_state)
    heads: list[int] = []
    rest: list[int] = []
    for g in rng.permutation(len(groups)):
        open_ = [p for p in groups[g] if p not in labeled]
        if not open_:
            continue
        j = open_.index(current) if current in open_ else int(rng.integers(len(open_)))
        heads.append(open_[j])
        rest += open_[:j] + open_[j + 1:]
    if current in heads:
        heads.remove(current)
        heads.insert(0, current)
    return heads + rest
