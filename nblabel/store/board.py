"""The board: small shared values of a task that one process publishes and the others read
(the assistant's queue order, its status and the record of its model fits).

Labels and suggestions are events (:mod:`nblabel.store.events`); what is published here is
state that is replaced as a whole, so it is not kept as history: one row per (task, name),
with a version that grows by one at each :func:`publish`, so a reader that remembers the
version it saw reads nothing new cheaply (:func:`read` with ``newer_than``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nblabel.store.assign import _create_table, _run
from nblabel.store.sqlite import Store

__all__ = ["board_table", "publish", "read"]

board_metadata = sa.MetaData()
board_table = sa.Table(
    "nblabel_board",
    board_metadata,
    sa.Column("task", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
)
_B = board_table.c
_KNOWN = "_nblabel_board_exists"  # set on a store once its board table is known to exist


def _ensure(store: Store) -> None:
    if not getattr(store, _KNOWN, False):
        _run(store, "create board table", lambda c: _create_table(c, board_table))
        setattr(store, _KNOWN, True)


def publish(store: Store, task: str, name: str, value: Any) -> int:
    """Replace the value ``name`` of ``task`` (anything JSON can hold); returns its new
    version (1 for the first)."""
    _ensure(store)
    text = json.dumps(value, separators=(",", ":"))
    now = time.time()

    def write(conn: sa.Connection) -> int:
        dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
        stmt = dialect.insert(board_table).values(task=task, name=name, version=1,
                                                  value=text, ts=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_B.task, _B.name],
            set_={"version": board_table.c.version + 1, "value": text, "ts": now},
        ).returning(_B.version)
        return int(conn.execute(stmt).scalar_one())

    return _run(store, "publish", write)


def read(store: Store, task: str, name: str, *, newer_than: int = 0) -> tuple[int, Any] | None:
    """``(version, value)`` of ``name``, or ``None`` when it was never published or its
    version is not above ``newer_than`` (nothing new since that one)."""
    known = getattr(store, _KNOWN, False)

    def get(conn: sa.Connection) -> Any:
        if not known and not sa.inspect(conn).has_table(board_table.name):
            return None
        return conn.execute(
            sa.select(_B.version, _B.value)
            .where(_B.task == task, _B.name == name, _B.version > newer_than)
        ).first()

    row = _run(store, "read board", get)
    if row is None:
        return None
    setattr(store, _KNOWN, True)
    return int(row.version), json.loads(row.value)
