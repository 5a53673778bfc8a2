"""nblabel widgets as superintendent 0.6's labelling_widget (skipped without it)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

superintendent = pytest.importorskip("superintendent")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from nblabel.interop.superintendent import ClassWidget, TagWidget  # noqa: E402
from nblabel.vocab import TagVocabulary  # noqa: E402
from tests.helpers import close_new_widgets  # noqa: E402

_close_new_widgets = pytest.fixture(autouse=True)(close_new_widgets)


def app(widget, features, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return superintendent.Superintendent(
            features=features,
            labelling_widget=widget,
            database_url=f"sqlite:///{tmp_path / 'si.db'}",
        )


def shown(widget) -> str:
    return widget.labeler.picker.text


def test_tag_widget_labels_through_superintendent(tmp_path):
    vocab = TagVocabulary([{"tag": "nlp", "aliases": ["language"]}, "vision",
                           {"tag": "bert", "parents": ["nlp"]}])
    widget = TagWidget(tags=vocab, prefill=lambda x: ["vision"] if "image" in x else [])
    a = app(widget, ["<b>an image model</b>", "a language model", "third"], tmp_path)
    assert shown(widget) == "<b>an image model</b>"
    assert [c["tag"] for c in widget.labeler.picker.chips] == ["vision"]
    widget.labeler.handle({"type": "key", "key": "Enter"})  # keep the pre-filled tag
    assert shown(widget) == "a language model"
    widget.labeler.handle({"type": "add", "tag": "bert"})  # parent comes along
    widget.labeler.handle({"type": "key", "key": "Enter"})
    assert shown(widget) == "third"
    widget.labeler.handle({"type": "key", "key": "Ctrl+ArrowRight"})  # skip: no label
    assert a.new_labels == [["vision"], ["bert", "nlp"], None]


def test_undo_goes_back_to_the_previous_point(tmp_path):
    widget = TagWidget(tags=["a", "b"])
    a = app(widget, ["one", "two"], tmp_path)
    widget.labeler.handle({"type": "add", "tag": "a"})
    widget.labeler.handle({"type": "key", "key": "Enter"})
    assert shown(widget) == "two"
    widget.labeler.handle({"type": "add", "tag": "b"})
    widget.labeler.handle({"type": "key", "key": "Ctrl+z"})  # undoes the tag on "two"
    assert shown(widget) == "two" and widget.labeler.session.value() == frozenset()
    widget.labeler.handle({"type": "key", "key": "Ctrl+z"})  # nothing left: back to "one"
    assert shown(widget) == "one"
    assert a.new_labels == [None, None]


def test_class_widget_with_dataframe_rows_and_images(tmp_path):
    widget = ClassWidget(classes=["pos", "neg"], text=["title"])
    df = pd.DataFrame({"title": ["good", "bad"], "other": [1, 2]})
    a = app(widget, df, tmp_path)
    assert shown(widget) == "good"
    widget.labeler.handle({"type": "key", "key": "1"})  # number key picks and submits
    widget.labeler.handle({"type": "key", "key": "2"})
    assert a.new_labels == ["pos", "neg"]

    images = ClassWidget(classes=["dark", "light"])
    images.display(np.zeros((8, 10, 3), dtype=np.uint8))
    assert images.labeler.picker.image[:4] == b"\x89PNG"
