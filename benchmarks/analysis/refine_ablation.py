"""Offline ablation of box refinement on the suggestions a bench run showed.

For every suggestion shown in a ``nblabel bench boxes --keep-stores`` store (its last
``suggest`` event before the item was decided), the IoU with the VOC truth of: the box as
shown, edge-snapped (nblabel.suggest.snap.snap_box), GrabCut-refined
(grabcut_refine.py, this folder) and GrabCut then snapped; accepts at THR for each,
the IoU histogram, and the milliseconds per box. The store must come from a run with
refinement off (--no-refine), or from before refinement existed.

Usage: .venv/bin/python benchmarks/analysis/refine_ablation.py STORE.sqlite THR [N] [OUT.json]
"""
import json
import re
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

from nblabel.data.images import load_image
from nblabel.io.voc import read_voc
from nblabel.shapes import Box
from grabcut_refine import grabcut_box  # this folder
from nblabel.suggest.snap import snap_box

store, thr = sys.argv[1], float(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 10**9
out = sys.argv[4] if len(sys.argv) > 4 else None
side = 320
root = Path("../shared/data/ecustfd")
c = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
rows = c.execute("select item, action, payload from nblabel_events order by id").fetchall()
last, seen, order = {}, set(), []
for item, action, payload in rows:
    if action == "suggest":
        last[item] = [Box.from_dict(d) for d in json.loads(payload)["value"]]
    elif action in ("label", "reject") and item not in seen:
        seen.add(item)
        if item in last:
            order.append((item, last[item]))


def truth(item: str) -> Box:
    a = read_voc(root / "Annotations" / f"{item}.xml")
    cls = re.match(r"^(.*?)\d{3}", item).group(1)
    t = [b for b in a.boxes if b.label == cls] or [b for b in a.boxes if b.label != "coin"]
    return max(t, key=lambda b: b.area)


def scaled(b: Box, s: float) -> Box:
    return b.replace(x0=b.x0 * s, y0=b.y0 * s, x1=b.x1 * s, y1=b.y1 * s)


ways = {
    "shown": lambda px, b: b,
    "snap": lambda px, b: snap_box(px, b, band=0.1),
    "grabcut": lambda px, b: grabcut_box(px, b),
    "grabcut+snap": lambda px, b: snap_box(px, grabcut_box(px, b), band=0.1),
}
iou = {k: [] for k in ways}
ms = {k: [] for k in ways}
step = max(1, len(order) // n)
for item, sug in order[::step][:n]:
    b, t = max(sug, key=lambda x: x.score or 0.0), truth(item)
    im = load_image(next((root / "JPEGImages").glob(item + ".*")), max_side=side)
    w = scaled(b, im.scale)
    for k, f in ways.items():
        t0 = time.perf_counter()
        r = f(im.pixels, w)
        ms[k].append((time.perf_counter() - t0) * 1000)
        iou[k].append(scaled(r, 1 / im.scale).iou(t))
bins = (0, .1, .3, .5, .7, .9, 1.0001)
names = ("0-0.1", "0.1-0.3", "0.3-0.5", "0.5-0.7", "0.7-0.9", "0.9-1")
res = {"store": store, "thr": thr, "n": len(iou["shown"]), "ways": {}}
base = np.array(iou["shown"]) >= thr
for k in ways:
    v = np.array(iou[k])
    res["ways"][k] = {
        "accepted": int((v >= thr).sum()), "gained": int(((v >= thr) & ~base).sum()),
        "lost": int(((v < thr) & base).sum()), "mean_iou": round(float(v.mean()), 4),
        "histogram": dict(zip(names, np.histogram(v, bins=bins)[0].tolist())),
        "ms_median": round(float(np.median(ms[k])), 2)}
print(json.dumps(res, indent=1))
if out:
    Path(out).write_text(json.dumps(res, indent=1))
