"""GrabCut refinement, measured and left out of the product (benchmarks/results/boxes.md:
on 400 suggestions of the full ECUSTFD run at accept-IoU 0.7 it gained 7 accepts and lost
16, at ~1-2 s per box; edge snapping gained 16 and lost 6 at 0.5 ms). Kept here for the
ablation (refine_ablation.py).

The box of the object's foreground, segmented from a rough box.

OpenCV's GrabCut (:func:`cv2.grabCut`, rectangle mode) is started from the box enlarged by
``margin`` on every side; the refined box is the bounding box of the largest foreground
component. A refinement that does not hold when it is refined again (the second GrabCut,
started from the first result, moves it below ``stable_iou``) or that changes the box
beyond recognition (IoU with the input below ``min_iou``) is not trusted, and the input box
is returned unchanged. No model, no pretrained weights.
"""

from __future__ import annotations

import cv2
import numpy as np

from nblabel.shapes import Box

__all__ = ["grabcut_box"]


def _to_bgr8(pixels: np.ndarray) -> np.ndarray:
    im = pixels
    if im.dtype != np.uint8:
        im = cv2.normalize(im, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if im.ndim == 2:
        im = cv2.cvtColor(im, cv2.COLOR_GRAY2BGR)
    elif im.shape[2] == 4:
        im = cv2.cvtColor(im, cv2.COLOR_RGBA2BGR)
    return np.ascontiguousarray(im)


def _cut(im: np.ndarray, box: Box, margin: float, iters: int) -> Box | None:
    h, w = im.shape[:2]
    mx, my = margin * box.width, margin * box.height
    x0, y0 = int(max(0, box.x0 - mx)), int(max(0, box.y0 - my))
    x1, y1 = int(min(w, box.x1 + mx)), int(min(h, box.y1 + my))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(im, mask, (x0, y0, x1 - x0, y1 - y0), bgd, fgd, iters,
                    cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # e.g. a flat image: no colour model to fit
        return None
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n < 2:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    bx, by, bw, bh = (int(v) for v in stats[k, :4])
    return box.replace(x0=float(bx), y0=float(by), x1=float(bx + bw), y1=float(by + bh))


def grabcut_box(pixels: np.ndarray, box: Box, *, margin: float = 0.1, iters: int = 3,
                min_iou: float = 0.5, stable_iou: float = 0.9) -> Box:
    """``box`` tightened to the object GrabCut segments inside it (same pixels as ``box``).

    Parameters
    ----------
    pixels : ndarray
        The image (H x W, H x W x 3 RGB or H x W x 4; any dtype).
    box : Box
        A rough box of one object.
    margin : float
        Share of the box's size added on every side before segmenting.
    iters : int
        GrabCut iterations.
    min_iou, stable_iou : float
        Trust limits: the result must keep IoU >= ``min_iou`` with ``box`` and >=
        ``stable_iou`` with its own re-refinement; otherwise ``box`` is returned.

    Returns
    -------
    Box
        The refined box, or ``box`` itself when the refinement is not trusted.
    """
    im = _to_bgr8(pixels)
    first = _cut(im, box, margin, iters)
    if first is None or first.iou(box) < min_iou:
        return box
    again = _cut(im, first, margin, iters)
    if again is None or again.iou(first) < stable_iou:
        return box
    return first
