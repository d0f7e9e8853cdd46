"""Command line of :mod:`gancourse.metrics`.

    python -m gancourse.metrics train-classifier   # train the classifier, write weights + card
    python -m gancourse.metrics reference          # compute the reference values JSON
    python -m gancourse.metrics evaluate NAME      # all metrics of a shipped generator, as JSON
"""
from __future__ import annotations

import argparse
import json
import sys

import torch

from .classifier import WEIGHTS_DIR, export_classifier, train_classifier
from .reference import REFERENCE_FILE, write_reference_values


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gancourse.metrics",
                                description="The course's MNIST classifier and GAN metrics.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1; 0 leaves torch's setting)")
    common.add_argument("--device", default="cpu")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train-classifier", parents=[common], help="train the MNIST classifier; write it to gancourse/weights")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out-dir", default=str(WEIGHTS_DIR))
    r = sub.add_parser("reference", parents=[common], help="compute the reference values; write gancourse/weights/"
                                         + REFERENCE_FILE)
    r.add_argument("--n", type=int, default=10000)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default=str(WEIGHTS_DIR / REFERENCE_FILE))
    e = sub.add_parser("evaluate", parents=[common], help="all metrics of a shipped generator, as JSON")
    e.add_argument("name")
    e.add_argument("--n", type=int, default=10000)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--weights-dir", help="default: $GANCOURSE_WEIGHTS or gancourse/weights")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.command == "train-classifier":
        model, facts = train_classifier(epochs=args.epochs, seed=args.seed, device=args.device,
                                        log=lambda s: print(s, file=sys.stderr, flush=True))
        path = export_classifier(model, facts, args.out_dir)
        print(path.with_suffix(".json").read_text(), end="")
    elif args.command == "reference":
        path = write_reference_values(args.out, n=args.n, seed=args.seed, device=args.device)
        print(path.read_text(), end="")
    else:
        from ..pretrained import load
        from .scores import evaluate

        G = load(args.name, args.device, args.weights_dir)
        print(json.dumps(evaluate(G, n=args.n, seed=args.seed, device=args.device), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
