"""What a session hands out: a :class:`Suggestion` waiting for a decision, and the
:class:`Progress` of the session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Progress", "Suggestion"]


@dataclass(frozen=True)
class Suggestion:
    """A proposed value for an item, waiting to be accepted or rejected."""

    id: int
    item: str
    value: Any
    source: str
    score: float | None
    note: str = ""  # what the assistant says about it ("suspected miss: ...")


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
