"""Fusion: one suggestion per class from a tracker box and a model box of the same item.

Where the two agree (IoU >= ``agree_iou``) they see the same object: their corners are
averaged with the weight :class:`Trust` has learned (which of the two was nearer the box the
annotator drew when they corrected a suggestion), and the fused score rises
(``1 - (1 - s_t)(1 - s_m)``). Where they disagree, the source that has won such
disagreements so far is kept and its score falls with the disagreement. The result keeps
the source of the box that weighs most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nblabel.shapes import Box

__all__ = ["Trust", "align_classes", "fuse", "fuse_boxes"]


@dataclass
class Trust:
    """What the annotator's decisions say about the tracker and the model.

    Each disagreement between the two boxes, settled by the label the annotator left, is a
    *duel*; ``p_model`` is the smoothed share the model won,
    ``(wins + 1) / (duels + 2 + tracker_prior)``. Where the two agreed but the annotator
    still corrected the suggestion, the box nearer their correction wins a *close call*;
    ``w_model``, the smoothed share of close calls the model won, weighs the model in the
    average. Accepted suggestions do not count for close calls: the accepted average would
    reward whichever box it already leaned to.
    """

    duels: int = 0
    model_wins: int = 0
    close_calls: int = 0
    model_close_wins: int = 0
    #: pseudo-duels won by the tracker before any evidence: a box carried from a person's
    #: label starts out more trusted than a model trained on a handful of labels
    tracker_prior: int = 1

    @property
    def p_model(self) -> float:
        return (self.model_wins + 1) / (self.duels + 2 + self.tracker_prior)

    @property
    def w_model(self) -> float:
        return (self.model_close_wins + 1) / (self.close_calls + 2)

    def settle(self, tracked: Box, predicted: Box, label: Box, *, corrected: bool = True,
               agree_iou: float = 0.7) -> bool | None:
        """Record what one label says; returns whether the model won (``None``: no
        contest)."""
        won = predicted.iou(label) > tracked.iou(label)
        if tracked.iou(predicted) >= agree_iou:
            if not corrected:
                return None
            self.close_calls += 1
            self.model_close_wins += int(won)
            return won
        self.duels += 1
        self.model_wins += int(won)
        return won


def fuse(tracked: Box | None, predicted: Box | None, *, p_model: float = 0.5,
         w_model: float | None = None, agree_iou: float = 0.7) -> Box | None:
    """One box from a tracker box and a model box of one class (either may be missing).

    ``w_model``: weight of the model box where the two agree (default: by score).
    """
    if tracked is None or predicted is None:
        return tracked or predicted
    agree = tracked.iou(predicted)
    st, sm = tracked.score or 0.0, predicted.score or 0.0
    if agree >= agree_iou:
        if w_model is not None:
            w = w_model
        else:
            w = sm / (sm + st) if sm + st > 0 else 0.5
        corners = [w * a + (1 - w) * b for a, b in zip(predicted.xyxy, tracked.xyxy)]
        return Box(predicted.label, *corners, score=min(1.0, 1 - (1 - st) * (1 - sm)),
                   source="model" if w >= 0.5 else "tracker")
    best = predicted if p_model * sm >= (1 - p_model) * st else tracked
    return best.replace(score=best.score * max(agree, 0.3) if best.score else None)


def _best(boxes: Sequence[Box]) -> dict[str, Box]:
    """The best-scored box of each class."""
    out: dict[str, Box] = {}
    for b in boxes:
        if b.label not in out or (b.score or 0.0) > (out[b.label].score or 0.0):
            out[b.label] = b
    return out


def align_classes(tracked: Sequence[Box], predicted: Sequence[Box], *, min_iou: float = 0.5
                  ) -> tuple[Box, ...]:
    """Model boxes, renamed where one covers a tracker box (IoU >= ``min_iou``) of a class
    the model did not predict: the same object, named by a person's label upstream of the
    tracker -- that name wins."""
    t = _best(tracked)
    out = []
    for mb in predicted:
        if mb.label not in t and t:
            over = max(t.values(), key=mb.iou)
            if over.iou(mb) >= min_iou:
                mb = mb.replace(label=over.label)
        out.append(mb)
    return tuple(out)


def fuse_boxes(tracked: Sequence[Box], predicted: Sequence[Box], *, p_model: float = 0.5,
               w_model: float | None = None, agree_iou: float = 0.7) -> tuple[Box, ...]:
    """:func:`fuse` class by class (the best-scored box of each class from each source).

    A model box that covers a tracker box (IoU >= 0.5) under another class is taken as the
    same object and given the tracker box's class.
    """

    t, m = _best(tracked), _best(align_classes(tracked, predicted))
    fused = (fuse(t.get(c), m.get(c), p_model=p_model, w_model=w_model, agree_iou=agree_iou)
             for c in dict.fromkeys([*t, *m]))
    return tuple(sorted((b for b in fused if b is not None), key=lambda b: -(b.score or 0.0)))
