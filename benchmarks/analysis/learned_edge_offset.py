"""Offline: would a per-edge offset learned online from the annotator's corrections (median
relative offset of each edge, corrections of IoU 0.3-thr only) turn corrections into accepts?
Replays the shown suggestions of a bench store in decision order.

Usage (from the repository root): .venv/bin/python benchmarks/analysis/learned_edge_offset.py
STORE.sqlite 0.7   (STORE from `nblabel bench boxes ... --keep-stores DIR`)
"""
import json, sqlite3, sys, re
from pathlib import Path
import numpy as np

from nblabel.io.voc import read_voc
from nblabel.shapes import Box

store, thr = sys.argv[1], float(sys.argv[2])
ann = Path("../shared/data/ecustfd/Annotations")
c = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
rows = c.execute("select id, item, action, status, source, payload from nblabel_events order by id").fetchall()
last_sugg, seen, order = {}, set(), []
for id_, item, action, status, source, payload in rows:
    if action == "suggest":
        p = json.loads(payload)
        last_sugg[item] = (source, [Box.from_dict(d) for d in p["value"]], p.get("score"))
    elif action in ("label", "reject") and item not in seen:
        seen.add(item)
        order.append((item, last_sugg.get(item)))
def truth(item):
    a = read_voc(ann / f"{item}.xml")
    cls = re.match(r"^(.*?)\d{3}", item).group(1)
    t = [b for b in a.boxes if b.label == cls] or [b for b in a.boxes if b.label != "coin"]
    return max(t, key=lambda b: b.area)
def rel(s, t):
    w, h = s.width, s.height
    return np.array([(t.x0 - s.x0) / w, (t.y0 - s.y0) / h, (t.x1 - s.x1) / w, (t.y1 - s.y1) / h])
def apply(s, o):
    w, h = s.width, s.height
    return Box(s.label, s.x0 + o[0] * w, s.y0 + o[1] * h, s.x1 + o[2] * w, s.y1 + o[3] * h)
fits = {}
stats = {"shown": 0, "acc_before": 0, "acc_after": 0, "gained": 0, "lost": 0}
for window in (50, 200, 10**9):
    corr = {"tracker": [], "model": []}
    st = dict.fromkeys(stats, 0)
    for item, sug in order:
        if sug is None: continue
        src, boxes, _ = sug
        b = max(boxes, key=lambda x: x.area); t = truth(item)
        iou0 = b.iou(t)
        mine = corr.get(src, [])
        b2 = b
        if len(mine) >= 10:
            o = np.median(np.array(mine[-window:]), axis=0)
            b2 = apply(b, o)
        iou1 = b2.iou(t)
        st["shown"] += 1; st["acc_before"] += iou0 >= thr; st["acc_after"] += iou1 >= thr
        st["gained"] += (iou1 >= thr) and not (iou0 >= thr); st["lost"] += (iou0 >= thr) and not (iou1 >= thr)
        if iou0 < thr and iou0 >= 0.3:  # a correction of a roughly right box: what the person did
            corr.setdefault(src, []).append(rel(b, t))
    print("window", window, st)
