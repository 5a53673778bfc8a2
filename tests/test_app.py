"""``nblabel app``: argument parsing and the Voila command line (the real server is tested in
tests/browser/test_app_browser.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nblabel import app, cli

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "notebooks" / "app.ipynb"


def test_command_binds_localhost_by_default(tmp_path: Path) -> None:
    nb = tmp_path / "a.ipynb"
    nb.write_text("{}")
    args, extra = app.parse_args([str(nb)])
    cmd = app.build_command(args, extra)
    assert cmd[:3] == [sys.executable, "-m", "voila"]
    assert cmd[3] == str(nb.resolve())
    assert "--Voila.ip=127.0.0.1" in cmd
    assert f"--port={app.DEFAULT_PORT}" in cmd
    assert "--no-browser" not in cmd


def test_options_and_passthrough(tmp_path: Path) -> None:
    args, extra = app.parse_args(
        [str(tmp_path), "--port", "9001", "--no-browser", "--", "--theme=dark"]
    )
    cmd = app.build_command(args, extra)
    assert "--port=9001" in cmd and "--no-browser" in cmd
    assert cmd[-1] == "--theme=dark"


def test_assist_says_where_the_teams_assistant_runs(tmp_path: Path) -> None:
    assert app.parse_args([str(tmp_path)])[0].assist == "kernel"
    assert app.parse_args([str(tmp_path), "--assist", "external"])[0].assist == "external"
    with pytest.raises(SystemExit):
        app.parse_args([str(tmp_path), "--assist", "gpu"])


def test_missing_target_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main([str(tmp_path / "nope.ipynb"), "--dry-run"]) == 2
    assert "no such notebook" in capsys.readouterr().err


def test_not_a_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "x.py"
    f.write_text("")
    assert app.main([str(f)]) == 2
    assert "not a notebook" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["0", "70000"])
def test_bad_port(tmp_path: Path, port: str) -> None:
    with pytest.raises(SystemExit):
        app.parse_args([str(tmp_path), "--port", port])


def test_cli_dispatches_to_app(capsys: pytest.CaptureFixture[str]) -> None:
    assert APP.is_file(), "notebooks/app.ipynb is the app `bash scripts/demo.sh voila` serves"
    assert cli.main(["app", str(APP), "--dry-run", "--port", "8899"]) == 0
    out = capsys.readouterr().out
    assert "-m voila" in out and str(APP) in out and "--port=8899" in out


# -- stopping: signals reach the server, nothing outlives `nblabel app` ----------------------
FAKE_SERVER = r"""
import signal, subprocess, sys, time
from pathlib import Path
out = Path(sys.argv[1])
# a "kernel" in its own session, as jupyter_client starts kernels
kernel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                          start_new_session=True)
def stop(signum, frame):
    (out / "signal").write_text(str(signum))
    if sys.argv[2] == "clean":
        kernel.terminate(); kernel.wait()
    sys.exit(0)  # "leaky": exits leaving its kernel running
signal.signal(signal.SIGTERM, stop)
(out / "pids").write_text(f"{kernel.pid}")
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    psutil = pytest.importorskip("psutil")
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(("sig", "mode"), [("SIGTERM", "leaky"), ("SIGINT", "clean")])
def test_signal_is_forwarded_and_nothing_survives(tmp_path: Path, sig: str, mode: str) -> None:
    """``nblabel app`` passes SIGTERM/SIGINT on to Voila as SIGTERM, waits for it, and ends
    the kernels a server left behind (issue 15.3); checked on the process table."""
    import signal
    import subprocess
    import sys
    import time

    server = tmp_path / "server.py"
    server.write_text(FAKE_SERVER)
    driver = (
        "import sys; from nblabel.app import run_server; "
        f"sys.exit(run_server([sys.executable, {str(server)!r}, {str(tmp_path)!r}, {mode!r}]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", driver])
    try:
        deadline = time.time() + 30
        while not (tmp_path / "pids").exists():
            assert time.time() < deadline and proc.poll() is None, "the fake server did not start"
            time.sleep(0.05)
        kernel = int((tmp_path / "pids").read_text())
        psutil = pytest.importorskip("psutil")
        (server_proc,) = psutil.Process(proc.pid).children()
        proc.send_signal(getattr(signal, sig))
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 128 + getattr(signal, sig)
    assert (tmp_path / "signal").read_text() == str(int(signal.SIGTERM))
    assert _gone(server_proc.pid), "the server outlived nblabel app"
    assert _gone(kernel), "a kernel outlived nblabel app"


def test_images_and_classes_reach_the_kernels_environment(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    args, _ = app.parse_args([str(APP), "--images", str(tmp_path / "photos"),
                              "--classes", " cat, dog ,", "--store", str(tmp_path / "s.db")])
    env = app.app_environment(args)
    assert env[app.IMAGES_ENV] == str((tmp_path / "photos").resolve())
    assert env[app.CLASSES_ENV] == "cat,dog"
    assert env[app.STORE_ENV] == str((tmp_path / "s.db").resolve())
    plain = app.app_environment(app.parse_args([str(APP)])[0])
    assert app.IMAGES_ENV not in plain and app.CLASSES_ENV not in plain


@pytest.mark.parametrize("bad", [["--images", "nowhere"], ["--classes", " , "]])
def test_bad_images_or_classes_are_a_message(tmp_path: Path, bad: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = [str(tmp_path / b) if b == "nowhere" else b for b in bad]
    assert app.main([str(APP), *bad]) == 2
    err = capsys.readouterr().err
    assert bad[0] in err and "nblabel app:" in err
