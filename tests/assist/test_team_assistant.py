"""SharedAssistant: one assistant per task for a whole team, on a real SQLite store.

The leader runs the real BoxAssistant (tracker only here, to stay fast); followers get its
suggestions through the store. A follower in its own process never imports torch, and when
the leader's process is killed a follower takes over within the lease time.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from nblabel.assist import BoxAssistant
from nblabel.assist.team import ASSISTANT_BOARD, QUEUE_BOARD, SharedAssistant
from nblabel.bench._browser import wait_for
from nblabel.session import BoxSession
from nblabel.store import board
from nblabel.store.assign import Assignment, leases
from nblabel.store.leader import LeaderLease

CLASSES = ["apple", "banana", "bread", "egg", "coin"]
ROOT = Path(__file__).resolve().parents[2]


def tracker_only() -> BoxAssistant:
    return BoxAssistant(model=None, processes=1)


def team_session(images, store, name):
    return BoxSession(images.copy(), image="path", classes=CLASSES, group="group",
                      store=store, annotator=name, assignment=Assignment())


def _alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("nblabel-")
            and t.name != "nblabel-store-idle"  # (other tests' unclosed stores)
            and t.is_alive()]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "class.sqlite")
    return request.getfixturevalue("pg_url")


def test_the_leaders_suggestions_reach_a_follower_and_the_lease_hands_over(food, url):
    images, truth = food
    store = url
    made = []

    def factory():
        made.append(1)
        return tracker_only()

    a_s, b_s = team_session(images, store, "ann"), team_session(images, store, "bob")
    a = SharedAssistant(factory, poll_seconds=0.1, lease_seconds=3).attach(a_s)
    b = SharedAssistant(factory, poll_seconds=0.1, lease_seconds=3).attach(b_s)
    try:
        assert a.is_leader and not b.is_leader and len(made) == 1  # no second assistant
        # the leader's status says whom it serves (nobody else, before bob came)
        assert wait_for(lambda: "shared with 1 other" in a.status, timeout=5), a.status
        start = b_s.current.key
        assert start != a_s.current.key  # leases: never the same photo
        b_s.set_boxes(truth[start])
        time.sleep(0.5)  # looks at the store: ann works in this group, bob leaves it
        b_s.next()
        first = b_s.current.key
        assert images.at[first, "group"] != images.at[start, "group"]
        b_s.set_boxes(truth[first])  # bob labels; ann's kernel tracks it for bob
        b_s.next()
        nxt = b_s.current.key
        assert images.at[nxt, "group"] == images.at[first, "group"]  # bob's group goes on
        got = wait_for(lambda: b_s.suggestions(nxt), timeout=90, step=0.1)
        assert got and got[0].source == "tracker"
        ious = [max(t.iou(x) for x in truth[nxt] if x.label == t.label) for t in got[0].value]
        assert min(ious) > 0.5
        b_s.accept(0)
        assert {x["source"] for x in b_s.df.at[nxt, "boxes"]} == {"tracker"}
        assert wait_for(lambda: a_s.is_labeled(nxt), timeout=10)  # the leader sees it too
        assert board.read(b_s.store, "boxes", QUEUE_BOARD) is not None
        state = board.read(b_s.store, "boxes", ASSISTANT_BOARD)[1]
        assert state["pid"] == os.getpid() and state["holder"].startswith("ann@")
        assert wait_for(lambda: "run by ann" in b.status, timeout=10)
        a.close()  # ann closes her notebook: bob's kernel takes over at once
        assert wait_for(lambda: b.is_leader, timeout=10, step=0.1)
        assert b.takeovers == 1 and len(made) == 2
        dup = leases(b_s.store, "boxes").query("done").groupby("item").size()
        assert dup.max() == 1
    finally:
        a.close()
        b.close()
        a_s.close()
        b_s.close()
    assert not _alive() and not multiprocessing.active_children()


FOLLOWER = textwrap.dedent('''
    import json, sys, time
    from nblabel.assist.team import SharedAssistant
    from nblabel.data.datasets import food_sample
    from nblabel.session import BoxSession
    from nblabel.store.assign import Assignment
    images, _ = food_sample()
    s = BoxSession(images, image="path", classes={classes!r}, group="group",
                   store={store!r}, annotator={name!r}, assignment=Assignment())
    a = SharedAssistant(lease_seconds=4, poll_seconds=0.1).attach(s)
    print(json.dumps({{"leader": a.is_leader, "torch": "torch" in sys.modules}}), flush=True)
    time.sleep(600)
''')


def _spawn(store: str, name: str) -> subprocess.Popen:
    code = FOLLOWER.format(classes=CLASSES, store=store, name=name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env=env)


def test_a_follower_kernel_stays_light_and_takes_over_when_the_leader_dies(food, tmp_path):
    images, _ = food
    store = str(tmp_path / "class.sqlite")
    leader = _spawn(store, "lea")  # its default factory is the full BoxAssistant
    follower_s = None
    shared = None
    try:
        first = json.loads(leader.stdout.readline())
        assert first["leader"] is True
        follower_s = team_session(images, store, "fred")
        made = []
        shared = SharedAssistant(lambda: made.append(1) or tracker_only(),
                                 lease_seconds=4, poll_seconds=0.1).attach(follower_s)
        assert not shared.is_leader and not made
        holder = LeaderLease(follower_s.store, "boxes", "x").holder()
        assert holder is not None and holder.endswith(f":{leader.pid}")
        light = _spawn(store, "flo")  # another follower, in its own process
        try:
            info = json.loads(light.stdout.readline())
            assert info == {"leader": False, "torch": False}  # no torch in a follower
        finally:
            light.kill()
            light.wait(10)
        os.kill(leader.pid, signal.SIGKILL)  # the leader's kernel dies
        killed = time.monotonic()
        assert wait_for(lambda: shared.is_leader, timeout=15, step=0.05)
        took = time.monotonic() - killed
        assert took <= 4 + 4 / 3 + 1.5, took  # lease + one look (lease/3) + slack
        assert made == [1]
    finally:
        leader.kill()
        leader.wait(10)
        if shared is not None:
            shared.close()
        if follower_s is not None:
            follower_s.close()


def test_nblabel_assist_runs_the_assistant_for_kernels_that_only_follow(food, tmp_path):
    images, truth = food
    store = str(tmp_path / "class.sqlite")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nblabel.cli", "assist", store, "--sample", "food",
         "--classes", ",".join(CLASSES), "--lease", "3", "--poll", "0.1"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    s = shared = None
    try:
        assert "leading" in proc.stdout.readline()
        s = team_session(images, store, "kim")
        made = []
        shared = SharedAssistant(lambda: made.append(1), lead=False,
                                 poll_seconds=0.1).attach(s)
        first = s.current.key
        s.set_boxes(truth[first])
        s.next()
        nxt = s.current.key
        got = wait_for(lambda: s.suggestions(nxt), timeout=90, step=0.1)
        assert got and got[0].source == "tracker" and not made and not shared.is_leader
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert LeaderLease(s.store, "boxes", "x").holder() is None  # handed over at once
        time.sleep(0.5)
        assert not shared.is_leader  # lead=False: never takes it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if shared is not None:
            shared.close()
        if s is not None:
            s.close()


LABELER = textwrap.dedent('''
    import json, sys
    from nblabel.data.datasets import food_sample
    from nblabel.store.assign import Assignment
    from nblabel.widgets import BoxLabeler
    images, _ = food_sample()
    lab = BoxLabeler(images, image="path", classes={classes!r}, group="group",
                     store={store!r}, annotator="stu", assignment=Assignment())
    heavy = [m for m in ("torch", "cv2", "sklearn") if m in sys.modules]
    print(json.dumps({{"kind": type(lab.assistant).__name__,
                       "leader": lab.assistant.is_leader, "heavy": heavy}}), flush=True)
    lab.close()
''')


def test_a_team_labeler_that_follows_loads_no_tracker_or_model(tmp_path):
    store = str(tmp_path / "class.sqlite")
    from nblabel.store import open_store

    other = open_store(store)
    LeaderLease(other, "boxes", "teacher@host:1", lease_seconds=600).acquire()
    code = LABELER.format(classes=CLASSES, store=store)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info == {"kind": "SharedAssistant", "leader": False, "heavy": []}
    other.close()


def test_a_class_spreads_over_the_groups(food, tmp_path):
    images, truth = food
    store = str(tmp_path / "class.sqlite")
    sessions = [team_session(images, store, n) for n in ("ann", "bob", "cat")]
    shared = [SharedAssistant(tracker_only, poll_seconds=0.1).attach(s) for s in sessions]
    try:
        first = {images.at[s.current.key, "group"] for s in sessions}
        assert len(first) == 1  # everyone starts at the head of the queue: one group
        for s in sessions:
            s.set_boxes(truth[s.current.key])
        time.sleep(1.0)  # a few looks at the store: who works where
        for s in sessions:
            s.next()
        groups = [images.at[s.current.key, "group"] for s in sessions]
        assert groups[0] in first  # ann (first by name) keeps the group ...
        assert len(set(groups)) == 3, groups  # ... the others each take a free one
    finally:
        for a in shared:
            a.close()
        for s in sessions:
            s.close()


def test_the_leaders_status_names_no_class_when_alone(food, tmp_path):
    images, _ = food
    store = str(tmp_path / "alone.sqlite")
    s = team_session(images, store, "ann")
    a = SharedAssistant(tracker_only, poll_seconds=0.1, lease_seconds=3).attach(s)
    try:
        assert a.is_leader
        assert "shared" not in a.status and "class" not in a.status, a.status
        b_s = team_session(images, store, "bob")  # bob opens the task: he holds a photo
        try:
            assert wait_for(lambda: "shared with 1 other" in a.status, timeout=5), a.status
        finally:
            b_s.close()
    finally:
        a.close()
        s.close()
