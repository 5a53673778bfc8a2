"""What the box model sees: training views, an on-disk image cache and streaming loaders.

The box model works on small images (its input is ``input_size`` pixels square, its
refinement crops come from an image at most a few hundred pixels wide), so a data set of
100,000 photos never needs to be in memory: images are decoded and reduced in background
worker processes (a :class:`torch.utils.data.DataLoader` with a bounded prefetch queue),
and the reduced image is kept in an :class:`ImageCache` on disk, keyed by path, size and
modification time, so a second pass reads a small file instead of decoding the photo again.

Nothing here imports torch at module level: the data sets are plain map-style objects
(``__len__``/``__getitem__``) and :func:`make_loader` imports torch when called.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nblabel.data.images import LoadedImage, load_image
from nblabel.shapes import Box

__all__ = ["ImageCache", "PathImages", "TrainViews", "load_small", "make_loader",
           "predict_on_executor"]

_HEADER = struct.Struct("<4sII")  # magic, full-resolution width and height
_MAGIC = b"NBL1"


# ------------------------------------------------------------------ geometry helpers
def coverage(a: float, b: float, n: int) -> np.ndarray:
    """Fraction of each of ``n`` unit cells covered by the interval ``[a, b]``."""
    j = np.arange(n, dtype=np.float32)
    return np.clip(np.minimum(b, j + 1) - np.maximum(a, j), 0.0, 1.0)


def crop(img: np.ndarray, rect: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Resize the part ``rect`` (x0, y0, x1, y1; may exceed the image) to ``size`` x ``size``."""
    x0, y0, x1, y1 = rect
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    m = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]], dtype=np.float64)
    interp = cv2.INTER_AREA if min(sx, sy) < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(img, m, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def context_rect(b: Box, w: int, h: int, factor: float) -> tuple[float, float, float, float]:
    """The box ``b`` scaled by ``factor`` around its centre (at least 16 px, at most 2x the
    image)."""
    cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
    half_w, half_h = b.width * factor / 2, b.height * factor / 2
    half_w, half_h = min(max(half_w, 8.0), w), min(max(half_h, 8.0), h)
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


@dataclass(frozen=True)
class ViewSpec:
    """How training views are drawn (the model's settings that matter to the sampler)."""

    input_size: int
    crop_share: float
    context: float
    classes: tuple[str, ...]


def sample_view(
    rng: np.random.Generator, img: np.ndarray, boxes: Sequence[Box], spec: ViewSpec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One augmented training view: the input, its box mask and its class map.

    A share ``spec.crop_share`` of views are jittered crops around one box (the refinement
    view), the others the whole image with its borders padded or trimmed a little; then a
    random mirror and a brightness/contrast change.
    """
    s, out = spec.input_size, spec.input_size // 4
    h, w = img.shape[:2]
    if boxes and rng.random() < spec.crop_share:
        b = boxes[rng.integers(len(boxes))]
        f = spec.context * float(np.exp(rng.uniform(-0.3, 0.3)))
        x0, y0, x1, y1 = context_rect(b, w, h, f)
        dx, dy = (x1 - x0) * rng.uniform(-0.15, 0.15), (y1 - y0) * rng.uniform(-0.15, 0.15)
        rect = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
    else:
        m = rng.uniform(0.0, 0.08, size=4) * np.array([w, h, w, h])
        if rng.random() < 0.5:  # pad or trim the borders a little
            m = -m
        rect = (m[0], m[1], w - m[2], h - m[3])
    x = crop(img, rect, s)
    obj = np.zeros((out, out), np.float32)
    cls = np.full((out, out), -1, np.int64)
    k = out / (rect[2] - rect[0]), out / (rect[3] - rect[1])
    for b in sorted(boxes, key=lambda b: -b.area):  # small boxes win class pixels
        cx = coverage((b.x0 - rect[0]) * k[0], (b.x1 - rect[0]) * k[0], out)
        cy = coverage((b.y0 - rect[1]) * k[1], (b.y1 - rect[1]) * k[1], out)
        cov = np.outer(cy, cx)
        obj = np.maximum(obj, cov)
        cls[cov >= 0.5] = spec.classes.index(b.label)
    if rng.random() < 0.5:
        x, obj, cls = x[:, ::-1], obj[:, ::-1], cls[:, ::-1]
    x = x.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)
    return (np.ascontiguousarray(x, np.float32), np.ascontiguousarray(obj, np.float32),
            np.ascontiguousarray(cls))


def scaled(boxes: Sequence[Box], s: float) -> list[Box]:
    """``boxes`` with every coordinate multiplied by ``s``."""
    return [b.replace(x0=b.x0 * s, y0=b.y0 * s, x1=b.x1 * s, y1=b.y1 * s) for b in boxes]


# ------------------------------------------------------------------ the disk cache
class ImageCache:
    """Reduced images on disk, keyed by the file's path, size, modification time and the
    reduction (``max_side``); an edited or replaced file is decoded again.

    An entry is the lossless PNG of the reduced, EXIF-rotated RGB pixels behind a 12-byte
    header holding the full-resolution size (so boxes map back to the original's pixels).
    Writes are atomic (a temporary file renamed), so several worker processes can fill one
    cache. Delete the directory to empty it.

    Parameters
    ----------
    root : path-like
        Directory of the cache (created when needed).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ImageCache({str(self.root)!r})"

    def _entry(self, path: str | os.PathLike, max_side: int | None) -> Path:
        p = Path(path).resolve()
        st = p.stat()
        raw = f"{p}|{st.st_size}|{st.st_mtime_ns}|{max_side}".encode()
        key = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        return self.root / key[:2] / f"{key[2:]}.nbl"

    def load(self, path: str | os.PathLike, max_side: int | None) -> LoadedImage:
        """The image of ``path`` reduced to ``max_side``: from the cache, or decoded (with
        :func:`nblabel.images.load_image`) and stored."""
        try:
            entry = self._entry(path, max_side)
        except OSError:  # missing file: load_image raises the message that names it
            return load_image(path, max_side=max_side)
        try:
            data = entry.read_bytes()
        except OSError:
            data = b""
        if data[:4] == _MAGIC:
            _, w, h = _HEADER.unpack_from(data)
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8, offset=_HEADER.size),
                               cv2.IMREAD_COLOR)
            if bgr is not None:
                px = np.ascontiguousarray(bgr[:, :, ::-1])
                return LoadedImage(px, w, h, px.shape[1] / w)
        img = load_image(path, max_side=max_side)
        ok, png = cv2.imencode(".png", np.ascontiguousarray(img.pixels[:, :, ::-1]),
                               [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if ok:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(_HEADER.pack(_MAGIC, img.width, img.height) + png.tobytes())
            os.replace(tmp, entry)
        return img


def load_small(
    path: str | os.PathLike, max_side: int | None, cache: ImageCache | None = None
) -> LoadedImage:
    """:func:`nblabel.images.load_image` at ``max_side``, through ``cache`` when given."""
    if cache is None:
        return load_image(path, max_side=max_side)
    return cache.load(path, max_side)


def as_cache(cache: ImageCache | str | os.PathLike | None) -> ImageCache | None:
    """``cache`` as an :class:`ImageCache` (a directory becomes one; ``None`` stays)."""
    if cache is None or isinstance(cache, ImageCache):
        return cache
    if not str(cache):
        raise ValueError("cache='' is not a directory; pass cache=None for no cache")
    return ImageCache(cache)


# ------------------------------------------------------------------ data sets
class PathImages:
    """Map-style data set of reduced images: item ``i`` is ``(i, LoadedImage, None)`` or,
    when the file cannot be read, ``(i, None, message)`` (the pass goes on)."""

    def __init__(self, paths: Sequence[str | os.PathLike], max_side: int | None,
                 cache: ImageCache | None = None) -> None:
        self.paths = [str(p) for p in paths]
        self.max_side = max_side
        self.cache = cache

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, LoadedImage | None, str | None]:
        try:
            return i, load_small(self.paths[i], self.max_side, self.cache), None
        except Exception as e:  # one unreadable file must not end a 100,000-image pass
            return i, None, f"{self.paths[i]}: {type(e).__name__}: {e}"


class TrainViews:
    """Map-style data set of training views: item ``k`` is view ``k`` of a seeded stream
    (its image and augmentation drawn from ``(random_state, k)``), so the views are the
    same whatever the number of worker processes."""

    def __init__(self, paths: Sequence[str | os.PathLike], boxes: Sequence[Sequence[Box]],
                 n_views: int, spec: ViewSpec, *, max_side: int | None,
                 cache: ImageCache | None = None, random_state: int = 0) -> None:
        self.paths = [str(p) for p in paths]
        self.boxes = [tuple(bs) for bs in boxes]
        self.n_views = n_views
        self.spec = spec
        self.max_side = max_side
        self.cache = cache
        self.random_state = random_state

    def __len__(self) -> int:
        return self.n_views

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.random_state, k])
        err: Exception | None = None
        for _ in range(8):  # an unreadable file: draw another image
            i = int(rng.integers(len(self.paths)))
            try:
                img = load_small(self.paths[i], self.max_side, self.cache)
            except Exception as e:
                err = e
                continue
            return sample_view(rng, img.pixels, scaled(self.boxes[i], img.scale), self.spec)
        raise RuntimeError(f"training images could not be read, e.g. {err}")


def _as_list(batch: list[Any]) -> list[Any]:
    return batch


def _worker_init(_: int) -> None:
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def default_workers(n_items: int, num_workers: int | None) -> int:
    """Worker processes for a pass over ``n_items``: none for small passes (starting a
    process costs about a second), else up to 2 (never more than the usable cores)."""
    if num_workers is not None:
        return max(0, int(num_workers))
    if n_items < 512:
        return 0
    return min(2, len(os.sched_getaffinity(0)))


def make_loader(dataset: Any, *, batch_size: int, num_workers: int,
                as_list: bool = False, prefetch: int = 2) -> Any:
    """A :class:`torch.utils.data.DataLoader` over ``dataset`` in order: ``num_workers``
    spawned processes (none: in this thread), at most ``prefetch`` batches per worker
    waiting (the bounded queue that keeps memory flat)."""
    import multiprocessing

    from torch.utils.data import DataLoader

    kw: dict[str, Any] = {}
    if num_workers > 0:
        # spawn: the caller may be a kernel running threads, where fork can deadlock
        kw = {"prefetch_factor": prefetch, "worker_init_fn": _worker_init,
              "multiprocessing_context": multiprocessing.get_context("spawn")}
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, drop_last=False,
                      num_workers=num_workers, collate_fn=_as_list if as_list else None,
                      **kw)


# ------------------------------------------------------------------ across an executor
def _predict_chunk(model: Any, paths: list[str], kwargs: dict[str, Any]) -> list[Any]:
    return model.predict_paths(paths, **kwargs)


def predict_on_executor(
    model: Any, paths: Sequence[str | os.PathLike], executor: Any, *,
    chunk_size: int = 2000, max_pending: int = 4, **kwargs: Any,
) -> Iterator[tuple[int, list[tuple[Box, ...]]]]:
    """Split a prediction pass over image files across an executor.

    Each chunk of ``chunk_size`` paths is predicted by a copy of the fitted ``model``
    (pickled with its weights) on ``executor`` (a local
    :class:`~concurrent.futures.ProcessPoolExecutor`, or a ``dask.distributed`` client's
    ``get_executor()``, so a user who outgrows one machine adds workers). At most
    ``max_pending`` chunks are in flight, so memory stays bounded. Yields
    ``(start, boxes of paths[start:start + chunk_size])`` in order.

    Parameters
    ----------
    model : BoxModel
        A fitted model (anything with ``predict_paths`` that pickles).
    paths : sequence of path-like
        Image files, readable from the executor's workers.
    executor : concurrent.futures.Executor
        Where the chunks run.
    **kwargs
        Passed to ``predict_paths`` (``max_side``, ``batch_size``, ``cache``; each chunk
        decodes in its own worker: ``num_workers`` defaults to 0 there).
    """
    from collections import deque

    kwargs.setdefault("num_workers", 0)
    names = [str(p) for p in paths]
    pending: deque[tuple[int, Any]] = deque()
    starts = iter(range(0, len(names), chunk_size))
    try:
        for start in starts:
            pending.append((start, executor.submit(
                _predict_chunk, model, names[start:start + chunk_size], kwargs)))
            if len(pending) >= max_pending:
                first, fut = pending.popleft()
                yield first, fut.result()
        while pending:
            first, fut = pending.popleft()
            yield first, fut.result()
    finally:
        for _, fut in pending:  # the caller stopped early: drop what has not started
            fut.cancel()
