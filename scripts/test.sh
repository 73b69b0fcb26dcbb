#!/usr/bin/env bash
# Set up, then run the test suite: the fast tier (fake plugins, no weights), then the integration tier
# (real weights and images from ../shared). Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3
# Keep compiled and assertion-rewritten modules in __pycache__ (git-ignored): without them every pytest
# process (each xdist worker, then the integration tier) compiles and rewrites every test module and
# hypothesis again (a quarter or more of the fast tier's CPU time).
unset PYTHONDONTWRITEBYTECODE
# The fast tier on every core (pytest-xdist; each worker has its own basetemp and so its own cache;
# PYTEST_XDIST_AUTO_NUM_WORKERS=N to choose). The integration tier stays in one process: Ray, TensorFlow
# and subprocess tests share the machine's cores and memory.
.venv/bin/python -m pytest -m "not slow" -n auto "$@"
.venv/bin/python -m pytest -m slow "$@"
