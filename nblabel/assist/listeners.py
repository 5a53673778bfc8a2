"""The listeners of an assistant: ``on_update(callback)`` and the events sent to them (the
status line, errors), shared by :class:`~nblabel.assist.BoxAssistant` and
:class:`~nblabel.assist.team.SharedAssistant`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["Listener", "Listeners"]

log = logging.getLogger("nblabel")
Listener = Callable[[str, dict[str, Any]], None]


class Listeners:
    """``on_update`` / ``_emit`` for a class with a ``status`` line and ``_listeners``."""

    _listeners: list[Listener]
    status: Any

    def on_update(self, callback: Listener, *, remove: bool = False) -> None:
        """``callback(event, info)`` after each change of state: event ``"status"``
        (``info["status"]``: the status line) or ``"error"`` (``info["error"]``).
        Called from background threads."""
        if remove:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)
        else:
            self._listeners.append(callback)

    def _emit(self, event: str, **info: Any) -> None:
        info.setdefault("status", self.status)
        for cb in list(self._listeners):
            try:
                cb(event, info)
            except Exception:
                log.exception("nblabel assistant listener failed")
