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
