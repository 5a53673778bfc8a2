"""``nblabel bench classroom``: a class labeling one data set through the Voila app.

One Voila server of ``notebooks/app.ipynb`` per store backend (SQLite file; a throwaway
PostgreSQL cluster at :mod:`nblabel.bench._pgtemp`'s settings), one headless Chromium, one
page -- so one kernel -- per student. Each student types a name, starts, then labels at a
modelled pace (look 1.7 s; a suggestion on screen: Enter; none: draw a box with the mouse,
7 s in all; times scaled by ``--pace``) and presses ``n``, until ``--actions`` photos or the
photos run out. The student runs in the page (``classroom_student.js``) on the paint
timestamps BoxLabeler records with ``canvas.measure = True`` (the app sets it when
``$NBLABEL_APP_MEASURE`` is set).

Reported per student and overall: next photo latency (key ``n`` -> the kernel's new photo
painted) p50/p95; ``suggestion_ready_share`` (photos whose suggestion was on screen when the
kernel's photo appeared), also counted over the photos shown once the leader's first model
fit had ended (``suggestion_ready_share_after_first_model``); every kernel's RSS (sampled;
leader vs the others, target < 150 MB for the others) and whether torch is loaded
(``libtorch`` in ``/proc/PID/maps``); model fits running at once (the board's
``assistant`` record); labels a page saw saved that the store lacks; items assigned or
labeled twice. With ``--kill-leader`` the leading kernel is
SIGKILLed mid-run: seconds until another kernel leads, and its student reloads the page.

Usage: ``nblabel bench classroom --students 10 [--backends sqlite,postgresql]
[--actions 12] [--pace 1.0] [--kill-leader] [--images DIR --classes A,B]
[--out benchmarks/results/classroom-DATE.json]``. ``--images`` makes the class label a folder
of photos (one subfolder per group, as ``nblabel app --images``) instead of the app's
60-photo sample, on which a class of ten runs out of photos after six each.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from nblabel.bench import _browser as harness
from nblabel.bench.classroom_report import _holder_pid, _markdown, _summarise
from nblabel.bench.common import utc_now, write_json

__all__ = ["main", "run_backend"]

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "notebooks" / "app.ipynb"
TAG_ENV = "NBLABEL_BENCH_CLASSROOM_TAG"
STUDENT_JS = "\n".join(line for line in (Path(__file__).parent / "classroom_student.js")
                       .read_text().splitlines() if not line.lstrip().startswith("//"))
NAMES = ["ana", "ben", "chloé", "dev", "emma", "farid", "gus", "hana", "ivan", "june"]


def _names(n: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"student{i + 1}" for i in range(n)]


def tagged(tag: str, kernels_only: bool = False) -> list[psutil.Process]:
    """Live processes whose environment carries ``tag`` (the Voila server, its kernels)."""
    out = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if p.environ().get(TAG_ENV) != tag or p.status() == psutil.STATUS_ZOMBIE:
                continue
            if kernels_only and "ipykernel" not in " ".join(p.cmdline()):
                continue
            out.append(p)
    return out


def torch_loaded(pid: int) -> bool | None:
    """Whether libtorch is mapped into process ``pid`` (``None``: process gone)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any("libtorch" in line for line in f)
    except OSError:
        return None


class Watch:
    """What the bench reads from the store and the process table while the class labels."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.task: str | None = None
        self.rss: dict[int, float] = {}  # pid -> max RSS MB seen
        self.torch: dict[int, bool] = {}
        self.holders: list[tuple[float, str | None]] = []  # (time, live holder) on change
        self.fits: dict[tuple[str, Any], Any] = {}  # (holder, start) -> end
        self.board_errors = 0

    def sample(self, pids: Sequence[int]) -> None:
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                mb = psutil.Process(pid).memory_info().rss / 2**20
                self.rss[pid] = max(self.rss.get(pid, 0.0), mb)
                self.torch[pid] = bool(torch_loaded(pid)) or self.torch.get(pid, False)
        if self.task is None:
            tasks = self.store.tasks()
            self.task = tasks[0] if tasks else None
            with contextlib.suppress(Exception):
                self.store.conn.commit()  # end the read: SQLite WAL snapshots
        if self.task is not None:
            self._leader()
            self._board()

    def _leader(self) -> None:
        try:
            from nblabel.store.leader import leaders
        except ImportError:  # the shared assistant is not in this version
            return
        df = leaders(self.store, self.task)  # type: ignore[arg-type]
        live = df[(df["role"] == "assistant") & df["live"]]
        holder = str(live["holder"].iloc[0]) if len(live) else None
        if not self.holders or self.holders[-1][1] != holder:
            self.holders.append((time.time(), holder))

    def _board(self) -> None:
        try:
            from nblabel.store import board
        except ImportError:
            return
        try:
            got = board.read(self.store, self.task, "assistant")  # type: ignore[arg-type]
        except Exception:
            self.board_errors += 1
            return
        if got is None:
            return
        value = got[1] or {}
        for f in value.get("fits") or []:
            k = (str(value.get("holder")), f.get("start"))
            if self.fits.get(k) is None:
                self.fits[k] = f.get("end")

    @property
    def holder(self) -> str | None:
        return self.holders[-1][1] if self.holders else None

    def max_fits_at_once(self, end: float) -> int:
        """Most model fits running at the same time; a fit of a leader that lost the lease
        (killed) counts until the moment it lost it."""
        lost: dict[str, float] = {}
        for (_t, h), nxt in zip(self.holders, self.holders[1:]):
            if h is not None:
                lost.setdefault(h, nxt[0])
        points = []
        for (holder, start), stop in self.fits.items():
            if start is None:
                continue
            stop = stop if stop is not None else lost.get(holder, end)
            points += [(float(start), 1), (float(stop), -1)]
        running = best = 0
        for _t, d in sorted(points, key=lambda p: (p[0], p[1])):
            running += d
            best = max(best, running)
        return best


def _open(page: Any, url: str, name: str, tag: str, known: set[int],
          timeout: float) -> int | None:
    """Open the app as ``name``; the pid of the kernel this page started."""
    page.goto(url)
    page.get_by_placeholder("your name").fill(name)
    page.get_by_role("button", name="Start labeling").click()
    page.wait_for_function("() => window.__nblabel_measure && window.__nblabel_measure"
                           ".events.some((e) => e.kind === 'confirm')", timeout=timeout * 1000)
    new = [p.pid for p in tagged(tag, kernels_only=True) if p.pid not in known]
    return new[0] if len(new) == 1 else None


def _start(page: Any, actions: int, pace: float, timeout_ms: int) -> None:
    page.evaluate(f"(a) => {{ ({STUDENT_JS})(a); return 1; }}", [actions, pace, timeout_ms])


def _state(page: Any) -> dict[str, Any] | None:
    with contextlib.suppress(Exception):
        return page.evaluate("() => window.__student ? JSON.parse(JSON.stringify("
                             "window.__student)) : null")
    return None


def _store_truth(url: str, task: str | None) -> dict[str, Any]:
    """Current labels (item -> annotator) and lease rows of the task, read after the run."""
    from nblabel.store import open_store
    from nblabel.store.assign import leases
    from nblabel.store.log import LabelLog

    with open_store(url) as st:
        task = task or (st.tasks() or ["boxes"])[0]
        log = LabelLog()
        labelers: dict[str, set[str]] = {}
        for ev in st.events(task):
            log.apply(ev)
            if ev.action == "label":
                labelers.setdefault(ev.item, set()).add(ev.annotator)
        owner = {k: ev.annotator for k, ev in log.labeled_items().items()}
        held = leases(st, task)
    per_item = held.groupby("item").size() if len(held) else None
    return {
        "task": task, "owner": owner,
        "duplicate_assignments": int((per_item > 1).sum()) if per_item is not None else 0,
        "items_labeled_by_several": sum(len(v) > 1 for v in labelers.values()),
    }


def run_backend(backend: str, url: str, names: list[str], args: argparse.Namespace,
                new_page: Any, tmp: Path) -> dict[str, Any]:
    """One class on one store; the results of that backend."""
    from nblabel.store import open_store

    tag = f"classroom-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {"NBLABEL_APP_STORE": url, "NBLABEL_APP_MEASURE": "1", TAG_ENV: tag}
    if args.images:  # the photos the class labels (default: the app's bundled sample)
        env["NBLABEL_APP_IMAGES"] = str(Path(args.images).resolve())
    if args.classes:
        env["NBLABEL_APP_CLASSES"] = args.classes
    saved_env = {k: os.environ.get(k) for k in
                 (*env, "NBLABEL_ANNOTATOR", "NBLABEL_APP_IMAGES", "NBLABEL_APP_CLASSES")}
    for k in ("NBLABEL_ANNOTATOR", "NBLABEL_APP_IMAGES", "NBLABEL_APP_CLASSES"):
        os.environ.pop(k, None)
    os.environ.update(env)
    timeout_ms = int(args.step_timeout * 1000)
    students: list[dict[str, Any]] = []
    res: dict[str, Any] = {"backend": backend}
    watch_store = open_store(url)
    watch = Watch(watch_store)
    t_run = time.time()
    try:
        (tmp / backend).mkdir(parents=True, exist_ok=True)
        with harness.voila_server(APP, tmp / backend) as base:
            known: set[int] = set()
            t0 = time.time()
            for name in names:  # students arrive one after the other
                page = new_page()
                pid = _open(page, base, name, tag, known, args.step_timeout * 4)
                known |= {p.pid for p in tagged(tag, kernels_only=True)}
                students.append({"name": name, "page": page, "pids": [pid], "restarts": 0,
                                 "runs": []})
                print(f"[{backend}] {name} in, kernel {pid}", flush=True)
            res["class_open_s"] = round(time.time() - t0, 1)
            t_run = time.time()
            for s in students:  # the class starts together
                _start(s["page"], args.actions, args.pace, timeout_ms)
            deadline = t_run + args.actions * (9.0 * args.pace + args.step_timeout) + 120
            kill: dict[str, Any] = {}
            while time.time() < deadline:
                time.sleep(0.5)
                watch.sample([s["pids"][-1] for s in students if s["pids"][-1]])
                states = [_state(s["page"]) for s in students]
                saved = sum(len(st["saved"]) for st in states if st)
                if args.kill_leader and not kill and watch.holder and \
                        saved >= args.kill_after * len(students):
                    kill = _kill_leader(watch, students)
                if kill and "takeover_s" not in kill:
                    h = watch.holder
                    if h is not None and h != kill["holder"]:
                        kill["takeover_s"] = round(time.time() - kill["t"], 2)
                        kill["new_holder"] = h
                if kill.get("student") is not None and not kill.get("rejoined"):
                    _rejoin(students[kill["student"]], states[kill["student"]], base, tag,
                            args, timeout_ms, kill)
                    continue
                if all(st and st.get("done") for st in states):
                    break
            res["run_s"] = round(time.time() - t_run, 1)
            for s, st in zip(students, [_state(s["page"]) for s in students]):
                s["runs"].append(st or {})
            if args.screenshot:
                with contextlib.suppress(Exception):
                    shot = students[0]["page"]
                    shot.set_viewport_size({"width": 1280, "height": 1500})
                    time.sleep(0.5)
                    shot.screenshot(path=f"{args.screenshot}-{backend}.png")
            watch.sample([s["pids"][-1] for s in students if s["pids"][-1]])
            for s in students:
                with contextlib.suppress(Exception):
                    s["page"].context.close()
            res["kill_leader"] = kill or None
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        watch_store.close()
        left = harness.wait_for(lambda: not tagged(tag), timeout=20)
        survivors = [] if left else [" ".join(p.cmdline()[:4]) for p in tagged(tag)]
        for p in tagged(tag):
            with contextlib.suppress(psutil.Error):
                p.kill()
        res["survivors"] = survivors
    res.update(_summarise(students, watch, _store_truth(url, watch.task), time.time()))
    return res


def _kill_leader(watch: Watch, students: list[dict[str, Any]]) -> dict[str, Any]:
    holder = watch.holder
    pid = _holder_pid(holder)
    who = next((i for i, s in enumerate(students) if pid in s["pids"]), None)
    if pid is None or who is None:
        return {"error": f"leader {holder!r} is not a student kernel", "holder": holder,
                "t": time.time()}
    watch.torch[pid] = bool(torch_loaded(pid)) or watch.torch.get(pid, False)
    os.kill(pid, signal.SIGKILL)
    print(f"killed the leader {holder} (student {students[who]['name']})", flush=True)
    return {"holder": holder, "pid": pid, "student": who, "t": time.time()}


def _rejoin(s: dict[str, Any], state: dict[str, Any] | None, base: str, tag: str,
            args: argparse.Namespace, timeout_ms: int, kill: dict[str, Any]) -> None:
    """The student whose kernel was killed reloads the page and goes on."""
    if psutil.pid_exists(kill["pid"]) and torch_loaded(kill["pid"]) is not None:
        return
    s["runs"].append(state or {})
    done = len((state or {}).get("items", []))
    known = {p.pid for p in tagged(tag, kernels_only=True)}
    t0 = time.time()
    pid = _open(s["page"], base, s["name"], tag, known, args.step_timeout * 4)
    s["pids"].append(pid)
    s["restarts"] += 1
    kill["rejoin_s"] = round(time.time() - t0, 1)
    kill["rejoined"] = True
    _start(s["page"], max(args.actions - done, 1), args.pace, timeout_ms)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; write JSON (and a Markdown table next to it)."""
    ap = argparse.ArgumentParser(prog="nblabel bench classroom", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=10)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--actions", type=int, default=12, help="photos per student, at most")
    ap.add_argument("--pace", type=float, default=1.0, help="scales the student's times")
    ap.add_argument("--kill-leader", action="store_true",
                    help="SIGKILL the leading kernel mid-run")
    ap.add_argument("--kill-after", type=float, default=2.0,
                    help="kill once the class saved this many labels per student")
    ap.add_argument("--step-timeout", type=float, default=30.0,
                    help="seconds a student waits for a save or the next photo")
    ap.add_argument("--images", help="folder of photos the class labels, one subfolder per "
                    "group (nblabel app --images; default: the app's bundled sample)")
    ap.add_argument("--classes", help="comma-separated box classes for --images")
    ap.add_argument("--screenshot", help="save the first student's page as PATH-BACKEND.png")
    ap.add_argument("--chromium", default=harness.CHROMIUM)
    ap.add_argument("--out", help="JSON path (default benchmarks/results/classroom-DATE.json)")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    names = _names(args.students)
    res: dict[str, Any] = {
        "benchmark": "classroom", "date": utc_now(),
        "command": "nblabel bench classroom " + " ".join(argv or []),
        "students": args.students, "actions": args.actions, "pace": args.pace,
        "images": args.images or "bundled sample", "classes": args.classes,
        "load_before": [round(x, 2) for x in os.getloadavg()], "results": [],
    }
    from nblabel.bench.common import git_commit, machine_info

    res["git_commit"], res["machine"] = git_commit(), machine_info()
    with tempfile.TemporaryDirectory(prefix="nblabel-classroom-") as d, \
            harness.chromium(args.chromium) as new_page:
        tmp = Path(d)
        for backend in backends:
            pg = None
            try:
                if backend == "postgresql":
                    from nblabel.bench._pgtemp import PgServer, find_bindir

                    bindir = find_bindir()
                    if bindir is None:
                        raise RuntimeError("PostgreSQL server binaries not found")
                    pg = PgServer(bindir)
                    url = pg.url(pg.create_database())
                elif backend == "sqlite":
                    url = str(tmp / "class.sqlite")
                else:
                    raise ValueError(f"unknown backend {backend!r} (sqlite, postgresql)")
                r = run_backend(backend, url, names, args, new_page, tmp)
            except Exception as e:  # recorded, not hidden
                r = {"backend": backend, "error": f"{type(e).__name__}: {e}"}
            finally:
                if pg is not None:
                    pg.close()
            res["results"].append(r)
            print(backend, json.dumps({k: v for k, v in r.items() if k != "students"},
                                      default=str), flush=True)
    out = Path(args.out) if args.out else (
        ROOT / "benchmarks" / "results" / f"classroom-{res['date'][:10]}.json")
    write_json(out, res)
    out.with_suffix(".md").write_text(_markdown(res))
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0
