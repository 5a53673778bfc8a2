"""Tracker propagation for a :class:`~nblabel.session.BoxSession`: the human boxes of each
image group are the keyframes, the tracker carries them over the rest of the group, and the
results become suggestions (source ``tracker``, score = tracker confidence).

Use it through :meth:`nblabel.session.BoxSession.propagate`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol

from nblabel.errors import InputError
from nblabel.shapes import Box
from nblabel.suggest.tracker import (
    PropagationJob,
    TrackParams,
    propagate_groups,
    start_propagation,
)

__all__ = ["BoxSource", "propagate_session", "session_groups"]


class BoxSource(Protocol):
    """What propagation needs of a box session (a :class:`~nblabel.session.BoxSession`):
    this module depends on the session's public surface, never on the session module."""

    group_column: str | None
    items: Any

    def is_labeled(self, key: Any | None = None) -> bool: ...

    def value(self, key: Any | None = None) -> Any: ...

    def suggest(self, key: Any, value: Any, *, source: str = ..., score: float | None = ...,
                replace: str = ...) -> Any: ...


def session_groups(
    session: BoxSource, *, sort: str | None = None
) -> dict[Hashable, tuple[list[str], dict[int, tuple[Box, ...]], list[str]]]:
    """``group -> (image paths, keyframes, item keys)`` of a box session.

    Images of a group are in DataFrame order, or ordered by column ``sort``; keyframes are
    the items whose current boxes were drawn or accepted by a person (any labeled item).
    """
    if session.group_column is None:
        raise InputError("tracker propagation needs image groups: BoxSession(..., group='column')")
    frame = session.items.frame
    if sort is not None and sort not in frame.columns:
        raise InputError(f"sort column {sort!r} not in the DataFrame")
    order = frame.sort_values(sort, kind="stable") if sort is not None else frame
    positions = session.items.positions_of([str(k) for k in order.index])
    groups: dict[Hashable, tuple[list[str], dict[int, tuple[Box, ...]], list[str]]] = {}
    for pos, group in zip(positions, order[session.group_column]):
        key = str(session.items.keys[pos])
        paths, keyframes, keys = groups.setdefault(group, ([], {}, []))
        if session.is_labeled(key) and session.value(key):
            keyframes[len(paths)] = session.value(key)
        paths.append(str(session.items.path(int(pos))))
        keys.append(key)
    return groups


def propagate_session(
    session: BoxSource,
    *,
    tracker: str = "csrt",
    sort: str | None = None,
    processes: int | None = None,
    background: bool = False,
    progress: bool = True,
    params: TrackParams | None = None,
) -> dict[str, Any] | PropagationJob:
    """Carry the human boxes of each group to its other images, as suggestions.

    Parameters
    ----------
    session : BoxSession
        A session with a ``group`` column.
    tracker : str
        OpenCV tracker: ``csrt`` (default), ``kcf``, ``mil`` or a ``legacy_`` variant.
    sort : str, optional
        Column that orders the images of a group (default: DataFrame order).
    processes : int, optional
        Worker processes, parallel across groups (default: all usable cores).
    background : bool
        Return a :class:`~nblabel.suggest.tracker.PropagationJob` at once; suggestions
        appear as groups finish (``job.cancel()`` stops between groups).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict or PropagationJob
        ``{"groups": n, "suggested": n}`` when run in the foreground.
    """
    p = params or TrackParams(tracker=tracker)
    groups = session_groups(session, sort=sort)
    keys_of = {g: keys for g, (_, _, keys) in groups.items()}
    work = {g: (paths, kf) for g, (paths, kf, _) in groups.items() if kf}
    counts = {"groups": 0, "suggested": 0}

    def post(group: Hashable, boxes: list[tuple[Box, ...]]) -> None:
        counts["groups"] += 1
        for key, found in zip(keys_of[group], boxes):
            if not found or session.is_labeled(key):
                continue
            tracked = tuple(b for b in found if b.source == "tracker")
            if not tracked:
                continue
            score = min(b.score for b in tracked if b.score is not None) if any(
                b.score is not None for b in tracked) else None
            session.suggest(key, tracked, source="tracker", score=score)
            counts["suggested"] += 1

    if background:
        return start_propagation(work, params=p, processes=processes, progress=progress,
                                 on_result=post)
    propagate_groups(work, params=p, processes=processes, progress=progress, on_result=post)
    return counts
