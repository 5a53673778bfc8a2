"""BoxLabeler without a browser: drive its message handler like the front end does
(committed edits on mouse-up, key actions) and check the session, store and DataFrame."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.helpers import image_frame, object_frame

pytest.importorskip("anywidget")

from nblabel.errors import InputError
from nblabel.session import BoxSession
from nblabel.shapes import Box
from nblabel.widgets import BoxLabeler, Controls
from nblabel.widgets.boxes import resolve_keymap
from nblabel.widgets.prefetch import ImagePrefetcher

CLASSES = ["cat", "dog", "<script>alert(1)</script>"]


@pytest.fixture()
def frame(tmp_path):
    return image_frame(tmp_path, n=5, size=(100, 80))


@pytest.fixture()
def app(frame):
    a = BoxLabeler(frame, image="path", classes=CLASSES)
    yield a
    a.close()


def draw(app, box):
    app.handle({"type": "draw", "box": list(box)})


def key(app, action):
    app.handle({"type": "action", "action": action})


def coords(b):
    return (b.x0, b.y0, b.x1, b.y1)


def test_first_item_is_shown_as_encoded_bytes(app, frame):
    c = app.canvas
    assert c.item == "a0"
    with open(frame.loc["a0", "path"], "rb") as f:
        assert c.image == f.read()  # the file itself: fits and needs no re-encoding
    assert (c.image_format, c.image_width, c.image_height) == ("png", 100, 80)
    assert c.classes == CLASSES and len(c.colors) == 3
    assert c.keymap["next"] == ["n", "PageDown"] and c.keymap["accept"] == ["Enter"]


def test_draw_resize_class_delete(app, frame):
    s = app.session
    draw(app, (60, 50, 10, 5))  # corners in any order
    assert [coords(b) for b in s.value()] == [(10, 5, 60, 50)]
    assert app.canvas.selection == {}  # pick-then-draw: a new box is not selected
    assert frame.loc["a0", "boxes"][0]["label"] == "cat"
    app.handle({"type": "update", "index": 0, "box": [10, 5, 90, 50]})  # right edge dragged
    assert coords(s.value()[0]) == (10, 5, 90, 50)
    app.canvas.selection = {"type": "box", "index": 0}  # the user clicks the box
    key(app, "class_2")
    assert s.value()[0].label == "dog" and s.active_class == "dog"
    assert app.canvas.active_class == "dog"
    assert app.controls.picker.value == "dog"
    assert app.last_flash == "box 1: cat → dog"
    draw(app, (0, 0, 20, 20))
    assert [b.label for b in s.value()] == ["dog", "dog"]
    app.canvas.selection = {"type": "box", "index": 1}  # click the new box, then delete
    key(app, "delete")
    assert len(s.value()) == 1 and app.canvas.selection == {}
    assert len(s.labels) == 1 and app.canvas.boxes[0]["label"] == "dog"


def test_class_key_after_drawing_sets_the_next_box_not_the_drawn_one(app, frame):
    """Issue 15.1: "drag around the food, press 4, drag around the coin" keeps the food."""
    s = app.session
    key(app, "class_1")
    draw(app, (10, 10, 50, 50))  # the food
    key(app, "class_2")  # the class of the *next* box
    draw(app, (60, 10, 90, 40))  # the coin
    assert [b.label for b in s.value()] == ["cat", "dog"]
    assert [b["label"] for b in frame.loc["a0", "boxes"]] == ["cat", "dog"]
    assert app.last_flash == ""  # no existing box changed
    # the same with the class picker buttons (mouse only, as in the Voila app)
    key(app, "next")
    app.controls.picker.value = "cat"
    draw(app, (5, 5, 30, 30))
    app.controls.picker.value = "dog"
    draw(app, (40, 5, 70, 30))
    assert [b["label"] for b in frame.loc["a1", "boxes"]] == ["cat", "dog"]
    assert [e.payload[-1]["label"] for e in s.store.events(s.task) if e.action == "label"] == [
        "cat", "dog", "cat", "dog"]


def test_class_key_changes_a_box_only_when_selected_on_purpose(app, monkeypatch):
    s = app.session
    draw(app, (10, 10, 50, 50))
    draw(app, (60, 10, 90, 40))
    sent = []
    monkeypatch.setattr(app.canvas, "send", lambda msg, *a, **k: sent.append(msg))
    # the browser sends the selection with the key: box 1 clicked (or reached with Tab)
    app.handle({"type": "action", "action": "class_2", "selection": {"type": "box", "index": 0}})
    assert [b.label for b in s.value()] == ["dog", "cat"]
    assert {"type": "flash", "text": "box 1: cat → dog"} in sent
    assert "box 1: cat → dog" in app.controls.messages.value
    # the same class again changes nothing and flashes nothing
    sent.clear()
    app.handle({"type": "action", "action": "class_2", "selection": {"type": "box", "index": 0}})
    assert not [m for m in sent if m.get("type") == "flash"]


def test_accept_with_enter_does_not_select_the_accepted_box(app):
    s = app.session
    s.suggest("a0", [Box("cat", 10, 10, 30, 30)], source="model", score=0.8)
    key(app, "accept")  # Enter, nothing selected: the best suggestion
    assert app.canvas.selection == {}
    key(app, "class_2")  # for the next box only
    assert [b.label for b in s.value()] == ["cat"] and s.active_class == "dog"


def test_boxes_are_clipped_to_the_image(app):
    draw(app, (-20, -20, 500, 40))
    assert coords(app.session.value()[0]) == (0, 0, 100, 40)


def test_suggestions_accept_edit_reject(app):
    s = app.session
    s.suggest("a0", [Box("cat", 10, 10, 30, 30)], source="model", score=0.8)
    s.suggest("a0", [Box("dog", 50, 10, 70, 30)], source="tracker", score=0.6)
    sug = app.canvas.suggestions
    assert [(g["source"], g["score"]) for g in sug] == [("model", 0.8), ("tracker", 0.6)]
    assert sug[0]["boxes"][0]["label"] == "cat"
    # edit before accepting: drag suggestion 1's box, it is accepted as edited
    app.handle({"type": "edit_suggestion", "index": 1, "box_index": 0, "box": [52, 12, 75, 35]})
    assert [coords(b) for b in s.value()] == [(52, 12, 75, 35)]
    assert len(s.suggestions()) == 1 and app.canvas.selection == {"type": "box", "index": 0}
    key(app, "reject")
    assert s.suggestions() == [] and app.canvas.suggestions == []
    key(app, "undo")  # the rejection comes back
    assert len(s.suggestions()) == 1
    key(app, "accept")  # Enter: the best (only) one
    assert [b.label for b in s.value()] == ["dog", "cat"]
    assert s.value()[1].source == "model"


def test_accept_all_and_class_of_a_selected_suggestion(app):
    s = app.session
    s.suggest("a0", [Box("cat", 10, 10, 30, 30), Box("cat", 40, 10, 60, 30)], source="model",
              score=0.9)
    app.canvas.selection = {"type": "suggestion", "index": 0, "box": 1}
    key(app, "class_2")  # changing a suggestion's class accepts it edited
    assert [b.label for b in s.value()] == ["cat", "dog"]
    s.suggest("a0", [Box("cat", 1, 1, 5, 5)], source="tracker")
    key(app, "accept_all")
    assert len(s.value()) == 3 and s.suggestions() == []


def test_navigation_and_undo_redo(app, frame):
    s = app.session
    draw(app, (10, 10, 20, 20))
    key(app, "next")
    assert app.canvas.item == "a1" and s.current.key == "a1"
    assert "item 2 of 5" in app.controls.counter.value
    assert app.canvas.boxes == []
    key(app, "skip")
    assert app.canvas.item == "a2"
    key(app, "previous")
    assert app.canvas.item == "a1"
    key(app, "undo")  # undoes the box on a0 (skip is not a label action) and goes there
    assert app.canvas.item == "a0" and frame.loc["a0", "boxes"] is None
    key(app, "redo")
    assert len(s.value("a0")) == 1 and app.canvas.boxes[0]["x0"] == 10


def test_errors_go_to_the_message_area_and_state_is_resent(app, caplog):
    rev = app.canvas.revision
    with caplog.at_level(logging.WARNING, "nblabel"):
        key(app, "delete")  # nothing selected
    msg = app.controls.messages.value
    assert "InputError" in msg and "select a box first" in msg
    assert app.canvas.revision > rev  # the browser redraws the kernel's truth
    assert any("failed" in r.message for r in caplog.records)
    app.handle({"type": "update", "index": 7, "box": [1, 1, 5, 5]})
    assert "no box number 7" in app.controls.messages.value
    app.handle({"type": "draw", "box": [200, 200, 300, 300]})  # outside the image
    assert "Error" in app.controls.messages.value
    draw(app, (1, 1, 9, 9))
    assert app.controls.messages.value == ""  # a good action clears the message
    key(app, "class_9")
    assert "no class 9" in app.controls.messages.value


def test_failing_user_callback_is_shown_not_swallowed(app):
    def broken(what, key):
        raise RuntimeError("my callback broke")

    app.session.on_change(broken)
    draw(app, (1, 1, 9, 9))
    assert "my callback broke" in app.controls.messages.value
    assert len(app.session.value()) == 1  # the action itself is kept


def test_action_uses_the_selection_sent_with_it(app):
    draw(app, (1, 1, 9, 9))
    draw(app, (20, 20, 40, 40))
    app.canvas.selection = {}  # the trait sync of the click has not arrived yet
    app.handle({"type": "action", "action": "delete",
                "selection": {"type": "box", "index": 0, "box": 0}})
    assert [coords(b) for b in app.session.value()] == [(20, 20, 40, 40)]
    app.handle({"type": "action", "action": "class_2",
                "selection": {"type": "box", "index": 0}})
    assert app.session.value()[0].label == "dog"


def test_submit_marks_an_empty_image_done(app, frame):
    key(app, "submit")
    assert app.canvas.item == "a1"
    assert app.session.is_labeled("a0") and frame.loc["a0", "boxes"] == []
    app.controls.buttons["submit"].click()
    assert app.canvas.item == "a2" and app.session.is_labeled("a1")
    assert app.canvas.keymap["submit"] == ["Shift+Enter"]


def test_text_is_escaped(app):
    key(app, "class_3")
    draw(app, (1, 1, 9, 9))
    assert app.session.value()[0].label == CLASSES[2]
    app.controls.show_error(CLASSES[2])
    assert "<script>" not in app.controls.messages.value
    assert "&lt;script&gt;" in app.controls.messages.value


def test_item_ids_are_escaped(tmp_path):
    df = image_frame(tmp_path, n=2, index=["<b>x</b>", "y"])
    a = BoxLabeler(df, image="path", classes=["c"])
    try:
        assert "<b>x</b>" not in a.controls.counter.value
        assert "&lt;b&gt;x&lt;/b&gt;" in a.controls.counter.value
    finally:
        a.close()


def test_cell_code_changes_show_in_the_widget(app):
    app.session.draw_box(5, 5, 25, 25, label="dog")
    assert app.canvas.boxes[0]["label"] == "dog"
    app.session.goto("a3")
    assert app.canvas.item == "a3"


def test_keymap_remaps_and_validates():
    km = resolve_keymap({"next": ["j", "ArrowDown"], "undo": "Z"})
    assert km["next"] == ("j", "ArrowDown") and km["undo"] == ("Shift+z",)
    assert km["nudge_down"] == ()  # ArrowDown was taken by next
    assert km["nudge_up"] == ("ArrowUp",)
    assert km["redo"] == ("Ctrl+Shift+z", "Ctrl+y", "Shift+u")
    with pytest.raises(InputError, match="unknown keymap action"):
        resolve_keymap({"fly": "f"})


def test_keymap_reaches_the_browser_and_help(frame):
    a = BoxLabeler(frame, image="path", classes=["c"], keymap={"next": "j"})
    try:
        assert a.canvas.keymap["next"] == ["j"]
        assert not any("n" in keys for keys in a.canvas.keymap.values())
        row = next(r for r in a.canvas.help if r[0] == "next")
        assert row[2] == ["j"]
    finally:
        a.close()


def test_existing_session_and_argument_errors(frame):
    s = BoxSession(frame, image="path", classes=["c"])
    a = BoxLabeler(session=s)
    assert a.session is s
    a.close()
    with pytest.raises(InputError):
        BoxLabeler(frame, image="path")
    with pytest.raises(InputError):
        BoxLabeler(frame, session=s)


def test_store_resumes(tmp_path, frame):
    store = tmp_path / "l.sqlite"
    a = BoxLabeler(frame, image="path", classes=["c"], store=store)
    draw(a, (1, 2, 30, 40))
    key(a, "next")
    a.close()
    a.session.close()
    df2 = frame.drop(columns=["boxes"])
    b = BoxLabeler(df2, image="path", classes=["c"], store=store)
    try:
        assert b.canvas.item == "a1"  # where the annotator stopped
        assert coords(b.session.value("a0")[0]) == (1, 2, 30, 40)
        assert df2.loc["a0", "boxes"][0]["y1"] == 40
    finally:
        b.close()
        b.session.close()


def test_large_images_are_resized_once_and_keep_their_coordinates(tmp_path):
    p = tmp_path / "big.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (2000, 3000, 3), dtype=np.uint8)).save(p, quality=80)
    import pandas as pd

    df = pd.DataFrame({"path": [str(p)]}, index=["big"])
    a = BoxLabeler(df, image="path", classes=["c"], max_side=1000)
    try:
        c = a.canvas
        assert (c.image_width, c.image_height) == (3000, 2000)  # boxes in file pixels
        with Image.open(__import__("io").BytesIO(c.image)) as im:
            assert max(im.size) == 1000
        draw(a, (100, 100, 2900, 1900))
        assert coords(a.session.value()[0]) == (100, 100, 2900, 1900)
    finally:
        a.close()


def test_next_image_travels_ahead_once(app, frame):
    c = app.canvas
    files = {k: open(p, "rb").read() for k, p in frame["path"].items()}  # noqa: SIM115
    assert c.next_item == "a1" and c.slot_0["item"] == "a1"
    assert c.slot_0["image"] == files["a1"] and c.slot_0["boxes"] == []
    key(app, "next")
    assert c.item == "a1" and c.image == b"" and c.image_slot == 0  # no bytes sent again
    assert c.slot_1["item"] == "a2" and c.slot_1["image"] == files["a2"]
    assert c.next_item == "a2"
    key(app, "next")
    assert c.item == "a2" and c.image_slot == 1 and c.slot_0["item"] == "a3"
    key(app, "previous")  # not ahead: its bytes come with the item
    assert c.item == "a1" and c.image == files["a1"] and c.image_slot == -1
    assert c.next_item == "a2"


def test_next_items_are_prefetched(app):
    deadline = time.time() + 10
    while not all(app.prefetcher.cached(p) for p in (1, 2, 3)) and time.time() < deadline:
        time.sleep(0.01)
    assert all(app.prefetcher.cached(p) for p in (1, 2, 3))


def test_prefetcher_reports_broken_images_and_retries(tmp_path):
    df = image_frame(tmp_path, n=2)
    pf = ImagePrefetcher(BoxSession(df, image="path", classes=["c"]).items)
    path = df.iloc[1]["path"]
    with open(path, "rb") as f:
        good = f.read()
    with open(path, "wb") as f:
        f.write(b"not an image")
    with pytest.raises(Exception, match="image"):
        pf.get(1)
    with open(path, "wb") as f:
        f.write(good)
    assert pf.get(1).data == good
    pf.close()


def test_broken_image_is_a_notice_not_a_crash(tmp_path):
    df = image_frame(tmp_path, n=2)
    with open(df.iloc[0]["path"], "wb") as f:
        f.write(b"garbage")
    a = BoxLabeler(df, image="path", classes=["c"])
    try:
        assert "cannot show the image" in a.canvas.notice
        assert "Error" in a.controls.messages.value
        key(a, "next")
        assert a.canvas.notice == "" and (a.canvas.image or a.canvas.image_slot >= 0)
    finally:
        a.close()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(-50, 150), st.floats(-50, 130), st.floats(-50, 150),
                          st.floats(-50, 130)), min_size=1, max_size=5))
def test_drawn_boxes_land_clipped_in_session_and_dataframe(frame, boxes):
    frame = frame.drop(columns=["boxes"], errors="ignore")  # a fresh DataFrame per example
    a = BoxLabeler(frame, image="path", classes=["c"])
    try:
        expected = []
        for x0, y0, x1, y1 in boxes:
            draw(a, (x0, y0, x1, y1))
            lo_x, hi_x = sorted((min(max(x0, 0), 100), min(max(x1, 0), 100)))
            lo_y, hi_y = sorted((min(max(y0, 0), 80), min(max(y1, 0), 80)))
            if hi_x > lo_x and hi_y > lo_y:
                expected.append((lo_x, lo_y, hi_x, hi_y))
        flat = [v for b in expected for v in b]
        got = [v for b in a.session.value() for v in coords(b)]
        assert got == pytest.approx(flat)
        cells = frame.loc["a0", "boxes"] or []
        assert [d[k] for d in cells for k in ("x0", "y0", "x1", "y1")] == pytest.approx(flat)
    finally:
        a.close()


def test_controls_standalone_api(frame):
    s = BoxSession(frame, image="path", classes=["c"])
    c = Controls(s, buttons=("undo", "submit"), picker=None)
    assert set(c.buttons) == {"undo", "submit"} and c.picker is None
    assert c.call(lambda: 1 / 0) is None and "ZeroDivisionError" in c.messages.value
    c.buttons["submit"].click()
    assert s.current.key == "a1" and c.messages.value == ""
    hits = []
    c.add_button("mine", "Mine", lambda: hits.append(1))
    c.buttons["mine"].click()
    assert hits == [1]
    assert "1 / 5" not in c.progress_text.value and "0 / 5 done" in c.progress_text.value
    with pytest.raises(ValueError):
        Controls(s, buttons=("fly",))
    c.close()


def test_no_widget_leaks(frame):
    from ipywidgets.widgets.widget import _instances

    before = len(_instances)
    for _ in range(3):
        a = BoxLabeler(frame, image="path", classes=["c"])
        draw(a, (1, 1, 5, 5))
        a.close()
    assert len(_instances) == before, [type(w).__name__ for w in _instances.values()][-20:]


def test_javascript_geometry_matches_python(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed (the JS mirror is checked where it is)")
    import json

    from nblabel.widgets import geometry as g

    rng = np.random.default_rng(1)
    cases = []
    for _ in range(200):
        v = [float(rng.uniform(0.05, 20)), float(rng.uniform(-500, 500)),
             float(rng.uniform(-500, 500))]
        box = sorted(rng.uniform(0, 900, 2).tolist()) + sorted(rng.uniform(0, 700, 2).tolist())
        box = [box[0], box[2], box[1] + 1, box[3] + 1]
        h = str(rng.choice(["nw", "n", "ne", "e", "se", "s", "sw", "w", "move"]))
        cases.append({"v": v, "p": rng.uniform(-100, 1000, 2).tolist(), "box": box, "h": h,
                      "d": rng.uniform(-300, 300, 2).tolist(), "f": float(rng.uniform(0.2, 5))})
    from nblabel.widgets.box_canvas import BoxCanvas

    module = tmp_path / "box_canvas.mjs"  # the module the browser gets (with _keys.js)
    module.write_text(str(BoxCanvas._esm))
    js = module.as_uri()
    script = f"""
    const m = await import({json.dumps(js)});
    const cases = JSON.parse(process.argv[1]);
    const out = cases.map((c) => {{
      const v = {{zoom: c.v[0], panX: c.v[1], panY: c.v[2]}};
      const z = m.zoomAbout(v, c.f, c.p[0], c.p[1], 0.01);
      return {{c2i: m.canvasToImage(c.p[0], c.p[1], v), i2c: m.imageToCanvas(c.p[0], c.p[1], v),
               drag: m.dragBox(c.box, c.h, c.d[0], c.d[1], 1000, 800),
               hit: m.hitTest([c.box], c.p[0], c.p[1], 5), zoom: [z.zoom, z.panX, z.panY],
               fit: m.fitView(c.box[2], c.box[3], 800, 560)}};
    }});
    console.log(JSON.stringify(out));
    """
    res = subprocess.run([node, "--input-type=module", "-e", script, json.dumps(cases)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    for c, o in zip(cases, json.loads(res.stdout)):
        v = g.View(*c["v"])
        assert o["c2i"] == pytest.approx(list(g.canvas_to_image(*c["p"], v)))
        assert o["i2c"] == pytest.approx(list(g.image_to_canvas(*c["p"], v)))
        assert o["drag"] == pytest.approx(list(g.drag_box(tuple(c["box"]), c["h"], *c["d"],
                                                          1000, 800)))
        hit = g.hit_test([tuple(c["box"])], *c["p"], 5)
        assert o["hit"] == (None if hit is None else list(hit))
        z = g.zoom_about(v, c["f"], *c["p"], min_zoom=0.01)
        assert o["zoom"] == pytest.approx([z.zoom, z.pan_x, z.pan_y])
        f = g.fit_view(c["box"][2], c["box"][3], 800, 560)
        assert o["fit"] == {"zoom": pytest.approx(f.zoom), "panX": pytest.approx(f.pan_x),
                            "panY": pytest.approx(f.pan_y)}


def test_close_closes_the_store_it_opened(tmp_path):
    from nblabel.data.datasets import food_sample
    from nblabel.errors import StoreError
    from nblabel.session import BoxSession
    from nblabel.widgets.boxes import BoxLabeler

    images, _ = food_sample()
    own = BoxLabeler(images.head(3).copy(), image="path", classes=["a"],
                     store=tmp_path / "own.sqlite")
    own.close()
    with pytest.raises(StoreError, match="closed"):
        own.session.store.count()
    session = BoxSession(images.head(3).copy(), image="path", classes=["a"])
    borrowed = BoxLabeler(session=session)
    borrowed.close()
    assert session.store.count() == 0  # a session the user passed in stays open


def test_counter_and_rate_count_items_and_never_go_back_on_reorder(app):
    """Issue 15.4/15.5: "item N of M" is the position in what is left (done + 1), not the
    queue rank, and the rate is items per hour."""
    s = app.session
    draw(app, (1, 1, 9, 9))
    draw(app, (20, 20, 40, 40))
    assert "item 1 of 5" in app.controls.counter.value  # still on the first item
    key(app, "next")
    assert "item 2 of 5" in app.controls.counter.value and "4 left" in app.controls.counter.value
    s.queue.reorder(np.array([0.0, 0.1, 0.2, 0.3, 0.9]))  # new scores: this item ranks last
    app.controls.refresh()
    assert "item 2 of 5" in app.controls.counter.value
    assert "items/h" in app.controls.progress_text.value
    assert "labels/h" not in app.controls.progress_text.value


def test_snap_key_tightens_the_selected_edge_or_a_suggestion(tmp_path):
    df = object_frame(tmp_path)
    app = BoxLabeler(df, image="path", classes=["obj"], assist=False)
    try:
        draw(app, (52, 33, 170, 128))
        app.handle({"type": "action", "action": "snap_edge",
                    "selection": {"type": "box", "index": 0, "edge": "e"}})
        (b,) = app.session.value()
        assert abs(b.x1 - 160) <= 1.5 and (b.x0, b.y0, b.y1) == (52, 33, 128)
        # no edge selected: all four; on a suggestion: snapped, then accepted
        app.session.suggest(app.session.current.key, [Box("obj", 55, 35, 165, 125)],
                            source="model", score=0.5)
        app.handle({"type": "action", "action": "snap_edge",
                    "selection": {"type": "suggestion", "index": 0, "box": 0}})
        got = app.session.value()[1]
        assert all(abs(v - w) <= 1.5 for v, w in zip(coords(got), (60, 40, 160, 120)))
        assert app.session.suggestions() == []
        app.handle({"type": "action", "action": "snap_edge", "selection": {}})
        assert "select a box first" in app.controls.messages.value
        assert all(app.keymap[a] for a in ("next_edge", "snap_edge", "extreme_clicks"))
    finally:
        app.close()


def test_running_the_labeler_cell_again_closes_the_earlier_labeler(frame, tmp_path):
    store = str(tmp_path / "again.sqlite")
    first = BoxLabeler(frame, image="path", classes=CLASSES, store=store)
    draw(first, (10, 10, 50, 50))
    second = BoxLabeler(frame, image="path", classes=CLASSES, store=store)
    try:
        assert first._closed and not second._closed
        assert len(second.session.value("a0")) == 1  # resumed: nothing lost
    finally:
        second.close()


def test_next_with_nothing_left_says_so(tmp_path):
    from nblabel.store.assign import Assignment

    frame = image_frame(tmp_path, n=2, size=(100, 80))
    store = str(tmp_path / "team.sqlite")
    a = BoxLabeler(frame, image="path", classes=CLASSES, store=store, annotator="a",
                   assignment=Assignment(), assist=False)
    try:
        draw(a, (10, 10, 50, 50))
        key(a, "next")
        draw(a, (10, 10, 50, 50))
        key(a, "next")  # both labeled: nowhere to go
        assert "all 2 images are labeled" in a.controls.messages.value
    finally:
        a.close()
