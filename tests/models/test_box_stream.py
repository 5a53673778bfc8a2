"""BoxModel on image files (streaming loader, disk cache) and on a device (CPU here; the
CUDA test runs where there is a GPU). Scenes as in test_box_model: an ellipse on noise."""

from __future__ import annotations

import logging
import os
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from nblabel.data.images import load_image
from nblabel.errors import InputError
from tests.models.test_box_model import _scenes

torch = pytest.importorskip("torch")

from nblabel.models import BoxModel, ImageCache, resolve_device  # noqa: E402


def _write(tmp_path, images, ext=".png"):
    paths = []
    for i, img in enumerate(images):
        p = tmp_path / f"img{i:03d}{ext}"
        cv2.imwrite(str(p), img[:, :, ::-1])
        paths.append(str(p))
    return paths


def _tiny(**kw) -> BoxModel:
    args = dict(input_size=32, width=4, max_steps=4, batch_size=4, num_threads=1,
                threshold=0.3, random_state=0)
    return BoxModel(**{**args, **kw})


def _weights(m: BoxModel) -> list[np.ndarray]:
    return [t.detach().cpu().numpy().copy() for t in m.net_.state_dict().values()]


def test_predict_paths_equals_predict_on_the_decoded_images_in_full_resolution(tmp_path):
    images, boxes = _scenes(10, size=(192, 144))
    paths = _write(tmp_path, images)
    m = _tiny(threshold=0.05).fit(images, boxes)  # a low threshold: every image has boxes
    reduced = [load_image(p, max_side=96) for p in paths]
    want = m.predict([r.pixels for r in reduced])
    assert sum(len(bs) for bs in want) >= 10
    got = m.predict_paths(paths, max_side=96, batch_size=4, num_workers=0)
    assert len(got) == len(paths)
    for g, w, r in zip(got, want, reduced):
        assert len(g) == len(w)
        for a, b in zip(g, w):  # full-resolution pixels: 2x the reduced image's
            assert r.scale == 0.5 and a.label == b.label and a.score == b.score
            assert np.allclose([a.x0, a.y0, a.x1, a.y1], [2 * b.x0, 2 * b.y0, 2 * b.x1,
                                                          2 * b.y1])
    batches = list(m.iter_predict_paths(paths, max_side=96, batch_size=4, num_workers=0))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [i for b in batches for i, _ in b] == list(range(10))


def test_an_unreadable_file_gets_no_boxes_and_a_warning_naming_it(tmp_path, caplog):
    images, boxes = _scenes(3)
    paths = _write(tmp_path, images)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    paths.insert(1, str(tmp_path / "broken.jpg"))
    m = _tiny(threshold=0.05).fit(images, boxes)
    with caplog.at_level(logging.WARNING, logger="nblabel"):
        stream = [r for b in m.iter_predict_paths(paths, num_workers=0) for r in b]
    assert [bs is None for _, bs in stream] == [False, True, False, False]
    assert "broken.jpg" in caplog.text
    with pytest.warns(UserWarning, match="1 of 4 images could not be read"):
        got = m.predict_paths(paths, num_workers=0)
    assert got[1] == () and all(got[i] for i in (0, 2, 3))


def test_the_cache_holds_the_reduced_rotated_image_until_the_file_changes(tmp_path):
    rng = np.random.default_rng(0)
    px = rng.integers(0, 255, (60, 90, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    jpg = tmp_path / "rotated.jpg"
    Image.fromarray(px).save(jpg, exif=exif, quality=95)
    cache = ImageCache(tmp_path / "cache")
    first = cache.load(jpg, 40)
    fresh = load_image(jpg, max_side=40)
    assert (first.width, first.height) == (60, 90) == (fresh.width, fresh.height)
    entries = list((tmp_path / "cache").rglob("*.nbl"))
    assert len(entries) == 1
    again = cache.load(jpg, 40)  # read back from the file: lossless, same frame
    assert np.array_equal(again.pixels, fresh.pixels) and again.scale == fresh.scale
    assert again.pixels.shape[:2] == (40, 27)
    entries[0].write_bytes(b"NBL1" + bytes(8) + b"garbage")  # a damaged entry: decoded anew
    assert np.array_equal(cache.load(jpg, 40).pixels, fresh.pixels)
    cache.load(jpg, 20)  # another reduction, another entry
    Image.fromarray(px[::-1]).save(jpg, exif=exif, quality=95)
    os.utime(jpg, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = cache.load(jpg, 40)
    assert not np.array_equal(changed.pixels, fresh.pixels)
    assert len(list((tmp_path / "cache").rglob("*.nbl"))) == 3
    with pytest.raises(OSError, match="not found"):
        cache.load(tmp_path / "missing.jpg", 40)


def test_a_cached_pass_gives_the_same_boxes(tmp_path):
    images, boxes = _scenes(6)
    paths = _write(tmp_path, images)
    m = _tiny(threshold=0.05).fit(images, boxes)
    plain = m.predict_paths(paths, num_workers=0)
    cold = m.predict_paths(paths, num_workers=0, cache=tmp_path / "c")
    warm = m.predict_paths(paths, num_workers=0, cache=tmp_path / "c")
    assert plain == cold == warm
    assert len(list((tmp_path / "c").rglob("*.nbl"))) == 6
    with pytest.raises(ValueError, match="cache=None"):  # '' would be the working directory
        m.predict_paths(paths, num_workers=0, cache="")


@pytest.mark.slow
def test_worker_processes_give_the_same_fit_and_predictions(tmp_path):
    images, boxes = _scenes(8)
    paths = _write(tmp_path, images)
    here = _tiny().fit_paths(paths, boxes, num_workers=0)
    there = _tiny().fit_paths(paths, boxes, num_workers=1)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(here), _weights(there)))
    other = _tiny(random_state=1).fit_paths(paths, boxes, num_workers=0)
    assert not all(np.allclose(a, b, atol=1e-5) for a, b in zip(_weights(here),
                                                                _weights(other)))
    here.threshold = 0.05
    assert here.predict_paths(paths, num_workers=1) == here.predict_paths(paths, num_workers=0)


@pytest.mark.slow
def test_fit_paths_learns_boxes_given_in_full_resolution(tmp_path):
    images, boxes = _scenes(48, size=(192, 144))
    test_images, test_boxes = _scenes(12, seed=1, size=(192, 144))
    big = [tuple(b.replace(x0=2 * b.x0, y0=2 * b.y0, x1=2 * b.x1, y1=2 * b.y1) for b in bs)
           for bs in boxes]
    # the files are twice the scenes' size; decoded at 96 px, the boxes must be halved
    paths = _write(tmp_path, [cv2.resize(im, (192 * 2, 144 * 2)) for im in images])
    m = BoxModel(input_size=64, width=8, max_steps=150, batch_size=8, num_threads=1)
    m.fit_paths(paths, big, max_side=192, num_workers=0)
    assert m.n_steps_ == 150 and m.device_ == str(resolve_device())
    (tmp_path / "test").mkdir()
    test_paths = _write(tmp_path / "test", test_images)
    pred = m.predict_paths(test_paths, max_side=192, num_workers=0)
    ious = [p[0].iou(t[0]) if p else 0.0 for p, t in zip(pred, test_boxes)]
    assert np.mean(ious) > 0.6, ious


def test_the_device_is_chosen_and_checked():
    auto = resolve_device("auto")
    if torch.cuda.is_available():
        assert auto.type == "cuda"
    elif torch.backends.mps.is_available():
        assert auto.type == "mps"
    else:
        assert auto.type == "cpu"
        with pytest.raises(InputError, match="no CUDA GPU"):
            resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(InputError, match="unknown device"):
        resolve_device("tpu9")
    images, boxes = _scenes(4)
    m = _tiny(device="cpu").fit(images, boxes)
    assert m.device_ == "cpu" and m.mixed_precision_ is False


def test_mixed_precision_runs_the_same_loop_in_bfloat16_on_the_cpu():
    images, boxes = _scenes(4)
    full = _tiny(device="cpu", threshold=0.05).fit(images, boxes)
    half = _tiny(device="cpu", threshold=0.05, mixed_precision=True).fit(images, boxes)
    assert half.mixed_precision_ is True
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(full), _weights(half)))
    # same seed, 4 steps: the two trainings stay close
    assert all(np.allclose(a, b, atol=0.05) for a, b in zip(_weights(full), _weights(half)))
    assert len(half.predict(images)) == 4


@pytest.mark.allow_skip  # hardware, not a missing resource: CI machines have no GPU
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_on_a_gpu_the_model_gives_the_cpu_boxes_and_learns():
    images, boxes = _scenes(48)
    test_images, test_boxes = _scenes(12, seed=1)
    m = BoxModel(input_size=64, width=8, max_steps=150, batch_size=8, device="cpu")
    cpu = m.fit(images, boxes).predict(test_images)
    m.device = "cuda"  # the CPU-trained weights, predicted on the GPU in float16
    gpu = m.predict(test_images)
    assert m.device_.startswith("cuda") and m.mixed_precision_
    for a, b in zip(cpu, gpu):
        assert len(a) == len(b) and all(x.iou(y) > 0.9 for x, y in zip(a, b))
    g = BoxModel(input_size=64, width=8, max_steps=150, batch_size=8, device="cuda")
    pred = g.fit(images, boxes).predict(test_images)
    ious = [p[0].iou(t[0]) if p else 0.0 for p, t in zip(pred, test_boxes)]
    assert np.mean(ious) > 0.6, ious


def test_the_assistant_streams_its_prediction_pass_and_shows_the_device(tmp_path):
    import pandas as pd

    from nblabel.assist import BoxAssistant
    from nblabel.session import BoxSession

    images, boxes = _scenes(8)
    paths = _write(tmp_path, images)
    df = pd.DataFrame({"path": paths})
    s = BoxSession(df, image="path", classes=["fruit"])
    model = _tiny(threshold=0.05, max_steps=2)
    # more unlabeled images than the image cache holds: the pass streams them
    a = BoxAssistant(model=model, tracker=None, first_fit=2, refine=False,
                     cache_images=4).attach(s)
    try:
        for _ in range(2):
            s.set_boxes(list(boxes[s.current.position]))
            s.next()
        assert a.wait(60)
        assert a.fits and a.fits[0]["predicted"] == 6
        assert f"model v1 on 2 labels ({model.device_})" in a.status
        # the pass streamed: the assistant kept only the labeled images it trained on
        assert sorted(a._cache) == sorted(a._labeled) and len(a._cache) == 2
        unlabeled = [str(k) for k in df.index if not s.is_labeled(str(k))]
        assert all(s.suggestions(k) and s.suggestions(k)[0].source == "model"
                   for k in unlabeled)
    finally:
        a.close()
    assert not a.errors


def test_a_fitted_model_pickles_with_its_weights():
    import pickle

    images, boxes = _scenes(4)
    m = _tiny(threshold=0.05).fit(images, boxes)
    copy = pickle.loads(pickle.dumps(m))
    assert copy.classes_ == m.classes_ and copy.n_steps_ == 4
    assert all(np.array_equal(a, b) for a, b in zip(_weights(m), _weights(copy)))
    assert copy.predict(images) == m.predict(images)
    assert pickle.loads(pickle.dumps(_tiny())).max_steps == 4  # unfitted too


@pytest.mark.slow
def test_a_prediction_pass_splits_across_an_executor(tmp_path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from nblabel.models.box_data import predict_on_executor

    images, boxes = _scenes(7)
    paths = _write(tmp_path, images)
    m = _tiny(threshold=0.05).fit(images, boxes)
    want = m.predict_paths(paths, num_workers=0)
    with ThreadPoolExecutor(2) as ex:
        chunks = list(predict_on_executor(m, paths, ex, chunk_size=3, max_pending=2))
    assert [s for s, _ in chunks] == [0, 3, 6]
    assert [bs for _, c in chunks for bs in c] == want
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as ex:
        got = [bs for _, c in predict_on_executor(m, paths, ex, chunk_size=4) for bs in c]
    assert got == want  # the model travelled to another process with its weights


@pytest.mark.slow
def test_the_assistant_predicts_on_the_users_executor(tmp_path):
    """With ``executor=`` (a dask client's ``get_executor()`` on a cluster), the prediction
    pass is sent there in chunks, each predicted by a copy of the fitted model."""
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    from nblabel.assist import BoxAssistant
    from nblabel.session import BoxSession

    class Counting(ThreadPoolExecutor):
        def __init__(self):
            super().__init__(2)
            self.chunks = 0

        def submit(self, fn, *args, **kwargs):
            self.chunks += fn.__name__ == "_predict_chunk"
            return super().submit(fn, *args, **kwargs)

    images, boxes = _scenes(9)
    paths = _write(tmp_path, images)
    df = pd.DataFrame({"path": paths})
    s = BoxSession(df, image="path", classes=["fruit"])
    ex = Counting()
    a = BoxAssistant(model=_tiny(threshold=0.05, max_steps=2), tracker=None, first_fit=2,
                     refine=False, executor=ex, executor_chunk=3).attach(s)
    try:
        for _ in range(2):
            s.set_boxes(list(boxes[s.current.position]))
            s.next()
        assert a.wait(60)
        assert a.fits[0]["predicted"] == 7 and ex.chunks == 3  # 7 images in chunks of 3
        unlabeled = [str(k) for k in df.index if not s.is_labeled(str(k))]
        assert all(s.suggestions(k) and s.suggestions(k)[0].source == "model"
                   for k in unlabeled)
    finally:
        a.close()
        ex.shutdown()
    assert not a.errors
