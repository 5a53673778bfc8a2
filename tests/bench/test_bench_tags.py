from __future__ import annotations

import json

import numpy as np
import pytest

from nblabel.bench import tags as bt
from nblabel.cli import main as cli_main

VOCAB = [
    {"tag": "computer-vision", "aliases": ["cv"], "parents": []},
    {"tag": "object-detection", "aliases": [], "parents": ["computer-vision"]},
    {"tag": "natural-language-processing", "aliases": ["nlp"], "parents": []},
    {"tag": "pytorch", "aliases": [], "parents": []},
]
TOPICS = [
    ("detecting objects in images with boxes", ["object-detection"]),
    ("sentiment of movie reviews, text classification", ["nlp"]),
    ("a pytorch library for image models", ["pytorch", "cv"]),
    ("translation of text with transformers", ["natural-language-processing"]),
]


def _projects(n, start_day, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        text, tags = TOPICS[int(rng.integers(len(TOPICS)))]
        out.append({"id": start_day * 1000 + i, "created_on": f"2020-03-{start_day + i // 10:02d}",
                    "title": f"project {i}", "description": text, "tags": [*tags, "code"]})
    return out


@pytest.fixture
def files(tmp_path):
    (tmp_path / "tags.json").write_text(json.dumps(VOCAB))
    allp = _projects(60, 1, 0) + _projects(20, 10, 1)
    (tmp_path / "all.json").write_text(json.dumps(allp))
    return tmp_path


def test_split_by_time_oldest_train(files):
    assert cli_main(["bench", "tags", "--split-time", str(files / "all.json"),
                     "--split-out", str(files / "split")]) == 0
    train = json.loads((files / "split" / "train.json").read_text())
    test = json.loads((files / "split" / "test.json").read_text())
    assert (len(train), len(test)) == (64, 16)
    assert max(r["created_on"] for r in train) <= min(r["created_on"] for r in test)


def test_load_task_aliases_parents_min_count(files):
    from nblabel.vocab import TagVocabulary

    v = TagVocabulary(VOCAB)
    task = bt.load_task(_projects(40, 1, 0), _projects(5, 9, 2), v, min_count=3)
    assert "computer-vision" in task["tags"] and "code" not in task["tags"]
    col = task["tags"].index("computer-vision")
    det = task["tags"].index("object-detection")
    # every object-detection project also has its parent
    assert np.all(task["Y_pool"][:, col] >= task["Y_pool"][:, det])


def test_end_to_end_small(files):
    split = files / "split"
    cli_main(["bench", "tags", "--split-time", str(files / "all.json"), "--split-out", str(split)])
    out = files / "r.json"
    rc = cli_main(["bench", "tags", "--projects", str(split / "train.json"),
                   "--tags", str(files / "tags.json"), "--test", str(split / "test.json"),
                   "--out", str(out), "--seeds", "2", "--max-labels", "50", "--min-count", "3",
                   "--strategies", "random,margin,committee", "--early-until", "0"])
    assert rc == 0
    r = json.loads(out.read_text())
    assert {"date", "git_commit", "machine"} <= r.keys()
    assert set(r["results"]) == {"random", "margin", "committee"}
    f1 = r["results"]["margin"]["micro_f1"]
    assert list(f1) == ["25", "50"] and len(f1["50"]["values"]) == 2
    assert 0.0 <= f1["50"]["mean"] <= 1.0
    assert set(r["labels_to_match_random_800"]) == {"margin", "committee"}
    # with max 50 labels the reference is random at 50
    assert r["random_micro_f1_at_800"] == r["results"]["random"]["micro_f1"]["50"]["mean"]
    # the annotator's effort, measured through the session and the assistant's suggestions
    for s in ("random", "margin"):
        eff = r["results"][s]
        share = eff["accepted_from_suggestions_share"]["50"]["mean"]
        typed = eff["typed_tags_per_item"]["50"]["mean"]
        actions = eff["actions_per_item"]["50"]["mean"]
        assert 0.0 <= share <= 1.0 and typed >= 0.0
        assert actions >= 1.0  # at least the submit key


def test_labels_to_match():
    res = {
        "random": {"micro_f1": {"400": {"mean": 0.4}, "800": {"mean": 0.5}}},
        "margin": {"micro_f1": {"400": {"mean": 0.51}, "800": {"mean": 0.55}}},
        "entropy": {"micro_f1": {"400": {"mean": 0.3}, "800": {"mean": 0.49}}},
    }
    target, match = bt.labels_to_match(res)
    assert target == 0.5 and match == {"margin": 400, "entropy": None}


def test_scale_small():
    r = bt.scale(20_000, 20, repeats=1)
    assert r["n_items"] == 20_000 and set(r["seconds_best"]) == {"least_confidence", "margin",
                                                                 "entropy"}
    assert all(v < 1.0 for v in r["seconds_best"].values())


def test_missing_arguments_error(capsys):
    with pytest.raises(SystemExit):
        bt.main(["--projects", "x.json"])
    assert "--tags" in capsys.readouterr().err


def test_real_split_sizes(shared_data, tmp_path):
    rows = json.loads((shared_data / "madewithml" / "projects.json").read_text())
    train, test = bt.split_by_time(rows)
    assert (len(train), len(test)) == (1300, 325)
