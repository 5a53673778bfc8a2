"""Miss detection: signs that a suggested box is on the wrong object, before it is shown.

A model that has found the object tends to find it again in a second look at the image
(here: the image shown smaller, :data:`SECOND_LOOK_SCALE`; the default model already
averages each image with its mirror image, so a mirrored look would tell nothing new), and
agrees with the tracker carried from a person's label; a box on the wrong object (or on
nothing) often does neither, or has a size the labels of its class never had. Each sign is
a *reason*; a box with a reason is a **suspected miss**: its score is cut by
:data:`PENALTY` per reason (so the uncertainty-first queue serves it early) and the labeler
says why, instead of showing it as a confident suggestion.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nblabel.shapes import Box

__all__ = ["PENALTY", "SECOND_LOOK_SCALE", "SizeStats", "rescale", "suspect"]

#: score factor per reason
PENALTY = 0.5
#: the second look: the image at this share of its size
SECOND_LOOK_SCALE = 0.75
#: below this IoU with its second-look twin, a model box is unstable
SECOND_LOOK_IOU = 0.5
#: below this IoU between the tracker's and the model's box, the two see different objects
AGREE_IOU = 0.3
#: a box whose log relative area is this many standard deviations from its class's labels
SIZE_Z = 3.0


def rescale(boxes: Iterable[Box], s: float) -> list[Box]:
    """Boxes with their corners multiplied by ``s`` (e.g. back from the smaller image)."""
    return [b.replace(x0=b.x0 * s, y0=b.y0 * s, x1=b.x1 * s, y1=b.y1 * s) for b in boxes]


@dataclass(frozen=True)
class SizeStats:
    """Log relative area (box area / image area) of one class's labeled boxes."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, rel_areas: Sequence[float]) -> SizeStats | None:
        """Statistics of at least 8 positive relative areas (``None`` with fewer)."""
        logs = [math.log(a) for a in rel_areas if a > 0]
        if len(logs) < 8:
            return None
        mean = sum(logs) / len(logs)
        var = sum((v - mean) ** 2 for v in logs) / (len(logs) - 1)
        return cls(mean, max(math.sqrt(var), 0.1), len(logs))

    def z(self, rel_area: float) -> float:
        """How many standard deviations ``rel_area`` lies from the class's mean."""
        return abs(math.log(max(rel_area, 1e-9)) - self.mean) / self.std


def suspect(box: Box, *, second_look: Sequence[Box] | None = None,
            tracked: Sequence[Box] | None = None,
            sizes: Mapping[str, SizeStats] | None = None,
            image_size: tuple[int, int] | None = None) -> tuple[str, ...]:
    """Reasons to think ``box`` (a model or tracker suggestion) is on the wrong object.

    Parameters
    ----------
    box : Box
        The suggested box, image pixels.
    second_look : sequence of Box, optional
        The model's boxes (any class) on the smaller image, mapped back (:func:`rescale`);
        checked for model boxes only. ``None``: not computed.
    tracked : sequence of Box, optional
        The tracker's boxes on this image (checked when the suggestion is the model's).
    sizes : mapping, optional
        Class -> :class:`SizeStats` of the labels so far.
    image_size : (width, height), optional
        Needed for the size check.

    Returns
    -------
    tuple of str
        Empty when nothing looks wrong.
    """
    reasons: list[str] = []
    if second_look is not None and box.source == "model" and (  # any class: where, not what
            not second_look or max(box.iou(b) for b in second_look) < SECOND_LOOK_IOU):
        reasons.append("the model finds another box in a smaller copy of the image")
    others = [b for b in (tracked or ()) if b.label == box.label]
    if box.source == "model" and others and max(box.iou(b) for b in others) < AGREE_IOU:
        reasons.append("the tracker saw it elsewhere")
    stats = (sizes or {}).get(box.label)
    if stats is not None and image_size is not None and image_size[0] * image_size[1] > 0:
        rel = max(box.width, 0.0) * max(box.height, 0.0) / (image_size[0] * image_size[1])
        if stats.z(rel) > SIZE_Z:
            reasons.append(f"an unusual size for {box.label}")
    return tuple(reasons)
