"""The benchmark scripts run (one tiny round each); they are scripts, not timed tests."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not os.environ.get("GANCOURSE_MNIST"),
                                reason="GANCOURSE_MNIST is not set (the CI script sets it)")


def test_speed_benchmark_runs_and_reports(tmp_path):
    out = tmp_path / "speed.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_speed.py"), "--rounds", "1",
                           "--steps", "1", "--warmup", "0", "--matmul-size", "256", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    # The case-study DCGAN step is about 32 GFLOP (forward and backward of both updates, batch 128).
    assert 25 < result["step_gflop"] < 40
    for loop in ("gancourse", "tutorial"):
        r = result["loops"][loop]
        assert r["ms_per_step"] > 0 and r["images_per_second"] > 0 and 0 < r["efficiency"] < 2
    assert "| gancourse |" in proc.stdout and "| tutorial |" in proc.stdout


def test_tutorial_loop_trains():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import torch
    from compare_quality import PlainLoop

    loop = PlainLoop(torch.device("cpu"))
    before = [p.detach().clone() for p in loop.G.parameters()]
    loop.step()
    assert loop.steps == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, loop.G.parameters()))
