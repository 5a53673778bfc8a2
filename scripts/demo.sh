#!/usr/bin/env bash
# Set up (idempotent) and open the demo notebooks in JupyterLab, on the bundled sample data
# with an SQLite store in notebooks/. Pass "voila" to serve the labeling app with Voila.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
mode=lab
if [ "${1:-}" = "voila" ] || [ "${1:-}" = "lab" ]; then mode=$1; shift; fi
if [ "$mode" = "voila" ]; then
  exec .venv/bin/nblabel app notebooks/app.ipynb "$@"
fi
root_flag=()
if [ "$(id -u)" = 0 ]; then root_flag=(--allow-root); fi  # JupyterLab refuses root otherwise
exec .venv/bin/jupyter lab --ServerApp.ip=127.0.0.1 --notebook-dir=notebooks "${root_flag[@]}" "$@"
