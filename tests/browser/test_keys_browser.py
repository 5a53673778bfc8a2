"""One key-name convention in a real JupyterLab: the same key events go to the box canvas and
to the tag picker, both send the same names to the kernel, and the same keys do the same
thing (Ctrl+Z undoes; Ctrl+Shift+Z, Ctrl+Y and Shift+U redo) -- checked on the kernel's
DataFrames, not on the screen.

Fixtures come from ``tests/browser/conftest.py`` (the harness is ``nblabel.bench._browser``).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from nblabel.bench._browser import wait_for

ROOT = Path(__file__).resolve().parents[2]

# the same overrides for both labelers: every action here exists in both
KEYMAP = {"undo": ["Ctrl+z"], "redo": ["Ctrl+Shift+z", "Ctrl+y", "Shift+u"],
          "skip": ["Ctrl+ArrowRight"], "previous": ["Ctrl+ArrowLeft"],
          "submit": ["Shift+Enter"]}

SETUP = f"""
import nblabel, pandas as pd
images, _ = nblabel.datasets.food_sample()
images = images.head(3).copy()
text = pd.DataFrame({{"text": ["first", "second", "third"]}}, index=["t0", "t1", "t2"])
seen = {{"box": [], "tags": []}}  # the key names each widget sent, in order
box = nblabel.BoxLabeler(images, image="path", classes=["apple", "coin"], assist=False,
                         keymap={KEYMAP!r})
tags = nblabel.TagLabeler(text, text="text", tags=["x", "y"], keymap={KEYMAP!r})
box.canvas.on_intent(lambda m: m.get("type") == "key" and seen["box"].append(m["key"]))
tags.picker.on_intent(lambda m: m.get("type") == "key" and seen["tags"].append(m["key"]))
box.session.draw_box(10, 10, 60, 60, label="apple")
tags.session.set_tags(["x"])
first_box, first_text = box.session.current.key, tags.session.current.key
"""

# (Playwright key, the name both widgets must send, labels on the first item after it)
UNDO_REDO = [
    ("Control+z", "Ctrl+z", 0),
    ("Control+Shift+Z", "Ctrl+Shift+z", 1),
    ("Meta+z", "Ctrl+z", 0),  # Cmd on macOS
    ("Control+y", "Ctrl+y", 1),
    ("Control+z", "Ctrl+z", 0),
    ("Shift+U", "Shift+u", 1),
]
# (Playwright key, name, position of the current item after it)
MOVES = [
    ("Control+ArrowRight", "Ctrl+ArrowRight", 1),  # skip
    ("Control+ArrowLeft", "Ctrl+ArrowLeft", 0),  # previous
    ("Shift+Enter", "Shift+Enter", 1),  # submit, next
]

COUNT = {"box": "len(box.session.value(first_box))",
         "tags": "len(tags.session.value(first_text))"}
POSITION = {"box": "box.session.current.position", "tags": "tags.session.current.position"}


def _settle(kernel_json, page, expr: str, want: object) -> object:
    return wait_for(lambda: (lambda v: v if v == want else None)(kernel_json(page, expr)),
                    timeout=15.0) or kernel_json(page, expr)


def test_same_keys_same_names_same_effect(lab_server, page, notebook_dir, write_notebook,
                                          open_lab, kernel_json, screenshot):
    write_notebook(notebook_dir / "keys.ipynb", [SETUP, "box", "tags"])
    open_lab(page, lab_server, "keys.ipynb")
    canvas = page.locator(".nbl-canvas")
    canvas.wait_for()
    page.locator(".nbl-tagger").wait_for()
    # the kernel runs the code of this checkout
    assert kernel_json(page, "nblabel.__file__").startswith(str(ROOT)), \
        kernel_json(page, "nblabel.__file__")
    focus = {"box": lambda: canvas.click(position={"x": 5, "y": 5}),
             "tags": lambda: page.locator(".nbl-tagger .nbl-input").click()}
    for widget in ("box", "tags"):
        focus[widget]()
        assert _settle(kernel_json, page, COUNT[widget], 1) == 1
        for key, _name, want in UNDO_REDO:
            page.keyboard.press(key)
            got = _settle(kernel_json, page, COUNT[widget], want)
            assert got == want, (widget, key, got)
        for key, _name, want in MOVES:
            page.keyboard.press(key)
            got = _settle(kernel_json, page, POSITION[widget], want)
            assert got == want, (widget, key, got)
            focus[widget]()  # a new item may move the focus
    names = [name for _k, name, _w in UNDO_REDO + MOVES]
    seen = kernel_json(page, "seen")
    assert seen["box"] == names, seen
    assert seen["tags"] == names, seen
    # the submitted first items keep what the keys left (the redone label)
    assert kernel_json(page, "len(images.loc[first_box, 'boxes'])") == 1
    assert kernel_json(page, "text.loc[first_text, 'tags']") == ["x"]
    expect(page.locator(".nbl-box-labeler .nblabel-messages")).not_to_contain_text("rror")
    expect(page.locator(".nbl-labeler .nblabel-messages")).not_to_contain_text("rror")
    screenshot(page.locator(".nbl-box-labeler"), "keys-box-labeler")
    screenshot(page.locator(".nbl-labeler"), "keys-tag-labeler")
    kernel_json(page, "box.close() or tags.close()")
    assert not page.page_errors, page.page_errors
