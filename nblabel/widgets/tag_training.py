"""The trainer protocol of the tag and class labelers; the implementation lives in the core,
:class:`nblabel.assist.tag_binding.ActiveBinding` (re-exported here)."""

from __future__ import annotations

from nblabel.assist.tag_binding import ActiveBinding, strategy_name

__all__ = ["ActiveBinding", "strategy_name"]
