"""Class balance: labels, pending suggestions and acceptance per class, from the log."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import pandas as pd

from nblabel.session import BoxSession, TagSession
from nblabel.shapes import Box
from tests.helpers import image_frame


def test_box_balance_counts_boxes_pending_and_decisions(tmp_path):
    s = BoxSession(image_frame(tmp_path, n=5), image="path", classes=["apple", "coin", "egg"])
    s.set_boxes([Box("apple", 1, 1, 9, 9), Box("apple", 20, 20, 30, 30),
                 Box("coin", 40, 40, 50, 50)], "a0")
    s.suggest("a1", [Box("coin", 1, 1, 9, 9)], score=0.9)
    s.accept(0, "a1")
    s.suggest("a2", [Box("coin", 1, 1, 9, 9), Box("apple", 2, 2, 8, 8)], score=0.3)
    s.reject(0, "a2")
    s.suggest("a3", [Box("apple", 5, 5, 25, 25)], score=0.5)
    b = s.class_balance()
    assert list(b.index) == ["apple", "coin", "egg"]
    assert b["labels"].tolist() == [2, 2, 0] and b["items"].tolist() == [1, 2, 0]
    assert b["pending"].tolist() == [1, 0, 0]
    assert b["accepted"].tolist() == [0, 1, 0] and b["rejected"].tolist() == [1, 1, 0]
    assert b.loc["apple", "accuracy"] == 0.0 and b.loc["coin", "accuracy"] == 0.5
    assert math.isnan(b.loc["egg", "accuracy"])  # no decision yet
    assert b["share"].sum() == 1.0
    ax = s.plot_class_balance()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["apple", "coin", "egg"]
    assert any("50% accepted" in t.get_text() for t in ax.texts)
    s.undo()  # the reject is undone: the suggestion is pending again, no decision counted
    b = s.class_balance()
    assert b.loc["coin", "pending"] == 1 and b.loc["coin", "rejected"] == 0
    s.redo()
    assert s.class_balance().loc["coin", "rejected"] == 1


def test_tag_balance_counts_items_per_tag():
    df = pd.DataFrame({"t": ["a", "b", "c"]})
    s = TagSession(df, text="t", tags=["x", "y"], allow_new=True)
    s.set_tags(["x", "y"], 0)
    s.set_tags(["x"], 1)
    s.suggest(2, ["y", "z"], score=0.4)
    b = s.class_balance()
    assert b.loc["x", "labels"] == 2 and b.loc["y", "labels"] == 1
    assert b.loc["z", "pending"] == 1 and b.loc["z", "labels"] == 0
