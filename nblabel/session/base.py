"""The labeling session: the controller that binds items, queue, store and DataFrame.

Everything a user can do with the mouse or keyboard is a method here (``draw_box``,
``accept``, ``next``, ``undo`` ...), which is how widgets, scripts and tests drive the loop.
Each action is written to the store (committed) before the in-memory state, the user's
DataFrame and the observers are updated, so an error loses nothing and a kernel restart
resumes where the annotator stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from nblabel.data.items import Item, ItemSet
from nblabel.errors import InputError
from nblabel.queue import Queue
from nblabel.session.follow import Follower
from nblabel.session.frame import FrameWriter
from nblabel.session.kinds import Kind
from nblabel.session.rows_io import RowsAndFiles
from nblabel.shapes import SOURCES
from nblabel.store.events import LabelEvent, default_annotator
from nblabel.store.log import LabelLog
from nblabel.store.open import open_store
from nblabel.store.sqlite import Store

__all__ = ["LabelSession", "Progress", "Suggestion"]

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


class LabelSession(RowsAndFiles, FrameWriter, Follower):
    """Base class of the labeling sessions; use :class:`BoxSession`, :class:`TagSession` or
    :class:`ClassSession`.

    Parameters
    ----------
    df : pandas.DataFrame
        The user's DataFrame; its column ``column`` is updated in place after each action.
    image, text, root
        Where the item content is (see :class:`~nblabel.data.items.ItemSet`).
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
    assignment : nblabel.store.assign.Assignment, optional
        Team mode: :meth:`next` serves only items leased to this annotator (nobody else
        holds them); see :mod:`nblabel.store.assign`.
    """

    kind: ClassVar[str] = "value"
    #: the value codec of the kind (see :mod:`nblabel.session.kinds`)
    codec: ClassVar[Kind] = Kind()
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

    # -- value codec (public: other modules use these, never the session's internals) ----
    def encode(self, value: Any) -> Any:
        """A value as the JSON payload the store keeps."""
        return self.codec.encode(value)

    def decode(self, payload: Any) -> Any:
        """A stored payload as a value."""
        return self.codec.decode(payload)

    def normalize(self, value: Any, key: Any | None = None) -> Any:
        """A value validated for an item (overridden: classes, image bounds, vocabulary)."""
        return value

    def _key(self, key: Any | None) -> str:
        """Kept for compatibility (widgets): use :meth:`item_key`."""
        return self.item_key(key)

    def _normalize(self, value: Any, key: Any | None) -> Any:
        """Kept for compatibility (widgets): use :meth:`normalize`."""
        return self.normalize(value, key)

    @property
    def position(self) -> int | None:
        """Row position of the current item (``None`` for an empty DataFrame)."""
        return self._position

    @property
    def skipped(self) -> np.ndarray:
        """Per row position: the item was skipped (read-only view)."""
        view = self._skipped.view()
        view.flags.writeable = False
        return view

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

    def item_key(self, key: Any | None = None) -> str:
        """The id of an item (default: the current one), validated; accepts an
        :class:`~nblabel.data.items.Item`."""
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
        key = self.item_key(None)
        self._record(key, "skip", "skipped", None)
        self._skipped[self._position] = True  # type: ignore[index]
        return self.next()

    # -- values -----------------------------------------------------------------------------
    def value(self, key: Any | None = None) -> Any:
        """The current label of an item (default: the current item)."""
        ev = self.log.current(self.item_key(key))
        if ev is None or ev.status == "deleted":
            return self.codec.empty()
        return self.codec.decode(ev.payload)

    def is_labeled(self, key: Any | None = None) -> bool:
        return self.log.is_labeled(self.item_key(key))

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
        k = self.item_key(key)
        if source not in SOURCES:
            raise InputError(f"unknown source {source!r}; use one of {SOURCES}")
        normalized = self.normalize(value, k)
        empty = normalized == self.codec.empty() or normalized is None
        status = "deleted" if empty and not (final and normalized is not None) else "accepted"
        self._record(k, "label", status, self.codec.encode(normalized), source=source, ref=ref)
        return normalized

    def submit(self, key: Any | None = None) -> Any:
        """Mark an item's current value as its label, even when empty ("no boxes", "no
        tags"); an item that already has a label is left as it is."""
        k = self.item_key(key)
        current = self.value(k)
        if self.log.is_labeled(k) or current is None:  # a class session needs a class
            return current
        return self.set_value(current, k, final=True)

    def clear(self, key: Any | None = None) -> None:
        """Remove an item's label (undoable)."""
        self.set_value(self.codec.empty(), key)

    def record_review(
        self, key: Any, status: str, payload: Any, *, reviewer: str, ref: int | None = None
    ) -> LabelEvent:
        """Log a reviewer's decision on an item's label (``approved``, ``accepted`` for a
        fix, ``sent_back``). A sent-back item is served again by :meth:`next` until it is
        labeled anew; see :class:`nblabel.quality.review.Review`."""
        return self._record(
            self.item_key(key), "review", status, payload, ref=ref, annotator=reviewer
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
            if self.assignment is None:
                stored = self.store.append(event)  # durable first: a failure changes nothing
            else:  # team mode: the event, the lease and the cursor in one transaction
                undo = action == "undo" and ref is not None
                labeled = self.log.labeled_without(ref) if undo else None  # type: ignore[arg-type]
                stored = self.assignment.write(event, cursor=self._cursor_after(action, key),
                                               labeled=labeled)
            self._saw(int(stored.id))  # type: ignore[arg-type]
            for item in self.log.apply(stored):
                self._sync(item)
        self._labels_cache = None
        self._notify("suggestions" if action in ("suggest", "reject") else "value", key)
        return stored

    def _cursor_after(self, action: str, key: str) -> str | None:
        """Where this annotator's cursor is once ``action`` on ``key`` is done (``None``:
        nowhere to write): undo and redo go to their item, suggestions do not move it."""
        if action == "suggest" or self._position is None:
            return None
        return key if action in ("undo", "redo") else str(self.items.keys[self._position])

    # -- undo / redo ------------------------------------------------------------------------
    def undo(self) -> str | None:
        """Undo this annotator's last action (across items); returns the item it changed."""
        target = self.log.undoable(self.annotator)
        if target is None:
            return None
        ev = self.log.event(target)
        self._record(ev.item, "undo", "deleted", None, ref=target)
        if self._position is not None and ev.item != self.item_key(None):
            self.goto(ev.item)
        return ev.item

    def redo(self) -> str | None:
        """Redo the last undone action; returns the item it changed."""
        target = self.log.redoable(self.annotator)
        if target is None:
            return None
        ev = self.log.event(target)
        self._record(ev.item, "redo", ev.status, None, ref=target)
        if self._position is not None and ev.item != self.item_key(None):
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
        k = self.item_key(key)
        if source not in SOURCES or source == "human":
            raise InputError(
                f"suggestion source must be tracker, model, rule or import, got {source!r}"
            )
        normalized = self.codec.stamp(self.normalize(value, k), source, score)
        payload = {
            "value": self.codec.encode(normalized),
            "score": None if score is None else float(score),
        }
        status = "replacing" if replace == "all" else "suggested"
        ev = self._record(k, "suggest", status, payload, source=source)
        return Suggestion(int(ev.id), k, normalized, source, payload["score"])  # type: ignore[arg-type]

    def suggestions(self, key: Any | None = None) -> list[Suggestion]:
        """Pending suggestions of an item, best score first."""
        k = self.item_key(key)
        out = []
        for p in self.log.pending.get(k, {}).values():
            payload = p.event.payload
            value = self.codec.decode(payload["value"])
            out.append(Suggestion(p.id, k, value, p.source, payload.get("score")))
        return sorted(out, key=lambda s: -(s.score if s.score is not None else -1.0))

    def accept(self, index: int = 0, key: Any | None = None, *, value: Any | None = None) -> Any:
        """Accept a suggestion (by its index in :meth:`suggestions`), optionally edited
        (``value``); it is merged into the item's value."""
        k = self.item_key(key)
        pending = self.suggestions(k)
        if not pending:
            raise InputError(f"item {k!r} has no suggestion to accept")
        if not 0 <= index < len(pending):
            raise InputError(
                f"item {k!r} has {len(pending)} suggestions; index {index} is out of range"
            )
        s = pending[index]
        chosen = s.value if value is None else self.normalize(value, k)
        merged = self.codec.merge(self.value(k), chosen)
        return self.set_value(merged, k, source=s.source, ref=s.id)

    def accept_all(self, key: Any | None = None) -> Any:
        """Accept every pending suggestion of an item."""
        k = self.item_key(key)
        result = self.value(k)
        while self.suggestions(k):
            result = self.accept(0, k)
        return result

    def reject(self, index: int = 0, key: Any | None = None) -> None:
        """Reject a suggestion (undoable)."""
        k = self.item_key(key)
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

    def __repr__(self) -> str:
        p = self.progress
        return (
            f"{type(self).__name__}({p.done}/{p.total} labeled, column={self.column!r}, "
            f"store={self.store!r}, annotator={self.annotator!r})"
        )
