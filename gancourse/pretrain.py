"""Reproducible training of the published generators: ``python -m gancourse.pretrain NAME``.

Holds the command line that trains one recipe of :mod:`gancourse.recipes` with full
logs and resumable checkpoints (a :class:`~gancourse.train.Trainer` run, or
:func:`gancourse.progressive.train_progressive` for a growing recipe), and the export
of its generator as small fp16 weights with a model card into ``gancourse/weights/``.

The recipes themselves live in :mod:`gancourse.recipes`; loading shipped weights is
:func:`gancourse.pretrained.load`; measuring them is :mod:`gancourse.metrics`. This
module never runs on import of ``gancourse``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from . import models as M
from . import progressive as P
from .data import load_mnist
from .recipes import RECIPES
from .train import Callback, Checkpoint, ProgressBar, TrainConfig, Trainer
from .utils import describe_device, resolve_device

WEIGHTS_DIR = Path(__file__).parent / "weights"

def build_recipe(name: str):
    if name not in RECIPES:
        raise SystemExit(f"unknown model {name!r}; choose one of: {', '.join(RECIPES)}")
    r = RECIPES[name]
    with torch.random.fork_rng():
        torch.manual_seed(r["config"]["seed"])  # the initial weights are part of the recipe
        G, D = M.build(r["model"], r["g_kwargs"], r["d_kwargs"])
    return r, G, D


class JsonLog(Callback):
    """Append the mean metrics of every ``every`` steps, with wall time, to a JSON-lines file."""

    def __init__(self, path: Path, every: int = 100):
        self.path, self.every = Path(path), every

    def on_train_begin(self, trainer):
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_step_end(self, trainer, metrics):
        if trainer.step % self.every == 0:
            trainer.sync_history()  # on a GPU, history may lag up to sync_every steps
            row = {"step": trainer.step, "seconds": round(trainer.elapsed, 1)}
            for k, v in trainer.history.items():
                row[k] = round(sum(v[-self.every:]) / len(v[-self.every:]), 4)
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")


class Measure(Callback):
    """Every ``every`` steps and at the end: checkpoint the run, measure G, append a JSON line.

    The checkpoint is ``run/step<N>.pt`` (a run can be resumed or exported at any measured
    step); the line goes to ``run/metrics.jsonl``: FID, MNIST Inception Score and the
    smallest and largest class share of :func:`gancourse.metrics.evaluate` on ``n``
    samples drawn with noise seed 0, of the generator the run ships (its weight average when
    it keeps one; then ``raw_G`` holds the same for G's last weights). Measuring leaves the
    training RNG and G's mode as they were, so a measured run trains exactly like an
    unmeasured one.
    """

    def __init__(self, run: Path, every: int, n: int):
        self.run, self.every, self.n = Path(run), every, n

    def on_step_end(self, trainer, metrics):
        if trainer.step % self.every == 0:
            self.measure(trainer)

    def on_train_end(self, trainer):
        # The last step too, when it is not a multiple of ``every``; only after a run that
        # reached its end (an interrupted one may stop mid-step, and must not be saved).
        if trainer.step == trainer.config.steps and trainer.step % self.every:
            self.measure(trainer)

    def measure(self, trainer):
        self.run.mkdir(parents=True, exist_ok=True)
        trainer.save(self.run / f"step{trainer.step}.pt")
        t0 = time.perf_counter()
        row = {"step": trainer.step, "train_seconds": round(trainer.elapsed, 1), "n": self.n,
               **self._scores(trainer.sampler)}
        if trainer.G_ema is not None:
            row["raw_G"] = self._scores(trainer.G)  # the last weights, beside their average
        row["eval_seconds"] = round(time.perf_counter() - t0, 1)
        with open(self.run / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), file=sys.stderr, flush=True)

    def _scores(self, G) -> dict:
        from .metrics import evaluate  # the classifier is loaded only when a run is measured

        m = evaluate(G, n=self.n, seed=0)
        return {"fid": round(m["fid"], 2), "is": round(m["is"], 3),
                "min_class": round(min(m["class_histogram"]), 4),
                "max_class": round(max(m["class_histogram"]), 4),
                "mean_confidence": round(m["mean_confidence"], 4)}


def export(name: str, trainer: Trainer, out_dir: Path = WEIGHTS_DIR, **facts) -> Path:
    """Write a :class:`~gancourse.train.Trainer`'s generator (its weight average, when it keeps
    one) as fp16 weights plus a JSON model card."""
    return write_weights(name, trainer.sampler, trainer.config, trainer.step, trainer.elapsed, trainer.device, out_dir,
                         **facts)


def save_generator(G: torch.nn.Module, model: str, g_kwargs: dict, path: Path) -> None:
    """``G`` as the shipped weights are stored: fp16 values, with the model's name and arguments."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in G.state_dict().items()}
    torch.save({"model": model, "g_kwargs": g_kwargs, "state": state}, path)


def write_weights(name: str, G: torch.nn.Module, config: TrainConfig, steps: int, seconds: float,
                  device: torch.device, out_dir: Path = WEIGHTS_DIR, **facts) -> Path:
    """Write ``G`` as fp16 weights plus a JSON model card (``facts`` are added to the card)."""
    r = RECIPES[name]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_generator(G, r["model"], r["g_kwargs"], out_dir / f"{name}.pt")
    card = {
        "name": name,
        "architecture": type(G).__name__,
        "model": r["model"],
        "g_kwargs": r["g_kwargs"],
        "d_kwargs": r["d_kwargs"],  # the discriminator it was trained against
        "config": dataclasses.asdict(config),
        "steps": steps,
        "batch_size": config.batch_size,
        "train_seconds": round(seconds, 1),
        "device": describe_device(device),
        "torch": torch.__version__,
        "command": f"python -m gancourse.pretrain {name}",
        **facts,
    }
    if "digits" in r:
        card["digits"] = r["digits"]  # trained on these classes only
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return out_dir / f"{name}.pt"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gancourse.pretrain", description=__doc__.split("\n")[0])
    p.add_argument("name", choices=sorted(RECIPES))
    p.add_argument("--steps", type=int, help="override the recipe's number of steps "
                                              "(for a progressive recipe: its steps per phase)")
    p.add_argument("--run-dir", default="runs", help="where checkpoints and logs go (default: runs/)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-export", action="store_true", help="train only; do not write gancourse/weights")
    p.add_argument("--measure-every", type=int, metavar="K",
                   help="every K steps, keep a checkpoint and measure FID/IS/classes (run/metrics.jsonl)")
    p.add_argument("--measure-n", type=int, default=10000, metavar="N", help="samples per measurement")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.steps is not None and args.steps < 1:
        p.error(f"--steps must be >= 1, got {args.steps}")
    if args.measure_every is not None and args.measure_every < 1:
        p.error(f"--measure-every must be >= 1, got {args.measure_every}")

    r, G, D = build_recipe(args.name)
    device = resolve_device(args.device)
    data = load_mnist(train=True, device=device, digits=r.get("digits"))
    run = Path(args.run_dir) / args.name
    ckpt = run / "checkpoint.pt"
    if "steps_per_phase" in r:
        return _grow(args, r, G, D, data, run, ckpt, device)
    cfg = dict(r["config"], device=args.device)
    if args.steps is not None:
        cfg["steps"] = args.steps
    callbacks = [Checkpoint(ckpt, every=250), JsonLog(run / "log.jsonl"), ProgressBar(every=20)]
    if args.measure_every:
        callbacks.append(Measure(run, args.measure_every, args.measure_n))
    trainer = Trainer(G, D, data, TrainConfig(**cfg), callbacks=callbacks)
    if ckpt.exists():
        trainer.load(ckpt)
        print(f"resuming {args.name} from step {trainer.step}", file=sys.stderr)
    trainer.fit()
    if not args.no_export:
        print(f"wrote {export(args.name, trainer, **measured(run, upto=trainer.step))}")
    return 0


def measured(run: Path, upto: int | None = None) -> dict:
    """``{"measurements": rows}`` from a run measured with ``--measure-every`` (else ``{}``), for its card.

    One row per measured step up to step ``upto`` (default: all), in step order; a step measured
    twice (a resumed run) keeps its last row.
    """
    path = Path(run) / "metrics.jsonl"
    if not path.is_file():
        return {}
    rows = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            if upto is None or row["step"] <= upto:
                rows[row["step"]] = row
    return {"measurements": [rows[k] for k in sorted(rows)]}


def _grow(args, r, G, D, data, run: Path, ckpt: Path, device: torch.device) -> int:
    """A progressive recipe: :func:`gancourse.progressive.train_progressive`, a checkpoint and a log line per phase."""
    per_phase = args.steps if args.steps is not None else r["steps_per_phase"]
    n_phases, log = len(P.schedule(per_phase)), run / "log.jsonl"
    run.mkdir(parents=True, exist_ok=True)
    if ckpt.exists():
        print(f"resuming {args.name} from {ckpt} (after its last finished phase)", file=sys.stderr)

    def log_phase(phase, growth):
        lo = growth.total_steps - phase.steps  # where this phase's steps begin in the history
        row = {"phase": phase.name, "step": growth.total_steps, "seconds": round(growth.seconds, 1),
               "phase_seconds": round(phase.seconds, 1)}
        for k in ("loss_D", "loss_G", "D(x)", "D(G(z))"):
            row[k] = round(sum(growth.history[k][lo:]) / phase.steps, 4)
        with open(log, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"phase {len(growth.phases)}/{n_phases} {phase.name}: {phase.seconds:.0f} s, {row}", file=sys.stderr)

    growth = P.train_progressive(G, D, data, per_phase, callback=log_phase, checkpoint=ckpt,
                                 **{**r["config"], "device": args.device})
    if not args.no_export:
        phases = [[p.name, p.steps, round(p.seconds, 1)] for p in growth.phases]
        out = write_weights(args.name, G, growth.config, growth.total_steps, growth.seconds, device, WEIGHTS_DIR,
                            steps_per_phase=per_phase, phases=phases)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
