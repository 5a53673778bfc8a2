"""Following the store: a session reads the events that other processes wrote (other
annotators' labels, the suggestions of an assistant running in another kernel).

A session applies its own actions as it stores them; :meth:`Follower.pull` applies the rest.
Event ids grow with each insert, but on PostgreSQL an insert may commit after a later one
(each annotator writes in its own transaction), so a pull re-reads the last
:data:`PULL_MARGIN` ids and skips those it has applied already.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nblabel.store.events import LabelEvent

__all__ = ["PULL_MARGIN", "Follower"]

#: ids below the highest seen that a pull reads again (inserts that committed late)
PULL_MARGIN = 256


class Follower:
    """:meth:`pull` for a session (a mixin of :class:`~nblabel.session.LabelSession`)."""

    store: Any
    task: str
    log: Any
    _lock: threading.RLock
    _labels_cache: Any
    _sync: Callable[[str], None]
    _notify: Callable[[str, str], None]

    _pull_high: int = 0
    _pull_recent: deque[int] | None = None

    def _watch(self, events: Iterable[LabelEvent]) -> Iterator[LabelEvent]:
        """Pass replayed events through, remembering the highest ids (see :meth:`pull`)."""
        recent: deque[int] = deque(maxlen=2 * PULL_MARGIN)
        self._pull_recent = recent
        for ev in events:
            recent.append(ev.id)
            yield ev
        self._pull_high = recent[-1] if recent else 0

    def _saw(self, event_id: int) -> None:
        """This session applied event ``event_id`` itself (it wrote it)."""
        if self._pull_recent is None:
            self._pull_recent = deque(maxlen=2 * PULL_MARGIN)
        self._pull_recent.append(event_id)
        self._pull_high = max(self._pull_high, event_id)

    def pull(self) -> list[str]:
        """Apply the events other processes stored since this session last looked: their
        labels reach the DataFrame, their suggestions the widget (observers are told, as
        for this session's own actions). Returns the items that changed.

        Team mode calls this for you (:class:`~nblabel.assist.team.SharedAssistant` polls);
        call it yourself to see what the rest of a team did.
        """
        changed: dict[str, str] = {}
        with self._lock:
            recent = self._pull_recent if self._pull_recent is not None else deque()
            seen = set(recent)
            after = max(0, self._pull_high - PULL_MARGIN)
            fresh = [ev for ev in self.store.events(self.task, after=after) if ev.id not in seen]
            for ev in fresh:
                self._saw(ev.id)
                what = "suggestions" if ev.action in ("suggest", "reject") else "value"
                for item in self.log.apply(ev):
                    self._sync(item)
                    if changed.get(item) != "value":
                        changed[item] = what
            if changed:
                self._labels_cache = None
        for item, what in changed.items():
            self._notify(what, item)
        return list(changed)
