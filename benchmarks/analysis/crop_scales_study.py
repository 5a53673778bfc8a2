"""Offline: does the crop pass place edges better when it looks at each box through more
than one crop (``BoxModel.refine_scales``)?

Same set-up as ``model_edge_study.py``: one ``BoxModel(max_steps=1000)`` trained on the
photos of 60 ECUSTFD groups (working size 320) predicts the best box of each photo of 60
groups of five food types it never saw (seed 0: bun, egg, grape, qiwi, peach; seed 1:
apple, bread, lemon, mooncake, tomato). Each variant of ``refine_scales`` re-runs the crop
pass on the same first-pass boxes; then each test group is tracked from its first photo's
true box and the tracker's boxes go through the same crop passes. Prints the mean IoU with
the truth and the shares >= 0.7 / >= 0.5 / >= 0.9, as the pass leaves them and after edge
snapping (which the assistant applies next).

Usage: .venv/bin/python benchmarks/analysis/crop_scales_study.py SEED
(from the repository root, with ../shared/data/ecustfd beside it; ~6 min on 2 cores).
Also prints each variant's crop-pass time per box, measured one after the other in
the same run, as a ratio to one look.
"""
import sys
import time

import numpy as np
from ecustfd_split import split, tracked, trained_model

from nblabel.suggest.snap import snap_box

VARIANTS = {"one look, 1.6x": (1.0,), "1.6x + 2.0x (default)": (1.0, 1.25),
            "1.3x + 1.6x + 2.0x": (0.8125, 1.0, 1.25)}
seed = int(sys.argv[1])
train, test, test_g = split("types", seed)
m = trained_model(train, f"types {seed} ({len(test)} test photos)")


def report(name, ims, preds, truth):
    for tag, ps in (("", preds),
                    ("  + snapping", [tuple(snap_box(im, b, band=0.1) for b in p[:1])
                                      for im, p in zip(ims, preds)])):
        ious = np.array([p[0].iou(t) if p else 0.0 for p, t in zip(ps, truth)])
        print(f"{name + tag:44s} mean {ious.mean():.4f}  >=0.7 {np.mean(ious >= 0.7):.3f}  "
              f">=0.5 {np.mean(ious >= 0.5):.3f}  >=0.9 {np.mean(ious >= 0.9):.3f}")


ims, truth = [im.pixels for _, im, _ in test], [b[0] for _, _, b in test]
m.refine = False
first = m.predict(ims, max_boxes=1)
report("model, first pass only", ims, first, truth)
cost = {}
for name, scales in VARIANTS.items():
    m.refine_scales = scales
    t = time.perf_counter()
    refined = m._refine(ims, first)
    cost[name] = (time.perf_counter() - t) * 1000 / len(ims)
    report(f"model, {name}", ims, refined, truth)
one = next(iter(cost.values()))
print("crop pass cost per box, this run: " + "; ".join(
    f"{name} {ms:.1f} ms ({ms / one:.2f}x)" for name, ms in cost.items()))

t_ims, t_truth, t_box = tracked(test, test_g)
print(f"tracker: {len(t_box)} tracked photos")
report("tracker", t_ims, t_box, t_truth)
for name, scales in VARIANTS.items():
    m.refine_scales = scales
    report(f"tracker, {name}", t_ims, m.refine_boxes(t_ims, t_box), t_truth)
