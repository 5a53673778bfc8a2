"""`nblabel bench boxes` end to end on a small subset of ECUSTFD, plus its annotator logic."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nblabel.bench import boxes as bench
from nblabel.shapes import Box


def test_annotator_counts_hand_accept_and_correct():
    t = bench.Tally()
    truth = Box("a", 0, 0, 10, 10)
    assert t.act(truth, None, 0.7) == truth
    near = Box("a", 0, 0, 10, 11, score=0.9, source="model")
    assert t.act(truth, near, 0.7) is near  # the accepted box, not the truth, is kept
    far = Box("a", 5, 5, 15, 15, score=0.9, source="tracker")
    assert t.act(truth, far, 0.7) == truth
    s = t.summary(3)
    assert (s["hand_boxes"], s["accepted"], s["corrections"]) == (1, 1, 1)
    assert s["hand_fraction"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["auto_iou_ge_07"] == 0.5
    assert s["shown_iou_histogram"]["0.9-1"] == 1 and s["shown_iou_histogram"]["0.1-0.3"] == 1
    assert s["by_model_version"] == [
        {"trained_on": 0, "hand_boxes": 1, "corrections": 1, "accepted": 1}]


def test_tallies_merge_per_model_version():
    a, b = bench.Tally(phase=40), bench.Tally(phase=40)
    truth = Box("a", 0, 0, 10, 10)
    a.act(truth, None, 0.5)
    b.act(truth, truth.replace(source="model"), 0.5)
    a.merge(b)
    assert a.summary(2)["by_model_version"] == [
        {"trained_on": 40, "hand_boxes": 1, "corrections": 0, "accepted": 1}]


@pytest.mark.slow
def test_bench_boxes_end_to_end(shared_data, tmp_path):
    root = shared_data / "ecustfd"
    out = tmp_path / "r.json"
    argv = ["--images", str(root / "JPEGImages"), "--annotations", str(root / "Annotations"),
            "--classes-from-filename", "--accept-iou", "0.5", "--out", str(out),
            "--groups", "4", "--seed-groups", "1", "--seed-images", "6", "--first-train", "5",
            "--steps", "30",
            "--retrain-steps", "10", "--max-side", "160", "--throughput-steps", "6",
            "--speedup-groups", "2", "--cores", "2"]
    # a fresh process, as on the command line: the benchmark forks its workers before any
    # thread starts, which a long-lived pytest process (tqdm, torch pools) cannot promise
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
        assert run["hand_fraction"] == pytest.approx(
            (run["hand_boxes"] + run["corrections"]) / n, abs=1e-3)
        phases = run["by_model_version"]
        assert sum(p["hand_boxes"] + p["corrections"] + p["accepted"] for p in phases) == n
    # tracker-only: exactly one hand box per group (4 groups), the rest are suggestions
    assert r["tracker_only"]["hand_boxes"] == 4
    assert r["tracker_only"]["auto_iou_ge_05"] > 0.5
    assert r["hand_boxes"] < n and r["accepted"] > 0
    tp = r["tracker_throughput"]
    assert tp["steps"] == 6 and tp["bare_csrt_fps"] > 0 and tp["nblabel_fps"] > 0
    sp = r["speedup"]
    assert sp["cores"] == 2 and sp["tracker_groups"]["groups"] == 2
    assert sp["tracker_groups"]["speedup"] > 0 and sp["model_training"]["speedup"] > 0
