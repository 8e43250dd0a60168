#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run them. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,course,postgres
bash scripts/system-deps.sh
exec .venv/bin/python -m pytest "$@"
