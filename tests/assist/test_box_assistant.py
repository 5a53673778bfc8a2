"""BoxAssistant on the bundled food sample: the live loop a user gets with no wiring."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from nblabel.assist import BoxAssistant
from nblabel.errors import InputError
from nblabel.session import BoxSession
from nblabel.shapes import Box
from nblabel.suggest.model import SklearnBoxModel

CLASSES = ["apple", "banana", "bread", "egg", "coin"]


def _box_the_food(s: BoxSession, truth: dict, n: int) -> None:
    """Label the next ``n`` photos with their true food boxes (no coin), as a person would."""
    for _ in range(n):
        s.set_boxes([b for b in truth[s.current.key] if b.label != "coin"])
        s.next()


def _alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("nblabel-")
            and t.is_alive()]


def test_a_labeled_photo_gives_the_next_photo_of_its_group_a_tracker_suggestion(food):
    images, truth = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    a = BoxAssistant(model=None, processes=1).attach(s)
    try:
        first = s.current.key
        s.set_boxes(truth[first])
        s.next()
        assert a.wait(120)
        nxt = s.current.key
        assert images.at[nxt, "group"] == images.at[first, "group"]  # the group goes on
        sugg = s.suggestions()
        assert len(sugg) == 1 and sugg[0].source == "tracker"
        ious = [max(b.iou(t) for t in truth[nxt] if t.label == b.label) for b in sugg[0].value]
        assert sorted(b.label for b in sugg[0].value) == ["apple", "coin"]
        assert min(ious) > 0.5
        s.accept(0)
        cell = images.at[nxt, "boxes"]
        assert {b["source"] for b in cell} == {"tracker"}
        assert "tracker only" in a.status
    finally:
        a.close()
    assert not _alive() and not multiprocessing.active_children()


class Failing:
    """A box model whose fit always raises."""

    def fit(self, images, boxes):
        raise RuntimeError("out of memory (planted)")

    def predict(self, images):
        raise AssertionError("never fitted")


def test_a_failing_model_is_reported_and_tracking_goes_on(food):
    images, truth = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    events: list[tuple[str, dict]] = []
    a = BoxAssistant(model=Failing(), first_fit=2, processes=1)
    a.on_update(lambda e, info: events.append((e, info)))
    a.attach(s)
    try:
        for _ in range(2):
            s.set_boxes(truth[s.current.key])
            s.next()
        assert a.wait(120)
        assert a.errors and "out of memory (planted)" in a.errors[0]
        assert any(e == "error" and "planted" in info["error"] for e, info in events)
        assert "model failed" in a.status
        assert s.suggestions() and s.suggestions()[0].source == "tracker"
        s.accept(0)  # labeling goes on
        s.next()
        assert a.wait(120) and s.suggestions()
    finally:
        a.close()
    assert not _alive() and not multiprocessing.active_children()


def test_a_model_trained_in_the_background_suggests_on_untouched_groups(food):
    images, truth = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    model = SklearnBoxModel(Ridge(alpha=1.0), label="apple", score=0.6)
    a = BoxAssistant(model=model, tracker=None, first_fit=6, explore=0.0, group_chunk=None,
                     item_class="food").attach(s)
    try:
        seen_groups = set()
        for _ in range(6):
            seen_groups.add(images.at[s.current.key, "group"])
            s.set_boxes([b for b in truth[s.current.key] if b.label != "coin"])
            s.next()
        assert len(seen_groups) == 6  # without a tracker, the first labels spread out
        assert a.wait(120)
        assert a.model_version == 6 and len(a.fits) == 1
        assert a.fits[0]["predicted"] == len(images) - 6
        untouched = [k for k in images.index if images.at[k, "group"] not in seen_groups]
        sugg = s.suggestions(untouched[0])
        assert sugg and sugg[0].source == "model"
        # item_class: every suggestion carries the row's image-level class
        assert sugg[0].value[0].label == images.at[untouched[0], "food"]
        # the queue now serves whole groups one after the other
        order = [k for k in (str(images.index[p]) for p in s.queue.order)
                 if not s.is_labeled(k)]
        runs = [g for i, g in enumerate(images.loc[order, "group"])
                if i == 0 or g != images.loc[order, "group"].iloc[i - 1]]
        assert len(runs) == len(set(runs))
        assert "model v1 on 6 labels" in a.status
    finally:
        a.close()


class Corner:
    """A box model that always boxes the top-left corner: wrong on every food photo."""

    def fit(self, images, boxes):
        return self

    def predict(self, images):
        return [(Box("apple", 0, 0, 8, 8, score=0.9, source="model"),) for _ in images]


@pytest.mark.parametrize("refit_on_misses", [3, None])
def test_a_model_whose_suggestions_keep_being_corrected_is_refitted_early(
        food, refit_on_misses):
    images, truth = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    a = BoxAssistant(model=Corner(), tracker=None, first_fit=4, retrain_min_new=60,
                     refit_on_misses=refit_on_misses, explore=0.0, refine=False,
                     item_class="food").attach(s)
    try:
        _box_the_food(s, truth, 4)
        assert a.wait(120) and a.model_version == 4
        for _ in range(3):  # three of its suggestions corrected: 3 of 3 shown
            assert s.suggestions()[0].source == "model"
            _box_the_food(s, truth, 1)
        assert a.wait(120)
        if refit_on_misses is None:  # on schedule only: the next fit at 64 labels
            assert [f["labels"] for f in a.fits] == [4] and a.model_verdicts == [3, 3]
        else:
            assert [(f["labels"], f["reason"]) for f in a.fits] == [
                (4, "first"), (7, "corrections")]
            assert a.model_verdicts == [0, 0]  # the new model starts afresh
            s.accept(0)  # an accepted suggestion is no correction
            s.next()
            assert a.wait(120) and a.model_verdicts == [1, 0] and len(a.fits) == 2
    finally:
        a.close()


def test_group_chunk_deals_the_groups_round_by_round_once_a_model_exists(food):
    images, truth = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    model = SklearnBoxModel(Ridge(alpha=1.0), label="apple", score=0.6)
    a = BoxAssistant(model=model, tracker=None, first_fit=6, explore=0.0, group_chunk=2,
                     item_class="food").attach(s)
    try:
        _box_the_food(s, truth, 6)
        assert a.wait(120) and a.model_version == 6
        here = images.at[s.current.key, "group"]
        order = [k for k in (str(images.index[p]) for p in s.queue.order)
                 if not s.is_labeled(k)]
        groups = list(images.loc[order, "group"])
        rest = groups[sum(g == here for g in groups):]  # the group on screen comes first
        assert here not in rest
        n = len(set(rest))
        first_round = rest[: 2 * n]  # two images of every other group before any third
        assert all(first_round.count(g) == min(2, rest.count(g)) for g in set(rest))
    finally:
        a.close()


def test_closing_stops_threads_and_worker_processes_while_busy(food):
    images, truth = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    a = BoxAssistant(model=None, processes=2).attach(s)
    s.set_boxes(truth[s.current.key])
    a.close()
    assert not _alive() and not multiprocessing.active_children()
    assert a.status == "stopped"
    s.next()  # the session goes on without it
    s.set_boxes(truth[s.current.key])


def test_item_class_column_must_hold_session_classes(food):
    images, _ = food
    s = BoxSession(images, image="path", classes=["coin"], group="group")
    with pytest.raises(Exception, match="not session classes"):
        BoxAssistant(model=None, item_class="food").attach(s)


@pytest.mark.parametrize("pull", [-0.1, 1.5])
def test_refine_pull_outside_0_to_1_is_refused(food, pull):
    images, _ = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    with pytest.raises(InputError, match="refine_pull"):
        BoxAssistant(model=None, refine_pull=pull).attach(s)
    assert not multiprocessing.active_children()  # refused before anything started


def test_refits_run_enough_steps_for_their_labels_within_bounds(food):
    a = BoxAssistant(fit_steps=900, retrain_steps=1000, retrain_epochs=20,
                     min_retrain_steps=600)
    a.model_version = 0  # no model yet (attach() starts here)
    assert a.steps_for(20, 16) == 900  # the first fit, from scratch
    a.model_version = 20  # a model exists: later fits are warm starts
    assert a.steps_for(100, 16) == 600  # 125 steps would be 20 passes: the floor
    assert a.steps_for(640, 16) == 800  # 20 passes over 640 labels in batches of 16
    assert a.steps_for(5000, 16) == 1000  # the ceiling
    a.retrain_epochs = None
    assert a.steps_for(100, 16) == 1000
    images, _ = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    with pytest.raises(InputError, match="retrain_epochs"):
        BoxAssistant(model=None, retrain_epochs=0).attach(s)


@pytest.mark.slow
def test_tracking_on_a_dask_cluster_gives_the_same_boxes_as_the_local_pool(food):
    distributed = pytest.importorskip("distributed")
    images, truth = food

    def run(executor):
        df = images.copy()
        s = BoxSession(df, image="path", classes=CLASSES, group="group")
        a = BoxAssistant(model=None, executor=executor, processes=2, reorder=False,
                         track_ahead=None).attach(s)
        try:
            for first in df.groupby("group", sort=False).head(1).index:
                s.set_boxes(truth[first], key=first)
            assert a.wait(300)
            return {k: tuple(round(v, 3) for b in sg[0].value for v in b.xyxy)
                    for k in df.index if (sg := s.suggestions(k))}
        finally:
            a.close()

    local = run(None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = run(client.get_executor())
    assert len(local) >= len(images) - images["group"].nunique() - 3
    assert on_dask == local
    assert np.isfinite(next(iter(local.values()))).all()


def test_scores_become_calibrated_and_young_models_say_so(food):
    images, truth = food
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    a = BoxAssistant(model=None, processes=1).attach(s)
    a.calibrator.min_decisions = 5
    try:
        notes, scores = [], []
        for _ in range(20):
            a.wait(120)
            key = s.current.key
            sugg = s.suggestions()
            if sugg:
                notes.append(a.note(key))
                scores.append((sugg[0].score, a._shown[s.items.position_of(key)][1]))
                s.reject(0)
            s.set_boxes(truth[key])  # every suggestion corrected: acceptance 0
            s.next()
        assert notes[0] == "score not calibrated yet" and notes[-1] == ""
        shown, raw = scores[-1]
        assert raw > 0.2 and shown == pytest.approx(0.0)  # what the annotator taught it
    finally:
        a.close()


def test_suggestions_are_refined_by_edge_snapping_unless_turned_off(food):
    images, truth = food
    got = {}
    for refine, pull in ((True, 0.5), (True, 1.0), (False, 0.5)):
        s = BoxSession(images.copy(), image="path", classes=CLASSES, group="group")
        a = BoxAssistant(model=None, processes=1, refine=refine, refine_pull=pull).attach(s)
        try:
            first = s.current.key
            s.set_boxes(truth[first])
            s.next()
            assert a.wait(120)
            got[refine, pull] = (s.suggestions()[0].value, list(a.refine_ms))
        finally:
            a.close()
    (half, ms), (full, _), (raw, none) = got[True, 0.5], got[True, 1.0], got[False, 0.5]
    assert ms and not none and all(t < 2000 for t in ms)
    assert full != raw and half != raw  # the edges moved
    assert len(full) == len(raw) and all(a.iou(b) > 0.6 for a, b in zip(full, raw))
    # by default each edge goes halfway to where snapping puts it
    by_label = {b.label: b for b in raw}
    for h, f in zip(half, full):
        r = by_label[h.label]
        assert h.xyxy == pytest.approx([(u + v) / 2 for u, v in zip(r.xyxy, f.xyxy)], abs=0.5)


class Fixed:
    """A box model that answers the same shares of whatever image it is shown: a large
    centred box, which a zoomed-out look still roughly confirms, or (``fickle``) a small box
    near a corner, which it does not."""

    def __init__(self, fickle: bool):
        self.lo, self.hi = (0.05, 0.2) if fickle else (0.1, 0.9)

    def fit(self, images, boxes):
        return self

    def predict(self, images):
        return [[Box("apple", self.lo * im.shape[1], self.lo * im.shape[0],
                     self.hi * im.shape[1], self.hi * im.shape[0], score=0.8,
                     source="model")] for im in images]


@pytest.mark.parametrize("fickle", [True, False])
def test_a_box_a_second_look_does_not_confirm_is_shown_as_a_suspected_miss(food, fickle):
    images, truth = food
    suspected = fickle
    s = BoxSession(images, image="path", classes=CLASSES, group="group")
    a = BoxAssistant(model=Fixed(fickle), tracker=None, first_fit=2, explore=0.0,
                     item_class="food", refine=False).attach(s)
    try:
        _box_the_food(s, truth, 2)
        assert a.wait(120) and a.model_version == 2
        key = s.current.key
        (sugg,) = s.suggestions(key)
        assert bool(a.suspected(key)) is suspected
        assert ("suspected miss" in a.note(key)) is suspected
        # a suspected miss's score is cut, so the uncertainty-first queue serves it early
        assert sugg.value[0].score == pytest.approx(0.4 if suspected else 0.8)
    finally:
        a.close()


class Tightener:
    """A box model that finds nothing by itself but, given a box (its crop pass), answers
    the box shrunk by a tenth of its size on each side."""

    def __init__(self):
        self.refined = 0

    def fit(self, images, boxes):
        return self

    def predict(self, images):
        return [[] for _ in images]

    def refine_boxes(self, images, boxes):
        self.refined += sum(len(bs) for bs in boxes)
        return [tuple(_shrunk(b) for b in bs) for bs in boxes]


def _shrunk(b: Box) -> Box:
    dx, dy = (b.x1 - b.x0) / 10, (b.y1 - b.y0) / 10
    return b.replace(x0=b.x0 + dx, y0=b.y0 + dy, x1=b.x1 - dx, y1=b.y1 - dy)


def test_tracker_boxes_go_through_the_models_crop_pass_once_a_model_exists(food):
    images, truth = food
    got = {}
    for refine_tracked in (True, False):
        s = BoxSession(images.copy(), image="path", classes=CLASSES, group="group")
        model = Tightener()
        a = BoxAssistant(model=model, processes=1, first_fit=1, refine=False,
                         check_misses=False, refine_tracked=refine_tracked).attach(s)
        try:
            first = s.current.key
            s.set_boxes(truth[first])
            s.next()
            assert a.wait(120) and a.model_version == 1
            (sugg,) = s.suggestions()
            assert sugg.source == "tracker"
            got[refine_tracked] = (sugg.value, model.refined)
            s.accept(0)  # the trust duel and the calibration see the box as shown
            assert s.value(s.current.key) == sugg.value
        finally:
            a.close()
    (refined, n), (raw, none) = got[True], got[False]
    assert n >= len(raw) and none == 0
    assert len(refined) == len(raw) == 2
    for r, t in zip(sorted(refined, key=lambda b: b.label), sorted(raw, key=lambda b: b.label)):
        assert r.label == t.label and r.source == "tracker" and r.score == t.score
        assert r.xyxy == pytest.approx(_shrunk(t).xyxy, abs=0.01)


SCRIPT_WITHOUT_MAIN_GUARD = """
import json
from nblabel.assist import BoxAssistant
from nblabel.data.datasets import food_sample
from nblabel.session import BoxSession
from nblabel.shapes import Box

images, truth = food_sample()
s = BoxSession(images, image="path", classes=["apple", "banana", "bread", "egg", "coin"],
               group="group")
a = BoxAssistant(model=None, processes=1).attach(s)
first = s.current.key
s.set_boxes([Box(r.label, r.x0, r.y0, r.x1, r.y1) for r in truth[truth.id == first].itertuples()])
s.next()
a.wait(120)
groups = images["group"]
print(json.dumps({"same_group": bool(groups[s.current.key] == groups[first]),
                  "suggestions": [x.source for x in s.suggestions()], "errors": a.errors}))
a.close()
"""


def test_a_script_without_a_main_guard_still_gets_tracker_suggestions_and_is_told_why(
        tmp_path):
    # the worker processes start by importing the main script again; without
    # `if __name__ == "__main__":` that would run the whole script in each of them
    script = tmp_path / "label.py"
    script.write_text(SCRIPT_WITHOUT_MAIN_GUARD)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    assert len(lines) == 1, done.stdout  # the worker did not run the script's labeling
    out = json.loads(lines[0])
    assert out["same_group"] and out["suggestions"] == ["tracker"]  # tracked in-process
    assert len(out["errors"]) == 1 and '__name__ == "__main__"' in out["errors"][0]
    assert "tracking moved into this process" in out["errors"][0]


def test_tracking_workers_start_with_the_assistant_only_when_there_are_groups(food):
    images, _ = food
    grouped = BoxSession(images, image="path", classes=CLASSES, group="group")
    a = BoxAssistant(model=None, processes=1).attach(grouped)
    try:  # started before the first label: the first box is carried without a cold start
        assert len(multiprocessing.active_children()) == 1
    finally:
        a.close()
    assert not multiprocessing.active_children()
    alone = BoxSession(images, image="path", classes=CLASSES)  # no group: nothing to carry
    b = BoxAssistant(model=None, processes=1).attach(alone)
    try:
        assert not multiprocessing.active_children()
    finally:
        b.close()


KILLED_KERNEL = """
import multiprocessing, time
from nblabel.assist import BoxAssistant
from nblabel.data.datasets import food_sample
from nblabel.session import BoxSession
if __name__ == "__main__":
    images, _ = food_sample()
    s = BoxSession(images, image="path", classes=["apple", "banana", "bread", "egg", "coin"],
                   group="group")
    a = BoxAssistant(model=None, processes=2).attach(s)
    time.sleep(2)
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    time.sleep(120)
"""


def test_the_tracking_workers_end_when_their_kernel_is_killed(tmp_path):
    script = tmp_path / "kernel.py"
    script.write_text(KILLED_KERNEL)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    kernel = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=tmp_path)
    try:
        workers = [int(p) for p in kernel.stdout.readline().split()]
        assert len(workers) >= 2  # the pool (and OpenCV) started with the assistant
    finally:
        kernel.kill()  # SIGKILL: no exit hooks run in the kernel
        kernel.wait(10)

    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split()[2] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if alive(p)]
