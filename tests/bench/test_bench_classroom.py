"""``nblabel bench classroom``: its helpers, and a small real run (two students, SQLite,
headless Chromium; skipped locally without Chromium/Playwright, a failure in CI strict mode).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

from nblabel.bench import _browser as harness
from nblabel.bench import classroom as cb
from nblabel.bench import classroom_report
from nblabel.data.datasets import food_sample
from nblabel.data.folder import image_folder
from tests.conftest import require


def test_holder_pid_and_names():
    assert cb._holder_pid("ana@host:1234") == 1234
    assert cb._holder_pid("weird") is None and cb._holder_pid(None) is None
    names = cb._names(12)
    assert len(set(names)) == 12 and names[10] == "student11"


def test_fits_at_once_counts_overlaps_and_ends_a_dead_leaders_fit():
    w = cb.Watch(store=None)
    w.holders = [(0.0, "a@h:1"), (50.0, None), (52.0, "b@h:2")]
    w.fits = {("a@h:1", 10.0): 20.0, ("a@h:1", 40.0): None,  # running when a was killed
              ("b@h:2", 55.0): 70.0, ("b@h:2", 80.0): None}
    assert w.max_fits_at_once(end=100.0) == 1
    w.fits[("b@h:2", 45.0)] = 60.0  # b fitting while a's fit still ran: two at once
    assert w.max_fits_at_once(end=100.0) == 2


def test_readiness_once_a_model_existed_counts_photos_after_the_first_fit_ended():
    w = cb.Watch(store=None)
    items = [{"ready": False, "shown_at": 100.0}, {"ready": True, "shown_at": 110.0},
             {"ready": True, "shown_at": 130.0}, {"ready": False, "shown_at": 131.0},
             {"ready": True, "shown_at": 140.0}]
    after = classroom_report._after_first_model
    assert after(items, w)["suggestion_ready_share_after_first_model"] is None
    w.fits = {("a@h:1", 105.0): 125.0, ("a@h:1", 126.0): None, ("b@h:2", 90.0): 150.0}
    got = after(items, w)
    assert got == {"first_model_after_s": 25.0, "photos_after_first_model": 3,
                   "suggestion_ready_share_after_first_model": round(2 / 3, 3)}


def test_torch_loaded_reads_proc_maps():
    assert cb.torch_loaded(os.getpid()) in (True, False)
    assert cb.torch_loaded(2**22 + 12345) is None


def test_student_script_is_a_function():
    assert cb.STUDENT_JS.lstrip().startswith("async ([actions, pace, timeoutMs]) =>")


@pytest.mark.browser
@pytest.mark.timeout(600)
def test_two_students_on_sqlite(tmp_path):
    require(Path(harness.CHROMIUM).exists(), f"Chromium not found at {harness.CHROMIUM}")
    require(importlib.util.find_spec("playwright") is not None, "playwright is not installed")
    # the class labels a teacher's folder (nblabel app --images): two groups of four photos
    images, _ = food_sample()
    photos = tmp_path / "photos"
    for group in sorted(set(images["group"]))[:2]:
        (photos / group).mkdir(parents=True)
        for path in images.loc[images["group"] == group, "path"][:4]:
            shutil.copy(path, photos / group / Path(path).name)
    folder_ids = set(image_folder(photos).index)
    out = tmp_path / "classroom.json"
    rc = cb.main(["--students", "2", "--backends", "sqlite", "--actions", "3", "--pace", "0.2",
                  "--images", str(photos), "--classes", "food,coin", "--out", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    for key in ("date", "git_commit", "machine", "command", "students", "results"):
        assert key in res
    (r,) = res["results"]
    assert "error" not in r, r
    for key in ("next_item_ms", "suggestion_ready_share", "students", "leader_rss_mb",
                "non_leader_rss_mb", "torch_in_non_leaders", "max_fits_at_once",
                "lost_labels", "duplicate_assignments", "items_labeled_by_several",
                "survivors", "photos_labeled"):
        assert key in r, key
    assert r["lost_labels"] == 0 and r["duplicate_assignments"] == 0, r
    assert r["items_labeled_by_several"] == 0 and r["survivors"] == [], r
    assert r["max_fits_at_once"] <= 1
    assert [s["name"] for s in r["students"]] == ["ana", "ben"]
    assert res["images"] == str(photos) and len(r["labeled_items"]) == 6
    assert set(r["labeled_items"]) <= folder_ids, r["labeled_items"]
    assert all(s["saved"] == s["photos"] == 3 for s in r["students"]), r["students"]
    assert r["next_item_ms"]["n"] == 6 and not r["student_errors"], r
    assert out.with_suffix(".md").read_text().startswith("# Classroom benchmark")
