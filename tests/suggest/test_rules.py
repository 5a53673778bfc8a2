"""Rules over candidate boxes: built-ins, user rules, and errors."""

from __future__ import annotations

import pytest

from nblabel.errors import InputError
from nblabel.shapes import Box
from nblabel.suggest.rules import (
    DEFAULT_RULES,
    ItemInfo,
    apply_rules,
    inside_image,
    min_size,
    one_per_class,
    only_classes,
)


def test_one_per_class_keeps_highest_score_and_human_box():
    a = Box("a", 0, 0, 10, 10, score=0.2, source="model")
    a2 = Box("a", 1, 1, 11, 11, score=0.9, source="tracker")
    b = Box("b", 0, 0, 5, 5, score=0.1, source="model")
    assert one_per_class((a, a2, b), ItemInfo()) == [a2, b]
    human = Box("a", 2, 2, 8, 8)
    assert one_per_class((a2, human), ItemInfo()) == [human]


def test_inside_image_clips_and_drops():
    info = ItemInfo(width=100, height=50)
    out = inside_image((Box("a", -10, 10, 50, 60), Box("a", 200, 0, 300, 10)), info)
    assert [b.xyxy for b in out] == [(0, 10, 50, 50)]
    assert out[0].source == "rule"
    inside = Box("a", 1, 1, 5, 5)
    assert inside_image((inside,), info) == [inside]
    assert inside_image((Box("a", 200, 0, 300, 10),), ItemInfo()) != []  # size unknown


def test_min_size():
    small, big = Box("a", 0, 0, 3, 30), Box("a", 0, 0, 30, 30)
    assert min_size(4)((small, big), ItemInfo()) == [big]
    assert min_size(0, min_area_fraction=0.5)((big,), ItemInfo(width=40, height=40)) == [big]
    assert min_size(0, min_area_fraction=0.6)((big,), ItemInfo(width=40, height=40)) == []
    with pytest.raises(InputError):
        min_size(-1)


def test_apply_rules_default_and_user_rule():
    cands = (Box("a", -5, 0, 20, 20, score=0.4, source="model"),
             Box("a", 10, 10, 60, 60, score=0.8, source="model"),
             Box("b", 0, 0, 2, 2, score=0.9, source="model"))
    out = apply_rules(cands, DEFAULT_RULES, ItemInfo(width=50, height=50))
    assert [(b.label, b.xyxy) for b in out] == [("a", (10, 10, 50, 50))]

    def largest_only(boxes, item):
        return sorted(boxes, key=lambda b: b.area)[-1:]

    out = apply_rules(cands, [largest_only], ItemInfo())
    assert out == (cands[1],)
    assert apply_rules(cands, [only_classes], ItemInfo(classes=("b",))) == (cands[2],)


def test_bad_rule_is_named():
    def broken(boxes, item):
        return None

    def strings(boxes, item):
        return ["x"]

    with pytest.raises(InputError, match="broken"):
        apply_rules((Box("a", 0, 0, 1, 1),), [broken])
    with pytest.raises(InputError, match=r"strings.*str"):
        apply_rules((Box("a", 0, 0, 1, 1),), [strings])


def test_order_by_uncertainty_puts_doubtful_items_first():
    import numpy as np
    import pandas as pd

    from nblabel.session import BoxSession
    from nblabel.suggest import order_by_uncertainty, uncertainty

    arr = np.zeros((20, 20, 3), np.uint8)
    df = pd.DataFrame({"img": [arr] * 4}, index=["a", "b", "c", "d"])
    s = BoxSession(df, image="img", classes=["x"])
    s.suggest("a", [Box("x", 0, 0, 10, 10)], source="model", score=0.95)
    s.suggest("b", [Box("x", 0, 0, 10, 10)], source="model", score=0.9)
    s.suggest("b", [Box("x", 8, 8, 18, 18)], source="tracker", score=0.9)  # disagree
    s.suggest("c", [Box("x", 0, 0, 10, 10)], source="model", score=0.2)
    assert uncertainty(s.suggestions("b")) > 0.9
    pri = order_by_uncertainty(s, explore=0.0)
    assert list(np.argsort(-pri, kind="stable")) == [1, 2, 3, 0]
    assert s.next().key in ("b", "c", "d")
    with pytest.raises(ValueError):
        order_by_uncertainty(s, explore=2)
