"""The session loop driven from Python, as widgets and scripts drive it."""

import numpy as np
import pandas as pd
import pytest

from nblabel.errors import InputError, InvalidBoxError, StoreLockedError, UnknownClassError
from nblabel.session import BoxSession, ClassSession, TagSession
from nblabel.shapes import Box
from nblabel.store import LabelEvent, Store
from tests.helpers import image_frame, object_frame


@pytest.fixture
def boxes(tmp_path):
    df = image_frame(tmp_path)
    s = BoxSession(df, image="path", classes=["cat", "dog"], store=tmp_path / "s.sqlite",
                   annotator="ann")
    yield df, s
    s.close()


def test_draw_writes_back_in_place_and_to_tidy_table(boxes):
    df, s = boxes
    frame_id = id(df)
    s.draw_box(50, 10, 10, 40)  # corners in any order
    s.draw_box(0, 0, 5, 5, "dog")
    assert id(df) == frame_id
    cell = df.at["a0", "boxes"]
    assert [(b["label"], b["x0"], b["y0"], b["x1"], b["y1"]) for b in cell] == [
        ("cat", 10, 10, 50, 40), ("dog", 0, 0, 5, 5)]
    assert df["boxes"].iloc[1:].isna().all()
    t = s.labels
    assert list(t["label"]) == ["cat", "dog"] and set(t["item"]) == {"a0"}
    assert s.progress.done == 1 and s.progress.total == 5


def test_move_resize_class_delete(boxes):
    df, s = boxes
    s.draw_box(10, 10, 20, 20)
    s.update_box(0, x0=5, x1=30)
    s.set_box_class(0, "dog")
    assert s.value()[0] == Box("dog", 5, 10, 30, 20)
    s.delete_box(0)
    assert s.value() == () and df.at["a0", "boxes"] is None
    with pytest.raises(InputError, match="no box number 3"):
        s.delete_box(3)


def test_bad_boxes_change_nothing(boxes):
    _df, s = boxes
    s.draw_box(1, 1, 9, 9)
    before = (s.value(), s.store.count())
    with pytest.raises(UnknownClassError, match=r"'bird'.*add_class"):
        s.draw_box(1, 1, 5, 5, "bird")
    with pytest.raises(InvalidBoxError, match="outside"):
        s.draw_box(500, 500, 600, 600)
    with pytest.raises(InvalidBoxError):
        s.draw_box(3, 3, 3, 9)
    assert (s.value(), s.store.count()) == before
    clipped = s.draw_box(-20, -20, 500, 30)  # partly outside: clipped to the 100x80 image
    assert clipped.xyxy == (0, 0, 100, 30)
    s.add_class("bird")
    s.draw_box(1, 1, 5, 5, "bird")


def test_next_skip_previous_goto(boxes):
    _df, s = boxes
    assert s.current.key == "a0"
    s.draw_box(1, 1, 5, 5)
    assert s.next().key == "a1"
    assert s.skip().key == "a2"
    s.draw_box(1, 1, 5, 5)
    assert s.next().key == "a3"
    s.draw_box(1, 1, 5, 5)
    assert s.next().key == "a4"
    s.draw_box(1, 1, 5, 5)
    assert s.next().key == "a1"  # the skipped item comes back last
    assert s.previous().key == "a4"
    assert s.goto("a0").key == "a0"
    with pytest.raises(InputError, match="no item with id 'zz'"):
        s.goto("zz")


def test_undo_redo_across_items(boxes):
    df, s = boxes
    s.draw_box(1, 1, 5, 5)
    s.next()
    s.draw_box(2, 2, 6, 6)
    s.draw_box(3, 3, 7, 7)
    assert s.undo() == "a1"
    assert len(s.value("a1")) == 1
    assert s.undo() == "a1"
    assert s.value("a1") == () and df.at["a1", "boxes"] is None
    assert s.undo() == "a0"
    assert s.current.key == "a0"  # undo goes where the change is
    assert s.value("a0") == () and s.progress.done == 0
    assert s.undo() is None
    assert s.redo() == "a0" and len(s.value("a0")) == 1
    assert s.redo() == "a1" and len(s.value("a1")) == 1
    s.draw_box(4, 4, 8, 8, key="a2")  # a new action clears the redo stack
    assert s.redo() is None


def test_suggestions_accept_reject_and_undo(boxes):
    df, s = boxes
    sug = s.suggest("a0", [Box("cat", 1, 1, 20, 20)], source="tracker", score=0.7)
    s.suggest("a0", [Box("dog", 30, 30, 60, 60)], source="model", score=0.9)
    assert [x.source for x in s.suggestions()] == ["model", "tracker"]
    assert sug.value[0].source == "tracker" and sug.value[0].score == 0.7
    s.reject(0)
    assert [x.source for x in s.suggestions()] == ["tracker"]
    s.accept(0)
    assert s.suggestions() == []
    assert s.value() == (Box("cat", 1, 1, 20, 20, 0.7, "tracker"),)
    assert df.at["a0", "boxes"][0]["source"] == "tracker"
    s.undo()  # the accept
    assert [x.source for x in s.suggestions()] == ["tracker"] and s.value() == ()
    s.undo()  # the reject
    assert len(s.suggestions()) == 2
    s.accept(0, value=[Box("dog", 31, 31, 59, 59)])  # edited before accepting
    assert s.value()[0].xyxy == (31, 31, 59, 59)
    s.accept_all()
    assert len(s.value()) == 2 and s.suggestions() == []
    with pytest.raises(InputError, match="no suggestion"):
        s.accept()
    with pytest.raises(InputError, match="source"):
        s.suggest("a1", [], source="human")


def test_newer_suggestion_of_same_source_replaces(boxes):
    _, s = boxes
    s.suggest("a1", [Box("cat", 1, 1, 5, 5)], source="tracker", score=0.2)
    s.suggest("a1", [Box("cat", 2, 2, 6, 6)], source="tracker", score=0.4)
    assert [x.score for x in s.suggestions("a1")] == [0.4]


def test_resume_restores_labels_position_undo_and_suggestions(tmp_path):
    df = image_frame(tmp_path)
    path = tmp_path / "r.sqlite"
    s = BoxSession(df, image="path", classes=["cat"], store=path, annotator="ann")
    s.draw_box(1, 1, 5, 5)
    s.next()
    s.draw_box(2, 2, 6, 6)
    s.suggest("a3", [Box("cat", 1, 1, 9, 9)], source="model", score=0.5)
    s.next()
    s.close()
    fresh = df.drop(columns="boxes")
    r = BoxSession(fresh, image="path", classes=["cat"], store=path, annotator="ann")
    assert r.current.key == "a2"
    assert fresh["boxes"].notna().tolist() == [True, True, False, False, False]
    assert len(r.suggestions("a3")) == 1
    assert r.undo() == "a1" and fresh.at["a1", "boxes"] is None
    other = BoxSession(df.drop(columns="boxes"), image="path", classes=["cat"], store=path,
                       annotator="someone-else")
    assert other.undo() is None  # undo history is per annotator
    r.close()
    other.close()


def test_unknown_items_in_store_are_kept_and_warned(tmp_path, caplog):
    path = tmp_path / "u.sqlite"
    with Store(path) as st:
        st.append(LabelEvent.make("label", "ghost", "label", "accepted", annotator="x",
                                  payload="a"))
    df = pd.DataFrame({"t": ["x"]}, index=["real"])
    s = ClassSession(df, text="t", classes=["a"], store=path)
    assert "ghost" in caplog.text and s.store.count() == 1
    s.close()


def test_store_locked_action_fails_cleanly(tmp_path):
    import subprocess
    import sys
    import textwrap

    df = pd.DataFrame({"t": ["x", "y"]})
    path = tmp_path / "l.sqlite"
    s = ClassSession(df, text="t", classes=["a", "b"], store=Store(path, timeout=0.3))
    s.set_label("a")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, time
        con = sqlite3.connect({str(path)!r}, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE"); print("locked", flush=True); time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError):
            s.set_label("b")
        assert s.value() == "a" and df.at[0, "label"] == "a"  # nothing half-done
    finally:
        holder.kill()
        holder.wait()
    s.set_label("b")
    assert df.at[0, "label"] == "b"
    s.store.close()


def test_class_session_and_integer_index():
    df = pd.DataFrame({"text": ["good", "bad", np.nan]}, index=[10, 20, 30])
    s = ClassSession(df, text="text", classes=["pos", "neg"])
    s.set_label("pos")
    s.next()
    s.set_label("neg")
    assert df["label"].tolist() == ["pos", "neg", None]
    with pytest.raises(UnknownClassError):
        s.set_label("meh")
    s.set_label(None, key=10)
    assert df.at[10, "label"] is None and s.progress.done == 1
    assert s.current.text == "bad"
    s.next()
    assert s.current.text == ""  # NaN text shows as empty, not "nan"


def test_tag_session_vocabulary_and_prefill():
    df = pd.DataFrame({"title": ["a", "b"], "author_tags": [["x", "zzz"], np.nan]})
    s = TagSession(df, text="title", tags=["x", "y"], prefill="author_tags")
    assert s.prefilled() == {"x"}
    s.set_tags(["x"])
    s.add_tag("y")
    assert df.at[0, "tags"] == ["x", "y"]
    s.remove_tag("x")
    assert df.at[0, "tags"] == ["y"]
    with pytest.raises(UnknownClassError, match="allow_new"):
        s.add_tag("new")
    s2 = TagSession(df, text="title", tags=["x"], allow_new=True, column="tags2")
    s2.add_tag("brand-new")
    assert "brand-new" in s2.tag_names and df.at[0, "tags2"] == ["brand-new"]


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_dataframe_index_replaced_mid_session(tmp_path):
    df = pd.DataFrame({"t": ["a", "b", "c"]}, index=["x", "y", "z"])
    s = ClassSession(df, text="t", classes=["k"])
    s.set_label("k")
    df.sort_index(ascending=False, inplace=True)
    s.next()
    s.set_label("k")
    assert df.loc["y", "label"] == "k" and df.loc["x", "label"] == "k"
    assert df.loc["z", "label"] is None


def test_observer_errors_do_not_break_actions(caplog):
    df = pd.DataFrame({"t": ["a"]})
    s = ClassSession(df, text="t", classes=["k"])
    seen = []
    s.on_change(lambda what, key: seen.append((what, key)))
    s.on_change(lambda what, key: 1 / 0)
    s.set_label("k")
    assert ("value", "0") in seen and "observer" in caplog.text
    assert df.at[0, "label"] == "k"


def test_submit_records_an_empty_label_on_purpose(tmp_path):
    df = pd.DataFrame({"title": ["a", "b"]})
    s = TagSession(df, text="title", tags=["x", "y"], store=tmp_path / "t.sqlite")
    s.add_tag("x")
    s.remove_tag("x")  # an edit back to empty: unlabeled again
    assert not s.is_labeled() and df.at[0, "tags"] is None
    s.submit()  # Enter with no tag: "this item has no tags"
    assert s.is_labeled() and df.at[0, "tags"] == [] and s.progress.done == 1
    assert s.next().key == "1"
    s.close()
    again = TagSession(df.drop(columns="tags"), text="title", tags=["x", "y"],
                       store=tmp_path / "t.sqlite")
    assert again.is_labeled(0) and again.value(0) == frozenset()
    again.undo()
    assert not again.is_labeled(0)
    c = ClassSession(pd.DataFrame({"t": ["a"]}), text="t", classes=["k"])
    assert c.submit() is None and not c.is_labeled() and c.store.count() == 0


def test_sent_back_item_is_served_again_until_relabeled(tmp_path):
    df = pd.DataFrame({"t": ["a", "b", "c"]})
    path = tmp_path / "rv.sqlite"
    s = ClassSession(df, text="t", classes=["k", "m"], store=path, annotator="ann")
    for _ in range(3):
        s.set_label("k")
        s.next()
    assert s.progress.done == 3
    ev = s.record_review(1, "sent_back", {"note": "look again"}, reviewer="rev")
    assert ev.annotator == "rev" and ev.action == "review"
    assert s.progress.done == 2 and df.at[1, "label"] == "k"  # the value stays visible
    assert s.next().key == "1"
    s.close()
    again = ClassSession(df, text="t", classes=["k", "m"], store=path, annotator="ann")
    assert again.progress.done == 2 and again.current.key == "1"
    again.set_label("m")
    assert again.progress.done == 3
    again.close()


def test_progress_rate_is_not_absurd_early(monkeypatch):
    df = pd.DataFrame({"t": list("abcdefghij")})
    s = ClassSession(df, text="t", classes=["k"])
    clock = [1000.0]
    monkeypatch.setattr("nblabel.session.base.time.time", lambda: clock[0])
    monkeypatch.setattr("nblabel.store.sqlite.time.time", lambda: clock[0])
    s.set_label("k")
    s.next()
    clock[0] += 1
    s.set_label("k")
    assert s.progress.per_hour == 0 and s.progress.remaining_seconds is None  # too few labels
    s.next()
    clock[0] += 1
    s.set_label("k")
    assert s.progress.per_hour == pytest.approx(3 / 60 * 3600)  # 3 labels over >= 60 s
    clock[0] += 118  # 3 labels in 2 minutes: 90 an hour, 7 left: ~4.7 minutes
    assert s.progress.per_hour == pytest.approx(90)
    assert s.progress.remaining_seconds == pytest.approx(7 / 90 * 3600)


def test_labels_never_overwrite_input_or_prefill_columns():
    df = pd.DataFrame({"title": ["a"], "tags": [["x"]]})
    with pytest.raises(InputError, match=r"pre-fill column 'tags'.*checked_tags"):
        TagSession(df, text="title", tags=["x"], prefill="tags")
    with pytest.raises(InputError, match="input column 'title'"):
        ClassSession(df, text="title", classes=["k"], column="title")
    s = TagSession(df, text="title", tags=["x"], prefill="tags", column="checked_tags")
    s.submit()
    assert df.at[0, "tags"] == ["x"] and df.at[0, "checked_tags"] == []


def test_progress_counts_items_not_actions(monkeypatch, tmp_path):
    """Issue 15.4: boxes, class changes, undo and redo on one item count it once."""
    frame = image_frame(tmp_path, n=10, size=(100, 80))
    s = BoxSession(frame, image="path", classes=["a", "b"])
    clock = [1000.0]
    monkeypatch.setattr("nblabel.session.base.time.time", lambda: clock[0])
    monkeypatch.setattr("nblabel.store.sqlite.time.time", lambda: clock[0])
    for _ in range(3):  # three items, eight actions each
        for i in range(3):
            s.draw_box(1 + i, 1, 20 + i, 20)
        s.set_box_class(0, "b")
        s.update_box(1, x1=30)
        s.undo()
        s.redo()
        s.delete_box(2)
        clock[0] += 20
        s.next()
    p = s.progress
    assert p.done == 3
    assert p.per_hour == pytest.approx(3 / 60 * 3600)  # 3 items over 60 s, not 24 actions
    assert p.remaining_seconds == pytest.approx(7 / p.per_hour * 3600)
    # an item undone back to nothing is not done any more, and leaves the rate
    s.goto(frame.index[2])
    s.delete_box(0)
    s.delete_box(0)
    assert s.progress.done == 2 and s.progress.per_hour == 0  # 2 items: too few for a rate
    # an empty item submitted on purpose is done
    s.submit()
    assert s.progress.done == 3
    s.close()


def test_store_with_other_classes_is_an_error_naming_them(tmp_path):
    """Issue 15.6: a store labeled with classes food/coin opened with apple/.../coin."""
    frame = image_frame(tmp_path, n=3, size=(100, 80))
    path = tmp_path / "food-labels.sqlite"
    with BoxSession(frame.copy(), image="path", classes=["food", "coin"], store=path) as s:
        s.draw_box(1, 1, 20, 20, "food")
        s.draw_box(30, 30, 50, 50, "coin")
    classes = ["apple", "banana", "egg", "coin"]
    df = frame.copy()
    with pytest.raises(UnknownClassError, match=r"\['food'\].*add_classes=True") as err:
        BoxSession(df, image="path", classes=classes, store=path)
    assert "food-labels.sqlite" in str(err.value)
    assert "boxes" not in df or df["boxes"].isna().all()
    # the store was not left open: it can be opened again at once, and merged on request
    with BoxSession(df, image="path", classes=classes, store=path, add_classes=True) as s:
        assert s.classes == [*classes, "food"]
        assert [b.label for b in s.value(frame.index[0])] == ["food", "coin"]
        s.draw_box(60, 10, 80, 30, "food")  # a merged class is a class like the others


def test_unknown_classes_in_history_and_suggestions_are_found_too(tmp_path):
    frame = image_frame(tmp_path, n=3, size=(100, 80))
    path = tmp_path / "s.sqlite"
    with BoxSession(frame.copy(), image="path", classes=["a", "ghost", "hint"], store=path) as s:
        s.draw_box(1, 1, 20, 20, "ghost")
        s.undo()  # only in the history (redo would bring it back)
        s.suggest(frame.index[1], [Box("hint", 1, 1, 9, 9)], source="model")
    with pytest.raises(UnknownClassError, match=r"\['ghost', 'hint'\]"):
        BoxSession(frame.copy(), image="path", classes=["a"], store=path)
    with BoxSession(frame.copy(), image="path", classes=["a", "ghost", "hint"], store=path):
        pass  # the same classes: no error


def test_a_refused_action_changes_nothing_after_the_index_became_duplicated():
    """Issue 14: the DataFrame's index became duplicated mid-session; the next action is
    refused before anything reaches the store, the labels table, the undo history or the
    cursor."""
    from nblabel.data.datasets import food_sample

    images, _ = food_sample()
    df = images.head(3).copy()
    s = BoxSession(df, image="path", classes=["apple", "coin"])
    s.draw_box(10, 10, 50, 50, "apple")
    before = (len(list(s.store.events(s.task))), s.labels.copy(), s.current.key,
              s.log.undoable(s.annotator))
    df.index = pd.Index([df.index[0], df.index[0], df.index[2]])
    with pytest.raises(InputError, match="duplicate"):
        s.draw_box(60, 60, 90, 90, "apple")
    after = (len(list(s.store.events(s.task))), s.labels, s.current.key,
             s.log.undoable(s.annotator))
    assert after[0] == before[0] and after[2:] == before[2:]
    pd.testing.assert_frame_equal(after[1], before[1])
    assert [b["label"] for b in df.iloc[0]["boxes"]] == ["apple"]


def test_snap_edges_is_one_undoable_action_on_the_image(tmp_path):
    df = object_frame(tmp_path)
    s = BoxSession(df, image="path", classes=["obj"])
    s.draw_box(52, 33, 170, 128, "obj")
    got = s.snap_edges(0, ["right", "bottom"])
    assert abs(got.x1 - 160) <= 1.5 and abs(got.y1 - 120) <= 1.5
    assert (got.x0, got.y0) == (52, 33)
    assert df.loc[0, "boxes"][0]["x1"] == got.x1  # the DataFrame follows
    s.undo()
    assert s.value()[0].x1 == 170
