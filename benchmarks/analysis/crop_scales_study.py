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
"""
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

from nblabel.data.images import load_image
from nblabel.io.voc import read_voc
from nblabel.models.box_data import scaled
from nblabel.models.boxes import BoxModel
from nblabel.suggest.snap import snap_box
from nblabel.suggest.tracker import propagate

HELD = {0: ("bun", "egg", "grape", "qiwi", "peach"),
        1: ("apple", "bread", "lemon", "mooncake", "tomato")}
VARIANTS = {"one look, 1.6x": (1.0,), "1.6x + 2.0x (default)": (1.0, 1.25),
            "1.3x + 1.6x + 2.0x": (0.8125, 1.0, 1.25)}
root = Path("../shared/data/ecustfd")
seed = int(sys.argv[1])
groups: dict[str, list[Path]] = {}
for f in sorted((root / "JPEGImages").iterdir()):
    groups.setdefault(re.sub(r"\(\d+\)$", "", f.stem), []).append(f)
names = sorted(groups)
random.Random(seed).shuffle(names)
kind = lambda g: re.match(r"[a-z_]+", g).group(0)  # noqa: E731
train_g = [g for g in names if kind(g) not in HELD[seed]][:60]
test_g = [g for g in names if kind(g) in HELD[seed]][:60]


def load(gs):
    out = []
    for g in gs:
        for f in sorted(groups[g], key=lambda p: int(re.search(r"\((\d+)\)$", p.stem)[1])):
            ann = read_voc(root / "Annotations" / (f.stem + ".xml"))
            im = load_image(f, max_side=320)
            bs = [b.replace(label=kind(g)) for b in ann.boxes if b.label != "coin"]
            out.append((g, im, tuple(scaled(bs, im.scale))))
    return out


train, test = load(train_g), load(test_g)
t0 = time.time()
m = BoxModel(max_steps=1000, random_state=0)
m.fit([im.pixels for _, im, _ in train], [list(b) for _, _, b in train])
print(f"types {seed}: {len(train)} training photos, {len(test)} test photos, "
      f"fit {time.time() - t0:.0f} s")


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
for name, scales in VARIANTS.items():
    m.refine_scales = scales
    report(f"model, {name}", ims, m._refine(ims, first), truth)

t_ims, t_truth, t_box = [], [], []
for g in test_g:
    rows = [r for r in test if r[0] == g]
    out = propagate([r[1].pixels for r in rows], {0: rows[0][2][0]})
    for r, bs in list(zip(rows, out))[1:]:
        if bs:
            t_ims.append(r[1].pixels), t_truth.append(r[2][0]), t_box.append((bs[0],))
print(f"tracker: {len(t_box)} tracked photos")
report("tracker", t_ims, t_box, t_truth)
for name, scales in VARIANTS.items():
    m.refine_scales = scales
    report(f"tracker, {name}", t_ims, m.refine_boxes(t_ims, t_box), t_truth)
