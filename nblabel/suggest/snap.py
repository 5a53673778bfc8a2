"""Edge snapping: move a box's edges to the nearest strong boundary in the image.

A roughly-right box (a suggestion, a quick drag) is tightened one edge at a time: for the
left edge, the mean horizontal gradient magnitude (Sobel) over the inner 80% of the box's
height is computed for every column within ``band`` (a share of the box's width) of the
edge, mildly weighted toward the current position, and the edge moves to the strongest
column. No model, no pretrained weights: a person picks the edge, the image decides where
it goes.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from nblabel.errors import InputError
from nblabel.shapes import Box

__all__ = ["EDGES", "pulled", "snap_box"]

#: Edge names, also accepted as compass letters ``w n e s``.
EDGES = ("left", "top", "right", "bottom")
_COMPASS = {"w": "left", "n": "top", "e": "right", "s": "bottom"}


def _edge_name(edge: str | int) -> str:
    if isinstance(edge, int) and 0 <= edge < 4:
        return EDGES[edge]
    name = _COMPASS.get(str(edge), str(edge))
    if name not in EDGES:
        raise InputError(f"unknown edge {edge!r}; use one of {EDGES} (or w, n, e, s)")
    return name


def _best(profile: np.ndarray, lo: int, pos: float, reach: float) -> float:
    at = lo + np.arange(profile.size)
    weight = 1.0 - 0.3 * np.abs(at - pos) / max(reach, 1.0)  # ties go to the nearest
    return float(at[int(np.argmax(profile * weight))])


def pulled(box: Box, snapped: Box, pull: float) -> Box:
    """``box`` with each edge moved ``pull`` of the way to where ``snapped`` has it (1: the
    snapped box; 0: ``box``)."""
    if pull == 1.0:
        return snapped
    a, b = box.xyxy, snapped.xyxy
    x0, y0, x1, y1 = (u + pull * (v - u) for u, v in zip(a, b))
    return snapped.replace(x0=x0, y0=y0, x1=x1, y1=y1)


def snap_box(pixels: np.ndarray, box: Box, edges: Iterable[str | int] | None = None, *,
             band: float = 0.15, min_band: float = 4.0) -> Box:
    """The box with ``edges`` (default: all four) moved to the strongest nearby boundary.

    Parameters
    ----------
    pixels : ndarray
        ``(h, w, 3)`` RGB (or ``(h, w)`` grey) image the box's coordinates refer to.
    box : Box
        The box to tighten (image pixels).
    edges : iterable, optional
        ``"left"``, ``"top"``, ``"right"``, ``"bottom"`` (or ``w n e s``, or 0-3).
    band : float
        How far an edge may move, as a share of the box's width (left/right) or height.
    min_band : float
        ... but at least this many pixels.
    """
    names = [_edge_name(e) for e in (EDGES if edges is None else edges)]
    gray = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    gray = cv2.GaussianBlur(gray.astype(np.float32), (3, 3), 0)
    h, w = gray.shape
    gx = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3))
    x0, y0, x1, y1 = box.xyxy
    bw, bh = x1 - x0, y1 - y0
    out = {"left": x0, "top": y0, "right": x1, "bottom": y1}
    rows = slice(int(max(0, y0 + 0.1 * bh)), int(min(h, y1 - 0.1 * bh)) + 1)
    cols = slice(int(max(0, x0 + 0.1 * bw)), int(min(w, x1 - 0.1 * bw)) + 1)
    for name in names:
        vertical = name in ("left", "right")
        pos = out[name]
        reach = max(min_band, band * (bw if vertical else bh))
        lo = int(max(0, np.floor(pos - reach)))
        hi = int(min((w if vertical else h) - 1, np.ceil(pos + reach)))
        if hi <= lo:
            continue
        if vertical:
            profile = gx[rows, lo:hi + 1].mean(axis=0) if rows.stop > rows.start else None
        else:
            profile = gy[lo:hi + 1, cols].mean(axis=1) if cols.stop > cols.start else None
        if profile is None or not np.isfinite(profile).all() or profile.max() <= 0:
            continue
        out[name] = _best(profile, lo, pos, reach)
    nx0, nx1 = sorted((out["left"], out["right"]))
    ny0, ny1 = sorted((out["top"], out["bottom"]))
    if nx1 - nx0 < 1 or ny1 - ny0 < 1:
        return box
    return box.replace(x0=nx0, y0=ny0, x1=nx1, y1=ny1)
