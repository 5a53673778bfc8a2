"""Tag and class labelers: :class:`TagLabeler` (multi-label) and :class:`ClassLabeler`
(single-label), one widget on top of :class:`~nblabel.session.TagSession` /
:class:`~nblabel.session.ClassSession`.

The widget renders session state and turns each user intent into one session call
(``set_tags``, ``remove_tag``, ``set_label``, ``next``, ``skip``, ``undo``, ``redo``); it
holds no labels of its own. The only state it derives is the *draft* of an item not yet
touched: its pre-filled tags (e.g. the author's own tags), shown as distinct chips and
written to the session on the first edit or on submit.

Keys (while the widget has focus; all keys are kept from JupyterLab's shortcuts):
``Enter`` submit, ``1``-``9`` toggle the numbered suggestion (when the tag box is empty),
``Ctrl+z`` undo, ``Ctrl+y``/``Ctrl+Shift+z`` redo, ``Ctrl+ArrowRight`` skip,
``Ctrl+ArrowLeft`` previous item. Typing filters the vocabulary; ``ArrowDown``/``ArrowUp``
choose, ``Enter`` adds, ``Tab`` completes, ``Escape`` clears.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from nblabel.errors import NblabelError
from nblabel.images import encode_for_display
from nblabel.session import ClassSession, LabelSession, TagSession
from nblabel.widgets.controls import Controls
from nblabel.widgets.tag_picker import TagPicker, key_name

__all__ = ["DEFAULT_KEYMAP", "ClassLabeler", "TagLabeler"]

log = logging.getLogger("nblabel")

DEFAULT_KEYMAP: dict[str, str] = {
    "Enter": "submit",
    "Ctrl+ArrowRight": "skip",
    "Ctrl+ArrowLeft": "previous",
    "Ctrl+z": "undo",
    "Ctrl+y": "redo",
    "Ctrl+Shift+z": "redo",
    **{str(i): f"pick:{i}" for i in range(1, 10)},
}
ACTIONS = ("submit", "skip", "previous", "undo", "redo")
N_SUGGESTIONS = 9


def _keymap(overrides: Mapping[str, str | None] | None) -> dict[str, str]:
    """Default keys updated with ``overrides`` (key -> action; ``None`` unbinds a key)."""
    out = dict(DEFAULT_KEYMAP)
    for key, action in (overrides or {}).items():
        k = key_name(key)
        if action is None:
            out.pop(k, None)
            continue
        if action not in ACTIONS and not (
            action.startswith("pick:") and action[5:].isdigit() and 1 <= int(action[5:]) <= 9
        ):
            raise ValueError(
                f"unknown action {action!r} for key {key!r}; use one of {ACTIONS} or 'pick:N'"
            )
        out[k] = action
    return out


def _hint(keymap: Mapping[str, str]) -> str:
    keys: dict[str, list[str]] = {}
    for k, a in keymap.items():
        if not a.startswith("pick:"):
            keys.setdefault(a, []).append(k)
    parts = ["1-9 pick"] if any(a.startswith("pick:") for a in keymap.values()) else []
    parts += [f"{'/'.join(keys[a])} {a}" for a in ACTIONS if a in keys]
    return " · ".join(parts)


class _Labeler(w.VBox):
    """The widget shared by :class:`TagLabeler` and :class:`ClassLabeler`."""

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
            keymap=self.keymap,
            hint=_hint(self.keymap),
            text_height=text_height,
            image_height=f"{self.image_size}px",
        )
        self.controls = Controls(session, buttons=self._buttons, on_submit=self.submit)
        self.picker.on_intent(self.handle)
        c = self.controls
        super().__init__([c.header, self.picker, c.toolbar, c.messages])
        self.add_class("nbl-labeler")
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
        """Apply one intent sent by the browser (``{"type": "add", "tag": ...}``, ``remove``,
        ``accept``, ``key``); errors go to the message area, never raise."""
        kind = msg.get("type")
        actions = {"add": self.add, "remove": self.remove, "accept": self.toggle, "key": self.press}
        if kind in actions:
            arg = msg.get("tag", msg.get("key"))
            self.controls.call(actions[kind], str(arg))

    def press(self, key: str) -> None:
        """Act on a key chord as the browser reports it (``"Enter"``, ``"Ctrl+z"``, ``"3"``)."""
        action = self.keymap.get(key_name(key))
        if action is None:
            return
        if action.startswith("pick:"):
            self.pick(int(action[5:]))
        else:
            getattr(self, action)()

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
        return sorted(scores, key=lambda t: -scores[t])[:N_SUGGESTIONS]

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
        # ipywidgets 8 leaves a closed widget's Layout open: close both
        layouts = (self.picker.layout, self.layout)
        self.picker.close()
        super().close()
        for layout in layouts:
            layout.close()

    @property
    def df(self) -> pd.DataFrame:
        return self.session.df


class TagLabeler(_Labeler):
    """Tag rows of a DataFrame (text or images) with one or many tags.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows to tag; the column ``column`` (default ``tags``) gets a sorted list per row.
    text : str or list of str, optional
        Text column(s), shown one after the other (escaped: HTML shows as text).
    image : str, optional
        Column of image paths (or arrays).
    tags : list of str or TagVocabulary
        The vocabulary; a :class:`~nblabel.vocab.TagVocabulary` maps aliases and adds
        parents. It may change during the session (``labeler.session.vocabulary.add``).
    multi : bool
        Many tags per item (default) or one (a new tag replaces the old).
    prefill : str, optional
        Column of tags to start from (e.g. the author's own tags), shown as dashed chips.
    allow_new : bool
        Unknown tags typed by the annotator join the vocabulary instead of being refused.
    model : estimator, optional
        A scikit-learn estimator with ``predict_proba`` (or ``"default"``); trained in the
        background every ``retrain_every`` labels; its top tags are numbered suggestions
        with their probability.
    order : str
        Queue order: "sequential", "random" or an uncertainty strategy ("entropy",
        "margin", "least-confidence", "committee") used after each retrain.
    retrain_every : int, optional
        Labels between background retrains (default 20 when a model is given).
    store, annotator, column, random_state, root
        Passed to :class:`~nblabel.session.TagSession`.
    keymap : dict, optional
        Key chord -> action overrides (``{"Ctrl+s": "skip", "Enter": None}``).
    """

    session: TagSession

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        tags: Any,
        text: str | Sequence[str] | None = None,
        image: str | None = None,
        multi: bool = True,
        prefill: str | None = None,
        allow_new: bool = False,
        model: Any | None = None,
        order: str = "sequential",
        retrain_every: int | None = None,
        store: Any | None = None,
        annotator: str | None = None,
        column: str | None = None,
        random_state: int | None = None,
        root: str | Path | None = None,
        keymap: Mapping[str, str | None] | None = None,
        **options: Any,
    ) -> None:
        session = TagSession(
            df,
            tags=tags,
            text=text,
            image=image,
            prefill=prefill,
            allow_new=allow_new,
            store=store,
            annotator=annotator,
            column=column,
            random_state=random_state,
            root=root,
            order=order if order in ("sequential", "random") else "sequential",
        )
        self._owns_session = True
        self._init(
            session,
            multi=multi,
            model=model,
            order=order,
            retrain_every=retrain_every,
            random_state=random_state,
            keymap=keymap,
            **options,
        )

    @classmethod
    def from_session(cls, session: TagSession, *, multi: bool = True, **options: Any) -> TagLabeler:
        """A labeler on an existing :class:`~nblabel.session.TagSession`."""
        self = cls.__new__(cls)
        self._init(session, multi=multi, **options)
        return self

    def _init(
        self,
        session: TagSession,
        *,
        multi: bool,
        model: Any = None,
        order: str = "sequential",
        retrain_every: int | None = None,
        random_state: int | None = None,
        trainer: Any = None,
        **options: Any,
    ) -> None:
        self.multi = multi
        if trainer is None and model is not None:
            trainer = _make_trainer(session, model, order, retrain_every, random_state)
        super().__init__(session, trainer=trainer, **options)
        self.picker.allow_new = bool(session.allow_new)
        self.picker.placeholder = (
            "type a tag, Enter to add (empty: Enter submits)"
            if multi
            else "type the tag, Enter to set (empty: Enter submits)"
        )

    # -- draft ----------------------------------------------------------------------------
    def _touched(self, key: str) -> bool:
        return self.session.log.current(key) is not None

    def draft(self) -> list[str]:
        s = self.session
        key = s._key(None)
        return sorted(s.value(key) if self._touched(key) else s.prefilled(key))

    def _commit_draft(self) -> None:
        key = self.session._key(None)
        if not self._touched(key):
            self.session.set_tags(self.draft(), key)

    # -- intents ----------------------------------------------------------------------------
    def add(self, tag: str) -> None:
        """Add a tag (an alias maps to its tag; parents come along); single: replace."""
        s = self.session
        if not self.multi:
            s.set_tags([tag])
        else:
            s.set_tags([*self.draft(), tag])

    def remove(self, tag: str) -> None:
        """Remove a tag (a pre-filled one too). A parent implied by a remaining child stays."""
        s = self.session
        key = s._key(None)
        draft = self.draft()
        if tag not in draft:
            raise NblabelError(f"{tag!r} is not a tag of item {key!r}")
        children = [t for t in draft if tag in self._ancestors(t)]
        if children:
            raise NblabelError(
                f"{tag!r} is implied by {', '.join(map(repr, children))}: remove that first"
            )
        if self._touched(key):
            s.remove_tag(tag, key)
        else:
            s.set_tags([t for t in draft if t != tag], key)

    def _ancestors(self, tag: str) -> list[str]:
        vocab = self.session.vocabulary
        if not hasattr(vocab, "ancestors"):
            return []
        try:
            return list(vocab.ancestors(tag))
        except NblabelError:  # the tag left the vocabulary: its label stays
            return []

    def toggle(self, tag: str) -> None:
        """Accept a suggested tag, or remove it if the item has it already."""
        if tag in self.draft():
            self.remove(tag)
        else:
            s = self.session
            new = [tag] if not self.multi else [*self.draft(), tag]
            s.set_value(new, source="model" if self.trainer is not None else "human")

    # -- rendering ------------------------------------------------------------------------------
    def _chips(self, key: str) -> list[dict[str, str]]:
        draft = self.draft()
        prefill = self.session.prefilled(key)
        implied = {a for t in draft for a in self._ancestors(t)}
        return [
            {"tag": t, "kind": "prefill" if t in prefill else "parent" if t in implied else "tag"}
            for t in draft
        ]

    def _choices(self) -> list[list[Any]]:
        vocab = self.session.vocabulary
        if hasattr(vocab, "aliases") and callable(vocab.aliases):
            aliases: dict[str, list[str]] = {}
            for a, t in vocab.aliases().items():
                aliases.setdefault(t, []).append(a)
            return [[t, sorted(aliases.get(t, []))] for t in vocab.tags]
        return [[t, []] for t in self.session.tag_names]


class ClassLabeler(_Labeler):
    """Give each row of a DataFrame one class (text or images).

    Number keys pick a class (the model's most likely first when a model is given, else in
    the order of ``classes``); with ``advance_on_pick=True`` (default) the next item follows.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows to label; the column ``column`` (default ``label``) gets the class.
    classes : list of str
    text, image, model, order, retrain_every, store, annotator, column, random_state, root,
    keymap
        As for :class:`TagLabeler`.
    """

    session: ClassSession

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        classes: Sequence[str],
        text: str | Sequence[str] | None = None,
        image: str | None = None,
        model: Any | None = None,
        order: str = "sequential",
        retrain_every: int | None = None,
        store: Any | None = None,
        annotator: str | None = None,
        column: str | None = None,
        random_state: int | None = None,
        root: str | Path | None = None,
        keymap: Mapping[str, str | None] | None = None,
        advance_on_pick: bool = True,
        **options: Any,
    ) -> None:
        session = ClassSession(
            df,
            classes=classes,
            text=text,
            image=image,
            store=store,
            annotator=annotator,
            column=column,
            random_state=random_state,
            root=root,
            order=order if order in ("sequential", "random") else "sequential",
        )
        self._owns_session = True
        self._init(
            session,
            model=model,
            order=order,
            retrain_every=retrain_every,
            random_state=random_state,
            keymap=keymap,
            advance_on_pick=advance_on_pick,
            **options,
        )

    @classmethod
    def from_session(cls, session: ClassSession, **options: Any) -> ClassLabeler:
        """A labeler on an existing :class:`~nblabel.session.ClassSession`."""
        self = cls.__new__(cls)
        options.setdefault("advance_on_pick", True)
        self._init(session, **options)
        return self

    def _init(
        self,
        session: ClassSession,
        *,
        model: Any = None,
        order: str = "sequential",
        retrain_every: int | None = None,
        random_state: int | None = None,
        trainer: Any = None,
        **options: Any,
    ) -> None:
        if trainer is None and model is not None:
            trainer = _make_trainer(session, model, order, retrain_every, random_state)
        super().__init__(session, trainer=trainer, **options)
        self.picker.placeholder = "type a class, Enter to set (empty: Enter submits)"
        self.picker.suggestion_title = "classes:"

    def draft(self) -> list[str]:
        v = self.session.value()
        return [] if v is None else [v]

    def add(self, tag: str) -> None:
        self.session.set_label(tag)

    def remove(self, tag: str) -> None:
        if self.session.value() == tag:
            self.session.set_label(None)

    def toggle(self, tag: str) -> None:
        if self.session.value() == tag:
            self.session.set_label(None)
        else:
            self.session.set_value(tag, source="model" if self.trainer is not None else "human")

    def submit(self) -> None:
        if self.session.current is not None and self.session.value() is None:
            self.message("pick a class first (or skip)", "warning")
            return
        super().submit()

    def _menu_for(self, key: str) -> list[str]:
        scores = self._scores(key)
        classes = list(self.session.classes)
        if scores:
            classes.sort(key=lambda c: -scores.get(c, 0.0))
        return classes

    def _choices(self) -> list[list[Any]]:
        return [[c, []] for c in self.session.classes]


def _make_trainer(
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
