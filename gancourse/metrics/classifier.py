"""The course's MNIST classifier: the feature space of its GAN metrics.

Holds :class:`MNISTClassifier` (a small LeNet-like network whose 128-d penultimate
features feed the FID), its reproducible training (:func:`train_classifier`, run as
``python -m gancourse.metrics train-classifier``), the export of its weights as a
small fp16 file with a JSON card into ``gancourse/weights/``, and
:func:`load_classifier`, which reads the shipped file offline.

It does not compute any GAN metric (see :mod:`gancourse.metrics.scores`).
Inputs are images in [-1, 1], shaped (B, 1, 28, 28), like the GAN data.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import atomic_save
from ..data import ImageData, load_mnist
from ..utils import describe_device

__all__ = ["MNISTClassifier", "ClassifierNotFoundError", "WEIGHTS_DIR", "CLASSIFIER_FILE",
           "train_classifier", "export_classifier", "load_classifier", "classifier_card",
           "classify", "accuracy", "file_sha256"]

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
CLASSIFIER_FILE = "mnist_classifier.pt"
FORMAT = 1
TRAIN_COMMAND = "python -m gancourse.metrics train-classifier"


class ClassifierNotFoundError(FileNotFoundError):
    """The classifier's weights are not where they were looked for."""


class MNISTClassifier(nn.Module):
    """LeNet-like: two 5x5 conv blocks (conv, BN, ReLU, 2x2 max-pool), a 128-unit layer, 10 logits.

    :meth:`features` returns the 128-d penultimate activations (after the ReLU), the
    feature space of the course's FID; :meth:`forward` returns the class logits.
    """

    def __init__(self, c1: int = 16, c2: int = 32, hidden: int = 128, n_classes: int = 10,
                 dropout: float = 0.3):
        super().__init__()
        self.arch = dict(c1=c1, c2=c2, hidden=hidden, n_classes=n_classes, dropout=dropout)
        self.num_features = hidden
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.MaxPool2d(2),                                  # (B, c1, 14, 14)
            nn.Conv2d(c1, c2, 5, padding=2), nn.BatchNorm2d(c2), nn.ReLU(),
            nn.MaxPool2d(2),                                  # (B, c2, 7, 7)
            nn.Flatten(),                                     # (B, c2 * 49)
            nn.Linear(c2 * 49, hidden), nn.ReLU(),            # (B, hidden): the FID features
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, n_classes))  # (B, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


# ------------------------------------------------------------------------ inference
@torch.no_grad()
def classify(images: torch.Tensor, classifier: nn.Module, batch_size: int = 1000,
             device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate features (N, 128) and class probabilities (N, 10), both float32 on the CPU.

    ``classifier`` needs ``features(x)`` and ``head(features)`` (logits), as
    :class:`MNISTClassifier` has; ``images`` are (N, 1, 28, 28) or (N, 784) in [-1, 1].
    """
    if images.dim() == 2:  # flattened 784-vectors
        images = images.view(-1, 1, 28, 28)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"expected images of shape (N, 1, 28, 28), got {tuple(images.shape)}")
    was_training = classifier.training
    classifier.eval()
    feats, probs = [], []
    try:
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(device, torch.float32)
            f = classifier.features(x)
            feats.append(f.float().cpu())
            probs.append(F.softmax(classifier.head(f).float(), dim=1).cpu())
    finally:
        classifier.train(was_training)
    return torch.cat(feats), torch.cat(probs)


def accuracy(classifier: nn.Module, data: ImageData, batch_size: int = 1000,
             device: str | torch.device = "cpu") -> float:
    """The share of ``data`` whose most probable class is its label."""
    _, probs = classify(data.images, classifier, batch_size, device)
    return (probs.argmax(1) == data.labels.cpu()).float().mean().item()


# ------------------------------------------------------------------------- training
def _random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by its own random (dy, dx) in [-max_shift, max_shift], filling with -1."""
    b, _, h, w = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s), value=-1.0)                        # (B, 1, h+2s, w+2s)
    dy = torch.randint(0, 2 * s + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * s + 1, (b,), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]                 # (B, h, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, :]                 # (B, 1, w)
    return padded[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)  # (B, 1, h, w)


def train_classifier(epochs: int = 8, batch_size: int = 128, lr: float = 2e-3,
                     weight_decay: float = 1e-4, max_shift: int = 2, seed: int = 0,
                     device: str | torch.device = "cpu", train: ImageData | None = None,
                     log=print) -> tuple[MNISTClassifier, dict]:
    """Train the classifier on the 60k MNIST training images; return (model, facts).

    Adam with a one-cycle learning-rate schedule, random translations of up to
    ``max_shift`` pixels. The seed fixes the initial weights, the batch order, the
    shifts and dropout; the caller's global RNG state is left as it was.
    """
    device = torch.device(device)
    train = load_mnist(train=True) if train is None else train
    images, labels = train.images.cpu(), train.labels.cpu()
    n = len(labels)
    steps_per_epoch = n // batch_size
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = MNISTClassifier().to(device)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs,
                                                    steps_per_epoch=steps_per_epoch)
        t0 = time.perf_counter()
        model.train()
        for epoch in range(epochs):
            perm = torch.randperm(n, generator=gen)
            total, correct, loss_sum = 0, 0, 0.0
            for i in range(steps_per_epoch):
                idx = perm[i * batch_size:(i + 1) * batch_size]
                x = images[idx]
                if max_shift:
                    x = _random_shift(x, max_shift, gen)
                x, y = x.to(device), labels[idx].to(device)
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                total += len(y)
            log(f"epoch {epoch + 1}/{epochs}: train loss {loss_sum / total:.4f}, "
                f"train accuracy {correct / total:.4f}, {time.perf_counter() - t0:.0f} s")
        seconds = time.perf_counter() - t0
    model.eval()
    facts = dict(epochs=epochs, batch_size=batch_size, optimizer="AdamW, one-cycle schedule",
                 lr=lr, weight_decay=weight_decay, augmentation=f"random shifts of up to {max_shift} px",
                 seed=seed, train_images=n, train_seconds=round(seconds, 1),
                 device=describe_device(device), torch=torch.__version__)
    return model, facts


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export_classifier(model: MNISTClassifier, facts: dict, out_dir: str | os.PathLike = WEIGHTS_DIR,
                      test: ImageData | None = None) -> Path:
    """Write fp16 weights and a JSON card; the card's accuracy is measured on the written file."""
    out_dir = Path(out_dir)
    path = out_dir / CLASSIFIER_FILE
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    atomic_save({"format": FORMAT, "arch": model.arch, "state": state}, path)
    path.chmod(0o644)  # atomic_save's temporary file is private (0600); the shipped file is data
    load_classifier.cache_clear()
    shipped = load_classifier(path=path)          # what users get: fp16 weights read back as float32
    test = load_mnist(train=False) if test is None else test
    acc = accuracy(shipped, test)
    card = {
        "name": "mnist-classifier",
        "architecture": type(model).__name__,
        "arch": model.arch,
        "parameters": sum(p.numel() for p in model.parameters()),
        "test_accuracy": round(acc, 4),
        "test_errors": round((1 - acc) * len(test)),
        "test_images": len(test),
        **facts,
        "weights_dtype": "float16",
        "file_bytes": path.stat().st_size,
        "sha256": file_sha256(path),
        "command": TRAIN_COMMAND,
    }
    path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return path


# -------------------------------------------------------------------------- loading
def _classifier_path(path=None) -> Path:
    return Path(path) if path is not None else WEIGHTS_DIR / CLASSIFIER_FILE


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, device: str) -> MNISTClassifier:
    p = Path(path)
    if not p.is_file():
        raise ClassifierNotFoundError(
            f"no classifier weights at {path!r}; train them with `{TRAIN_COMMAND}`")
    saved = torch.load(p, map_location="cpu", weights_only=True)
    if saved.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown classifier format {saved.get('format')!r}")
    model = MNISTClassifier(**saved["arch"])
    model.load_state_dict(saved["state"])  # fp16 values are copied into float32 parameters
    return model.to(device).eval().requires_grad_(False)


def load_classifier(device: str | torch.device = "cpu", path=None) -> MNISTClassifier:
    """The shipped classifier (or the one at ``path``) in eval mode, float32, on ``device``.

    Loaded once per (path, device) and shared: do not train the returned model.
    """
    return _load_cached(str(_classifier_path(path).resolve()), str(torch.device(device)))


load_classifier.cache_clear = _load_cached.cache_clear


def classifier_card(path=None) -> dict:
    """The classifier's JSON card (accuracy, epochs, seed, time, device, ...)."""
    card = _classifier_path(path).with_suffix(".json")
    if not card.is_file():
        raise ClassifierNotFoundError(f"no classifier card at {str(card)!r}; run `{TRAIN_COMMAND}`")
    return json.loads(card.read_text())
