#!/usr/bin/env bash
# System packages the test suite uses, from Debian: package lists (the Fashion-MNIST fallback
# downloads Debian's dataset package), Chromium (the browser tests), PostgreSQL (the shared
# results-store tests start their own server from its binaries) and bubblewrap (`digitlab check`
# runs each student's notebook in a bwrap sandbox; the grading tests escape-test real ones), and Podman with
# runc (`digitlab check --sandbox podman`, escape-tested in a real container). As root they are installed;
# otherwise this says what to run with sudo and the tests that need them skip.
set -euo pipefail

need_update=0
[ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ] || need_update=1
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not a Debian-based system; install Chromium (browser tests) and bubblewrap (grading) yourself"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  if [ "$need_update" = 1 ] || [ ${#missing[@]} -gt 0 ]; then
    echo "system-deps: not root; please run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
  exit 0
fi
if [ "$need_update" = 1 ] || [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
