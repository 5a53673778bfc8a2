"""Live team progress (nblabel.store.progress): exact counts through undo, leases held now,
incremental reads, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from nblabel.session import ClassSession
from nblabel.store import LabelEvent, Store, open_store
from nblabel.store.assign import Assignment
from nblabel.store.progress import COLUMNS, ProgressTracker, team_progress


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """A fresh store URL on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "progress.sqlite")
    return request.getfixturevalue("pg_url")


def frame(n=6):
    return pd.DataFrame({"text": [f"t{i}" for i in range(n)]}, index=[f"r{i}" for i in range(n)])


def session(url, name, n=6):
    return ClassSession(frame(n), text="text", classes=["a", "b"], store=url, annotator=name,
                        assignment=Assignment(lease_seconds=60))


def test_counts_current_labels_net_of_undo_and_shows_leases(url):
    ann, bob = session(url, "ann"), session(url, "bob")
    try:
        tracker = ProgressTracker(ann.store, ann.task, n_items=6)
        start = tracker.table()  # both hold an item from the start, nothing done yet
        assert start["holding"].to_dict() == {"ann": ann.current.key, "bob": bob.current.key}
        assert start["labels"].sum() == 0 and not start["active"].any()
        ann.set_label("a")
        ann.next()
        ann.set_label("b")
        ann.undo()  # the second item is not labeled any more (and ann still holds it)
        bob.set_label("a")
        held_by_ann = ann.current.key
        prog = tracker.table()
        assert list(prog.columns) == COLUMNS
        assert prog.loc["ann", "labels"] == 1 and prog.loc["bob", "labels"] == 1
        assert prog.loc["ann", "holding"] == held_by_ann
        assert prog.loc["bob", "holding"] is None  # labeled: lease done
        assert prog["active"].all()
        assert isinstance(prog.loc["ann", "last_action"], pd.Timestamp)
        assert prog.attrs == {"labeled": 2, "total": 6}
        ann.redo()
        assert tracker.table().loc["ann", "labels"] == 2
        # a one-shot read from the URL agrees with the incremental one
        again = team_progress(url, ann.task, n_items=6)
        pd.testing.assert_frame_equal(again.drop(columns="last_action"),
                                      tracker.table().drop(columns="last_action"))
        assert again.attrs == {"labeled": 3, "total": 6}
    finally:
        ann.close()
        bob.close()


def test_relabel_by_another_annotator_moves_the_item(url):
    with open_store(url) as st:
        def label(item, who, value="a"):
            st.append(LabelEvent.make("t", item, "label", "accepted", annotator=who,
                                      payload=value))

        tracker = ProgressTracker(st, "t", active_seconds=3600)
        label("x", "ann")
        label("y", "ann")
        assert tracker.table()["labels"].to_dict() == {"ann": 2}
        label("x", "bob", "b")  # bob corrects ann's label: the item's current label is bob's
        deleted = LabelEvent.make("t", "y", "label", "deleted", annotator="ann", payload=None)
        st.append(deleted)
        prog = tracker.table()
        assert prog["labels"].to_dict() == {"bob": 1, "ann": 0}
        assert prog.attrs["labeled"] == 1 and prog.attrs["total"] is None
        # suggestions posted in a name (the assistant's) are not that annotator's work
        st.append(LabelEvent.make("t", "z", "suggest", "suggested", source="model",
                                  annotator="robot", payload="a"))
        assert "robot" not in tracker.table().index


def test_no_lease_table_and_inactive(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    old = LabelEvent.make("t", "x", "label", "accepted", annotator="<b>eve</b>", payload="a")
    st.append(old._replace(ts=time.time() - 1000))
    prog = team_progress(st, "t", active_seconds=300)
    assert prog.loc["<b>eve</b>", "labels"] == 1 and not prog.loc["<b>eve</b>", "active"]
    assert prog.loc["<b>eve</b>", "holding"] is None
    st.close()


def test_incremental_reads_are_cheap_on_10000_events(tmp_path):
    st = Store(tmp_path / "big.sqlite")
    events = [LabelEvent.make("t", f"i{i % 4000}", "label", "accepted",
                              annotator=f"s{i % 10}", payload="a") for i in range(10_000)]
    st.append_many(events)
    tracker = ProgressTracker(st, "t", n_items=5000)
    t0 = time.perf_counter()
    first = tracker.table()
    t_first = time.perf_counter() - t0
    assert first["labels"].sum() == 4000 and first.attrs == {"labeled": 4000, "total": 5000}
    st.append(LabelEvent.make("t", "new", "label", "accepted", annotator="s0", payload="a"))
    t0 = time.perf_counter()
    assert tracker.update() == 1
    again = tracker.table(update=False)
    t_next = time.perf_counter() - t0
    assert again["labels"].sum() == 4001
    assert t_first < 5.0 and t_next < 0.5, (t_first, t_next)
    st.close()
