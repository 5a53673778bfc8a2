"""The label store: an append-only log of label events in SQLite (one annotator) or
PostgreSQL (a team), its replay into current labels, and the team's leases.

- :mod:`~nblabel.store.events`: the event and its tables;
- :mod:`~nblabel.store.sqlite`: :class:`Store` (SQLite, or any SQLAlchemy URL);
- :mod:`~nblabel.store.sqlite_engine`: the SQLite engine (WAL, busy timeout);
- :mod:`~nblabel.store.engine`, :mod:`~nblabel.store.team`: :class:`TeamStore` on a
  PostgreSQL server, with retries; :mod:`~nblabel.store.open`: :func:`open_store`;
- :mod:`~nblabel.store.log`: :class:`LabelLog`, the replay;
- :mod:`~nblabel.store.assign`: :class:`Assignment`, leases for teams;
- :mod:`~nblabel.store.agreement`: :func:`team_progress`, :func:`item_agreement`.

Imports go one way: events <- sqlite (with sqlite_engine, engine) <- team <- open <-
agreement; log <- events; assign <- sqlite. The names of the former ``nblabel.store``
module are re-exported here.
"""

from __future__ import annotations

from nblabel.store.events import (
    ACTIONS,
    SCHEMA_VERSION,
    STATUSES,
    LabelEvent,
    cursors_table,
    default_annotator,
    events_table,
    meta_table,
    metadata,
)
from nblabel.store.open import open_store
from nblabel.store.sqlite import Store
from nblabel.store.team import TeamStore

__all__ = [
    "ACTIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "LabelEvent",
    "Store",
    "TeamStore",
    "cursors_table",
    "default_annotator",
    "events_table",
    "meta_table",
    "metadata",
    "open_store",
]
