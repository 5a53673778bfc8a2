"""The SQLite engine of :class:`~nblabel.store.Store`: one connection (``StaticPool``), WAL,
``synchronous=NORMAL`` and a busy timeout."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from nblabel.errors import StoreError

__all__ = ["make_sqlite_engine"]


def make_sqlite_engine(url: str, path: Path | None, *, read_only: bool,
                       timeout: float) -> sa.Engine:
    """The engine of a SQLite store: one connection (``StaticPool``), WAL, a busy timeout.

    Parameters
    ----------
    url : str
        ``sqlite://`` (in memory) or ``sqlite:///<path>``.
    path : pathlib.Path or None
        The store file (``None``: in memory).
    read_only : bool
        Open the file read-only (it must exist).
    timeout : float
        Seconds a writer waits for another process's write transaction.
    """
    if path is None:
        return sa.create_engine(url, poolclass=sa.pool.StaticPool,
                                connect_args={"check_same_thread": False})
    if read_only:
        if not path.exists():
            raise StoreError(f"store file {path} does not exist (read-only open)")
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    elif not path.parent.exists():
        raise StoreError(f"directory of store file {path} does not exist")
    engine = sa.create_engine(
        url, poolclass=sa.pool.StaticPool,
        connect_args={"timeout": timeout, "check_same_thread": False},
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
        cur = dbapi_conn.cursor()
        if not read_only:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cur.close()

    return engine
