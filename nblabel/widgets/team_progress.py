"""``TeamProgress``: who is labeling and how far the class is, refreshed from the store.

Put it under a labeler in a team app (``VBox([labeler, TeamProgress(labeler.session)])``):
a progress bar of the items labeled by everyone, and a table of annotators -- items labeled,
the item each holds now, when they last acted. A daemon thread re-reads the store every
``every`` seconds (only the new events: :class:`~nblabel.store.progress.ProgressTracker`),
and within half a second of this annotator's own label or move;
:meth:`TeamProgress.close` stops it. Annotator names are user input: every one is escaped.
"""

from __future__ import annotations

import contextlib
import html
import logging
import threading
import time
from typing import Any

import ipywidgets as w
import pandas as pd

from nblabel.errors import InputError
from nblabel.store.progress import ProgressTracker
from nblabel.store.sqlite import Store

__all__ = ["TeamProgress"]

log = logging.getLogger("nblabel")

_CSS = """<style>
.nblabel-team table{border-collapse:collapse;font-size:13px;margin-top:4px}
.nblabel-team th,.nblabel-team td{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}
.nblabel-team td.num{text-align:right}
.nblabel-team tr.me td{font-weight:bold}
.nblabel-team .dot{display:inline-block;width:8px;height:8px;border-radius:4px;margin-right:6px}
</style>"""


def _ago(ts: Any, now: float) -> str:
    if ts is None or pd.isna(ts):
        return "-"
    s = max(0, int(now - ts.timestamp()))
    if s < 60:
        return f"{s} s ago"
    if s < 3600:
        return f"{s // 60} min ago"
    return f"{s // 3600} h ago"


class TeamProgress(w.VBox):
    """The team's progress on one task, as a widget that keeps itself up to date.

    Parameters
    ----------
    session_or_store : LabelSession or Store
        A session (its store, task and item count; its annotator is shown in bold), or a
        store (then ``task`` is needed).
    task : str, optional
        The task; default: the session's.
    every : float
        Seconds between refreshes (``0``: no thread; call :meth:`refresh`).
    active_seconds : float
        Annotators who acted within this many seconds are shown as active.
    n_items : int, optional
        Items of the task (default: the session's); without it the bar shows labels only.

    Attributes
    ----------
    tracker : ProgressTracker
        The incremental reader of the store.
    bar : ipywidgets.IntProgress
        Items labeled by the class.
    summary, table : ipywidgets.HTML
        The line above the bar and the table of annotators.
    """

    def __init__(self, session_or_store: Any, task: str | None = None, *, every: float = 5.0,
                 active_seconds: float = 300.0, n_items: int | None = None) -> None:
        if isinstance(session_or_store, Store):
            store, me, session = session_or_store, None, None
            if task is None:
                raise InputError("TeamProgress(store) needs task=")
        else:
            session = session_or_store
            store, me = session.store, session.annotator
            task = task or session_or_store.task
            n_items = n_items if n_items is not None else len(session_or_store.items)
        self.me = me
        self.every = float(every)
        self.tracker = ProgressTracker(store, str(task), active_seconds=active_seconds,
                                       n_items=n_items)
        self.bar = w.IntProgress(min=0, max=max(n_items or 1, 1), value=0,
                                 layout=w.Layout(width="320px"))
        self.summary = w.HTML()
        self.table = w.HTML()
        super().__init__([w.HBox([self.bar, self.summary],
                                 layout=w.Layout(align_items="center")), self.table])
        self.add_class("nblabel-team")
        self.last: pd.DataFrame | None = None
        self._stop = threading.Event()
        self._poke = threading.Event()  # this annotator acted: refresh soon
        self._thread: threading.Thread | None = None
        self._session = session
        self.refresh()
        if self.every > 0:
            if session is not None:
                session.on_change(self._on_change)
            self._thread = threading.Thread(target=self._loop, daemon=True,
                                            name="nblabel-team-progress")
            self._thread.start()

    # -- refreshing ---------------------------------------------------------------------------
    def _on_change(self, what: str, key: str) -> None:
        if what in ("value", "position"):
            self._poke.set()  # (never reads the store in the annotator's action)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._poke.wait(self.every)
            if self._stop.wait(0.5 if self._poke.is_set() else 0):  # gathers a burst
                return
            self._poke.clear()
            self.refresh()

    def refresh(self) -> pd.DataFrame | None:
        """Read the store and redraw; returns the table (``None`` when the read failed:
        the error is shown in the widget and the next refresh tries again)."""
        try:
            df = self.tracker.table()
        except Exception as e:  # shown, logged, retried: never kills the thread
            log.warning("nblabel: team progress could not read the store: %s", e)
            self.summary.value = (f"<span style='color:#c62828'>could not read the labels: "
                                  f"{html.escape(str(e))}</span>")
            return None
        if not self._stop.is_set():
            self._draw(df)
        self.last = df
        return df

    def _draw(self, df: pd.DataFrame) -> None:
        labeled, total = df.attrs.get("labeled", 0), df.attrs.get("total")
        active = int(df["active"].sum()) if len(df) else 0
        if total:
            self.bar.max = max(int(total), 1)
            self.bar.value = min(int(labeled), int(total))
            done = f"{labeled} of {total} labeled ({100 * labeled / total:.0f}%)"
        else:
            self.bar.max = max(int(labeled), 1)
            self.bar.value = int(labeled)
            done = f"{labeled} labeled"
        people = f"{len(df)} {'person' if len(df) == 1 else 'people'}, {active} active now"
        self.summary.value = f"<b>Class progress:</b> {done} · {people}"
        self.table.value = _CSS + self._html(df)

    def _html(self, df: pd.DataFrame) -> str:
        now = time.time()
        head = ("<table><tr><th>Name</th><th>Labeled</th><th>Working on</th>"
                "<th>Last action</th></tr>")
        rows = []
        for name, r in df.iterrows():
            color = "#2e7d32" if r["active"] else "#bdbdbd"
            me = " class='me'" if name == self.me else ""
            you = " (you)" if name == self.me else ""
            holding = "-" if r["holding"] is None or pd.isna(r["holding"]) else r["holding"]
            rows.append(
                f"<tr{me}><td><span class='dot' style='background:{color}'></span>"
                f"{html.escape(str(name))}{you}</td><td class='num'>{int(r['labels'])}</td>"
                f"<td><code>{html.escape(str(holding))}</code></td>"
                f"<td>{_ago(r['last_action'], now)}</td></tr>"
            )
        if not rows:
            rows.append("<tr><td colspan='4'>nobody has started yet</td></tr>")
        return head + "".join(rows) + "</table>"

    # -- ending -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the refresh thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop the refresh thread (waits for it) and close the widgets."""
        stop = getattr(self, "_stop", None)  # None: __init__ raised before it was set
        if stop is None:
            return
        stop.set()
        self._poke.set()
        if self._session is not None:
            with contextlib.suppress(ValueError):  # (not registered: every=0)
                self._session.on_change(self._on_change, remove=True)
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(10.0, 2 * self.every))
        for child in (self.bar, self.summary, self.table, *self.children):
            child.close()
        super().close()
