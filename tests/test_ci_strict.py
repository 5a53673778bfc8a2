"""CI turns skips into failures (NBLABEL_STRICT=1), so a missing Chromium, PostgreSQL or data
set cannot make the suite pass by not running."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROBE = '''
import pytest

def test_needs_a_resource():
    pytest.skip("resource gone")

@pytest.mark.allow_skip
def test_opt_in():
    pytest.skip("opt-in")

def test_passes():
    assert True
'''


def _run(tmp_path: Path, strict: str) -> subprocess.CompletedProcess:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {**os.environ, "NBLABEL_STRICT": strict}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
         "markers=allow_skip", "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")],
        capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )


def test_skip_fails_in_strict_mode(tmp_path):
    out = _run(tmp_path, "1")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 1 passed, 1 skipped" in out.stdout
    assert "FAILED" in out.stdout and "test_needs_a_resource" in out.stdout


def test_skip_is_a_skip_locally(tmp_path):
    out = _run(tmp_path, "0")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed, 2 skipped" in out.stdout
