#!/usr/bin/env bash
# Run every notebook with its full-size parameters (papermill) and nbval, and print how long
# each notebook took. Meant for a machine with a GPU; it runs anywhere, slowly on a CPU.
#   bash scripts/gpu_suite.sh            # writes executed copies to gpu-suite/
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d .venv ]; then python3 -m venv .venv; fi
source .venv/bin/activate
pip install -q -r requirements.txt
python -c "import torch; print('torch', torch.__version__, '| cuda:', torch.cuda.is_available() and torch.cuda.get_device_name(0))"
python scripts/execute_notebooks.py --out gpu-suite
python -m pytest --nbval-lax -p no:cacheprovider book solutions
