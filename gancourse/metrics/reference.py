"""Reference values of the GAN metrics: what real, blurred, one-digit and noise images score.

A metric value means little alone. This module computes the metrics of four fixed
image sets, measured exactly as a generator's samples are (:func:`gancourse.metrics.evaluate`
against the MNIST test set):

- ``real``: 10,000 random MNIST *training* images: the floor a perfect generator
  would reach at this sample size (its FID is not 0: two finite samples differ);
- ``blurred``: the same images with a Gaussian blur (sigma 1.5 pixels): blurry samples;
- ``one-digit``: every training image of the digit 7: total mode collapse;
- ``noise``: uniform noise in [-1, 1]: a generator that learned nothing.

:func:`compute_reference_values` computes them; ``python -m gancourse.metrics reference``
writes them to ``gancourse/weights/mnist_reference.json`` (with the command, the seed
and the classifier's SHA-256, so a stale file can be told apart), and
:func:`reference_values` reads that file. Nothing here is typed in by hand.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch

from ..data import load_mnist
from ..utils import describe_device
from .classifier import CLASSIFIER_FILE, WEIGHTS_DIR, classify, file_sha256, load_classifier
from .scores import COVERAGE_THRESHOLD, gaussian_stats, metrics_from_outputs

__all__ = ["REFERENCE_FILE", "REFERENCE_COMMAND", "REFERENCE_ORDER", "reference_sets",
           "compute_reference_values", "write_reference_values", "reference_values"]

REFERENCE_FILE = "mnist_reference.json"
REFERENCE_COMMAND = "python -m gancourse.metrics reference"
REFERENCE_ORDER = ("real", "blurred", "one-digit", "noise")


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    from torchvision.transforms.functional import gaussian_blur

    k = 2 * int(3 * sigma + 0.5) + 1  # covers +-3 sigma
    return gaussian_blur(images, kernel_size=[k, k], sigma=[sigma, sigma])


def reference_sets(n: int = 10000, seed: int = 0, digit: int = 7, blur_sigma: float = 1.5,
                   train=None) -> dict:
    """name -> (description, images in [-1, 1]); ``train`` defaults to the MNIST training set."""
    train = load_mnist(train=True) if train is None else train
    g = torch.Generator().manual_seed(seed)
    real = train.images[torch.randperm(len(train), generator=g)[:n]]
    one = train.images[train.labels == digit][:n]
    noise = torch.rand(n, 1, 28, 28, generator=g) * 2 - 1
    return {
        "real": (f"{len(real)} random MNIST training images (seed {seed})", real),
        "blurred": (f"the same images, Gaussian blur sigma {blur_sigma} px", _blur(real, blur_sigma)),
        "one-digit": (f"all {len(one)} MNIST training images of the digit {digit}", one),
        "noise": (f"{n} images of uniform noise in [-1, 1] (seed {seed})", noise),
    }


def compute_reference_values(n: int = 10000, seed: int = 0, digit: int = 7, blur_sigma: float = 1.5,
                             splits: int = 10, batch_size: int = 1000, device="cpu",
                             classifier_path=None, train=None, test=None) -> dict:
    """Metrics of each reference set against the MNIST test set, with how they were made."""
    t0 = time.perf_counter()
    classifier = load_classifier(device, classifier_path)
    test = load_mnist(train=False) if test is None else test
    real_feats, real_probs = classify(test.images, classifier, batch_size, device)
    real_stats = gaussian_stats(real_feats)
    sets = {}
    for name, (description, images) in reference_sets(n, seed, digit, blur_sigma, train).items():
        feats, probs = classify(images, classifier, batch_size, device)
        sets[name] = {"description": description,
                      **metrics_from_outputs(feats, probs, real_stats, splits=splits)}
    clf = Path(classifier_path) if classifier_path else WEIGHTS_DIR / CLASSIFIER_FILE
    return {
        "command": REFERENCE_COMMAND + (f" --n {n}" if n != 10000 else "") + (f" --seed {seed}" if seed else ""),
        "against": f"MNIST test set ({len(test)} images)",
        "test_set_is": metrics_from_outputs(real_feats, real_probs, real_stats, splits=splits)["is"],
        "n": n, "seed": seed, "digit": digit, "blur_sigma": blur_sigma, "splits": splits,
        "coverage_threshold": COVERAGE_THRESHOLD,
        "classifier_sha256": file_sha256(clf),
        "device": describe_device(torch.device(device)),
        "torch": torch.__version__,
        "seconds": round(time.perf_counter() - t0, 1),
        "sets": sets,
    }


def write_reference_values(path: str | os.PathLike | None = None, **kwargs) -> Path:
    path = Path(path) if path is not None else WEIGHTS_DIR / REFERENCE_FILE
    values = compute_reference_values(**kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2) + "\n")
    return path


def reference_values(path: str | os.PathLike | None = None) -> dict:
    """The shipped reference values (see the module docstring)."""
    path = Path(path) if path is not None else WEIGHTS_DIR / REFERENCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no reference values at {str(path)!r}; compute them with "
                                f"`{REFERENCE_COMMAND}`")
    return json.loads(path.read_text())
