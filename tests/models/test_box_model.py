"""The default torch box model, the model protocol, the scikit-learn wrapper and background
fitting. Images are small synthetic scenes: one coloured ellipse (the object) on a
textured background with a distractor disc."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nblabel.errors import InputError
from nblabel.shapes import Box
from nblabel.suggest.model import (
    BoxPredictor,
    SklearnBoxModel,
    check_box_model,
    fit_in_background,
)


def _scenes(n: int, seed: int = 0, size: tuple[int, int] = (96, 72)):
    import cv2

    rng = np.random.default_rng(seed)
    images, boxes = [], []
    for _ in range(n):
        w, h = size
        img = (rng.normal(120, 25, (h, w, 3))).clip(0, 255).astype(np.uint8)
        bw, bh = rng.integers(18, 40), rng.integers(14, 30)
        x0, y0 = rng.integers(2, w - bw - 2), rng.integers(2, h - bh - 2)
        cv2.ellipse(img, (int(x0 + bw / 2), int(y0 + bh / 2)), (int(bw / 2), int(bh / 2)), 0, 0,
                    360, (230, 60, 40), -1)
        cx, cy = rng.integers(4, w - 4), rng.integers(4, h - 4)
        cv2.circle(img, (int(cx), int(cy)), 3, (240, 240, 240), -1)  # a small "coin"
        images.append(img)
        boxes.append((Box("fruit", float(x0), float(y0), float(x0 + bw), float(y0 + bh)),))
    return images, boxes


@pytest.mark.slow
def test_box_model_learns_and_predicts():
    from nblabel.models import BoxModel

    images, boxes = _scenes(48)
    test_images, test_boxes = _scenes(12, seed=1)
    m = BoxModel(input_size=64, width=8, max_steps=150, batch_size=8, num_threads=1,
                 random_state=0)
    assert isinstance(m, BoxPredictor)
    with pytest.raises(RuntimeError, match="not fitted"):
        m.predict(test_images)
    m.fit(images, boxes)
    assert m.classes_ == ["fruit"] and m.n_steps_ == 150
    pred = m.predict(test_images)
    ious = [p[0].iou(t[0]) if p else 0.0 for p, t in zip(pred, test_boxes)]
    assert np.mean(ious) > 0.6, ious
    assert all(b.source == "model" and 0 <= b.score <= 1 for p in pred for b in p)
    # an untrained network of the same shape does much worse: the test can fail
    cold = BoxModel(input_size=64, width=8, max_steps=1, batch_size=8, num_threads=1)
    cold.fit(images[:2], boxes[:2])
    cold_pred = cold.predict(test_images)
    cold_ious = [p[0].iou(t[0]) if p else 0.0 for p, t in zip(cold_pred, test_boxes)]
    assert np.mean(cold_ious) < np.mean(ious) - 0.2


def test_box_model_stops_early_and_checks_input():
    from nblabel.models import BoxModel

    images, boxes = _scenes(4)
    m = BoxModel(input_size=32, width=4, max_steps=1000, batch_size=2, num_threads=1)
    calls = []
    m.fit(images, boxes, should_stop=lambda: calls.append(1) or len(calls) > 3)
    assert m.n_steps_ == 3
    m2 = BoxModel(input_size=32, width=4, max_steps=1000, max_seconds=0.0, num_threads=1)
    assert m2.fit(images, boxes).n_steps_ == 0
    with pytest.raises(ValueError, match="2 images but 1"):
        m.fit(images[:2], boxes[:1])
    with pytest.raises(ValueError, match="at least one box"):
        m.fit(images[:1], [()])
    # warm start keeps the weights when the classes are the same
    m.warm_start = True
    net = m.net_
    m.max_steps = 2
    m.fit(images, boxes)
    assert m.net_ is net


def test_core_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import nblabel.models, nblabel.suggest.model, nblabel.suggest.tracker, "
            "nblabel.suggest.rules, nblabel.io\n"
            "from nblabel.models import BoxModel\n"
            "m = BoxModel()\n"
            "try:\n    m.fit([], [])\n"
            "except ImportError as e:\n    print('needs torch' in str(e))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_sklearn_wrapper_and_protocol():
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge

    images, boxes = _scenes(60)
    test_images, _ = _scenes(10, seed=2)
    rf = SklearnBoxModel(RandomForestRegressor(n_estimators=10, random_state=0), thumb=12)
    assert check_box_model(rf) is rf
    pred = rf.fit(images, boxes).predict(test_images)
    assert all(len(p) == 1 and p[0].label == "fruit" for p in pred)
    assert len({p[0].score for p in pred}) > 1  # ensemble spread gives varying scores
    ridge = SklearnBoxModel(Ridge(), score=0.3).fit(images, boxes)
    assert {p[0].score for p in ridge.predict(test_images)} == {0.3}
    with pytest.raises(InputError, match="lacks fit, predict"):
        check_box_model(object())
    with pytest.raises(InputError, match="at least one image with a box"):
        SklearnBoxModel(Ridge()).fit(images[:2], [(), ()])


def test_fit_in_background_runs_and_reports_errors():
    from sklearn.linear_model import Ridge

    images, boxes = _scenes(10)
    seen = []
    fut = fit_in_background(SklearnBoxModel(Ridge()), images, boxes, on_done=seen.append)
    model = fut.result(timeout=60)
    assert seen == [model] and hasattr(model, "label_")
    bad = fit_in_background(SklearnBoxModel(Ridge()), images[:1], [()])
    with pytest.raises(InputError):
        bad.result(timeout=60)


def test_the_crop_pass_places_edges_at_edge_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """The soft mask bleeds outward: the crop pass cuts it at ``edge_threshold``, so a
    higher one gives a tighter box; ``None`` falls back to ``threshold``."""
    from nblabel.models.boxes import BoxModel

    s = 128
    yy, xx = np.mgrid[0:s, 0:s]
    # a blob whose probability falls off from the centre: 0.5 at radius 40, 0.65 at ~31
    radius = np.maximum(np.abs(xx - 64), np.abs(yy - 64))
    obj = (1.0 / (1.0 + np.exp((radius - 40) / 6.0))).astype(np.float32)[None]
    cls = np.ones((1, 1, s, s), np.float32)
    m = BoxModel(input_size=s, threshold=0.5)
    m.classes_ = ["fruit"]
    monkeypatch.setattr(m, "_maps", lambda crops: (obj.repeat(len(crops), 0),
                                                   cls.repeat(len(crops), 0)))
    img = np.zeros((s, s, 3), np.uint8)
    first = ((Box("fruit", 30, 30, 98, 98, score=0.9),),)
    widths = {}
    for edge in (None, 0.5, 0.65, 0.8):
        m.edge_threshold = edge
        (b,) = m._refine([img], list(first))[0]
        widths[edge] = b.x1 - b.x0
    assert widths[None] == widths[0.5]
    assert widths[0.8] < widths[0.65] < widths[0.5], widths
    assert BoxModel().edge_threshold is None


def test_refine_boxes_runs_the_crop_pass_on_given_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """``refine_boxes``: each given box (say a tracker's) replaced by the model's box on a
    crop around it, keeping its label, score and source; a box with nothing near is kept."""
    from nblabel.models.boxes import BoxModel

    s = 128
    yy, xx = np.mgrid[0:s, 0:s]
    obj = ((np.abs(xx - 64) < 30) & (np.abs(yy - 64) < 20)).astype(np.float32)[None]
    cls = np.ones((1, 1, s, s), np.float32)
    m = BoxModel(input_size=s)
    with pytest.raises(RuntimeError, match="not fitted"):
        m.refine_boxes([], [])
    m.classes_ = ["fruit"]
    m.net_ = _CpuNet()
    monkeypatch.setattr(m, "_maps", lambda crops: (obj.repeat(len(crops), 0),
                                                   cls.repeat(len(crops), 0)))
    img = np.zeros((s, s, 3), np.uint8)
    loose = Box("pear", 20, 20, 110, 100, score=0.4, source="tracker")
    other = Box("pear", 30, 30, 90, 90, score=None, source="tracker")
    out = m.refine_boxes([img, img], [(loose, other), ()])
    assert [[(b.label, b.score, b.source) for b in bs] for bs in out] == [
        [("pear", 0.4, "tracker"), ("pear", None, "tracker")], []]
    assert out[0][0].area < loose.area and out[0][0].iou(loose) < 0.9
    monkeypatch.setattr(m, "_maps", lambda crops: (0 * obj.repeat(len(crops), 0),
                                                   cls.repeat(len(crops), 0)))
    assert m.refine_boxes([img], [(loose,)]) == [(loose,)]  # nothing found: kept
    with pytest.raises(ValueError, match="images but"):
        m.refine_boxes([img], [])


def test_the_crop_pass_averages_the_edges_of_its_looks(monkeypatch: pytest.MonkeyPatch) -> None:
    """``refine_scales``: one look per crop scale; the edges of the looks that found the
    object are averaged, a look that found nothing is left out, none at all keeps the box."""
    from nblabel.models.boxes import BoxModel

    m = BoxModel(refine_scales=(1.0, 1.25))
    assert BoxModel().refine_scales == (1.0, 1.25)
    near = {1.6: Box("x", 10, 20, 50, 60, score=0.8), 2.0: Box("x", 14, 24, 58, 60, score=0.4)}
    looks: list[float] = []

    def look(images, jobs, context):
        looks.append(round(context, 6))
        return [near.get(round(context, 6)) for _ in jobs]

    monkeypatch.setattr(m, "_look", look)
    img = np.zeros((80, 80, 3), np.uint8)
    given = Box("pear", 8, 18, 60, 64, score=0.5, source="tracker")
    ((b,),) = m._refine([img], [(given,)])
    assert looks == [1.6, 2.0]
    assert (b.x0, b.y0, b.x1, b.y1) == (12, 22, 54, 60)
    assert (b.label, b.source) == ("pear", "tracker")
    assert b.score == pytest.approx((0.5 * 0.6) ** 0.5)
    del near[2.0]  # the wider look finds nothing: the other's edges alone
    ((b,),) = m._refine([img], [(given,)])
    assert (b.x0, b.y0, b.x1, b.y1) == (10, 20, 50, 60)
    near.clear()
    assert m._refine([img], [(given,)]) == [(given,)]


class _CpuNet:
    def to(self, device):
        return self
