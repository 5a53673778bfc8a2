"""Kept for compatibility: the former ``nblabel.team`` module is now split in
:mod:`nblabel.store.team` (:class:`TeamStore`), :mod:`nblabel.store.engine` (server URLs,
engines, retries) and :mod:`nblabel.store.agreement` (:func:`team_progress`,
:func:`item_agreement`); its public names are re-exported here."""

from nblabel.store.agreement import item_agreement, team_progress
from nblabel.store.engine import (
    StoreUnavailableError,
    describe_server,
    is_server_url,
    is_transient,
    make_engine,
)
from nblabel.store.team import TeamStore

__all__ = [
    "StoreUnavailableError",
    "TeamStore",
    "describe_server",
    "is_server_url",
    "is_transient",
    "item_agreement",
    "make_engine",
    "team_progress",
]
