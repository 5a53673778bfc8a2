"""Tag and class labelers: :class:`TagLabeler` (multi-label) and :class:`ClassLabeler`
(single-label), one widget on top of :class:`~nblabel.session.TagSession` /
:class:`~nblabel.session.ClassSession`.

The widget renders session state and turns each user intent into one session call
(``set_tags``, ``remove_tag``, ``set_label``, ``next``, ``skip``, ``undo``, ``redo``); it
holds no labels of its own, only the *draft* of the item on screen: its pre-filled tags
(e.g. the author's own tags) and the edits not yet submitted. The tag labeler writes an item
to the session -- the store, the DataFrame, the done count -- when it is submitted
(``Enter`` on an empty tag box, or the Submit button), not at its first edit; ``Ctrl+z``
first takes back unsaved edits. Unsaved edits of an item left without submitting stay its
draft while the widget lives (a kernel restart forgets them).

Keys (while the widget has focus; all keys are kept from JupyterLab's shortcuts):
``Enter`` submit, ``1``-``9`` toggle the numbered suggestion (when the tag box is empty and
a suggestion has that number; otherwise the digit is typed, e.g. ``3d``),
``Ctrl+z`` undo, ``Ctrl+y``/``Ctrl+Shift+z`` redo, ``Ctrl+ArrowRight`` skip,
``Ctrl+ArrowLeft`` previous item. Typing filters the vocabulary; ``ArrowDown``/``ArrowUp``
choose, ``Enter`` adds, ``Tab`` completes, ``Escape`` clears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from nblabel.errors import NblabelError
from nblabel.session import ClassSession, TagSession
from nblabel.widgets.labeler import DEFAULT_KEYMAP, Labeler, make_trainer

__all__ = ["DEFAULT_KEYMAP", "ClassLabeler", "TagLabeler"]


def _queue_order(order: str) -> str:
    """The session's own order: an uncertainty order starts sequential (the trainer
    reorders the queue after each retrain)."""
    return order if order in ("sequential", "random") else "sequential"


class TagLabeler(Labeler):
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
        ``{action: key or [keys]}`` overrides (``{"skip": "Ctrl+s", "submit": []}``); the
        earlier ``{key: action or None}`` form (``{"Ctrl+s": "skip", "Enter": None}``) adds
        or unbinds single keys.
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
        keymap: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        where = {"text": text, "image": image, "store": store, "annotator": annotator,
                 "column": column, "root": root}
        session = TagSession(df, tags=tags, prefill=prefill, allow_new=allow_new,
                             random_state=random_state, order=_queue_order(order), **where)
        self._owns_session = True
        self._init(session, multi=multi, model=model, order=order, retrain_every=retrain_every,
                   random_state=random_state, keymap=keymap, **options)

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
            trainer = make_trainer(session, model, order, retrain_every, random_state)
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

    @property
    def _unsaved(self) -> dict[str, list[tuple[list[str], str]]]:
        # item -> its unsaved edits (tags, source), oldest first (the last is shown)
        return self.__dict__.setdefault("_unsaved_edits", {})

    def draft(self) -> list[str]:
        s = self.session
        key = s._key(None)
        edits = self._unsaved.get(key)
        if edits:
            return list(edits[-1][0])
        return sorted(s.value(key) if self._touched(key) else s.prefilled(key))

    def unsaved(self, key: Any | None = None) -> list[str] | None:
        """The unsaved tags of an item (default: the current one), ``None`` if it has none."""
        edits = self._unsaved.get(self.session._key(key))
        return list(edits[-1][0]) if edits else None

    def _edit(self, tags: Sequence[str], source: str = "human") -> None:
        """One unsaved edit of the current item (validated now: aliases, parents)."""
        s = self.session
        key = s._key(None)
        old = self.draft()
        known = set(s.tag_names)
        kept = {t for t in tags if t in old and t not in known}  # left the vocabulary: stays
        new = sorted(s._normalize([t for t in tags if t not in kept], key) | kept)
        if new != old:
            self._unsaved.setdefault(key, []).append((new, source))
        self.refresh()

    def _commit_draft(self) -> None:
        key = self.session._key(None)
        edits = self._unsaved.pop(key, None)
        if edits:
            tags, source = edits[-1]
            self.session.set_value(tags, key, source=source)
        elif not self._touched(key):
            self.session.set_tags(self.draft(), key)

    def undo(self) -> None:
        """Take back the last unsaved edit of this item; without one, undo in the session."""
        key = self.session._key(None) if self.session.current is not None else None
        edits = self._unsaved.get(key) if key is not None else None
        if edits:
            edits.pop()
            if not edits:
                del self._unsaved[key]
            self.refresh()
            return
        super().undo()

    # -- intents ----------------------------------------------------------------------------
    def add(self, tag: str) -> None:
        """Add a tag (an alias maps to its tag; parents come along); single: replace."""
        if not self.multi:
            self._edit([tag])
        else:
            self._edit([*self.draft(), tag])

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
        self._edit([t for t in draft if t != tag])

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
            self._edit([tag] if not self.multi else [*self.draft(), tag],
                       source="model" if self.trainer is not None else "human")

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


class ClassLabeler(Labeler):
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
        keymap: Mapping[str, Any] | None = None,
        advance_on_pick: bool = True,
        **options: Any,
    ) -> None:
        where = {"text": text, "image": image, "store": store, "annotator": annotator,
                 "column": column, "root": root}
        session = ClassSession(df, classes=classes, random_state=random_state,
                               order=_queue_order(order), **where)
        self._owns_session = True
        self._init(session, model=model, order=order, retrain_every=retrain_every,
                   random_state=random_state, keymap=keymap, advance_on_pick=advance_on_pick,
                   **options)

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
            trainer = make_trainer(session, model, order, retrain_every, random_state)
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
