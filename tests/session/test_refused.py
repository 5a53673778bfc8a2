"""A refused action changes nothing (issue 14): the store, the user's DataFrame, ``labels``,
the cursor (in memory and in the store) and the undo/redo history are exactly as before.

Each case sets up a session with one box drawn and a visit history, then makes an action
fail for one reason: the DataFrame's index became duplicated mid-session, an unknown class,
a box outside the image, the store locked by another writer.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

from nblabel.errors import InputError, InvalidBoxError, StoreLockedError, UnknownClassError
from nblabel.session import BoxSession
from nblabel.shapes import Box
from nblabel.store import Store
from tests.helpers import image_frame


def snapshot(s: BoxSession, df: pd.DataFrame) -> dict[str, Any]:
    """Everything a refused action must leave alone."""
    return {
        "events": list(s.store.events()),
        "stored cursor": s.store.cursor(s.task, s.annotator),
        "df": df.copy(deep=True),
        "cells": [list(v) if isinstance(v, list) else v for v in df["boxes"]],
        "labels": s.labels,
        "current": None if s.current is None else s.current.key,
        "position": s.position,
        "visits": list(s._history),
        "undoable": s.log.undoable(s.annotator),
        "redoable": s.log.redoable(s.annotator),
        "n events replayed": s.log.n_events,
        "value": s.value(s.items.keys[0]),
        "progress": s.progress.done,
    }


def assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    for name in before:
        if isinstance(before[name], pd.DataFrame):
            pd.testing.assert_frame_equal(after[name], before[name], obj=name)
        else:
            assert after[name] == before[name], name


@contextlib.contextmanager
def nothing() -> Iterator[None]:
    yield


@contextlib.contextmanager
def locked(path: Any) -> Iterator[None]:
    """Another writer holds the SQLite file's write lock."""
    con = sqlite3.connect(str(path), isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        con.rollback()
        con.close()


def _duplicate_index(df: pd.DataFrame) -> None:
    df.index = pd.Index([df.index[0], df.index[0], *df.index[2:]])


#: name -> (prepare the DataFrame, the failing action, the error, a context around it)
CASES: dict[str, tuple[Callable, Callable, type, Callable]] = {
    "duplicate index": (_duplicate_index, lambda s: s.draw_box(60, 40, 90, 70, "a"),
                        InputError, lambda p: nothing()),
    "unknown class": (lambda df: None, lambda s: s.draw_box(60, 40, 90, 70, "ghost"),
                      UnknownClassError, lambda p: nothing()),
    "unknown class in a suggestion": (
        lambda df: None,
        lambda s: s.suggest(s.items.keys[1], [Box("ghost", 1, 1, 9, 9)], source="model"),
        UnknownClassError, lambda p: nothing()),
    "box outside the image": (lambda df: None,
                              lambda s: s.draw_box(500, 500, 600, 600, "a"),
                              InvalidBoxError, lambda p: nothing()),
    "box class edited to unknown": (lambda df: None,
                                    lambda s: s.set_box_class(0, "ghost"),
                                    UnknownClassError, lambda p: nothing()),
    "store locked": (lambda df: None, lambda s: s.draw_box(60, 40, 90, 70, "a"),
                     StoreLockedError, locked),
    "store locked while undoing": (lambda df: None, lambda s: s.undo(),
                                   StoreLockedError, locked),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_refused_action_changes_nothing(case, tmp_path):
    prepare, action, error, around = CASES[case]
    df = image_frame(tmp_path, n=4, size=(100, 80))
    path = tmp_path / "s.sqlite"
    s = BoxSession(df, image="path", classes=["a", "b"], store=Store(path, timeout=0.2))
    s.next()
    s.goto(df.index[0])  # a visit history to keep
    s.draw_box(10, 10, 50, 50, "a")
    s.draw_box(20, 20, 40, 40, "b")
    s.undo()  # something to redo too
    prepare(df)
    before = snapshot(s, df)
    with around(path), pytest.raises(error):
        action(s)
    assert_same(before, snapshot(s, df))
    s.close()
    # and the file says the same: a session reopened on it replays what was there before
    fresh = df.copy()
    fresh.index = pd.Index([f"a{i}" for i in range(4)])
    fresh["boxes"] = None
    with BoxSession(fresh, image="path", classes=["a", "b"], store=path) as again:
        assert [b.label for b in again.value("a0")] == ["a"]
        assert again.log.n_events == before["n events replayed"]


def test_the_session_goes_on_after_a_refusal(tmp_path):
    """Refused, then the same kind of action done right: it works, and undo undoes it (not
    something from before the refusal)."""
    df = image_frame(tmp_path, n=2, size=(100, 80))
    s = BoxSession(df, image="path", classes=["a"])
    s.draw_box(10, 10, 50, 50, "a")
    with pytest.raises(UnknownClassError):
        s.draw_box(60, 40, 90, 70, "ghost")
    s.draw_box(60, 40, 90, 70, "a")
    assert len(s.value()) == 2
    s.undo()
    assert [b.x0 for b in s.value()] == [10]
