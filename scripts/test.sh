#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: lint, unit, notebook, real-browser and
# PostgreSQL tests. Extra arguments go to pytest (e.g. -k session, -m "not browser").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# In CI a missing resource (Chromium, PostgreSQL, ../shared/data) fails instead of skipping.
if [ -n "${CI:-}" ]; then export NBLABEL_STRICT=1; fi
.venv/bin/python -m ruff check nblabel tests
exec .venv/bin/python -m pytest "$@"
