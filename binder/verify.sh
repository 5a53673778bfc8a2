#!/usr/bin/env bash
# Check binder/ the way Binder uses it, on this machine: a fresh venv gets
# binder/requirements.txt, a clean copy of the committed tree runs binder/postBuild, and every
# notebook in notebooks/ is executed in it (cwd = notebooks/, as in JupyterLab on Binder).
#
#   bash binder/verify.sh [VENV_DIR]        # default: /tmp/nblabel-binder-venv (recreated)
#
# NO_TORCH_INDEX=1 drops the --extra-index-url line (where only PyPI is reachable); torch
# then comes from PyPI or from PIP_FIND_LINKS (a folder holding the torch CPU wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-/tmp/nblabel-binder-venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
reqs="$work/requirements.txt"
if [ -n "${NO_TORCH_INDEX:-}" ]; then
  grep -v '^--extra-index-url' binder/requirements.txt > "$reqs"
else
  cp binder/requirements.txt "$reqs"
fi
rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv"
echo "== pip install -r binder/requirements.txt into $venv"
t0=$(date +%s)
"$venv/bin/python" -m pip install -q -r "$reqs"
echo "   $(( $(date +%s) - t0 )) s"
mkdir "$work/repo"
git archive HEAD | tar -x -C "$work/repo"
echo "== binder/postBuild"
(cd "$work/repo" && PATH="$venv/bin:$PATH" bash binder/postBuild >/dev/null)
echo "== executing notebooks"
cd "$work/repo/notebooks"
"$venv/bin/python" - <<'PY'
import sys, time
from pathlib import Path
import nbclient, nbformat
failed = 0
for path in sorted(Path(".").glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": "."}}).execute()
        status = "ok"
    except Exception as e:  # report every notebook, then fail
        failed += 1
        status = f"FAILED: {type(e).__name__}: {str(e)[-1500:]}"
    print(f"   {path.name}: {status} ({time.perf_counter() - t0:.0f} s)", flush=True)
sys.exit(1 if failed else 0)
PY
echo "== binder environment OK"
