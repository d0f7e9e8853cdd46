"""Training speed: gancourse's Trainer against the tutorial-style loop, side by side.

Both train the case-study DCGAN of the ``dcgan-mnist`` recipe (batch 128, Adam, the
non-saturating loss with D's real target 0.9). The tutorial loop is
:class:`compare_quality.PlainLoop` (torchvision MNIST, DataLoader, ToTensor + Normalize,
NCHW). The two are timed in alternating rounds of ``--steps`` steps each, so that drift in
the machine's load hits both alike; the median round gives ms per step.

It also measures, in the same run,

- the FLOPs of one gancourse step (``torch.utils.flop_counter``: forward and backward of
  D's and G's updates), and
- the machine's float32 matmul rate (a square matmul of ``--matmul-size``),

and reports the *efficiency*: FLOPs / (seconds per step x matmul rate), i.e. the share of the
machine's dense-matmul speed that a training step reaches.

    python benchmarks/bench_speed.py                          # CPU, 1 thread, 5 rounds of 10 steps
    python benchmarks/bench_speed.py --threads 2 --json out.json
    python benchmarks/bench_speed.py --device cuda --epochs 20   # GPU: plus a full 20-epoch run
    python benchmarks/bench_speed.py --device cuda --amp bf16 --compile reduce-overhead --epochs 20

The speed options (``--amp bf16``, ``--compile MODE``, ``--sync-every N``, ``--channels-last``)
apply to gancourse's loop; the tutorial loop stays as the tutorial writes it. The FLOPs are
counted on an eager float32 step either way (the same arithmetic).

``--epochs`` trains the case study for that many epochs with gancourse (data loading
included in the wall time) and reports the total; on a CPU that takes hours.

Prints a markdown table; ``benchmarks/RESULTS.md`` collects the results.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compare_quality import RECIPE, PlainLoop, _sync, add_speed_options, speed_overrides  # noqa: E402

from gancourse import data as gdata  # noqa: E402
from gancourse.pretrain import build_recipe  # noqa: E402
from gancourse.train import TrainConfig, Trainer  # noqa: E402
from gancourse.utils import describe_device, resolve_device  # noqa: E402


def matmul_rate(device, size: int = 2048, repeats: int = 10) -> float:
    """FLOP/s of a float32 ``size`` x ``size`` matmul on ``device`` (best of ``repeats``)."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * size ** 3 / best


def step_flops(device) -> int:
    """FLOPs of one eager training step (D update + G update), counted by torch's flop counter."""
    from torch.utils.flop_counter import FlopCounterMode

    trainer = gancourse_trainer(device, {})
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.fit(1)
    return counter.get_total_flops()


def gancourse_trainer(device, config_overrides: dict) -> Trainer:
    r, G, D = build_recipe(RECIPE)
    train = gdata.load_mnist(train=True, device=device)
    cfg = dict(r["config"], device=str(device), steps=10 ** 9, **config_overrides)
    return Trainer(G, D, train, TrainConfig(**cfg))


def timed(fn, calls: int, device, steps_per_call: int = 1) -> float:
    """Seconds per step of ``calls`` calls of ``fn``, each of which runs ``steps_per_call`` steps."""
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / (calls * steps_per_call)


def full_run(device, epochs: int, config_overrides: dict) -> dict:
    """Wall time of ``epochs`` epochs of the case study with gancourse, data set-up included."""
    t0 = time.perf_counter()
    trainer = gancourse_trainer(device, config_overrides)
    steps = epochs * (len(trainer.data) // trainer.config.batch_size)
    trainer.fit(steps)
    _sync(device)
    return {"epochs": epochs, "steps": steps, "wall_seconds": round(time.perf_counter() - t0, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    p.add_argument("--steps", type=int, default=10, help="steps per loop per round (default 10)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps of each loop first")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers of the tutorial loop")
    p.add_argument("--matmul-size", type=int, default=2048)
    p.add_argument("--epochs", type=int, default=0, help="also time a full run of this many epochs")
    p.add_argument("--json", help="also write the results to this file")
    add_speed_options(p)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    overrides = speed_overrides(args)

    trainer = gancourse_trainer(device, overrides)
    plain = PlainLoop(device, num_workers=args.num_workers)
    for _ in range(args.warmup):
        trainer.fit(1)
        plain.step()
    flops = step_flops(device)
    rates, ours, theirs = [], [], []
    for _ in range(args.rounds):
        rates.append(matmul_rate(device, args.matmul_size))
        # one fit() of the round's steps, so the losses are read every sync_every steps
        ours.append(timed(lambda: trainer.fit(args.steps), 1, device, steps_per_call=args.steps))
        theirs.append(timed(plain.step, args.steps, device))
    rate = statistics.median(rates)
    s_ours, s_theirs = statistics.median(ours), statistics.median(theirs)
    batch = trainer.config.batch_size
    dev = describe_device(device)
    result = {
        "device": dev, "torch": torch.__version__, "args": vars(args),
        "step_gflop": round(flops / 1e9, 2), "matmul_gflops": round(rate / 1e9, 1),
        "loops": {
            name: {"ms_per_step": round(1e3 * s, 1), "images_per_second": round(batch / s, 1),
                   "efficiency": round(flops / (s * rate), 3),
                   "rounds_ms": [round(1e3 * x, 1) for x in xs]}
            for name, s, xs in (("gancourse", s_ours, ours), ("tutorial", s_theirs, theirs))},
        "speedup": round(s_theirs / s_ours, 3),
    }
    if args.epochs:
        result["full_run"] = full_run(device, args.epochs, overrides)

    print(f"device: {dev}; torch {torch.__version__}; batch {batch}; "
          f"{args.rounds} alternating rounds of {args.steps} steps; median round\n")
    print(f"one step: {result['step_gflop']} GFLOP; float32 matmul ({args.matmul_size}^2): "
          f"{result['matmul_gflops']} GFLOP/s\n")
    print("| loop | ms per step | images/s | efficiency |")
    print("|---|---:|---:|---:|")
    for name, r in result["loops"].items():
        print(f"| {name} | {r['ms_per_step']} | {r['images_per_second']} | {r['efficiency']} |")
    print(f"\ngancourse / tutorial speed ratio: {result['speedup']}x")
    if args.epochs:
        f = result["full_run"]
        print(f"full run: {f['epochs']} epochs ({f['steps']} steps) in {f['wall_seconds']} s, data included")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
