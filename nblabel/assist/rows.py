"""How the assistants follow rows added to or removed from a session mid-way.

Appended rows keep every old position valid: the box assistant extends its groups,
predicts the new images with its current model (after a fit that is running, on the same
lane) and carries labeled boxes into new photos of their group; the tag assistant starts a
fit on the new rows (a running one, made on the old rows, is dropped). Removed rows shift
positions: the box assistant drops its per-position state and work in flight (the labels
are all in the store) and predicts again.
"""

from __future__ import annotations

from typing import Any

__all__ = ["box_rows_changed", "tag_rows_changed"]


def box_rows_changed(a: Any) -> None:
    """Follow ``a.session.row_change`` in a :class:`~nblabel.assist.boxes.BoxAssistant`."""
    s = a.session
    change = s.row_change
    if not change.appended_only:
        a.cancel()
        with a._lock:
            for name in ("_tracked", "_predicted", "_posted", "_scores", "_shown",
                         "_second_look_boxes", "_doubts"):  # keyed by position
                getattr(a, name, {}).clear()
            a._cache.clear()
    with a._lock:
        a._groups, a._group_of, a._group_names = a._make_groups(s)
        a._classes_of = a._item_classes(s)
        keys = s.items.keys
        a._labeled = {p for p in range(len(keys))
                      if s.is_labeled(keys[p]) and s.value(keys[p])}
    new = [int(p) for p in s.items.positions_of(list(change.added)) if p >= 0]
    todo = None if not change.appended_only else [p for p in new if p not in a._labeled]
    if a.model_ is not None and (a.model_version or a._model_lane.pending("fit")):
        # queued behind a running fit: the new rows get the model that fit produces
        a._model_lane.submit(_predict_job, a, todo, key=("predict-rows", len(s.items)),
                             label=f"predicting {len(todo) if todo else 'all'} new rows")
    groups = {int(a._group_of[p]) for p in new}
    for g in sorted(groups):
        for p in a._groups[g]:
            if p in a._labeled:
                a._request_tracking(p)
    a._reorder_queue()
    a._maybe_fit()
    a._emit("status")


def _predict_job(generation: int, a: Any, todo: list[int] | None) -> int:
    if not a.model_version:
        return 0
    n = a._predict_all(generation, todo=todo)
    if a._model_lane.current(generation):
        a._reorder_queue()
    return n


def tag_rows_changed(t: Any) -> None:
    """Follow a change of rows in a :class:`~nblabel.assist.tags.TagAssistant`: a fit made
    on the old rows is dropped and a new one starts (when there are enough labels)."""
    t._texts = None
    if t.status == "closed":
        return
    t._lane.cancel()
    t.start()
