"""Controls shared by the labeling widgets: progress, item counter and id, a picker,
buttons, and a message area where errors appear (never swallowed).

Any widget built on a :class:`~nblabel.session.LabelSession` can reuse them::

    controls = Controls(session, picker=["cat", "dog"], on_pick=set_class)
    app = controls.layout(my_editor_widget)  # header, editor, toolbar, messages
    with controls.report():                  # errors -> message area + log, not raised
        session.next()

API
---
``Controls(session, *, buttons=DEFAULT_BUTTONS, picker=None, picker_label="Class",
on_pick=None, on_submit=None)``
    ``buttons``: names from :data:`BUTTONS` (``previous, undo, redo, skip, submit``).
    ``on_submit``: what "Submit" does (default: ``session.next``).
``.widget``              the whole panel (header, toolbar, messages) as one VBox
``.header / .toolbar / .messages``  the three parts, to place them yourself
``.layout(center)``      VBox(header, center, toolbar, messages)
``.add_button(name, description, callback, tooltip="")``  an extra button (guarded)
``.set_picked(value)``   show ``value`` as picked without calling ``on_pick``
``.refresh()``           re-read progress, counter, id (called on every session change);
                         the counter is "item N of M" with N = items done + 1 (the
                         position in what is left, never backwards on a queue reorder),
                         the rate counts items done per hour, not actions
``.report()``            context manager: an exception inside is shown and logged
``.call(fn, *args, **kwargs)``  ``fn`` inside :meth:`report`; its result or ``None``
``.show_error(exc_or_text) / .show_message(text) / .clear_message()``
``.close()``             detach from the session and the log, close the widgets
``close_tree(widget)``   close a widget with its children, layouts and styles
``LabelerBox``           the shape of every labeler: it *is* the VBox (header, editor,
                         toolbar, messages) that shows it; ``.widget`` is itself
"""

from __future__ import annotations

import contextlib
import html
import logging
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ipywidgets as w

__all__ = ["BUTTONS", "DEFAULT_BUTTONS", "Controls", "LabelerBox", "close_tree",
           "format_duration"]

log = logging.getLogger("nblabel")

#: name -> (label, tooltip)
BUTTONS: dict[str, tuple[str, str]] = {
    "previous": ("◀ Previous", "go back to the previous item"),
    "undo": ("↶ Undo", "undo the last action"),
    "redo": ("↷ Redo", "redo the last undone action"),
    "skip": ("Skip", "put this item aside; it comes back at the end"),
    "submit": ("Submit ▶", "done with this item: go to the next one"),
}
DEFAULT_BUTTONS = ("previous", "undo", "redo", "skip", "submit")


def format_duration(seconds: float | None) -> str:
    """``3 h 05 min`` / ``12 min`` / ``40 s``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min"
    return f"{s} s"


def close_tree(widget: w.Widget) -> None:
    """Close a widget and every widget it holds (children, layout, style): no comm leaks."""
    seen: set[int] = set()
    stack = [widget]
    while stack:
        wd = stack.pop()
        if id(wd) in seen:
            continue
        seen.add(id(wd))
        for name in wd.keys:
            value = getattr(wd, name, None)
            values = value if isinstance(value, (list, tuple)) else [value]
            stack.extend(v for v in values if isinstance(v, w.Widget))
        wd.close()


class _MessageHandler(logging.Handler):
    """Routes ERROR records of the ``nblabel`` logger (e.g. a failing ``on_change``
    callback) to the message area of the controls that are alive."""

    def __init__(self, controls: Controls) -> None:
        super().__init__(logging.ERROR)
        self._ref = weakref.ref(controls)

    def emit(self, record: logging.LogRecord) -> None:
        c = self._ref()
        if c is None:
            return
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            e = record.exc_info[1]
            text = f"{text}: {type(e).__name__}: {e}"
        c.show_message(text, level="error")


class Controls:
    """Progress bar, counter, item id, picker, buttons and message area of a session.

    Parameters
    ----------
    session : LabelSession
        The controller; buttons call its methods, the display follows its changes.
    buttons : sequence of str
        Which of :data:`BUTTONS` to show, in order.
    picker : sequence of str, optional
        Options of a picker (e.g. box classes); none when ``None``.
    picker_label : str
        Text before the picker.
    on_pick : callable, optional
        ``on_pick(value)`` when the user picks an option (guarded).
    on_submit : callable, optional
        What the Submit button does; default ``session.next``.
    """

    def __init__(
        self,
        session: Any,
        *,
        buttons: Sequence[str] = DEFAULT_BUTTONS,
        picker: Sequence[str] | None = None,
        picker_label: str = "Class",
        on_pick: Callable[[str], Any] | None = None,
        on_submit: Callable[[], Any] | None = None,
    ) -> None:
        unknown = [b for b in buttons if b not in BUTTONS]
        if unknown:
            raise ValueError(f"unknown buttons {unknown}; choose from {list(BUTTONS)}")
        self.session = session
        self._on_pick = on_pick
        self._picking = False
        self.progress_bar = w.IntProgress(min=0, max=1, value=0,
                                          layout=w.Layout(width="220px"))
        self.progress_text = w.HTML()
        self.counter = w.HTML()
        self.counter.add_class("nblabel-counter")
        self.header = w.HBox([self.counter, self.progress_bar, self.progress_text],
                             layout=w.Layout(align_items="center"))
        self.header.add_class("nblabel-header")
        actions = {
            "previous": session.previous,
            "undo": session.undo,
            "redo": session.redo,
            "skip": session.skip,
            "submit": on_submit or session.next,
        }
        self.buttons: dict[str, w.Button] = {}
        for name in buttons:
            label, tip = BUTTONS[name]
            self._make_button(name, label, actions[name], tip)
        self.picker: w.ToggleButtons | None = None
        parts: list[w.Widget] = []
        if picker is not None:
            self.picker = w.ToggleButtons(options=[str(p) for p in picker],
                                          style={"button_width": "auto"})
            self.picker.add_class("nblabel-picker")
            self.picker.observe(self._picked, names="value")
            parts += [w.Label(picker_label + ":"), self.picker]
        self._button_box = w.HBox(list(self.buttons.values()))
        self.toolbar = w.HBox([*parts, self._button_box],
                              layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.toolbar.add_class("nblabel-toolbar")
        self.messages = w.HTML()
        self.messages.add_class("nblabel-messages")
        self.widget = w.VBox([self.header, self.toolbar, self.messages])
        self._log_handler = _MessageHandler(self)
        log.addHandler(self._log_handler)
        session.on_change(self._on_change)
        self.refresh()

    # -- building -------------------------------------------------------------------------
    def _make_button(self, name: str, label: str, fn: Callable[[], Any], tip: str) -> w.Button:
        b = w.Button(description=label, tooltip=tip, layout=w.Layout(width="auto"))
        b.add_class(f"nblabel-btn-{name}")
        b.on_click(lambda _b: self.call(fn))
        self.buttons[name] = b
        return b

    def add_button(
        self, name: str, description: str, callback: Callable[[], Any], tooltip: str = ""
    ) -> w.Button:
        """Add a button calling ``callback()`` (errors go to the message area)."""
        b = self._make_button(name, description, callback, tooltip)
        self._button_box.children = (*self._button_box.children, b)
        return b

    def layout(self, center: w.Widget) -> w.VBox:
        """The usual arrangement: header, ``center`` (the editor), toolbar, messages."""
        box = w.VBox([self.header, center, self.toolbar, self.messages])
        box.add_class("nblabel-app")
        return box

    # -- picker ---------------------------------------------------------------------------
    def _picked(self, change: dict[str, Any]) -> None:
        if self._picking or self._on_pick is None or change["new"] is None:
            return
        self.call(self._on_pick, change["new"])

    def set_picked(self, value: str | None) -> None:
        """Show ``value`` as picked without calling ``on_pick``."""
        if self.picker is None:
            return
        self._picking = True
        try:
            if value is not None and value not in self.picker.options:
                self.picker.options = [*self.picker.options, value]
            self.picker.value = value
        finally:
            self._picking = False

    # -- display --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read progress, item counter and id from the session."""
        s = self.session
        p = s.progress
        self.progress_bar.max = max(p.total, 1)
        self.progress_bar.value = p.done
        rate = f"{p.per_hour:.0f} items/h" if p.per_hour else "- items/h"
        self.progress_text.value = (
            f"<span class='nblabel-progress'>{p.done} / {p.total} done · {rate} · "
            f"{format_duration(p.remaining_seconds)} left</span>"
        )
        item = s.current
        if item is None:
            self.counter.value = "<b>no items</b>"
        else:
            # position in what is left: items done (other than this one) + 1; a reordered
            # queue (new model scores) never makes it go backwards
            here = int(s.is_labeled(item.key) and item.key not in s.log.sent_back)
            number = min(p.done - here + 1, p.total)
            self.counter.value = (
                f"<b>item {number} of {p.total}</b> · {p.total - p.done} left · id "
                f"<code class='nblabel-item-id'>"
                f"{html.escape(str(item.key))}</code>"
            )
        self._enable()

    def _enable(self) -> None:
        s = self.session
        undo = getattr(s.log, "undoable", None)
        redo = getattr(s.log, "redoable", None)
        if "undo" in self.buttons and undo is not None:
            self.buttons["undo"].disabled = undo(s.annotator) is None
        if "redo" in self.buttons and redo is not None:
            self.buttons["redo"].disabled = redo(s.annotator) is None

    def _on_change(self, what: str, key: str) -> None:
        with self.report():
            self.refresh()

    # -- messages -------------------------------------------------------------------------
    def show_message(self, text: str, level: str = "info") -> None:
        """Show ``text`` (escaped) in the message area; ``level``: info, warning, error."""
        stamp = time.strftime("%H:%M:%S")
        self.messages.value = (
            f"<div class='nblabel-msg nblabel-msg-{html.escape(level)}'>{stamp} "
            f"{html.escape(str(text))}</div>"
        )

    def show_error(self, error: BaseException | str) -> None:
        """Show an exception (type and message) or a text as an error."""
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        self.show_message(error, level="error")

    def clear_message(self) -> None:
        self.messages.value = ""

    @contextlib.contextmanager
    def report(self) -> Iterator[None]:
        """Run a block; an exception is logged and shown in the message area instead of
        vanishing in a widget callback."""
        try:
            yield
        except Exception as e:  # shown to the user and logged, not swallowed
            # log first at WARNING (our handler shows ERROR records; avoid a double message)
            log.warning("nblabel widget action failed", exc_info=True)
            self.show_error(e)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` inside :meth:`report`; its result, or ``None`` if it
        raised (the error is then in the message area)."""
        self.clear_message()
        with self.report():
            return fn(*args, **kwargs)
        return None

    def close(self) -> None:
        """Stop following the session and the log; close the widgets."""
        with contextlib.suppress(ValueError):
            self.session.on_change(self._on_change, remove=True)
        log.removeHandler(self._log_handler)
        close_tree(self.widget)
        for b in self.buttons.values():  # extra buttons may sit outside the panel
            close_tree(b)


class LabelerBox(w.VBox):
    """The one shape of nblabel's labelers (box, tag, class): the labeler is the widget.

    It displays itself in JupyterLab, Notebook 7 and Voila, and it can sit inside other
    widgets (``VBox([labeler, plot])``, the superintendent bridge), which an object that
    only holds a widget cannot. ``.widget`` returns the labeler itself, for code written
    when :class:`~nblabel.widgets.BoxLabeler` held its VBox there.

    Parameters
    ----------
    controls : Controls
        Header, toolbar and messages, placed around ``center``.
    center : ipywidgets.Widget
        The editor (the box canvas, the tag picker).
    *classes : str
        CSS classes added to ``nblabel-app``.
    """

    def __init__(self, controls: Controls, center: w.Widget, *classes: str) -> None:
        super().__init__([controls.header, center, controls.toolbar, controls.messages])
        for name in ("nblabel-app", *classes):
            self.add_class(name)

    @property
    def widget(self) -> LabelerBox:
        """The labeler itself (an alias kept for compatibility)."""
        return self

    def _close_widgets(self) -> None:
        """Close the children, the layout and this box (no comm is left open)."""
        for child in (*self.children, self.layout):
            close_tree(child)
        w.VBox.close(self)
