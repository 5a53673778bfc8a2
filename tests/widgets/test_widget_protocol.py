"""The one widget protocol (nblabel/widgets/_protocol.py and _keys.js): key names, keymaps,
messages, and the one shape of the labelers. The real-browser check of the same key events
on both widgets is tests/browser/test_keys_browser.py."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from nblabel.errors import InputError
from nblabel.widgets._protocol import (
    action_for,
    compose_esm,
    key_name,
    parse_message,
    resolve_keymap,
)
from nblabel.widgets.box_canvas import BoxCanvas
from nblabel.widgets.tag_picker import TagPicker

# (keydown as the browser reports it, the canonical name both sides must give)
EVENTS = [
    ({"key": "z", "ctrlKey": True}, "Ctrl+z"),
    ({"key": "Z", "ctrlKey": True, "shiftKey": True}, "Ctrl+Shift+z"),
    ({"key": "z", "metaKey": True, "shiftKey": True}, "Ctrl+Shift+z"),  # Cmd on macOS
    ({"key": "y", "ctrlKey": True}, "Ctrl+y"),
    ({"key": "U", "shiftKey": True}, "Shift+u"),
    ({"key": "U"}, "u"),  # Caps Lock: no Shift, the same key as "u"
    ({"key": "n"}, "n"),
    ({"key": "?", "shiftKey": True}, "?"),
    ({"key": "+", "shiftKey": True}, "+"),
    ({"key": "Enter", "shiftKey": True}, "Shift+Enter"),
    ({"key": "ArrowRight", "ctrlKey": True}, "Ctrl+ArrowRight"),
    ({"key": " "}, "Space"),
    ({"key": "3"}, "3"),
    ({"key": "é", "altKey": True}, "Alt+é"),
    ({"key": "Shift", "shiftKey": True}, None),  # a modifier alone
]


@pytest.mark.parametrize(("written", "canonical"), [
    ("ctrl+Z", "Ctrl+z"),  # the case of a letter in a Ctrl chord does not matter
    ("Ctrl+Z", "Ctrl+z"),
    ("shift+control+z", "Ctrl+Shift+z"),
    ("Cmd+Shift+Z", "Ctrl+Shift+z"),
    ("U", "Shift+u"),  # an upper-case letter alone is that letter with Shift
    ("Shift+U", "Shift+u"),
    ("u", "u"),
    ("enter", "Enter"),
    ("shift+enter", "Shift+Enter"),
    ("arrowright", "ArrowRight"),
    ("Ctrl+Right", "Ctrl+ArrowRight"),
    ("esc", "Escape"),
    (" ", "Space"),
    ("?", "?"),
    ("+", "+"),
    ("Ctrl++", "Ctrl++"),
    ("option+x", "Alt+x"),
])
def test_key_name(written, canonical):
    assert key_name(written) == canonical
    assert key_name(canonical) == canonical  # canonical names are fixed points


@pytest.mark.parametrize("bad", ["Hyper+x", "Shift+/", "Ctrl+", ""])
def test_key_name_refuses(bad):
    with pytest.raises(InputError):
        key_name(bad)


def test_python_names_of_the_browser_events():
    """What a user writes for each event gives the name the browser gives for it."""
    for event, name in EVENTS:
        if name is None:
            continue
        mods = [m for m, f in (("Ctrl", "ctrlKey"), ("Cmd", "metaKey"), ("Alt", "altKey"))
                if event.get(f)]
        key = event["key"]
        letter = key.lower() != key.upper()
        if event.get("shiftKey") and (letter or len(key) > 1):
            mods.append("Shift")
        assert key_name("+".join([*mods, key.lower() if letter else key])) == name


def test_one_keymap_shape_and_lookup():
    defaults = {"undo": ("Ctrl+z",), "redo": ("Ctrl+Shift+z", "Ctrl+y"), "next": ("n",),
                "nudge": ("ArrowLeft",)}
    km = resolve_keymap(defaults, {"next": ["j", "Ctrl+Z"]}, defaults)
    assert km == {"undo": (), "redo": ("Ctrl+Shift+z", "Ctrl+y"), "next": ("j", "Ctrl+z"),
                  "nudge": ("ArrowLeft",)}
    legacy = resolve_keymap(defaults, {"U": "redo", "Ctrl+y": None}, defaults)
    assert legacy["redo"] == ("Ctrl+Shift+z", "Shift+u")
    assert action_for(km, "ctrl+Z") == "next" and action_for(km, "J") is None
    assert action_for(km, "Shift+ArrowLeft") == "nudge"  # Shift on a named key: fallback
    assert action_for(km, "Shift+j") is None  # not on a character
    with pytest.raises(InputError, match="unknown keymap action"):
        resolve_keymap(defaults, {"fly": "f"}, defaults)


def test_both_labelers_use_the_same_undo_redo_keys():
    from nblabel.widgets.boxes import DEFAULT_KEYMAP as BOXES
    from nblabel.widgets.tags import DEFAULT_KEYMAP as TAGS

    for km in (BOXES, TAGS):
        assert all(isinstance(k, tuple) for k in km.values())  # action -> keys
        assert action_for(km, "Ctrl+Z") == "undo"
        assert action_for(km, "Ctrl+Shift+Z") == "redo" and action_for(km, "Ctrl+Y") == "redo"


def test_messages_have_one_type_field():
    assert parse_message({"type": "key", "key": "Ctrl+z"}) == {"type": "key", "key": "Ctrl+z"}
    assert parse_message({"kind": "draw", "box": [1, 2, 3, 4]})["type"] == "draw"  # earlier
    assert parse_message({"other": 1}) is None and parse_message("x") is None
    with pytest.raises(InputError, match="unknown message"):
        parse_message({"type": "explode"})
    with pytest.raises(InputError, match="lacks index"):
        parse_message({"type": "update", "box": [1, 2, 3, 4]})


def test_both_es_modules_carry_the_one_key_code():
    keys = compose_esm("box_canvas.js").split("// ---- box_canvas.js ----")[0]
    for widget, module in ((BoxCanvas, "box_canvas.js"), (TagPicker, "tag_picker.js")):
        esm = str(widget._esm)
        assert esm.startswith(keys) and esm.count("function keyName(") == 1, module
        assert "function actionFor(" in esm and '"kind"' not in esm and "kind:" not in esm


def _node_eval(module_source: str, tmp_path, name: str, body: str, arg: object) -> object:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed (the browser test checks the same in Chromium)")
    path = tmp_path / f"{name}.mjs"
    path.write_text(module_source)
    script = f"const m = await import({json.dumps(path.as_uri())});\n" \
             f"const arg = JSON.parse(process.argv[1]);\n{body}"
    res = subprocess.run([node, "--input-type=module", "-e", script, json.dumps(arg)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_javascript_key_names_match_python_in_both_modules(tmp_path):
    """The composed ES module of each widget names the same events the same way, and as
    key_name does; actionFor looks keys up as action_for does."""
    from nblabel.widgets.boxes import DEFAULT_KEYMAP

    km = {a: list(k) for a, k in DEFAULT_KEYMAP.items()}
    names = [n for _e, n in EVENTS]
    lookups = [*(n for n in names if n), "Shift+ArrowLeft", "Shift+n", "Ctrl+Shift+ArrowLeft"]
    body = ("console.log(JSON.stringify({names: arg.events.map((e) => m.keyName(e)),"
            " actions: arg.lookups.map((n) => m.actionFor(arg.km, n))}));")
    arg = {"events": [e for e, _n in EVENTS], "lookups": lookups, "km": km}
    out = {}
    for widget in (BoxCanvas, TagPicker):
        out[widget.__name__] = _node_eval(str(widget._esm), tmp_path, widget.__name__, body, arg)
    assert out["BoxCanvas"] == out["TagPicker"]
    assert out["BoxCanvas"]["names"] == names
    assert out["BoxCanvas"]["actions"] == [action_for(DEFAULT_KEYMAP, n) for n in lookups]


def test_both_labelers_are_their_widget(tmp_path):
    import ipywidgets as w
    import pandas as pd

    from nblabel.datasets import food_sample
    from nblabel.widgets.boxes import BoxLabeler
    from nblabel.widgets.tags import ClassLabeler, TagLabeler

    images, _ = food_sample()
    text = pd.DataFrame({"text": ["a", "b"]}, index=["t0", "t1"])
    labelers = [BoxLabeler(images.head(2).copy(), image="path", classes=["a"], assist=False),
                TagLabeler(text.copy(), text="text", tags=["x", "y"]),
                ClassLabeler(text.copy(), text="text", classes=["x", "y"])]
    try:
        for lab in labelers:
            assert isinstance(lab, w.VBox) and lab.widget is lab
            assert "nblabel-app" in lab._dom_classes
            assert lab.controls.header in lab.children and lab.controls.messages in lab.children
    finally:
        for lab in labelers:
            lab.close()
