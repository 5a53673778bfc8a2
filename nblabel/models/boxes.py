"""A small box model in torch that trains from scratch on CPU in minutes.

Instead of regressing four numbers (weak when trained on a few hundred images), the network
predicts a coarse *box mask* (1 inside a labeled box, soft at the edges) plus per-pixel class
scores; boxes are read off the thresholded mask. Prediction runs twice: on the whole image,
then on a crop around each found box, which sees the object at a higher resolution and
refines its edges. Training samples both views (whole images and jittered crops around
boxes), so one network serves both passes. Horizontal-flip test-time augmentation averages
the two masks.

It runs where torch finds the fastest device (``device="auto"``: CUDA, then Apple MPS, else
the CPU; float16 autocast on CUDA). :meth:`BoxModel.fit` and :meth:`BoxModel.predict` take
decoded arrays; :meth:`BoxModel.fit_paths`, :meth:`BoxModel.predict_paths` and
:meth:`BoxModel.iter_predict_paths` take image files and stream them through background
decoding processes and an optional disk cache (:mod:`nblabel.models.box_data`), so memory
stays flat over 100,000 images.

``torch`` is imported lazily: importing this module (and all of nblabel's core) works
without it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import cv2
import numpy as np

from nblabel.errors import InvalidBoxError
from nblabel.models.box_data import (
    ViewSpec,
    context_rect,
    crop,
    sample_view,
)
from nblabel.models.box_files import FilesMixin
from nblabel.models.box_net import build_net, resolve_device
from nblabel.models.box_net import torch_module as _torch
from nblabel.shapes import Box

__all__ = ["BoxModel", "resolve_device"]


class BoxModel(FilesMixin):
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
    refine_scales : tuple of float
        The crop pass looks at each box through crops of ``context`` times each of these
        factors and averages the edges it finds (a box found in none is kept). Two looks,
        at 1.6 and 2.0 times the box, placed more boxes within IoU 0.7 of the truth than
        one at 1.6 on food types the model never saw (model boxes +1 to +2 points, tracker
        boxes +1, after edge snapping; ``benchmarks/analysis/crop_scales_study.py``).
    tta : bool
        Average the masks of the image and its mirror image.
    threshold : float
        Mask probability above which a pixel belongs to a box (finding the boxes).
    edge_threshold : float, optional
        The same in the crop pass, which places the edges (default ``None``: ``threshold``).
        The soft-edged mask bleeds outward: at 0.5, boxes came out 4-5% too wide on
        held-out ECUSTFD groups (median), about 2% at 0.65, which raised the mean IoU of
        unsnapped boxes by 0.01-0.02. Through the assistant, which snaps the edges after
        the model, 0.65 changed nothing (full ECUSTFD at accept-IoU 0.7: 186 corrections
        vs 184), so it is not the default.
    warm_start : bool
        Continue from the previous weights on a new :meth:`fit` (same classes only).
    num_threads : int, optional
        Torch CPU threads (default: all usable cores).
    device : str or torch.device
        ``"auto"`` (CUDA when available, then Apple MPS, else the CPU), or a device name.
    mixed_precision : bool, optional
        Run the network in float16 autocast (default: on CUDA only).
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
    device_ : str
        Device of the last fit or prediction (e.g. ``"cpu"``, ``"cuda"``).
    mixed_precision_ : bool
        Whether that ran in float16 autocast.
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
        refine_scales: tuple[float, ...] = (1.0, 1.25),
        tta: bool = True,
        threshold: float = 0.5,
        edge_threshold: float | None = None,
        warm_start: bool = False,
        num_threads: int | None = None,
        device: Any = "auto",
        mixed_precision: bool | None = None,
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
        self.refine_scales = tuple(refine_scales)
        self.tta = tta
        self.threshold = threshold
        self.edge_threshold = edge_threshold
        self.warm_start = warm_start
        self.num_threads = num_threads
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (to send a fitted model to a worker process or save it): the network
        travels as its CPU ``state_dict``."""
        state = self.__dict__.copy()
        if "net_" in state:
            state["net_"] = {k: v.detach().cpu() for k, v in self.net_.state_dict().items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.get("net_")
        self.__dict__.update(state)
        if isinstance(weights, dict):
            self.net_ = build_net(len(self.classes_), self.width)
            self.net_.load_state_dict(weights)
            self.net_.eval()

    # -- training --------------------------------------------------------------------
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
        _torch()  # the ImportError that says how to install it comes first
        classes = self._check_fit(images, boxes)
        rng = np.random.default_rng(self.random_state)
        spec = self._spec(classes)
        lists = [list(bs) for bs in boxes]

        def batches() -> Iterator[tuple[Any, Any, Any]]:
            while True:
                idx = rng.integers(len(images), size=self.batch_size)
                views = [sample_view(rng, images[i], lists[i], spec) for i in idx]
                yield tuple(np.stack(v) for v in zip(*views))  # type: ignore[misc]

        return self._train(classes, batches(), should_stop)

    def _check_fit(self, images: Sequence[Any], boxes: Sequence[Sequence[Box]]) -> list[str]:
        if len(images) != len(boxes):
            raise ValueError(f"{len(images)} images but {len(boxes)} box lists")
        if not len(images):
            raise ValueError("fit needs at least one image")
        classes = sorted({b.label for bs in boxes for b in bs})
        if not classes:
            raise ValueError("fit needs at least one box")
        return classes

    def _spec(self, classes: Sequence[str]) -> ViewSpec:
        return ViewSpec(self.input_size, self.crop_share, self.context, tuple(classes))

    def _train(self, classes: list[str], batches: Iterable[tuple[Any, Any, Any]],
               should_stop: Callable[[], bool] | None) -> BoxModel:
        """The training loop over ``(x, obj, cls)`` batches (arrays or tensors)."""
        torch = _torch()
        dev = self._setup()
        torch.manual_seed(self.random_state)
        same = getattr(self, "classes_", None) == classes
        if not (self.warm_start and same and hasattr(self, "net_")):
            self.classes_ = classes
            self.net_ = build_net(len(classes), self.width)
        net = self.net_.to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.lr, total_steps=max(self.max_steps, 2), pct_start=0.15
        )
        amp = self.mixed_precision_
        scaler = torch.amp.GradScaler(dev.type, enabled=amp and dev.type == "cuda")
        net.train()
        t0, step = time.perf_counter(), 0
        f = torch.nn.functional
        it = iter(batches)  # a DataLoader's workers stop when this goes
        while step < self.max_steps:
            if should_stop is not None and should_stop():
                break
            if self.max_seconds is not None and time.perf_counter() - t0 > self.max_seconds:
                break
            xs, objs, clss = (torch.as_tensor(a).to(dev, non_blocking=True) for a in next(it))
            x = xs.permute(0, 3, 1, 2).div_(255.0).sub_(0.5)
            with self._autocast(dev):
                out = net(x)
            out = out.float()
            p = torch.sigmoid(out[:, 0])
            loss = f.binary_cross_entropy_with_logits(out[:, 0], objs)
            inter = (p * objs).sum((1, 2))
            dice = 1 - (2 * inter + 1) / (p.sum((1, 2)) + objs.sum((1, 2)) + 1)
            loss = loss + dice.mean()
            if len(classes) > 1 and (clss >= 0).any():
                loss = loss + 0.5 * f.cross_entropy(out[:, 1:], clss, ignore_index=-1)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            if step < self.max_steps - 1:
                sched.step()
            step += 1
        del it
        self.n_steps_ = step
        self.fit_seconds_ = time.perf_counter() - t0
        net.eval()
        return self

    def _autocast(self, dev: Any) -> Any:
        torch = _torch()
        half = torch.bfloat16 if dev.type == "cpu" else torch.float16
        return torch.autocast(dev.type, dtype=half, enabled=self.mixed_precision_)

    def _setup(self) -> Any:
        """Resolve the device (``device_``, ``mixed_precision_``) and the CPU threads."""
        torch = _torch()
        dev = resolve_device(self.device)
        self.device_ = str(dev)
        amp = self.mixed_precision
        self.mixed_precision_ = dev.type == "cuda" if amp is None else bool(amp)
        torch.set_num_threads(self.num_threads or len(os.sched_getaffinity(0)))
        return dev

    # -- prediction ------------------------------------------------------------------
    def _maps(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Objectness probability and class probabilities at the input size."""
        torch = _torch()
        dev = next(self.net_.parameters()).device
        x = torch.from_numpy(np.stack(crops)).to(dev, non_blocking=True).float()
        x = x.permute(0, 3, 1, 2).div_(255.0).sub_(0.5)
        with torch.inference_mode(), self._autocast(dev):
            out = self.net_(x)
            if self.tta:
                out = (out + self.net_(x.flip(3)).flip(3)) / 2
        with torch.inference_mode():
            out = torch.nn.functional.interpolate(
                out.float(), size=(self.input_size, self.input_size), mode="bilinear",
                align_corners=False,
            )
            obj = torch.sigmoid(out[:, 0]).cpu().numpy()
            cls = torch.softmax(out[:, 1:], 1).cpu().numpy()
        return obj, cls

    def _components(
        self, obj: np.ndarray, cls: np.ndarray, threshold: float | None = None
    ) -> list[tuple[tuple[float, float, float, float], float, int]]:
        """Boxes (in input pixels) with score and class index from one mask."""
        mask = (obj > (self.threshold if threshold is None else threshold)).astype(np.uint8)
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
        self.net_.to(self._setup())
        s = self.input_size
        results: list[tuple[Box, ...]] = []
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            full = [(0.0, 0.0, float(im.shape[1]), float(im.shape[0])) for im in chunk]
            obj, cls = self._maps([crop(im, r, s) for im, r in zip(chunk, full)])
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

    def refine_boxes(
        self, images: Sequence[np.ndarray], boxes: Sequence[Sequence[Box]]
    ) -> list[tuple[Box, ...]]:
        """The crop pass alone, on boxes found elsewhere (e.g. by a tracker): each box is
        replaced by the model's box on a crop around it (``context`` x its size), the
        component nearest to it; a box the model finds nothing near (IoU < 0.3) is kept.

        Each returned box keeps the given box's label, score and source.

        Parameters
        ----------
        images : sequence of ndarray
            ``(h, w, 3)`` RGB uint8 arrays.
        boxes : sequence of sequences of Box
            The boxes of each image, in its pixels.
        """
        if not hasattr(self, "net_"):
            raise RuntimeError("BoxModel is not fitted yet: call fit(images, boxes) first")
        if len(images) != len(boxes):
            raise ValueError(f"{len(images)} images but {len(boxes)} box lists")
        self.net_.to(self._setup())
        jobs = [(i, b) for i, bs in enumerate(boxes) for b in bs]  # one box per entry
        found: list[tuple[Box, ...]] = []
        for start in range(0, len(jobs), 64):
            part = jobs[start:start + 64]
            found += self._refine([images[i] for i, _ in part], [(b,) for _, b in part])
        out: list[list[Box]] = [[] for _ in boxes]
        for (i, b), (new,) in zip(jobs, found):
            out[i].append(new.replace(label=b.label, score=b.score, source=b.source))
        return [tuple(bs) for bs in out]

    def _edge_threshold(self) -> float:
        edge = getattr(self, "edge_threshold", None)  # models pickled before it existed
        return self.threshold if edge is None else edge

    def _refine(
        self, images: Sequence[np.ndarray], found: list[tuple[Box, ...]]
    ) -> list[tuple[Box, ...]]:
        """Second pass on crops around each box (``refine_scales``): at each scale keep the
        component nearest the box, then average the edges of those found."""
        jobs = [(i, b) for i, bs in enumerate(found) for b in bs]
        if not jobs:
            return found
        looks = [self._look(images, jobs, self.context * f) for f in self._scales()]
        new: list[list[Box]] = [[] for _ in found]
        for k, (i, b) in enumerate(jobs):
            seen = [look[k] for look in looks if look[k] is not None]
            if not seen:  # the model finds nothing near the box: keep it
                new[i].append(b)
                continue
            edges = np.mean([(c.x0, c.y0, c.x1, c.y1) for c in seen], axis=0)
            score = float(np.sqrt((b.score or 0.0) * np.mean([c.score or 0.0 for c in seen])))
            new[i].append(b.replace(x0=float(edges[0]), y0=float(edges[1]),
                                    x1=float(edges[2]), y1=float(edges[3]), score=score))
        return [tuple(sorted(bs, key=lambda b: -(b.score or 0.0))) for bs in new]

    def _scales(self) -> tuple[float, ...]:
        return getattr(self, "refine_scales", (1.0,))  # models pickled before it existed

    def _look(
        self, images: Sequence[np.ndarray], jobs: list[tuple[int, Box]], context: float
    ) -> list[Box | None]:
        """For each ``(image, box)`` job: the model's component nearest the box on a crop of
        ``context`` times its size, clipped to the image; ``None`` where there is none with
        IoU >= 0.3."""
        rects = [context_rect(b, images[i].shape[1], images[i].shape[0], context)
                 for i, b in jobs]
        obj, cls = self._maps([crop(images[i], r, self.input_size)
                               for (i, _), r in zip(jobs, rects)])
        out: list[Box | None] = []
        for (i, b), o, c, r in zip(jobs, obj, cls, rects):
            cands = self._to_boxes(self._components(o, c, self._edge_threshold()), r)
            best = max(cands, key=b.iou, default=None)
            if best is not None and b.iou(best) >= 0.3:
                h, w = images[i].shape[:2]
                try:
                    best = best.clip(w, h)
                except InvalidBoxError:
                    best = None
            out.append(best if best is not None and b.iou(best) >= 0.3 else None)
        return out
