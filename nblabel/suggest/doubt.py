"""Miss detection: signs that a suggested box is on the wrong object, before it is shown.

A model that has found the object tends to find it again in a second look at the image
(here: the image zoomed out, :func:`zoom_out` -- shown at 0.75 of its size in the middle of
a frame of its own border pixels, so the object is smaller and elsewhere in the network's
input; the default model already averages each image with its mirror image, and resizes
every image to one input size, so a mirrored or merely smaller copy would tell nothing
new), and agrees with the tracker carried from a person's label; a box on the wrong object
(or on nothing) often does neither, or has a size the labels of its class never had. Each sign is
a *reason*; a box with a reason is a **suspected miss**: its score is cut by
:data:`PENALTY` per reason (so the uncertainty-first queue serves it early) and the labeler
says why, instead of showing it as a confident suggestion.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from nblabel.shapes import Box

__all__ = ["PENALTY", "SECOND_LOOK_SCALE", "SizeStats", "ZoomedOut", "suspect", "zoom_out"]

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


@dataclass(frozen=True)
class ZoomedOut:
    """An image shown at ``scale`` of its size, ``offset`` pixels from the top left of a
    frame as large as the original (:func:`zoom_out`)."""

    pixels: np.ndarray
    scale: float
    offset: tuple[int, int]

    def back(self, boxes: Iterable[Box]) -> list[Box]:
        """Boxes found on the zoomed-out image, in the original image's pixels."""
        k, (dx, dy) = self.scale, self.offset
        return [b.replace(x0=(b.x0 - dx) / k, y0=(b.y0 - dy) / k, x1=(b.x1 - dx) / k,
                          y1=(b.y1 - dy) / k) for b in boxes]


def zoom_out(pixels: np.ndarray, scale: float = SECOND_LOOK_SCALE) -> ZoomedOut:
    """The image at ``scale`` of its size, centred in a frame of the original size filled
    by repeating its border pixels."""
    h, w = pixels.shape[:2]
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(pixels, (sw, sh), interpolation=cv2.INTER_AREA)
    left, top = (w - sw) // 2, (h - sh) // 2
    framed = cv2.copyMakeBorder(small, top, h - sh - top, left, w - sw - left,
                                cv2.BORDER_REPLICATE)
    return ZoomedOut(framed, sw / w, (left, top))


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
        The model's boxes (any class) on the zoomed-out image, mapped back
        (:meth:`ZoomedOut.back`);
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
        reasons.append("the model finds another box when the photo is zoomed out")
    others = [b for b in (tracked or ()) if b.label == box.label]
    if box.source == "model" and others and max(box.iou(b) for b in others) < AGREE_IOU:
        reasons.append("the tracker saw it elsewhere")
    stats = (sizes or {}).get(box.label)
    if stats is not None and image_size is not None and image_size[0] * image_size[1] > 0:
        rel = max(box.width, 0.0) * max(box.height, 0.0) / (image_size[0] * image_size[1])
        if stats.z(rel) > SIZE_Z:
            reasons.append(f"an unusual size for {box.label}")
    return tuple(reasons)
