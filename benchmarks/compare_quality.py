"""gancourse's Trainer vs a plain tutorial-style loop: quality at equal steps and equal wall-clock time.

Both train the case-study DCGAN of the ``dcgan-mnist`` recipe from the same initial
weights: Adam (lr 2e-4, betas (0.5, 0.999)) for both networks, batch 128, the
non-saturating BCE loss with one-sided label smoothing (D's real target 0.9).
What differs is everything around the model:

- **gancourse**: ``load_mnist`` holds the data as one tensor on the device;
  :class:`gancourse.train.Trainer` draws batches by index (fresh noise for G's step,
  D frozen during it);
- **plain**: the PyTorch DCGAN tutorial's loop: ``torchvision.datasets.MNIST`` with
  ``transforms.Compose([ToTensor(), Normalize((0.5,), (0.5,))])``, a shuffled
  ``DataLoader``, and G's step reusing the fakes of D's step.

Two races: (1) both run ``--steps`` generator steps; (2) each trains for ``--seconds``
of wall-clock time (data loading inside the loop counts; the one-time data set-up
is timed separately). Each generator is then measured with
:func:`gancourse.metrics.evaluate` on ``--n`` samples, beside real training images
at the same n (the FID floor at that sample size).

    python benchmarks/compare_quality.py                       # small default budget
    python benchmarks/compare_quality.py --steps 2000 --seconds 600 --n 10000 --device cuda
    python benchmarks/compare_quality.py --device cuda --amp bf16 --compile reduce-overhead  # fast path

The speed options (``--amp``, ``--compile``, ``--sync-every``, ``--channels-last``) apply to
gancourse's run only: this is how to check that a speed-up costs no quality.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gancourse import data as gdata  # noqa: E402
from gancourse.metrics import evaluate  # noqa: E402
from gancourse.pretrain import RECIPES, build_recipe  # noqa: E402
from gancourse.train import AMP_CHOICES, COMPILE_MODES, TrainConfig, Trainer  # noqa: E402
from gancourse.utils import describe_device, resolve_device  # noqa: E402

RECIPE = "dcgan-mnist"


def add_speed_options(p: argparse.ArgumentParser) -> None:
    """The TrainConfig speed options, as command-line flags (for gancourse's loop only)."""
    p.add_argument("--amp", choices=[a for a in AMP_CHOICES if a],
                   help="gancourse: bfloat16 or float16 autocast (fp16 with gradient scalers), or 'auto'")
    p.add_argument("--compile", choices=[m for m in COMPILE_MODES if m],
                   help="gancourse: torch.compile mode ('reduce-overhead' uses CUDA graphs on a GPU)")
    p.add_argument("--sync-every", type=int,
                   help="gancourse: steps between reads of the losses (default: 1 on CPU, 50 on GPU)")
    p.add_argument("--channels-last", action="store_true", help="gancourse: channels_last memory format")


def speed_overrides(args: argparse.Namespace) -> dict:
    """The TrainConfig overrides that ``add_speed_options`` flags ask for."""
    values = dict(amp=args.amp, compile=args.compile, sync_every=args.sync_every,
                  channels_last=args.channels_last)
    return {k: v for k, v in values.items() if v}


def run_gancourse(device, steps=None, seconds=None, overrides=None):
    """Train with gancourse's Trainer for ``steps`` steps or ``seconds`` seconds."""
    t0 = time.perf_counter()
    train = gdata.load_mnist(train=True, device=device)
    setup = time.perf_counter() - t0
    r, G, D = build_recipe(RECIPE)
    cfg = dict(r["config"], device=str(device), steps=steps if steps is not None else 10**9,
               **(overrides or {}))
    trainer = Trainer(G, D, train, TrainConfig(**cfg))
    t0 = time.perf_counter()
    if steps is not None:
        trainer.fit(steps)
    else:
        while time.perf_counter() - t0 < seconds:
            # the plain loop's stopping rule, checked every time the losses are read
            # (every step on a CPU; every sync_every steps on a GPU)
            trainer.fit(trainer.sync_every)
    _sync(device)
    return trainer.G, trainer.step, time.perf_counter() - t0, setup


class PlainLoop:
    """The tutorial loop: torchvision dataset + DataLoader + transforms, same model and losses.

    ``step()`` runs one D update and one G update on the next batch of the DataLoader
    (data loading included); ``benchmarks/bench_speed.py`` times it step by step.
    """

    def __init__(self, device, num_workers=0):
        from torchvision import datasets, transforms

        cfg = RECIPES[RECIPE]["config"]
        t0 = time.perf_counter()
        # The torchvision root that gancourse found (a folder with MNIST/raw); no download.
        root, download = gdata._resolve_root(gdata.DATASETS["mnist"], None)
        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
        dataset = datasets.MNIST(str(root), train=True, download=download, transform=tf)
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=cfg["batch_size"], shuffle=True,
                                                  drop_last=True, num_workers=num_workers)
        self.setup = time.perf_counter() - t0
        r, G, D = build_recipe(RECIPE)
        self.device, self.G, self.D = device, G.to(device), D.to(device)
        self.opt_g = torch.optim.Adam(G.parameters(), lr=cfg["lr_g"], betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(D.parameters(), lr=cfg["lr_d"], betas=(0.5, 0.999))
        self.real_target = 1.0 - cfg["label_smoothing"]
        torch.manual_seed(cfg["seed"])
        self.batches = iter(())
        self.steps = 0

    def step(self):
        try:
            real, _ = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)   # a new epoch
            real, _ = next(self.batches)
        G, D, device = self.G, self.D, self.device
        real = real.to(device)
        b = real.size(0)
        # (1) D: maximise log D(x) + log(1 - D(G(z))), real target 0.9
        self.opt_d.zero_grad()
        out_real = D(real).view(-1)
        loss_real = F.binary_cross_entropy_with_logits(out_real, torch.full((b,), self.real_target, device=device))
        fake = G(torch.randn(b, G.z_dim, device=device))
        out_fake = D(fake.detach()).view(-1)
        loss_fake = F.binary_cross_entropy_with_logits(out_fake, torch.zeros(b, device=device))
        (loss_real + loss_fake).backward()
        self.opt_d.step()
        # (2) G: maximise log D(G(z)) on the same fakes
        self.opt_g.zero_grad()
        loss_g = F.binary_cross_entropy_with_logits(D(fake).view(-1), torch.ones(b, device=device))
        loss_g.backward()
        self.opt_g.step()
        self.steps += 1


def run_plain(device, steps=None, seconds=None, num_workers=0):
    """Train the tutorial loop for ``steps`` steps or ``seconds`` seconds."""
    loop = PlainLoop(device, num_workers)
    t0 = time.perf_counter()
    while not ((steps is not None and loop.steps >= steps) or
               (seconds is not None and time.perf_counter() - t0 >= seconds)):
        loop.step()
    _sync(device)
    return loop.G, loop.steps, time.perf_counter() - t0, loop.setup


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=100, help="race 1: generator steps each (default 100)")
    p.add_argument("--seconds", type=float, default=30,
                   help="race 2: training seconds each (default 30; 0 skips this race)")
    p.add_argument("--n", type=int, default=2000, help="samples per evaluation (default 2000)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers of the plain loop")
    p.add_argument("--json", help="also write the results to this file")
    add_speed_options(p)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    overrides = speed_overrides(args)

    real = gdata.load_mnist(train=True, subset=args.n, seed=1).images
    floor = evaluate(real, device=device)
    rows = []
    races = [("equal steps", dict(steps=args.steps))]
    if args.seconds > 0:
        races.append(("equal time", dict(seconds=args.seconds)))
    for race, budget in races:
        for name, fn in (("gancourse", run_gancourse), ("plain", run_plain)):
            kw = dict(budget, num_workers=args.num_workers) if name == "plain" else dict(budget, overrides=overrides)
            G, steps, seconds, setup = fn(device, **kw)
            m = evaluate(G, n=args.n, device=device, seed=0)
            rows.append(dict(race=race, loop=name, steps=steps, train_seconds=round(seconds, 1),
                             steps_per_second=round(steps / seconds, 2), setup_seconds=round(setup, 1),
                             **{k: m[k] for k in ("fid", "is", "kl_uniform", "classes_covered")}))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    dev = describe_device(device)
    print(f"device: {dev}; torch {torch.__version__}; n = {args.n} samples per evaluation\n")
    print("| race | loop | steps | train s | steps/s | set-up s | FID | IS | KL(hist‖uniform) | classes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['race']} | {r['loop']} | {r['steps']} | {r['train_seconds']} | {r['steps_per_second']} | "
              f"{r['setup_seconds']} | {r['fid']:.2f} | {r['is']:.2f} | {r['kl_uniform']:.3f} | "
              f"{r['classes_covered']} |")
    print(f"| real images | (floor at n = {args.n}) | | | | | {floor['fid']:.2f} | {floor['is']:.2f} | "
          f"{floor['kl_uniform']:.3f} | {floor['classes_covered']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": dev, "args": vars(args), "rows": rows,
                                               "real_floor": floor}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
