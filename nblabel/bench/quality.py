"""``nblabel bench quality``: labeling functions and review queues on real data.

Usage::

    nblabel bench quality [--data ../shared/data] [--out-dir benchmarks/results]
                          [--part lf|classification|tags|boxes|all] [--seeds 3]
                          [--box-images 600]

Parts (each writes ``quality-PART.json`` and the summary ``quality.md`` is rebuilt from
whichever JSON files exist):

``lf``
    madewithml, time split (oldest 80% pool, newest 20% test, as in ``bench tags``).
    Labeling functions: one per vocabulary tag (its name and aliases, from ``tags.json``)
    plus ten keyword functions. Coverage, and micro precision/recall/F1 of majority vote
    and of the Dawid-Skene label model against the authors' tags (alias mapping and parent
    closure), in two set-ups: functions vote only their tag and parents are added to the
    combined labels afterwards ("leaf"), or functions vote their tag with its parents
    ("closure"). The label model is fitted on the pool's votes only (no labels).
``classification``
    madewithml projects with exactly one of six top-level tags (a 6-class task, 749 items).
    5% of labels flipped to another class; a review queue ``Review(where="model")`` with
    out-of-fold TF-IDF + logistic regression and confident learning. Precision/recall of
    its top-k (k = number of flips, and 2x), and of the confident-learning issue set.
``tags``
    madewithml multi-label: in 5% of projects one tag removed or one wrong tag added;
    ``Review(where="model")`` with an out-of-fold :class:`~nblabel.models.text.TextTagModel`.
``boxes``
    ECUSTFD Pascal VOC boxes (a seeded sample of ``--box-images`` images). 5% of boxes
    perturbed: half get another class present in the data, half are moved or resized so
    their IoU with the original is below 0.5. A review queue
    ``Review(where="consistency")`` (:mod:`nblabel.quality.boxcheck`) ranks boxes; precision/
    recall of its top-k boxes, overall and per kind of error. Note: boxcheck's placement
    model trains on its own random moves/resizes of the labeled boxes (IoU < 0.8, shifts
    up to one box size, scales e^+-1.1), a wider family than, but of the same kind as,
    the planted geometry errors.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nblabel.bench.common import write_json
from nblabel.bench.quality_report import N_LABELED
from nblabel.bench.quality_report import markdown as _markdown

__all__ = ["KEYWORD_LFS", "main"]

#: label -> keywords of the keyword labeling functions used on madewithml
KEYWORD_LFS: dict[str, list[str]] = {
    "computer-vision": ["image", "images", "video", "pixel", "camera", "visual"],
    "natural-language-processing": ["text", "language", "sentence", "sentences", "words",
                                    "translation", "chatbot"],
    "reinforcement-learning": ["reinforcement", "agent", "reward", "game"],
    "generative-adversarial-networks": ["gan", "gans", "generative adversarial"],
    "pytorch": ["torch"],
    "tensorflow": ["tf", "tf2", "tensorflow.js"],
    "graphs": ["graph", "graphs", "node", "nodes"],
    "time-series": ["time series", "forecasting", "stock"],
    "transformers": ["bert", "gpt", "gpt-2", "gpt-3", "transformer"],
    "deep-learning": ["neural network", "neural networks", "deep"],
}

CLASSES6 = ["computer-vision", "natural-language-processing", "reinforcement-learning",
            "graphs", "time-series", "audio"]


def _text(r: dict[str, Any]) -> str:
    return f"{r.get('title') or ''}. {r.get('description') or ''}"


def _prf(Y: np.ndarray, P: np.ndarray) -> dict[str, float]:
    tp = int((Y & P).sum())
    return {"precision": tp / max(int(P.sum()), 1), "recall": tp / max(int(Y.sum()), 1),
            "f1": 2 * tp / max(int(Y.sum() + P.sum()), 1)}


# ---------------------------------------------------------------------------- LF part
def run_lf(data: Path) -> dict[str, Any]:
    from nblabel.bench.tags import split_by_time
    from nblabel.quality.labelmodel import LabelModel, MajorityVote
    from nblabel.quality.lf import alias_lfs, apply_lfs, keyword_lf, lf_summary
    from nblabel.vocab import TagVocabulary

    projects = json.loads((data / "madewithml" / "projects.json").read_text())
    vocab = TagVocabulary.from_json(data / "madewithml" / "tags.json")
    pool, test = split_by_time(projects)
    tags = vocab.tags
    col = {t: j for j, t in enumerate(tags)}

    def truth(rows: list[dict[str, Any]]) -> np.ndarray:
        Y = np.zeros((len(rows), len(tags)), dtype=int)
        for i, r in enumerate(rows):
            for t in vocab.normalize(r.get("tags", ()), on_unknown="ignore"):
                Y[i, col[t]] = 1
        return Y

    def close(P: np.ndarray) -> np.ndarray:
        P = P.copy()
        for t in tags:
            for a in vocab.ancestors(t):
                P[:, col[a]] = np.maximum(P[:, col[a]], P[:, col[t]])
        return P

    Y_pool, Y_test = truth(pool), truth(test)
    f_pool = pd.DataFrame({"text": [_text(r) for r in pool]})
    f_test = pd.DataFrame({"text": [_text(r) for r in test]})
    out: dict[str, Any] = {"n_pool": len(pool), "n_test": len(test), "n_tags": len(tags),
                           "keyword_lfs": KEYWORD_LFS, "setups": {}}
    for setup, closure in (("leaf", False), ("closure", True)):
        lfs = alias_lfs(vocab, text="text", closure=closure)
        for label, words in KEYWORD_LFS.items():
            vote = [label, *vocab.ancestors(label)] if closure else [label]
            lfs.append(keyword_lf(vote, words, text="text", name=f"keyword:{label}"))
        t0 = time.perf_counter()
        V_pool = apply_lfs(f_pool, lfs, classes=tags, multilabel=True)
        V_test = apply_lfs(f_test, lfs, classes=tags, multilabel=True)
        t_apply = time.perf_counter() - t0
        t0 = time.perf_counter()
        lm = LabelModel().fit(V_pool)
        t_fit = time.perf_counter() - t0
        mv = MajorityVote().fit(V_pool)
        res: dict[str, Any] = {
            "n_lfs": len(lfs), "apply_seconds": round(t_apply, 2),
            "fit_seconds": round(t_fit, 2),
            "coverage_pool": float(V_pool.fired().any(1).mean()),
            "coverage_test": float(V_test.fired().any(1).mean()),
            "tags_fitted_by_label_model": len(lm.params_),
            "tags_majority_fallback": len(lm.fallback_),
        }
        for name, V, Y in (("pool", V_pool, Y_pool), ("test", V_test, Y_test)):
            for mname, m in (("majority_vote", mv), ("label_model", lm)):
                P = close(m.predict_proba(V)) >= 0.5
                res[f"{mname}_{name}"] = _prf(Y, P.astype(int))
        # with some human labels: a seeded sample of pool rows labeled with their truth
        tag_arr = np.array(tags)
        for n_lab in N_LABELED:
            rng = np.random.default_rng(0)
            lab = set(rng.choice(len(pool), n_lab, replace=False).tolist())
            labels = pd.Series([sorted(tag_arr[Y_pool[i] == 1]) if i in lab else None
                                for i in range(len(pool))], dtype=object)
            semi = LabelModel().fit(V_pool, labels)
            P = close(semi.predict_proba(V_test)) >= 0.5
            res[f"label_model_{n_lab}_labels_test"] = _prf(Y_test, P.astype(int))
            S = lf_summary(V_pool, labels)
            keep = [j for j, nm in enumerate(V_pool.names)
                    if not S.loc[nm, "emp_accuracy"] < 0.5]
            V_keep = type(V_test)(V_test.frame.iloc[:, keep], V_test.classes, True)
            P = close(MajorityVote().fit(V_keep).predict_proba(V_keep)) >= 0.5
            res[f"majority_vote_accurate_lfs_{n_lab}_labels_test"] = {
                **_prf(Y_test, P.astype(int)), "n_lfs_kept": len(keep)}
        S = lf_summary(V_pool, pd.Series([sorted(np.array(tags)[y == 1]) for y in Y_pool]))
        S["lm_accuracy"] = lm.lf_accuracies(V_pool.names).to_numpy()
        top = S.sort_values("coverage", ascending=False).head(15)
        res["lf_summary_top15"] = [
            {"lf": i, **{k: (None if pd.isna(v) else round(float(v), 4)) for k, v in
                         r[["coverage", "overlaps", "conflicts", "emp_accuracy",
                            "lm_accuracy"]].items()}}
            for i, r in top.iterrows()
        ]
        acc = S.dropna(subset=["emp_accuracy", "lm_accuracy"])
        res["spearman_lm_vs_empirical_accuracy"] = (
            float(acc["emp_accuracy"].rank().corr(acc["lm_accuracy"].rank()))
            if len(acc) > 2 else None)
        out["setups"][setup] = res
    out["single_label"] = _lf_single_label(projects, vocab)
    return out


def _lf_single_label(projects: list[dict[str, Any]], vocab: Any) -> dict[str, Any]:
    """The 6-class task of the classification part: every tag's alias function votes the
    top-level class it falls under (if any), plus the keyword functions of those classes;
    majority vote vs the label model (accuracy on rows with at least one vote)."""
    from nblabel.quality.labelmodel import LabelModel, MajorityVote
    from nblabel.quality.lf import apply_lfs, keyword_lf

    rows = []
    for r in projects:
        got = set(vocab.normalize(r.get("tags", ()), on_unknown="ignore")) & set(CLASSES6)
        if len(got) == 1:
            rows.append((_text(r), next(iter(got))))
    df = pd.DataFrame(rows, columns=["text", "truth"])
    aliases: dict[str, list[str]] = {t: [t] for t in vocab.tags}
    for a, t in vocab.aliases().items():
        aliases[t].append(a)
    lfs = []
    for t in vocab.tags:
        under = [c for c in CLASSES6 if c == t or c in vocab.ancestors(t)]
        if len(under) == 1:
            lfs.append(keyword_lf(under[0], aliases[t], text="text", name=f"alias:{t}"))
    for label, words in KEYWORD_LFS.items():
        if label in CLASSES6:
            lfs.append(keyword_lf(label, words, text="text", name=f"keyword:{label}"))
    V = apply_lfs(df, lfs, classes=CLASSES6)
    truth = df["truth"].to_numpy(dtype=object)
    covered = V.fired().any(axis=1)
    out: dict[str, Any] = {"n_items": len(df), "n_lfs": len(lfs),
                           "coverage": float(covered.mean())}
    for name, m in (("majority_vote", MajorityVote()), ("label_model", LabelModel())):
        pred = np.array(m.fit(V).predict(V), dtype=object)
        out[f"{name}_accuracy_covered"] = float((pred[covered] == truth[covered]).mean())
    return out


# ---------------------------------------------------------------------------- classification
def run_classification(data: Path, seeds: Sequence[int], flip: float = 0.05
                       ) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from nblabel.quality.review import Review
    from nblabel.session import ClassSession
    from nblabel.vocab import TagVocabulary

    projects = json.loads((data / "madewithml" / "projects.json").read_text())
    vocab = TagVocabulary.from_json(data / "madewithml" / "tags.json")
    rows = []
    for r in projects:
        got = set(vocab.normalize(r.get("tags", ()), on_unknown="ignore")) & set(CLASSES6)
        if len(got) == 1:
            rows.append((_text(r), next(iter(got))))
    df0 = pd.DataFrame(rows, columns=["text", "truth"])
    try:
        import cleanlab  # noqa: F401 - optional cross-check
        from cleanlab.filter import find_label_issues as cl_find
    except ImportError:
        cl_find = None
    runs = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        df = df0.copy()
        n_flip = round(flip * len(df))
        flipped = rng.choice(len(df), n_flip, replace=False)
        labels = df["truth"].to_numpy(dtype=object).copy()
        for i in flipped:
            labels[i] = rng.choice([c for c in CLASSES6 if c != labels[i]])
        s = ClassSession(df, text="text", classes=CLASSES6, annotator="bench")
        for i, y in enumerate(labels):
            s.set_label(y, i)
        model = make_pipeline(TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)),
                              LogisticRegression(C=10, max_iter=2000))
        t0 = time.perf_counter()
        r = Review(s, where="model", model=model, reviewer="bench", random_state=seed)
        t = r.table
        secs = time.perf_counter() - t0
        truth_set = {str(i) for i in flipped}
        order = list(t["item"])
        run: dict[str, Any] = {"seed": seed, "n_items": len(df), "n_flipped": n_flip,
                               "seconds": round(secs, 2)}
        for mult in (1, 2):
            k = mult * n_flip
            hit = len(set(order[:k]) & truth_set)
            run[f"top{mult}k"] = {"k": k, "precision": hit / k, "recall": hit / n_flip}
        issues = set(t.loc[t["score"] > 1, "item"])
        hit = len(issues & truth_set)
        run["cl_issues"] = {"n": len(issues), "precision": hit / max(len(issues), 1),
                            "recall": hit / n_flip}
        if cl_find is not None:
            from nblabel.quality.confident import out_of_fold_proba

            P, classes = out_of_fold_proba(model, list(df["text"]), list(labels),
                                           random_state=seed)
            y_idx = np.array([classes.index(v) for v in labels])
            ranked = cl_find(y_idx, P, return_indices_ranked_by="self_confidence",
                             filter_by="confident_learning")
            hit = len({str(i) for i in ranked} & truth_set)
            run["cleanlab_issues"] = {"n": len(ranked), "precision": hit / max(len(ranked), 1),
                                      "recall": hit / n_flip}
        runs.append(run)
        s.close()

    def mean(path: tuple[str, str]) -> float:
        return float(np.mean([r[path[0]][path[1]] for r in runs]))

    summary = {f"{a}_{b}": mean((a, b)) for a in ("top1k", "top2k", "cl_issues")
               for b in ("precision", "recall")}
    if runs and "cleanlab_issues" in runs[0]:
        summary.update({f"cleanlab_issues_{b}": mean(("cleanlab_issues", b))
                        for b in ("precision", "recall")})
    return {"classes": CLASSES6, "flip": flip, "model": "TF-IDF (1-2 grams) + logistic "
            "regression, 5-fold out-of-fold", "random_baseline_precision": flip,
            "runs": runs, "mean": summary}


# ---------------------------------------------------------------------------- tags
def run_tags(data: Path, seeds: Sequence[int], flip: float = 0.05, min_count: int = 20
             ) -> dict[str, Any]:
    """Multi-label: all madewithml projects, tags with >= ``min_count`` projects (alias
    mapping, parent closure); in 5% of projects one tag is removed (half) or a wrong one
    added (half); ``Review(where="model")`` with out-of-fold ``TextTagModel``."""
    from collections import Counter

    from nblabel.models.text import TextTagModel
    from nblabel.quality.review import Review
    from nblabel.session import TagSession
    from nblabel.vocab import TagVocabulary

    projects = json.loads((data / "madewithml" / "projects.json").read_text())
    vocab = TagVocabulary.from_json(data / "madewithml" / "tags.json")
    T = [vocab.normalize(r.get("tags", ()), on_unknown="ignore") for r in projects]
    counts = Counter(t for ts in T for t in ts)
    tags = sorted(t for t, c in counts.items() if c >= min_count)
    T = [[t for t in ts if t in tags] for ts in T]
    df0 = pd.DataFrame({"text": [_text(r) for r in projects]})
    runs = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        n = len(df0)
        n_bad = round(flip * n)
        bad = rng.choice(n, n_bad, replace=False)
        labels = [list(t) for t in T]
        for k, i in enumerate(bad):
            if k % 2 == 0 and labels[i]:
                labels[i].remove(rng.choice(labels[i]))
            else:
                labels[i].append(str(rng.choice([t for t in tags if t not in labels[i]])))
        df = df0.copy()
        s = TagSession(df, text="text", tags=tags, annotator="bench")
        for i, ts in enumerate(labels):
            s.set_tags(ts, i)
        t0 = time.perf_counter()
        model = TextTagModel(tags=tags, vocabulary=vocab, char_ngrams=None)
        t = Review(s, where="model", model=model, random_state=seed).table
        run: dict[str, Any] = {"seed": seed, "n_items": n, "n_tags": len(tags),
                               "n_perturbed": n_bad,
                               "seconds": round(time.perf_counter() - t0, 2)}
        truth = {str(i) for i in bad}
        order = list(t["item"])
        for mult in (1, 2):
            k = mult * n_bad
            hit = len(set(order[:k]) & truth)
            run[f"top{mult}k"] = {"k": k, "precision": hit / k, "recall": hit / n_bad}
        issues = set(t.loc[t["score"] > 1, "item"])
        run["cl_issues"] = {"n": len(issues),
                            "precision": len(issues & truth) / max(len(issues), 1),
                            "recall": len(issues & truth) / n_bad}
        runs.append(run)
        s.close()
    summary = {f"{a}_{b}": float(np.mean([r[a][b] for r in runs]))
               for a in ("top1k", "top2k", "cl_issues") for b in ("precision", "recall")}
    return {"flip": flip, "min_count": min_count, "model": "TextTagModel (word n-grams, "
            "alias mentions), 5-fold out-of-fold", "random_baseline_precision": flip,
            "runs": runs, "mean": summary}


# ---------------------------------------------------------------------------- boxes
def _perturb(b: Any, rng: np.random.Generator, W: int, H: int, kind: str,
             classes: list[str]) -> Any:
    from nblabel.shapes import Box

    if kind == "class":
        return b.replace(label=str(rng.choice([c for c in classes if c != b.label])))
    for _ in range(50):
        if rng.random() < 0.5:  # move by 0.5-0.9 of the box size
            dx = rng.uniform(0.5, 0.9) * b.width * rng.choice([-1, 1])
            dy = rng.uniform(0.5, 0.9) * b.height * rng.choice([-1, 1])
            c = (b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy)
        else:  # resize around the centre by 0.4-0.6 or 1.7-2.5
            f = rng.uniform(0.4, 0.6) if rng.random() < 0.5 else rng.uniform(1.7, 2.5)
            cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
            c = (cx - f * b.width / 2, cy - f * b.height / 2,
                 cx + f * b.width / 2, cy + f * b.height / 2)
        x0, y0 = max(0.0, c[0]), max(0.0, c[1])
        x1, y1 = min(float(W), c[2]), min(float(H), c[3])
        if x1 - x0 > 2 and y1 - y0 > 2:
            nb = Box(b.label, x0, y0, x1, y1)
            if nb.iou(b) < 0.5:
                return nb
    return b.replace(label=str(rng.choice([c for c in classes if c != b.label])))


def run_boxes(data: Path, seeds: Sequence[int], n_images: int, share: float = 0.05
              ) -> dict[str, Any]:
    from nblabel.io.voc import read_voc
    from nblabel.quality.review import Review
    from nblabel.session import BoxSession

    root = data / "ecustfd"
    xmls = sorted((root / "Annotations").glob("*.xml"))
    runs = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        pick = sorted(rng.choice(len(xmls), min(n_images, len(xmls)), replace=False))
        anns = [read_voc(xmls[i]) for i in pick]
        paths, groups = [], []
        for a, i in zip(anns, pick):
            stem = xmls[i].stem
            p = root / "JPEGImages" / a.filename
            if not p.exists():
                p = root / "JPEGImages" / f"{stem}.JPG"
            paths.append(str(p))
            groups.append(re.sub(r"\(\d+\)$", "", stem))
        df = pd.DataFrame({"path": paths, "group": groups})
        classes = sorted({b.label for a in anns for b in a.boxes})
        all_boxes = [(i, j) for i, a in enumerate(anns) for j in range(len(a.boxes))]
        n_bad = round(share * len(all_boxes))
        bad = rng.choice(len(all_boxes), n_bad, replace=False)
        kinds = {all_boxes[b]: ("class" if k % 2 == 0 else "geometry")
                 for k, b in enumerate(bad)}
        s = BoxSession(df, image="path", classes=classes, group="group", annotator="bench")
        for i, a in enumerate(anns):
            boxes = [
                _perturb(b, rng, a.width, a.height, kinds[(i, j)], classes)
                if (i, j) in kinds else b
                for j, b in enumerate(a.boxes)
            ]
            s.set_boxes(boxes, i)
        t0 = time.perf_counter()
        from nblabel.quality.boxcheck import box_outlier_scores

        scores = box_outlier_scores(s, random_state=seed)
        secs = time.perf_counter() - t0
        scores = scores.sort_values("score", ascending=False, kind="stable")
        truth = {(str(i), j): k for (i, j), k in kinds.items()}
        ranked = list(zip(scores["item"], scores["box"]))
        run: dict[str, Any] = {"seed": seed, "n_images": len(anns), "n_boxes": len(ranked),
                               "n_perturbed": n_bad, "seconds": round(secs, 2),
                               "classes": len(classes)}
        for mult in (1, 2):
            k = mult * n_bad
            top = set(ranked[:k])
            hit = [truth[b] for b in top if b in truth]
            run[f"top{mult}k"] = {
                "k": k, "precision": len(hit) / k, "recall": len(hit) / n_bad,
                "recall_class": hit.count("class") / max(
                    sum(v == "class" for v in truth.values()), 1),
                "recall_geometry": hit.count("geometry") / max(
                    sum(v == "geometry" for v in truth.values()), 1),
            }
        # the item-level queue a reviewer walks
        r = Review(s, where="consistency", random_state=seed)
        bad_items = {i for i, _ in truth}
        k = len(bad_items)
        run["items_topk"] = {"k": k, "precision": len(set(r.items[:k]) & bad_items) / k}
        runs.append(run)
        s.close()
    summary = {f"{a}_{b}": float(np.mean([r[a][b] for r in runs]))
               for a in ("top1k", "top2k")
               for b in ("precision", "recall", "recall_class", "recall_geometry")}
    summary["items_topk_precision"] = float(np.mean([r["items_topk"]["precision"]
                                                     for r in runs]))
    return {"share": share, "random_baseline_precision": share, "runs": runs,
            "mean": summary}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="nblabel bench quality", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--out-dir", default="benchmarks/results")
    ap.add_argument("--part", choices=["lf", "classification", "tags", "boxes", "all"],
                    default="all")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--box-images", type=int, default=600)
    args = ap.parse_args(list(argv) if argv is not None else None)
    data, out = Path(args.data), Path(args.out_dir)
    seeds = list(range(args.seeds))
    parts = ["lf", "classification", "tags", "boxes"] if args.part == "all" else [args.part]
    for part in parts:
        t0 = time.perf_counter()
        if part == "lf":
            res = run_lf(data)
        elif part == "classification":
            res = run_classification(data, seeds)
        elif part == "tags":
            res = run_tags(data, seeds)
        else:
            res = run_boxes(data, seeds, args.box_images)
        res["wall_seconds"] = round(time.perf_counter() - t0, 1)
        path = write_json(out / f"quality-{part}.json", {"benchmark": f"quality-{part}", **res})
        print(f"wrote {path} ({res['wall_seconds']} s)")
    (out / "quality.md").write_text(_markdown(out))
    print((out / "quality.md").read_text())
    return 0
