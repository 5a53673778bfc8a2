"""Labels that overrule a confident suggestion: the quickest way to find wrong labels.

When the assistant suggested something with a high score (a tracker or model box, a
class, tags) and the item's label ended up far from it, either the assistant was wrong
(the annotator corrected it: fine) or the label is (a slip of the mouse, a box drawn on the
wrong object, a wrong class key). A second look at those items, most confident suggestion
and widest gap first, finds the second kind cheaply. In a simulated run over full ECUSTFD
at accept-IoU 0.5, every one of the ten labels that overruled a suggestion scored >= 0.95
with no overlap (IoU < 0.1) was an error in the data set's own boxes (the food box drawn on
the coin or on nothing), the suggestion being on the food (``benchmarks/results/boxes.md``).

The score of an item is ``suggestion score x (1 - agreement)``, where the suggestion is the
last one posted before the item's current label and the agreement is, for boxes, the mean
over the suggested boxes of their best IoU with a labeled box of the same class; for a
class, 1 when equal, else 0; for tags, the Jaccard index of the two tag sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = ["agreement", "overruled"]

COLUMNS = ["item", "suggestion_id", "source", "suggestion_score", "agreement", "score",
           "suggestion", "value"]


def agreement(kind: str, suggested: Any, labeled: Any) -> float:
    """How far a label kept what was suggested, in [0, 1] (see the module's text).

    Parameters
    ----------
    kind : str
        The session's kind: ``"boxes"``, ``"label"`` or ``"tags"``.
    suggested, labeled : Any
        The suggested value and the item's label, as the session holds them.
    """
    if kind == "boxes":
        boxes = list(suggested or ())
        if not boxes:
            return 1.0
        mine = list(labeled or ())
        best = [max((b.iou(m) for m in mine if m.label == b.label), default=0.0)
                for b in boxes]
        return float(sum(best) / len(best))
    if kind == "tags":
        a, b = set(_tags(suggested)), set(_tags(labeled))
        return 1.0 if not a and not b else len(a & b) / len(a | b)
    return 1.0 if suggested == labeled else 0.0


def _tags(value: Any) -> Iterable[Any]:
    if value is None or isinstance(value, float):  # NaN: no tags
        return ()
    return [value] if isinstance(value, str) else value


def overruled(session: Any, keys: Sequence[Any] | None = None) -> pd.DataFrame:
    """Labeled items whose label departs from the last suggestion they were shown.

    Parameters
    ----------
    session : LabelSession
        A box, class or tag session (its store holds the suggestions).
    keys : sequence, optional
        Only these items (default: every labeled item).

    Returns
    -------
    DataFrame
        One row per labeled item that had a scored suggestion before its current label:
        ``item``, ``suggestion_id``, ``source``, ``suggestion_score``, ``agreement``,
        ``score`` (``suggestion_score x (1 - agreement)``), ``suggestion`` and ``value``
        (the label), highest score first.
    """
    wanted = None if keys is None else {str(k) for k in keys}
    posted: dict[str, list[Any]] = {}
    for ev in list(session.log.by_id.values()):  # the session's events, as it applied them
        if ev.action == "suggest" and (wanted is None or ev.item in wanted):
            posted.setdefault(ev.item, []).append(ev)
    kind = getattr(session, "kind", "label")
    rows = []
    for item, events in posted.items():
        label = session.log.current(item)
        if label is None or label.status == "deleted":
            continue
        ev = max((e for e in events if int(e.id) < int(label.id)), default=None,
                 key=lambda e: int(e.id))
        if ev is None:
            continue
        payload = ev.payload or {}
        score = payload.get("score")
        if score is None:
            continue
        suggested = session.codec.decode(payload["value"])
        value = session.value(item)
        agree = agreement(kind, suggested, value)
        rows.append({"item": item, "suggestion_id": int(ev.id), "source": ev.source,
                     "suggestion_score": float(score), "agreement": agree,
                     "score": float(score) * (1.0 - agree),
                     "suggestion": suggested, "value": value})
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
