"""Fixtures for a throwaway PostgreSQL 15 cluster (see :mod:`nblabel.bench._pgtemp`).

Missing binaries or psycopg -> :func:`tests.conftest.require` (skip locally, fail in CI).
Registered for every test module by ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

import pytest

from nblabel.bench._pgtemp import PgServer, find_bindir
from tests.conftest import require


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL 15 cluster for the whole test session."""
    bindir = find_bindir()
    require(bindir is not None, "PostgreSQL server binaries (initdb, pg_ctl) not found; "
            "install the Debian package postgresql (bash scripts/setup.sh test)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        require(False, 'psycopg not installed: pip install -e ".[team]"')
    server = PgServer(bindir)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(pg_server) -> str:
    """URL (with password) of a fresh, empty database."""
    return pg_server.url(pg_server.create_database())
