"""Open a store from what a user passes: a store, a path, a URL, or nothing (in memory)."""

from __future__ import annotations

import os
from typing import Any

from nblabel.store.engine import is_server_url
from nblabel.store.sqlite import Store
from nblabel.store.team import TeamStore

__all__ = ["open_store"]


def open_store(store: Store | str | os.PathLike | None, **kwargs: Any) -> Store:
    """A :class:`Store` from a store, a path, a URL, or ``None`` (in memory)."""
    if isinstance(store, Store):
        return store
    if store is None:
        return Store(":memory:", **kwargs)
    if is_server_url(store):  # PostgreSQL: retries and clear connection errors
        return TeamStore(os.fspath(store), **kwargs)
    return Store(store, **kwargs)
