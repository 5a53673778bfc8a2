"""The browser half of the tag/class labelers: an anywidget that shows one item, its tag
chips, a type-to-filter completion box and numbered suggestions, and reports intents.

It holds no labeling logic: it renders JSON-safe state set from Python and sends every user
intent (``add``, ``remove``, ``accept`` a suggestion, a bound ``key``) back as a custom
message (:mod:`nblabel.widgets._protocol`), which :class:`~nblabel.widgets.tags.TagLabeler`
turns into session calls.
"""

from __future__ import annotations

from pathlib import Path

import traitlets as t

from nblabel.widgets._protocol import ProtocolWidget, compose_esm, key_name

__all__ = ["TagPicker", "key_name"]  # key_name: re-exported from _protocol

_HERE = Path(__file__).parent


class TagPicker(ProtocolWidget):
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
        Action -> [key names] (:mod:`nblabel.widgets._protocol`); bound keys are sent to
        Python as ``key`` messages, all keys are swallowed while the picker has focus.
    """

    _esm = compose_esm("tag_picker.js")
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

    def focus(self) -> None:
        """Ask the browser to put the keyboard focus in the tag box."""
        self.send({"type": "focus"})
