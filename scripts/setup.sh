#!/usr/bin/env bash
# Set up digitlab in ./.venv: torch first, pinned, so pip never pulls a multi-GB CUDA build,
# then digitlab itself (editable) with the extras named in $1 (e.g. "test,postgres").
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_SPEC=${DIGITLAB_TORCH_SPEC:-torch==2.13.0}  # override for another torch, e.g. a CUDA build
extras=${1:-}

if [ ! -x .venv/bin/python ]; then
  echo "digitlab setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
echo "digitlab setup: installing $TORCH_SPEC, then digitlab${extras:+[$extras]}"
.venv/bin/python -m pip install --quiet --disable-pip-version-check "$TORCH_SPEC"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}"
