"""Fusion of tracker and model boxes, what the annotator teaches it, and the group order."""

from __future__ import annotations

import numpy as np
import pytest

from nblabel.assist.ordering import group_order, priorities, spread_order
from nblabel.shapes import Box
from nblabel.suggest.fusion import Trust, fuse, fuse_boxes


def test_agreeing_boxes_keep_the_trusted_box_whole_and_score_rises():
    t = Box("a", 0, 0, 100, 100, score=0.6, source="tracker")
    m = Box("a", 4, 4, 104, 104, score=0.6, source="model")
    f = fuse(t, m, w_model=0.75)
    assert f.xyxy == m.xyxy  # not averaged: the tracker's looseness stays out
    assert f.source == "model" and f.score == pytest.approx(1 - 0.4 * 0.4)
    g = fuse(t, m, w_model=0.25)
    assert g.source == "tracker" and g.xyxy == t.xyxy
    assert fuse(t, m.replace(score=0.9)).source == "model"  # no trust given: higher score
    assert fuse(t, None) is t and fuse(None, m) is m and fuse(None, None) is None


def test_disagreeing_boxes_keep_the_source_that_wins_duels():
    t = Box("a", 0, 0, 100, 100, score=0.8, source="tracker")
    m = Box("a", 200, 200, 300, 300, score=0.7, source="model")
    assert fuse(t, m, p_model=0.2).source == "tracker"
    kept = fuse(t, m, p_model=0.9)
    assert kept.source == "model" and kept.score == pytest.approx(0.7 * 0.3)


def test_a_model_box_on_a_tracked_object_takes_the_tracker_class():
    t = [Box("apple", 0, 0, 100, 100, score=0.8, source="tracker")]
    m = [Box("banana", 2, 2, 100, 100, score=0.9, source="model")]
    out = fuse_boxes(t, m)
    assert [b.label for b in out] == ["apple"]
    far = [Box("banana", 300, 300, 400, 400, score=0.9, source="model")]
    assert sorted(b.label for b in fuse_boxes(t, far)) == ["apple", "banana"]


def test_fuse_boxes_works_class_by_class():
    t = [Box("a", 0, 0, 10, 10, score=0.9, source="tracker")]
    m = [Box("a", 0, 0, 10, 10, score=0.5, source="model"),
         Box("coin", 50, 50, 60, 60, score=0.4, source="model")]
    out = fuse_boxes(t, m)
    assert [b.label for b in out] == ["a", "coin"]


def test_trust_learns_from_corrections_not_from_accepted_boxes():
    trust = Trust()
    t = Box("a", 0, 0, 100, 100)
    m = Box("a", 5, 5, 105, 105)
    assert trust.settle(t, m, Box("a", 6, 6, 106, 106), corrected=False) is None
    assert trust.close_calls == 0
    assert Trust().w_model == pytest.approx(2 / 3)  # where they agree, the model first
    assert trust.settle(t, m, Box("a", 6, 6, 106, 106), corrected=True) is True
    assert trust.w_model == pytest.approx(3 / 4)
    for _ in range(3):  # the tracker wins three close calls: its box is kept from then on
        trust.settle(t, m, Box("a", -1, -1, 99, 99), corrected=True)
    assert trust.w_model == pytest.approx(3 / 7) and trust.close_calls == 4
    far = Box("a", 300, 300, 400, 400)
    assert trust.settle(t, far, Box("a", 1, 1, 101, 101)) is False  # a duel, tracker won
    assert (trust.duels, trust.model_wins) == (1, 0) and trust.p_model == pytest.approx(1 / 4)
    assert Trust().p_model == pytest.approx(1 / 3)  # a tracker box starts out more trusted


def test_group_order_current_group_first_then_least_certain_keyframe_first():
    groups = [[0, 1, 2], [3, 4, 5], [6, 7]]
    scores = {0: 0.9, 1: 0.9, 2: 0.9, 3: 0.8, 4: 0.95, 5: 0.2, 6: 0.5, 7: 0.6}
    order = group_order(groups, labeled=set(), scores=scores, explore=0.0)
    # group 1 holds the least certain item (0.2); its keyframe is its most confident (4)
    assert order == [4, 5, 3, 6 + 1, 6, 0, 1, 2]
    order = group_order(groups, labeled={1}, scores=scores, first=0, explore=0.0)
    assert order[:2] == [2, 0]  # the group being labeled: forward from its label, then back
    assert 1 not in order


def test_group_order_in_chunks_deals_the_groups_round_by_round():
    groups = [[0, 1, 2], [3, 4, 5], [6, 7]]
    scores = {0: 0.9, 1: 0.9, 2: 0.9, 3: 0.8, 4: 0.95, 5: 0.2, 6: 0.5, 7: 0.6}
    order = group_order(groups, labeled=set(), scores=scores, explore=0.0, chunk=1)
    # the same group order (1, 2, 0) and keyframes as whole groups, one image per round
    assert order == [4, 7, 0, 5, 6, 1, 3, 2]
    order = group_order(groups, labeled={1}, scores=scores, first=0, explore=0.0, chunk=2)
    assert order == [2, 0, 4, 5, 7, 6, 3]  # the group on screen is finished first
    with pytest.raises(ValueError):
        group_order(groups, labeled=set(), scores=scores, chunk=0)


def test_group_order_cold_start_keeps_the_given_group_rank():
    groups = [[0, 1], [2, 3], [4]]
    order = group_order(groups, labeled=set(), scores={}, by_uncertainty=False,
                        group_rank=[2, 0, 1])
    assert order == [2, 3, 4, 0, 1]


def test_spread_order_puts_one_image_of_every_group_first():
    groups = [[0, 1, 2], [3, 4], [5]]
    order = spread_order(groups, labeled={5}, random_state=1)
    heads = order[:2]
    assert sorted(heads[i] // 3 if heads[i] < 3 else 1 for i in range(2)) == [0, 1]
    assert sorted(order) == [0, 1, 2, 3, 4]


def test_priorities_serve_the_order_first():
    pri = priorities(5, [3, 1])
    assert list(np.argsort(-pri, kind="stable")[:2]) == [3, 1]
    with pytest.raises(ValueError):
        group_order([[0]], labeled=set(), scores={}, explore=2.0)


def test_calibrated_scores_are_acceptance_rates():
    from nblabel.suggest.calibration import AcceptanceCalibrator

    cal = AcceptanceCalibrator(min_decisions=20)
    rng = np.random.default_rng(0)
    assert cal.calibrated("model", 0.9) is None  # no decisions yet: no number
    for _ in range(400):  # raw scores that overstate: true acceptance = raw / 2
        raw = float(rng.random())
        cal.record("model", raw, bool(rng.random() < raw / 2))
    assert cal.decisions("model") == 400
    assert abs(cal.calibrated("model", 0.9) - 0.45) < 0.12
    assert abs(cal.calibrated("model", 0.2) - 0.10) < 0.08
    assert cal.calibrated("tracker", 0.9) is None


def test_calibration_follows_recent_decisions():
    from nblabel.suggest.calibration import AcceptanceCalibrator

    cal = AcceptanceCalibrator(min_decisions=20, window=100, refit_every=10)
    for _ in range(200):  # early: suggestions at raw 0.5 were rejected
        cal.record("model", 0.5, False)
    assert cal.calibrated("model", 0.5) == pytest.approx(0.0)
    for _ in range(100):  # the model got better: the same raw score is now accepted
        cal.record("model", 0.5, True)
    assert cal.calibrated("model", 0.5) == pytest.approx(1.0)
