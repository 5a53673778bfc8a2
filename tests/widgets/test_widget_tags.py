"""TagLabeler / ClassLabeler driven headless: browser intents are fed to ``handle`` as the
picker would send them, and the session/DataFrame/picker state is checked."""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nblabel.errors import InputError
from nblabel.vocab import TagVocabulary
from nblabel.widgets.labeler import _keymap
from nblabel.widgets.tag_picker import key_name
from nblabel.widgets.tags import ClassLabeler, TagLabeler
from tests.helpers import close_new_widgets, image_frame

_close_new_widgets = pytest.fixture(autouse=True)(close_new_widgets)


HTML_TEXT = "<script>alert('x')</script><b>bold</b> & <i>co</i>"


def vocab() -> TagVocabulary:
    return TagVocabulary(
        [
            {"tag": "computer-vision", "aliases": ["cv"]},
            {"tag": "object-detection", "aliases": ["detection"], "parents": ["computer-vision"]},
            {"tag": "natural-language-processing", "aliases": ["nlp"]},
            *({"tag": f"topic-{i:03d}"} for i in range(300)),
        ]
    )


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": [HTML_TEXT, "BERT for law", "third"],
            "description": ["long " * 500, "short", None],
            "author": [["CV", "topic-007", "not-a-tag"], ["nlp"], None],
        },
        index=["p0", "p1", "p2"],
    )


def labeler(**kw) -> TagLabeler:
    kw.setdefault("tags", vocab())
    return TagLabeler(frame(), text=["title", "description"], prefill="author", **kw)


def chips(lab) -> dict[str, str]:
    return {c["tag"]: c["kind"] for c in lab.picker.chips}


def message(lab) -> str:
    return html.unescape(lab.controls.messages.value)


class FakeTrainer:
    """The trainer protocol the labeler binds: ``proba(key)``, ``on_update(cb)``, ``curve``."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.callbacks = []
        self.closed = False
        self.plotted = None

    def plot_learning_curve(self, ax=None):
        self.plotted = ax
        return "axes"

    def proba(self, key):
        return self.scores

    def on_update(self, cb):
        self.callbacks.append(cb)

    def emit(self, event, **info):
        for cb in self.callbacks:
            cb(event, info)

    def close(self):
        self.closed = True


def test_text_with_markup_is_sent_verbatim_and_rendered_as_text():
    lab = labeler()
    assert lab.picker.text.startswith(HTML_TEXT)  # raw: the browser sets textContent
    assert "long long" in lab.picker.text and lab.picker.image == b""
    js = (Path(__file__).parents[2] / "nblabel/widgets/tag_picker.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js
    assert "textContent = text" in js


def test_prefilled_tags_are_normalised_and_distinct():
    lab = labeler()
    # alias CV -> computer-vision; unknown author tags dropped
    assert chips(lab) == {"computer-vision": "prefill", "topic-007": "prefill"}
    assert lab.df["tags"].isna().all()  # nothing is written before an edit or a submit


def test_remove_prefilled_then_add_with_alias_and_parent_then_submit():
    lab = labeler()
    lab.handle({"type": "remove", "tag": "topic-007"})
    assert lab.unsaved() == ["computer-vision"]
    lab.handle({"type": "add", "tag": "Detection"})  # alias, parent already there
    assert lab.unsaved() == ["computer-vision", "object-detection"]
    assert chips(lab) == {"computer-vision": "prefill", "object-detection": "tag"}
    assert lab.df.at["p0", "tags"] is None  # edits are not labels until submitted
    lab.handle({"type": "key", "key": "Enter"})
    assert lab.df.at["p0", "tags"] == ["computer-vision", "object-detection"]
    assert lab.session.current.key == "p1"
    assert lab.picker.text.startswith("BERT")
    assert chips(lab) == {"natural-language-processing": "prefill"}


def test_submit_untouched_item_keeps_prefill():
    lab = labeler()
    lab.submit()
    assert lab.df.at["p0", "tags"] == ["computer-vision", "topic-007"]


def test_parent_implied_by_child_cannot_be_removed():
    lab = labeler()
    lab.handle({"type": "add", "tag": "object-detection"})
    lab.handle({"type": "remove", "tag": "computer-vision"})
    assert "implied by 'object-detection'" in message(lab)
    assert "computer-vision" in lab.unsaved()
    assert chips(lab)["computer-vision"] == "prefill"


def test_unknown_tag_is_refused_with_a_message_or_added_when_allowed():
    lab = labeler()
    lab.handle({"type": "add", "tag": "quantum-widgets"})
    assert "unknown tag" in message(lab) and "quantum-widgets" in message(lab)
    assert lab.df["tags"].isna().all()
    lab2 = labeler(tags=vocab(), allow_new=True)
    assert "quantum-widgets" not in [c[0] for c in lab2.picker.choices]
    lab2.handle({"type": "add", "tag": "Quantum Widgets"})
    lab2.submit()
    assert "quantum-widgets" in lab2.df.at["p0", "tags"]
    assert "quantum-widgets" in [c[0] for c in lab2.picker.choices] and lab2.picker.allow_new


def test_vocabulary_changes_mid_session_keep_labels():
    lab = labeler()
    lab.handle({"type": "add", "tag": "topic-001"})
    lab.submit()
    lab.previous()
    v = lab.session.vocabulary
    v.add("graph-neural-networks", aliases=["gnn"])
    v.remove("topic-001")
    lab.refresh()
    names = [c[0] for c in lab.picker.choices]
    assert "graph-neural-networks" in names and "topic-001" not in names
    assert ["graph-neural-networks", ["gnn"]] in lab.picker.choices
    assert "topic-001" in lab.df.at["p0", "tags"]  # the label stays
    assert "topic-001" in chips(lab)
    lab.handle({"type": "add", "tag": "GNN"})
    assert "graph-neural-networks" in lab.unsaved() and "topic-001" in lab.unsaved()
    lab.handle({"type": "remove", "tag": "topic-001"})  # a tag no longer in the vocabulary
    lab.submit()
    assert "topic-001" not in lab.df.at["p0", "tags"]
    assert "graph-neural-networks" in lab.df.at["p0", "tags"]


def test_keys_undo_redo_skip_previous():
    lab = labeler()
    lab.handle({"type": "remove", "tag": "topic-007"})
    lab.handle({"type": "key", "key": "Enter"})
    assert lab.session.current.key == "p1"
    lab.handle({"type": "key", "key": "Ctrl+z"})
    assert lab.session.current.key == "p0"
    assert lab.df.at["p0", "tags"] is None
    assert chips(lab) == {"computer-vision": "prefill", "topic-007": "prefill"}
    lab.handle({"type": "key", "key": "Ctrl+Shift+z"})
    assert lab.df.at["p0", "tags"] == ["computer-vision"]
    lab.handle({"type": "key", "key": "Ctrl+ArrowRight"})  # skip p0
    assert lab.session.current.key == "p1"
    lab.handle({"type": "key", "key": "Ctrl+ArrowLeft"})
    assert lab.session.current.key == "p0"
    lab.handle({"type": "key", "key": "q"})  # unbound: nothing
    assert lab.session.current.key == "p0" and "error" not in message(lab)


def test_keymap_overrides_and_key_names():
    assert key_name("ctrl+Z") == "Ctrl+z"
    assert key_name("shift+control+z") == "Ctrl+Shift+z"
    assert key_name("enter") == "Enter" and key_name("arrowright") == "ArrowRight"
    km = _keymap({"ctrl+s": "skip", "Enter": None})  # the earlier {key: action} form
    assert km["skip"] == ("Ctrl+ArrowRight", "Ctrl+s") and km["submit"] == ()
    assert _keymap({"skip": "ctrl+s", "submit": []}) == km | {"skip": ("Ctrl+s",)}
    with pytest.raises(ValueError, match="unknown keymap action"):
        _keymap({"x": "explode"})
    lab = labeler(keymap={"Ctrl+s": "skip", "Enter": None})
    assert lab.picker.keymap["skip"] == ["Ctrl+ArrowRight", "Ctrl+s"]
    assert lab.picker.keymap["submit"] == []
    lab.handle({"type": "key", "key": "Enter"})
    assert lab.session.current.key == "p0"
    lab.handle({"type": "key", "key": "Ctrl+S"})
    assert lab.session.current.key == "p1"


def test_number_keys_toggle_model_suggestions_with_probabilities():
    trainer = FakeTrainer({"topic-003": 0.9, "object-detection": 0.7, "topic-100": 0.2})
    lab = labeler(trainer=trainer)
    sugg = lab.picker.suggestions
    assert [s["tag"] for s in sugg] == ["topic-003", "object-detection", "topic-100"]
    assert sugg[0]["p"] == pytest.approx(0.9) and not sugg[0]["on"]
    lab.handle({"type": "key", "key": "2"})
    assert lab.unsaved() == ["computer-vision", "object-detection", "topic-007"]
    assert [s["on"] for s in lab.picker.suggestions] == [False, True, False]
    assert chips(lab)["object-detection"] == "tag"  # suggestions are not pre-fill
    lab.handle({"type": "key", "key": "2"})  # toggles off
    assert "object-detection" not in lab.unsaved()
    lab.handle({"type": "key", "key": "7"})
    assert "no suggestion number 7" in message(lab)
    lab.handle({"type": "accept", "tag": "topic-100"})  # a click on a suggestion
    lab.submit()
    assert "topic-100" in lab.df.at["p0", "tags"]
    assert lab.session.log.current("p0").source == "model"


def test_trainer_events_show_in_messages_and_curve_plots():
    trainer = FakeTrainer({"topic-003": 0.9})
    lab = labeler(trainer=trainer)
    trainer.emit("error", error="ValueError: bad model")
    assert "model training failed" in message(lab) and "bad model" in message(lab)
    trainer.emit("done", n_labels=20, score=0.35)
    assert "retrained on 20 labels" in message(lab)
    assert lab.plot_learning_curve(ax="ax") == "axes" and trainer.plotted == "ax"
    lab.close()
    assert trainer.closed


def test_single_tag_mode_replaces():
    lab = labeler(multi=False)
    lab.handle({"type": "add", "tag": "topic-001"})
    assert lab.unsaved() == ["topic-001"]
    lab.handle({"type": "add", "tag": "topic-002"})
    lab.submit()
    assert lab.df.at["p0", "tags"] == ["topic-002"]


def test_plain_tag_list_and_empty_submit():
    df = pd.DataFrame({"t": ["a", "b"]})
    lab = TagLabeler(df, text="t", tags=["x", "y"])
    assert lab.picker.choices == [["x", []], ["y", []]]
    lab.handle({"type": "add", "tag": "y"})
    lab.handle({"type": "key", "key": "Enter"})
    assert df["tags"].tolist() == [["y"], None]
    lab.handle({"type": "add", "tag": "x"})
    lab.handle({"type": "key", "key": "Enter"})
    assert df["tags"].tolist() == [["y"], ["x"]]
    assert "all 2 items are labeled" in message(lab)


def test_class_labeler_number_keys_pick_and_advance():
    df = pd.DataFrame({"t": ["<b>a</b>", "b", "c"]})
    lab = ClassLabeler(df, classes=["pos", "neg", "neutral"], text="t")
    assert [s["tag"] for s in lab.picker.suggestions] == ["pos", "neg", "neutral"]
    assert lab.picker.text == "<b>a</b>"
    lab.handle({"type": "key", "key": "Enter"})  # no class yet
    assert "pick a class first" in message(lab) and lab.session.current.key == "0"
    lab.handle({"type": "key", "key": "2"})
    assert df["label"].tolist() == ["neg", None, None]
    assert lab.session.current.key == "1"
    lab.handle({"type": "add", "tag": "neutral"})
    assert chips(lab) == {"neutral": "tag"}
    lab.handle({"type": "add", "tag": "nope"})
    assert "not one of" in message(lab)
    lab.handle({"type": "key", "key": "Ctrl+z"})
    assert df["label"].tolist() == ["neg", None, None]


def test_class_labeler_orders_classes_by_model():
    df = pd.DataFrame({"t": ["a", "b"]})
    lab = ClassLabeler(df, classes=["pos", "neg"], text="t",
                       trainer=FakeTrainer({"pos": 0.2, "neg": 0.8}))
    assert [(s["tag"], s["p"]) for s in lab.picker.suggestions] == [("neg", 0.8), ("pos", 0.2)]


def test_image_items_travel_as_encoded_bytes(tmp_path):
    df = image_frame(tmp_path, n=2, size=(64, 48))
    lab = TagLabeler(df, image="path", tags=["red", "dark"])
    assert lab.picker.image[:8] == b"\x89PNG\r\n\x1a\n" and lab.picker.image_format == "png"
    assert lab.picker.text == ""
    lab.handle({"type": "add", "tag": "red"})
    lab.submit()
    assert lab.session.current.key == "a1"


def test_empty_dataframe_and_errors_never_raise():
    lab = TagLabeler(pd.DataFrame({"t": pd.Series([], dtype=object)}), text="t", tags=["x"])
    assert lab.picker.text == "(nothing to label)"
    lab.handle({"type": "key", "key": "Enter"})
    lab.handle({"type": "add", "tag": "x"})
    assert "empty" in message(lab)


# -- background training with nblabel.active --------------------------------------------------
class SlowModel:
    """A scikit-learn style model that takes ``delay`` seconds to fit (or fails)."""

    def __init__(self, *, delay=0.0, fail=False):
        self.delay = delay
        self.fail = fail

    def get_params(self, deep=True):
        return {"delay": self.delay, "fail": self.fail}

    def set_params(self, **p):
        for k, v in p.items():
            setattr(self, k, v)
        return self

    def fit(self, X, y):
        time.sleep(self.delay)
        if self.fail:
            raise ValueError("this model cannot learn")
        self.k_ = np.asarray(y).shape[1]
        return self

    def predict(self, X):
        return (self.predict_proba(X) > 0.5).astype(int)

    def predict_proba(self, X):
        # tag j is likelier for longer texts, so the queue order changes after a fit
        n = np.array([len(x) for x in X], dtype=float)[:, None]
        return np.clip(n / 100.0 * np.linspace(0.2, 1.0, self.k_)[None, :], 0.01, 0.99)


def text_frame(n=30):
    return pd.DataFrame({"t": [f"item {i} " + "x" * (i * 3 % 97) for i in range(n)]})


def test_background_retraining_keeps_the_widget_responsive():
    df = text_frame()
    lab = TagLabeler(df, text="t", tags=["a", "b", "c"], model=SlowModel(delay=1.0),
                     order="entropy", retrain_every=3)
    learner = lab.trainer.learner
    learner.min_labels = 3
    t0 = time.perf_counter()
    for _ in range(3):
        lab.handle({"type": "add", "tag": "a"})
        lab.handle({"type": "key", "key": "Enter"})
    busy = time.perf_counter() - t0
    assert learner.running  # the fit is in the worker ...
    assert busy < 0.8  # ... and labeling did not wait for its 1 s
    lab.handle({"type": "add", "tag": "b"})  # still labeling while it trains
    assert lab.unsaved() == ["b"] and df["tags"].notna().sum() == 3  # saved on submit
    assert lab.model is None or lab.model is learner.model_
    assert lab.wait(10)  # the public way to wait for the background fit
    assert learner.status == "idle" and len(learner.history) == 1
    assert lab.model is learner.model_ and lab.model is not None
    assert "retrained on 3 labels" in message(lab)
    lab.refresh()
    scores = {s["tag"]: s["p"] for s in lab.picker.suggestions}
    assert set(scores) == {"a", "b", "c"} and all(0 < p < 1 for p in scores.values())
    assert lab.trainer.proba(lab.session.current.key)["c"] == pytest.approx(scores["c"], abs=1e-3)
    ax = lab.plot_learning_curve()
    assert ax.get_xlabel() == "labels"
    lab.close()
    assert learner.status == "closed"


def test_failed_retraining_is_shown_and_labeling_goes_on():
    df = text_frame(10)
    lab = TagLabeler(df, text="t", tags=["a", "b"], model=SlowModel(fail=True),
                     order="margin", retrain_every=2)
    lab.trainer.learner.min_labels = 2
    order_before = lab.session.queue.order.copy()
    for _ in range(2):
        lab.handle({"type": "add", "tag": "a"})
        lab.handle({"type": "key", "key": "Enter"})
    lab.trainer.learner.wait(10)
    assert "model training failed" in message(lab) and "cannot learn" in message(lab)
    assert (lab.session.queue.order == order_before).all()
    lab.handle({"type": "add", "tag": "b"})
    lab.submit()
    assert df["tags"].notna().sum() == 3
    lab.close()


def test_default_text_model_suggests_tags_with_vocabulary():
    v = TagVocabulary([{"tag": "vision", "aliases": ["image"]}, "nlp"])
    texts = ["image classifier"] * 4 + ["text classifier for nlp"] * 4
    df = pd.DataFrame({"t": texts})
    lab = TagLabeler(df, text="t", tags=v, model="default", retrain_every=1000)
    for i in range(6):
        lab.session.set_tags(["vision"] if i < 3 else ["nlp"], str(i if i < 3 else i + 1))
    lab.trainer.learner.min_labels = 2
    lab.trainer.start()
    assert lab.trainer.learner.wait(30) and lab.trainer.learner.status == "idle"
    p_img = lab.trainer.proba("3")
    p_txt = lab.trainer.proba("7")
    assert p_img["vision"] > p_img["nlp"] and p_txt["nlp"] > p_txt["vision"]
    lab.close()


def test_image_items_with_model_refused_with_a_message(tmp_path):
    df = image_frame(tmp_path, n=2)
    with pytest.raises(InputError, match="text items"):
        TagLabeler(df, image="path", tags=["x"], model="default")


def test_close_leaves_no_widgets():
    from ipywidgets.widgets.widget import _instances

    before = len(_instances)
    for _ in range(2):
        lab = labeler(trainer=FakeTrainer({"topic-001": 0.5}))
        lab.handle({"type": "add", "tag": "topic-002"})
        lab.close()
        lab.close()  # twice (as the garbage collector does after an explicit close)
    assert len(_instances) == before, [type(w).__name__ for w in _instances.values()][-10:]


def test_store_resumes_labels_and_position(tmp_path):
    db = tmp_path / "labels.db"
    lab = labeler(store=db, annotator="ann")
    lab.handle({"type": "remove", "tag": "topic-007"})
    lab.handle({"type": "key", "key": "Enter"})
    lab.close()  # also closes the store the labeler opened
    again = labeler(store=db, annotator="ann")
    assert again.df.at["p0", "tags"] == ["computer-vision"]
    assert again.session.current.key == "p1"
    assert again.picker.text.startswith("BERT")
    again.handle({"type": "key", "key": "Ctrl+z"})
    assert again.df.at["p0", "tags"] is None  # undo history survives the restart
    again.close()


def test_class_labeler_with_default_model_orders_classes():
    texts = ["great movie, loved it", "awful film, hated it"] * 6
    df = pd.DataFrame({"t": texts})
    lab = ClassLabeler(df, classes=["pos", "neg", "meh"], text="t", model="default",
                       order="entropy", retrain_every=4)
    lab.trainer.learner.min_labels = 4
    for _ in range(4):
        key = lab.session.current.key
        lab.handle({"type": "key", "key": "1" if int(key) % 2 == 0 else "2"})
    assert df["label"].tolist()[:4] == ["pos", "neg", "pos", "neg"]
    assert lab.trainer.learner.wait(30) and len(lab.trainer.history) == 1
    lab.refresh()
    key = lab.session.current.key
    first = lab.picker.suggestions[0]
    assert first["tag"] == ("pos" if int(key) % 2 == 0 else "neg") and first["p"] > 0.5
    lab.close()


def test_an_item_is_done_and_in_the_dataframe_only_when_submitted():
    """Issue 15.5: the first edit is not a label; Enter is. Ctrl+z takes back unsaved edits
    first; an item left unsubmitted keeps its draft and stays open."""
    df = pd.DataFrame({"t": ["a", "b", "c"]})
    lab = TagLabeler(df, text="t", tags=["x", "y", "z"])
    s = lab.session
    lab.handle({"type": "add", "tag": "x"})
    lab.handle({"type": "add", "tag": "y"})
    assert chips(lab) == {"x": "tag", "y": "tag"}
    assert df["tags"].tolist() == [None, None, None]
    assert s.progress.done == 0 and not s.is_labeled(0) and not list(s.store.events(s.task))
    assert "item 1 of 3" in lab.controls.counter.value
    lab.handle({"type": "key", "key": "Ctrl+z"})  # takes back the unsaved "y"
    assert chips(lab) == {"x": "tag"} and not list(s.store.events(s.task))
    lab.handle({"type": "key", "key": "Ctrl+ArrowRight"})  # skip: the draft stays unsaved
    assert s.current.key == "1" and df["tags"].tolist() == [None, None, None]
    lab.handle({"type": "key", "key": "Ctrl+ArrowLeft"})
    assert s.current.key == "0" and lab.unsaved() == ["x"]
    lab.handle({"type": "key", "key": "Enter"})
    assert df["tags"].tolist() == [["x"], None, None]
    assert s.progress.done == 1 and s.is_labeled(0)
    labels = [e for e in s.store.events(s.task) if e.action == "label"]
    assert [e.payload for e in labels] == [["x"]]  # one label event, at submit
    assert "item 2 of 3" in lab.controls.counter.value
    lab.handle({"type": "key", "key": "Ctrl+z"})  # nothing unsaved here: undoes the submit
    assert s.current.key == "0" and df["tags"].tolist() == [None, None, None]
