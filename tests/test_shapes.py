import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nblabel.errors import InvalidBoxError
from nblabel.shapes import Box, ClassLabel, TagSet

coord = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@given(coord, coord, coord, coord)
def test_from_corners_any_order_gives_valid_box_or_error(xa, ya, xb, yb):
    if xa == xb or ya == yb:
        with pytest.raises(InvalidBoxError):
            Box.from_corners(xa, ya, xb, yb, "a")
        return
    b = Box.from_corners(xa, ya, xb, yb, "a")
    assert b.x0 < b.x1 and b.y0 < b.y1
    assert math.isclose(b.area, abs(xa - xb) * abs(ya - yb), rel_tol=1e-9, abs_tol=1e-9)


@given(coord, coord, st.floats(0.5, 1e3), st.floats(0.5, 1e3), st.none() | st.floats(0, 1))
def test_dict_round_trip_does_not_mutate(x, y, w, h, score):
    b = Box.from_xywh(x, y, w, h, "cat", score=score, source="model")
    d = b.to_dict()
    snapshot = dict(d)
    assert Box.from_dict(d) == b
    assert d == snapshot


def test_invalid_boxes_raise_clear_errors():
    with pytest.raises(InvalidBoxError, match="x0 < x1"):
        Box("a", 10, 0, 5, 5)
    with pytest.raises(InvalidBoxError, match="finite"):
        Box("a", float("nan"), 0, 5, 5)
    with pytest.raises(InvalidBoxError, match="score"):
        Box("a", 0, 0, 5, 5, score=1.5)
    with pytest.raises(InvalidBoxError, match="misses key"):
        Box.from_dict({"label": "a", "x0": 1})
    with pytest.raises(ValueError, match="unknown source"):
        Box("a", 0, 0, 5, 5, source="oracle")


def test_clip_and_iou():
    b = Box("a", -10, -10, 50, 50)
    c = b.clip(40, 30)
    assert c.xyxy == (0, 0, 40, 30)
    with pytest.raises(InvalidBoxError, match="outside"):
        Box("a", 100, 100, 120, 120).clip(40, 30)
    assert Box("a", 0, 0, 10, 10).iou(Box("b", 5, 0, 15, 10)) == pytest.approx(1 / 3)
    assert Box("a", 0, 0, 10, 10).iou(Box("b", 20, 20, 30, 30)) == 0.0


def test_tagset_and_classlabel_round_trip():
    t = TagSet({"b", "a"})
    assert t.to_dict()["tags"] == ["a", "b"]
    assert TagSet.from_dict(t.to_dict()) == t
    c = ClassLabel("x", 0.3, "model")
    assert ClassLabel.from_dict(c.to_dict()) == c
