"""Offline: after the crop pass, is edge snapping best applied whole, half-way, or only
where it moves a box a little?

Same set-up as ``crop_scales_study.py`` (a ``BoxModel(max_steps=1000)`` trained on 60
ECUSTFD groups, tested on 60 groups of five held-out food types; tracker boxes carried from
each test group's first photo), with the default two-look crop pass. Variants of the snap
(``nblabel.suggest.snap.snap_box``, band 0.1 of the box, as the assistant applies it):

- none; full (today's default);
- half: the mean of the box before and after snapping, edge by edge;
- small moves only: the snapped box where it keeps IoU >= 0.85 with the box before, else
  the box before;
- band 0.05.

Usage: .venv/bin/python benchmarks/analysis/snap_blend_study.py SEED  (repository root)
"""
import sys

import numpy as np
from ecustfd_split import split, tracked, trained_model

from nblabel.suggest.snap import pulled, snap_box


def variants(im, box):
    s = snap_box(im, box, band=0.1)
    return {"none": box, "full snap (default)": s, "half snap": pulled(box, s, 0.5),
            "snap if it moves little (IoU >= 0.85)": s if s.iou(box) >= 0.85 else box,
            "snap, band 0.05": snap_box(im, box, band=0.05)}


def report(name, ims, preds, truth):
    rows = {}
    for im, p, t in zip(ims, preds, truth):
        for v, b in (variants(im, p[0]) if p else {}).items():
            rows.setdefault(v, []).append(b.iou(t))
        if not p:
            for v in rows:
                rows[v].append(0.0)
    for v, ious in rows.items():
        ious = np.array(ious)
        print(f"{name}, {v:38s} n {ious.size}  mean {ious.mean():.4f}  >=0.7 "
              f"{np.mean(ious >= 0.7):.3f}  >=0.5 {np.mean(ious >= 0.5):.3f}  "
              f">=0.9 {np.mean(ious >= 0.9):.3f}", flush=True)


seed = int(sys.argv[1])
train, test, test_g = split("types", seed)
m = trained_model(train, f"types {seed} ({len(test)} test photos)")
ims, truth = [im.pixels for _, im, _ in test], [b[0] for _, _, b in test]
report("model", ims, m.predict(ims, max_boxes=1), truth)
t_ims, t_truth, t_box = tracked(test, test_g)
report("tracker", t_ims, m.refine_boxes(t_ims, t_box), t_truth)
