"""Tracker propagation: a real sequence (dudek), a synthetic video, mixed frame sizes,
forward/backward merging, loss, parallel groups and cancellation."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from nblabel.errors import ImageError, InputError
from nblabel.shapes import Box
from nblabel.suggest.tracker import (
    TRACKERS,
    TrackParams,
    make_tracker,
    propagate,
    propagate_groups,
    read_video,
    start_propagation,
    track_step,
)

# Measured on the 20 dudek frames with CSRT from frame 1 (max_side 480, opencv-contrib 5.1):
# mean IoU 0.93, min 0.89. The floors leave room for OpenCV version drift but fail when
# the tracker drifts off the face (a lost or frozen box scores < 0.6 on this sequence).
DUDEK_MEAN_FLOOR = 0.85
DUDEK_MIN_FLOOR = 0.75


def _scene(n: int, size: tuple[int, int] = (160, 120), step: int = 3, seed: int = 0):
    """Textured square moving right over a smooth background: frames and true boxes."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.stack([(xx * 255 // w), (yy * 255 // h), np.full_like(xx, 90)], -1).astype(np.uint8)
    obj = rng.integers(0, 255, (30, 30, 3), dtype=np.uint8)
    obj = cv2.resize(cv2.resize(obj, (6, 6)), (30, 30), interpolation=cv2.INTER_NEAREST)
    frames, boxes = [], []
    for i in range(n):
        f = bg.copy()
        x, y = 10 + step * i, 40 + i
        f[y:y + 30, x:x + 30] = obj
        frames.append(f)
        boxes.append(Box("sq", x, y, x + 30, y + 30))
    return frames, boxes


def test_dudek_mean_iou_above_floor(shared_data):
    d = shared_data / "dudek"
    rows = [list(map(float, ln.replace(",", " ").split()))
            for ln in (d / "groundtruth_rect.txt").read_text().splitlines() if ln.strip()]
    truth = [Box.from_xywh(*r, "face") for r in rows]
    frames = [d / "Dudek" / f"{i:04d}.jpg" for i in range(1, len(truth) + 1)]
    out = propagate(frames, {0: truth[0]})
    ious = [out[i][0].iou(truth[i]) if out[i] else 0.0 for i in range(1, len(truth))]
    assert np.mean(ious) >= DUDEK_MEAN_FLOOR, ious
    assert min(ious) >= DUDEK_MIN_FLOOR, ious
    assert all(b.source == "tracker" and 0 < b.score <= 1 for r in out[1:] for b in r)
    assert out[0] == (truth[0],)


def test_synthetic_video_written_with_videowriter(tmp_path):
    frames, truth = _scene(12)
    path = tmp_path / "clip.avi"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    assert vw.isOpened()
    for f in frames:
        vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()
    video = read_video(path)
    assert len(video) == 12 and video[0].shape == (120, 160, 3)
    assert len(read_video(path, step=2)) == 6
    out = propagate(video, {0: truth[0]})
    ious = [out[i][0].iou(truth[i]) for i in range(1, 12)]
    assert min(ious) > 0.7, ious
    with pytest.raises(ImageError, match="not found"):
        read_video(tmp_path / "missing.avi")
    (tmp_path / "bad.avi").write_bytes(b"not a video")
    with pytest.raises(ImageError):
        read_video(tmp_path / "bad.avi")


def test_frames_of_different_sizes():
    frames, truth = _scene(8, size=(200, 150))
    sizes = [(200, 150), (400, 300), (100, 75), (300, 225)] * 2
    scaled, scaled_truth = [], []
    for f, b, (w, h) in zip(frames, truth, sizes):
        s = w / 200
        scaled.append(cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR))
        scaled_truth.append(Box("sq", b.x0 * s, b.y0 * s, b.x1 * s, b.y1 * s))
    out = propagate(scaled, {0: scaled_truth[0]}, params=TrackParams(max_side=None))
    for i in range(1, 8):
        assert out[i], i
        b = out[i][0]
        assert b.x1 <= sizes[i][0] and b.y1 <= sizes[i][1]
        assert b.iou(scaled_truth[i]) > 0.6, (i, b, scaled_truth[i])


def test_forward_backward_merge_and_keyframes_kept():
    frames, truth = _scene(9)
    out = propagate(frames, {0: truth[0], 8: truth[8]})
    assert out[0] == (truth[0],) and out[8] == (truth[8],)
    for i in range(1, 8):
        assert len(out[i]) == 1 and out[i][0].iou(truth[i]) > 0.7
    # one keyframe in the middle reaches both ends
    mid = propagate(frames, {4: truth[4]})
    assert all(mid[i] and mid[i][0].iou(truth[i]) > 0.7 for i in range(9))
    with pytest.raises(InputError, match="outside"):
        propagate(frames, {9: truth[0]})
    assert propagate(frames, {}) == [()] * 9


def test_confidence_falls_and_run_stops_when_object_vanishes():
    frames, truth = _scene(10)
    gone = [f.copy() for f in frames]
    for f in gone[5:]:  # the object vanishes: replaced by a different random texture
        f[:] = np.random.default_rng(1).integers(0, 255, f.shape, dtype=np.uint8)
    out = propagate(gone, {0: truth[0]}, params=TrackParams(min_score=0.4))
    scores = [r[0].score if r else 0.0 for r in out[1:]]
    assert all(s > 0.4 for s in scores[:4])
    assert max(scores[5:]) < min(scores[:4])
    assert not out[-1]  # lost: no box rather than a wrong one


@pytest.mark.parametrize("name", ["csrt", "kcf", "mil"])
def test_trackers_selectable(name):
    assert name in TRACKERS
    frames, truth = _scene(4)
    if name != "mil":
        b = track_step(frames[0], truth[0], frames[1], params=TrackParams(tracker=name))
        assert b is not None and b.iou(truth[1]) > 0.6
        return
    # MIL samples patches at random and cv2.setRNGSeed does not make it repeatable (measured:
    # IoU 0.11-0.88 on this step across runs, with one thread too): judge the runs together.
    # Measured over 150 runs: IoU 5/50/95th percentile 0.21/0.50/0.88, every one > 0.1 (a
    # median of 9 runs > 0.3 failed 1.8% of the time; this check, far less)
    ious = []
    for _ in range(15):
        b = track_step(frames[0], truth[0], frames[1], params=TrackParams(tracker=name))
        ious.append(0.0 if b is None else b.iou(truth[1]))
    assert float(np.median(ious)) > 0.2, ious
    assert np.mean(np.array(ious) > 0.1) >= 0.8, ious  # it follows the object, not noise


def test_legacy_trackers_listed_and_unknown_rejected():
    assert any(t.startswith("legacy-") for t in TRACKERS)
    make_tracker("legacy-medianflow")
    with pytest.raises(InputError, match="unknown tracker 'nope'"):
        make_tracker("nope")


def test_propagate_groups_in_processes_matches_serial(tmp_path):
    groups = {}
    for g in range(3):
        frames, truth = _scene(5, seed=g)
        paths = []
        for i, f in enumerate(frames):
            p = tmp_path / f"g{g}_{i}.png"
            cv2.imwrite(str(p), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
            paths.append(p)
        groups[f"g{g}"] = (paths, {0: truth[0]})
    serial = propagate_groups(groups, processes=1, progress=False)
    parallel = propagate_groups(groups, processes=2, progress=False)
    assert serial == parallel and set(serial) == {"g0", "g1", "g2"}
    seen = []
    stop = propagate_groups(groups, processes=1, progress=False,
                            should_stop=lambda: len(seen) >= 1,
                            on_result=lambda k, r: seen.append(k))
    assert len(stop) == 1


def test_background_job_can_be_cancelled():
    frames, truth = _scene(30, step=1)
    groups = {i: (frames, {0: truth[0]}) for i in range(40)}
    job = start_propagation(groups, processes=1, progress=False)
    time.sleep(0.05)
    job.cancel()
    res = job.result(timeout=30)
    assert job.cancelled and job.done()
    assert len(res) < 40
    done = start_propagation({0: (frames[:3], {0: truth[0]})}, processes=1, progress=False)
    assert len(done.result(timeout=30)[0]) == 3


def test_background_job_reraises_errors():
    job = start_propagation({0: (["/nonexistent/a.png"], {0: Box("a", 0, 0, 1, 1)})},
                            processes=1, progress=False)
    with pytest.raises(ImageError):
        job.result(timeout=30)


def test_session_propagate_feeds_a_box_session(tmp_path):
    import pandas as pd

    from nblabel.session import BoxSession

    rows = []
    truth = {}
    for g in range(2):
        frames, boxes = _scene(4, seed=g)
        for i, (f, b) in enumerate(zip(frames, boxes)):
            p = tmp_path / f"g{g}_{i}.png"
            cv2.imwrite(str(p), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
            rows.append({"path": str(p), "group": f"g{g}"})
            truth[f"r{g}{i}"] = b
    df = pd.DataFrame(rows, index=[f"r{g}{i}" for g in range(2) for i in range(4)])
    s = BoxSession(df, image="path", classes=["sq"], group="group")
    s.set_boxes([truth["r00"]], key="r00")
    result = s.propagate(processes=1, progress=False)
    assert result == {"groups": 1, "suggested": 3}  # g1 has no keyframe: nothing to track
    for k in ("r01", "r02", "r03"):
        (sug,) = s.suggestions(k)
        assert sug.source == "tracker" and sug.value[0].iou(truth[k]) > 0.7
    assert s.suggestions("r10") == []
    s.accept(key="r01")
    assert s.value("r01")[0].iou(truth["r01"]) > 0.7
