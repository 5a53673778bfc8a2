from __future__ import annotations

import threading
import time

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from nblabel.active import ActiveLearner, Snapshot, plot_learning_curve, session_snapshot
from nblabel.queue import Queue
from nblabel.session import TagSession

matplotlib.use("Agg")

GATES: dict[str, threading.Event] = {}


class SlowModel(BaseEstimator):
    """Fake model: fit blocks on a gate (or fails); proba from the text length."""

    def __init__(self, *, gate: str | None = None, fail: bool = False, k: int = 2):
        self.gate = gate
        self.fail = fail
        self.k = k

    def fit(self, X, y):
        if self.gate is not None:
            assert GATES[self.gate].wait(10), "test gate never opened"
        if self.fail:
            raise RuntimeError("boom: the model could not be fitted")
        self.n_seen_ = len(X)
        return self

    def predict_proba(self, X):
        p = np.array([(len(str(x)) % 10) / 10 for x in X])
        return np.column_stack([p] * self.k)

    def predict(self, X):
        return (self.predict_proba(X) >= 0.5).astype(int)


@pytest.fixture
def gate():
    ev = threading.Event()
    GATES["g"] = ev
    yield ev
    ev.set()


def _session(n=40):
    df = pd.DataFrame({"text": ["x" * (i % 13 + 1) for i in range(n)]})
    return TagSession(df, text="text", tags=["a", "b"])


def test_labeling_never_waits_and_reorder_keeps_current_item(gate):
    s = _session()
    learner = ActiveLearner(SlowModel(gate="g"), strategy="margin", retrain_every=5,
                            min_labels=5, exploration=0.0).attach(s)
    for _ in range(5):
        s.set_tags(["a"])
        s.next()
    assert learner.running and learner.status == "training"
    before = s.queue.order.copy()
    # the fit is blocked: labeling goes on, fast, and the queue does not move
    for _ in range(10):
        t = time.perf_counter()
        s.set_tags(["b"])
        s.next()
        assert time.perf_counter() - t < 0.5
    np.testing.assert_array_equal(s.queue.order, before)
    current = s.current.key
    gate.set()
    assert learner.wait(10)
    assert learner.status == "idle" and learner.error is None
    assert s.current.key == current
    assert not np.array_equal(s.queue.order, before)
    # served by decreasing priority (labeled items are skipped by next())
    pri = learner.priorities_
    np.testing.assert_array_equal(np.diff(pri[s.queue.order]) <= 0, True)
    # the labels counted during the blocked fit led to a follow-up fit on 15 labels
    assert [r["labels"] for r in learner.history][-1] == 15
    learner.close()


def test_reorder_is_atomic_for_readers():
    n = 200_000
    q = Queue(n)
    snap = Snapshot(X=[str(i) for i in range(n)], labeled=np.arange(10), y=np.zeros((10, 2)))
    learner = ActiveLearner(SlowModel(), strategy="entropy", exploration=0.0, min_labels=1)
    learner.bind(lambda: snap, q)
    old = q.order.copy()
    seen_bad = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            o = q.order
            r0 = q.rank(int(o[0]))
            if r0 != 0 or np.unique(o[:1000]).size != 1000:
                seen_bad.append(r0)

    th = threading.Thread(target=reader)
    th.start()
    learner.start()
    assert learner.wait(30)
    stop.set()
    th.join()
    assert not seen_bad
    assert not np.array_equal(q.order, old)
    assert sorted(q.order[:100].tolist()) != list(range(100))
    learner.close()


def test_failure_is_surfaced_not_swallowed(caplog):
    errors = []
    q = Queue(20)
    snap = Snapshot(X=[str(i) for i in range(20)], labeled=np.arange(6), y=np.zeros((6, 2)))
    learner = ActiveLearner(SlowModel(fail=True), on_error=errors.append).bind(lambda: snap, q)
    before = q.order.copy()
    learner.start()
    learner.wait(10)
    assert learner.status == "failed"
    assert isinstance(learner.error, RuntimeError) and "boom" in str(learner.error)
    assert errors == [learner.error]
    assert "background training failed" in caplog.text
    np.testing.assert_array_equal(q.order, before)
    assert "error=" in repr(learner)
    learner.close()


def test_cancel_drops_the_result(gate):
    q = Queue(20)
    snap = Snapshot(X=[str(i) for i in range(20)], labeled=np.arange(6), y=np.zeros((6, 2)))
    learner = ActiveLearner(SlowModel(gate="g")).bind(lambda: snap, q)
    before = q.order.copy()
    learner.start()
    learner.cancel()
    assert learner.status == "cancelled"
    gate.set()
    learner.wait(10)
    np.testing.assert_array_equal(q.order, before)
    assert learner.history == [] and learner.model_ is None
    learner.close()
    with pytest.raises(RuntimeError, match="closed"):
        learner.start()


def test_cold_start_waits_for_min_labels():
    s = _session()
    learner = ActiveLearner(SlowModel(), retrain_every=1, min_labels=3).attach(s)
    s.set_tags(["a"])
    assert learner.history == [] and not learner.running
    learner.close()


def test_learning_curve_and_plot():
    s = _session()
    eval_X = ["xxxxxxx", "xx"]
    eval_y = np.array([[1, 1], [0, 0]])
    learner = ActiveLearner(SlowModel(), strategy="committee", retrain_every=5, min_labels=5,
                            eval_set=(eval_X, eval_y)).attach(s)
    for i in range(15):
        s.set_tags(["a"] if i % 2 else ["b"])
        s.next()
        learner.wait(10)
    lc = learner.learning_curve()
    assert lc["labels"] == [5, 10, 15]
    assert np.isnan(lc["progressive_score"][0]) and 0 <= lc["progressive_score"][1] <= 1
    assert lc["eval_score"] == [1.0, 1.0, 1.0]
    ax = learner.plot_learning_curve()
    assert len(ax.lines) == 2 and ax.get_xlabel() == "labels"
    bench = {"random": {"micro_f1": {"25": {"mean": 0.1, "std": 0.01},
                                     "50": {"mean": 0.2, "std": 0.02}}}}
    ax2 = plot_learning_curve(bench)
    assert list(ax2.lines[0].get_xdata()) == [25, 50]
    learner.close()


def test_session_snapshot_with_text_model():
    from nblabel.models.text import TextTagModel

    df = pd.DataFrame({"text": ["deep vision model", "language model text", "vision cnn",
                                "text parsing", "image vision", "text words"]})
    s = TagSession(df, text="text", tags=["vision", "text"])
    for tags in (["vision"], ["text"], ["vision"], ["text"]):
        s.set_tags(tags)
        s.next()
    snap = session_snapshot(s)
    assert snap.labeled.tolist() == [0, 1, 2, 3] and snap.classes == ["vision", "text"]
    np.testing.assert_array_equal(snap.y, [[1, 0], [0, 1], [1, 0], [0, 1]])
    learner = ActiveLearner(TextTagModel(tags=snap.classes), min_labels=2).attach(s)
    learner.start()
    assert learner.wait(30) and learner.status == "idle", learner.error
    assert learner.model_.predict_proba(["vision"]).shape == (1, 2)
    learner.close()


def test_after_a_reorder_next_serves_the_most_wanted_item():
    """The item on screen goes first in the new order, so next() continues from the head
    (before, it continued after wherever the current item had landed)."""
    s = _session()
    learner = ActiveLearner(SlowModel(), retrain_every=1000, min_labels=1).attach(s)
    s.set_tags(["a"])
    learner.start()
    assert learner.wait(30)
    pri = learner.priorities_
    open_ = [p for p in range(len(s.items)) if not s.is_labeled(s.items.keys[p])]
    best = max(open_, key=lambda p: pri[p])
    assert s.next().position == best
    learner.close()


class DenseModel(SlowModel):
    """SlowModel with ``features``: short texts sit together, long ones apart."""

    def features(self, X):
        v = np.array([[1.0, (len(str(x)) / 13) ** 3] for x in X])
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _priorities_after(n_labels, **kw):
    s = _session()
    learner = ActiveLearner(DenseModel(), strategy="margin", exploration=0.0,
                            retrain_every=1000, min_labels=1, **kw).attach(s)
    for i in range(n_labels):
        s.set_tags(["a"] if i % 2 else ["b"])
        s.next()
    learner.start()
    assert learner.wait(30) and learner.status == "idle", learner.error
    open_ = [p for p in range(len(s.items)) if not s.is_labeled(s.items.keys[p])]
    order = sorted(open_, key=lambda p: (-learner.priorities_[p], p))
    learner.close()
    return order


def test_density_weighting_fades_out_over_density_fade_labels():
    plain = _priorities_after(4, density=0.0)
    assert _priorities_after(4, density=1.0) != plain  # density reorders the queue ...
    assert _priorities_after(4, density=1.0, density_fade=100) != plain
    assert _priorities_after(4, density=1.0, density_fade=4) == plain  # ... until it fades
    learner = ActiveLearner(DenseModel(), density=2.0, density_fade=100)
    assert learner.density_exponent(0) == 2.0
    assert learner.density_exponent(25) == pytest.approx(1.5)
    assert learner.density_exponent(100) == learner.density_exponent(400) == 0.0
    with pytest.raises(ValueError, match="density_fade"):
        ActiveLearner(DenseModel(), density_fade=0)
