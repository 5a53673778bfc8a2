"""``nblabel bench boxes``: how many boxes must a human draw when the program boxes the rest?

A simulated annotator labels a VOC-annotated image set through the product, exactly as a
person would in the widget: a :class:`~nblabel.session.BoxSession` on an SQLite store with a
:class:`~nblabel.assist.BoxAssistant` attached (the assistant tracks, trains, fuses, orders
the queue and picks keyframes; nothing of that lives here). On each item the session serves
(``current``), the annotator looks at ``suggestions()``: with none it draws the true box (a
*hand box*, ``set_boxes``); with one of IoU >= ``--accept-iou`` to the truth it accepts it
(``accept``: the accepted box, not the truth, is the label from then on); otherwise it
rejects it and draws the truth (a *correction*). Then ``next()``.

Unpaced (default), the annotator waits until the assistant is idle before looking at the
next item: the figures are what a patient user gets, reproducibly. Paced (``--pace S``),
the annotator never waits: it spends the modelled time of each action times ``S`` (accept
1.7 s, a box by extreme clicks 7 s, each corrected edge 2.5 s) in real time, and the JSON
reports ``suggestion_ready_share`` (items whose suggestion was there when shown).

Three runs, each from scratch on a fresh store: ``full`` (tracker and model),
``tracker`` (``model=None``) and ``model`` (``tracker=None``).

Usage::

    nblabel bench boxes --images DIR --annotations DIR --classes-from-filename \\
        --accept-iou 0.7 --out FILE.json [--limit N] [--groups N] [--modes full,tracker,model]
        [--pace S]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nblabel.bench.box_speed import speedup, throughput
from nblabel.bench.common import defaults_of, write_json
from nblabel.io.voc import read_voc
from nblabel.shapes import Box

__all__ = ["COSTS", "Tally", "correction_edges", "main", "run"]

# Idle OpenMP threads sleep instead of spinning (set before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_CLASS_RE = re.compile(r"^(.*?)\d{3}")
_GROUP_RE = re.compile(r"\s*\(\s*(\d+)\s*\)\s*$")
_IMG_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: Modelled seconds of a person's actions: verify-and-accept (Papadopoulos et al. 2016),
#: a box by extreme clicking (Papadopoulos et al. 2017), one edge fixed (estimate).
COSTS = {"accept": 1.7, "draw": 7.0, "edge": 2.5}
#: An edge needs fixing when it is off by more than this share of the true box's side.
EDGE_TOLERANCE = 0.05


# ---------------------------------------------------------------------------- data
@dataclass
class Item:
    name: str
    path: Path
    label: str
    group: str
    order: int
    truth: Box  # in image pixels


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
                          truth.replace(label=label, source="human")))
    return sorted(items, key=lambda it: (it.group, it.order, it.name))


def _subset(items: list[Item], args: argparse.Namespace) -> list[Item]:
    if getattr(args, "types", ""):
        keep_types = {t.strip() for t in args.types.split(",") if t.strip()}
        items = [it for it in items if it.label in keep_types]
    if args.groups:
        rng = np.random.default_rng(args.seed)
        groups = sorted({it.group for it in items})
        keep = set(rng.choice(groups, size=min(args.groups, len(groups)), replace=False))
        items = [it for it in items if it.group in keep]
    if args.limit:
        items = items[: args.limit]
    return items


def _frame(items: list[Item]) -> pd.DataFrame:
    """The user's DataFrame: one row per photo, its group and its (image-level) class."""
    return pd.DataFrame(
        {"path": [str(it.path) for it in items], "group": [it.group for it in items],
         "food": [it.label for it in items]},
        index=pd.Index([it.name for it in items], name="id"),
    )


# ---------------------------------------------------------------------- annotator
def correction_edges(suggested: Box, truth: Box, tolerance: float = EDGE_TOLERANCE) -> int:
    """How many of the four edges of ``suggested`` a person must move to reach ``truth``
    (an edge is off by more than ``tolerance`` of the true box's width or height)."""
    tw, th = max(truth.width, 1e-6), max(truth.height, 1e-6)
    return int(sum((abs(suggested.x0 - truth.x0) > tolerance * tw,
                    abs(suggested.x1 - truth.x1) > tolerance * tw,
                    abs(suggested.y0 - truth.y0) > tolerance * th,
                    abs(suggested.y1 - truth.y1) > tolerance * th)))


@dataclass
class Tally:
    """What the simulated annotator did, and what it cost."""

    hand_boxes: int = 0
    corrections: int = 0
    accepted: int = 0
    shown_iou: list[float] = field(default_factory=list)
    by_source: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # (model version, outcome) -> count; a model version is the number of labels it was
    # trained on (0: no model yet), the outcome "hand_boxes", "corrections" or "accepted"
    outcomes: Counter[tuple[int, str]] = field(default_factory=Counter)
    edges_fixed: list[int] = field(default_factory=list)  # per correction
    seconds: float = 0.0  # modelled annotator time
    ready: int = 0  # shown with a suggestion already there
    eligible: int = 0  # shown when the assistant had something to go on
    shown_scores: list[tuple[str, float, bool]] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)  # per shown suggestion: suspected miss
    thr: float = 0.7  # the accept-IoU of the last decision

    def act(self, truth: Box, suggestion: Box | None, thr: float, phase: int = 0,
            shown_score: float | None = None, suspected: bool = False) -> tuple[str, float]:
        """Decide on one item; returns the outcome and its modelled cost in seconds.

        ``shown_score``: the score the annotator saw (the suggestion's, calibrated), for the
        reliability table; default: the box's own score. ``suspected``: the assistant
        showed the suggestion as a suspected miss."""
        self.thr = thr
        if suggestion is None:
            outcome, cost = "hand_boxes", COSTS["draw"]
            self.hand_boxes += 1
        else:
            iou = suggestion.iou(truth) if suggestion.label == truth.label else 0.0
            self.shown_iou.append(iou)
            self.flagged.append(bool(suspected))
            self.by_source[suggestion.source].append(iou)
            score = suggestion.score if shown_score is None else shown_score
            if score is not None:
                self.shown_scores.append((suggestion.source, float(score), iou >= thr))
            if iou >= thr:
                outcome, cost = "accepted", COSTS["accept"]
                self.accepted += 1
            else:
                edges = correction_edges(suggestion, truth)
                self.edges_fixed.append(edges)
                # moving edges of a roughly right box, or a redraw when that costs less
                cost = min(COSTS["accept"] + COSTS["edge"] * edges, COSTS["draw"])
                outcome = "corrections"
                self.corrections += 1
        self.outcomes[phase, outcome] += 1
        self.seconds += cost
        return outcome, cost

    def summary(self, n: int) -> dict[str, Any]:
        s = np.array(self.shown_iou) if self.shown_iou else np.zeros(0)
        e = np.array(self.edges_fixed)
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
            "annotator_seconds": round(self.seconds, 1),
            "edges_per_correction": round(float(e.mean()), 2) if e.size else None,
            "corrections_by_edges": {str(k): int((e == k).sum()) for k in range(5)},
            "by_source": {k: {"n": len(v), "iou_ge_07": round(float(np.mean(np.array(v) >= .7)), 4),
                              "mean_iou": round(float(np.mean(v)), 4)}
                          for k, v in self.by_source.items()},
            # IoU of every shown suggestion with the truth, in bins [0, .1), [.1, .3), ...
            "shown_iou_histogram": dict(zip(
                ("0-0.1", "0.1-0.3", "0.3-0.5", "0.5-0.7", "0.7-0.9", "0.9-1"),
                np.histogram(s, bins=(0, .1, .3, .5, .7, .9, 1.0001))[0].tolist())),
            "reliability": reliability(self.shown_scores),
            "corrections_breakdown": breakdown(s, np.array(self.flagged, bool), self.thr),
            "by_model_version": [
                {"trained_on": v, **{k: self.outcomes[v, k]
                                     for k in ("hand_boxes", "corrections", "accepted")}}
                for v in sorted({v for v, _ in self.outcomes})],
        }


def breakdown(iou: np.ndarray, flagged: np.ndarray, thr: float) -> dict[str, Any]:
    """Corrections split into misses (IoU < 0.1 with the truth, or the wrong class, which
    counts as IoU 0) and loose boxes (0.1 to ``thr``), and how many of each the assistant
    had shown as a suspected miss; ``flag_precision``: the share of suspected misses that
    did need a correction."""
    miss, loose = iou < 0.1, (iou >= 0.1) & (iou < thr)
    n_flag = int(flagged.sum())
    return {"misses": int(miss.sum()), "loose": int(loose.sum()),
            "misses_flagged": int((miss & flagged).sum()),
            "loose_flagged": int((loose & flagged).sum()),
            "accepted_flagged": int((~miss & ~loose & flagged).sum()),
            "flag_precision": round(float((flagged & (miss | loose)).sum()) / n_flag, 4)
            if n_flag else None}


def _ece(rows: Sequence[tuple[str, float, bool]], bins: int = 10) -> float | None:
    if not rows:
        return None
    s = np.array([r[1] for r in rows])
    a = np.array([r[2] for r in rows], dtype=float)
    idx = np.minimum((s * bins).astype(int), bins - 1)
    return round(float(sum(abs(a[idx == b].mean() - s[idx == b].mean()) * (idx == b).sum()
                           for b in range(bins) if (idx == b).any()) / len(rows)), 4)


def reliability(rows: Sequence[tuple[str, float, bool]], bins: int = 10) -> dict[str, Any]:
    """Do shown scores mean what they say? Per source: suggestions in each score bin, their
    mean score and the share accepted; expected calibration error (ECE) over the whole run
    and over its second half (once the assistant has seen the annotator's decisions)."""
    out: dict[str, Any] = {}
    for source in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == source]
        s = np.array([r[1] for r in mine])
        a = np.array([r[2] for r in mine], dtype=float)
        idx = np.minimum((s * bins).astype(int), bins - 1)
        out[source] = {
            "n": len(mine),
            "bins": [{"scores": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "n": int((idx == b).sum()),
                      "mean_score": round(float(s[idx == b].mean()), 3),
                      "accepted_share": round(float(a[idx == b].mean()), 3)}
                     for b in range(bins) if (idx == b).any()],
            "ece": _ece(mine),
            "ece_second_half": _ece(mine[len(mine) // 2:]),
        }
    out["all"] = {"n": len(rows), "ece": _ece(rows), "ece_second_half": _ece(rows[len(rows) // 2:])}
    return out


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _cpu() -> float:
    """CPU seconds of this process and its finished children."""
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _assistant(mode: str, args: argparse.Namespace) -> Any:
    from nblabel.assist import BoxAssistant

    return BoxAssistant(
        model=None if mode == "tracker" else "default",
        tracker=None if mode == "model" else args.tracker,
        explore=args.explore, random_state=args.seed, item_class="food",
        group_chunk=args.group_chunk or None,
        first_fit=args.first_train, retrain_growth=args.retrain_growth,
        retrain_min_new=args.retrain_min_new, max_fit_labels=args.max_train_labels,
        refit_on_misses=args.refit_on_misses or None,
        fit_steps=args.steps, retrain_steps=args.retrain_steps, work_side=args.max_side,
        retrain_epochs=args.retrain_epochs or None, min_retrain_steps=args.min_retrain_steps,
        processes=args.cores, refine=not args.no_refine,
        refine_tracked=not args.no_refine_tracked, refine_pull=args.refine_pull,
    )


def run_mode(mode: str, items: list[Item], args: argparse.Namespace, workdir: Path
             ) -> dict[str, Any]:
    """One whole simulated labeling run through the product; returns its summary."""
    from nblabel.session import BoxSession

    t0, c0 = time.perf_counter(), _cpu()
    df = _frame(items)
    truth = {it.name: it.truth for it in items}
    store = workdir / f"{mode}.sqlite"
    session = BoxSession(df, image="path", classes=sorted(set(df["food"])), group="group",
                         store=store, order="random", random_state=args.seed,
                         annotator="simulated")
    assistant = _assistant(mode, args).attach(session)
    tally = Tally()
    thr, pace = args.accept_iou, args.pace
    labeled_groups: set[str] = set()
    try:
        for step in range(len(items)):
            if not pace:
                assistant.wait()
            item = session.current
            if item is None or session.is_labeled(item.key):
                break
            shown = session.suggestions()
            phase = assistant.model_version
            if pace:
                tally.ready += bool(shown)
                tally.eligible += bool(phase) or df.at[item.key, "group"] in labeled_groups
            best = shown[0] if shown else None
            box = None if best is None else max(best.value, key=lambda b: b.score or 0.0)
            outcome, cost = tally.act(truth[item.key], box, thr, phase,
                                      shown_score=None if best is None else best.score,
                                      suspected=bool(assistant.suspected(item.key)))
            if outcome == "accepted":
                session.accept(0)
            else:
                if best is not None:
                    session.reject(0)
                session.set_boxes([truth[item.key]])
            labeled_groups.add(df.at[item.key, "group"])
            if pace:
                time.sleep(cost * pace)
            session.next()
            if step % 250 == 0:
                _say(f"[{mode}] {step}/{len(items)} {assistant.status}")
        assistant.wait()
        fits = list(assistant.fits)
        errors = list(assistant.errors)
        trust = {"duels": assistant.trust.duels, "model_won": assistant.trust.model_wins}
        refine_ms = np.array(assistant.refine_ms)
    finally:
        assistant.close()
        session.close()
    out = tally.summary(len(items))
    out["labeled_in_store"] = int(df["boxes"].notna().sum())
    if refine_ms.size:  # edge snapping of each posted suggestion (decoding included)
        out["refine_ms"] = {"n": int(refine_ms.size),
                            "median": round(float(np.median(refine_ms)), 2),
                            "p95": round(float(np.percentile(refine_ms, 95)), 2)}
    out["model_vs_tracker_disagreements"] = trust["duels"]
    out["model_won_disagreements"] = trust["model_won"]
    if pace:
        out["pace"] = pace
        out["suggestion_ready_share"] = round(tally.ready / max(tally.eligible, 1), 4)
        out["suggestion_ready_share_all"] = round(tally.ready / max(len(items), 1), 4)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    # this process + the assistant's worker processes (joined by close(), so counted)
    out["cpu_seconds"] = round(_cpu() - c0, 1)
    out["training"] = fits
    out["assistant_errors"] = errors
    return out


# ---------------------------------------------------------------------- main
def _parser() -> argparse.ArgumentParser:
    from nblabel.assist import BoxAssistant

    product = defaults_of(BoxAssistant)  # options not given keep the product's defaults
    p = argparse.ArgumentParser(prog="nblabel bench boxes", description=__doc__.split("\n")[0])
    p.add_argument("--images", required=True, help="folder of images (or a VOC root)")
    p.add_argument("--annotations", required=True, help="folder of VOC .xml files")
    p.add_argument("--classes-from-filename", action="store_true",
                   help="target class of an image = its filename prefix before 3 digits")
    p.add_argument("--accept-iou", type=float, default=0.7)
    p.add_argument("--out", required=True, help="output JSON file")
    p.add_argument("--ignore", default="coin", help="comma-separated classes to ignore")
    p.add_argument("--types", default="", help="use only these classes (comma-separated)")
    p.add_argument("--limit", type=int, default=0, help="use only the first N images")
    p.add_argument("--groups", type=int, default=0, help="use only N random groups")
    p.add_argument("--modes", default="full,tracker,model")
    p.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-side", type=int, default=product["work_side"],
                   help="working image size")
    p.add_argument("--tracker", default=product["tracker"])
    p.add_argument("--first-train", type=int, default=product["first_fit"])
    p.add_argument("--steps", type=int, default=product["fit_steps"],
                   help="steps of the first training")
    p.add_argument("--retrain-steps", type=int, default=product["retrain_steps"],
                   help="most steps of a refit")
    p.add_argument("--retrain-epochs", type=float, default=product["retrain_epochs"],
                   help="passes over the labels of a refit (0: always --retrain-steps)")
    p.add_argument("--min-retrain-steps", type=int, default=product["min_retrain_steps"])
    p.add_argument("--retrain-growth", type=float, default=product["retrain_growth"])
    p.add_argument("--retrain-min-new", type=int, default=product["retrain_min_new"])
    p.add_argument("--max-train-labels", type=int, default=product["max_fit_labels"])
    p.add_argument("--refit-on-misses", type=int, default=product["refit_on_misses"],
                   help="BoxAssistant(refit_on_misses=...); 0: refit on schedule only")
    p.add_argument("--explore", type=float, default=product["explore"],
                   help="share of groups picked at random")
    p.add_argument("--group-chunk", type=int, default=product["group_chunk"],
                   help="once a model exists, images of each group per round (0: whole groups)")
    p.add_argument("--keep-stores", default="",
                   help="copy each run's SQLite store (every event) into this folder")
    p.add_argument("--no-refine", action="store_true",
                   help="the assistant shows suggestions without edge snapping")
    p.add_argument("--refine-pull", type=float, default=product["refine_pull"],
                   help="how far suggested edges move toward the snapped boundary (1: all "
                        "the way)")
    p.add_argument("--no-refine-tracked", action="store_true",
                   help="tracker boxes are shown without the model's crop pass")
    p.add_argument("--pace", type=float, default=0.0,
                   help="annotator spends the modelled time of each action x PACE in real "
                        "time and never waits for the assistant (0: unpaced)")
    p.add_argument("--throughput-steps", type=int, default=200)
    p.add_argument("--speedup-groups", type=int, default=24,
                   help="groups tracked with 1 core and with --cores to measure the speedup "
                        "(0: skip)")
    return p


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark for parsed arguments; returns the result dict."""
    load_avg_start = os.getloadavg()
    items = _subset(_collect(args), args)
    if not items:
        sys.exit("no images with a matching VOC file and target box")
    result: dict[str, Any] = {"benchmark": "boxes", "args": vars(args), "cores": args.cores,
                              "driver": "BoxSession + BoxAssistant (public methods)"}
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="nblabel-bench-") as tmp:
        for mode in modes:
            r = run_mode(mode, items, args, Path(tmp))
            key = {"full": None, "tracker": "tracker_only", "model": "model_only"}[mode]
            if key is None:
                result.update(r)
            else:
                result[key] = r
            _say(f"[{mode}] hand_fraction={r['hand_fraction']} hand={r['hand_boxes']} "
                 f"corr={r['corrections']} acc={r['accepted']} {r['seconds']} s")
            write_json(args.out, {**result, "complete": False})  # partial results survive
            if args.keep_stores:
                import shutil

                Path(args.keep_stores).mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(tmp) / f"{mode}.sqlite", Path(args.keep_stores))
    if args.speedup_groups and args.cores > 1:
        result["speedup"] = speedup(items, args.speedup_groups, args.cores, args.max_side,
                                    args.tracker)
    if args.throughput_steps:
        result["tracker_throughput"] = throughput(items, args.throughput_steps, args.max_side,
                                                  args.tracker)
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
            "auto_iou_ge_07", "mean_iou_suggestions", "annotator_seconds", "seconds")
    print({k: r.get(k) for k in keys})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
