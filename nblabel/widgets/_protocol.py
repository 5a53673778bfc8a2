"""The one protocol of nblabel's browser widgets (the box canvas and the tag picker).

Messages
--------
Every custom message, either way, is a JSON object whose ``"type"`` field names it
(:data:`TYPE`); the other fields are typed below. Browser -> kernel:

``key``             ``{"key": name}`` a bound key was pressed (its canonical name,
                    :func:`key_name`); the kernel looks its action up in the same keymap
``action``          ``{"action": name}`` a button, legend entry or double click asked for an
                    action with no key
``draw``            ``{"box": [x0, y0, x1, y1], "extreme"?: bool}`` a new box, image pixels
``update``          ``{"index": i, "box": [...]}`` box ``i`` moved or resized
``edit_suggestion`` ``{"index": s, "box_index": j, "box": [...]}`` a suggestion's box edited
``add`` ``remove`` ``accept``  ``{"tag": tag}`` tag chips and numbered suggestions

The box canvas adds ``"selection"`` (the selection when the key was pressed) and ``"seq"``
(its selection counter) to what it sends. Kernel -> browser: ``select``
(``{"selection", "seq"}``), ``flash`` (``{"text"}``) and ``focus`` (``{}``). The box
canvas's earlier field name ``"kind"`` is still read (:func:`parse_message`).

Key names
---------
One spelling on both sides, made by :func:`key_name` here and by ``keyName`` of ``_keys.js``
(prepended to both ES modules by :func:`compose_esm`): modifiers first, in the order
``Ctrl`` (Cmd and Meta count as Ctrl), ``Alt``, ``Shift``, then the key as
``KeyboardEvent.key`` names it, with letters in lower case and ``Shift`` written out:
``Ctrl+z`` undo, ``Ctrl+Shift+z`` redo, ``Shift+Enter``, ``Shift+u``. A character that is
not a letter carries its Shift already (``?``, ``+``), so no ``Shift+`` is written before
it. In a keymap an upper-case letter alone means that letter with Shift (``U`` is
``Shift+u``, what the browser reports for it); in a chord with Ctrl or Alt its case is
ignored (``Ctrl+Z`` is ``Ctrl+z``, as menus write it).

Keymaps
-------
One shape, :data:`Keymap`: ``{action: (key, ...)}``, the defaults of both labelers, what
they hold as ``.keymap`` and what the browser gets. Overrides given by the user are
``{action: key or [keys]}`` (``[]`` or ``None`` unbinds the action); the tag labeler's
earlier ``{key: action or None}`` form is still read. :func:`action_for` looks a key up:
a chord of Shift and a named key that is not bound falls back to the chord without Shift
(``Shift+ArrowLeft`` nudges 10 px), on both sides.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import anywidget

from nblabel.errors import InputError

__all__ = [
    "BROWSER_TYPES",
    "TYPE",
    "ActionMsg",
    "BrowserMsg",
    "DrawMsg",
    "EditSuggestionMsg",
    "FlashMsg",
    "FocusMsg",
    "KeyMsg",
    "Keymap",
    "ProtocolWidget",
    "SelectMsg",
    "Selection",
    "TagMsg",
    "UpdateMsg",
    "action_for",
    "compose_esm",
    "key_name",
    "parse_message",
    "resolve_keymap",
]

_HERE = Path(__file__).parent

#: the discriminator field of every message
TYPE = "type"
_LEGACY_TYPE = "kind"  # the box canvas's field before this module


class Selection(TypedDict, total=False):
    """What the box canvas has selected (``{}``: nothing)."""

    type: Literal["box", "suggestion"]
    index: int
    box: int  # a suggestion's box
    edge: Literal["w", "n", "e", "s"]


class KeyMsg(TypedDict):
    type: Literal["key"]
    key: str
    selection: NotRequired[Selection]
    seq: NotRequired[int]


class ActionMsg(TypedDict):
    type: Literal["action"]
    action: str
    selection: NotRequired[Selection]
    seq: NotRequired[int]


class DrawMsg(TypedDict):
    type: Literal["draw"]
    box: list[float]
    extreme: NotRequired[bool]
    seq: NotRequired[int]


class UpdateMsg(TypedDict):
    type: Literal["update"]
    index: int
    box: list[float]
    seq: NotRequired[int]


class EditSuggestionMsg(TypedDict):
    type: Literal["edit_suggestion"]
    index: int
    box_index: int
    box: list[float]
    seq: NotRequired[int]


class TagMsg(TypedDict):
    type: Literal["add", "remove", "accept"]
    tag: str


class SelectMsg(TypedDict):
    type: Literal["select"]
    selection: Selection
    seq: int | None


class FlashMsg(TypedDict):
    type: Literal["flash"]
    text: str


class FocusMsg(TypedDict):
    type: Literal["focus"]


BrowserMsg = KeyMsg | ActionMsg | DrawMsg | UpdateMsg | EditSuggestionMsg | TagMsg

#: browser -> kernel: type -> the fields it must have
BROWSER_TYPES: dict[str, tuple[str, ...]] = {
    "key": ("key",),
    "action": ("action",),
    "draw": ("box",),
    "update": ("index", "box"),
    "edit_suggestion": ("index", "box"),
    "add": ("tag",),
    "remove": ("tag",),
    "accept": ("tag",),
}


def parse_message(content: Any) -> BrowserMsg | None:
    """Check one message from the browser against the schema.

    Parameters
    ----------
    content : object
        The custom message as received.

    Returns
    -------
    BrowserMsg or None
        The message (a copy, its type in ``"type"``), or ``None`` for what is not an
        nblabel message (not a dict, or no type field).

    Raises
    ------
    InputError
        An unknown type, or a field the type needs is missing.
    """
    if not isinstance(content, dict):
        return None
    msg = dict(content)
    if TYPE not in msg and _LEGACY_TYPE in msg:
        msg[TYPE] = msg.pop(_LEGACY_TYPE)
    kind = msg.get(TYPE)
    if kind is None:
        return None
    if kind not in BROWSER_TYPES:
        raise InputError(f"unknown message from the browser: {kind!r}")
    missing = [f for f in BROWSER_TYPES[kind] if f not in msg]
    if missing:
        raise InputError(f"message {kind!r} from the browser lacks {', '.join(missing)}")
    return msg  # type: ignore[return-value]


# -- key names ----------------------------------------------------------------------------------
_MODIFIERS = ("Ctrl", "Alt", "Shift")
_MODIFIER_ALIASES = {"control": "Ctrl", "ctrl": "Ctrl", "cmd": "Ctrl", "meta": "Ctrl",
                     "command": "Ctrl", "alt": "Alt", "option": "Alt", "shift": "Shift"}
_NAMED = {n.lower(): n for n in (
    "Enter", "Escape", "Tab", "Backspace", "Delete", "Insert", "Space", "Home", "End",
    "PageUp", "PageDown", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown",
    *(f"F{i}" for i in range(1, 13)))}
_NAMED.update({"esc": "Escape", "del": "Delete", "return": "Enter", "spacebar": "Space",
               " ": "Space", "left": "ArrowLeft", "right": "ArrowRight", "up": "ArrowUp",
               "down": "ArrowDown"})


def _split(chord: str) -> tuple[list[str], str]:
    """``"Ctrl+Shift+z"`` -> ``(["Ctrl", "Shift"], "z")``; ``"Ctrl++"``: the key is ``+``."""
    if chord == "+":
        return [], "+"
    if chord.endswith("++"):
        return chord[:-2].split("+"), "+"
    *mods, base = chord.split("+")
    return mods, base


def _is_letter(ch: str) -> bool:
    return len(ch) == 1 and ch.lower() != ch.upper()


def key_name(key: str) -> str:
    """The canonical name of a key chord (the module docstring gives the rule).

    Parameters
    ----------
    key : str
        A chord as a user writes it: ``"ctrl+Z"``, ``"shift+control+z"``, ``"U"``,
        ``"enter"``, ``"?"``.

    Returns
    -------
    str
        ``"Ctrl+z"``, ``"Ctrl+Shift+z"``, ``"Shift+u"``, ``"Enter"``, ``"?"``: what the
        browser reports for that chord.

    Raises
    ------
    InputError
        An unknown modifier, an empty key, or Shift before a character that is not a
        letter (write the character it types: ``"?"``, not ``"Shift+/"``).
    """
    text = str(key)
    mods, base = _split(text)
    canon: set[str] = set()
    for m in mods:
        name = _MODIFIER_ALIASES.get(m.strip().lower())
        if name is None:
            raise InputError(f"unknown modifier {m!r} in key {text!r}; use Ctrl, Alt or Shift")
        canon.add(name)
    if base == "":
        raise InputError(f"no key in {text!r}")
    base = _NAMED.get(base.lower(), base) if len(base) > 1 or base == " " else base
    if _is_letter(base):
        if base != base.lower() and not canon & {"Ctrl", "Alt"}:
            canon.add("Shift")  # "U" is what the browser reports for Shift+u
        base = base.lower()
    elif len(base) == 1 and "Shift" in canon:
        raise InputError(f"{text!r}: Shift is part of the character; write the character "
                         "it types instead (e.g. '?' rather than 'Shift+/')")
    return "+".join([*(m for m in _MODIFIERS if m in canon), base])


# -- keymaps ------------------------------------------------------------------------------------
#: action -> its keys (canonical names), the one keymap shape of both labelers
Keymap = dict[str, tuple[str, ...]]


def resolve_keymap(
    defaults: Mapping[str, Sequence[str]],
    overrides: Mapping[str, Any] | None,
    is_action: Callable[[str], bool] | Collection[str],
) -> Keymap:
    """The defaults with the user's overrides applied.

    Parameters
    ----------
    defaults : dict
        ``{action: keys}``.
    overrides : dict or None
        ``{action: key or [keys]}`` replaces the keys of an action (``None`` or ``[]``
        unbinds it); ``{key: action or None}`` (the tag labeler's earlier form) adds one
        key to an action (``None`` unbinds that key). A key given to an action is taken
        away from every other action.
    is_action : callable or collection
        Which action names exist.

    Returns
    -------
    Keymap
        ``{action: (key, ...)}`` with canonical key names, in the order of ``defaults``.

    Raises
    ------
    InputError
        An unknown action or key name.
    """
    known = is_action if callable(is_action) else (lambda a, s=set(is_action): a in s)
    out: dict[str, list[str]] = {a: [key_name(k) for k in keys] for a, keys in defaults.items()}

    def take(keys: Collection[str]) -> None:
        for a in out:
            out[a] = [k for k in out[a] if k not in keys]

    for name, value in (overrides or {}).items():
        if known(name):  # {action: key or [keys]}
            keys = [] if value is None else [value] if isinstance(value, str) else list(value)
            keys = [key_name(k) for k in keys]
            take(set(keys))
            out[name] = keys
        elif value is None or (isinstance(value, str) and known(value)):  # {key: action}
            k = key_name(name)
            take({k})
            if value is not None:
                out.setdefault(value, []).append(k)
        else:
            raise InputError(f"unknown keymap action {name if value is None else value!r} "
                             f"(keymap entry {name!r}: {value!r}); give {{action: keys}}")
    return {a: tuple(keys) for a, keys in out.items()}


def action_for(keymap: Mapping[str, Sequence[str]], key: str) -> str | None:
    """The action bound to a key chord (any spelling), or ``None``.

    A chord of Shift and a named key (``Shift+ArrowLeft``) that is not bound falls back to
    the chord without Shift, as ``actionFor`` of ``_keys.js`` does.
    """
    name = key_name(key)
    for action, keys in keymap.items():
        if name in keys:
            return action
    mods, base = _split(name)
    if "Shift" in mods and len(base) > 1:
        return action_for(keymap, "+".join([*(m for m in mods if m != "Shift"), base]))
    return None


# -- the two anywidgets -----------------------------------------------------------------------
def compose_esm(module: str) -> str:
    """The ES module of a widget: ``_keys.js`` (key names, keymap look-up) and then
    ``module``, one source, so that both widgets run the same key code in any front end
    (JupyterLab, Notebook 7, Voila) without a JS build or a relative import."""
    keys = (_HERE / "_keys.js").read_text(encoding="utf-8")
    body = (_HERE / module).read_text(encoding="utf-8")
    return f"{keys}\n// ---- {module} ----\n{body}"


Intent = Callable[[dict[str, Any]], None]


class ProtocolWidget(anywidget.AnyWidget):
    """An anywidget that speaks this protocol: browser messages with a type field go to
    the callbacks given to :meth:`on_intent`; others are ignored."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._intents: list[Intent] = []
        self.on_msg(self._on_custom_msg)

    def on_intent(self, callback: Intent) -> None:
        """Call ``callback(content)`` for each message from the browser."""
        self._intents.append(callback)

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or not ({TYPE, _LEGACY_TYPE} & content.keys()):
            return
        for cb in list(self._intents):
            cb(content)
