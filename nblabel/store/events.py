"""The label event and the event tables: what the store logs.

An event sets a value, proposes one, undoes/redoes another event, rejects a suggestion,
skips an item or reviews a label; nothing is ever updated or deleted (see
:mod:`nblabel.store.log` for the replay).
"""

from __future__ import annotations

import getpass
import json
import os
import time
from typing import Any, NamedTuple

import sqlalchemy as sa

from nblabel.errors import StoreError

__all__ = ["ACTIONS", "SCHEMA_VERSION", "STATUSES", "LabelEvent", "default_annotator",
           "events_table"]

SCHEMA_VERSION = 1
#: What an event does: set a value, propose one, undo/redo another event, reject a
#: suggestion, skip an item, review a label.
ACTIONS = ("label", "suggest", "undo", "redo", "reject", "skip", "review")
STATUSES = (
    "accepted", "suggested", "replacing", "rejected", "deleted", "skipped", "approved",
    "sent_back",
)

metadata = sa.MetaData()
meta_table = sa.Table(
    "nblabel_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
events_table = sa.Table(
    "nblabel_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task", sa.String(64), nullable=False),
    sa.Column("item", sa.Text, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("annotator", sa.String(128), nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("ref", sa.Integer, nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_nblabel_events_task_item", "task", "item"),
    sa.Index("ix_nblabel_events_task_id", "task", "id"),
)
cursors_table = sa.Table(
    "nblabel_cursors",
    metadata,
    sa.Column("task", sa.String(64), primary_key=True),
    sa.Column("annotator", sa.String(128), primary_key=True),
    sa.Column("item", sa.Text, nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
)


def default_annotator() -> str:
    """The annotator name used when none is given: ``$NBLABEL_ANNOTATOR`` or the OS user."""
    name = os.environ.get("NBLABEL_ANNOTATOR")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:
        return "anonymous"


class LabelEvent(NamedTuple):
    """One entry of the log (an immutable named tuple: cheap to build by the 100,000).

    Attributes
    ----------
    task : str
        Which labeling task (the DataFrame column it writes, e.g. ``"boxes"``).
    item : str
        Item id (``str`` of the DataFrame index label).
    action : str
        One of :data:`ACTIONS`.
    status : str
        One of :data:`STATUSES`.
    source : str
        ``human``, ``tracker``, ``model``, ``rule`` or ``import``.
    annotator : str
        Who did it.
    payload_json : str
        The value as JSON text (parsed lazily by :attr:`payload`).
    ref : int, optional
        The event this one refers to (undo/redo/reject/accept of a suggestion).
    ts : float
        Unix time (set by :meth:`make`).
    id : int, optional
        Set once stored.
    """

    task: str
    item: str
    action: str
    status: str
    source: str
    annotator: str
    payload_json: str = "null"
    ref: int | None = None
    ts: float = 0.0
    id: int | None = None

    @property
    def payload(self) -> Any:
        try:
            return json.loads(self.payload_json)
        except ValueError as e:  # a store edited outside nblabel
            raise StoreError(
                f"event {self.id} (task {self.task!r}, item {self.item!r}) has a corrupt "
                f"payload ({e}); the store was changed outside nblabel: restore a backup"
            ) from None

    @classmethod
    def make(
        cls,
        task: str,
        item: str,
        action: str,
        status: str,
        *,
        source: str = "human",
        annotator: str,
        payload: Any = None,
        ref: int | None = None,
    ) -> LabelEvent:
        """Build an event stamped with the current time, serialising ``payload`` to JSON."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        return cls(
            task,
            item,
            action,
            status,
            source,
            annotator,
            json.dumps(payload, allow_nan=False, separators=(",", ":")),
            ref,
            time.time(),
        )
