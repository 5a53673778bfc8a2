"""The box editor's front end as an anywidget (ESM module ``box_canvas.js``, no JS build).

The image of the item "next" is expected to show travels ahead in a slot trait, so the
browser paints it on the key press and the kernel confirms (or corrects) right after; each
image is still sent once.

The browser owns the hot interaction: rubber-band drawing, moving and resizing boxes,
zoom and pan, hover cursors, the help overlay. Python receives only committed edits
(on mouse-up) and discrete key actions as custom messages, and sends the state to draw as
synced traits (so a reloaded page redraws the same picture).

Messages, key names and the keymap shape are those of :mod:`nblabel.widgets._protocol`
(the browser sends ``key``, ``action``, ``draw``, ``update``, ``edit_suggestion``; the kernel
sends ``select`` and ``flash``).

Class model: pick, then draw. Class keys and the legend set the class of the next boxes; a
box just drawn is not selected, so only a box the user clicked (or reached with Tab) is
relabeled by a class key.
"""

from __future__ import annotations

from pathlib import Path

import traitlets as t

from nblabel.widgets._protocol import ProtocolWidget, compose_esm

__all__ = ["BoxCanvas"]

_HERE = Path(__file__).parent


class BoxCanvas(ProtocolWidget):
    """Image + boxes + interaction layers; renders state, emits intents.

    Use it through :class:`nblabel.widgets.BoxLabeler`; on its own it only draws what its
    traits say and forwards messages to the callbacks given to :meth:`on_intent`.
    """

    _esm = compose_esm("box_canvas.js")
    _css = _HERE / "box_canvas.css"

    # the image: encoded bytes (JPEG/PNG) and the size box coordinates refer to
    image = t.Bytes(b"").tag(sync=True)
    image_format = t.Unicode("jpeg").tag(sync=True)
    image_width = t.Int(0).tag(sync=True)
    image_height = t.Int(0).tag(sync=True)
    item = t.Unicode("").tag(sync=True)
    # the predicted next item, sent ahead so "next" paints without waiting for the kernel:
    # {"item", "image" (bytes), "format", "width", "height", "boxes", "suggestions"}
    slot_0 = t.Dict().tag(sync=True)
    slot_1 = t.Dict().tag(sync=True)
    image_slot = t.Int(-1).tag(sync=True)  # >= 0: the current image is in that slot
    next_item = t.Unicode("").tag(sync=True)  # the item "next" is expected to show
    # [{"label", "x0", "y0", "x1", "y1"}]
    boxes = t.List(t.Dict()).tag(sync=True)
    # [{"index", "source", "score", "boxes": [{...}]}]
    suggestions = t.List(t.Dict()).tag(sync=True)
    classes = t.List(t.Unicode()).tag(sync=True)
    colors = t.List(t.Unicode()).tag(sync=True)
    active_class = t.Unicode("").tag(sync=True)
    # {"type": "box", "index": i} | {"type": "suggestion", "index": s, "box": j} | {}
    selection = t.Dict().tag(sync=True)
    keymap = t.Dict().tag(sync=True)  # action -> [key names] (the one keymap shape)
    help = t.List(t.List()).tag(sync=True)  # [[action, description, [keys]]]
    width = t.Int(800).tag(sync=True)
    height = t.Int(560).tag(sync=True)
    notice = t.Unicode("").tag(sync=True)  # shown over the canvas (e.g. image failed)
    # bumped on every state push so the browser redraws even if values are unchanged
    # (an optimistic local edit the kernel refused must be drawn back)
    revision = t.Int(0).tag(sync=True)
    # exposes window.__nblabel_measure (paint timestamps) for benchmarks only
    measure = t.Bool(False).tag(sync=True)
