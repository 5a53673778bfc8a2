"""The session's doors to the outside: import/export, rows added or removed mid-session,
the class balance. Thin methods of :class:`~nblabel.session.base.LabelSession`; the logic
lives in :mod:`nblabel.io.session_io`, :mod:`nblabel.session.rows` and
:mod:`nblabel.quality.balance`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from nblabel.data.items import ItemSet

__all__ = ["RowsAndFiles"]


class RowsAndFiles:
    """Import/export, rows mid-session and class balance of a labeling session."""

    #: what the last change of the DataFrame's rows did (:class:`~nblabel.session.rows.RowChange`)
    row_change: Any = None

    def export(self, path: str | Path, format: str = "coco", **options: Any) -> Path:
        """Write the labels to a file: ``"coco"`` (JSON), ``"voc"`` (a directory of XML),
        ``"yolo"`` (a directory: ``labels/*.txt``, ``classes.txt``, ``data.yaml``),
        ``"label-studio"`` (JSON tasks: labels as annotations, pending suggestions as
        predictions with their score), ``"csv"`` or ``"jsonl"``. Boxes are in pixels of
        the EXIF-rotated image. See :func:`nblabel.io.session_io.export_session`
        (``include="labeled" | "all"``, ``url_prefix=`` for Label Studio image URLs)."""
        from nblabel.io.session_io import export_session

        return export_session(self, path, format, **options)

    def import_labels(self, path: str | Path, format: str = "coco", *,
                      as_: str = "suggestions", source: str = "import", **options: Any) -> Any:
        """Read labels from a file (formats as :meth:`export`) as suggestions to review
        (default) or as labels, matching rows by path, then file name. Each value is one
        undoable store event of ``source``; a bad file raises a ``FormatError`` naming the
        file and line and changes nothing. Returns an
        :class:`~nblabel.io.session_io.ImportReport` (matched, ``unmatched`` names,
        ``undo()``). See :func:`nblabel.io.session_io.import_into_session`."""
        from nblabel.io.session_io import import_into_session

        return import_into_session(self, path, format, as_=as_, source=source, **options)

    def add_items(self, rows: pd.DataFrame) -> list[str]:
        """Append rows to the DataFrame (in place) and to the queue, without a restart;
        labels the store has for them show at once, an attached assistant scores them.
        Rows appended to the DataFrame directly are picked up the same way."""
        from nblabel.session.rows import append_rows

        with self._lock:  # type: ignore[attr-defined]
            added = append_rows(self, rows)
            self._follow_rows()
        return added

    def class_balance(self) -> pd.DataFrame:
        """Per class (or tag): labels, pending suggestions, accepted/rejected suggestions
        and the acceptance rate; see :func:`nblabel.quality.balance.class_balance`."""
        from nblabel.quality.balance import class_balance

        return class_balance(self)

    def plot_class_balance(self, ax: Any = None) -> Any:
        """A bar chart of :meth:`class_balance` (matplotlib)."""
        from nblabel.quality.balance import plot_class_balance

        return plot_class_balance(self.class_balance(), ax=ax)

    def _follow_rows(self) -> None:
        """Re-map the items if the user's DataFrame gained or lost rows meanwhile. An index
        that cannot be mapped (e.g. duplicated) leaves the mapping as it was: reads go on,
        and the next action is refused with the reason (a refused action changes nothing)."""
        from nblabel.errors import InputError

        s: Any = self
        if s.df.index is not s._index_ref:
            with s._lock:
                if s.df.index is not s._index_ref:
                    with contextlib.suppress(InputError):
                        s._reindex()

    def _rows_changed(self, old: ItemSet) -> None:
        from nblabel.session.rows import follow_rows

        s: Any = self
        pos = s._position
        before = None if pos is None or pos >= len(old) else str(old.keys[pos])
        s.row_change = follow_rows(s, old)
        s._notify("items", "")
        if s.current is not None and s.current.key != before:  # its row left
            s._notify("position", s.current.key)
