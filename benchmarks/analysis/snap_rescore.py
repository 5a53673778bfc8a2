"""Offline: the shown suggestions of a bench store re-scored after edge snapping
(nblabel.suggest.snap.snap_box, all four edges) -- accepts gained and lost at an accept-IoU.

Usage: .venv/bin/python benchmarks/analysis/snap_rescore.py STORE.sqlite THR BAND MAX_SIDE
"""
import json, sqlite3, sys, re
from pathlib import Path
import numpy as np

from nblabel.io.voc import read_voc
from nblabel.shapes import Box
from nblabel.data.images import load_image
from nblabel.suggest.snap import snap_box
store, thr, band, side = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
ann = Path("../shared/data/ecustfd/Annotations"); imgs = Path("../shared/data/ecustfd/JPEGImages")
c = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
rows = c.execute("select item, action, payload, source from nblabel_events order by id").fetchall()
last, seen, order = {}, set(), []
for item, action, payload, source in rows:
    if action == "suggest": last[item] = (source, [Box.from_dict(d) for d in json.loads(payload)["value"]])
    elif action in ("label", "reject") and item not in seen:
        seen.add(item); order.append((item, last.get(item)))
def truth(item):
    a = read_voc(ann / f"{item}.xml"); cls = re.match(r"^(.*?)\d{3}", item).group(1)
    t = [b for b in a.boxes if b.label == cls] or [b for b in a.boxes if b.label != "coin"]
    return max(t, key=lambda b: b.area)
st = {"shown": 0, "before": 0, "after": 0, "gained": 0, "lost": 0, "iou_before": [], "iou_after": []}
n = int(sys.argv[5]) if len(sys.argv) > 5 else 10**9
for item, sug in order[:n]:
    if sug is None: continue
    b = max(sug[1], key=lambda x: x.area); t = truth(item)
    im = load_image(next(imgs.glob(item + ".*")), max_side=side); s = im.scale
    w = b.replace(x0=b.x0*s, y0=b.y0*s, x1=b.x1*s, y1=b.y1*s)
    g = snap_box(im.pixels, w, band=band)
    b2 = b.replace(x0=g.x0/s, y0=g.y0/s, x1=g.x1/s, y1=g.y1/s)
    i0, i1 = b.iou(t), b2.iou(t)
    st["shown"] += 1; st["before"] += i0 >= thr; st["after"] += i1 >= thr
    st["gained"] += i1 >= thr > i0; st["lost"] += i0 >= thr > i1
    st["iou_before"].append(i0); st["iou_after"].append(i1)
print({k: (round(float(np.mean(v)), 4) if isinstance(v, list) else int(v)) for k, v in st.items()})
