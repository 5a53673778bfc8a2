"""Edge snapping: a loose box moves to the object's boundary, one edge or all four."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nblabel.errors import InputError
from nblabel.shapes import Box
from nblabel.suggest.snap import snap_box

OBJECT = (60, 40, 160, 120)  # a dark rectangle on a light background


def scene() -> np.ndarray:
    img = np.full((200, 240, 3), 220, np.uint8)
    x0, y0, x1, y1 = OBJECT
    img[y0:y1, x0:x1] = 40
    return img


def test_every_edge_of_a_loose_box_snaps_to_the_object():
    loose = Box("a", 52, 33, 170, 128)
    got = snap_box(scene(), loose)
    for v, want in zip(got.xyxy, OBJECT):
        assert abs(v - want) <= 1.5, (got, OBJECT)


def test_one_edge_only():
    loose = Box("a", 52, 33, 170, 128)
    got = snap_box(scene(), loose, ["right"])
    assert abs(got.x1 - OBJECT[2]) <= 1.5
    assert (got.x0, got.y0, got.y1) == (loose.x0, loose.y0, loose.y1)
    assert snap_box(scene(), loose, ["e"]) == got  # compass letters work too


def test_an_edge_far_from_any_boundary_stays_within_its_band():
    far = Box("a", 10, 10, 30, 30)  # nothing but flat background around it
    got = snap_box(scene(), far)
    assert got == far


def test_unknown_edge_is_a_clear_error():
    with pytest.raises(InputError, match="unknown edge"):
        snap_box(scene(), Box("a", 0, 0, 10, 10), ["middle"])


@settings(max_examples=40, deadline=None)
@given(st.integers(-10, 10), st.integers(-8, 8), st.integers(-10, 10), st.integers(-8, 8))
def test_offsets_within_the_band_are_undone(dx0, dy0, dx1, dy1):
    x0, y0, x1, y1 = OBJECT
    got = snap_box(scene(), Box("a", x0 + dx0, y0 + dy0, x1 + dx1, y1 + dy1))
    for v, want in zip(got.xyxy, OBJECT):
        assert abs(v - want) <= 1.5


def test_pulled_moves_each_edge_the_given_share_of_the_way():
    from nblabel.suggest.snap import pulled

    box, snapped = Box("a", 10, 20, 110, 220), Box("a", 20, 10, 100, 240, source="tracker")
    assert pulled(box, snapped, 1.0) == snapped
    assert pulled(box, snapped, 0.0).xyxy == box.xyxy
    half = pulled(box, snapped, 0.5)
    assert half.xyxy == (15, 15, 105, 230) and half.source == "tracker"
