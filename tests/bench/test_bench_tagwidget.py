"""``nblabel bench tagwidget`` on a tiny synthetic project list."""

from __future__ import annotations

import json

from nblabel.bench import tagwidget


def projects(n: int = 40) -> list[dict]:
    out = []
    for i in range(n):
        vision = i % 2 == 0
        out.append({
            "id": i,
            "created_on": f"2020-01-{i % 28 + 1:02d} 00:00:{i:02d}",
            "title": ("image detector" if vision else "text parser") + f" {i}",
            "description": "pixels and boxes" if vision else "words and tokens",
            "tags": ["Object Detection", "made-up"] if vision else ["nlp"],
        })
    return out


TAGS = [
    {"tag": "computer-vision"},
    {"tag": "object-detection", "parents": ["computer-vision"]},
    {"tag": "natural-language-processing", "aliases": ["nlp"]},
]


def test_tagwidget_bench_runs_and_writes_json(tmp_path):
    p, t, out = tmp_path / "p.json", tmp_path / "t.json", tmp_path / "r.json"
    p.write_text(json.dumps(projects()))
    t.write_text(json.dumps(TAGS))
    assert tagwidget.main(["--projects", str(p), "--tags", str(t), "--labels", "20",
                           "--retrain-every", "10", "--pace", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["settings"]["pool"] == 32 and r["settings"]["tags"] == 3
    assert r["submit_ms"]["n"] == 20 and r["submit_ms"]["p50"] > 0
    assert [h["labels"] for h in r["history"]] == [10, 20]
    assert 0 <= r["history"][-1]["eval_score"] <= 1
    assert {"date", "git_commit", "machine"} <= set(r)
