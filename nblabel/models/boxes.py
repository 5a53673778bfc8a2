"""A small box model in torch that trains from scratch on CPU in minutes.

Instead of regressing four numbers (weak when trained on a few hundred images), the network
predicts a coarse *box mask* (1 inside a labeled box, soft at the edges) plus per-pixel class
scores; boxes are read off the thresholded mask. Prediction runs twice: on the whole image,
then on a crop around each found box, which sees the object at a higher resolution and
refines its edges. Training samples both views (whole images and jittered crops around
boxes), so one network serves both passes. Horizontal-flip test-time augmentation averages
the two masks.

``torch`` is imported lazily: importing this module (and all of nblabel's core) works
without it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from nblabel.errors import InvalidBoxError
from nblabel.shapes import Box

__all__ = ["BoxModel"]


def _torch() -> Any:
    # Idle OpenMP threads sleep instead of spinning: on a busy machine (or a notebook
    # kernel sharing its cores with the browser) spinning threads made training 10-20x
    # slower here. Only effective when torch is first imported here.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "nblabel.models.BoxModel needs torch: pip install 'nblabel[torch]'"
        ) from e
    return torch


def _build_net(n_classes: int, width: int) -> Any:
    torch = _torch()
    nn = torch.nn
    w = width

    def cbr(i: int, o: int, s: int = 1, d: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv2d(i, o, 3, s, padding=d, dilation=d, bias=False),
            nn.BatchNorm2d(o), nn.ReLU(inplace=True),
        )

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.e1 = nn.Sequential(cbr(3, w, 2), cbr(w, w))                    # /2
            self.e2 = nn.Sequential(cbr(w, 2 * w, 2), cbr(2 * w, 2 * w))        # /4
            self.e3 = nn.Sequential(cbr(2 * w, 4 * w, 2), cbr(4 * w, 4 * w))    # /8
            self.e4 = nn.Sequential(cbr(4 * w, 6 * w, 2), cbr(6 * w, 6 * w, d=2),
                                    cbr(6 * w, 6 * w, d=4))                      # /16
            self.d3 = cbr(10 * w, 4 * w)
            self.d2 = cbr(6 * w, 2 * w)
            self.head = nn.Conv2d(2 * w, 1 + n_classes, 1)

        def forward(self, x: Any) -> Any:
            f = torch.nn.functional
            x2 = self.e2(self.e1(x))
            x3 = self.e3(x2)
            x4 = self.e4(x3)
            y = self.d3(torch.cat([f.interpolate(x4, scale_factor=2.0), x3], 1))
            y = self.d2(torch.cat([f.interpolate(y, scale_factor=2.0), x2], 1))
            return self.head(y)

    return Net()


def _coverage(a: float, b: float, n: int) -> np.ndarray:
    """Fraction of each of ``n`` unit cells covered by the interval ``[a, b]``."""
    j = np.arange(n, dtype=np.float32)
    return np.clip(np.minimum(b, j + 1) - np.maximum(a, j), 0.0, 1.0)


def _crop(img: np.ndarray, rect: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Resize the part ``rect`` (x0, y0, x1, y1; may exceed the image) to ``size`` x ``size``."""
    x0, y0, x1, y1 = rect
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    m = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]], dtype=np.float64)
    interp = cv2.INTER_AREA if min(sx, sy) < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(img, m, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def _context_rect(b: Box, w: int, h: int, factor: float) -> tuple[float, float, float, float]:
    cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
    half_w, half_h = b.width * factor / 2, b.height * factor / 2
    half_w, half_h = min(max(half_w, 8.0), w), min(max(half_h, 8.0), h)
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


class BoxModel:
    """Box-mask network trained from scratch; scikit-learn-style ``fit``/``predict``.

    Parameters
    ----------
    input_size : int
        Side of the square network input (images and crops are resized to it).
    width : int
        Channels of the first layer (the network is ``width`` x 1, 2, 4, 6 channels deep).
    max_steps : int
        Training steps (batches) per :meth:`fit`.
    max_seconds : float, optional
        Wall-clock cap of one :meth:`fit`; training stops early when reached.
    batch_size, lr : int, float
        Optimiser settings (AdamW, one-cycle schedule).
    crop_share : float
        Share of training samples that are crops around a box (the refinement view).
    context : float
        A refinement crop is the found box scaled by this factor.
    refine : bool
        Run the second, crop-level pass at prediction time.
    tta : bool
        Average the masks of the image and its mirror image.
    threshold : float
        Mask probability above which a pixel belongs to a box.
    warm_start : bool
        Continue from the previous weights on a new :meth:`fit` (same classes only).
    num_threads : int, optional
        Torch CPU threads (default: all usable cores).
    random_state : int
        Seed of weights, sampling and augmentation.

    Attributes
    ----------
    classes_ : list of str
        Classes seen in :meth:`fit`, in channel order.
    n_steps_ : int
        Steps run by the last :meth:`fit`.
    fit_seconds_ : float
        Wall time of the last :meth:`fit`.
    """

    def __init__(
        self,
        *,
        input_size: int = 128,
        width: int = 16,
        max_steps: int = 800,
        max_seconds: float | None = None,
        batch_size: int = 16,
        lr: float = 3e-3,
        crop_share: float = 0.5,
        context: float = 1.6,
        refine: bool = True,
        tta: bool = True,
        threshold: float = 0.5,
        warm_start: bool = False,
        num_threads: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.input_size = input_size
        self.width = width
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.batch_size = batch_size
        self.lr = lr
        self.crop_share = crop_share
        self.context = context
        self.refine = refine
        self.tta = tta
        self.threshold = threshold
        self.warm_start = warm_start
        self.num_threads = num_threads
        self.random_state = random_state

    # -- training --------------------------------------------------------------------
    def _sample(
        self, rng: np.random.Generator, img: np.ndarray, boxes: Sequence[Box]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s, out = self.input_size, self.input_size // 4
        h, w = img.shape[:2]
        if boxes and rng.random() < self.crop_share:
            b = boxes[rng.integers(len(boxes))]
            f = self.context * float(np.exp(rng.uniform(-0.3, 0.3)))
            x0, y0, x1, y1 = _context_rect(b, w, h, f)
            dx, dy = (x1 - x0) * rng.uniform(-0.15, 0.15), (y1 - y0) * rng.uniform(-0.15, 0.15)
            rect = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        else:
            m = rng.uniform(0.0, 0.08, size=4) * np.array([w, h, w, h])
            if rng.random() < 0.5:  # pad or trim the borders a little
                m = -m
            rect = (m[0], m[1], w - m[2], h - m[3])
        x = _crop(img, rect, s)
        obj = np.zeros((out, out), np.float32)
        cls = np.full((out, out), -1, np.int64)
        k = out / (rect[2] - rect[0]), out / (rect[3] - rect[1])
        for b in sorted(boxes, key=lambda b: -b.area):  # small boxes win class pixels
            cx = _coverage((b.x0 - rect[0]) * k[0], (b.x1 - rect[0]) * k[0], out)
            cy = _coverage((b.y0 - rect[1]) * k[1], (b.y1 - rect[1]) * k[1], out)
            cov = np.outer(cy, cx)
            obj = np.maximum(obj, cov)
            cls[cov >= 0.5] = self.classes_.index(b.label)
        if rng.random() < 0.5:
            x, obj, cls = x[:, ::-1], obj[:, ::-1], cls[:, ::-1]
        x = x.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)
        return x, obj, cls

    def fit(
        self,
        images: Sequence[np.ndarray],
        boxes: Sequence[Sequence[Box]],
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> BoxModel:
        """Train on RGB ``uint8`` images (any sizes) and their boxes (image pixels).

        Parameters
        ----------
        images : sequence of ndarray
            ``(h, w, 3)`` arrays.
        boxes : sequence of sequences of Box
            Boxes of each image; an image without boxes teaches "nothing here".
        should_stop : callable, optional
            Polled every step; training ends early when it returns ``True`` (cancel).
        """
        torch = _torch()
        if len(images) != len(boxes):
            raise ValueError(f"{len(images)} images but {len(boxes)} box lists")
        if not images:
            raise ValueError("fit needs at least one image")
        classes = sorted({b.label for bs in boxes for b in bs})
        if not classes:
            raise ValueError("fit needs at least one box")
        torch.set_num_threads(self.num_threads or len(os.sched_getaffinity(0)))
        rng = np.random.default_rng(self.random_state)
        torch.manual_seed(self.random_state)
        same = getattr(self, "classes_", None) == classes
        if not (self.warm_start and same and hasattr(self, "net_")):
            self.classes_ = classes
            self.net_ = _build_net(len(classes), self.width)
        net = self.net_
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.lr, total_steps=max(self.max_steps, 2), pct_start=0.15
        )
        net.train()
        t0, step = time.perf_counter(), 0
        f = torch.nn.functional
        boxes = [list(bs) for bs in boxes]
        while step < self.max_steps:
            if should_stop is not None and should_stop():
                break
            if self.max_seconds is not None and time.perf_counter() - t0 > self.max_seconds:
                break
            idx = rng.integers(len(images), size=self.batch_size)
            xs, objs, clss = zip(*(self._sample(rng, images[i], boxes[i]) for i in idx))
            x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).div_(255.0).sub_(0.5)
            obj = torch.from_numpy(np.stack(objs))
            cls = torch.from_numpy(np.stack(clss))
            out = net(x)
            p = torch.sigmoid(out[:, 0])
            loss = f.binary_cross_entropy_with_logits(out[:, 0], obj)
            inter = (p * obj).sum((1, 2))
            dice = 1 - (2 * inter + 1) / (p.sum((1, 2)) + obj.sum((1, 2)) + 1)
            loss = loss + dice.mean()
            if len(classes) > 1 and (cls >= 0).any():
                loss = loss + 0.5 * f.cross_entropy(out[:, 1:], cls, ignore_index=-1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step < self.max_steps - 1:
                sched.step()
            step += 1
        self.n_steps_ = step
        self.fit_seconds_ = time.perf_counter() - t0
        net.eval()
        return self

    # -- prediction ------------------------------------------------------------------
    def _maps(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Objectness probability and class probabilities at the input size."""
        torch = _torch()
        x = torch.from_numpy(np.stack(crops).astype(np.float32))
        x = x.permute(0, 3, 1, 2).div_(255.0).sub_(0.5)
        with torch.inference_mode():
            out = self.net_(x)
            if self.tta:
                out = (out + self.net_(x.flip(3)).flip(3)) / 2
            out = torch.nn.functional.interpolate(
                out, size=(self.input_size, self.input_size), mode="bilinear",
                align_corners=False,
            )
            obj = torch.sigmoid(out[:, 0]).numpy()
            cls = torch.softmax(out[:, 1:], 1).numpy()
        return obj, cls

    def _components(
        self, obj: np.ndarray, cls: np.ndarray
    ) -> list[tuple[tuple[float, float, float, float], float, int]]:
        """Boxes (in input pixels) with score and class index from one mask."""
        mask = (obj > self.threshold).astype(np.uint8)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        total = float(obj[mask > 0].sum()) or 1.0
        found = []
        for k in range(1, n):
            x, y, w, h, area = stats[k]
            if area < 4:
                continue
            inside = lab == k
            p = obj[inside]
            score = float(p.mean()) * float(p.sum() / total) ** 0.5
            c = int(cls[:, inside].mean(1).argmax())
            found.append(((float(x), float(y), float(x + w), float(y + h)), score, c))
        return found

    def predict(
        self, images: Sequence[np.ndarray], *, max_boxes: int | None = None,
        batch_size: int = 32,
    ) -> list[tuple[Box, ...]]:
        """Boxes (``source="model"``, ``score`` in [0, 1]) for each image, best first.

        Parameters
        ----------
        images : sequence of ndarray
            ``(h, w, 3)`` RGB uint8 arrays of any sizes.
        max_boxes : int, optional
            Keep at most this many boxes per image (highest scores).
        """
        if not hasattr(self, "net_"):
            raise RuntimeError("BoxModel is not fitted yet: call fit(images, boxes) first")
        torch = _torch()
        torch.set_num_threads(self.num_threads or len(os.sched_getaffinity(0)))
        s = self.input_size
        results: list[tuple[Box, ...]] = []
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            full = [(0.0, 0.0, float(im.shape[1]), float(im.shape[0])) for im in chunk]
            obj, cls = self._maps([_crop(im, r, s) for im, r in zip(chunk, full)])
            first = [self._to_boxes(self._components(o, c), r) for o, c, r in
                     zip(obj, cls, full)]
            if max_boxes is not None:
                first = [bs[:max_boxes] for bs in first]
            if self.refine:
                first = self._refine(chunk, first)
            results.extend(first if max_boxes is None else [bs[:max_boxes] for bs in first])
        return results

    def _to_boxes(self, comps: list, rect: tuple[float, float, float, float]) -> tuple[Box, ...]:
        s = self.input_size
        kx, ky = (rect[2] - rect[0]) / s, (rect[3] - rect[1]) / s
        out = []
        for (x0, y0, x1, y1), score, c in comps:
            out.append(Box(self.classes_[c], rect[0] + x0 * kx, rect[1] + y0 * ky,
                           rect[0] + x1 * kx, rect[1] + y1 * ky,
                           score=min(max(score, 0.0), 1.0), source="model"))
        return tuple(sorted(out, key=lambda b: -(b.score or 0.0)))

    def _refine(
        self, images: Sequence[np.ndarray], found: list[tuple[Box, ...]]
    ) -> list[tuple[Box, ...]]:
        """Second pass on a crop around each box; keep the component nearest the centre."""
        jobs = [(i, b) for i, bs in enumerate(found) for b in bs]
        if not jobs:
            return found
        rects = [_context_rect(b, images[i].shape[1], images[i].shape[0], self.context)
                 for i, b in jobs]
        obj, cls = self._maps([_crop(images[i], r, self.input_size)
                               for (i, _), r in zip(jobs, rects)])
        new: list[list[Box]] = [[] for _ in found]
        for (i, b), o, c, r in zip(jobs, obj, cls, rects):
            cands = self._to_boxes(self._components(o, c), r)
            best = max(cands, key=b.iou, default=None)
            if best is None or b.iou(best) < 0.3:
                new[i].append(b)
                continue
            h, w = images[i].shape[:2]
            try:
                best = best.clip(w, h)
            except InvalidBoxError:  # keep the first-pass box
                new[i].append(b)
                continue
            score = float(np.sqrt((b.score or 0.0) * (best.score or 0.0)))
            new[i].append(best.replace(label=b.label, score=score))
        return [tuple(sorted(bs, key=lambda b: -(b.score or 0.0))) for bs in new]
