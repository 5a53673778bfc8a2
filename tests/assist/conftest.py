"""Fixtures of the assistant tests."""

from __future__ import annotations

import pytest

from nblabel.data.datasets import food_sample
from nblabel.shapes import Box


@pytest.fixture
def food():
    images, truth = food_sample()
    boxes = {k: tuple(Box(r.label, r.x0, r.y0, r.x1, r.y1) for r in g.itertuples())
             for k, g in truth.groupby("id")}
    return images, boxes
