"""Reproducible training of the published generators: ``python -m gancourse.pretrain NAME``.

Holds the recipes (model, sizes, loss and optimiser settings, seed) of each
published generator, the command line that trains one with full logs and
resumable checkpoints, and the export of its generator as small fp16 weights
with a model card into ``gancourse/weights/``.

Loading shipped weights is :func:`gancourse.pretrained.load`; measuring them is
:mod:`gancourse.metrics`. This module never runs on import of ``gancourse``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

from . import models as M
from .data import load_mnist
from .train import Callback, Checkpoint, ProgressBar, TrainConfig, Trainer
from .utils import describe_device, resolve_device

WEIGHTS_DIR = Path(__file__).parent / "weights"

# name -> recipe. "steps" are generator steps (469 per MNIST epoch at batch 128). An optional
# "digits" key trains on those classes only (default: all ten).
RECIPES = {
    "mlp-mnist": dict(model="mlp", g_kwargs={}, d_kwargs={},
                      config=dict(loss="non-saturating", steps=9380, batch_size=128,
                                  lr_g=2e-4, lr_d=2e-4, seed=0)),
    "dcgan-mnist": dict(model="dcgan", g_kwargs={}, d_kwargs={},
                        # the case study: D's real targets 0.9, fake targets 0, G's targets 1
                        config=dict(loss="non-saturating", steps=9380, batch_size=128,
                                    lr_g=2e-4, lr_d=2e-4, label_smoothing=0.1,
                                    smoothing_mode="one-sided", seed=0)),
    "cdcgan-mnist": dict(model="cdcgan", g_kwargs={}, d_kwargs={},
                         config=dict(loss="non-saturating", steps=9380, batch_size=128,
                                     lr_g=2e-4, lr_d=2e-4, label_smoothing=0.1, seed=0)),
    # The StyleGAN chapter: the 6265 training 7s only (98 batches of 64 per epoch). A
    # Wasserstein critic kept in check by R1 instead of weight clipping; Adam with beta1 = 0
    # as in StyleGAN; style-mixing regularisation on half of the samples. 3000 steps are 31
    # epochs of the 7s (clear 7s appear by step 500; this CPU does about 1.3 steps/s).
    "stylegan7-mnist": dict(model="stylegan", digits=[7], g_kwargs={"mixing_prob": 0.5}, d_kwargs={},
                            config=dict(loss="wgan", clip_value=None, r1_gamma=10.0, n_critic=1,
                                        steps=3000, batch_size=64, lr_g=5e-4, lr_d=5e-4,
                                        betas=(0.0, 0.99), seed=0)),
}


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


def export(name: str, trainer: Trainer, out_dir: Path = WEIGHTS_DIR) -> Path:
    """Write the generator as fp16 weights plus a JSON model card."""
    r = RECIPES[name]
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in trainer.G.state_dict().items()}
    torch.save({"model": r["model"], "g_kwargs": r["g_kwargs"], "state": state}, out_dir / f"{name}.pt")
    card = {
        "name": name,
        "architecture": type(trainer.G).__name__,
        "model": r["model"],
        "g_kwargs": r["g_kwargs"],
        "config": dataclasses.asdict(trainer.config),
        "steps": trainer.step,
        "batch_size": trainer.config.batch_size,
        "train_seconds": round(trainer.elapsed, 1),
        "device": describe_device(trainer.device),
        "torch": torch.__version__,
        "command": f"python -m gancourse.pretrain {name}",
    }
    if "digits" in r:
        card["digits"] = r["digits"]  # trained on these classes only
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return out_dir / f"{name}.pt"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gancourse.pretrain", description=__doc__.split("\n")[0])
    p.add_argument("name", choices=sorted(RECIPES))
    p.add_argument("--steps", type=int, help="override the recipe's number of steps")
    p.add_argument("--run-dir", default="runs", help="where checkpoints and logs go (default: runs/)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-export", action="store_true", help="train only; do not write gancourse/weights")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    r, G, D = build_recipe(args.name)
    cfg = dict(r["config"], device=args.device)
    if args.steps is not None:
        cfg["steps"] = args.steps
    device = resolve_device(args.device)
    data = load_mnist(train=True, device=device, digits=r.get("digits"))
    run = Path(args.run_dir) / args.name
    ckpt = run / "checkpoint.pt"
    trainer = Trainer(G, D, data, TrainConfig(**cfg),
                      callbacks=[Checkpoint(ckpt, every=250), JsonLog(run / "log.jsonl"),
                                 ProgressBar(every=20)])
    if ckpt.exists():
        trainer.load(ckpt)
        print(f"resuming {args.name} from step {trainer.step}", file=sys.stderr)
    trainer.fit()
    if not args.no_export:
        print(f"wrote {export(args.name, trainer)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
