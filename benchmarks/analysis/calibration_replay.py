"""Offline: replay the decisions of a bench store through AcceptanceCalibrator variants
(all history vs recent windows) and report the ECE of the scores they would have shown.

Usage: .venv/bin/python benchmarks/analysis/calibration_replay.py STORE.sqlite
"""
import json, sqlite3, sys
import numpy as np

from nblabel.suggest.calibration import AcceptanceCalibrator
from nblabel.bench.boxes import _ece
from nblabel.shapes import Box
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = c.execute("select item, action, payload, source, status from nblabel_events order by id").fetchall()
last, seen, seq = {}, set(), []
for item, action, payload, source, status in rows:
    if action == "suggest":
        p = json.loads(payload); bs = [Box.from_dict(d) for d in p["value"]]
        last[item] = (source, min(b.score for b in bs), p["score"])
    elif action in ("label", "reject") and item not in seen:
        seen.add(item)
        if item in last: seq.append((item, last[item], action == "label"))
print(len(seq), "shown; ECE of what was shown:", _ece([(s[0], s[2], a) for _, s, a in seq]))
for window, refit in ((None, 1.2), (1000, 25), (500, 25), (300, 20), (200, 20)):
    cal = AcceptanceCalibrator(); out = []
    cal.window, cal.refit_every = window, (20 if window is None else refit)
    for item, (src, raw, shown), acc in seq:
        v = cal.calibrated(src, raw)
        out.append((src, raw if v is None else v, acc))
        cal.record(src, raw, acc)
    print(window, "ece", _ece(out), "second half", _ece(out[len(out)//2:]))
