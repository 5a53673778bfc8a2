"""Engines for database servers (PostgreSQL over psycopg 3): URLs, connection settings,
and which failures are worth retrying. No store logic here: :mod:`nblabel.store.sqlite` and
:mod:`nblabel.store.team` both build on it."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from nblabel.errors import StoreError

__all__ = ["StoreUnavailableError", "describe_server", "is_server_url", "is_transient",
           "make_engine"]

#: SQLSTATEs of failures worth retrying: connection exceptions (class 08), server shutting
#: down or starting up (57P01-57P03), serialization failure and deadlock (40001, 40P01).
_TRANSIENT_STATES = ("08", "57P01", "57P02", "57P03", "40001", "40P01")
_PERMANENT_WORDS = ("password authentication", "does not exist", "no pg_hba.conf", "permission")


class StoreUnavailableError(StoreError, ConnectionError):
    """The database server cannot be reached (after retries); nothing committed is lost."""


def is_server_url(url: str | os.PathLike) -> bool:
    """True for a URL of a database server (not SQLite, not a file path)."""
    text = os.fspath(url)
    if "://" not in text:
        return False
    try:
        return sa.engine.make_url(text).get_backend_name() not in ("sqlite",)
    except Exception:
        return False


def _server_url(url: sa.URL | str) -> sa.URL:
    """``postgresql://`` / ``postgres://`` -> the psycopg 3 driver."""
    u = sa.engine.make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def describe_server(url: sa.URL | str) -> str:
    """``host:port/database as user`` of a URL, filling gaps from the PG* variables; never
    the password."""
    u = sa.engine.make_url(url)
    env = os.environ
    host = u.host or env.get("PGHOST") or "localhost"
    port = u.port or env.get("PGPORT") or 5432
    db = u.database or env.get("PGDATABASE") or "(default database)"
    user = u.username or env.get("PGUSER") or "(default user)"
    return f"{host}:{port}/{db} as {user}"


def make_engine(url: sa.URL | str, *, read_only: bool = False, connect_timeout: float = 5.0):
    """An SQLAlchemy engine for a PostgreSQL URL over psycopg 3, without a pool.

    Every ``connect()`` opens a server connection and ``close()`` ends it
    (:class:`sqlalchemy.pool.NullPool`): a :class:`~nblabel.store.TeamStore` holds exactly
    one, so N annotator processes use N server connections.

    Parameters
    ----------
    url : str or sqlalchemy.URL
        ``postgresql://[user[:password]@][host][:port][/database]``; missing parts come from
        the libpq environment (``PGHOST``, ``PGUSER``, ``PGPASSWORD`` ...).
    read_only : bool
        Every transaction of the engine is read-only on the server.
    connect_timeout : float
        Seconds to wait for the server to answer a connection.
    """
    u = _server_url(url)
    # no pool: the store holds its one connection itself (and closes it when idle), so a
    # class of annotators costs the server one connection each, never a pool of them
    if u.get_backend_name() != "postgresql":
        return sa.create_engine(u, poolclass=sa.pool.NullPool)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise StoreError(
            'a PostgreSQL store needs psycopg 3: pip install "nblabel[team]"'
        ) from None
    connect_args: dict[str, Any] = {
        "connect_timeout": max(1, round(connect_timeout)),
        "application_name": "nblabel",
    }
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    return sa.create_engine(u, poolclass=sa.pool.NullPool, connect_args=connect_args)


def _sqlstate(e: BaseException) -> str | None:
    orig = getattr(e, "orig", e)
    return getattr(orig, "sqlstate", None)


def is_transient(e: BaseException) -> bool:
    """True when a database error is worth retrying (connection lost, server restarting)."""
    if isinstance(e, StoreUnavailableError):
        return True
    if not isinstance(e, DBAPIError):
        return False
    if e.connection_invalidated:
        return True
    text = str(getattr(e, "orig", e)).lower()
    if any(w in text for w in _PERMANENT_WORDS):
        return False
    state = _sqlstate(e)
    if state is None:  # connection-level failure from libpq (refused, reset, timeout)
        return isinstance(e, sa.exc.OperationalError)
    return state.startswith(_TRANSIENT_STATES)
