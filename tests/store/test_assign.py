"""Assignment (team mode): leases, expiry, overlap, skip/release, resume -- on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from nblabel.errors import InputError
from nblabel.session import ClassSession
from nblabel.store import open_store
from nblabel.store.assign import Assignment, leases

CLASSES = ["a", "b"]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "team.sqlite")
    return request.getfixturevalue("pg_url")


def frame(n=8):
    return pd.DataFrame({"text": [f"t{i}" for i in range(n)]}, index=[f"r{i}" for i in range(n)])


def session(url, name, n=8, **kw):
    return ClassSession(frame(n), text="text", classes=CLASSES, store=url, annotator=name,
                        assignment=Assignment(**kw))


def test_annotators_never_share_an_item(url):
    a, b, c = (session(url, n) for n in "abc")
    seen = {s.annotator: [] for s in (a, b, c)}
    for _ in range(3):
        for s in (a, b, c):
            if s.current is not None and not s.is_labeled():
                seen[s.annotator].append(s.current.key)
                s.set_label("a")
            s.next()
    flat = [k for ks in seen.values() for k in ks]
    assert len(flat) == len(set(flat)) == 8  # all 8 items, each to one annotator
    table = leases(a.store, "label")
    assert table["done"].all() and table.groupby("item").size().max() == 1
    for s in (a, b, c):
        s.close()


def test_overlap_sends_items_to_exactly_k_annotators(url):
    ss = [session(url, n, overlap=1.0, overlap_annotators=2) for n in "abc"]
    served: dict[str, list[str]] = {}
    for _ in range(8):
        for s in ss:
            if s.current is not None and not s.is_labeled():
                served.setdefault(s.current.key, []).append(s.annotator)
                s.set_label("b")
            s.next()
    assert sorted(served) == [f"r{i}" for i in range(8)]
    assert all(len(v) == len(set(v)) == 2 for v in served.values())
    for s in ss:
        s.close()


def test_overlap_share_is_deterministic():
    a = Assignment(overlap=0.2, seed=3)
    a.task = "label"
    keys = [f"k{i}" for i in range(4000)]
    needs = [a.needed(k) for k in keys]
    assert 0.17 < needs.count(2) / len(keys) < 0.23
    b = Assignment(overlap=0.2, seed=3)
    b.task = "label"
    assert needs == [b.needed(k) for k in keys]  # the same in every process
    assert Assignment().needed("x") == 1


def test_expired_lease_returns_to_the_pool(url):
    a = session(url, "a", lease_seconds=0.5)
    assert a.current.key == "r0"
    b = session(url, "b", lease_seconds=0.5)
    assert b.current.key == "r1"  # r0 is held by a
    time.sleep(0.7)  # a went away: its lease expires
    b.set_label("a")
    b.next()
    assert b.current.key == "r0"
    a.close()
    b.close()


def test_expired_lease_of_a_labeled_item_is_closed_not_reassigned(url):
    a = session(url, "a", lease_seconds=0.5)
    # a store written before the label and the lease shared one transaction: the label is
    # there, its lease was never closed
    a.assignment.apply = lambda event, labeled=None: None
    a.set_label("a")
    b = session(url, "b", lease_seconds=0.5)
    assert b.current.key == "r1"
    time.sleep(0.7)
    b.set_label("a")
    b.next()
    assert b.current.key == "r2"  # r0 was labeled by a: closed, not handed out again
    table = leases(b.store, "label").set_index("item")
    assert bool(table.loc["r0", "done"])
    a.close()
    b.close()


def test_skip_and_moving_on_release_the_item(url):
    a = session(url, "a")
    b = session(url, "b")
    assert (a.current.key, b.current.key) == ("r0", "r1")
    a.skip()  # r0 released, a moves to r2
    assert a.current.key == "r2"
    b.next()  # b moves on without labeling: r1 released, r0 is free again
    assert b.current.key == "r0"
    a.next()
    assert a.current.key == "r1"
    held = leases(a.store, "label")
    assert sorted(zip(held["item"], held["annotator"])) == [("r0", "b"), ("r1", "a")]
    a.close()
    b.close()


def test_resume_on_the_held_item(url):
    a = session(url, "a")
    a.set_label("a")
    a.next()
    a.next()  # r1 released, now on r2
    assert a.current.key == "r2"
    a.store.close()  # the kernel dies without releasing
    b = session(url, "b")
    assert b.current.key == "r1"
    a2 = session(url, "a")
    assert a2.current.key == "r2" and a2.value("r0") == "a"
    a2.set_label("b")
    a2.next()
    assert a2.current.key == "r3"
    a2.close()
    b.close()


def test_goto_label_takes_the_item_for_good(url):
    a = session(url, "a")
    b = session(url, "b")
    a.goto("r5")
    a.set_label("a")
    for _ in range(6):
        b.set_label("b")
        b.next()
    labeled_by_b = set(b.labels.query("annotator == 'b'")["item"])
    assert "r5" not in labeled_by_b and "r0" not in labeled_by_b
    a.close()
    b.close()


def test_label_on_an_item_held_by_someone_else_is_kept_with_a_warning(url, caplog):
    a = session(url, "a")
    b = session(url, "b")
    b.goto("r0")  # a holds r0
    b.set_label("b")
    assert "assigned to a" in caplog.text
    with open_store(url, read_only=True) as st:
        assert [(e.item, e.annotator) for e in st.events()] == [("r0", "b")]
    a.close()
    b.close()


def test_nothing_left(url):
    a = session(url, "a", n=2)
    b = session(url, "b", n=2)
    a.set_label("a")
    b.set_label("b")
    assert a.next().key == "r0" and b.next().key == "r1"  # nothing else: they stay put
    a.close()
    b.close()


def test_bad_parameters():
    with pytest.raises(InputError, match="lease_seconds"):
        Assignment(lease_seconds=0)
    with pytest.raises(InputError, match="overlap"):
        Assignment(overlap=1.5)
    with pytest.raises(InputError, match="overlap_annotators"):
        Assignment(overlap_annotators=1)


def test_read_only_session_in_team_mode(tmp_path):
    path = tmp_path / "ro.sqlite"
    ClassSession(frame(), text="text", classes=CLASSES, store=path).close()  # no leases yet
    with open_store(path, read_only=True) as ro:
        s = ClassSession(frame(), text="text", classes=CLASSES, store=ro, annotator="a",
                         assignment=Assignment())
        assert s.current.key == "r0"  # can look, cannot lease or label


def test_undone_label_goes_back_to_the_pool_when_left(url):
    a = session(url, "a")
    b = session(url, "b")
    a.set_label("a")  # r0 done
    a.undo()  # r0 unlabeled again: a holds it
    assert not leases(a.store, "label").set_index("item").loc["r0", "done"]
    a.next()  # a leaves it unlabeled: released
    b.set_label("b")
    b.next()
    assert b.current.key == "r0"
    a.close()
    b.close()
