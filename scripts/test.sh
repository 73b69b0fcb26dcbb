#!/usr/bin/env bash
# Set up, then run the test suite: the fast tier (fake plugins, no weights), then the integration tier
# (real weights and images from ../shared). Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3
.venv/bin/python -m pytest -m "not slow" "$@"
.venv/bin/python -m pytest -m slow "$@"
