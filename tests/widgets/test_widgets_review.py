"""The review widget, driven through its handlers (no browser)."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from nblabel.quality.review import Review, review_events
from nblabel.session import BoxSession, ClassSession, TagSession
from nblabel.shapes import Box
from nblabel.widgets.controls import close_tree
from nblabel.widgets.review import ReviewWidget


@pytest.fixture
def class_review():
    df = pd.DataFrame({"text": ["goal scored", "pasta recipe", "team wins", "bread"]},
                      index=["a", "b", "c", "d"])
    s = ClassSession(df, text="text", classes=["sport", "food"], annotator="ann")
    for k, y in zip(df.index, ["sport", "sport", "sport", "food"]):  # b is wrong
        s.set_label(y, k)
    probs = pd.DataFrame({"sport": [0.9, 0.05, 0.9, 0.1], "food": [0.1, 0.95, 0.1, 0.9]},
                         index=df.index)
    return df, s, Review(s, where="model", pred_probs=probs, reviewer="rev")


def test_fix_and_approve_from_buttons(class_review):
    df, s, r = class_review
    wdg = ReviewWidget(r)
    assert r.current == "b" and "pasta recipe" in wdg.body.value
    assert "food" in wdg.body.value  # the suggestion
    wdg.editor.value = "food"
    wdg.note.value = "clearly food"
    wdg.buttons["fix"].click()
    assert df.at["b", "label"] == "food"
    ev = review_events(s)
    assert ev[["item", "decision", "reviewer", "note"]].values.tolist() == [
        ["b", "fix", "rev", "clearly food"]]
    assert wdg.note.value == "" and "1/" in wdg.header.value
    wdg.press("approve")
    assert review_events(s)["decision"].tolist() == ["fix", "approve"]
    while r.current is not None:
        wdg.press("send_back")
    assert "Queue done" in wdg.body.value and wdg.buttons["approve"].disabled
    close_tree(wdg)


def test_errors_show_in_the_message_area():
    df = pd.DataFrame({"text": ["x", "y"]})
    s = TagSession(df, text="text", tags=["a", "b"], annotator="ann")
    s.set_tags(["a"], 0)
    s.set_tags(["b"], 1)
    wdg = ReviewWidget(Review(s, where="audit", sample=2, reviewer="rev"))
    wdg.editor.value = "a, zzz"
    wdg.press("fix")
    assert "zzz" in wdg.messages.value and review_events(s).empty
    wdg.editor.value = "a, b"
    wdg.press("fix")
    assert wdg.messages.value == "" and len(review_events(s)) == 1
    close_tree(wdg)


def test_boxes_are_drawn_and_fixed_from_predictions(tmp_path):
    p = tmp_path / "im.png"
    Image.fromarray(np.full((60, 80, 3), 200, np.uint8)).save(p)
    df = pd.DataFrame({"path": [str(p)]}, index=["i"])
    s = BoxSession(df, image="path", classes=["x"], annotator="ann")
    s.set_boxes([Box("x", 5, 5, 20, 20)], "i")
    r = Review(s, where="model", predictions={"i": [Box("x", 30, 30, 60, 50).to_dict()]},
               reviewer="rev")
    wdg = ReviewWidget(r)
    assert wdg.picture.layout.display is None and len(wdg.picture.value) > 100
    wdg.press("fix")
    assert df.at["i", "boxes"][0]["x0"] == 30
    close_tree(wdg)
