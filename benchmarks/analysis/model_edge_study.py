"""Offline: where the default box model's edges land, and what the crop pass, its threshold
(``BoxModel.edge_threshold``), its context and edge snapping do to them.

Trains one ``BoxModel(max_steps=1000)`` on the photos of 60 ECUSTFD groups (working size
320, as the assistant) and predicts the best box of each photo of 60 other groups:

- ``groups SEED``: the groups drawn at random (the test groups' food types were seen);
- ``types SEED``: the test groups of five food types the model never saw
  (seed 0: bun, egg, grape, qiwi, peach; seed 1: apple, bread, lemon, mooncake, tomato).

Prints, per variant, the mean IoU with the truth, the share >= 0.7 and >= 0.5, and the
median width ratio (predicted / true). The tracker section tracks each test group from its
first photo's true box and compares the tracker's boxes as they are, snapped, and passed
through the model's crop pass. The figures in ``boxes.md`` were made when the crop pass
looked once (``BoxModel(refine_scales=(1.0,))``); today's default looks twice
(``crop_scales_study.py``).

Usage: .venv/bin/python benchmarks/analysis/model_edge_study.py groups|types SEED
(from the repository root, with ../shared/data/ecustfd beside it; 2-5 min on 2 cores).
"""
import sys

import numpy as np
from ecustfd_split import split, tracked, trained_model

from nblabel.suggest.snap import snap_box

mode, seed = sys.argv[1], int(sys.argv[2])
train, test, test_g = split(mode, seed)
m = trained_model(train, f"{mode} {seed} ({len(test)} test photos)")


def report(name, preds, truth):
    ious = np.array([ps[0].iou(t) if ps else 0.0 for ps, t in zip(preds, truth)])
    w = np.median([(ps[0].x1 - ps[0].x0) / (t.x1 - t.x0) for ps, t in zip(preds, truth) if ps])
    print(f"{name:34s} mean {ious.mean():.4f}  >=0.7 {np.mean(ious >= 0.7):.3f}  "
          f">=0.5 {np.mean(ious >= 0.5):.3f}  width ratio {w:.3f}")


def snapped(ims, preds):
    return [tuple(snap_box(im, b, band=0.1) for b in ps[:1]) for im, ps in zip(ims, preds)]


ims, truth = [im.pixels for _, im, _ in test], [b[0] for _, _, b in test]
for edge in (None, 0.6, 0.65, 0.7):
    m.edge_threshold = edge
    p = m.predict(ims, max_boxes=1)
    report(f"crop pass, edge threshold {edge or 0.5}", p, truth)
    if edge in (None, 0.65):
        report("  + snapping (band 0.1)", snapped(ims, p), truth)
m.refine = False
report("no crop pass", m.predict(ims, max_boxes=1), truth)
m.refine, m.edge_threshold = True, 0.65

# the tracker: each test group tracked from its first photo's true box
t_ims, t_truth, t_box = tracked(test, test_g)
print(f"tracker: {len(t_box)} tracked photos")
report("tracker", t_box, t_truth)
report("tracker + snapping", snapped(t_ims, t_box), t_truth)
report("tracker + model crop pass", m._refine(t_ims, t_box), t_truth)
report("model on the same photos", m.predict(t_ims, max_boxes=1), t_truth)
