"""``BoxLabeler``: the box labeling app (canvas + controls) bound to a :class:`BoxSession`.

The session is the controller. This module only translates what the browser sends
(committed edits, key actions) into session calls, and session changes into the state the
browser draws. Drag feedback, zoom and pan never leave the browser.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from nblabel.errors import InputError
from nblabel.session import BoxSession
from nblabel.shapes import Box
from nblabel.widgets._protocol import action_for, parse_message
from nblabel.widgets.box_assist import AssistantMixin
from nblabel.widgets.box_canvas import BoxCanvas
from nblabel.widgets.box_keys import ACTIONS, DEFAULT_KEYMAP, PALETTE, help_rows, resolve_keymap
from nblabel.widgets.controls import Controls, LabelerBox
from nblabel.widgets.prefetch import ImagePrefetcher

# ACTIONS, DEFAULT_KEYMAP, PALETTE and resolve_keymap live in box_keys (re-exported here)
__all__ = ["ACTIONS", "DEFAULT_KEYMAP", "PALETTE", "BoxLabeler", "resolve_keymap"]

log = logging.getLogger("nblabel")

#: labelers of this kernel by the SQLite file they opened: re-running a notebook cell
#: replaces the labeler it made before (its assistant stops instead of running on unseen)
_OPEN: dict[str, weakref.ref] = {}


def _store_key(store: Any) -> str | None:
    if isinstance(store, (str, Path)) and "://" not in str(store):
        return str(Path(store).resolve())
    return None


def _close_previous(store: Any) -> None:
    key = _store_key(store)
    ref = _OPEN.pop(key, None) if key is not None else None
    old = ref() if ref is not None else None
    if old is not None and not old._closed:
        log.info("nblabel: closing the earlier labeler on %s (this cell ran again)", key)
        old.close()


def _box_dict(b: Box) -> dict[str, Any]:
    return {"label": b.label, "x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1,
            "score": b.score, "source": b.source}


class BoxLabeler(AssistantMixin, LabelerBox):
    """Label boxes on the images of a DataFrame, in a notebook or a Voila app.

    The labeler is the widget (a VBox: header, canvas, toolbar, messages), as the tag and
    class labelers are; ``.widget`` is the labeler itself.

    Parameters
    ----------
    df : pandas.DataFrame, optional
        The user's DataFrame (its ``boxes`` column is updated in place).
    image : str
        Column of image paths.
    classes : list of str
        Box classes; keys 1-9 pick them.
    store : path, Store or None
        Where labels are logged (an SQLite path resumes a session).
    keymap : dict, optional
        ``{action: key or [keys]}`` overrides; see :data:`ACTIONS` (``?`` shows them).
        The labeler's ``.keymap`` is ``{action: (keys...)}``.
    session : BoxSession, optional
        An existing session instead of ``df``/``image``/``classes``.
    width, height : int
        Canvas size in CSS pixels.
    max_side : int
        Images larger than this are reduced once before sending (zoom still works).
    prefetch : int
        How many upcoming items to encode in the background.
    assist : bool, BoxAssistant, SharedAssistant or None
        The labeling assistant (:class:`~nblabel.assist.BoxAssistant`): tracker suggestions
        through each image group, a box model retrained in the background, the queue ordered
        by group uncertainty. ``None`` (default): on when the session has a ``group`` column
        or torch is installed; ``False``: off; an assistant: that one. In team mode
        (``assignment=``) the default is a :class:`~nblabel.assist.team.SharedAssistant`:
        one kernel of the team runs the assistant, the others show its suggestions. Its
        status line shows under the canvas; :meth:`close` stops it.
    **session_kwargs
        Passed to :class:`~nblabel.session.BoxSession` (``annotator``, ``order`` ...).

    Examples
    --------
    >>> images, _ = nblabel.datasets.food_sample()          # doctest: +SKIP
    >>> app = BoxLabeler(images, image="path", classes=["apple", "coin"])  # doctest: +SKIP
    >>> app                                                  # doctest: +SKIP
    """

    #: the last toast shown over the image (a key changed an existing box's class)
    last_flash: str = ""

    def __init__(
        self,
        df: pd.DataFrame | None = None,
        image: str | None = None,
        classes: Sequence[str] | None = None,
        store: Any = None,
        keymap: Mapping[str, str | Sequence[str]] | None = None,
        *,
        session: BoxSession | None = None,
        width: int = 800,
        height: int = 560,
        max_side: int = 1600,
        prefetch: int = 3,
        assist: Any = None,
        **session_kwargs: Any,
    ) -> None:
        if session is None:
            if df is None or image is None or classes is None:
                raise InputError("BoxLabeler needs df, image= and classes=, or session=")
            _close_previous(store)
            session = BoxSession(df, image=image, classes=classes, store=store,
                                 **session_kwargs)
            key = _store_key(store)
            if key is not None:
                _OPEN[key] = weakref.ref(self)
            self._owns_session = True  # close() closes the store this labeler opened
        elif df is not None or session_kwargs:
            raise InputError("give either session= or df/image/classes, not both")
        else:
            self._owns_session = False
        self.session = session
        self.prefetch = prefetch
        self.keymap = resolve_keymap(keymap)
        self.prefetcher = ImagePrefetcher(session.items, max_side=max_side)
        self.canvas = BoxCanvas(
            classes=list(session.classes),
            colors=self._colors(),
            keymap={a: list(k) for a, k in self.keymap.items()},
            help=help_rows(self.keymap),
            width=int(width),
            height=int(height),
        )
        self.controls = Controls(session, picker=session.classes, on_pick=self._pick_class,
                                 on_submit=self._submit)
        self.controls.add_button("accept", "✓ Accept", lambda: self._act("accept"),
                                 "accept the selected (or best) suggestion (Enter)")
        self.controls.add_button("accept_all", "✓✓ Accept all", lambda: self._act("accept_all"),
                                 "accept every suggestion of this item (a)")
        self.controls.add_button("reject", "✗ Reject", lambda: self._act("reject"),
                                 "reject the selected (or best) suggestion (r)")
        self.controls.add_button("delete", "Delete box", lambda: self._act("delete"),
                                 "delete the selected box (Delete)")
        self.canvas.on_intent(self.handle)
        session.on_change(self._on_change)
        self.status = w.HTML()
        self.status.add_class("nblabel-assist-status")
        super().__init__(self.controls, w.VBox([self.canvas, self.status]), "nbl-box-labeler")
        self._closed = False
        self.assistant: Any = None  # set before attaching: posts may arrive at once
        self.assistant = self._start_assistant(assist)
        self._load()

    # -- display --------------------------------------------------------------------------
    def _colors(self) -> list[str]:
        return [PALETTE[i % len(PALETTE)] for i in range(len(self.session.classes))]

    def _push(self) -> None:
        """Send the current item's boxes and suggestions (and bump the revision)."""
        s = self.session
        c = self.canvas
        item = s.current
        boxes = [] if item is None else [_box_dict(b) for b in s.value(item.key)]
        note = "" if item is None or self.assistant is None else self.assistant.note(item.key)
        sugg = [] if item is None else [
            {"index": i, "source": g.source, "score": g.score, "note": note,
             "boxes": [_box_dict(b) for b in g.value]}
            for i, g in enumerate(s.suggestions(item.key))
        ]
        with c.hold_sync():
            if list(c.classes) != list(s.classes):  # a class was added
                c.classes = list(s.classes)
                c.colors = self._colors()
                if self.controls.picker is not None:
                    self.controls.picker.options = list(s.classes)
            c.boxes = boxes
            c.suggestions = sugg
            c.active_class = s.active_class
            sel = c.selection
            if (sel.get("type") == "box" and sel.get("index", 0) >= len(boxes)) or (
                sel.get("type") == "suggestion" and sel.get("index", 0) >= len(sugg)
            ):
                self._select({})
            c.revision += 1
        self.controls.set_picked(s.active_class)

    def _load(self) -> None:
        """Show the current item: its image (from the prefetcher), boxes, suggestions."""
        s = self.session
        item = s.current
        c = self.canvas
        notice = ""
        img = None
        if item is not None:
            try:
                img = self.prefetcher.get(item.position)
            except Exception as e:  # shown over the canvas and in the messages
                notice = f"cannot show the image: {e}"
                self.controls.show_error(e)
        slot = self._slot_of(item.key) if item is not None else None
        with c.hold_sync():
            if img is not None and slot is None:
                c.image = img.data
                c.image_slot = -1
            elif img is not None:  # already in the browser: send no bytes again
                c.image = b""
                c.image_slot = slot
            else:
                c.image = b""
                c.image_slot = -1
            if img is not None:
                c.image_format = img.format
                c.image_width = img.width
                c.image_height = img.height
            c.item = "" if item is None else item.key
            c.notice = notice if item is not None else "nothing to label"
            self._select({}, send=False)  # the browser clears it on a new item itself
            self._push()
        if item is not None:
            upcoming = self._upcoming()
            self.prefetcher.warm(upcoming)
            self._preload(upcoming[0] if upcoming else None, keep=slot)

    def _slot_of(self, key: str) -> int | None:
        for i, name in enumerate(("slot_0", "slot_1")):
            if getattr(self.canvas, name).get("item") == key:
                return i
        return None

    def _preload(self, position: int | None, keep: int | None) -> None:
        """Send the predicted next item ahead into the slot the current image is not in."""
        c = self.canvas
        if position is None:
            c.next_item = ""
            return
        s = self.session
        key = str(s.items.keys[position])
        if self._slot_of(key) is None:
            try:
                img = self.prefetcher.get(position)
            except Exception:  # shown when the item is reached, not now
                c.next_item = ""
                return
            target = 1 if keep == 0 else 0
            setattr(c, f"slot_{target}", {
                "item": key, "image": img.data, "format": img.format,
                "width": img.width, "height": img.height,
                "boxes": [_box_dict(b) for b in s.value(key)],
            })
        c.next_item = key

    def _upcoming(self) -> list[int]:
        s = self.session
        order = s.queue.order
        n = len(order)
        r = s.queue.rank(s.current.position)
        out: list[int] = []
        for step in range(1, min(n, 64)):
            p = int(order[(r + step) % n])
            if not s.is_labeled(s.items.keys[p]):
                out.append(p)
                if len(out) >= self.prefetch:
                    break
        return out

    def _on_change(self, what: str, key: str) -> None:
        with self.controls.report():
            if what == "position":
                self._load()
            elif self.session.current is not None and key == self.session.current.key:
                self._push()

    # -- intents from the browser ---------------------------------------------------------
    def handle(self, msg: dict[str, Any]) -> None:
        """Apply one message from the browser (see :mod:`nblabel.widgets.box_canvas`).
        Errors go to the message area; the browser then redraws the kernel's state."""
        self.controls.clear_message()
        ok = False
        # the selection when the key was pressed: the trait sync can arrive later (the
        # front end throttles state updates, custom messages are not throttled)
        sel = msg.get("selection")
        self._msg_selection = sel if isinstance(sel, dict) else None
        self._msg_seq = msg.get("seq")
        try:
            self._dispatch(msg)
            ok = True
        except Exception as e:  # shown and logged; the optimistic browser edit is undone
            log.warning("nblabel: %s failed", msg.get("type", msg.get("kind")), exc_info=True)
            self.controls.show_error(e)
        finally:
            self._msg_selection = None
            self._msg_seq = None
            if not ok:
                self._push()

    def _dispatch(self, content: dict[str, Any]) -> None:
        msg: Any = parse_message(content)
        kind = None if msg is None else msg["type"]
        s = self.session
        if kind == "draw":
            x0, y0, x1, y1 = (float(v) for v in msg["box"])
            s.draw_box(x0, y0, x1, y1, label=s.active_class)
            # pick-then-draw: the new box is not selected, so the next class key sets the
            # class of the next box instead of relabeling this one
            self._select({})
        elif kind == "update":
            x0, y0, x1, y1 = (float(v) for v in msg["box"])
            s.update_box(int(msg["index"]), x0=x0, y0=y0, x1=x1, y1=y1)
        elif kind == "edit_suggestion":
            x0, y0, x1, y1 = (float(v) for v in msg["box"])
            self._accept_edited(int(msg["index"]), int(msg.get("box_index", 0)),
                                x0=x0, y0=y0, x1=x1, y1=y1)
        elif kind == "action":
            self._act(str(msg["action"]))
        elif kind == "key":
            action = action_for(self.keymap, str(msg["key"]))
            if action is not None:
                self._act(action)
        else:
            raise InputError(f"unknown message from the browser: {kind!r}")

    def _submit(self) -> None:
        """Mark the current item done (an image with no boxes is a label too), go on."""
        s = self.session
        if hasattr(s, "submit"):
            s.submit()
        s.next()

    def _accept_edited(self, index: int, box_index: int, **changes: Any) -> None:
        s = self.session
        pending = s.suggestions()
        if not 0 <= index < len(pending):
            raise InputError(f"no suggestion number {index} on this item")
        boxes = list(pending[index].value)
        boxes[box_index] = boxes[box_index].replace(**changes)
        n_before = len(s.value())
        s.accept(index, value=boxes)
        self._select({"type": "box", "index": n_before + box_index})

    def _select(self, selection: dict[str, Any], send: bool = True) -> None:
        """Tell the browser what to select. The browser owns the ``selection`` trait (it
        syncs clicks to the kernel); the kernel's choice (after a draw, an accept, a
        delete) goes as a message carrying the browser's selection counter of the message
        it answers (the browser ignores it if the user selected something since), and the
        trait is set here without echoing it back, so the two writers never race."""
        c = self.canvas
        with c._lock_property(selection=selection):
            c.selection = selection
        if send:
            c.send({"type": "select", "selection": selection,
                    "seq": getattr(self, "_msg_seq", None)})

    def _selection(self) -> dict[str, Any]:
        sel = getattr(self, "_msg_selection", None)
        return self.canvas.selection if sel is None else sel

    def _selected(self, kind: str) -> int | None:
        sel = self._selection()
        return int(sel["index"]) if sel.get("type") == kind and "index" in sel else None

    def _act(self, action: str) -> None:
        s = self.session
        moves = {"next": s.next, "submit": self._submit, "previous": s.previous,
                 "skip": s.skip, "undo": s.undo, "redo": s.redo}
        if action in moves:
            before = s.current
            moves[action]()
            if action in ("next", "submit", "skip") and s.current == before:
                p = s.progress  # nothing to go to: say so instead of staying silent
                self.controls.show_message(
                    f"all {p.total} images are labeled" if p.done == p.total else
                    "no other image is open now: the rest are labeled, or held by others")
        elif action == "accept":
            chosen = self._selected("suggestion")
            n_before = len(s.value())
            s.accept(chosen or 0)
            # the accepted box stays selected only if the user selected the suggestion
            self._select({} if chosen is None else {"type": "box", "index": n_before})
        elif action == "accept_all":
            s.accept_all()
            self._select({})
        elif action == "reject":
            s.reject(self._selected("suggestion") or 0)
            self._select({})
        elif action == "delete":
            box = self._selected("box")
            if box is not None:
                s.delete_box(box)
            elif self._selected("suggestion") is not None:
                s.reject(self._selected("suggestion"))
            else:
                raise InputError("select a box first (click it or press Tab), then delete")
            self._select({})
        elif action == "snap_edge":
            sel = self._selection()
            edge = sel.get("edge")
            edges = None if edge is None else [edge]
            if sel.get("type") == "box":
                s.snap_edges(int(sel["index"]), edges)
            elif sel.get("type") == "suggestion":  # snapped, then accepted as edited
                i, j = int(sel["index"]), int(sel.get("box", 0))
                b = s.suggestions()[i].value[j]
                got = s.snap_preview(b, edges)
                self._accept_edited(i, j, x0=got.x0, y0=got.y0, x1=got.x1, y1=got.y1)
            else:
                raise InputError("select a box first (click it or press Tab), then snap")
            self._push()
        elif action.startswith("class_"):
            n = int(action.split("_", 1)[1])
            if not 1 <= n <= len(s.classes):
                raise InputError(f"there is no class {n}: classes are {s.classes}")
            self._pick_class(s.classes[n - 1])
        else:
            raise InputError(f"unknown action {action!r}")

    def _pick_class(self, label: str) -> None:
        """Make ``label`` the class of the next boxes (pick, then draw) and of the box the
        user selected on purpose (clicked, or Tab); a new box is never selected, so this
        does not relabel the box just drawn. A changed class is flashed over the image."""
        s = self.session
        s.active_class = label
        sel = self._selection()
        if sel.get("type") == "box":
            i = int(sel["index"])
            old = s.value()[i].label if 0 <= i < len(s.value()) else None
            s.set_box_class(i, label)
            if old is not None and old != label:
                self._flash(f"box {i + 1}: {old} → {label}")
        elif sel.get("type") == "suggestion":
            self._accept_edited(int(sel["index"]), int(sel.get("box", 0)), label=label)
            self._flash(f"suggestion accepted as {label}")
        else:
            self._push()

    def _flash(self, text: str) -> None:
        """A short toast over the image, and the same words in the message area."""
        self.last_flash = text
        self.canvas.send({"type": "flash", "text": text})
        self.controls.show_message(text)

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Detach from the session, stop the prefetcher and close the widgets."""
        if self.__dict__.get("_closed", True):  # closed already, or never built
            return
        self._closed = True
        with contextlib.suppress(ValueError):
            self.session.on_change(self._on_change, remove=True)
        if self.assistant is not None:
            self.assistant.on_update(self._on_assist, remove=True)
            self.assistant.close()
        self.prefetcher.close()
        self.controls.close()
        self._close_widgets()
        if self._owns_session:
            self.session.close()

    def __repr__(self) -> str:
        return f"BoxLabeler({self.session!r})"

