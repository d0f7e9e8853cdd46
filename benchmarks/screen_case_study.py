"""Train the case-study DCGAN under a changed recipe and measure it as it trains.

The architecture and the initial weights are those of the ``dcgan-mnist`` recipe (the
course's exact MNIST generator and discriminator); only the training settings given with
``--set`` differ. Every ``--eval-every`` generator steps the generator is measured with
:func:`gancourse.metrics.evaluate` on ``--n`` samples (noise seed 0) and the run is
checkpointed, so a run can be stopped, resumed, or exported at any measured step.

    python benchmarks/screen_case_study.py r1 --set r1_gamma=1.0
    python benchmarks/screen_case_study.py ttur --set lr_g=1e-4 --set lr_d=4e-4 --steps 6000
    python benchmarks/screen_case_study.py deeper --project-bn-relu   # not the course's generator

``--project-bn-relu`` changes the architecture, the one exception: batch norm and ReLU after
the generator's dense projection (as the TensorFlow DCGAN tutorial has them), which gives the
course's generator a second hidden nonlinearity. It measures what that one change buys.

One JSON line per measurement goes to ``RUN_DIR/NAME/metrics.jsonl``. ``--curve FILE`` writes a
finished run's measurements and settings as one JSON file, and ``--keep STEP`` adds G at that
measured step beside it, in the shipped weights' format (chapter 08 reads the 50-epoch run
this way: ``gancourse/weights/dcgan-mnist-50-epochs.json``). This is how the
recipe questions of issue #7 (can the course's exact architecture reach the quality
targets?) are answered with measurements rather than guesses.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import shlex
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from torch import nn  # noqa: E402

from gancourse.data import load_mnist  # noqa: E402
from gancourse.models import dcgan_init  # noqa: E402
from gancourse.pretrain import Measure, build_recipe, measured, save_generator  # noqa: E402
from gancourse.train import TrainConfig, Trainer  # noqa: E402
from gancourse.utils import describe_device, resolve_device  # noqa: E402


def parse_setting(text: str) -> tuple[str, object]:
    """``"lr_d=4e-4"`` -> ``("lr_d", 0.0004)``; values are Python literals."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(f"{value!r} is not a Python literal") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("name", help="a name for this run (its folder under --run-dir)")
    p.add_argument("--set", dest="settings", action="append", type=parse_setting, default=[],
                   metavar="KEY=VALUE", help="a TrainConfig field to change (repeatable)")
    p.add_argument("--steps", type=int, default=9380)
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--n", type=int, default=2000, help="samples per measurement")
    p.add_argument("--run-dir", default="runs/screen")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--project-bn-relu", action="store_true",
                   help="add BatchNorm1d + ReLU after G's projection (changes the course's architecture)")
    p.add_argument("--curve", metavar="FILE",
                   help="when the run has finished, write its measurements and settings to FILE (JSON)")
    p.add_argument("--keep", type=int, action="append", default=[], metavar="STEP",
                   help="with --curve: also write G at this measured step, fp16, beside FILE (repeatable)")
    args = p.parse_args(argv)
    if args.keep and not args.curve:
        p.error("--keep needs --curve (the kept generators are written beside it)")
    if args.keep and args.project_bn_relu:
        p.error("--keep writes the course's generator; a --project-bn-relu one does not load as it")
    torch.set_num_threads(args.threads)

    recipe, G, D = build_recipe("dcgan-mnist")
    if args.project_bn_relu:
        with torch.random.fork_rng():
            torch.manual_seed(recipe["config"]["seed"])
            norm = nn.BatchNorm1d(G.project.out_features)
            dcgan_init(norm)
        G.project = nn.Sequential(G.project, norm, nn.ReLU())  # (B, 6272)
    settings = dict(args.settings)
    config = TrainConfig(**{**recipe["config"], **settings, "steps": args.steps})
    run = Path(args.run_dir) / args.name
    run.mkdir(parents=True, exist_ok=True)
    described = json.dumps({"settings": settings, "steps": args.steps, "threads": args.threads,
                            "project_bn_relu": args.project_bn_relu}, indent=2) + "\n"
    if (run / "config.json").exists() and (run / "config.json").read_text() != described:
        p.error(f"{run} holds a run with other settings ({run / 'config.json'}); choose another name")
    (run / "config.json").write_text(described)
    trainer = Trainer(G, D, load_mnist(train=True), config, callbacks=[Measure(run, args.eval_every, args.n)])
    done = sorted(run.glob("step*.pt"), key=lambda q: int(q.stem[4:]))
    if done:
        trainer.load(done[-1])
        print(f"resuming {args.name} from step {trainer.step}", file=sys.stderr)
    if trainer.step >= config.steps:
        print(f"{args.name} has already trained {trainer.step} steps; see {run / 'metrics.jsonl'}", file=sys.stderr)
    else:
        trainer.fit()
    if args.curve:
        kept = {}
        for step in args.keep:            # G at a measured step, stored like the shipped weights
            if not (run / f"step{step}.pt").is_file():
                p.error(f"--keep {step}: the run has no checkpoint of that step (measured every {args.eval_every})")
            trainer.load(run / f"step{step}.pt")
            kept[step] = Path(args.curve).with_name(f"{Path(args.curve).stem}-step{step}.pt")
            save_generator(trainer.G, recipe["model"], recipe["g_kwargs"], kept[step])
        write_curve(Path(args.curve), run, config, argv if argv is not None else sys.argv[1:],
                    {str(step): path.name for step, path in kept.items()})
    return 0


def write_curve(path: Path, run: Path, config: TrainConfig, argv: list[str], generators: dict) -> None:
    """The run's measurements (one row per measured step) with what a reader needs to redo them,
    and the files of the generators kept (step -> file name, beside ``path``)."""
    own, skip = [], False
    for a in argv:                        # the command without its --curve and --keep options
        if skip or a.startswith(("--curve", "--keep")):
            skip = a in ("--curve", "--keep")
            continue
        own.append(a)
    curve = {"command": "python benchmarks/screen_case_study.py " + shlex.join(own),
             "base_recipe": "dcgan-mnist", "config": dataclasses.asdict(config),
             "device": describe_device(resolve_device(config.device)),
             "threads": torch.get_num_threads(), "torch": torch.__version__,
             "rows": measured(run)["measurements"], "generators": generators}
    path.write_text(json.dumps(curve, indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
