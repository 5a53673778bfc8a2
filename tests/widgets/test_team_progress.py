"""The team progress widget (no browser): names escaped, refreshed by its thread, closed
cleanly."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from nblabel.bench._browser import wait_for
from nblabel.errors import InputError
from nblabel.session import ClassSession
from nblabel.store import LabelEvent, Store
from nblabel.store.assign import Assignment
from nblabel.widgets.team_progress import TeamProgress
from tests.helpers import close_new_widgets

_close_widgets = pytest.fixture(autouse=True)(close_new_widgets)

EVIL = "<script>alert(1)</script>"


def frame(n=4):
    return pd.DataFrame({"text": [f"t{i}" for i in range(n)]}, index=[f"r{i}" for i in range(n)])


def threads():
    return [t for t in threading.enumerate() if t.name == "nblabel-team-progress"]


def test_names_are_escaped_and_the_bar_counts_the_class(tmp_path):
    url = str(tmp_path / "s.sqlite")
    me = ClassSession(frame(), text="text", classes=["a", "b"], store=url, annotator="ann",
                      assignment=Assignment())
    other = ClassSession(frame(), text="text", classes=["a", "b"], store=url, annotator=EVIL,
                         assignment=Assignment())
    try:
        other.set_label("a")
        me.set_label("b")
        me.next()
        view = TeamProgress(me, every=0)
        assert EVIL not in view.table.value and "&lt;script&gt;" in view.table.value
        assert "ann (you)" in view.table.value
        assert me.current.key in view.table.value  # what ann works on now
        assert (view.bar.value, view.bar.max) == (2, 4)
        assert "2 of 4 labeled (50%)" in view.summary.value
        assert "2 people, 2 active now" in view.summary.value
        assert not view.running
        view.close()
    finally:
        me.close()
        other.close()


def test_thread_refreshes_and_close_stops_it(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    view = TeamProgress(st, "t", every=0.05, n_items=3)
    try:
        assert view.running and "nobody has started yet" in view.table.value
        st.append(LabelEvent.make("t", "x", "label", "accepted", annotator="bo", payload="a"))
        assert wait_for(lambda: view.bar.value == 1, timeout=5.0)
        assert "1 of 3 labeled" in view.summary.value and ">bo<" in view.table.value
    finally:
        view.close()
    assert not view.running and not threads()
    st.close()


def test_store_errors_are_shown_not_raised(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    view = TeamProgress(st, "t", every=0)
    st.close()
    assert view.refresh() is None and "could not read the labels" in view.summary.value
    view.close()
    with pytest.raises(InputError):
        TeamProgress(st)


def test_many_open_and_closed_leave_no_thread(tmp_path):
    st = Store(tmp_path / "s.sqlite")
    views = [TeamProgress(st, "t", every=0.02) for _ in range(5)]
    time.sleep(0.1)
    for v in views:
        v.close()
    assert not threads()
    st.close()


def test_own_labels_show_at_once_not_at_the_next_period(tmp_path):
    url = str(tmp_path / "s.sqlite")
    me = ClassSession(frame(), text="text", classes=["a", "b"], store=url, annotator="ann",
                      assignment=Assignment())
    view = TeamProgress(me, every=60.0)  # the period alone would take a minute
    try:
        assert (view.bar.value, "0 of 4 labeled" in view.summary.value) == (0, True)
        first = me.current.key
        me.set_label("a")
        me.next()
        assert wait_for(lambda: view.bar.value == 1, timeout=5.0), view.summary.value
        assert me.current.key in view.table.value and first not in view.table.value
    finally:
        view.close()
        me.close()
    assert not view.running and not threads()
