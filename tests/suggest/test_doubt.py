"""Miss detection: the signs that a suggested box is on the wrong object."""

from __future__ import annotations

import pytest

from nblabel.shapes import Box
from nblabel.suggest.doubt import SizeStats, rescale, suspect


def test_rescale_maps_boxes_of_a_smaller_image_back():
    (b,) = rescale([Box("a", 10, 5, 30, 25, score=0.5)], 2.0)
    assert (b.x0, b.y0, b.x1, b.y1) == (20, 10, 60, 50) and b.score == 0.5


def test_a_model_box_a_second_look_does_not_confirm_is_suspected():
    box = Box("a", 10, 10, 40, 40, score=0.9, source="model")
    assert suspect(box, second_look=[Box("a", 11, 10, 41, 40)]) == ()
    assert suspect(box, second_look=[Box("b", 11, 10, 41, 40)]) == ()  # where, not what
    assert "smaller copy" in suspect(box, second_look=[Box("a", 60, 10, 90, 40)])[0]
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
