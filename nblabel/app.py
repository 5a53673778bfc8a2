"""``nblabel app``: serve a labeling notebook as a Voila app for annotators who should not
see code.

Usage::

    nblabel app notebooks/app.ipynb                  # http://127.0.0.1:8866/
    nblabel app notebooks/app.ipynb --port 9000 --no-browser --store /data/labels.sqlite
    nblabel app notebooks/                           # a directory: Voila lists its notebooks
    nblabel app notebooks/app.ipynb --images ~/photos --classes cat,dog   # your own photos

Voila runs each browser tab in its own kernel, shows the notebook's widgets and Markdown and
hides its code. The server binds to 127.0.0.1 unless ``--ip`` says otherwise (serving on a
network means anyone who reaches the port can label and run the notebook: put it behind an
authenticating proxy). ``--store`` sets ``$NBLABEL_APP_STORE``, which ``notebooks/app.ipynb``
reads to find its SQLite store; ``--assist external`` sets ``$NBLABEL_APP_ASSIST``, with which
the notebook's kernels only follow the team's assistant that ``nblabel assist STORE`` runs
elsewhere; ``--images`` and ``--classes`` set ``$NBLABEL_APP_IMAGES`` and
``$NBLABEL_APP_CLASSES``, with which the app labels a folder of your own photos (grouped by
subfolder, :func:`nblabel.image_folder`) instead of the bundled sample; arguments after
``--`` go to Voila unchanged.

Stopping: SIGTERM or SIGINT (Ctrl-C) to ``nblabel app`` is passed on to Voila as SIGTERM
(Voila then shuts its kernels down), and ``nblabel app`` waits for it. A second signal, or
Voila still running :data:`STOP_GRACE` seconds later, kills it; kernels it leaves behind
are ended too, so no server or kernel outlives ``nblabel app``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["ASSIST_ENV", "CLASSES_ENV", "IMAGES_ENV", "STOP_GRACE", "STORE_ENV",
           "app_environment", "build_command", "main", "parse_args", "run_server"]

#: Environment variable through which ``--store`` reaches the app notebook's kernel.
STORE_ENV = "NBLABEL_APP_STORE"
#: Environment variable through which ``--assist`` reaches the app notebook's kernel.
ASSIST_ENV = "NBLABEL_APP_ASSIST"
#: Environment variables through which ``--images`` and ``--classes`` reach the kernel.
IMAGES_ENV = "NBLABEL_APP_IMAGES"
CLASSES_ENV = "NBLABEL_APP_CLASSES"
DEFAULT_PORT = 8866
#: seconds Voila gets to shut its kernels down after SIGTERM before it is killed
STOP_GRACE = 20.0


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Parse ``nblabel app`` arguments; returns the options and the arguments for Voila."""
    argv = list(argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(
        prog="nblabel app",
        description="Serve a labeling notebook (or a directory of them) with Voila.",
        epilog="Arguments after -- go to voila unchanged, e.g. -- --theme=dark",
    )
    parser.add_argument("target", help="a .ipynb file, or a directory of notebooks")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--ip", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open a browser tab")
    parser.add_argument("--store", default=None,
                        help=f"SQLite file or SQLAlchemy URL for the app (sets ${STORE_ENV})")
    parser.add_argument("--assist", choices=["kernel", "external"], default="kernel",
                        help="where a team's labeling assistant runs: in one of the "
                        "annotators' kernels (default), or only in a separate `nblabel "
                        f"assist` process (sets ${ASSIST_ENV})")
    parser.add_argument("--images", default=None,
                        help="label your own photos: a folder of images, one subfolder per "
                        f"group a tracker can follow (sets ${IMAGES_ENV}; default: the "
                        "bundled food sample)")
    parser.add_argument("--classes", default=None,
                        help="comma-separated box classes for --images (sets "
                        f"${CLASSES_ENV}; default: the sample's classes)")
    parser.add_argument("--show-tracebacks", action="store_true",
                        help="show Python tracebacks in the page (for debugging the notebook)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the voila command and exit")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, got {args.port}")
    return args, extra


def build_command(args: argparse.Namespace, extra: Sequence[str] = ()) -> list[str]:
    """The ``voila`` command line for parsed arguments (see :func:`parse_args`).

    Raises
    ------
    FileNotFoundError
        When the target does not exist or is not a notebook or directory.
    """
    target = Path(args.target).expanduser().resolve()
    if not target.exists():
        raise FileNotFoundError(
            f"{args.target}: no such notebook or directory (try notebooks/app.ipynb from the "
            "repository root)"
        )
    if target.is_file() and target.suffix != ".ipynb":
        raise FileNotFoundError(f"{args.target}: not a notebook (.ipynb) or a directory")
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(target),
        f"--port={args.port}",
        f"--Voila.ip={args.ip}",
        f"--show_tracebacks={bool(args.show_tracebacks)}",
    ]
    if args.no_browser:
        cmd.append("--no-browser")
    return [*cmd, *extra]


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    """The environment variables through which the options reach the app's kernels.

    Raises
    ------
    ValueError
        When ``--images`` is not a folder or ``--classes`` names no class.
    """
    env = {ASSIST_ENV: args.assist}
    if args.store:
        store = args.store
        if "://" not in store:
            store = str(Path(store).expanduser().resolve())
        env[STORE_ENV] = store
    if args.images:
        folder = Path(args.images).expanduser().resolve()
        if not folder.is_dir():
            raise ValueError(f"--images {args.images}: not a folder")
        env[IMAGES_ENV] = str(folder)
    if args.classes is not None:
        classes = [c.strip() for c in args.classes.split(",") if c.strip()]
        if not classes:
            raise ValueError("--classes names no class: give e.g. --classes cat,dog")
        env[CLASSES_ENV] = ",".join(classes)
    return env


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nblabel app`` (returns Voila's exit status)."""
    args, extra = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cmd = build_command(args, extra)
    except FileNotFoundError as e:
        print(f"nblabel app: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    if importlib.util.find_spec("voila") is None:
        print("nblabel app: Voila is not installed; pip install 'nblabel[demo]' (or voila)",
              file=sys.stderr)
        return 2
    try:
        env = {**os.environ, **app_environment(args)}
    except ValueError as e:
        print(f"nblabel app: {e}", file=sys.stderr)
        return 2
    print(f"nblabel app: serving {cmd[3]} at http://{args.ip}:{args.port}/ (Ctrl-C stops)",
          file=sys.stderr)
    return run_server(cmd, env=env)


def _descendants(pid: int) -> list[Any]:
    """The processes below ``pid`` (psutil objects; empty without psutil)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with jupyter_server/ipykernel
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _end(processes: Sequence[Any], timeout: float = 5.0) -> None:
    """Terminate (then kill) the processes of ``processes`` that are still running."""
    if not processes:
        return
    import psutil

    alive = []
    for p in processes:
        with contextlib.suppress(psutil.Error):
            if p.is_running():
                p.terminate()
                alive.append(p)
    _gone, alive = psutil.wait_procs(alive, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=timeout)


def run_server(cmd: Sequence[str], env: dict[str, str] | None = None,
               grace: float = STOP_GRACE) -> int:
    """Run ``cmd`` (Voila) until it exits; SIGTERM/SIGINT here are passed on to it as
    SIGTERM and waited for (a second signal, or ``grace`` seconds, kills it). Processes
    it started (kernels) that outlive it are ended. Returns its exit status, or
    ``128 + signal`` when stopped by a signal.
    """
    proc = subprocess.Popen(list(cmd), env=env)
    received: list[int] = []
    children: dict[int, Any] = {}
    deadline = [float("inf")]

    def remember() -> None:
        for c in _descendants(proc.pid):
            children.setdefault(c.pid, c)

    def forward(signum: int, _frame: Any) -> None:
        received.append(signum)
        remember()  # the kernels, before Voila ends (they would be orphans after)
        with contextlib.suppress(ProcessLookupError):
            if len(received) == 1:
                proc.send_signal(signal.SIGTERM)  # Voila shuts its kernels down on SIGTERM
                deadline[0] = time.monotonic() + grace
            else:
                proc.kill()

    handled = (signal.SIGTERM, signal.SIGINT)
    try:
        previous = {sig: signal.signal(sig, forward) for sig in handled}
    except ValueError:  # not the main thread: signals cannot be caught here
        previous = {}
    try:
        while True:
            try:
                rc = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline[0]:
                    remember()
                    proc.kill()
    finally:
        if proc.poll() is None:  # an exception here: never leave Voila behind
            remember()
            proc.kill()
            proc.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _end(list(children.values()))
    return 128 + received[0] if received else rc
