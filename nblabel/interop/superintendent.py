"""nblabel's tag and class widgets as superintendent's ``labelling_widget``.

superintendent 0.6 (``pip install "superintendent==0.6.*" "sqlmodel==0.0.22"``) owns the
queue, the database and the active-learning loop; it talks to its labelling widget through
three calls, which the widgets here implement:

``on_submit(callback)``
    ``callback(label)`` when the annotator submits an item (``None`` means skipped).
``on_undo(callback)``
    ``callback()`` to go back to the previous item.
``display(x)``
    show one data point: a string, a mapping / pandas Series (a DataFrame row), or an image
    array.

Each displayed point gets a one-row :class:`~nblabel.session.TagSession` (or
:class:`~nblabel.session.ClassSession`) in memory, so vocabulary, aliases, parents, pre-fill
and undo behave as in :class:`~nblabel.TagLabeler`; the label handed to superintendent is
a sorted list of tags (multi-label) or a class name.

Example
-------
>>> from superintendent import Superintendent                       # doctest: +SKIP
>>> from nblabel.interop.superintendent import TagWidget
>>> app = Superintendent(features=texts, labelling_widget=TagWidget(tags=vocab),
...                      database_url="sqlite:///labels.db")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from nblabel.session import ClassSession, TagSession
from nblabel.widgets.tags import ClassLabeler, TagLabeler

__all__ = ["ClassWidget", "TagWidget"]


def _frame(x: Any, text: Sequence[str] | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A one-row DataFrame for a data point, and the session keywords that show it."""
    if isinstance(x, np.ndarray) and x.ndim in (2, 3):
        return pd.DataFrame({"image": [x]}), {"image": "image"}
    if isinstance(x, pd.Series):
        x = x.to_dict()
    if isinstance(x, Mapping):
        keys = list(text) if text is not None else list(x)
        parts = ["" if x.get(k) is None else str(x.get(k)) for k in keys]
        value = "\n\n".join(p for p in parts if p)
    else:
        value = "" if x is None else str(x)
    return pd.DataFrame({"text": [value]}), {"text": "text"}


class _Adapter(w.VBox):
    """Shows one labeler per displayed point and reports submit/undo to superintendent."""

    def __init__(self, *, text: Sequence[str] | None, keymap: Mapping[str, Any] | None) -> None:
        super().__init__([])
        self.add_class("nbl-superintendent")
        self._text = text
        self._keymap = keymap
        self._submit: list[Callable[[Any], None]] = []
        self._undo: list[Callable[[], None]] = []
        self.labeler: Any = None

    # -- superintendent's protocol ------------------------------------------------------------
    def on_submit(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(label)`` on submit (``None`` when skipped)."""
        self._submit.append(callback)

    def on_undo(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the annotator goes back to the previous item."""
        self._undo.append(callback)

    def display(self, x: Any) -> None:
        """Show the data point ``x`` (text, mapping/Series, or image array)."""
        if self.labeler is not None:
            self.labeler.close()
        df, where = _frame(x, self._text)
        self.labeler = self._labeler(df, where)
        self.children = [self.labeler]

    def close(self) -> None:
        if self.labeler is not None:
            self.labeler.close()
        layout = self.layout
        super().close()
        layout.close()

    # -- hooks ----------------------------------------------------------------------------------
    def _labeler(self, df: pd.DataFrame, where: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _label(self) -> Any:
        raise NotImplementedError

    def _emit_submit(self, value: Any) -> None:
        for cb in list(self._submit):
            cb(value)

    def _emit_undo(self) -> None:
        for cb in list(self._undo):
            cb()


class _Bridge:
    """Mixin: the labeler's advance, skip and undo go to superintendent's callbacks."""

    _adapter: _Adapter
    session: Any

    def _advance(self) -> None:
        self._adapter._emit_submit(self._adapter._label())

    def skip(self) -> None:
        self._adapter._emit_submit(None)

    def undo(self) -> None:
        unsaved = getattr(self, "unsaved", None)
        if unsaved is not None and unsaved() is not None:
            super().undo()  # type: ignore[misc]  # takes back the unsaved edit first
            return
        if self.session.undo() is None:  # nothing left on this point: the previous one
            self._adapter._emit_undo()

    def _bind(self, adapter: _Adapter) -> Any:
        self._adapter = adapter
        c = self.controls  # type: ignore[attr-defined]
        c.add_button("skip", "Skip", self.skip, "skip this item")
        c.add_button("back", "↶ Undo", self.undo, "undo; on an untouched item, go back one")
        return self


class _TagLabeler(_Bridge, TagLabeler):
    pass


class _ClassLabeler(_Bridge, ClassLabeler):
    pass


class TagWidget(_Adapter):
    """Tag picker for superintendent (multi-label by default).

    Parameters
    ----------
    tags : list of str or TagVocabulary
        The vocabulary (shared by all displayed points; changes persist).
    multi : bool
        Many tags per point (label: sorted list) or one (label: list of one tag).
    allow_new : bool
        Unknown typed tags join the vocabulary.
    prefill : callable, optional
        ``prefill(x) -> list of tags`` to start each point from (e.g. the author's tags).
    text : list of str, optional
        For mapping/Series points: the fields shown (default: all, in order).
    keymap : dict, optional
        Key overrides, as for :class:`~nblabel.TagLabeler`.
    """

    def __init__(
        self,
        *,
        tags: Any,
        multi: bool = True,
        allow_new: bool = False,
        prefill: Callable[[Any], Sequence[str]] | None = None,
        text: Sequence[str] | None = None,
        keymap: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(text=text, keymap=keymap)
        self.tags = tags if hasattr(tags, "normalize") else list(tags)
        self.multi = multi
        self.allow_new = allow_new
        self.prefill = prefill
        self._x: Any = None

    def display(self, x: Any) -> None:
        self._x = x
        super().display(x)

    def _labeler(self, df: pd.DataFrame, where: dict[str, Any]) -> _TagLabeler:
        prefill = None
        if self.prefill is not None:
            df["_prefill"] = [list(self.prefill(self._x) or [])]
            prefill = "_prefill"
        session = TagSession(df, tags=self.tags, allow_new=self.allow_new, prefill=prefill, **where)
        if session._tags is not None:
            session._tags = self.tags  # one list for all points: allow_new additions persist
        lab = _TagLabeler.from_session(
            session, multi=self.multi, keymap=self._keymap, buttons=("submit",)
        )
        return lab._bind(self)

    def _label(self) -> list[str]:
        return sorted(self.labeler.session.value())


class ClassWidget(_Adapter):
    """Class picker for superintendent: number keys pick a class and submit.

    Parameters
    ----------
    classes : list of str
    text, keymap
        As for :class:`TagWidget`.
    """

    def __init__(
        self,
        *,
        classes: Sequence[str],
        text: Sequence[str] | None = None,
        keymap: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(text=text, keymap=keymap)
        self.classes = list(classes)

    def _labeler(self, df: pd.DataFrame, where: dict[str, Any]) -> _ClassLabeler:
        session = ClassSession(df, classes=self.classes, **where)
        lab = _ClassLabeler.from_session(session, keymap=self._keymap, buttons=("submit",))
        return lab._bind(self)

    def _label(self) -> str | None:
        return self.labeler.session.value()
