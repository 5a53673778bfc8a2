"""Rows that arrive in (or leave) the user's DataFrame while a session is open: they join
(or leave) the queue without a restart, get scored by the assistant, and no label is lost."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from nblabel.assist import BoxAssistant, TagAssistant
from nblabel.datasets import food_sample
from nblabel.errors import InputError
from nblabel.models.text import TextTagModel
from nblabel.session import BoxSession, ClassSession, TagSession
from nblabel.shapes import Box
from nblabel.suggest.model import SklearnBoxModel

WORDS = ["cat", "dog", "bird"]


def _texts(n: int, start: int = 0) -> pd.DataFrame:
    rows = [f"a {WORDS[i % 3]} story number {i}" for i in range(start, start + n)]
    return pd.DataFrame({"text": rows}, index=[f"r{i}" for i in range(start, start + n)])


def _label_of(text: str) -> str:
    return next(w for w in WORDS if w in text.split())


def test_rows_appended_in_place_join_the_queue_and_keep_labels():
    df = _texts(4)
    s = ClassSession(df, text="text", classes=WORDS)
    s.set_label("cat", "r0")
    s.set_label("dog", "r1")
    df.loc["r4"] = ["a bird story number 4", None]  # the user appends a row
    df.loc["r5"] = ["a cat story number 5", np.nan]
    served = []
    while (item := s.next()) is not None and not s.is_labeled(item.key):
        served.append(item.key)
        s.set_label(_label_of(item.text), item.key)
    assert served == ["r2", "r3", "r4", "r5"]
    assert s.progress.total == 6 and s.progress.done == 6
    assert df["label"].tolist() == ["cat", "dog", "bird", "cat", "bird", "cat"]
    assert s.row_change.added == ("r4", "r5") and s.row_change.appended_only


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # pandas 3.1 deprecates it
def test_removed_rows_keep_their_labels_in_the_store_and_leave_the_queue(tmp_path):
    df = _texts(5)
    s = TagSession(df, text="text", tags=WORDS, store=tmp_path / "s.sqlite")
    s.set_tags(["cat"], "r1")
    s.goto("r3")
    df.drop(index=["r1", "r3"], inplace=True)  # r3 is on screen
    item = s.next()
    assert item.key not in ("r1", "r3") and s.progress.total == 3
    assert s.row_change.removed == ("r1", "r3") and not s.row_change.appended_only
    seen = set()
    for _ in range(6):
        seen.add(s.next().key)
    assert seen == {"r0", "r2", "r4"}
    assert [e.item for e in s.store.events(s.task) if e.action == "label"] == ["r1"]
    # back again: its label shows at once
    s.add_items(_texts(5).loc[["r1"]])
    assert df.loc["r1", "tags"] == ["cat"] and s.value("r1") == frozenset({"cat"})
    assert s.row_change.added == ("r1",) and s.progress.done == 1


def test_add_items_refuses_bad_rows_and_changes_nothing():
    df = _texts(3)
    s = ClassSession(df, text="text", classes=WORDS)
    s.set_label("cat", "r0")
    with pytest.raises(InputError, match="already in the session"):
        s.add_items(_texts(2, start=2))
    with pytest.raises(InputError, match="lack the column"):
        s.add_items(pd.DataFrame({"other": ["x"]}, index=["z"]))
    assert list(df.index) == ["r0", "r1", "r2"] and len(s.items) == 3
    assert s.add_items(_texts(2, start=3).assign(label=["dog", "dog"])) == ["r3", "r4"]
    assert df["label"].tolist() == ["cat", None, None, None, None]  # labels come from the store


class GatedTextModel(TextTagModel):
    """The real text model, whose fit waits until the test opens the gate: the fit is
    then certainly running while rows arrive."""

    gate = threading.Event()
    started = threading.Event()

    def fit(self, X, y):
        GatedTextModel.started.set()
        assert GatedTextModel.gate.wait(60)
        return super().fit(X, y)


def test_append_100_rows_while_a_background_fit_runs():
    GatedTextModel.gate.clear()
    GatedTextModel.started.clear()
    df = _texts(30)
    s = TagSession(df, text="text", tags=WORDS)
    learner = TagAssistant(GatedTextModel(), min_labels=6, retrain_every=6,
                           exploration=0.0).attach(s)
    try:
        for _ in range(6):
            s.set_tags([_label_of(s.current.text)])
            s.next()
        assert GatedTextModel.started.wait(30) and learner.running  # fit in progress
        df.loc["r30"] = ["a dog story number 30", None]  # in place, 50 one by one
        for i in range(31, 80):
            df.loc[f"r{i}"] = [f"a {WORDS[i % 3]} story number {i}", None]
        s.set_tags([_label_of(s.current.text)])  # a label while rows arrive
        s.add_items(_texts(50, start=80))  # and 50 at once
        s.next()
        GatedTextModel.gate.set()
        assert learner.wait(60)
        assert learner.error is None and learner.status == "idle"
        # nothing lost: 7 labels in the store, the DataFrame and the session
        labeled = [k for k in s.items.keys if s.is_labeled(k)]
        assert len(labeled) == 7 and len(s.items) == 130 and s.queue.n == 130
        assert df["tags"].notna().sum() == 7 and len(df) == 130
        # the fit that finished had the new rows: every open row has a priority
        assert learner.priorities_.shape == (130,)
        open_new = [p for p in range(30, 130) if not s.is_labeled(s.items.keys[p])]
        assert (learner.priorities_[open_new] > 0).all()
        # every new row is served
        served = set()
        while (item := s.next()) is not None and not s.is_labeled(item.key):
            served.add(item.key)
            s.set_tags([_label_of(item.text)])
        assert {f"r{i}" for i in range(30, 130)} <= served | set(labeled)
        assert df["tags"].notna().all() and s.progress.done == 130
    finally:
        GatedTextModel.gate.set()
        learner.close()


def test_the_box_assistant_predicts_new_rows():
    images, truth = food_sample()
    boxes = {k: tuple(Box(r.label, r.x0, r.y0, r.x1, r.y1) for r in g.itertuples())
             for k, g in truth.groupby("id")}
    first, later = images.iloc[:40].copy(), images.iloc[40:]
    s = BoxSession(first, image="path", classes=["apple", "banana", "bread", "egg", "coin"],
                   group="group")
    model = SklearnBoxModel(Ridge(alpha=1.0), label="apple", score=0.6)
    a = BoxAssistant(model=model, tracker=None, first_fit=6, explore=0.0, refine=False,
                     item_class="food").attach(s)
    try:
        for _ in range(6):
            s.set_boxes([b for b in boxes[s.current.key] if b.label != "coin"])
            s.next()
        assert a.wait(120) and a.model_version == 6
        added = s.add_items(later)
        assert a.wait(120) and not a.errors
        assert all(s.suggestions(k) and s.suggestions(k)[0].source == "model" for k in added)
        assert sum(s.is_labeled(k) for k in s.items.keys) == 6 and len(first) == 60
        order = [str(s.items.keys[p]) for p in s.queue.order]
        assert set(added) <= set(order)
    finally:
        a.close()


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_the_box_assistant_follows_removed_rows():
    images, truth = food_sample()
    boxes = {k: tuple(Box(r.label, r.x0, r.y0, r.x1, r.y1) for r in g.itertuples())
             for k, g in truth.groupby("id")}
    df = images.copy()
    s = BoxSession(df, image="path", classes=["apple", "banana", "bread", "egg", "coin"],
                   group="group")
    a = BoxAssistant(model=SklearnBoxModel(Ridge(alpha=1.0), label="apple", score=0.6),
                     tracker=None, first_fit=6, explore=0.0, refine=False,
                     item_class="food").attach(s)
    try:
        labeled = []
        for _ in range(6):
            labeled.append(s.current.key)
            s.set_boxes([b for b in boxes[s.current.key] if b.label != "coin"])
            s.next()
        assert a.wait(120) and a.model_version == 6
        gone = [k for k in df.index if k not in labeled][:15]
        df.drop(index=gone, inplace=True)
        s.next()
        assert a.wait(120) and not a.errors
        assert len(s.items) == 45 and all(s.is_labeled(k) for k in labeled)
        for k in s.items.keys:  # every open row still has the model's suggestion
            if not s.is_labeled(k):
                (sug,) = s.suggestions(k)
                assert sug.source == "model" and sug.value[0].label == df.loc[k, "food"]
    finally:
        a.close()
