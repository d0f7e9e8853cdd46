#!/usr/bin/env bash
# Run every notebook with its full-size parameters (papermill) and nbval, and print how long
# each notebook took; on a GPU, also the speed and quality benchmarks (benchmarks/RESULTS.md).
# Meant for a machine with a GPU; it runs anywhere, slowly on a CPU.
#   bash scripts/gpu_suite.sh            # writes executed copies to gpu-suite/
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d .venv ]; then python3 -m venv .venv; fi
source .venv/bin/activate
pip install -q -r requirements.txt
python -c "import torch; print('torch', torch.__version__, '| cuda:', torch.cuda.is_available() and torch.cuda.get_device_name(0))"
python scripts/execute_notebooks.py --out gpu-suite
python -m pytest --nbval-lax -p no:cacheprovider book solutions
if python -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
  # The GPU rows of benchmarks/RESULTS.md: the plain comparison, the fast path, and its quality.
  python benchmarks/bench_speed.py --device cuda --epochs 20 --json gpu-suite/bench_speed.json
  python benchmarks/bench_speed.py --device cuda --amp bf16 --compile reduce-overhead --epochs 20 \
    --json gpu-suite/bench_speed_fast.json
  python benchmarks/compare_quality.py --device cuda --steps 2000 --seconds 60 --n 10000 \
    --amp bf16 --compile reduce-overhead --json gpu-suite/quality_fast.json
fi
