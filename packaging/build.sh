#!/usr/bin/env bash
# Build the one-folder bundle dist/mtl-workbench/ from the project's venv (make package).
#   PY=.venv/bin/python packaging/build.sh
# A CPU-only bundle (several GB smaller): build from a venv with PyTorch's CPU wheels,
#   python3 -m venv .venv-cpu
#   .venv-cpu/bin/pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
#   .venv-cpu/bin/pip install -e . pyinstaller
#   PY=.venv-cpu/bin/python packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
# PyInstaller is a build tool, not one of the app's requirements: the first build adds it to
# the environment of $PY, and says so.
if ! "$PY" -m pip show -q pyinstaller >/dev/null 2>&1; then
  echo "packaging/build.sh: installing PyInstaller into the environment of $PY (pip install 'pyinstaller>=6.6')"
  if ! "$PY" -m pip install -q "pyinstaller>=6.6"; then
    echo "packaging/build.sh: PyInstaller could not be installed (no package index?); install it, then build again: $PY -m pip install 'pyinstaller>=6.6'" >&2
    exit 1
  fi
fi
"$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/mtl-workbench.spec
du -sh dist/mtl-workbench
echo "bundle: dist/mtl-workbench/mtl-workbench (check: dist/mtl-workbench/mtl-workbench --smoke-test)"
