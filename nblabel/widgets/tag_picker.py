"""The browser half of the tag/class labelers: an anywidget that shows one item, its tag
chips, a type-to-filter completion box and numbered suggestions, and reports intents.

It holds no labeling logic: it renders JSON-safe state set from Python and sends every user
intent (``add``, ``remove``, ``accept`` a suggestion, a bound ``key``) back as a custom
message, which :class:`~nblabel.widgets.tags.TagLabeler` turns into session calls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

__all__ = ["TagPicker", "key_name"]

_HERE = Path(__file__).parent
_MODIFIERS = ("Ctrl", "Alt", "Shift")


def key_name(key: str) -> str:
    """Canonical spelling of a key chord, as the browser side reports it.

    ``"ctrl+Z"`` -> ``"Ctrl+z"``, ``"shift+ctrl+z"`` -> ``"Ctrl+Shift+z"``,
    ``"enter"`` -> ``"Enter"``. Single characters are lower case; modifiers come in the
    order Ctrl, Alt, Shift (Cmd/Meta count as Ctrl).
    """
    parts = str(key).split("+") if key != "+" else ["+"]
    if parts[-1] == "" and len(parts) > 1:  # "Ctrl++": the key is "+"
        parts = [*parts[:-2], "+"]
    *mods, base = parts
    canon = set()
    for m in mods:
        m = m.strip().capitalize()
        m = {"Control": "Ctrl", "Cmd": "Ctrl", "Meta": "Ctrl", "Option": "Alt"}.get(m, m)
        if m not in _MODIFIERS:
            raise ValueError(f"unknown modifier {m!r} in key {key!r}; use Ctrl, Alt or Shift")
        canon.add(m)
    if len(base) == 1:
        base = base.lower()
    elif base.lower() in ("enter", "escape", "tab", "backspace", "delete", "space", "home", "end"):
        base = base.capitalize()
    elif base.lower().startswith("arrow"):
        base = "Arrow" + base[5:].capitalize()
    elif base.lower().startswith("page"):
        base = "Page" + base[4:].capitalize()
    return "+".join([*(m for m in _MODIFIERS if m in canon), base])


class TagPicker(anywidget.AnyWidget):
    """Item view + tag chips + completion + suggestions (see ``tag_picker.js``).

    Traits (all synced, JSON-safe)
    ------------------------------
    text : str
        Item text, shown verbatim (``textContent``): HTML in it is displayed, not run.
    image, image_format : bytes, str
        Encoded image (JPEG/PNG bytes) and its format; empty bytes for a text item.
    chips : list of {"tag", "kind"}
        Current tags; ``kind`` is "prefill" (from the pre-fill column), "parent" (implied by
        a child tag) or "tag".
    suggestions : list of {"tag", "p", "on"}
        Numbered suggestions (key 1 is the first); ``p`` a probability or None.
    choices : list of [tag, [aliases]]
        What the completion box filters.
    keymap : dict
        Key chord -> action name; bound keys are sent to Python, all keys are swallowed
        while the picker has focus.
    """

    _esm = _HERE / "tag_picker.js"
    _css = _HERE / "tag_picker.css"

    text = t.Unicode("").tag(sync=True)
    image = t.Bytes(b"").tag(sync=True)
    image_format = t.Unicode("jpeg").tag(sync=True)
    text_height = t.Unicode("16em").tag(sync=True)
    image_height = t.Unicode("480px").tag(sync=True)
    chips = t.List(t.Dict()).tag(sync=True)
    suggestions = t.List(t.Dict()).tag(sync=True)
    suggestion_title = t.Unicode("suggested:").tag(sync=True)
    choices = t.List().tag(sync=True)
    allow_new = t.Bool(False).tag(sync=True)
    max_completions = t.Int(20).tag(sync=True)  # all shown: the list scrolls in its box
    keymap = t.Dict().tag(sync=True)
    placeholder = t.Unicode("type a tag, Enter to add").tag(sync=True)
    hint = t.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: list[Callable[[dict[str, Any]], None]] = []
        self.on_msg(self._receive)

    def on_intent(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """Call ``handler(message)`` for each intent the browser sends."""
        self._handlers.append(handler)

    def _receive(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or "type" not in content:
            return
        for h in list(self._handlers):
            h(content)

    def focus(self) -> None:
        """Ask the browser to put the keyboard focus in the tag box."""
        self.send({"type": "focus"})
