"""`nblabel bench boxes` end to end on a small subset of ECUSTFD, plus its annotator logic."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time

import pytest

from nblabel.bench import boxes as bench
from nblabel.shapes import Box


def test_the_benchmark_holds_no_product_logic():
    """A simulated user: no fusion, training, ordering or keyframe code of its own (model
    fits appear only in the 2-core speed-up timing)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(bench))
    defined = {n.name for n in ast.walk(tree)
               if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert not defined & {"_fuse", "_group_chain", "_batch_size", "Trainer", "GroupJob",
                          "_track"}
    called = {}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            for n in ast.walk(fn):
                if isinstance(n, ast.Call):
                    f = n.func
                    name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                    called.setdefault(name, set()).add(fn.name)
    for banned in ("fuse", "fuse_boxes", "reorder", "group_order", "apply_rules", "propagate",
                   "predict"):
        assert banned not in called, (banned, called.get(banned))
    assert called.get("fit", set()) <= {"speedup"}


def test_annotator_counts_hand_accept_and_correct_with_their_costs():
    t = bench.Tally()
    truth = Box("a", 0, 0, 100, 100)
    assert t.act(truth, None, 0.7) == ("hand_boxes", bench.COSTS["draw"])
    near = Box("a", 0, 0, 100, 110, score=0.9, source="model")
    assert t.act(truth, near, 0.7) == ("accepted", bench.COSTS["accept"])
    # one edge 30 px off: verify, then fix one edge -- cheaper than a redraw
    loose = Box("a", 0, 0, 100, 145, score=0.9, source="tracker")
    outcome, cost = t.act(truth, loose, 0.7, phase=40)
    assert outcome == "corrections"
    assert cost == pytest.approx(bench.COSTS["accept"] + bench.COSTS["edge"])
    far = Box("a", 300, 300, 400, 400, score=0.9, source="model")
    assert t.act(truth, far, 0.7, phase=40) == ("corrections", bench.COSTS["draw"])
    s = t.summary(4)
    assert (s["hand_boxes"], s["accepted"], s["corrections"]) == (1, 1, 2)
    assert s["hand_fraction"] == pytest.approx(3 / 4, abs=1e-3)
    assert s["auto_iou_ge_07"] == pytest.approx(1 / 3, abs=1e-3)
    assert s["edges_per_correction"] == 2.5  # 1 edge and 4 edges
    assert s["corrections_by_edges"]["1"] == 1 and s["corrections_by_edges"]["4"] == 1
    assert s["annotator_seconds"] == pytest.approx(sum(
        (bench.COSTS["draw"], bench.COSTS["accept"], bench.COSTS["accept"] + bench.COSTS["edge"],
         bench.COSTS["draw"])), abs=0.1)
    assert s["by_model_version"] == [
        {"trained_on": 0, "hand_boxes": 1, "corrections": 0, "accepted": 1},
        {"trained_on": 40, "hand_boxes": 0, "corrections": 2, "accepted": 0}]


def test_correction_edges():
    truth = Box("a", 0, 0, 100, 100)
    assert bench.correction_edges(truth, truth) == 0
    assert bench.correction_edges(Box("a", 10, 0, 100, 100), truth) == 1
    assert bench.correction_edges(Box("a", -10, -10, 110, 110), truth) == 4


@pytest.mark.slow
def test_bench_boxes_end_to_end(shared_data, tmp_path):
    root = shared_data / "ecustfd"
    out = tmp_path / "r.json"
    argv = ["--images", str(root / "JPEGImages"), "--annotations", str(root / "Annotations"),
            "--classes-from-filename", "--accept-iou", "0.5", "--out", str(out),
            "--groups", "4", "--first-train", "5",
            "--steps", "30",
            "--retrain-steps", "10", "--max-side", "160", "--throughput-steps", "6",
            "--speedup-groups", "2", "--cores", "2"]
    # a fresh process, as on the command line
    done = subprocess.run([sys.executable, "-m", "nblabel.cli", "bench", "boxes", *argv],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(out.read_text())
    for key in ("n_images", "hand_boxes", "corrections", "hand_fraction", "accepted",
                "auto_iou_ge_07", "mean_iou_suggestions", "seconds", "cores", "machine",
                "git_commit", "date"):
        assert key in r, key
    n = r["n_images"]
    assert 8 <= n <= 60
    for run in (r, r["tracker_only"], r["model_only"]):
        assert run["hand_boxes"] + run["corrections"] + run["accepted"] == n
        assert run["labeled_in_store"] == n  # every label went through the session's store
        assert run["assistant_errors"] == []
        assert run["annotator_seconds"] >= n * bench.COSTS["accept"]
        assert run["hand_fraction"] == pytest.approx(
            (run["hand_boxes"] + run["corrections"]) / n, abs=1e-3)
        phases = run["by_model_version"]
        assert sum(p["hand_boxes"] + p["corrections"] + p["accepted"] for p in phases) == n
    # tracker-only: exactly one hand box per group (4 groups), the rest are suggestions
    assert r["tracker_only"]["hand_boxes"] == 4
    assert r["tracker_only"]["by_source"].keys() == {"tracker"}
    assert len(r["training"]) >= 1 and r["training"][0]["labels"] >= 5
    assert r["tracker_only"]["auto_iou_ge_05"] > 0.5
    assert r["hand_boxes"] < n and r["accepted"] > 0
    tp = r["tracker_throughput"]
    assert tp["steps"] == 6 and tp["bare_csrt_fps"] > 0 and tp["nblabel_fps"] > 0
    sp = r["speedup"]
    assert sp["cores"] == 2 and sp["tracker_groups"]["groups"] == 2
    assert sp["tracker_groups"]["speedup"] > 0 and sp["model_training"]["speedup"] > 0


def test_sigterm_stops_the_bench_and_its_worker_processes(shared_data, tmp_path):
    import psutil

    root = shared_data / "ecustfd"
    argv = ["--images", str(root / "JPEGImages"), "--annotations", str(root / "Annotations"),
            "--classes-from-filename", "--out", str(tmp_path / "r.json"), "--groups", "4",
            "--modes", "tracker", "--throughput-steps", "0", "--speedup-groups", "0",
            "--cores", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "nblabel.cli", "bench", "boxes", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids: list = []
    try:
        me = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        while len(me.children(recursive=True)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # the tracker's process pool has started
        kids = me.children(recursive=True)
        assert len(kids) >= 2, "the bench started no worker processes"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
        _gone, alive = psutil.wait_procs(kids, timeout=30)
        assert not alive, [p.cmdline()[:3] for p in alive]  # no orphaned pool worker
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for kid in kids:  # (only when the test failed)
            with contextlib.suppress(psutil.Error):
                kid.kill()


def test_reliability_table_and_ece():
    rows = [("model", 0.95, True)] * 9 + [("model", 0.95, False)] + [("tracker", 0.5, True),
                                                                      ("tracker", 0.5, False)]
    r = bench.reliability(rows)
    (b,) = r["model"]["bins"]
    assert b["scores"] == "0.9-1.0" and b["n"] == 10 and b["accepted_share"] == 0.9
    assert r["model"]["ece"] == pytest.approx(0.05, abs=1e-3)
    assert r["tracker"]["ece"] == pytest.approx(0.0)
    assert r["all"]["n"] == 12
