#!/usr/bin/env bash
# Set up digitlab on a fresh machine, then run the main job. Extra arguments go to `digitlab lab`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/digitlab lab "$@"
