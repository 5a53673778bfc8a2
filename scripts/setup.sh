#!/usr/bin/env bash
# Set up everything nblabel needs on this machine, idempotently:
#   bash scripts/setup.sh demo   -> .venv with nblabel[demo,torch]
#   bash scripts/setup.sh test   -> .venv with every extra, plus Chromium and PostgreSQL
# Re-running is cheap: pip is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-test}"
PY="${PYTHON:-python3}"

"$PY" - <<'PYCHECK'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"nblabel needs Python >= 3.10, found {sys.version.split()[0]}")
PYCHECK

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi

# torch: the CPU build (a plain 'torch' from PyPI pulls several GB of CUDA libraries)
if [ -d /opt/wheels ]; then export PIP_FIND_LINKS="${PIP_FIND_LINKS:-/opt/wheels}"; fi
extras="demo,torch"
[ "$what" = "test" ] && extras="demo,torch,team,test"
stamp=".venv/.nblabel-installed-$extras"
hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  echo "== installing nblabel[$extras] into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  echo "$hash" > "$stamp"
fi

apt_install() {  # apt_install PACKAGE...: only as root with apt-get; else say what is missing
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== apt-get install $*"
    (apt-get update -qq || true) >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "!! missing system packages ($*): install them, or their tests will be skipped" >&2
  fi
}

if [ "$what" = "test" ]; then
  command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || apt_install chromium
  if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
fi
if [ "$what" = "test" ]; then
  # independent readers used as test oracles (supervision, label-studio-sdk) need their own
  # OpenCV wheel and an older numpy: a venv of their own, never nblabel's .venv
  ostamp=".venv-oracle/.installed"
  ohash=$(sha256sum tests/oracles/requirements.txt | cut -c1-16)
  if [ ! -f "$ostamp" ] || [ "$(cat "$ostamp")" != "$ohash" ]; then
    echo "== building .venv-oracle (test oracles: supervision, label-studio-sdk)"
    if "$PY" -m venv .venv-oracle && .venv-oracle/bin/python -m pip install -q \
        -r tests/oracles/requirements.txt; then
      echo "$ohash" > "$ostamp"
    else
      echo "!! .venv-oracle could not be built: tests/test_io_oracles.py will skip" >&2
    fi
  fi
fi
echo "== set-up done ($what)"
