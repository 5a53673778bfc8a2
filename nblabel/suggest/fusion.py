"""Fusion: one suggestion per class from a tracker box and a model box of the same item.

Where the two agree (IoU >= ``agree_iou``) they see the same object: the box of the source
:class:`Trust` holds nearer the annotator's corrections (the model, until the tracker wins
most such close calls) is kept whole, and the fused score rises
(``1 - (1 - s_t)(1 - s_m)``). Boxes are not averaged: averaging a tight model box with the
looser tracker box made the suggestion loose, and once accepted, a loose training label
(full ECUSTFD at accept-IoU 0.7: mean IoU of the shown boxes 0.796 averaged vs 0.851 for the
model alone). Where they disagree, the source that has won such disagreements so far is
kept and its score falls with the disagreement. The result keeps that source's name.
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
    ``w_model`` is the smoothed share of close calls the model won,
    ``(wins + 1 + model_prior) / (close_calls + 2 + model_prior)``: at 0.5 or more the model's
    box is kept where the two agree. Accepted suggestions do not count for close calls: the
    accepted box would reward whichever source it already came from.
    """

    duels: int = 0
    model_wins: int = 0
    close_calls: int = 0
    model_close_wins: int = 0
    #: pseudo-duels won by the tracker before any evidence: a box carried from a person's
    #: label starts out more trusted than a model trained on a handful of labels
    tracker_prior: int = 1
    #: pseudo-close-calls won by the model: where the two agree, a model's box is usually
    #: the tighter (the tracker's drifts with every step from the labeled image)
    model_prior: int = 1

    @property
    def p_model(self) -> float:
        return (self.model_wins + 1) / (self.duels + 2 + self.tracker_prior)

    @property
    def w_model(self) -> float:
        return ((self.model_close_wins + 1 + self.model_prior)
                / (self.close_calls + 2 + self.model_prior))

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

    ``w_model``: trust in the model box where the two agree; at 0.5 or more the model's box
    is kept, else the tracker's (default: the higher score's box).
    """
    if tracked is None or predicted is None:
        return tracked or predicted
    agree = tracked.iou(predicted)
    st, sm = tracked.score or 0.0, predicted.score or 0.0
    if agree >= agree_iou:
        model_first = sm >= st if w_model is None else w_model >= 0.5
        kept = predicted if model_first else tracked
        return kept.replace(score=min(1.0, 1 - (1 - st) * (1 - sm)),
                            source="model" if model_first else "tracker")
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
