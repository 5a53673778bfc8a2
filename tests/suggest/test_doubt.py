"""Miss detection: the signs that a suggested box is on the wrong object."""

from __future__ import annotations

import numpy as np
import pytest

from nblabel.shapes import Box
from nblabel.suggest.doubt import SizeStats, suspect, zoom_out


def test_zoom_out_frames_a_smaller_image_and_maps_boxes_back():
    im = np.zeros((80, 100, 3), np.uint8)
    im[20:60, 40:80] = 255  # the object
    look = zoom_out(im)
    assert look.pixels.shape == im.shape and look.offset == (12, 10)
    ys, xs = np.nonzero(look.pixels[..., 0] > 127)
    found = Box("a", float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1),
                score=0.5)
    (back,) = look.back([found])
    assert back.iou(Box("a", 40, 20, 80, 60)) > 0.9 and back.score == 0.5
    grey = zoom_out(im[..., 0])
    assert grey.pixels.shape == (80, 100)


def test_a_model_box_a_second_look_does_not_confirm_is_suspected():
    box = Box("a", 10, 10, 40, 40, score=0.9, source="model")
    assert suspect(box, second_look=[Box("a", 11, 10, 41, 40)]) == ()
    assert suspect(box, second_look=[Box("b", 11, 10, 41, 40)]) == ()  # where, not what
    assert "zoomed out" in suspect(box, second_look=[Box("a", 60, 10, 90, 40)])[0]
    assert suspect(box, second_look=[]) != ()  # nothing found at all the second time
    assert suspect(box, second_look=None) == ()  # not computed: no sign either way
    tracked = box.replace(source="tracker")
    assert suspect(tracked, second_look=[]) == ()  # the second look is the model's


def test_a_model_box_far_from_the_tracker_box_is_suspected():
    box = Box("a", 10, 10, 40, 40, score=0.9, source="model")
    assert suspect(box, tracked=[Box("a", 12, 12, 40, 40)]) == ()
    assert suspect(box, tracked=[Box("a", 60, 60, 90, 90)]) == ("the tracker saw it elsewhere",)
    assert suspect(box, tracked=[Box("b", 60, 60, 90, 90)]) == ()  # another object


def test_a_size_the_class_never_had_is_suspected():
    assert SizeStats.of([0.1] * 7) is None  # too few labels to judge
    stats = SizeStats.of([0.08, 0.1, 0.12, 0.09, 0.11, 0.1, 0.1, 0.095])
    assert stats is not None and stats.n == 8
    sizes = {"a": stats}
    typical = Box("a", 0, 0, 32, 32, source="model")  # 0.1 of a 100x100 image
    assert suspect(typical, sizes=sizes, image_size=(100, 100)) == ()
    tiny = Box("a", 0, 0, 3, 3, source="model")
    assert suspect(tiny, sizes=sizes, image_size=(100, 100)) == ("an unusual size for a",)
    assert suspect(tiny, sizes=sizes) == ()  # no image size, no check
    assert stats.z(0.1) == pytest.approx(abs(stats.mean - __import__("math").log(0.1))
                                         / stats.std)
