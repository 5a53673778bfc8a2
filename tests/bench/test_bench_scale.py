"""``nblabel bench scale``: generated images, peak memory of a process tree, a small run."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from nblabel.bench.scale import PeakRss, generate_images
from nblabel.cli import main
from nblabel.data.images import load_image


def test_generated_images_are_the_same_prefix_at_any_size_and_match_their_boxes(tmp_path):
    small, small_boxes = generate_images(tmp_path / "a", 3, processes=1)
    big, big_boxes = generate_images(tmp_path / "b", 5, processes=1)
    assert small_boxes == big_boxes[:3] and len(big) == 5
    for p, q in zip(small, big):
        with open(p, "rb") as f, open(q, "rb") as g:
            assert f.read() == g.read()
    for p, (b,) in zip(big, big_boxes):
        img = load_image(p)
        assert 64 <= img.width <= 160 and 64 <= img.height <= 160
        inside = img.pixels[int(b.y0) + 2:int(b.y1) - 2, int(b.x0) + 2:int(b.x1) - 2]
        cx, cy = int((b.x0 + b.x1) / 2), int((b.y0 + b.y1) / 2)
        assert img.pixels[cy, cx, 0] > 180  # the red object is where its box says
        assert inside[..., 0].mean() > img.pixels[..., 0].mean() + 20


def test_peak_rss_counts_the_child_processes():
    code = "import numpy as np, time; a = np.ones(150_000_000 // 8); time.sleep(1.5)"
    with PeakRss(interval=0.05) as peak:
        child = subprocess.Popen([sys.executable, "-c", code])
        child.wait(60)
        time.sleep(0.1)
    r = peak.result()
    assert r["rss_workers_mb"] > 140  # the child's 150 MB array was seen
    assert r["rss_total_mb"] >= r["rss_workers_mb"] + 0.5 * r["rss_main_mb"]
    assert 0 < r["rss_main_mb"] < r["rss_total_mb"]


@pytest.mark.slow
def test_bench_scale_runs_small(tmp_path):
    out, png = tmp_path / "scale.json", tmp_path / "scale.png"
    assert main(["bench", "scale", "--images", "40,100", "--phases", "predict",
                 "--workers", "0", "--fit-steps", "3", "--input-size", "32", "--no-tta",
                 "--out", str(out), "--plot", str(png), "--workdir",
                 str(tmp_path / "w")]) == 0
    data = json.loads(out.read_text())
    assert data["complete"] and data["machine"]["cpu_count"] >= 1 and data["git_commit"]
    assert [(r["phase"], r["images"]) for r in data["rows"]] == [("predict", 40),
                                                                 ("predict", 100)]
    one_batch, pred = data["rows"]
    assert pred["first_batch_seconds"] > 0 and pred["rss_total_mb"] > 50
    assert pred["steady_seconds_per_1000"] > 0 and one_batch["steady_seconds_per_1000"] is None
    assert 0 <= pred["mean_iou"] <= 1 and np.isfinite(pred["seconds_per_1000"])
    assert pred["cpu_seconds"] > 0 and pred["load_average"] >= 0
    assert png.stat().st_size > 10_000
    assert not (tmp_path / "w").exists()  # the generated images are removed
