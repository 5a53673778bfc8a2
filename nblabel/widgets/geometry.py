"""Pure canvas <-> image geometry of the box editor, mirrored in ``box_canvas.js``.

A *view* maps image pixels to canvas (CSS) pixels: ``canvas = image * zoom + pan``.
Boxes always live in image pixels; zoom and pan only change the view. The JavaScript
front end implements the same functions with the same names (camelCase); the tests here
pin the behaviour both follow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = [
    "HANDLES",
    "MAX_ZOOM",
    "MIN_BOX",
    "View",
    "canvas_to_image",
    "drag_box",
    "fit_view",
    "hit_test",
    "image_to_canvas",
    "nudge_box",
    "zoom_about",
]

#: Resize handles: corners and edges (compass names) plus "move" for the inside.
HANDLES = ("nw", "n", "ne", "e", "se", "s", "sw", "w", "move")
#: Largest zoom (canvas pixels per image pixel).
MAX_ZOOM = 32.0
#: Smallest box side in image pixels a drag can leave.
MIN_BOX = 1.0

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels


@dataclass(frozen=True)
class View:
    """Zoom (canvas px per image px) and pan (canvas px of the image origin)."""

    zoom: float = 1.0
    pan_x: float = 0.0
    pan_y: float = 0.0


def image_to_canvas(x: float, y: float, view: View) -> tuple[float, float]:
    """Image pixel -> canvas pixel."""
    return x * view.zoom + view.pan_x, y * view.zoom + view.pan_y


def canvas_to_image(x: float, y: float, view: View) -> tuple[float, float]:
    """Canvas pixel -> image pixel (inverse of :func:`image_to_canvas`)."""
    return (x - view.pan_x) / view.zoom, (y - view.pan_y) / view.zoom


def fit_view(image_w: float, image_h: float, canvas_w: float, canvas_h: float) -> View:
    """The view showing the whole image centred in the canvas (zoom ``0`` key)."""
    zoom = min(canvas_w / image_w, canvas_h / image_h)
    return View(zoom, (canvas_w - image_w * zoom) / 2, (canvas_h - image_h * zoom) / 2)


def zoom_about(view: View, factor: float, cx: float, cy: float, min_zoom: float) -> View:
    """Zoom by ``factor`` keeping the image point under canvas point ``(cx, cy)`` fixed;
    the zoom is clamped to ``[min_zoom, MAX_ZOOM]``."""
    zoom = min(max(view.zoom * factor, min_zoom), MAX_ZOOM)
    k = zoom / view.zoom
    return View(zoom, cx - (cx - view.pan_x) * k, cy - (cy - view.pan_y) * k)


def pan_by(view: View, dx: float, dy: float) -> View:
    """Shift the view by a canvas-pixel offset."""
    return replace(view, pan_x=view.pan_x + dx, pan_y=view.pan_y + dy)


def hit_test(
    boxes: list[Rect], x: float, y: float, tolerance: float
) -> tuple[int, str] | None:
    """Which box and which handle is at image point ``(x, y)``.

    Edges and corners within ``tolerance`` image pixels win over insides; among boxes the
    last drawn (topmost) wins for handles and the smallest for insides, so a small box
    inside a large one stays reachable. Returns ``(index, handle)`` or ``None``.
    """
    for i in range(len(boxes) - 1, -1, -1):
        x0, y0, x1, y1 = boxes[i]
        if not (x0 - tolerance <= x <= x1 + tolerance and y0 - tolerance <= y <= y1 + tolerance):
            continue
        west, east = abs(x - x0) <= tolerance, abs(x - x1) <= tolerance
        north, south = abs(y - y0) <= tolerance, abs(y - y1) <= tolerance
        if west and east:  # a very thin box: the nearer edge
            west, east = abs(x - x0) <= abs(x - x1), abs(x - x0) > abs(x - x1)
        if north and south:
            north, south = abs(y - y0) <= abs(y - y1), abs(y - y0) > abs(y - y1)
        handle = ("n" if north else "s" if south else "") + ("w" if west else "e" if east else "")
        if handle:
            return i, handle
    inside = [
        (((b[2] - b[0]) * (b[3] - b[1])), -i, i)
        for i, b in enumerate(boxes)
        if b[0] <= x <= b[2] and b[1] <= y <= b[3]
    ]
    if inside:
        return min(inside)[2], "move"
    return None


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


def drag_box(box: Rect, handle: str, dx: float, dy: float, width: float, height: float) -> Rect:
    """The box after dragging ``handle`` by ``(dx, dy)`` image pixels, kept inside the
    ``width x height`` image. Dragging an edge past the opposite one flips the box; a moved
    box keeps its size."""
    x0, y0, x1, y1 = box
    if handle == "move":
        dx = _clamp(dx, -x0, width - x1)
        dy = _clamp(dy, -y0, height - y1)
        return x0 + dx, y0 + dy, x1 + dx, y1 + dy
    if "w" in handle:
        x0 += dx
    if "e" in handle:
        x1 += dx
    if "n" in handle:
        y0 += dy
    if "s" in handle:
        y1 += dy
    x0, x1 = sorted((_clamp(x0, 0, width), _clamp(x1, 0, width)))
    y0, y1 = sorted((_clamp(y0, 0, height), _clamp(y1, 0, height)))
    return x0, y0, max(x1, x0 + MIN_BOX), max(y1, y0 + MIN_BOX)


def nudge_box(box: Rect, dx: float, dy: float, width: float, height: float) -> Rect:
    """Move a box by ``(dx, dy)`` image pixels (arrow keys), kept inside the image."""
    return drag_box(box, "move", dx, dy, width, height)
