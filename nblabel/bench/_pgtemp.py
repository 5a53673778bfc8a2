"""A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl`` in a temp dir, on 127.0.0.1 at a
free port), for tests and ``nblabel bench team``; :meth:`PgServer.close` removes it.

PostgreSQL refuses to run as root; as root (CI containers) the cluster runs as an
unprivileged user (``nobody``, or ``nblabel-test`` created with ``useradd`` when ``nobody`` is
missing). :func:`find_bindir` is ``None`` when the server binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

__all__ = ["PgServer", "find_bindir"]

PASSWORD = "s3cret-pw-Xy9"  # the superuser's; tests check it never shows in messages
USER = "nblabel"


def find_bindir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_user() -> str | None:
    """The unprivileged user to run the server as (``None`` when not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("nobody", "nblabel-test"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
         "nblabel-test"],
        check=True, capture_output=True,
    )
    return "nblabel-test"


class PgServer:
    """A running throwaway cluster; :meth:`stop` / :meth:`start` for fault tests."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = _run_user()
        # as root, under /tmp: $TMPDIR may be a directory the server user cannot enter
        where = "/tmp" if self.user is not None and os.path.isdir("/tmp") else None
        self.tmp = Path(tempfile.mkdtemp(prefix="nblabel-pg-", dir=where))
        self.data = self.tmp / "data"
        self.logfile = self.tmp / "server.log"
        self.port = _free_port()
        self.host = "127.0.0.1"
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.tmp, info.pw_uid, info.pw_gid)
        os.chmod(self.tmp, 0o700)
        pwfile = self.tmp / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user is not None:
            os.chown(pwfile, info.pw_uid, info.pw_gid)
        self._as_user(
            [str(bindir / "initdb"), "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile),
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
             "--locale=C", "--no-sync"],
        )
        pwfile.unlink()
        self.start()

    def _as_user(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
        if self.user is not None:
            runuser = shutil.which("runuser")
            cmd = ([runuser, "-u", self.user, "--", *cmd] if runuser else
                   ["su", "-s", "/bin/sh", self.user, "-c", " ".join(cmd)])
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                             cwd=str(self.tmp))
        if check and out.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {out.stdout}\n{out.stderr}")
        return out

    def start(self) -> None:
        """Start the server at default settings (``max_connections`` 100, ``fsync`` on ...):
        only where it listens (port, address, socket directory) is set."""
        opts = f"-p {self.port} -h {self.host} -k {self.tmp}"
        self._as_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts,
                       "-l", str(self.logfile), "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._as_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode,
                       "-w", "-t", "60", "stop"], check=False)

    def url(self, database: str = "postgres", *, password: bool = True) -> str:
        cred = f"{USER}:{PASSWORD}" if password else USER
        return f"postgresql://{cred}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')  # a generated identifier, not user input
        return name

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)
