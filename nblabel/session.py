"""The labeling session: the controller that binds items, queue, store and DataFrame.

Everything a user can do with the mouse or keyboard is a method here (``draw_box``,
``accept``, ``next``, ``undo`` ...), which is how widgets, scripts and tests drive the loop.
Each action is written to the store (committed) before the in-memory state, the user's
DataFrame and the observers are updated, so an error loses nothing and a kernel restart
resumes where the annotator stopped.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from nblabel.errors import InputError, InvalidBoxError, UnknownClassError
from nblabel.items import Item, ItemSet
from nblabel.log import LabelLog
from nblabel.queue import Queue
from nblabel.shapes import SOURCES, Box
from nblabel.store import LabelEvent, Store, default_annotator, open_store

__all__ = ["BoxSession", "ClassSession", "LabelSession", "Progress", "Suggestion", "TagSession"]

log = logging.getLogger("nblabel")
Observer = Callable[[str, str], None]


@dataclass(frozen=True)
class Suggestion:
    """A proposed value for an item, waiting to be accepted or rejected."""

    id: int
    item: str
    value: Any
    source: str
    score: float | None


@dataclass(frozen=True)
class Progress:
    """How far the session is: items done, items done per hour (over the last hour of this
    session), time left for the items not done; actions (boxes, class keys, undo) do not
    count, items do."""

    done: int
    total: int
    per_hour: float
    remaining_seconds: float | None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


class LabelSession:
    """Base class of the labeling sessions; use :class:`BoxSession`, :class:`TagSession` or
    :class:`ClassSession`.

    Parameters
    ----------
    df : pandas.DataFrame
        The user's DataFrame; its column ``column`` is updated in place after each action.
    image, text, root
        Where the item content is (see :class:`~nblabel.items.ItemSet`).
    column : str
        The DataFrame column (and store task name) the labels go to.
    store : Store, path, URL or None
        Where events are logged. ``None``: in memory. A path: an SQLite file (created, or
        reopened and resumed).
    annotator : str, optional
        Who labels; defaults to ``$NBLABEL_ANNOTATOR`` or the OS user.
    order : {"sequential", "random"}
        Initial queue order; :meth:`Queue.reorder` changes it by score.
    random_state : int, optional
        Seed of the random order.
    assignment : nblabel.assign.Assignment, optional
        Team mode: :meth:`next` serves only items leased to this annotator (nobody else
        holds them); see :mod:`nblabel.assign`.
    """

    kind: ClassVar[str] = "value"
    default_column: ClassVar[str] = "label"
    #: items/hour needs this many items done, measured over at least this many seconds
    RATE_MIN_LABELS: ClassVar[int] = 3
    RATE_MIN_WINDOW: ClassVar[float] = 60.0

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        image: str | None = None,
        text: str | Sequence[str] | None = None,
        root: str | Path | None = None,
        column: str | None = None,
        store: Store | str | Path | None = None,
        annotator: str | None = None,
        order: str = "sequential",
        random_state: int | None = None,
        assignment: Any | None = None,
    ) -> None:
        self.items = ItemSet(df, image=image, text=text, root=root)
        self.df = df
        # actions may come from the kernel's main thread and from background jobs
        # (tracker propagation, model predictions) posting suggestions
        self._lock = threading.RLock()
        self.column = column or self.default_column
        inputs = [c for c in (image, *([text] if isinstance(text, str) else (text or ()))) if c]
        if self.column in inputs:
            raise InputError(
                f"labels would overwrite the input column {self.column!r}; pass column= "
                f"another name (e.g. column='{self.column}_label')"
            )
        self.task = self.column
        self.annotator = annotator or default_annotator()
        self._owns_store = not isinstance(store, Store)
        self.store = open_store(store)
        self.queue = Queue(len(self.items), order=order, random_state=random_state)
        self.log = LabelLog()
        self._observers: list[Observer] = []
        n = len(self.items)
        self._done = np.zeros(n, dtype=bool)
        self._skipped = np.zeros(n, dtype=bool)
        self._history: list[int] = []
        self._done_times: dict[int, float] = {}  # position -> when it became done here
        self._labels_cache: pd.DataFrame | None = None
        self._index_ref = df.index
        self._col_pos = self._ensure_column()
        self._replay()
        cursor = self.store.cursor(self.task, self.annotator)
        start = self.items.positions_of([cursor])[0] if cursor is not None else -1
        if start < 0:
            start = self.queue.next_open(None, self._done | self._skipped)
            if start is None:
                start = int(self.queue.order[0]) if n else None
        self.assignment = assignment
        if assignment is not None:  # team mode: start on the item this annotator holds
            held = assignment.attach(self)
            start = start if held is None else held
        self._position: int | None = None if start is None else int(start)

    # -- set-up -----------------------------------------------------------------------------
    def _ensure_column(self) -> int:
        df = self.df
        if self.column not in df.columns:
            df[self.column] = pd.Series([None] * len(df), index=df.index, dtype=object)
        elif df[self.column].dtype != object:
            df[self.column] = df[self.column].astype(object)
        return int(df.columns.get_loc(self.column))

    def _replay(self) -> None:
        with _gc_paused():  # 100,000 small tuples would trigger many full collections
            self.log.replay(self.store.events(self.task))
        if not self.log.n_events:
            return
        self._check_replayed()  # before anything reaches the DataFrame
        keys = list(self.log.values.keys() | self.log.skipped)
        positions = self.items.positions_of(keys)
        unknown = [k for k, p in zip(keys, positions) if p < 0]
        if unknown:
            log.warning(
                "store %s has labels for %d items not in this DataFrame (e.g. %s); "
                "they are kept in the store",
                self.store,
                len(unknown),
                unknown[:3],
            )
        cells = self.df[self.column].to_numpy(dtype=object, copy=True)
        labeled_positions, current = [], []
        for key, pos in zip(keys, positions):
            if pos < 0:
                continue
            self._skipped[pos] = key in self.log.skipped
            ev = self.log.current(key)
            if ev is not None and ev.status != "deleted":
                labeled_positions.append(pos)
                current.append(ev)
        try:  # one JSON parse for all current values: ~10x faster than one call per item
            payloads = json.loads("[" + ",".join(ev.payload_json for ev in current) + "]")
        except ValueError:  # a corrupt payload: let the event name itself in the error
            payloads = [ev.payload for ev in current]
        sent_back = self.log.sent_back
        for pos, ev, payload in zip(labeled_positions, current, payloads):
            self._done[pos] = ev.item not in sent_back
            cells[pos] = self._cell(self._decode(payload))
        self.df[self.column] = pd.Series(cells, index=self.df.index, dtype=object)
        self._col_pos = int(self.df.columns.get_loc(self.column))

    def _check_replayed(self) -> None:
        """Refuse a store whose events this session cannot show (overridden)."""

    def close(self) -> None:
        """Close the store if the session opened it."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> LabelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- value codec (overridden) -----------------------------------------------------------
    def _encode(self, value: Any) -> Any:
        return value

    def _decode(self, payload: Any) -> Any:
        return payload

    def _cell(self, value: Any) -> Any:
        """What the DataFrame cell shows for a value."""
        return value

    def _normalize(self, value: Any, key: str) -> Any:
        return value

    def _empty(self) -> Any:
        return None

    def _stamp(self, value: Any, source: str, score: float | None) -> Any:
        """Mark a suggested value with its source and score (boxes carry both)."""
        return value

    def _merge(self, current: Any, suggested: Any) -> Any:
        return suggested

    def _tidy_rows(self, key: str, value: Any) -> list[dict[str, Any]]:
        return [{"label": value}]

    # -- observers --------------------------------------------------------------------------
    def on_change(self, callback: Observer, *, remove: bool = False) -> None:
        """Call ``callback(what, item_key)`` after each change (``what``: "value",
        "suggestions", "position"). Errors in callbacks are logged, never raised into the
        action that triggered them."""
        if remove:
            self._observers.remove(callback)
        else:
            self._observers.append(callback)

    def _notify(self, what: str, key: str) -> None:
        for cb in list(self._observers):
            try:
                cb(what, key)
            except Exception:  # an observer must not undo a committed action
                log.exception("nblabel observer %r failed", cb)

    # -- navigation -------------------------------------------------------------------------
    @property
    def current(self) -> Item | None:
        """The item being labeled (``None`` for an empty DataFrame)."""
        return None if self._position is None else self.items[self._position]

    def _key(self, key: Any | None) -> str:
        self._follow_rows()  # rows appended to / dropped from the DataFrame meanwhile
        if key is None:
            if self._position is None:
                raise InputError("no current item: the DataFrame is empty")
            return str(self.items.keys[self._position])
        if isinstance(key, Item):
            return key.key
        self.items.position_of(key)  # validates
        return str(key)

    def _move(self, position: int | None) -> Item | None:
        if position is None:
            return self.current
        if self._position is not None and position != self._position:
            self._history.append(self._position)
        self._position = int(position)
        key = str(self.items.keys[position])
        if not self.store.read_only:
            self.store.set_cursor(self.task, self.annotator, key)
        self._notify("position", key)
        return self.current

    def next(self) -> Item | None:
        """Go to the next unlabeled item in queue order (skipped items come last)."""
        self._follow_rows()
        if self.assignment is not None:
            return self._move(self.assignment.next_position(self))
        pos = self.queue.next_open(self._position, self._done | self._skipped)
        if pos is None:
            pos = self.queue.next_open(self._position, self._done)
        return self._move(pos)

    def previous(self) -> Item | None:
        """Go back to the item visited before this one."""
        if not self._history:
            return self.current
        pos = self._history.pop()
        self._position = pos
        key = str(self.items.keys[pos])
        if not self.store.read_only:
            self.store.set_cursor(self.task, self.annotator, key)
        self._notify("position", key)
        return self.current

    def goto(self, key: Any) -> Item:
        """Go to an item by id."""
        return self._move(self.items.position_of(key))  # type: ignore[return-value]

    def skip(self) -> Item | None:
        """Put the current item aside (it comes back after all others) and go on."""
        key = self._key(None)
        self._record(key, "skip", "skipped", None)
        self._skipped[self._position] = True  # type: ignore[index]
        return self.next()

    # -- values -----------------------------------------------------------------------------
    def value(self, key: Any | None = None) -> Any:
        """The current label of an item (default: the current item)."""
        ev = self.log.current(self._key(key))
        if ev is None or ev.status == "deleted":
            return self._empty()
        return self._decode(ev.payload)

    def is_labeled(self, key: Any | None = None) -> bool:
        return self.log.is_labeled(self._key(key))

    def set_value(
        self,
        value: Any,
        key: Any | None = None,
        *,
        source: str = "human",
        ref: int | None = None,
        final: bool = False,
    ) -> Any:
        """Set an item's whole value (validated), logged as one undoable action.

        An edit that leaves the value empty (the last box deleted, the last tag removed)
        makes the item unlabeled again; with ``final=True`` (see :meth:`submit`) an empty
        value is a label of its own: "no boxes" / "no tags".
        """
        k = self._key(key)
        if source not in SOURCES:
            raise InputError(f"unknown source {source!r}; use one of {SOURCES}")
        normalized = self._normalize(value, k)
        empty = normalized == self._empty() or normalized is None
        status = "deleted" if empty and not (final and normalized is not None) else "accepted"
        self._record(k, "label", status, self._encode(normalized), source=source, ref=ref)
        return normalized

    def submit(self, key: Any | None = None) -> Any:
        """Mark an item's current value as its label, even when empty ("no boxes", "no
        tags"); an item that already has a label is left as it is."""
        k = self._key(key)
        current = self.value(k)
        if self.log.is_labeled(k) or current is None:  # a class session needs a class
            return current
        return self.set_value(current, k, final=True)

    def clear(self, key: Any | None = None) -> None:
        """Remove an item's label (undoable)."""
        self.set_value(self._empty(), key)

    def record_review(
        self, key: Any, status: str, payload: Any, *, reviewer: str, ref: int | None = None
    ) -> LabelEvent:
        """Log a reviewer's decision on an item's label (``approved``, ``accepted`` for a
        fix, ``sent_back``). A sent-back item is served again by :meth:`next` until it is
        labeled anew; see :class:`nblabel.review.Review`."""
        return self._record(
            self._key(key), "review", status, payload, ref=ref, annotator=reviewer
        )

    def _record(
        self,
        key: str,
        action: str,
        status: str,
        payload: Any,
        *,
        source: str = "human",
        ref: int | None = None,
        annotator: str | None = None,
    ) -> LabelEvent:
        event = LabelEvent.make(
            self.task,
            key,
            action,
            status,
            source=source,
            annotator=annotator or self.annotator,
            payload=payload,
            ref=ref,
        )
        with self._lock:
            if self.df.index is not self._index_ref:
                # the user changed the DataFrame's rows: re-map first, so that a refusal
                # (e.g. a duplicated index) comes before anything is written
                self._reindex()
            stored = self.store.append(event)  # durable first: a failure changes nothing
            for item in self.log.apply(stored):
                self._sync(item)
        self._labels_cache = None
        if self.assignment is not None:
            self.assignment.record(stored)
        self._notify("suggestions" if action in ("suggest", "reject") else "value", key)
        return stored

    def _sync(self, key: str) -> None:
        """Write one item's value into the DataFrame cell (O(1))."""
        if self.df.index is not self._index_ref:
            self._reindex()
        pos = self.items.positions_of([key])[0]
        if pos < 0:
            return
        labeled = self.log.is_labeled(key)
        done = labeled and key not in self.log.sent_back
        if done != self._done[pos]:  # the item became done (or not): the rate counts items
            if done:
                self._done_times[pos] = time.time()
            else:
                self._done_times.pop(pos, None)
        self._done[pos] = done
        cell = self._cell(self.value(key)) if labeled else None
        self.df.iat[pos, self._col_pos] = cell

    def _reindex(self) -> None:
        """The user replaced the DataFrame's index or rows: rebuild the item map once."""
        log.warning("the DataFrame's index changed during the session; re-mapping items")
        old = self.items
        self.items = ItemSet(
            self.df, image=old.image_column, text=old.text_columns or None, root=old.root
        )
        self._index_ref = self.df.index
        self._col_pos = self._ensure_column()
        self._rows_changed(old)

    # -- undo / redo ------------------------------------------------------------------------
    def undo(self) -> str | None:
        """Undo this annotator's last action (across items); returns the item it changed."""
        target = self.log.undoable(self.annotator)
        if target is None:
            return None
        ev = self.log.event(target)
        self._record(ev.item, "undo", "deleted", None, ref=target)
        if self._position is not None and ev.item != self._key(None):
            self.goto(ev.item)
        return ev.item

    def redo(self) -> str | None:
        """Redo the last undone action; returns the item it changed."""
        target = self.log.redoable(self.annotator)
        if target is None:
            return None
        ev = self.log.event(target)
        self._record(ev.item, "redo", ev.status, None, ref=target)
        if self._position is not None and ev.item != self._key(None):
            self.goto(ev.item)
        return ev.item

    # -- suggestions ------------------------------------------------------------------------
    def suggest(
        self, key: Any, value: Any, *, source: str = "model", score: float | None = None,
        replace: str = "source",
    ) -> Suggestion:
        """Propose a value for an item.

        ``replace="source"`` (default) replaces an earlier suggestion of the same source;
        ``replace="all"`` replaces every pending suggestion of the item (an assistant's
        fused suggestion supersedes the tracker and model boxes it came from).
        """
        if replace not in ("source", "all"):
            raise InputError(f"replace must be 'source' or 'all', got {replace!r}")
        k = self._key(key)
        if source not in SOURCES or source == "human":
            raise InputError(
                f"suggestion source must be tracker, model, rule or import, got {source!r}"
            )
        normalized = self._stamp(self._normalize(value, k), source, score)
        payload = {
            "value": self._encode(normalized),
            "score": None if score is None else float(score),
        }
        status = "replacing" if replace == "all" else "suggested"
        ev = self._record(k, "suggest", status, payload, source=source)
        return Suggestion(int(ev.id), k, normalized, source, payload["score"])  # type: ignore[arg-type]

    def suggestions(self, key: Any | None = None) -> list[Suggestion]:
        """Pending suggestions of an item, best score first."""
        k = self._key(key)
        out = []
        for p in self.log.pending.get(k, {}).values():
            payload = p.event.payload
            out.append(
                Suggestion(p.id, k, self._decode(payload["value"]), p.source, payload.get("score"))
            )
        return sorted(out, key=lambda s: -(s.score if s.score is not None else -1.0))

    def accept(self, index: int = 0, key: Any | None = None, *, value: Any | None = None) -> Any:
        """Accept a suggestion (by its index in :meth:`suggestions`), optionally edited
        (``value``); it is merged into the item's value."""
        k = self._key(key)
        pending = self.suggestions(k)
        if not pending:
            raise InputError(f"item {k!r} has no suggestion to accept")
        if not 0 <= index < len(pending):
            raise InputError(
                f"item {k!r} has {len(pending)} suggestions; index {index} is out of range"
            )
        s = pending[index]
        chosen = s.value if value is None else self._normalize(value, k)
        merged = self._merge(self.value(k), chosen)
        return self.set_value(merged, k, source=s.source, ref=s.id)

    def accept_all(self, key: Any | None = None) -> Any:
        """Accept every pending suggestion of an item."""
        k = self._key(key)
        result = self.value(k)
        while self.suggestions(k):
            result = self.accept(0, k)
        return result

    def reject(self, index: int = 0, key: Any | None = None) -> None:
        """Reject a suggestion (undoable)."""
        k = self._key(key)
        pending = self.suggestions(k)
        if not 0 <= index < len(pending):
            raise InputError(f"item {k!r} has no suggestion number {index}")
        self._record(
            k, "reject", "rejected", None, source=pending[index].source, ref=pending[index].id
        )

    # -- reporting --------------------------------------------------------------------------
    @property
    def progress(self) -> Progress:
        """Items done, items done per hour (last hour of this session), estimated time left.

        An item is done when it is submitted or has a label (at least one box or tag, or a
        class); many actions on one item (boxes, class keys, undo/redo) count it once, and
        an item undone back to nothing no longer counts. The rate is measured over at least
        :attr:`RATE_MIN_WINDOW` seconds and needs :attr:`RATE_MIN_LABELS` items, so two
        quick items do not promise 25,000 an hour.
        """
        done, total = int(self._done.sum()), len(self.items)
        now = time.time()
        recent = sorted(t for t in self._done_times.values() if now - t <= 3600)
        per_hour = 0.0
        if len(recent) >= self.RATE_MIN_LABELS:
            span = max(now - recent[0], self.RATE_MIN_WINDOW)
            per_hour = len(recent) / span * 3600
        remaining = (total - done) / per_hour * 3600 if per_hour > 0 else None
        return Progress(done, total, per_hour, remaining)

    @property
    def labels(self) -> pd.DataFrame:
        """Tidy long table of current labels: one row per label (box, tag or class)."""
        if self._labels_cache is None:
            rows = []
            for key, ev in self.log.labeled_items().items():
                base = {
                    "item": key,
                    "annotator": ev.annotator,
                    "source": ev.source,
                    "time": pd.Timestamp(ev.ts, unit="s", tz="UTC"),
                }
                for r in self._tidy_rows(key, self._decode(ev.payload)):
                    rows.append({**base, **r})
            self._labels_cache = pd.DataFrame(rows, columns=self._tidy_columns())
        return self._labels_cache.copy()

    def _tidy_columns(self) -> list[str]:
        return ["item", "label", "annotator", "source", "time"]

    # -- import/export, rows mid-session, class balance (nblabel.io.session_io,
    #    nblabel.session_rows, nblabel.balance): thin delegates, logic lives there ---------
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
        from nblabel.session_rows import append_rows

        with self._lock:
            added = append_rows(self, rows)
            self._follow_rows()
        return added

    def class_balance(self) -> pd.DataFrame:
        """Per class (or tag): labels, pending suggestions, accepted/rejected suggestions
        and the acceptance rate; see :func:`nblabel.balance.class_balance`."""
        from nblabel.balance import class_balance

        return class_balance(self)

    def plot_class_balance(self, ax: Any = None) -> Any:
        """A bar chart of :meth:`class_balance` (matplotlib)."""
        from nblabel.balance import plot_class_balance

        return plot_class_balance(self.class_balance(), ax=ax)

    def _follow_rows(self) -> None:
        if self.df.index is not self._index_ref:
            with self._lock:
                if self.df.index is not self._index_ref:
                    self._reindex()

    def _rows_changed(self, old: ItemSet) -> None:
        from nblabel.session_rows import follow_rows

        pos = self._position
        before = None if pos is None or pos >= len(old) else str(old.keys[pos])
        self.row_change = follow_rows(self, old)
        self._notify("items", "")
        if self.current is not None and self.current.key != before:  # its row left
            self._notify("position", self.current.key)
    # -- end of import/export, rows mid-session, class balance ---------------------------

    def __repr__(self) -> str:
        p = self.progress
        return (
            f"{type(self).__name__}({p.done}/{p.total} labeled, column={self.column!r}, "
            f"store={self.store!r}, annotator={self.annotator!r})"
        )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


#: the class of a box in a stored payload (JSON text): ``"label": "apple"``
_LABEL_RE = re.compile(r'"label":\s*"((?:[^"\\]|\\.)*)"')


def _check_classes(classes: Iterable[str] | None, what: str) -> list[str]:
    out = [str(c) for c in (classes or [])]
    if len(set(out)) != len(out):
        raise InputError(f"{what} contain duplicates: {out}")
    return out


class BoxSession(LabelSession):
    """Label boxes (several per image, a class each).

    The DataFrame column (default ``boxes``) holds a list of box dicts per row
    (``label, x0, y0, x1, y1, score, source``); ``labels`` has one row per box.
    Boxes partly outside the image are clipped to it; boxes entirely outside, with no area
    or an unknown class raise :class:`~nblabel.errors.InputError` and change nothing.

    Parameters
    ----------
    classes : list of str
        The box classes (first is the default class of new boxes).
    group : str, optional
        Column naming the image group (for tracker propagation).
    add_classes : bool
        A store holding boxes of classes not in ``classes`` is refused with an error that
        names them (never replayed silently); ``add_classes=True`` adds them to the
        session's classes instead.
    **kwargs
        See :class:`LabelSession`.
    """

    kind = "boxes"
    default_column = "boxes"

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        image: str,
        classes: Sequence[str],
        group: str | None = None,
        add_classes: bool = False,
        **kwargs: Any,
    ) -> None:
        self.classes = _check_classes(classes, "classes")
        self._add_classes = bool(add_classes)
        if not self.classes:
            raise InputError("a BoxSession needs at least one class: classes=['cat', ...]")
        self.group_column = group
        if group is not None and group not in df.columns:
            raise InputError(f"group column {group!r} not in the DataFrame")
        self.active_class = self.classes[0]
        super().__init__(df, image=image, **kwargs)

    def _check_replayed(self) -> None:
        unknown = self._store_classes() - set(self.classes)
        if not unknown:
            return
        if self._add_classes:
            self.classes.extend(sorted(unknown))
            log.warning("store %s: added the classes %s to %s", self.store, sorted(unknown),
                        self.classes)
            return
        if self._owns_store:
            self.store.close()
        raise UnknownClassError(
            f"the store {self.store} has boxes of classes {sorted(unknown)} that this session "
            f"does not have (classes={self.classes}); pass add_classes=True to add them, "
            f"list them in classes=, or use another store"
        )

    def _store_classes(self) -> set[str]:
        """Every box class in the replayed events (labels, history, suggestions)."""
        text = "\n".join(ev.payload_json for ev in self.log.by_id.values())
        return {json.loads(f'"{m}"') for m in set(_LABEL_RE.findall(text))} if text else set()

    def _encode(self, value: tuple[Box, ...]) -> Any:
        return [b.to_dict() for b in value]

    def _decode(self, payload: Any) -> tuple[Box, ...]:
        return tuple(Box.from_dict(d) for d in payload or ())

    def _cell(self, value: tuple[Box, ...]) -> Any:
        return [b.to_dict() for b in value]

    def _empty(self) -> tuple[Box, ...]:
        return ()

    def _stamp(self, value: tuple[Box, ...], source: str, score: float | None) -> tuple[Box, ...]:
        return tuple(
            b.replace(
                source=source if b.source == "human" else b.source,
                score=score if b.score is None else b.score,
            )
            for b in value
        )

    def _merge(self, current: tuple[Box, ...], suggested: tuple[Box, ...]) -> tuple[Box, ...]:
        return tuple(current) + tuple(suggested)

    def _normalize(self, value: Any, key: str) -> tuple[Box, ...]:
        if isinstance(value, Box):
            value = (value,)
        boxes = []
        size = None
        for b in value or ():
            box = b if isinstance(b, Box) else Box.from_dict(b)
            if box.label not in self.classes:
                raise UnknownClassError(
                    f"item {key!r}: class {box.label!r} is not one of {self.classes}; "
                    "add it with session.add_class()"
                )
            if size is None:
                size = self.items.item(key).size()
            try:
                boxes.append(box.clip(*size))
            except InvalidBoxError as e:
                raise InvalidBoxError(f"item {key!r}: {e}") from None
        return tuple(boxes)

    def propagate(self, *, tracker: str = "csrt", sort: str | None = None,
                  processes: int | None = None, background: bool = False,
                  progress: bool = True) -> Any:
        """Let an OpenCV tracker carry the boxes labeled so far across each image group
        (``group=`` column); the tracked boxes become suggestions of source ``tracker``.

        See :func:`nblabel.suggest.propagation.propagate_session` for the parameters;
        ``background=True`` returns a cancellable job at once.
        """
        from nblabel.suggest.propagation import propagate_session

        return propagate_session(self, tracker=tracker, sort=sort, processes=processes,
                                 background=background, progress=progress)

    def add_class(self, name: str) -> None:
        """Add a class to the vocabulary (existing boxes are kept)."""
        if name not in self.classes:
            self.classes.append(str(name))

    def _tidy_rows(self, key: str, value: tuple[Box, ...]) -> list[dict[str, Any]]:
        return [
            {
                "label": b.label,
                "x0": b.x0,
                "y0": b.y0,
                "x1": b.x1,
                "y1": b.y1,
                "score": b.score,
                "box_source": b.source,
            }
            for b in value
        ]

    def _tidy_columns(self) -> list[str]:
        return [
            "item",
            "label",
            "x0",
            "y0",
            "x1",
            "y1",
            "score",
            "box_source",
            "annotator",
            "source",
            "time",
        ]

    # -- box actions ------------------------------------------------------------------------
    def draw_box(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        label: str | None = None,
        key: Any | None = None,
    ) -> Box:
        """Add a box drawn from corner to corner (any order) to an item."""
        box = Box.from_corners(x0, y0, x1, y1, label or self.active_class)
        k = self._key(key)
        new = self.set_value((*self.value(k), box), k)
        return new[-1]

    def update_box(self, index: int, key: Any | None = None, **changes: Any) -> Box:
        """Change fields of box ``index`` (move, resize, class) in one undoable action."""
        k = self._key(key)
        boxes = list(self.value(k))
        self._check_index(boxes, index, k)
        boxes[index] = boxes[index].replace(**changes)
        return self.set_value(tuple(boxes), k)[index]

    def set_box_class(self, index: int, label: str, key: Any | None = None) -> Box:
        """Change the class of box ``index``."""
        return self.update_box(index, key, label=label)

    def delete_box(self, index: int, key: Any | None = None) -> None:
        """Remove box ``index`` from an item."""
        k = self._key(key)
        boxes = list(self.value(k))
        self._check_index(boxes, index, k)
        del boxes[index]
        self.set_value(tuple(boxes), k)

    def snap_edges(self, index: int, edges: Iterable[str] | None = None,
                   key: Any | None = None, *, band: float = 0.15) -> Box:
        """Move edges of box ``index`` (default: all four; ``"left"``, ``"top"``,
        ``"right"``, ``"bottom"``) to the strongest nearby boundary in the image, in one
        undoable action (see :func:`nblabel.suggest.snap.snap_box`)."""
        k = self._key(key)
        boxes = list(self.value(k))
        self._check_index(boxes, index, k)
        snapped = self.snap_preview(boxes[index], edges, key=k, band=band)
        return self.update_box(index, k, x0=snapped.x0, y0=snapped.y0, x1=snapped.x1,
                               y1=snapped.y1) if snapped != boxes[index] else boxes[index]

    def snap_preview(self, box: Box, edges: Iterable[str] | None = None,
                     key: Any | None = None, *, band: float = 0.15) -> Box:
        """``box`` with its edges snapped on an item's image, without recording anything."""
        from nblabel.suggest.snap import snap_box

        im = self.items.item(self._key(key)).image(max_side=1024)
        sc = im.scale
        work = box.replace(x0=box.x0 * sc, y0=box.y0 * sc, x1=box.x1 * sc, y1=box.y1 * sc)
        got = snap_box(im.pixels, work, edges, band=band)
        return box.replace(x0=got.x0 / sc, y0=got.y0 / sc, x1=got.x1 / sc, y1=got.y1 / sc)

    def set_boxes(
        self, boxes: Iterable[Box], key: Any | None = None, *, source: str = "human"
    ) -> tuple[Box, ...]:
        """Replace all boxes of an item."""
        return self.set_value(tuple(boxes), key, source=source)

    @staticmethod
    def _check_index(boxes: list[Box], index: int, key: str) -> None:
        if not -len(boxes) <= index < len(boxes):
            raise InputError(f"item {key!r} has {len(boxes)} boxes; no box number {index}")


class TagSession(LabelSession):
    """Multi-label tagging: each item gets a set of tags.

    The DataFrame column (default ``tags``) holds a sorted list of tags per row.

    Parameters
    ----------
    tags : list of str or a vocabulary
        Allowed tags. A vocabulary object with ``normalize(tags) -> set`` (see
        :mod:`nblabel.vocab`) maps aliases and adds parents.
    allow_new : bool
        Unknown tags are added to the vocabulary instead of rejected.
    prefill : str, optional
        A column of tags to pre-fill (e.g. the author's own tags): offered as a suggestion of
        source ``import``.
    """

    kind = "tags"
    default_column = "tags"

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        tags: Any,
        allow_new: bool = False,
        prefill: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.vocabulary = tags
        self.allow_new = allow_new
        self.prefill_column = prefill
        if prefill is not None and prefill not in df.columns:
            raise InputError(f"prefill column {prefill!r} not in the DataFrame")
        if prefill is not None and prefill == (kwargs.get("column") or self.default_column):
            raise InputError(
                f"labels would overwrite the pre-fill column {prefill!r} (the author's tags); "
                f"pass column= another name, e.g. column='checked_{prefill}'"
            )
        self._tags = None if hasattr(tags, "normalize") else _check_classes(tags, "tags")
        super().__init__(df, **kwargs)

    @property
    def tag_names(self) -> list[str]:
        if self._tags is not None:
            return list(self._tags)
        return list(self.vocabulary.tags)

    def _normalize(self, value: Any, key: str) -> frozenset[str]:
        if value is None:
            return frozenset()
        if isinstance(value, str):
            value = [value]
        if hasattr(self.vocabulary, "normalize"):
            on_unknown = "add" if self.allow_new else "raise"
            # a tag the item already has stays valid after it left the vocabulary
            ev = self.log.current(key)
            had = self._decode(ev.payload) if ev is not None and ev.status != "deleted" else ()
            kept = {t for t in value if t in had and t not in self.vocabulary}
            rest = [t for t in value if t not in kept]
            return frozenset(self.vocabulary.normalize(rest, on_unknown=on_unknown)) | kept
        out = set()
        for t in value:
            t = str(t).strip()
            if t not in self._tags:  # type: ignore[operator]
                if not self.allow_new:
                    raise UnknownClassError(
                        f"item {key!r}: tag {t!r} is not in the vocabulary; pass allow_new=True "
                        "or add it with session.add_tag_to_vocabulary()"
                    )
                self._tags.append(t)  # type: ignore[union-attr]
            out.add(t)
        return frozenset(out)

    def add_tag_to_vocabulary(self, tag: str) -> None:
        if hasattr(self.vocabulary, "add"):
            self.vocabulary.add(tag)
        elif tag not in self._tags:  # type: ignore[operator]
            self._tags.append(tag)  # type: ignore[union-attr]

    def _encode(self, value: frozenset[str]) -> Any:
        return sorted(value)

    def _decode(self, payload: Any) -> frozenset[str]:
        return frozenset(payload or ())

    def _cell(self, value: frozenset[str]) -> Any:
        return sorted(value)

    def _empty(self) -> frozenset[str]:
        return frozenset()

    def _merge(self, current: frozenset[str], suggested: frozenset[str]) -> frozenset[str]:
        return current | suggested

    def _tidy_rows(self, key: str, value: frozenset[str]) -> list[dict[str, Any]]:
        return [{"label": t} for t in sorted(value)]

    def set_tags(self, tags: Iterable[str], key: Any | None = None) -> frozenset[str]:
        """Replace the tags of an item."""
        return self.set_value(list(tags), key)

    def add_tag(self, tag: str, key: Any | None = None) -> frozenset[str]:
        k = self._key(key)
        return self.set_value([*self.value(k), tag], k)

    def remove_tag(self, tag: str, key: Any | None = None) -> frozenset[str]:
        """Remove a tag (only that tag: its parents stay)."""
        k = self._key(key)
        current = set(self.value(k))
        current.discard(tag)
        self._record(k, "label", "accepted" if current else "deleted", sorted(current))
        return frozenset(current)

    def prefilled(self, key: Any | None = None) -> frozenset[str]:
        """Tags from the pre-fill column, normalised (unknown ones dropped)."""
        if self.prefill_column is None:
            return frozenset()
        k = self._key(key)
        raw = self.items.frame.iat[
            self.items.position_of(k), self.items.frame.columns.get_loc(self.prefill_column)
        ]
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            return frozenset()
        out: set[str] = set()
        vocab = self.vocabulary
        cheap_check = not self.allow_new and hasattr(vocab, "normalize")
        for t in [raw] if isinstance(raw, str) else list(raw):
            if cheap_check and t not in vocab:  # skip the error path (it ranks close matches)
                continue
            try:
                out |= self._normalize([t], k)
            except UnknownClassError:
                continue
        return frozenset(out)


class ClassSession(LabelSession):
    """Single-label classification: each item gets one class.

    The DataFrame column (default ``label``) holds the class per row.
    """

    kind = "label"
    default_column = "label"

    def __init__(self, df: pd.DataFrame, *, classes: Sequence[str], **kwargs: Any) -> None:
        self.classes = _check_classes(classes, "classes")
        if not self.classes:
            raise InputError("a ClassSession needs classes=['a', 'b', ...]")
        super().__init__(df, **kwargs)

    def _normalize(self, value: Any, key: str) -> str | None:
        if value is None:
            return None
        value = str(value)
        if value not in self.classes:
            raise UnknownClassError(f"item {key!r}: class {value!r} is not one of {self.classes}")
        return value

    def set_label(self, label: str | None, key: Any | None = None) -> str | None:
        """Set (or with ``None`` clear) the class of an item."""
        return self.set_value(label, key)
