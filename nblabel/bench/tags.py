"""``nblabel bench tags``: simulated active learning of multi-label tags on madewithml.

Usage::

    # 1. time split of projects.json (oldest 80% -> train pool, newest 20% -> test)
    nblabel bench tags --split-time ../shared/data/madewithml/projects.json --split-out DIR
    # 2. the benchmark (interface kept exactly as in issue 4)
    nblabel bench tags --projects DIR/train.json --tags ../shared/data/madewithml/tags.json \\
        --test DIR/test.json --out benchmarks/results/tags-madewithml.json
    # 3. reordering speed of a 100,000-item pool
    nblabel bench tags --scale --out benchmarks/results/tags-scale.json

Labels are each project's own tags after alias mapping and parent closure, restricted to
vocabulary tags that occur in at least ``--min-count`` (10) training projects. A simulated
annotator labels the pool through the product (:func:`simulate`): a ``TagSession`` with the
labelers' assistant, which refits the default model (:class:`nblabel.models.text.TextTagModel`)
every ``--early-batch`` labels until ``--early-until``, then every ``--batch``, and reorders
the queue by the strategy (with ``--exploration`` random share) times information density
(``--density``, fading out over the first ``--density-fade`` labels). Every 25 labels: micro- and
macro-F1 on the test set, and the annotator's effort (tags accepted from the numbered
suggestions with one key, tags typed, actions per item).

``labels_to_match_random_800``: for each strategy, the first label count (multiple of 25)
where its mean micro-F1 over seeds reaches random order's mean micro-F1 at 800 labels (at
the last checkpoint of a shorter ``--max-labels``); ``null`` when it never does within
``--max-labels``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from nblabel import strategies as S
from nblabel.bench.common import defaults_of, write_json
from nblabel.models.text import TextTagModel
from nblabel.vocab import TagVocabulary

__all__ = ["load_task", "main", "simulate", "split_by_time"]

CHECKPOINTS = (25, 50, 100, 200, 400, 800)
UNCERTAINTY = ("least_confidence", "margin", "entropy", "committee")
#: the simulated annotator's effort per item, by labels so far
EFFORT = ("typed_tags_per_item", "accepted_from_suggestions_share", "actions_per_item")


def split_by_time(
    projects: Sequence[dict[str, Any]], *, test_share: float = 0.2
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Oldest ``1 - test_share`` of projects (by ``created_on``, then ``id``) and the rest."""
    rows = sorted(projects, key=lambda r: (str(r.get("created_on", "")), r.get("id", 0)))
    n_train = round((1.0 - test_share) * len(rows))
    return rows[:n_train], rows[n_train:]


def _text(r: dict[str, Any]) -> str:
    return f"{r.get('title') or ''}. {r.get('description') or ''}"


def load_task(
    train: Sequence[dict[str, Any]],
    test: Sequence[dict[str, Any]],
    vocab: TagVocabulary,
    *,
    min_count: int = 10,
) -> dict[str, Any]:
    """Texts, tag names and indicator matrices of the pool and the test set."""
    ytr = [vocab.normalize(r.get("tags", ()), on_unknown="ignore") for r in train]
    yte = [vocab.normalize(r.get("tags", ()), on_unknown="ignore") for r in test]
    counts = Counter(t for ts in ytr for t in ts)
    tags = sorted(t for t, c in counts.items() if c >= min_count)
    col = {t: j for j, t in enumerate(tags)}

    def indicator(ys: list[list[str]]) -> np.ndarray:
        Y = np.zeros((len(ys), len(tags)), dtype=int)
        for i, ts in enumerate(ys):
            for t in ts:
                if t in col:
                    Y[i, col[t]] = 1
        return Y

    return {
        "X_pool": [_text(r) for r in train],
        "Y_pool": indicator(ytr),
        "X_test": [_text(r) for r in test],
        "Y_test": indicator(yte),
        "tags": tags,
    }


def simulate(
    task: dict[str, Any],
    strategy: str,
    *,
    seed: int,
    max_labels: int = 800,
    batch: int = 25,
    early_batch: int = 5,
    early_until: int = 50,
    exploration: float = 0.2,
    aggregate: str = "mean",
    density: float = 1.0,
    density_fade: int | None = 200,
    vocab: TagVocabulary | None = None,
    model_params: dict[str, Any] | None = None,
    every: int = 25,
) -> dict[str, list[float]]:
    """One simulated labeling session through the product; returns the curves.

    A :class:`~nblabel.session.TagSession` (in-memory store, random initial order) with the
    labelers' assistant (:class:`~nblabel.assist.tag_binding.ActiveBinding` around a
    :class:`~nblabel.assist.tags.TagAssistant`: refits every ``early_batch`` labels up to
    ``early_until``, then every ``batch``; reorders the queue by ``strategy``). The annotator
    waits for the assistant, looks at the current item and its numbered suggestions
    (:func:`~nblabel.assist.tag_binding.rank_suggestions` of the model's probabilities, as the
    widget shows them; no pre-fill: the authors' tags are the truth), accepts the true tags
    among them with one key each, types the others, submits, and moves on. Every ``every``
    labels: test micro/macro-F1 of the assistant's current model, and the annotator's effort
    over the items since the last checkpoint.
    """
    from nblabel.assist.tag_binding import ActiveBinding, rank_suggestions
    from nblabel.session import TagSession

    X, Y, tags = task["X_pool"], task["Y_pool"], task["tags"]
    max_labels = min(max_labels, len(X))
    df = pd.DataFrame({"text": X})
    session = TagSession(df, text="text", tags=list(tags), order="random", random_state=seed)
    model = TextTagModel(tags=list(tags), vocabulary=vocab, **(model_params or {}))
    binding = ActiveBinding(
        session, model, order=strategy, retrain_every=batch, random_state=seed,
        exploration=exploration, aggregate=aggregate, density=density,
        density_fade=density_fade, early_retrain_every=early_batch, early_until=early_until,
        min_labels=early_batch,
    )
    learner = binding.learner
    curve: dict[str, list[float]] = {
        "labels": [], "micro_f1": [], "macro_f1": [], "fit_s": [],
        "typed_tags_per_item": [], "accepted_from_suggestions_share": [],
        "actions_per_item": [],
    }
    window = {"items": 0, "accepted": 0, "typed": 0, "actions": 0}
    try:
        for n in range(1, max_labels + 1):
            learner.wait()
            item = session.current
            true = [tags[j] for j in np.flatnonzero(Y[item.position])]
            menu = set(rank_suggestions(binding.proba(item.key)))
            accepted = [t for t in true if t in menu]
            typed = [t for t in true if t not in menu]
            if true:
                session.set_tags(true)
            else:
                session.submit()  # "no tags" is a label too
            session.next()
            window["items"] += 1
            window["accepted"] += len(accepted)
            window["typed"] += len(typed)
            window["actions"] += len(accepted) + len(typed) + 1  # + the submit key
            if n % every == 0:
                learner.wait()
                fitted = learner.model_
                pred = fitted.predict(task["X_test"])
                curve["labels"].append(n)
                curve["micro_f1"].append(
                    float(f1_score(task["Y_test"], pred, average="micro", zero_division=0)))
                curve["macro_f1"].append(
                    float(f1_score(task["Y_test"], pred, average="macro", zero_division=0)))
                curve["fit_s"].append(learner.history[-1]["fit_seconds"])
                k = max(window["items"], 1)
                curve["typed_tags_per_item"].append(round(window["typed"] / k, 4))
                curve["accepted_from_suggestions_share"].append(round(
                    window["accepted"] / max(window["accepted"] + window["typed"], 1), 4))
                curve["actions_per_item"].append(round(window["actions"] / k, 4))
                window = dict.fromkeys(window, 0)
    finally:
        binding.close()
        session.close()
    return curve


def _summary(curves: list[dict[str, list[float]]], metric: str) -> dict[str, dict[str, Any]]:
    labels = curves[0]["labels"]
    vals = np.array([c[metric] for c in curves])
    out = {}
    for i, n in enumerate(labels):
        v = vals[:, i]
        out[str(n)] = {
            "mean": round(float(v.mean()), 4),
            "std": round(float(v.std()), 4),
            "min": round(float(v.min()), 4),
            "max": round(float(v.max()), 4),
            "values": [round(float(x), 4) for x in v],
        }
    return out


def labels_to_match(
    results: dict[str, dict[str, Any]], *, reference: str = "random", at: int = 800
) -> tuple[float | None, dict[str, int | None]]:
    """Random's mean micro-F1 at ``at`` labels and, per strategy, the first label count
    whose mean micro-F1 reaches it (``None`` when never)."""
    ref = results.get(reference, {}).get("micro_f1", {}).get(str(at))
    if ref is None:
        return None, {s: None for s in results if s != reference}
    target = ref["mean"]
    out: dict[str, int | None] = {}
    for s, r in results.items():
        if s == reference:
            continue
        hit = [int(n) for n, v in r["micro_f1"].items() if v["mean"] >= target]
        out[s] = min(hit) if hit else None
    return target, out


def scale(n: int = 100_000, k: int = 88, *, repeats: int = 5) -> dict[str, Any]:
    """Time to score ``n`` items x ``k`` tags and reorder the queue (best of ``repeats``)."""
    from nblabel.queue import Queue

    rng = np.random.default_rng(0)
    P = rng.random((n, k))
    q = Queue(n)
    times: dict[str, list[float]] = {s: [] for s in ("least_confidence", "margin", "entropy")}
    for _ in range(repeats):
        for s in times:
            t0 = time.perf_counter()
            pri = S.priorities(
                S.score(P, s, multilabel=True), exploration=0.2, random_state=0
            )
            q.reorder(pri)
            times[s].append(time.perf_counter() - t0)
    return {
        "n_items": n,
        "n_tags": k,
        "what": "score (n,k) probabilities + order with 20% exploration + Queue.reorder",
        "seconds_best": {s: round(min(v), 4) for s, v in times.items()},
        "seconds_median": {s: round(float(np.median(v)), 4) for s, v in times.items()},
        "under_1s": all(min(v) < 1.0 for v in times.values()),
    }


def _parser() -> argparse.ArgumentParser:
    from nblabel.assist.tags import TagAssistant

    product = defaults_of(TagAssistant)  # the assistant's options default to the product's
    p = argparse.ArgumentParser(prog="nblabel bench tags", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--projects", type=Path, help="training pool: projects JSON list")
    p.add_argument("--tags", type=Path, help="tags.json vocabulary")
    p.add_argument("--test", type=Path, help="test projects JSON list")
    p.add_argument("--out", type=Path, help="result JSON file")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--strategies", default="random,least_confidence,margin,entropy,committee")
    p.add_argument("--max-labels", type=int, default=800)
    p.add_argument("--batch", type=int, default=25)
    p.add_argument("--early-batch", type=int, default=5)
    p.add_argument("--early-until", type=int, default=50)
    p.add_argument("--exploration", type=float, default=product["exploration"])
    p.add_argument("--aggregate", choices=("mean", "max"), default=product["aggregate"])
    p.add_argument("--density", type=float, default=product["density"],
                   help="exponent of information density weighting (0 = off)")
    p.add_argument("--density-fade", type=int, default=product["density_fade"], metavar="N",
                   help="labels over which the density exponent falls to 0 (0: no fading)")
    p.add_argument("--min-count", type=int, default=10)
    p.add_argument("--mention-weight", type=float, default=None,
                   help="override TextTagModel.mention_weight (0 = no mention features)")
    p.add_argument("--char-ngrams", choices=("on", "off"), default="on")
    p.add_argument("--threshold", default=None,
                   help="override TextTagModel.threshold: a number or 'auto' (calibrated)")
    p.add_argument("--C", type=float, default=None, dest="C",
                   help="override TextTagModel.C (inverse regularisation)")
    p.add_argument("--lsa-components", type=int, default=None, metavar="K",
                   help="override TextTagModel.lsa_components (0 = no topic features)")
    p.add_argument("--lsa-weight", type=float, default=None,
                   help="override TextTagModel.lsa_weight")
    p.add_argument("--scale", action="store_true", help="time reordering a large pool")
    p.add_argument("--scale-n", type=int, default=100_000)
    p.add_argument("--split-time", type=Path, metavar="PROJECTS",
                   help="write a time split of PROJECTS to --split-out and exit")
    p.add_argument("--split-out", type=Path, default=Path("."))
    p.add_argument("--test-share", type=float, default=0.2)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nblabel bench tags``."""
    args = _parser().parse_args(argv)
    if args.split_time:
        rows = json.loads(args.split_time.read_text(encoding="utf-8"))
        train, test = split_by_time(rows, test_share=args.test_share)
        args.split_out.mkdir(parents=True, exist_ok=True)
        for name, part in (("train", train), ("test", test)):
            (args.split_out / f"{name}.json").write_text(json.dumps(part))
        print(f"wrote {len(train)} train and {len(test)} test projects to {args.split_out}")
        return 0
    if args.scale:
        res = scale(args.scale_n)
        print(json.dumps(res["seconds_best"]), "under 1 s:", res["under_1s"])
        if args.out:
            write_json(args.out, {"benchmark": "tags --scale", **res})
        return 0
    missing = [o for o in ("projects", "tags", "test", "out") if getattr(args, o) is None]
    if missing:
        _parser().error("missing " + ", ".join("--" + m for m in missing))
    vocab = TagVocabulary.from_json(args.tags)
    train = json.loads(args.projects.read_text(encoding="utf-8"))
    test = json.loads(args.test.read_text(encoding="utf-8"))
    task = load_task(train, test, vocab, min_count=args.min_count)
    model_params: dict[str, Any] = {}
    if args.mention_weight is not None:
        model_params["mention_weight"] = args.mention_weight
    if args.threshold is not None:
        model_params["threshold"] = (
            "auto" if args.threshold == "auto" else float(args.threshold)
        )
    if args.char_ngrams == "off":
        model_params["char_ngrams"] = None
    for name in ("C", "lsa_components", "lsa_weight"):
        if getattr(args, name) is not None:
            model_params[name] = getattr(args, name)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    t_start = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    for s in strategies:
        t0 = time.perf_counter()
        curves = [
            simulate(task, s, seed=seed, max_labels=args.max_labels, batch=args.batch,
                     early_batch=args.early_batch, early_until=args.early_until,
                     exploration=args.exploration, aggregate=args.aggregate,
                     density=args.density, density_fade=args.density_fade or None, vocab=vocab,
                     model_params=model_params)
            for seed in range(args.seeds)
        ]
        results[s] = {
            "micro_f1": _summary(curves, "micro_f1"),
            "macro_f1": _summary(curves, "macro_f1"),
            **{m: _summary(curves, m) for m in EFFORT},
            "mean_fit_seconds": round(float(np.mean([np.mean(c["fit_s"]) for c in curves])), 3),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        line = " ".join(
            f"{n}:{results[s]['micro_f1'][str(n)]['mean']:.3f}"
            for n in CHECKPOINTS if str(n) in results[s]["micro_f1"]
        )
        print(f"{s:17s} micro-F1 {line}  ({results[s]['seconds']} s)", flush=True)
    # the last checkpoint at or under 800 (a --max-labels off the 25 grid has none of its own)
    target, match = labels_to_match(results, at=min(800, args.max_labels // 25 * 25))
    out = {
        "benchmark": "tags",
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "data": {"pool": len(task["X_pool"]), "test": len(task["X_test"]),
                 "n_tags": len(task["tags"]), "tags": task["tags"],
                 "pool_label_cardinality": round(float(task["Y_pool"].sum(1).mean()), 3)},
        "model": "TextTagModel" + (f" {model_params}" if model_params else " (defaults)"),
        "checkpoints": list(CHECKPOINTS),
        "results": results,
        "random_micro_f1_at_800": target,
        "labels_to_match_random_800": match,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    write_json(args.out, out)
    print("labels_to_match_random_800:", json.dumps(match))
    return 0
