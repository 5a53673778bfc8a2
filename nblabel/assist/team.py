"""One assistant for a whole team: the kernel that holds the leader lease runs it, every
other kernel reads its work from the store.

In a classroom every student's kernel opens the same task on the same store. Tracking a new
box through its group, training the box model and predicting give the same suggestions
whichever kernel does them, so only one does: the first to take the task's leader lease
(:class:`nblabel.store.leader.LeaderLease`). It runs a real assistant
(:class:`~nblabel.assist.BoxAssistant` by default) on its session, which learns from every
annotator's labels (it pulls them from the store) and posts suggestions as store events;
it also publishes the queue order and its status on the store's board
(:mod:`nblabel.store.board`). Every other kernel -- a *follower* -- only polls: it pulls
new events (the suggestions reach its widget), applies the published queue order, and
never imports torch. When the leader's kernel dies its lease expires, and the next follower
that looks takes over (within ``lease_seconds`` and one look) and starts its own assistant,
which trains on every label in the store: nothing is lost, as labels and suggestions are
events.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nblabel.assist.listeners import Listener, Listeners
from nblabel.store import board
from nblabel.store.leader import LeaderLease, default_holder
from nblabel.store.progress import working_leases

__all__ = ["ASSISTANT_BOARD", "QUEUE_BOARD", "SharedAssistant"]

log = logging.getLogger("nblabel")

#: board names: the queue order (item keys, most wanted first) and the leader's state
QUEUE_BOARD = "queue"
ASSISTANT_BOARD = "assistant"


def _box_assistant() -> Any:
    from nblabel.assist.boxes import BoxAssistant

    return BoxAssistant()


class SharedAssistant(Listeners):
    """Run one assistant per task for everyone labeling it (team mode).

    Parameters
    ----------
    factory : callable, optional
        Makes the assistant when this kernel becomes the leader (default: a
        :class:`~nblabel.assist.BoxAssistant` with its defaults). Called only then: a
        follower never builds one, so never imports torch.
    lease_seconds : float
        The leader lease: a leader that stops renewing (its kernel died) is replaced
        this long after its last renewal, at the latest ``lease_seconds + poll_seconds``
        later.
    poll_seconds : float
        How often this kernel looks at the store for new events (other annotators' labels,
        the leader's suggestions) and the queue order.
    queue_top : int
        How many of the most wanted items the leader publishes in the queue order.
    lead : bool
        ``False``: never run the assistant here, only follow (the assistant runs in its own
        process, ``nblabel assist STORE ...``, e.g. on the teacher's machine).
    """

    def __init__(self, factory: Callable[[], Any] | None = None, *,
                 lease_seconds: float = 15.0, poll_seconds: float = 0.5,
                 queue_top: int = 1000, lead: bool = True) -> None:
        self.factory = factory or _box_assistant
        self.lead = bool(lead)
        self.lease_seconds = float(lease_seconds)
        self.poll_seconds = float(poll_seconds)
        self.queue_top = int(queue_top)
        self.session: Any = None
        self.assistant: Any = None
        self.errors: list[str] = []
        self.takeovers = 0  # times this kernel became the leader
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leader_status = ""
        self._leader_text = ""
        self._status_version = 0
        self._holder: str | None = None
        self._queue_version = 0
        self._queue_positions = np.zeros(0, dtype=np.int64)
        self._queue_sig: Any = None
        self._groups: np.ndarray | None = None
        self._working: set[str] = set()  # the others working on the task now
        self._published_order: bytes = b""
        self._published_at = 0.0
        self._renewed_at = 0.0
        self._looked_at = 0.0
        self._state_sent = ""

    # -- binding ---------------------------------------------------------------------------
    def attach(self, session: Any) -> SharedAssistant:
        """Follow ``session`` (a team-mode session: every annotator's kernel opens the same
        task on the same store); returns ``self``. This kernel becomes the leader at once
        when nobody leads the task."""
        if self.session is not None:
            raise RuntimeError("this SharedAssistant is already attached; make a new one")
        self.session = session
        self.lease = LeaderLease(session.store, session.task,
                                 default_holder(session.annotator),
                                 lease_seconds=self.lease_seconds)
        self._step()
        self._thread = threading.Thread(target=self._loop, name="nblabel-shared-assistant",
                                        daemon=True)
        self._thread.start()
        return self

    @property
    def is_leader(self) -> bool:
        """This kernel runs the assistant now."""
        return self.assistant is not None

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._step()
            except Exception as e:  # the store is away: say so, keep trying
                self._failed("following the team", e)

    def _step(self) -> None:
        s = self.session
        now = time.monotonic()
        if self.assistant is not None:
            if now - self._renewed_at >= self.lease_seconds / 3:
                self._renewed_at = now
                if not self.lease.renew():  # we were too slow: another kernel leads
                    self._demote()
                    return
                self._look_at_the_class()
            s.pull()  # other annotators' labels: the assistant learns from them
            self._publish(now)
            return
        if now - self._looked_at >= min(self.lease_seconds / 3, 2.0) or not self._looked_at:
            self._looked_at = now
            self._holder = self.lease.holder()
            if self._holder is None and self.lead and self.lease.acquire():
                self._promote()
                return
        s.pull()  # the leader's suggestions, the others' labels
        self._follow_queue()
        self._follow_status()

    def _promote(self) -> None:
        self.takeovers += 1
        self._renewed_at = time.monotonic()
        assistant = self.factory()
        assistant.on_update(self._relay)
        self.session.pull()  # start from every label there is
        assistant.attach(self.session)  # (the first may import torch: seconds)
        self.assistant = assistant
        self._renewed_at = time.monotonic()
        if not self.lease.renew():  # too slow: another kernel took over meanwhile
            self._demote()
            return
        log.info("nblabel: this kernel (%s) now runs the assistant of task %r",
                 self.lease.holder_name, self.session.task)
        self._publish(time.monotonic(), force=True)
        self._look_at_the_class()
        self._emit("status")

    def _look_at_the_class(self) -> None:
        """Who else works on the task now (for the leader's status line)."""
        s = self.session
        held = working_leases(s.store, s.task, done_within=120.0)
        working = {who for _k, who in held if who != s.annotator}
        if working != self._working:
            self._working = working
            self._emit("status")

    def _demote(self) -> None:
        assistant, self.assistant = self.assistant, None
        if assistant is not None:
            assistant.on_update(self._relay, remove=True)
            assistant.close()
        self._emit("status")

    # -- leader: publishing ----------------------------------------------------------------
    def _publish(self, now: float, force: bool = False) -> None:
        s = self.session
        order = np.asarray(s.queue.order)[: self.queue_top]
        raw = order.tobytes()
        if raw != self._published_order and (force or now - self._published_at >= 1.0):
            keys = [str(s.items.keys[p]) for p in order]
            board.publish(s.store, s.task, QUEUE_BOARD, {"keys": keys})
            self._published_order, self._published_at = raw, now
        state = self._state()
        text = repr(sorted((k, repr(v)) for k, v in state.items()))
        if force or text != self._state_sent:
            board.publish(s.store, s.task, ASSISTANT_BOARD, state)
            self._state_sent = text

    def _state(self) -> dict[str, Any]:
        a = self.assistant
        fits = [{"start": f.get("started"), "end": f.get("ended"), "labels": f.get("labels")}
                for f in getattr(a, "fits", [])]
        running = getattr(a, "fit_started", None)
        if running is not None:
            fits.append({"start": running, "end": None, "labels": None})
        return {"holder": self.lease.holder_name, "pid": os.getpid(),
                "status": getattr(a, "status", ""), "fits": fits}

    # -- follower: reading -----------------------------------------------------------------
    def _follow_queue(self) -> None:
        """The leader's queue order, with this annotator's group first -- unless another
        annotator (first by name) works in it too -- and then the groups nobody works in
        (nobody held a lease there in the last two minutes):
        a class spreads over the groups, so the tracker carries each one's labels ahead of
        whoever labels it."""
        s = self.session
        got = board.read(s.store, s.task, QUEUE_BOARD, newer_than=self._queue_version)
        if got is not None:
            self._queue_version, value = got
            keys = value.get("keys", []) if isinstance(value, dict) else []
            positions = s.items.positions_of(keys)
            self._queue_positions = positions[positions >= 0]
        column = self._group_values()
        group = self._current_group()
        others = self._others_groups(column) if column is not None else {}
        signature = (self._queue_version, group, tuple(sorted(others.items(), key=repr)),
                     tuple(sorted(self._working)))
        if signature == self._queue_sig:
            return
        self._queue_sig = signature
        n = len(s.items)
        priority = np.zeros(n)  # the published items first, in their order; the rest after
        positions = self._queue_positions
        priority[positions] = np.arange(len(positions), 0, -1, dtype=float)
        if column is not None:
            me = s.annotator
            if group is not None and not (group in others and others[group] < me):
                priority[column == group] += 3 * (n + 1)
            free = ~np.isin(column, list(others)) if others else np.ones(n, dtype=bool)
            # the k-th of the class (by name) takes the k-th free group: two who leave a
            # crowded group at once do not crowd the same next one
            class_ = sorted({*self._working, me})
            ranked = np.argsort(-priority, kind="stable")
            free_groups = list(dict.fromkeys(column[ranked[free[ranked]]].tolist()))
            if free_groups:
                mine = free_groups[class_.index(me) % len(free_groups)]
                priority[column == mine] += n + 1
            priority[free] += n + 1
        with s._lock:
            s.queue.reorder(priority)

    def _group_values(self) -> np.ndarray | None:
        s = self.session
        column = getattr(s, "group_column", None)
        if column is None:
            return None
        if self._groups is None or len(self._groups) != len(s.items):
            self._groups = s.items.frame[column].to_numpy()
        return self._groups

    def _others_groups(self, column: np.ndarray) -> dict[Any, str]:
        """group -> the first (by name) other annotator working in it (holding a lease,
        or done with one in the last two minutes)."""
        s = self.session
        held = working_leases(s.store, s.task, done_within=120.0)
        out: dict[Any, str] = {}
        keys = [k for k, who in held if who != s.annotator]
        whos = [who for _k, who in held if who != s.annotator]
        self._working = set(whos)
        for pos, who in zip(s.items.positions_of(keys), whos):
            if pos >= 0:
                g = column[pos]
                out[g] = min(out.get(g, who), who)
        return out

    def _current_group(self) -> Any:
        s = self.session
        column = getattr(s, "group_column", None)
        cur = s.current
        if column is None or cur is None:
            return None
        return s.items.frame[column].iat[cur.position]

    def _follow_status(self) -> None:
        s = self.session
        got = board.read(s.store, s.task, ASSISTANT_BOARD, newer_than=self._status_version)
        if got is not None and isinstance(got[1], dict):
            self._status_version, state = got
            who = str(state.get("holder", "")).split("@")[0] or "another annotator"
            self._leader_text = f"shared with the class (run by {who}'s session)"
            if state.get("status"):
                self._leader_text += f" · {state['status']}"
        text = self._leader_text
        if self._holder is None:
            text = "waiting for a session to run the assistant"
        if text != self._leader_status:
            self._leader_status = text
            self._emit("status")

    # -- what the widget asks --------------------------------------------------------------
    @property
    def status(self) -> str:
        """The status line: the assistant's own when this kernel leads, else whose
        assistant the suggestions come from and what it does."""
        if self.session is None:
            return "not attached"
        if self._stop.is_set():
            return "stopped"
        if self.assistant is not None:
            others = len(self._working)
            if not others:  # alone on the task (so far)
                return str(self.assistant.status)
            return (f"{self.assistant.status} · shared with "
                    f"{others} other{'s' if others > 1 else ''}")
        return self._leader_status or "following the class's assistant"

    def note(self, key: Any) -> str:
        """The assistant's note on an item's best suggestion (a follower reads the note
        the leader posted with it)."""
        if self.assistant is not None:
            return str(self.assistant.note(key))
        pending = self.session.suggestions(key)
        return pending[0].note if pending else ""

    def suspected(self, key: Any) -> tuple[str, ...]:
        """Signs of a miss on an item's suggestion (a follower reads them from the note
        posted with it)."""
        if self.assistant is not None:
            return tuple(self.assistant.suspected(key))
        note = self.note(key)
        head = "suspected miss: "
        if not note.startswith(head):
            return ()
        return tuple(note[len(head):].split(", ")[0].split("; "))

    @property
    def busy(self) -> bool:
        return bool(self.assistant is not None and self.assistant.busy)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the assistant is idle (a follower is always idle)."""
        return True if self.assistant is None else bool(self.assistant.wait(timeout))

    def _relay(self, event: str, info: dict[str, Any]) -> None:
        if event == "error":
            self.errors.append(str(info.get("error", "")))
        self._emit(event, **{k: v for k, v in info.items() if k != "status"})

    def _failed(self, job: str, exc: BaseException) -> None:
        msg = f"assistant: {job} failed: {type(exc).__name__}: {exc}"
        if not self.errors or self.errors[-1] != msg:
            self.errors.append(msg)
            self._emit("error", error=msg)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop polling, stop this kernel's assistant (if it leads) and hand the lease
        over at once."""
        if self.session is None or self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._demote()
        with contextlib.suppress(Exception):  # the store may be gone: the lease expires
            self.lease.release()

    def __enter__(self) -> SharedAssistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        role = "leader" if self.is_leader else "follower"
        return f"SharedAssistant({role}: {self.status})"
