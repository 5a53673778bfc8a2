"""Learned per-edge offsets: the annotator's own corrections say which way suggestions miss.

A box model or tracker often misses the same way on a data set -- e.g. it stops short of a
plate's rim, so the annotator drags the bottom edge down by ~8% of the box's height again
and again. :class:`EdgeOffsets` records, for each source (``tracker``, ``model``) and class,
how far each edge of a suggested box moved when the annotator corrected it (relative to the
box's width or height), and shifts the next suggestions of that source and class by the
median of the recent corrections. Only corrections of a roughly right box count (IoU at
least ``min_iou`` with the final box): a box drawn on another object says nothing about
edges. Until a source and class have ``min_corrections`` corrections, boxes pass unchanged.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np

from nblabel.shapes import Box

__all__ = ["EdgeOffsets"]


class EdgeOffsets:
    """Per-source, per-class median edge offsets learned from corrections.

    Parameters
    ----------
    min_corrections : int
        Corrections of a source and class needed before its boxes are shifted.
    window : int
        How many of the latest corrections the median is taken over.
    min_iou : float
        A correction counts only when the suggested and the final box overlap this much.
    max_shift : float
        No edge moves more than this share of the box's size.
    """

    def __init__(self, *, min_corrections: int = 10, window: int = 200,
                 min_iou: float = 0.3, max_shift: float = 0.2) -> None:
        self.min_corrections = int(min_corrections)
        self.window = int(window)
        self.min_iou = float(min_iou)
        self.max_shift = float(max_shift)
        self._seen: dict[tuple[str, str], deque[np.ndarray]] = defaultdict(
            lambda: deque(maxlen=self.window))

    def record(self, source: str, suggested: Box, final: Box) -> bool:
        """Learn from one corrected box (``suggested`` as it was before any shift, ``final``
        as the annotator left it); ``False`` when it does not count (another object, or
        not moved)."""
        if suggested.label != final.label or suggested.width <= 0 or suggested.height <= 0:
            return False
        iou = suggested.iou(final)
        if iou < self.min_iou or iou > 0.999:
            return False
        w, h = suggested.width, suggested.height
        rel = np.array([(final.x0 - suggested.x0) / w, (final.y0 - suggested.y0) / h,
                        (final.x1 - suggested.x1) / w, (final.y1 - suggested.y1) / h])
        self._seen[(source, suggested.label)].append(rel)
        return True

    def offset(self, source: str, label: str) -> np.ndarray | None:
        """The relative shift of (x0, y0, x1, y1) applied to such boxes, or ``None``."""
        seen = self._seen.get((source, label))
        if not seen or len(seen) < self.min_corrections:
            return None
        return np.clip(np.median(np.stack(seen), axis=0), -self.max_shift, self.max_shift)

    def apply(self, source: str, box: Box) -> Box:
        """``box`` with its edges shifted by what corrections taught (or as it is)."""
        o = self.offset(source, box.label)
        if o is None:
            return box
        w, h = box.width, box.height
        x0, y0 = box.x0 + o[0] * w, box.y0 + o[1] * h
        x1, y1 = box.x1 + o[2] * w, box.y1 + o[3] * h
        if x1 - x0 < 1 or y1 - y0 < 1:
            return box
        return box.replace(x0=x0, y0=y0, x1=x1, y1=y1)

    def __len__(self) -> int:
        return sum(len(v) for v in self._seen.values())
