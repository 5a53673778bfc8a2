"""The widget shared by the tag and class labelers (:mod:`nblabel.widgets.tags`): a
:class:`~nblabel.widgets.tag_picker.TagPicker` for the item, chips, completion and
suggestions, the shared :class:`~nblabel.widgets.controls.Controls`, keys, and the binding
to a background trainer (see :mod:`nblabel.widgets.tag_training`).

Each user intent becomes one session call; errors go to the message area, never raise.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from nblabel.assist.tag_binding import N_SUGGESTIONS, rank_suggestions
from nblabel.data.images import encode_for_display
from nblabel.errors import NblabelError
from nblabel.session import LabelSession
from nblabel.widgets._protocol import Keymap, action_for, parse_message, resolve_keymap
from nblabel.widgets.controls import Controls, LabelerBox
from nblabel.widgets.tag_picker import TagPicker

__all__ = ["ACTIONS", "DEFAULT_KEYMAP", "Labeler", "make_trainer"]

log = logging.getLogger("nblabel")

#: action -> default keys (the one keymap shape of :mod:`nblabel.widgets._protocol`);
#: ``pick:N`` toggles the numbered suggestion N
DEFAULT_KEYMAP: Keymap = {
    "submit": ("Enter",),
    "skip": ("Ctrl+ArrowRight",),
    "previous": ("Ctrl+ArrowLeft",),
    "undo": ("Ctrl+z",),
    "redo": ("Ctrl+Shift+z", "Ctrl+y"),
    **{f"pick:{i}": (str(i),) for i in range(1, 10)},
}
ACTIONS = ("submit", "skip", "previous", "undo", "redo")


def _is_action(name: str) -> bool:
    return name in ACTIONS or (name.startswith("pick:") and name[5:] in {str(i) for i in
                                                                         range(1, 10)})


def _keymap(overrides: Mapping[str, Any] | None) -> Keymap:
    """Default keys with the user's overrides: ``{action: key or [keys]}`` (``None``
    unbinds the action), or the earlier ``{key: action or None}`` (adds or unbinds a key)."""
    return resolve_keymap(DEFAULT_KEYMAP, overrides, _is_action)


def _hint(keymap: Keymap) -> str:
    parts = ["1-9 pick"] if any(a.startswith("pick:") and k for a, k in keymap.items()) else []
    parts += [f"{'/'.join(keymap[a])} {a}" for a in ACTIONS if keymap.get(a)]
    return " · ".join(parts)


class Labeler(LabelerBox):
    """The widget shared by :class:`~nblabel.widgets.tags.TagLabeler` and
    :class:`~nblabel.widgets.tags.ClassLabeler` (use those). Like
    :class:`~nblabel.widgets.BoxLabeler`, the labeler is its own VBox (``.widget`` is the
    labeler itself).

    Parameters
    ----------
    session : LabelSession
        The controller every intent goes to.
    trainer : object, optional
        Scores and background training (protocol in :mod:`nblabel.widgets.tag_training`).
    keymap : dict, optional
        ``{action: key or [keys]}`` overrides (``{key: action or None}`` is read too); the
        labeler's ``.keymap`` is ``{action: (keys...)}``.
    text_height : str
        CSS max height of the item text (longer text scrolls).
    image_size : int
        Longest side, in pixels, of images sent to the browser.
    advance_on_pick : bool
        A number key also submits (single-label).
    buttons : sequence of str, optional
        Buttons of the shared controls.
    """

    session: LabelSession
    _buttons: tuple[str, ...] = ("previous", "undo", "redo", "skip", "submit")

    def __init__(
        self,
        session: LabelSession,
        *,
        trainer: Any | None = None,
        keymap: Mapping[str, str | None] | None = None,
        text_height: str = "16em",
        image_size: int = 800,
        advance_on_pick: bool = False,
        buttons: Sequence[str] | None = None,
    ) -> None:
        self.session = session
        if buttons is not None:
            self._buttons = tuple(buttons)
        self.keymap = _keymap(keymap)
        self.image_size = int(image_size)
        self.advance_on_pick = advance_on_pick
        self.picker = TagPicker(
            keymap={a: list(k) for a, k in self.keymap.items()},
            hint=_hint(self.keymap),
            text_height=text_height,
            image_height=f"{self.image_size}px",
        )
        self.controls = Controls(session, buttons=self._buttons, on_submit=self.submit)
        self.picker.on_intent(self.handle)
        super().__init__(self.controls, self.picker, "nbl-labeler")
        self._shown: str | None = None
        self._menu_stale = True
        self._menu: list[str] = []  # the numbered suggestions of the shown item
        self.trainer = trainer
        if trainer is not None and hasattr(trainer, "on_update"):
            trainer.on_update(self._on_trainer)
        session.on_change(self._on_change)
        self._vocab_size = -1
        self.refresh()

    # -- intents (each one session call) ----------------------------------------------------
    def handle(self, msg: Mapping[str, Any]) -> None:
        """Apply one message from the browser (:mod:`nblabel.widgets._protocol`: ``add``,
        ``remove``, ``accept`` a tag, a ``key``, an ``action``); errors go to the message
        area, never raise."""
        self.controls.call(self._dispatch, msg)

    def _dispatch(self, content: Mapping[str, Any]) -> None:
        msg: Any = parse_message(dict(content))
        if msg is None:
            return
        kind = msg["type"]
        if kind in ("add", "remove"):
            getattr(self, kind)(str(msg["tag"]))
        elif kind == "accept":
            self.toggle(str(msg["tag"]))
        elif kind == "key":
            self.press(str(msg["key"]))
        elif kind == "action":
            self.run(str(msg["action"]))

    def press(self, key: str) -> None:
        """Act on a key chord, in any spelling (``"Enter"``, ``"Ctrl+z"``, ``"3"``)."""
        action = action_for(self.keymap, key)
        if action is not None:
            self.run(action)

    def run(self, action: str) -> None:
        """Do one action of the keymap (``"submit"``, ``"undo"``, ``"pick:3"`` ...)."""
        if action.startswith("pick:"):
            self.pick(int(action[5:]))
        elif action in ACTIONS:
            getattr(self, action)()
        else:
            raise NblabelError(f"unknown action {action!r}; actions: {ACTIONS} or 'pick:N'")

    def pick(self, number: int) -> None:
        """Toggle the suggestion numbered ``number`` (1-based, as on the keyboard)."""
        if not 1 <= number <= len(self._menu):
            self.message(f"no suggestion number {number}", "warning")
            return
        self.toggle(self._menu[number - 1])
        if self.advance_on_pick:
            self.submit()

    def submit(self) -> None:
        """Keep the current item's value (its draft) and go to the next item."""
        if self.session.current is None:
            return
        self._commit_draft()
        self.session.submit()  # an empty value submitted on purpose is a label: "no tags"
        self._advance()

    def _advance(self) -> None:
        s = self.session
        before = s.current
        s.next()
        if s.current == before:
            p = s.progress
            done = p.done == p.total
            self.message(f"all {p.total} items are labeled" if done else "no other open item")

    def skip(self) -> None:
        if self.session.current is not None:
            self.session.skip()

    def previous(self) -> None:
        self.session.previous()

    def undo(self) -> None:
        if self.session.undo() is None:
            self.message("nothing to undo", "warning")

    def redo(self) -> None:
        if self.session.redo() is None:
            self.message("nothing to redo", "warning")

    # -- overridden by the two labelers -----------------------------------------------------
    def add(self, tag: str) -> None:
        raise NotImplementedError

    def remove(self, tag: str) -> None:
        raise NotImplementedError

    def toggle(self, tag: str) -> None:
        raise NotImplementedError

    def draft(self) -> list[str]:
        """The tags shown for the current item."""
        raise NotImplementedError

    def _commit_draft(self) -> None:
        pass

    def _chips(self, key: str) -> list[dict[str, str]]:
        return [{"tag": t, "kind": "tag"} for t in self.draft()]

    def _choices(self) -> list[list[Any]]:
        raise NotImplementedError

    def _scores(self, key: str) -> dict[str, float]:
        """Model probabilities of the tags/classes of an item (empty without a model)."""
        if self.trainer is not None and hasattr(self.trainer, "proba"):
            try:
                return dict(self.trainer.proba(key) or {})
            except Exception as e:  # a broken model must not break labeling
                self.message(f"model: {type(e).__name__}: {e}", "error")
                return {}
        out: dict[str, float] = {}
        for s in self.session.suggestions(key):
            values = s.value if isinstance(s.value, frozenset | set | list) else [s.value]
            for v in values:
                if v is not None and s.score is not None:
                    out[str(v)] = max(out.get(str(v), 0.0), float(s.score))
        return out

    def _menu_for(self, key: str) -> list[str]:
        scores = self._scores(key)
        return rank_suggestions(scores, N_SUGGESTIONS)

    # -- rendering ---------------------------------------------------------------------------
    def message(self, text: str, level: str = "info") -> None:
        """Show a message under the widget (errors in red); ``""`` clears it."""
        if text:
            self.controls.show_message(text, level)
        else:
            self.controls.clear_message()

    def _on_change(self, what: str, key: str) -> None:
        self.refresh()

    def _on_trainer(self, event: str, info: Mapping[str, Any] | None = None) -> None:
        """Trainer events (from its worker thread): shown, never raised."""
        with self.controls.report():
            self._trainer_event(event, info or {})

    def _trainer_event(self, event: str, info: Mapping[str, Any]) -> None:
        if event == "error":
            self.message(f"model training failed: {info.get('error', '')}", "error")
        elif event == "done":
            self._menu_stale = True  # new scores: rebuild the suggestion menu
            secs, score = info.get("fit_seconds"), info.get("score")
            text = f"model retrained on {info.get('n_labels', '?')} labels"
            if isinstance(secs, float):
                text += f" in {secs:.1f} s"
            if isinstance(score, float):
                text += f"; score on the labels added since the previous fit: {score:.2f}"
            self.message(text)
        self.refresh()

    def refresh(self) -> None:
        """Render the session's current item, tags, suggestions and progress."""
        s = self.session
        choices = self._choices()
        if len(choices) != self._vocab_size or choices != self.picker.choices:
            self.picker.choices = choices
            self._vocab_size = len(choices)
        item = s.current
        if item is None:
            self.picker.text, self.picker.image = "(nothing to label)", b""
            self.picker.chips, self.picker.suggestions = [], []
            return
        if item.key != self._shown:
            self._show_item(item)
            self._shown = item.key
            self._menu_stale = True
        if self._menu_stale:
            self._menu = self._menu_for(item.key)
            self._menu_stale = False
        scores = self._scores(item.key) if self._menu else {}
        draft = set(self.draft())
        self.picker.chips = self._chips(item.key)
        self.picker.suggestions = [
            {
                "tag": t,
                "p": None if t not in scores else round(float(scores[t]), 4),
                "on": t in draft,
            }
            for t in self._menu
        ]

    def _show_item(self, item: Any) -> None:
        if self.session.items.image_column is not None:
            path = item.path
            if path is None:  # an in-memory array
                from PIL import Image

                buf = io.BytesIO()
                Image.fromarray(item.image(max_side=self.image_size).pixels).save(buf, "PNG")
                data, fmt = buf.getvalue(), "png"
            else:
                data, fmt, _ = encode_for_display(path, max_side=self.image_size)
            self.picker.image_format = fmt
            self.picker.image = data
        else:
            self.picker.image = b""
        self.picker.text = item.text or ""

    # -- model --------------------------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The latest model fitted in the background (``None`` before the first fit or
        without ``model=``)."""
        learner = getattr(self.trainer, "learner", None)
        return getattr(learner, "model_", None)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until background training is idle; ``False`` if ``timeout`` ran out.
        Returns at once without a model."""
        learner = getattr(self.trainer, "learner", None)
        return True if learner is None else bool(learner.wait(timeout))

    def plot_learning_curve(self, ax: Any = None) -> Any:
        """Plot model quality against the number of labels so far (a matplotlib Axes):
        the model's score on labels it had not seen yet, and on ``eval_set`` if given."""
        if self.trainer is not None and hasattr(self.trainer, "plot_learning_curve"):
            return self.trainer.plot_learning_curve(ax=ax)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.text(0.5, 0.5, "no model: pass model=", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("labels")
        return ax

    def close(self) -> None:
        if "controls" not in self.__dict__ or self.__dict__.get("_closed"):
            super().close()  # construction failed half-way, or closed already
            return
        self._closed = True
        self.session.on_change(self._on_change, remove=True)
        self.controls.close()
        if self.trainer is not None and hasattr(self.trainer, "close"):
            self.trainer.close()
        if getattr(self, "_owns_session", False):  # made by this labeler: close its store
            self.session.close()
        self._close_widgets()

    @property
    def df(self) -> pd.DataFrame:
        return self.session.df


def make_trainer(
    session: LabelSession,
    model: Any,
    order: str,
    retrain_every: int | None,
    random_state: int | None,
) -> Any:
    """Bind the background trainer of :mod:`nblabel.active` to a session."""
    from nblabel.widgets.tag_training import ActiveBinding

    return ActiveBinding(
        session, model, order=order, retrain_every=retrain_every, random_state=random_state
    )
