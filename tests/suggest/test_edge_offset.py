"""EdgeOffsets: the annotator's corrections teach how far each edge of a suggestion misses."""

from __future__ import annotations

import numpy as np

from nblabel.shapes import Box
from nblabel.suggest.edge_offset import EdgeOffsets


def test_a_repeated_miss_is_learned_per_source_and_class():
    eo = EdgeOffsets(min_corrections=3)
    shown = Box("plate", 10, 10, 110, 110)
    final = Box("plate", 10, 10, 110, 120)  # the bottom edge always 10% lower
    assert eo.apply("model", shown) == shown  # nothing learned yet
    for _ in range(3):
        assert eo.record("model", shown, final)
    np.testing.assert_allclose(eo.offset("model", "plate"), [0, 0, 0, 0.1])
    moved = eo.apply("model", Box("plate", 0, 0, 200, 50))
    assert (moved.x0, moved.y0, moved.x1, moved.y1) == (0, 0, 200, 55)
    assert eo.apply("tracker", shown) == shown  # another source: its own corrections
    assert eo.apply("model", Box("cup", 0, 0, 10, 10)) == Box("cup", 0, 0, 10, 10)


def test_a_box_on_another_object_or_an_accept_teaches_nothing():
    eo = EdgeOffsets(min_corrections=1, max_shift=0.2)
    shown = Box("plate", 0, 0, 100, 100)
    assert not eo.record("model", shown, Box("plate", 300, 300, 400, 400))  # a miss
    assert not eo.record("model", shown, shown)  # accepted as it was
    assert not eo.record("model", shown, Box("cup", 0, 0, 100, 90))  # another class
    assert len(eo) == 0
    assert eo.record("model", shown, Box("plate", 0, 0, 100, 60))
    np.testing.assert_allclose(eo.offset("model", "plate"), [0, 0, 0, -0.2])  # capped
