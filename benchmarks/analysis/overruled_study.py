"""Which labels of a kept ``nblabel bench boxes`` run overrule a confident suggestion?

Opens the run's store (``--keep-stores DIR`` keeps ``DIR/full.sqlite``) in a BoxSession over
the same ECUSTFD rows and prints :func:`nblabel.quality.overruled.overruled`'s top rows and
the labels that departed completely (IoU < 0.1) from a suggestion scored >= 0.9 / 0.95.

Usage: .venv/bin/python benchmarks/analysis/overruled_study.py COPY_OF_THE_STORE.sqlite
(from the repository root, with ../shared/data/ecustfd beside it; open a copy: the session
writes to its store).
"""
import re, sys
from pathlib import Path
import pandas as pd
from nblabel.session import BoxSession
from nblabel.quality.overruled import overruled

root = Path("../shared/data/ecustfd")
files = sorted(p for p in (root / "JPEGImages").iterdir() if (root / "Annotations" / (p.stem + ".xml")).exists())
df = pd.DataFrame({"path": [str(p) for p in files],
                   "group": [re.sub(r"\(\d+\)$", "", p.stem) for p in files],
                   "food": [re.match(r"[a-z_]+", p.stem)[0] for p in files]},
                  index=pd.Index([p.stem for p in files], name="id"))
s = BoxSession(df, image="path", classes=sorted(set(df["food"])), group="group", store=sys.argv[1])
t = overruled(s)
print(len(t), "labeled items with a scored suggestion before the label")
for thr in (0.9, 0.95):
    sel = t[(t["suggestion_score"] >= thr) & (t["agreement"] < 0.1)]
    print(f"score >= {thr} and IoU < 0.1: {len(sel)}", list(sel["item"]))
print(t.head(15)[["item", "source", "suggestion_score", "agreement", "score"]].to_string())
s.close()
