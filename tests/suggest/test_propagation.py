"""BoxSession.propagate: human boxes of a group become tracker suggestions on the rest."""

import pandas as pd
import pytest

from nblabel.data.datasets import food_sample
from nblabel.errors import InputError
from nblabel.session import BoxSession
from nblabel.shapes import Box


@pytest.fixture
def food():
    images, truth = food_sample()
    groups = images["group"].value_counts()
    group = groups[groups >= 4].index[0]
    images = images[images["group"] == group].copy()
    return images, truth[truth["id"].isin(images.index)]


def test_propagate_posts_tracker_suggestions_near_the_truth(food):
    images, truth = food
    food_class = images["food"].iloc[0]
    s = BoxSession(images, image="path", classes=[food_class, "coin"], group="group")
    first = images.index[0]
    t = truth[(truth["id"] == first) & (truth["label"] == food_class)].iloc[0]
    s.draw_box(t.x0, t.y0, t.x1, t.y1, food_class)
    result = s.propagate(processes=1, progress=False)
    assert result["groups"] == 1 and 1 <= result["suggested"] <= len(images) - 1
    ious = []
    for key in images.index[1:]:
        for sug in s.suggestions(key):
            assert sug.source == "tracker" and 0 <= sug.score <= 1
            box = sug.value[0]
            tb = truth[(truth["id"] == key) & (truth["label"] == food_class)].iloc[0]
            ious.append(box.iou(Box(food_class, tb.x0, tb.y0, tb.x1, tb.y1)))
    assert ious and sum(ious) / len(ious) > 0.5  # same portion, a few views apart
    assert s.suggestions(first) == []  # the keyframe itself gets none
    s.accept(0, key=images.index[1])
    assert s.value(images.index[1])[0].source == "tracker"


def test_background_propagation_can_be_waited_for(food):
    images, _truth = food
    food_class = images["food"].iloc[0]
    s = BoxSession(images, image="path", classes=[food_class], group="group")
    s.draw_box(10, 10, 200, 200, food_class)
    job = s.propagate(background=True, processes=1, progress=False)
    job.result(timeout=120)
    assert any(s.suggestions(k) for k in images.index[1:])


def test_propagate_needs_groups():
    images, _ = food_sample()
    s = BoxSession(images.head(3), image="path", classes=["x"])
    with pytest.raises(InputError, match="group="):
        s.propagate()
    assert isinstance(images, pd.DataFrame)
