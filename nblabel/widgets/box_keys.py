"""The box labeler's actions, default keys, help rows and class colours.

Keymaps have the one shape of :mod:`nblabel.widgets._protocol`: ``{action: (keys...)}``
with canonical key names (``Ctrl+z`` undo; ``Ctrl+Shift+z``, ``Ctrl+y`` and ``Shift+u``
redo).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nblabel.widgets._protocol import Keymap
from nblabel.widgets._protocol import resolve_keymap as _resolve

__all__ = ["ACTIONS", "DEFAULT_KEYMAP", "PALETTE", "help_rows", "resolve_keymap"]

#: action -> (description shown in the help overlay, default keys)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "next": ("next item", ("n", "PageDown")),
    "previous": ("previous item", ("p", "PageUp")),
    "skip": ("skip this item (it comes back last)", ("s",)),
    "submit": ("done with this item, even with no boxes: next item", ("Shift+Enter",)),
    "accept": ("accept the selected (or best) suggestion", ("Enter",)),
    "accept_all": ("accept all suggestions", ("a",)),
    "reject": ("reject the selected (or best) suggestion", ("r",)),
    "delete": ("delete the selected box (or reject a suggestion)", ("Delete", "Backspace", "x")),
    "undo": ("undo", ("Ctrl+z", "u")),
    "redo": ("redo", ("Ctrl+Shift+z", "Ctrl+y", "Shift+u")),
    **{f"class_{i}": (f"class {i} for the next boxes (and a box you selected)", (str(i),))
       for i in range(1, 10)},
    "next_box": ("select the next box or suggestion", ("Tab",)),
    "next_edge": ("select an edge of the selected box: left, top, right, bottom (or click "
                  "the edge); the arrows then move only that edge", ("e",)),
    "snap_edge": ("snap the selected edge (no edge selected: all four) to the nearest strong "
                  "boundary in the image", ("b",)),
    "extreme_clicks": ("extreme clicks: click the object's left-, top-, right- and bottom-most "
                       "points (a box of the class picked last)", ("c",)),
    "deselect": ("select nothing / close help", ("Escape",)),
    "nudge_left": ("move the selected box left (Shift: 10 px)", ("ArrowLeft",)),
    "nudge_right": ("move the selected box right (Shift: 10 px)", ("ArrowRight",)),
    "nudge_up": ("move the selected box up (Shift: 10 px)", ("ArrowUp",)),
    "nudge_down": ("move the selected box down (Shift: 10 px)", ("ArrowDown",)),
    "zoom_in": ("zoom in (also: wheel when focused, Ctrl+wheel)", ("+", "=")),
    "zoom_out": ("zoom out", ("-",)),
    "zoom_reset": ("fit the image", ("0",)),
    "help": ("show / hide this help", ("?",)),
}
#: action -> default keys (the one keymap shape)
DEFAULT_KEYMAP: Keymap = {a: keys for a, (_d, keys) in ACTIONS.items()}

#: class colours (Tableau 10), reused cyclically
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")


def resolve_keymap(keymap: Mapping[str, str | Sequence[str] | None] | None) -> Keymap:
    """The default keys with the user's overrides.

    Parameters
    ----------
    keymap : dict or None
        ``{action: key or [keys]}``; a key given to an action is taken away from any
        other action. Key names as :func:`~nblabel.widgets._protocol.key_name` writes
        them (``"n"``, ``"Enter"``, ``"ArrowLeft"``, ``"?"``, ``"Ctrl+z"``); ``Ctrl``
        also matches Cmd on macOS.

    Returns
    -------
    Keymap
        ``{action: (keys...)}`` for every action of :data:`ACTIONS`.
    """
    return _resolve(DEFAULT_KEYMAP, keymap, ACTIONS)


def help_rows(keymap: Keymap) -> list[list[Any]]:
    """The rows of the help overlay: ``[action, description, [keys]]``, classes as one."""
    rows: list[list[Any]] = []
    class_keys = [k for i in range(1, 10) for k in keymap.get(f"class_{i}", ())]
    for a, (desc, _k) in ACTIONS.items():
        if a == "class_1":
            rows.append(["class_N", "class by number for the next boxes you draw (pick, then "
                         "draw); a box you clicked or selected with Tab changes too "
                         "(a new box is not selected)", class_keys])
        elif not a.startswith("class_"):
            rows.append([a, desc, list(keymap.get(a, ()))])
    return rows
