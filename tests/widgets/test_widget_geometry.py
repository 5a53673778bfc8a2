"""Canvas <-> image transforms and box dragging (mirrored in box_canvas.js)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nblabel.widgets.geometry import (
    MAX_ZOOM,
    MIN_BOX,
    View,
    canvas_to_image,
    drag_box,
    fit_view,
    hit_test,
    image_to_canvas,
    zoom_about,
)

zooms = st.floats(0.01, MAX_ZOOM)
pans = st.floats(-50_000, 50_000)
views = st.builds(View, zooms, pans, pans)
coords = st.floats(-10_000, 10_000)
sizes = st.integers(1, 8000)


@given(views, coords, coords)
def test_image_canvas_round_trip(view, x, y):
    cx, cy = image_to_canvas(x, y, view)
    bx, by = canvas_to_image(cx, cy, view)
    assert abs(bx - x) <= 0.5 and abs(by - y) <= 0.5


@given(views, coords, coords)
def test_canvas_image_round_trip(view, cx, cy):
    x, y = canvas_to_image(cx, cy, view)
    bx, by = image_to_canvas(x, y, view)
    assert abs(bx - cx) <= 0.5 and abs(by - cy) <= 0.5


@given(views, st.integers(-2000, 2000), st.integers(-2000, 2000))
def test_whole_mouse_pixels_land_within_half_an_image_pixel_when_zoomed_in(view, cx, cy):
    # a mouse position is a whole CSS pixel; at zoom >= 1 the image point it names is
    # within 0.5 image px of any image point that maps into that pixel
    if view.zoom < 1:
        return
    x, y = canvas_to_image(cx, cy, view)
    rx, ry = image_to_canvas(x, y, view)
    assert round(rx) == cx and round(ry) == cy


@given(sizes, sizes, st.integers(50, 2000), st.integers(50, 2000))
def test_fit_view_shows_the_whole_image_centred(iw, ih, cw, ch):
    v = fit_view(iw, ih, cw, ch)
    x0, y0 = image_to_canvas(0, 0, v)
    x1, y1 = image_to_canvas(iw, ih, v)
    assert x0 >= -1e-6 and x1 <= cw + 1e-6 and y0 >= -1e-6 and y1 <= ch + 1e-6
    assert abs(x0 - (cw - x1)) < 1e-6 and abs(y0 - (ch - y1)) < 1e-6
    assert abs(x1 - x0 - cw) < 1e-6 or abs(y1 - y0 - ch) < 1e-6  # touches two sides


@given(views, st.floats(0.1, 10), st.floats(0, 1000), st.floats(0, 1000))
def test_zoom_about_keeps_the_point_under_the_cursor(view, factor, cx, cy):
    before = canvas_to_image(cx, cy, view)
    after = canvas_to_image(cx, cy, zoom_about(view, factor, cx, cy, min_zoom=0.001))
    assert abs(before[0] - after[0]) <= 0.5 and abs(before[1] - after[1]) <= 0.5


def test_zoom_is_clamped():
    v = zoom_about(View(1, 0, 0), 1000, 0, 0, min_zoom=0.5)
    assert v.zoom == MAX_ZOOM
    assert zoom_about(View(1, 0, 0), 1e-6, 0, 0, min_zoom=0.5).zoom == 0.5


boxes = st.tuples(st.floats(0, 500), st.floats(0, 500), st.floats(1, 500), st.floats(1, 500)).map(
    lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))
handles = st.sampled_from(["nw", "n", "ne", "e", "se", "s", "sw", "w", "move"])


@given(boxes, handles, st.floats(-2000, 2000), st.floats(-2000, 2000))
def test_drag_box_stays_a_valid_box_inside_the_image(box, handle, dx, dy):
    x0, y0, x1, y1 = drag_box(box, handle, dx, dy, 1000, 1000)
    assert 0 <= x0 < x1 and 0 <= y0 < y1
    assert x1 <= 1000 + MIN_BOX and y1 <= 1000 + MIN_BOX
    if handle == "move":
        assert abs((x1 - x0) - (box[2] - box[0])) < 1e-6


@given(boxes, st.floats(-100, 100))
def test_edge_drag_changes_only_that_edge(box, dx):
    x0, y0, x1, y1 = drag_box(box, "e", dx, 37, 10_000, 10_000)
    if box[2] + dx > box[0] + MIN_BOX:
        assert (x0, y0, y1) == (box[0], box[1], box[3])
        assert abs(x1 - (box[2] + dx)) < 1e-9


def test_hit_test_edges_corners_and_insides():
    rects = [(0, 0, 100, 100), (40, 40, 60, 60)]
    assert hit_test(rects, 100, 50, 3) == (0, "e")
    assert hit_test(rects, 0, 0, 3) == (0, "nw")
    assert hit_test(rects, 50, 98.5, 3) == (0, "s")
    assert hit_test(rects, 50, 50, 3) == (1, "move")  # the small box inside wins
    assert hit_test(rects, 20, 20, 3) == (0, "move")
    assert hit_test(rects, 200, 200, 3) is None
    assert hit_test(rects, 60, 50, 3) == (1, "e")


def test_javascript_mirror_names_exist():
    from pathlib import Path

    import nblabel.widgets as w

    js = (Path(w.__file__).parent / "box_canvas.js").read_text()
    for name in ("imageToCanvas", "canvasToImage", "fitView", "zoomAbout", "hitTest", "dragBox"):
        assert f"export function {name}(" in js
