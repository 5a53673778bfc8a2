"""The box labeler's link to its :class:`~nblabel.assist.boxes.BoxAssistant`: starting it,
its status line under the canvas and its errors in the message area."""

from __future__ import annotations

import html
import importlib.util
import sys
from typing import Any

from nblabel.errors import InputError

__all__ = ["AssistantMixin"]


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


class AssistantMixin:
    """Methods of :class:`~nblabel.widgets.boxes.BoxLabeler` that bind its assistant (the
    labeler has ``session``, ``controls`` and the ``status`` HTML widget)."""

    session: Any
    controls: Any
    status: Any

    def _start_assistant(self, assist: Any) -> Any:
        from nblabel.assist.team import SharedAssistant

        s = self.session
        if assist is None:
            assist = s.group_column is not None or _has_torch()
        if assist is False:
            return None
        if assist is True and s.assignment is not None:
            # team mode: one assistant for everyone on the task; a follower never imports
            # the assistant's module (tracker, calibration: cv2, scipy, sklearn, ~100 MB)
            assistant = SharedAssistant()
        elif assist is True:
            from nblabel.assist.boxes import BoxAssistant

            assistant = BoxAssistant()
        else:
            assistant = assist
        # a BoxAssistant given by the caller has its module imported already
        boxes = sys.modules.get("nblabel.assist.boxes")
        kinds = (SharedAssistant,) if boxes is None else (boxes.BoxAssistant, SharedAssistant)
        if not isinstance(assistant, kinds):
            raise InputError("assist= takes True, False, a BoxAssistant or a SharedAssistant, "
                             f"got {assist!r}")
        assistant.on_update(self._on_assist)
        if assistant.session is None:
            assistant.attach(s)
        elif assistant.session is not s:
            raise InputError("this BoxAssistant is attached to another session")
        self._show_status(assistant.status)
        return assistant

    def _on_assist(self, event: str, info: dict[str, Any]) -> None:
        """From the assistant's threads: its status line, and its errors in the messages."""
        self._show_status(str(info.get("status", "")))
        if event == "error":
            self.controls.show_error(str(info.get("error", "assistant error")))

    def _show_status(self, text: str) -> None:
        self.status.value = (f'<span class="nblabel-assist">assistant: {html.escape(text)}'
                             "</span>" if text else "")
