#!/usr/bin/env bash
# Create .venv (if needed) and install facebench with its test extras. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[deepface,test,dev]"
# The report screenshot test drives a system browser through Playwright (its own browser download does not run
# everywhere): Debian's chromium, installed where missing and where we are root (CI); the test skips without one.
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "setup: apt-get install chromium failed; the screenshot test will skip"
fi
