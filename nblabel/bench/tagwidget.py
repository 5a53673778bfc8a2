"""``nblabel bench tagwidget``: a simulated annotator drives a real :class:`TagLabeler`.

Each step sets the project's true tags (after alias mapping and parent closure) through the
session and submits through the widget, exactly as the browser's Enter key does, while the
default text model retrains every ``--retrain-every`` labels in the background worker.

Reports
-------
- ``submit_ms``: p50/p95/max of one label + submit on the kernel thread while fits run
  (run without ``--pace``: labeling never waits for training, so fits overlap labeling);
- ``history``: one row per fit (labels, held-out micro-F1 on the newest 20% of projects,
  score on new labels, fit seconds); with ``--pace`` the annotator waits for each fit, so
  there is one fit per ``--retrain-every`` labels (a learning curve);
- ``--plot FILE.png``: the labeler's ``plot_learning_curve()``.

Example::

    nblabel bench tagwidget --projects ../shared/data/madewithml/projects.json \\
        --tags ../shared/data/madewithml/tags.json --labels 400 --retrain-every 50 --pace \\
        --out benchmarks/results/tagwidget.json --plot tagwidget.png
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nblabel.bench.common import write_json

__all__ = ["main", "run"]


def run(
    projects: list[dict[str, Any]],
    tag_records: list[dict[str, Any]],
    *,
    labels: int = 200,
    retrain_every: int = 50,
    order: str = "margin",
    pace: bool = False,
    seed: int = 0,
    plot: str | None = None,
) -> dict[str, Any]:
    """Label ``labels`` projects through a TagLabeler; see the module docstring."""
    from nblabel.session import TagSession
    from nblabel.vocab import TagVocabulary
    from nblabel.widgets.tag_training import ActiveBinding
    from nblabel.widgets.tags import TagLabeler

    vocab = TagVocabulary(tag_records)
    ordered = sorted(projects, key=lambda p: p["created_on"])
    cut = int(len(ordered) * 0.8)
    train, test = ordered[:cut], ordered[cut:]

    def truth(tags: Sequence[str]) -> list[str]:
        return vocab.normalize([t for t in tags if t in vocab])

    df = pd.DataFrame(train).set_index("id")
    answers = {str(i): truth(t) for i, t in zip(df.index, df["tags"])}
    df = df.drop(columns=["tags"])
    names = vocab.tags
    x_test = [f"{p['title']}\n\n{p['description']}" for p in test]
    y_test = np.array([[t in set(truth(p["tags"])) for t in names] for p in test], dtype=int)

    session = TagSession(df, text=["title", "description"], tags=vocab)
    binding = ActiveBinding(
        session,
        "default",
        order=order,
        retrain_every=retrain_every,
        random_state=seed,
        eval_set=(x_test, y_test),
        min_labels=min(25, retrain_every),
    )
    labeler = TagLabeler.from_session(session, trainer=binding)
    lat = []
    t_start = time.perf_counter()
    for i in range(labels):
        key = session.current.key
        t0 = time.perf_counter()
        session.set_tags(answers[key], key)
        labeler.submit()
        lat.append(time.perf_counter() - t0)
        if pace and (i + 1) % retrain_every == 0:
            binding.learner.wait(600)
    wall = time.perf_counter() - t_start
    binding.learner.wait(600)
    ms = np.asarray(lat) * 1e3
    if plot:
        ax = labeler.plot_learning_curve()
        ax.figure.savefig(plot, dpi=90, bbox_inches="tight")
    out = {
        "benchmark": "tagwidget",
        "settings": {
            "labels": labels,
            "retrain_every": retrain_every,
            "order": order,
            "pace": pace,
            "seed": seed,
            "pool": len(train),
            "test": len(test),
            "tags": len(names),
        },
        "submit_ms": {
            "p50": float(np.percentile(ms, 50)),
            "p95": float(np.percentile(ms, 95)),
            "max": float(ms.max()),
            "n": int(ms.size),
        },
        "labeling_seconds": round(wall, 2),
        "history": [{k: v for k, v in r.items() if k != "time"} for r in binding.history],
    }
    labeler.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="nblabel bench tagwidget",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--projects", required=True)
    p.add_argument("--tags", required=True)
    p.add_argument("--labels", type=int, default=200)
    p.add_argument("--retrain-every", type=int, default=50)
    p.add_argument("--order", default="margin")
    p.add_argument("--pace", action="store_true", help="wait for each fit (a learning curve)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="save the learning curve as PNG")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    with open(a.projects, encoding="utf-8") as f:
        projects = json.load(f)
    with open(a.tags, encoding="utf-8") as f:
        records = json.load(f)
    result = run(
        projects,
        records,
        labels=a.labels,
        retrain_every=a.retrain_every,
        order=a.order,
        pace=a.pace,
        seed=a.seed,
        plot=a.plot,
    )
    write_json(a.out, result)
    print(json.dumps({k: result[k] for k in ("submit_ms", "labeling_seconds")}))
    for row in result["history"]:
        print(row)
    return 0
