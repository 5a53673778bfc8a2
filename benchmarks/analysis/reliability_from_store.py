"""The reliability table (nblabel.bench.boxes.reliability) of the scores the annotator saw,
from a bench store: the score of the last suggestion before each item's first decision.

Usage: .venv/bin/python benchmarks/analysis/reliability_from_store.py STORE.sqlite
"""
import json, sqlite3, sys

from nblabel.bench.boxes import reliability
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = c.execute("select item, action, payload, source from nblabel_events order by id").fetchall()
last, seen, out = {}, set(), []
for item, action, payload, source in rows:
    if action == "suggest":
        last[item] = (source, json.loads(payload)["score"])
    elif action in ("label", "reject") and item not in seen:
        seen.add(item)
        if item in last and last[item][1] is not None:
            out.append((last[item][0], float(last[item][1]), action == "label"))
print(json.dumps(reliability(out)))
