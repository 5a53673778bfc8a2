#!/usr/bin/env bash
# Set up (idempotent) and open the demo notebooks in JupyterLab, on the bundled sample data
# with an SQLite store in notebooks/. Pass "voila" to serve the labeling app with Voila.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
if [ "${1:-lab}" = "voila" ]; then
  exec .venv/bin/nblabel app notebooks/app.ipynb "${@:2}"
fi
exec .venv/bin/jupyter lab --ServerApp.ip=127.0.0.1 --notebook-dir=notebooks "${@:2}"
