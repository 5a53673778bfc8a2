"""The report of the label quality benchmark (:mod:`nblabel.bench.quality`): its JSON
results as ``quality.md``."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["N_LABELED", "markdown"]

#: how many human labels the classification and tag runs start from
N_LABELED = (100, 300)


def markdown(out_dir: Path) -> str:
    lines = ["# Label quality benchmarks (`nblabel bench quality`)", ""]
    p = out_dir / "quality-lf.json"
    if p.exists():
        d = json.loads(p.read_text())
        lines += [
            f"## Labeling functions on madewithml ({d['date']}, commit "
            f"{(d['git_commit'] or '')[:8]})", "",
            f"Time split: {d['n_pool']} pool / {d['n_test']} test projects; truth = authors' "
            "tags after alias mapping and parent closure over all "
            f"{d['n_tags']} vocabulary tags (micro-averaged). The label model is fitted on "
            "the pool's votes without labels.", "",
            "| set-up | LFs | coverage pool/test | MV P/R/F1 (test) | LM P/R/F1 (test) | "
            "MV F1 (pool) | LM F1 (pool) | tags fitted by LM |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, r in d["setups"].items():
            mv, lm = r["majority_vote_test"], r["label_model_test"]
            lines.append(
                f"| {name} | {r['n_lfs']} | {r['coverage_pool']:.3f} / "
                f"{r['coverage_test']:.3f} | {mv['precision']:.3f} / {mv['recall']:.3f} / "
                f"{mv['f1']:.3f} | {lm['precision']:.3f} / {lm['recall']:.3f} / "
                f"{lm['f1']:.3f} | {r['majority_vote_pool']['f1']:.3f} | "
                f"{r['label_model_pool']['f1']:.3f} | {r['tags_fitted_by_label_model']} |")
        lines += ["", "With human labels of a seeded sample of pool projects (test set, "
                  "micro P/R/F1): the label model fitted semi-supervised (labels clamp the "
                  "EM posteriors), and majority vote of only the functions whose empirical "
                  "accuracy on those labels (`lf_summary`) is at least 0.5:", "",
                  "| set-up | labels | LM semi-supervised | MV of accurate LFs (kept) |",
                  "|---|---|---|---|"]
        for name, r in d["setups"].items():
            for n_lab in N_LABELED:
                a = r.get(f"label_model_{n_lab}_labels_test")
                b = r.get(f"majority_vote_accurate_lfs_{n_lab}_labels_test")
                if a and b:
                    lines.append(
                        f"| {name} | {n_lab} | {a['precision']:.3f} / {a['recall']:.3f} / "
                        f"{a['f1']:.3f} | {b['precision']:.3f} / {b['recall']:.3f} / "
                        f"{b['f1']:.3f} ({b['n_lfs_kept']}) |")
        sl = d.get("single_label")
        if sl:
            lines += ["", f"Single-label variant (the 6-class task below, {sl['n_items']} "
                      f"projects, {sl['n_lfs']} functions voting a class, coverage "
                      f"{sl['coverage']:.3f}): accuracy on covered rows, majority vote "
                      f"{sl['majority_vote_accuracy_covered']:.3f}, label model "
                      f"{sl['label_model_accuracy_covered']:.3f}."]
        lines.append("")
    p = out_dir / "quality-classification.json"
    if p.exists():
        d = json.loads(p.read_text())
        m = d["mean"]
        n = d["runs"][0]
        lines += [
            f"## Planted label errors, classification ({d['date']})", "",
            f"{n['n_items']} madewithml projects, 6 classes, {n['n_flipped']} labels "
            f"({d['flip']:.0%}) flipped; {d['model']}; mean of {len(d['runs'])} seeds. "
            f"Random order would give precision {d['random_baseline_precision']:.2f}.", "",
            "| queue | precision | recall |", "|---|---|---|",
            f"| top-k (k = flips) | {m['top1k_precision']:.3f} | {m['top1k_recall']:.3f} |",
            f"| top-2k | {m['top2k_precision']:.3f} | {m['top2k_recall']:.3f} |",
            f"| confident-learning issues | {m['cl_issues_precision']:.3f} | "
            f"{m['cl_issues_recall']:.3f} |",
        ]
        if "cleanlab_issues_precision" in m:
            lines.append(f"| cleanlab find_label_issues (same probabilities) | "
                         f"{m['cleanlab_issues_precision']:.3f} | "
                         f"{m['cleanlab_issues_recall']:.3f} |")
        lines.append("")
    p = out_dir / "quality-tags.json"
    if p.exists():
        d = json.loads(p.read_text())
        m = d["mean"]
        n = d["runs"][0]
        lines += [
            f"## Planted label errors, multi-label tags ({d['date']})", "",
            f"{n['n_items']} madewithml projects, {n['n_tags']} tags (>= {d['min_count']} "
            f"projects), {n['n_perturbed']} projects ({d['flip']:.0%}) with one tag removed "
            f"or one wrong tag added; {d['model']}; mean of {len(d['runs'])} seeds. Random "
            f"order: precision {d['random_baseline_precision']:.2f}. The authors' own tags "
            "are noisy (many true tags missing), so the queue also flags unplanted items; "
            "precision against the planted errors alone is a lower bound.", "",
            "| queue | precision | recall |", "|---|---|---|",
            f"| top-k | {m['top1k_precision']:.3f} | {m['top1k_recall']:.3f} |",
            f"| top-2k | {m['top2k_precision']:.3f} | {m['top2k_recall']:.3f} |",
            f"| confident-learning issues | {m['cl_issues_precision']:.3f} | "
            f"{m['cl_issues_recall']:.3f} |", "",
        ]
    p = out_dir / "quality-boxes.json"
    if p.exists():
        d = json.loads(p.read_text())
        m = d["mean"]
        n = d["runs"][0]
        lines += [
            f"## Planted box errors, ECUSTFD ({d['date']})", "",
            f"{n['n_images']} images, {n['n_boxes']} boxes, {n['n_perturbed']} "
            f"({d['share']:.0%}) perturbed: half relabeled to another class, half moved or "
            "resized to IoU < 0.5; ranked by `nblabel.quality.boxcheck` (out-of-fold class model "
            "with confident learning, and a placement model trained on randomly displaced copies "
            f"of the labeled boxes); mean of {len(d['runs'])} seeds. Random order: precision "
            f"{d['random_baseline_precision']:.2f}.", "",
            "| queue | precision | recall | recall (class errors) | recall (geometry) |",
            "|---|---|---|---|---|",
        ]
        for a, name in (("top1k", "top-k boxes"), ("top2k", "top-2k boxes")):
            lines.append(f"| {name} | {m[a + '_precision']:.3f} | {m[a + '_recall']:.3f} | "
                         f"{m[a + '_recall_class']:.3f} | {m[a + '_recall_geometry']:.3f} |")
        lines += ["", f"Item-level review queue: precision of its top-k items "
                      f"{m['items_topk_precision']:.3f}.", ""]
    lines += [
        "## Reading", "",
        "- The label model (Dawid-Skene EM, `nblabel.quality.labelmodel`) does not beat majority "
        "vote here. `leaf`: every tag voted in the pool is voted by one or two functions, "
        "where the model is not identifiable and keeps majority vote (identical numbers). "
        "`closure`: the 13 parent tags that collect three or more functions are fitted, but "
        "their child functions are not conditionally independent (children are "
        "topic-exclusive) and F1 drops by about 1 point. On synthetic votes with unequal "
        "accuracies it beats majority vote (tests/quality/test_labelmodel.py).",
        "- The authors' tags miss many true tags, so precision against them is a lower "
        "bound; the alias functions' empirical accuracy ranges from 0.10 (`alias:inference`) "
        "to 0.97 (`alias:tensorflow`), which `lf_summary` shows after a few labels.",
        "- Single-label planted errors are found well (top-k precision ~0.76; the "
        "confident-learning issue set is close to cleanlab's `find_label_issues` on the "
        "same out-of-fold probabilities); multi-label ones much less (~0.19): removing "
        "or adding one tag among noisy author tags is a small signal, and confident "
        "learning per tag flags about half of all projects as issues.",
        "- Box errors: the placement model is trained on nblabel's own random displacements "
        "of the labeled boxes, the same kind of error as the planted geometric ones (a "
        "wider range); real annotator errors may be subtler.",
        "",
        "Reproduce: `nblabel bench quality --part all --seeds 3` (about 20 min on 2 busy "
        "cores; the cleanlab row appears when cleanlab is importable).", "",
    ]
    return "\n".join(lines)
