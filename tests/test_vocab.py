from __future__ import annotations

import json

import pytest

from nblabel.errors import InputError, UnknownClassError
from nblabel.vocab import TagVocabulary, normalize_tag

RECORDS = [
    {"tag": "3d", "aliases": ["three-dimensional", "3-dim"], "parents": ["computer-vision"]},
    {"tag": "computer-vision", "aliases": ["cv", "vision"], "parents": []},
    {"tag": "segmentation", "aliases": [], "parents": ["computer-vision"]},
    {"tag": "instance-segmentation", "aliases": [], "parents": ["computer-vision", "segmentation"]},
    {"tag": "wandb", "aliases": ["weights and biases"], "parents": ["ml-ops"]},
]


@pytest.fixture
def vocab() -> TagVocabulary:
    return TagVocabulary(RECORDS)


def test_normalize_tag():
    assert normalize_tag("  Deep_Learning ") == "deep-learning"
    assert normalize_tag("weights and  biases") == "weights-and-biases"
    with pytest.raises(InputError):
        normalize_tag("  ")


def test_aliases_normalised_on_input(vocab):
    assert vocab.canonical("Three Dimensional") == "3d"
    assert vocab.canonical("CV") == "computer-vision"
    assert vocab.canonical("Weights_and_Biases") == "wandb"
    assert "three_dimensional" in vocab and "nonsense" not in vocab


def test_child_adds_parents_transitively(vocab):
    assert vocab.normalize(["instance-segmentation"]) == [
        "computer-vision", "instance-segmentation", "segmentation"]
    assert vocab.normalize(["three-dimensional"], closure=False) == ["3d"]
    assert vocab.ancestors("instance-segmentation") == ["computer-vision", "segmentation"]


def test_parent_without_record_becomes_a_tag(vocab):
    assert "ml-ops" in vocab.tags
    assert vocab.normalize(["wandb"]) == ["ml-ops", "wandb"]


def test_unknown_rejected_with_message(vocab):
    msg = r"unknown tag 'segmentaton'.*did you mean 'segmentation'"
    with pytest.raises(UnknownClassError, match=msg):
        vocab.normalize(["segmentaton"])
    assert vocab.normalize(["segmentaton", "3d"], on_unknown="ignore") == ["3d", "computer-vision"]


def test_allow_new_adds_unknown():
    v = TagVocabulary(RECORDS, allow_new=True)
    assert v.normalize(["Brand New"]) == ["brand-new"]
    assert "brand-new" in v.tags


def test_add_and_remove_at_runtime(vocab):
    vocab.add("panoptic-segmentation", aliases=["panoptic"], parents=["segmentation"])
    cv = "computer-vision"
    assert vocab.normalize(["panoptic"]) == [cv, "panoptic-segmentation", "segmentation"]
    vocab.remove("segmentation")
    assert "segmentation" not in vocab.tags
    assert vocab.normalize(["instance-segmentation"]) == [cv, "instance-segmentation"]
    vocab.remove("cv")  # by alias
    assert "vision" not in vocab
    assert vocab.normalize(["3d"]) == ["3d"]


def test_invalid_vocabularies():
    with pytest.raises(InputError, match="already a tag name"):
        TagVocabulary([{"tag": "a"}, {"tag": "b", "aliases": ["a"]}])
    with pytest.raises(InputError, match="cycle"):
        TagVocabulary([{"tag": "a", "parents": ["b"]}, {"tag": "b", "parents": ["a"]}])
    with pytest.raises(InputError, match="alias of"):
        TagVocabulary([{"tag": "a", "aliases": ["x"]}, {"tag": "b", "aliases": ["x"]}])


def test_json_round_trip(tmp_path, vocab):
    p = tmp_path / "tags.json"
    p.write_text(json.dumps(vocab.to_records()))
    v2 = TagVocabulary.from_json(p)
    assert v2.to_records() == vocab.to_records()
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match=r"bad\.json"):
        TagVocabulary.from_json(bad)


def test_complete_prefix_then_substring(vocab):
    assert vocab.complete("seg") == ["segmentation", "instance-segmentation"]
    assert vocab.complete("segm")[0] == "segmentation"
    assert "instance-segmentation" in vocab.complete("segm")
    assert vocab.complete("three") == ["3d"]
    assert len(vocab.complete("", limit=2)) == 2


def test_real_madewithml_vocabulary(shared_data):
    v = TagVocabulary.from_json(shared_data / "madewithml" / "tags.json")
    assert len(v) >= 400
    assert "computer-vision" in v.normalize(["instance-segmentation"])


def test_vocabulary_changes_mid_session_keep_labels():
    import pandas as pd

    from nblabel.session import TagSession

    v = TagVocabulary(RECORDS)
    df = pd.DataFrame({"text": ["a 3d scene", "segment cells", "weights"]})
    s = TagSession(df, text="text", tags=v)
    s.set_tags(["three dimensional"])  # alias in, parents added
    assert df.loc[0, "tags"] == ["3d", "computer-vision"]
    s.next()
    with pytest.raises(UnknownClassError):
        s.set_tags(["cell-segmentation"])
    v.add("cell-segmentation", parents=["segmentation"])  # added at runtime
    s.set_tags(["cell-segmentation"])
    assert df.loc[1, "tags"] == ["cell-segmentation", "computer-vision", "segmentation"]
    v.remove("3d")  # removed at runtime: the label already given stays
    assert s.value(0) == frozenset({"3d", "computer-vision"})
    assert df.loc[0, "tags"] == ["3d", "computer-vision"]
    s.goto(0)
    s.add_tag("segmentation")  # editing an item keeps its tag that left the vocabulary
    assert s.value(0) == frozenset({"3d", "computer-vision", "segmentation"})
