"""Quality report of the shipped generators: ``python -m gancourse.report``.

Writes ``reports/quality.md`` and one sample grid ``reports/<name>.png`` per shipped
generator: every metric of :func:`gancourse.metrics.evaluate`, beside the reference
values (real, blurred, one-digit and noise images) and the model card's facts.

It trains nothing; it reads the weights that :mod:`gancourse.pretrain` exported.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from .data import load_mnist
from .metrics.classifier import CLASSIFIER_FILE, WEIGHTS_DIR, classifier_card, file_sha256
from .metrics.reference import REFERENCE_COMMAND, REFERENCE_ORDER, reference_values
from .metrics.scores import evaluate, sample
from .models import is_conditional
from .recipes import RECIPES
from .pretrained import available, card, load, weights_dir

__all__ = ["write_report", "save_grid", "main"]

REPORT_COMMAND = "python -m gancourse.report"
LABELS = {"real": "real (floor)", "blurred": "blurred", "one-digit": "one digit", "noise": "noise"}


def save_grid(G: torch.nn.Module, path: str | os.PathLike, n: int = 100, seed: int = 1234,
              device="cpu") -> Path:
    """A PNG of ``n`` samples; for a conditional generator, column k holds the digit k."""
    from torchvision.utils import save_image

    images, _ = sample(G, n, batch_size=n, device=device, seed=seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images, path, nrow=10, normalize=True, value_range=(-1, 1), pad_value=1.0)
    return path


def _fmt(key: str, m: dict) -> str:
    if key not in m:
        return "n/a"
    v = m[key]
    if key == "is":
        return f"{v:.2f} ± {m['is_std']:.2f}"
    if key in ("classes_covered", "n"):
        return str(v)
    if key == "fid":
        return f"{v:.2f}"
    return f"{v:.3f}"


ROWS = [("fid", "FID (classifier features, lower is better)"),
        ("is", "MNIST Inception Score (1 to 10)"),
        ("kl_uniform", "KL(class histogram ‖ uniform), nats"),
        ("classes_covered", "classes covered (≥ 1% of samples)"),
        ("mean_confidence", "mean top-class probability"),
        ("label_accuracy", "label accuracy (conditional)"),
        ("n", "samples")]


def _table(columns: list[tuple[str, dict]], rows=ROWS) -> list[str]:
    lines = ["| metric | " + " | ".join(name for name, _ in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for key, label in rows:
        if key == "label_accuracy" and not any(key in m for _, m in columns):
            continue
        lines.append(f"| {label} | " + " | ".join(_fmt(key, m) for _, m in columns) + " |")
    lines.append("| class histogram (digits 0-9, %) | " + " | ".join(
        " ".join(f"{100 * h:.0f}" for h in m["class_histogram"]) for _, m in columns) + " |")
    return lines


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when inside it (reports stay machine-independent)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


CARD_FACTS = ("architecture", "model", "d_kwargs", "digits", "steps", "batch_size", "train_seconds", "device",
              "torch", "command")


def write_report(out_dir: str | os.PathLike = "reports", weights: str | os.PathLike | None = None,
                 n: int = 10000, seed: int = 0, device="cpu", reference_path=None,
                 names: list[str] | None = None, log=print) -> Path:
    """Evaluate each shipped generator and write ``quality.md`` and the grids into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = reference_values(reference_path)
    clf = classifier_card()
    names = available(weights) if names is None else names
    refs = [(LABELS[k], ref["sets"][k]) for k in REFERENCE_ORDER]

    md = ["# Quality of the shipped generators", "",
          f"Written by `{REPORT_COMMAND}` (torch {torch.__version__}, device `{device}`). "
          "Every number below is measured by that command; none is typed in.", "",
          "## How it is measured", "",
          f"All metrics use the course's MNIST classifier (`gancourse/weights/{CLASSIFIER_FILE}`, "
          f"{100 * clf['test_accuracy']:.2f}% test accuracy, {clf['parameters']:,} parameters, "
          f"trained by `{clf['command']}`), not Inception: see `gancourse.metrics`.", "",
          f"- **FID**: Fréchet distance between Gaussians fitted to the classifier's 128-d penultimate "
          f"features of the samples and of the {ref['against']}. It grows as the sample shrinks: "
          f"compare at equal n (here {n}).",
          "- **MNIST Inception Score**: exp(E KL(p(y|x) ‖ p(y))) over the classifier's predictions, "
          f"mean ± std over {ref['splits']} splits; 1 = one prediction for all, 10 = confident and balanced "
          f"(the test set itself scores {ref['test_set_is']:.2f}).",
          "- **Class histogram**: share of samples per predicted digit; its KL divergence from uniform "
          "(0 balanced, 2.30 one class); a class is *covered* when it gets at least "
          f"{100 * ref['coverage_threshold']:.0f}% of the samples.",
          "- **Label accuracy** (conditional models): share of samples asked for digit y read as y.", "",
          "The classifier only knows digits: it labels noise confidently too (see the *noise* column), "
          "so the Inception Score and the histogram cannot tell noise from one well-drawn digit; "
          "the FID can. Read the metrics together, and look at the samples.", "",
          "## Reference values", "",
          f"Computed by `{ref['command']}` ({ref['device']}), against the {ref['against']}:", ""]
    md += [f"- *{LABELS[k]}*: {ref['sets'][k]['description']}" for k in REFERENCE_ORDER]
    md += [""] + _table(refs) + [""]
    if ref["classifier_sha256"] != file_sha256(WEIGHTS_DIR / CLASSIFIER_FILE):
        md += ["**Warning**: these reference values were computed with another classifier file; "
               f"rerun `{REFERENCE_COMMAND}`.", ""]
    if not names:
        md += ["## Generators", "",
               f"No generator weights are shipped yet in `{_shown(weights_dir(weights))}`. Published names: "
               + ", ".join(f"`{k}`" for k in RECIPES) + "; train and export one with "
               "`python -m gancourse.pretrain NAME`, then rerun this report.", ""]
    for name in names:
        log(f"evaluating {name} on {n} samples ...")
        G = load(name, device, weights)
        facts = card(name, weights)
        digits = facts.get("digits")  # trained on these classes only: compare with their test images
        metrics = evaluate(G, n=n, seed=seed, device=device, splits=ref["splits"], digits=digits)
        columns = [(name, metrics)]
        if digits:
            real = load_mnist(train=True, digits=digits).images[:n]
            columns.append((f"real {digits} (floor)", evaluate(real, device=device, splits=ref["splits"],
                                                                digits=digits)))
        grid = save_grid(G, out_dir / f"{name}.png", device=device)
        md += [f"## {name}", "",
               f"![{name} samples]({grid.name})", "",
               f"{'Column k shows the digit k. ' if is_conditional(G) else ''}"
               f"Samples with noise seed 1234; metrics on {n} samples with noise seed {seed}.", ""]
        md += _table(columns + refs) + [""]
        if digits:
            md += [f"Trained on the digits {digits} only: its FID and the *real {digits}* floor are "
                   f"against the test images of those digits, the other columns against the whole test "
                   f"set. A histogram on {digits} alone is its goal here, not a collapse.", ""]
        if n != ref["n"]:
            md += [f"Note: the reference values use n = {ref['n']}, this model n = {n}; "
                   "the FIDs are not directly comparable.", ""]
        md += ["Model card:", ""]
        # d_kwargs: the discriminator it was trained against (cards written since it was recorded)
        md += [f"- {k}: `{facts[k]}`" for k in CARD_FACTS if k in facts and facts[k] != {}]
        cfg = facts.get("config", {})
        md += [f"- loss: `{cfg.get('loss')}`, lr_g/lr_d: `{cfg.get('lr_g')}`/`{cfg.get('lr_d')}`, "
               f"label smoothing: `{cfg.get('label_smoothing')}`, seed: `{cfg.get('seed')}`"]
        if cfg.get("ema_decay") is not None:
            md += [f"- weights: the moving average of G's weights (decay `{cfg['ema_decay']}`, "
                   f"from step `{cfg.get('ema_start', 0)}`)"]
        md += [""]
    path = out_dir / "quality.md"
    path.write_text("\n".join(md))
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=REPORT_COMMAND, description=__doc__.split("\n")[0])
    p.add_argument("--out-dir", default="reports")
    p.add_argument("--weights-dir", help="default: $GANCOURSE_WEIGHTS or gancourse/weights")
    p.add_argument("--n", type=int, default=10000, help="samples per generator (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"wrote {write_report(args.out_dir, args.weights_dir, args.n, args.seed, args.device)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
