"""``nblabel bench boxes``: how many boxes must a human draw when the program boxes the rest?

A simulated annotator works through a VOC-labeled image set in the order the program's queue
gives. With no suggestion it draws the true box (a *hand box*); with a suggestion of IoU >=
``--accept-iou`` to the truth it accepts it (one key, and the accepted box, not the truth, is
the label from then on); otherwise it corrects it (a *correction*, the truth becomes the
label). All of the program's compute (decoding, tracking, training, predicting) is timed.

Three runs, each from scratch:

``full``
    Seed keyframes (one hand box in each of a few random groups, tracked through their
    groups), then the box model trained on all labels so far suggests the rest; inside a
    group the tracker carries the last label to the next image and is fused with the model
    box. The model is retrained (warm start) as labels grow; groups are visited
    least-certain first, with an exploration share; inside a group the most confident image
    is the keyframe and the tracker runs forward and backward from it.
``tracker``
    One hand box on the first image of every group; the tracker carries the latest label to
    the next image.
``model``
    Hand boxes on a few random images, then model suggestions only (same retraining).

Usage::

    nblabel bench boxes --images DIR --annotations DIR --classes-from-filename \\
        --accept-iou 0.7 --out FILE.json [--limit N] [--groups N] [--modes full,tracker,model]
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing as mp
import os
import re
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nblabel.bench.common import write_json
from nblabel.io.voc import read_voc
from nblabel.shapes import Box
from nblabel.suggest.rules import ItemInfo, apply_rules, inside_image, min_size
from nblabel.suggest.tracker import TrackParams, propagate

__all__ = ["main", "run"]

# Idle OpenMP threads sleep instead of spinning (set before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_CLASS_RE = re.compile(r"^(.*?)\d{3}")
_GROUP_RE = re.compile(r"\s*\(\s*(\d+)\s*\)\s*$")
_IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


# ---------------------------------------------------------------------------- data
@dataclass
class Item:
    name: str
    path: Path
    label: str
    group: str
    order: int
    truth: Box  # in working pixels
    img: np.ndarray | None = None  # RGB at working size


def _find_dirs(images: Path, annotations: Path) -> tuple[Path, Path]:
    for sub in ("JPEGImages", "images"):
        if not any(p.suffix.lower() in _IMG_EXT for p in images.glob("*")) and (
                images / sub).is_dir():
            images = images / sub
    if not any(annotations.glob("*.xml")) and (annotations / "Annotations").is_dir():
        annotations = annotations / "Annotations"
    return images, annotations


def _collect(args: argparse.Namespace) -> list[Item]:
    img_dir, ann_dir = _find_dirs(Path(args.images), Path(args.annotations))
    files = {p.stem: p for p in sorted(img_dir.iterdir()) if p.suffix.lower() in _IMG_EXT}
    if not files:
        sys.exit(f"no images found in {img_dir}")
    ignore = {s.strip() for s in args.ignore.split(",") if s.strip()}
    items = []
    for stem, path in files.items():
        xml = ann_dir / f"{stem}.xml"
        if not xml.exists():
            continue
        ann = read_voc(xml)
        cls = None
        if args.classes_from_filename:
            m = _CLASS_RE.match(stem)
            cls = m.group(1) if m else None
        boxes = [b for b in ann.boxes if b.label not in ignore]
        target = [b for b in boxes if b.label == cls] or boxes
        if not target:
            continue
        truth = max(target, key=lambda b: b.area)
        label = cls or truth.label
        m = _GROUP_RE.search(stem)
        group, order = (stem[: m.start()], int(m.group(1))) if m else (stem, 0)
        items.append(Item(stem, path, label, group, order,
                          truth.replace(label=label, source="human"),
                          ))
        items[-1]._size = (ann.width, ann.height)  # type: ignore[attr-defined]
    return items


def _subset(items: list[Item], args: argparse.Namespace) -> list[Item]:
    if args.groups:
        rng = np.random.default_rng(args.seed)
        groups = sorted({it.group for it in items})
        keep = set(rng.choice(groups, size=min(args.groups, len(groups)), replace=False))
        items = [it for it in items if it.group in keep]
    if args.limit:
        items = items[: args.limit]
    return items


def _decode(job: tuple[str, int]) -> tuple[np.ndarray, float]:
    from nblabel.images import load_image

    path, max_side = job
    im = load_image(path, max_side=max_side)
    return im.pixels, im.pixels.shape[1] / im.width


def _load(items: list[Item], max_side: int, pool: Any) -> None:
    jobs = [(str(it.path), max_side) for it in items]
    res = pool.map(_decode, jobs, chunksize=16) if pool else map(_decode, jobs)
    for it, (px, s) in zip(items, res):
        it.img = px
        t = it.truth
        it.truth = Box(t.label, t.x0 * s, t.y0 * s, t.x1 * s, t.y1 * s)


# ---------------------------------------------------------------------- annotator
@dataclass
class Tally:
    hand_boxes: int = 0
    corrections: int = 0
    accepted: int = 0
    shown_iou: list[float] = field(default_factory=list)
    duels: list[bool] = field(default_factory=list)  # model beat tracker when they disagreed
    cpu: float = 0.0  # CPU seconds spent in group jobs (worker processes included)
    by_source: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # (model version, outcome) -> count; a model version is the number of labels it was
    # trained on (0: no model yet), the outcome "hand_boxes", "corrections" or "accepted"
    outcomes: Counter[tuple[int, str]] = field(default_factory=Counter)
    phase: int = 0

    def act(self, truth: Box, suggestion: Box | None, thr: float) -> Box:
        """The simulated annotator: returns the label it leaves on the item."""
        if suggestion is None:
            self.hand_boxes += 1
            self.outcomes[self.phase, "hand_boxes"] += 1
            return truth
        iou = suggestion.iou(truth)
        self.shown_iou.append(iou)
        self.by_source[suggestion.source].append(iou)
        if iou >= thr:
            self.accepted += 1
            self.outcomes[self.phase, "accepted"] += 1
            return suggestion
        self.corrections += 1
        self.outcomes[self.phase, "corrections"] += 1
        return truth

    def merge(self, other: Tally) -> None:
        self.hand_boxes += other.hand_boxes
        self.corrections += other.corrections
        self.accepted += other.accepted
        self.shown_iou += other.shown_iou
        self.duels += other.duels
        self.cpu += other.cpu
        for k, v in other.by_source.items():
            self.by_source[k] += v
        self.outcomes += other.outcomes

    def summary(self, n: int) -> dict[str, Any]:
        s = np.array(self.shown_iou) if self.shown_iou else np.zeros(0)
        return {
            "n_images": n,
            "hand_boxes": self.hand_boxes,
            "corrections": self.corrections,
            "hand_fraction": round((self.hand_boxes + self.corrections) / max(n, 1), 4),
            "accepted": self.accepted,
            "suggestions_shown": len(s),
            "auto_iou_ge_07": round(float((s >= 0.7).mean()), 4) if len(s) else None,
            "auto_iou_ge_05": round(float((s >= 0.5).mean()), 4) if len(s) else None,
            "mean_iou_suggestions": round(float(s.mean()), 4) if len(s) else None,
            "model_vs_tracker_disagreements": len(self.duels),
            "model_won_disagreements": int(sum(self.duels)),
            "by_source": {k: {"n": len(v), "iou_ge_07": round(float(np.mean(np.array(v) >= .7)), 4),
                              "mean_iou": round(float(np.mean(v)), 4)}
                          for k, v in self.by_source.items()},
            # IoU of every shown suggestion with the truth, in bins [0, .1), [.1, .3), ...
            "shown_iou_histogram": dict(zip(
                ("0-0.1", "0.1-0.3", "0.3-0.5", "0.5-0.7", "0.7-0.9", "0.9-1"),
                np.histogram(s, bins=(0, .1, .3, .5, .7, .9, 1.0001))[0].tolist())),
            "by_model_version": [
                {"trained_on": v, **{k: self.outcomes[v, k]
                                     for k in ("hand_boxes", "corrections", "accepted")}}
                for v in sorted({v for v, _ in self.outcomes})],
        }


# ------------------------------------------------------------------ suggestions
_RULES = (inside_image, min_size(2.0))


def _fuse(t: Box | None, m: Box | None, item: Item, p_model: float = 0.5) -> Box | None:
    """One suggestion from a tracker box and a model box (either may be missing).

    ``p_model`` is the program's running estimate (from earlier annotator decisions) of how
    often the model box beats the tracker box when the two disagree.
    """
    info = ItemInfo(width=item.img.shape[1], height=item.img.shape[0], classes=(item.label,))
    if t is None or m is None:
        best = t or m
    else:
        agree = t.iou(m)
        st, sm = t.score or 0.0, m.score or 0.0
        if agree >= 0.7:  # both see the same object: average, trust more
            w = sm / (sm + st) if sm + st > 0 else 0.5
            c = [w * a + (1 - w) * b for a, b in zip(m.xyxy, t.xyxy)]
            best = Box(item.label, *c, score=min(1.0, 1 - (1 - st) * (1 - sm)),
                       source="model")
        else:  # disagreement: trust the source that has won such cases so far
            best = m if p_model * sm >= (1 - p_model) * st else t
            best = best.replace(score=best.score * max(agree, 0.3) if best.score else None)
    if best is None:
        return None
    best = best.replace(label=item.label)
    out = apply_rules((best,), _RULES, info)
    return out[0] if out else None


def _track(src: Item, box: Box, dst: Item, params: TrackParams) -> Box | None:
    out = propagate([src.img, dst.img], {0: box.replace(label=dst.label)}, params=params)[1]
    return out[0] if out else None


# Items live in a module global so forked worker processes share them without copying.
_ITEMS: list[Item] = []


@dataclass
class GroupJob:
    """One group to annotate, as sent to a worker process."""

    idx: list[int]  # items of the group, in order
    start: int  # position of the keyframe in ``idx``
    model_boxes: dict[int, Box | None] = field(default_factory=dict)
    thr: float = 0.7  # accept-iou of the simulated annotator
    params: TrackParams = field(default_factory=TrackParams)
    use_tracker: bool = True
    known: dict[int, Box] = field(default_factory=dict)  # labeled before: not shown again
    p_model: float = 0.5  # estimate of how often the model beats the tracker
    phase: int = 0  # labels the current model was trained on (0: no model)


def _group_chain(job: GroupJob) -> tuple[dict[int, Box], Tally]:
    """Annotate one group: keyframe first, then the tracker carries labels out both ways.

    Items already labeled (``job.known``) are not shown again; they serve as tracker sources.
    """
    idx, start, model_boxes, thr = job.idx, job.start, job.model_boxes, job.thr
    params, use_tracker, known, p_model = job.params, job.use_tracker, job.known, job.p_model
    cv2.setNumThreads(1)
    c0 = time.process_time()
    tally = Tally(phase=job.phase)
    labels: dict[int, Box] = dict(known)
    k = idx[start]
    if k not in labels:
        labels[k] = tally.act(_ITEMS[k].truth, _fuse(None, model_boxes.get(k), _ITEMS[k]), thr)
    for direction in (1, -1):
        prev = k
        pos = start + direction
        while 0 <= pos < len(idx):
            i = idx[pos]
            if i not in labels:
                t = _track(_ITEMS[prev], labels[prev], _ITEMS[i], params) if use_tracker \
                    else None
                m = model_boxes.get(i)
                labels[i] = tally.act(_ITEMS[i].truth, _fuse(t, m, _ITEMS[i], p_model), thr)
                if t is not None and m is not None and t.iou(m) < 0.7:
                    tally.duels.append(m.iou(labels[i]) > t.iou(labels[i]))
            prev, pos = i, pos + direction
    tally.cpu = time.process_time() - c0
    return {i: b for i, b in labels.items() if i not in known}, tally


# ------------------------------------------------------------------------ runs
@dataclass
class Trainer:
    args: argparse.Namespace
    log: list[dict[str, Any]] = field(default_factory=list)
    model: Any = None
    trained_on: int = 0

    def due(self, n_labels: int) -> bool:
        if self.model is None:
            return n_labels >= self.args.first_train
        return n_labels >= max(self.trained_on * self.args.retrain_growth,
                               self.trained_on + self.args.retrain_min_new)

    def train(self, labels: dict[int, Box]) -> None:
        from nblabel.models.boxes import BoxModel

        first = self.model is None
        if first:
            self.model = BoxModel(max_steps=self.args.steps, warm_start=True,
                                  num_threads=self.args.cores, random_state=self.args.seed)
        else:
            self.model.max_steps = self.args.retrain_steps
        keys = sorted(labels)
        t = time.perf_counter()
        self.model.fit([_ITEMS[i].img for i in keys], [[labels[i]] for i in keys])
        self.trained_on = len(keys)
        self.log.append({"labels": len(keys), "steps": self.model.n_steps_,
                         "seconds": round(time.perf_counter() - t, 1)})
        _say(f"trained on {len(keys)} labels: {self.log[-1]}")

    def predict(self, todo: Sequence[int]) -> dict[int, Box | None]:
        if self.model is None or not todo:
            return {}
        t = time.perf_counter()
        preds = self.model.predict([_ITEMS[i].img for i in todo])
        self.log[-1]["predict_seconds"] = round(time.perf_counter() - t, 1)
        self.log[-1]["predicted"] = len(todo)
        return {i: (p[0] if p else None) for i, p in zip(todo, preds)}


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _groups() -> dict[str, list[int]]:
    g: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(_ITEMS):
        g[it.group].append(i)
    return {k: sorted(v, key=lambda i: (_ITEMS[i].order, _ITEMS[i].name)) for k, v in g.items()}


def _run_groups(jobs: list[GroupJob], pool: Any, labels: dict[int, Box], tally: Tally) -> None:
    res = pool.imap(_group_chain, jobs) if pool else map(_group_chain, jobs)
    for lab, t in res:
        labels.update(lab)
        tally.merge(t)


def run_mode(mode: str, args: argparse.Namespace, pool: Any) -> dict[str, Any]:
    """One whole simulated labeling run; returns its summary."""
    t0, c0 = time.perf_counter(), _cpu()
    thr = args.accept_iou
    params = TrackParams(tracker=args.tracker, max_side=None)
    rng = np.random.default_rng(args.seed)
    groups = _groups()
    names = sorted(groups)
    labels: dict[int, Box] = {}
    tally = Tally()
    trainer = Trainer(args)
    if mode == "tracker":
        _run_groups([GroupJob(groups[g], 0, thr=thr, params=params) for g in names], pool,
                    labels, tally)
    else:
        use_tracker = mode == "full"
        order = list(rng.permutation(names))
        if mode == "full" and args.seed_groups > 0:
            # seed groups: hand keyframe in the middle, tracker both ways
            seed, order = order[: args.seed_groups], order[args.seed_groups:]
            _run_groups([GroupJob(groups[g], len(groups[g]) // 2, thr=thr, params=params)
                         for g in seed], pool, labels, tally)
        else:  # hand boxes on random images (diverse first training set)
            n_seed = min(args.seed_images, len(_ITEMS))
            for i in rng.choice(len(_ITEMS), size=n_seed, replace=False):
                labels[int(i)] = tally.act(_ITEMS[i].truth, None, thr)
        preds: dict[int, Box | None] = {}
        while order:
            if trainer.due(len(labels)):
                trainer.train(labels)
                todo = [i for g in order for i in groups[g] if i not in labels]
                preds = trainer.predict(todo)
            # least certain groups first; an exploration share is taken at random
            unc = {g: min(((preds.get(i) or Box("x", 0, 0, 1, 1, score=0.0)).score or 0.0)
                          for i in groups[g]) for g in order}
            order.sort(key=lambda g: unc[g])
            n_next = _batch_size(len(labels), trainer, args, len(order), groups, order)
            n_explore = round(n_next * args.explore)
            chosen = order[: n_next - n_explore]
            rest = order[n_next - n_explore:]
            if n_explore and rest:
                pick = set(rng.choice(len(rest), size=min(n_explore, len(rest)), replace=False))
                chosen += [g for j, g in enumerate(rest) if j in pick]
            chosen_set = set(chosen)
            order = [g for g in order if g not in chosen_set]
            jobs = []
            for g in chosen:
                idx = groups[g]
                mb = {i: preds.get(i) for i in idx}
                start = max(range(len(idx)), key=lambda j: (mb[idx[j]].score or 0.0)
                            if mb[idx[j]] is not None else -1.0) if mb else 0
                known = {i: labels[i] for i in idx if i in labels}
                p_model = (sum(tally.duels) + 1) / (len(tally.duels) + 2)
                jobs.append(GroupJob(idx, start, mb, thr, params, use_tracker, known, p_model,
                                     phase=trainer.trained_on))
            _run_groups(jobs, pool, labels, tally)
    out = tally.summary(len(_ITEMS))
    out["seconds"] = round(time.perf_counter() - t0, 1)
    # main process + group jobs (pool workers stay alive, so RUSAGE_CHILDREN misses them)
    out["cpu_seconds"] = round(_cpu() - c0 + (tally.cpu if pool else 0.0), 1)
    out["training"] = trainer.log
    return out


def _batch_size(n_labels: int, trainer: Trainer, args: argparse.Namespace, n_left: int,
                groups: dict[str, list[int]], order: list[str]) -> int:
    """Groups to annotate before the next retraining check (all when no retrain is due)."""
    if trainer.model is None:
        need = args.first_train - n_labels
    else:
        need = max(trainer.trained_on * args.retrain_growth,
                   trainer.trained_on + args.retrain_min_new) - n_labels
    if trainer.trained_on >= args.max_train_labels:
        return n_left
    mean = max(1.0, np.mean([len(groups[g]) for g in order]))
    return max(1, min(n_left, math.ceil(need / mean)))


def _cpu() -> float:
    """CPU seconds of this process and its finished children."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


# ---------------------------------------------------------------- throughput
def _bare_csrt(pairs: list[tuple[int, int]]) -> float:
    t = time.perf_counter()
    for a, b in pairs:
        src, dst = _ITEMS[a], _ITEMS[b]
        tr = cv2.TrackerCSRT.create()
        x0, y0, x1, y1 = src.truth.xyxy
        tr.init(cv2.cvtColor(src.img, cv2.COLOR_RGB2BGR),
                (round(x0), round(y0), round(x1 - x0), round(y1 - y0)))
        tr.update(cv2.cvtColor(dst.img, cv2.COLOR_RGB2BGR))
    return time.perf_counter() - t


def _ours(pairs: list[tuple[int, int]], params: TrackParams) -> float:
    t = time.perf_counter()
    for a, b in pairs:
        _track(_ITEMS[a], _ITEMS[a].truth, _ITEMS[b], params)
    return time.perf_counter() - t


def throughput(n: int, params: TrackParams) -> dict[str, Any]:
    """Tracker steps per second: bare OpenCV CSRT init+update vs nblabel's step (one core)."""
    cv2.setNumThreads(1)
    pairs = []
    for idx in _groups().values():
        pairs += list(itertools.pairwise(idx))
    pairs = pairs[:n]
    if not pairs:
        return {}
    _bare_csrt(pairs[:5])
    bare, ours = [], []
    for _ in range(2):  # interleaved repeats, best of each, to damp other load
        bare.append(_bare_csrt(pairs))
        ours.append(_ours(pairs, params))
    b, o = min(bare), min(ours)
    return {"steps": len(pairs), "bare_csrt_fps": round(len(pairs) / b, 1),
            "nblabel_fps": round(len(pairs) / o, 1), "overhead": round(o / b - 1, 4)}


def speedup(n_groups: int, cores: int, pool: Any, params: TrackParams,
            train_steps: int = 40) -> dict[str, Any]:
    """Wall-time speedup from using ``cores`` cores instead of one, side by side in one run.

    Two parts of the program's compute: tracking whole groups (one group per worker
    process) and training the box model (torch intra-op threads).
    """
    groups = _groups()
    names = sorted(groups)[:n_groups]
    jobs = [GroupJob(groups[g], 0, params=params) for g in names]
    one, many = [], []
    for _ in range(2):  # interleaved, best of each
        t = time.perf_counter()
        _run_groups(jobs, None, {}, Tally())
        one.append(time.perf_counter() - t)
        t = time.perf_counter()
        _run_groups(jobs, pool, {}, Tally())
        many.append(time.perf_counter() - t)
    out: dict[str, Any] = {
        "cores": cores,
        "tracker_groups": {"groups": len(jobs), "images": sum(len(j.idx) for j in jobs),
                           "seconds_1_core": round(min(one), 2),
                           f"seconds_{cores}_cores": round(min(many), 2),
                           "speedup": round(min(one) / min(many), 2)},
    }
    try:
        from nblabel.models.boxes import BoxModel
    except ImportError:  # pragma: no cover - torch is part of the benchmark's set-up
        return out
    idx = list(range(min(64, len(_ITEMS))))
    imgs, boxes = [_ITEMS[i].img for i in idx], [[_ITEMS[i].truth] for i in idx]
    secs: dict[int, list[float]] = {1: [], cores: []}
    for n in secs:  # warm-up
        BoxModel(max_steps=train_steps, num_threads=n).fit(imgs, boxes)
    for _ in range(2):  # interleaved, best of each
        for n in secs:
            m = BoxModel(max_steps=train_steps, num_threads=n).fit(imgs, boxes)
            secs[n].append(m.fit_seconds_)
    out["model_training"] = {"steps": train_steps, "seconds_1_core": round(min(secs[1]), 2),
                             f"seconds_{cores}_cores": round(min(secs[cores]), 2),
                             "speedup": round(min(secs[1]) / min(secs[cores]), 2)}
    return out


# ---------------------------------------------------------------------- main
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nblabel bench boxes", description=__doc__.split("\n")[0])
    p.add_argument("--images", required=True, help="folder of images (or a VOC root)")
    p.add_argument("--annotations", required=True, help="folder of VOC .xml files")
    p.add_argument("--classes-from-filename", action="store_true",
                   help="target class of an image = its filename prefix before 3 digits")
    p.add_argument("--accept-iou", type=float, default=0.7)
    p.add_argument("--out", required=True, help="output JSON file")
    p.add_argument("--ignore", default="coin", help="comma-separated classes to ignore")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images")
    p.add_argument("--groups", type=int, default=0, help="use only N random groups")
    p.add_argument("--modes", default="full,tracker,model")
    p.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-side", type=int, default=320, help="working image size")
    p.add_argument("--tracker", default="csrt")
    p.add_argument("--seed-groups", type=int, default=0,
                   help="full run: seed with N tracked groups instead of random images")
    p.add_argument("--seed-images", type=int, default=40)
    p.add_argument("--first-train", type=int, default=40)
    p.add_argument("--steps", type=int, default=2000, help="steps of the first training")
    p.add_argument("--retrain-steps", type=int, default=2000)
    p.add_argument("--retrain-growth", type=float, default=1.5)
    p.add_argument("--retrain-min-new", type=int, default=60)
    p.add_argument("--max-train-labels", type=int, default=1000)
    p.add_argument("--explore", type=float, default=0.2, help="share of groups picked at random")
    p.add_argument("--throughput-steps", type=int, default=200)
    p.add_argument("--speedup-groups", type=int, default=24,
                   help="groups tracked with 1 core and with --cores to measure the speedup "
                        "(0: skip)")
    return p


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark for parsed arguments; returns the result dict."""
    global _ITEMS
    t0, c0 = time.perf_counter(), _cpu()
    load_avg_start = os.getloadavg()
    items = _subset(_collect(args), args)
    if not items:
        sys.exit("no images with a matching VOC file and target box")
    ctx = mp.get_context("fork")
    pool = ctx.Pool(args.cores) if args.cores > 1 else None
    try:
        _load(items, args.max_side, pool)
    finally:
        if pool:
            pool.close()
    _ITEMS = items
    load_s = time.perf_counter() - t0
    result: dict[str, Any] = {"benchmark": "boxes", "args": vars(args),
                              "cores": args.cores, "load_seconds": round(load_s, 1),
                              "load_cpu_seconds": round(_cpu() - c0, 1)}
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    # workers fork after the images are decoded and before torch starts its threads
    pool = ctx.Pool(args.cores) if args.cores > 1 else None
    try:
        for mode in modes:
            r = run_mode(mode, args, pool)
            r["seconds_with_loading"] = round(r["seconds"] + load_s, 1)
            key = {"full": None, "tracker": "tracker_only", "model": "model_only"}[mode]
            if key is None:
                result.update(r)
            else:
                result[key] = r
            print(f"[{mode}] hand_fraction={r['hand_fraction']} hand={r['hand_boxes']} "
                  f"corr={r['corrections']} acc={r['accepted']} {r['seconds']} s",
                  file=sys.stderr, flush=True)
            write_json(args.out, {**result, "complete": False})  # partial results survive
        if args.speedup_groups and pool:
            result["speedup"] = speedup(args.speedup_groups, args.cores, pool,
                                        TrackParams(args.tracker, max_side=None))
    finally:
        if pool:
            pool.close()
            pool.join()
    if args.throughput_steps:
        result["tracker_throughput"] = throughput(args.throughput_steps,
                                                  TrackParams(args.tracker, max_side=None))
    result["load_average_start"] = [round(v, 2) for v in load_avg_start]
    result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    result["complete"] = True
    result["note"] = ("seconds are wall time on a machine shared with other jobs (see "
                      "load_average_*); cpu_seconds count this process and its workers")
    write_json(args.out, result)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nblabel bench boxes``."""
    args = _parser().parse_args(argv)
    r = run(args)
    keys = ("n_images", "hand_boxes", "corrections", "hand_fraction", "accepted",
            "auto_iou_ge_07", "mean_iou_suggestions", "seconds")
    print({k: r.get(k) for k in keys})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
