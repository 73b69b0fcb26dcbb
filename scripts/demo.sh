#!/usr/bin/env bash
# Set up, then run the main job on the bundled sample (offline: Dlib's weights come from pip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3
.venv/bin/bench similarity --i datasets/sample --model Dlib --backend opencv,skip
.venv/bin/bench accuracy --i datasets/sample --model Dlib --backend opencv,skip --metric all
