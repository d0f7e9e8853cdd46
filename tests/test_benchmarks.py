"""The benchmark scripts run (one tiny round each); they are scripts, not timed tests."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gancourse.pretrained import load_file

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
    from compare_quality import PlainLoop

    loop = PlainLoop(torch.device("cpu"))
    before = [p.detach().clone() for p in loop.G.parameters()]
    loop.step()
    assert loop.steps == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, loop.G.parameters()))


def test_screen_measures_every_k_steps_and_the_last_and_resumes(tmp_path):
    """Measurements at steps 2 and 3 (the last); a second call finds the run finished and resumes it."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "screen_case_study.py"), "tiny", "--steps", "3",
           "--eval-every", "2", "--n", "100", "--run-dir", str(tmp_path), "--set", "r1_gamma=1.0",
           "--set", "batch_size=16", "--project-bn-relu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "tiny"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 3]
    assert all(r["n"] == 100 and r["fid"] > 0 and 1 <= r["is"] <= 10 for r in rows)
    assert json.loads((run / "config.json").read_text())["settings"] == {"r1_gamma": 1.0, "batch_size": 16}
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "resuming tiny from step 3" in again.stderr
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2  # nothing trained, nothing measured again
    curve_file = tmp_path / "curve.json"
    curved = subprocess.run(cmd + ["--curve", str(curve_file)], capture_output=True, text=True, timeout=300)
    assert curved.returncode == 0, curved.stderr[-3000:]
    curve = json.loads(curve_file.read_text())
    assert curve["rows"] == rows and curve["config"]["r1_gamma"] == 1.0 and curve["config"]["steps"] == 3
    assert "--curve" not in curve["command"] and "--set r1_gamma=1.0" in curve["command"]
    plain = [sys.executable, str(ROOT / "benchmarks" / "screen_case_study.py"), "plain", "--steps", "2",
             "--eval-every", "2", "--n", "100", "--run-dir", str(tmp_path), "--set", "batch_size=16",
             "--curve", str(tmp_path / "plain.json"), "--keep", "2"]
    kept = subprocess.run(plain, capture_output=True, text=True, timeout=300)
    assert kept.returncode == 0, kept.stderr[-3000:]
    assert json.loads((tmp_path / "plain.json").read_text())["generators"] == {"2": "plain-step2.pt"}
    G = load_file(tmp_path / "plain-step2.pt")
    trained = torch.load(tmp_path / "plain" / "step2.pt", weights_only=True)
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert G(z).shape == (4, 1, 28, 28) and not G.training
    assert torch.equal(G.project.weight, trained["G"]["state"]["project.weight"].half().float())
    missing = subprocess.run(plain[:-1] + ["3"], capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "no checkpoint of that step" in missing.stderr
    bad = subprocess.run(cmd[:2] + ["x", "--set", "lr_d"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "expected KEY=VALUE" in bad.stderr
    other = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=300)  # without --project-bn-relu
    assert other.returncode == 2 and "holds a run with other settings" in other.stderr
