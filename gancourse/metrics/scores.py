"""GAN quality metrics measured with the course's MNIST classifier.

Holds: sampling a generator reproducibly (:func:`sample`), the Fréchet distance
between Gaussians and the FID on the classifier's 128-d penultimate features
(:func:`frechet_distance`, :func:`fid`), the "MNIST Inception Score"
(:func:`inception_score`), the class histogram with its KL divergence from uniform
and its number of covered classes, the label accuracy of conditional generators,
and :func:`evaluate`, which returns all of them as one dict.

Definitions (the report and the book quote them):

- **FID**: ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)) between Gaussians
  fitted (mean, unbiased covariance) to the classifier features of the samples and
  of the MNIST test set (10,000 images). Lower is better. It depends on the number
  of samples (fewer samples give a larger value), so compare at equal ``n``; the
  reference values use 10,000.
- **MNIST Inception Score**: exp(E_x KL(p(y|x) || p(y))) from the classifier's
  softmax, averaged over ``splits`` equal splits (mean and standard deviation).
  It lies between 1 (every sample gets the same prediction) and 10 (confident,
  balanced predictions).
- **Class histogram**: the share of samples whose most probable class is each digit.
  **KL from uniform** = sum_k h_k log(10 h_k) (0 when balanced, log 10 = 2.30 when
  one class). A class is **covered** when at least ``coverage_threshold`` (default
  1%) of the samples are classified as it; a balanced generator puts about 10% in each.
- **Label accuracy** (conditional generators): the share of samples asked for
  class y that the classifier reads as y.

It does not train anything and it does not hold the classifier (see
:mod:`gancourse.metrics.classifier`) or the reference values
(:mod:`gancourse.metrics.reference`).
"""
from __future__ import annotations

import math
import weakref

import torch
from torch import nn

from ..data import load_mnist
from ..models import is_conditional
from .classifier import classify, load_classifier

__all__ = ["sample", "gaussian_stats", "sqrtm_psd", "frechet_distance", "real_statistics", "fid",
           "inception_score", "class_histogram", "kl_from_uniform", "classes_covered",
           "label_accuracy", "evaluate", "metrics_from_outputs", "metrics_table", "COVERAGE_THRESHOLD"]

COVERAGE_THRESHOLD = 0.01


# ------------------------------------------------------------------------- sampling
@torch.no_grad()
def sample(generator: nn.Module, n: int, batch_size: int = 500, device: str | torch.device = "cpu",
           seed: int = 0, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` images from ``generator`` in eval mode, on the CPU, with noise drawn from ``seed``.

    A conditional generator is asked for ``labels`` (default: 0, 1, ..., 9, 0, 1, ...,
    so every class equally); returns ``(images, labels)``, labels None when unconditional.
    The caller's global RNG and the generator's train/eval mode are left as they were.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.z_dim, generator=g)
    if is_conditional(generator):
        if labels is None:
            labels = torch.arange(n) % generator.n_classes
        labels = labels.long().cpu()
        if len(labels) != n:
            raise ValueError(f"got {len(labels)} labels for n={n} samples")
    elif labels is not None:
        raise ValueError("labels were given but the generator is unconditional")
    was_training = generator.training
    generator.eval()
    out = []
    try:
        for i in range(0, n, batch_size):
            zi = z[i:i + batch_size].to(device)
            x = generator(zi, labels[i:i + batch_size].to(device)) if labels is not None else generator(zi)
            out.append(x.float().cpu())
    finally:
        generator.train(was_training)
    return torch.cat(out), labels


# ---------------------------------------------------------------------------- FID
def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (float64) of (N, D) features."""
    f = features.double()
    if f.dim() != 2 or len(f) < 2:
        raise ValueError(f"need (N >= 2, D) features, got {tuple(f.shape)}")
    mu = f.mean(0)
    centered = f - mu
    return mu, centered.T @ centered / (len(f) - 1)


def sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition.

    Eigenvalues below 0 (rounding error) are set to 0.
    """
    m = matrix.double()
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor,
                     sigma2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), in float64.

    Tr((S1 S2)^(1/2)) is computed as the sum of the square roots of the eigenvalues of
    the symmetric PSD matrix S1^(1/2) S2 S1^(1/2), which has the same eigenvalues as
    S1 S2; this avoids the complex values a general matrix square root can return.
    """
    mu1, mu2 = torch.as_tensor(mu1).double(), torch.as_tensor(mu2).double()
    s1, s2 = torch.as_tensor(sigma1).double(), torch.as_tensor(sigma2).double()
    # A 1-D Gaussian may be given by plain numbers: a mean and a variance.
    mu1, mu2 = mu1.reshape(-1), mu2.reshape(-1)
    s1, s2 = (s.reshape(1, 1) if s.numel() == 1 else s for s in (s1, s2))
    d = mu1.numel()
    if mu2.numel() != d or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"frechet_distance needs two means of one size d and two (d, d) covariances "
                         f"(or, for d = 1, numbers); got means of sizes {mu1.numel()} and {mu2.numel()}, "
                         f"covariances of shapes {tuple(s1.shape)} and {tuple(s2.shape)}")
    root1 = sqrtm_psd(s1)
    middle = root1 @ s2 @ root1
    tr_covmean = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    value = ((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean
    return max(value.item(), 0.0)


# classifier -> {(device, digits): (mean, covariance)} of its MNIST test-set features
_REAL_STATS: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()


def real_statistics(classifier: nn.Module | None = None, device: str | torch.device = "cpu",
                    batch_size: int = 1000, digits=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance of the classifier features of the MNIST test set (computed once).

    ``digits`` (e.g. ``[7]``) keeps those classes only, for generators trained on them.
    """
    classifier = load_classifier(device) if classifier is None else classifier
    per_key = _REAL_STATS.setdefault(classifier, {})
    key = (str(torch.device(device)), None if digits is None else tuple(sorted(digits)))
    if key not in per_key:
        test = load_mnist(train=False, digits=None if digits is None else list(key[1]))
        feats, _ = classify(test.images, classifier, batch_size, device)
        per_key[key] = gaussian_stats(feats)
    return per_key[key]


def _images_of(source, n: int, batch_size: int, device, seed: int, labels=None):
    """(images, labels) from a generator or a tensor of images."""
    if isinstance(source, torch.Tensor):
        return source, labels
    if isinstance(source, nn.Module):
        return sample(source, n, batch_size, device, seed, labels)
    raise TypeError(f"expected a generator (nn.Module) or a tensor of images, got {type(source).__name__}")


def fid(source, n: int = 10000, batch_size: int = 500,
        device: str | torch.device = "cpu", seed: int = 0,
        classifier: nn.Module | None = None, real_stats=None, digits=None) -> float:
    """FID between ``source`` (a generator, sampled ``n`` times, or a tensor of
    images) and the MNIST test set (its ``digits`` only, if given), in the
    classifier's feature space."""
    classifier = load_classifier(device) if classifier is None else classifier
    images, _ = _images_of(source, n, batch_size, device, seed)
    feats, _ = classify(images, classifier, batch_size, device)
    if real_stats is None:
        real_stats = real_statistics(classifier, device, digits=digits)
    mu_r, s_r = real_stats
    return frechet_distance(*gaussian_stats(feats), mu_r, s_r)


# ---------------------------------------------------------------------- IS et al.
def inception_score(probs: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) per split of ``probs`` (N, K).

    Returns (mean, std over splits)."""
    if probs.dim() != 2:
        raise ValueError(f"probs must be (N, K), got {tuple(probs.shape)}")
    if not 1 <= splits <= len(probs):
        raise ValueError(f"splits must be in 1..{len(probs)}, got {splits}")
    p = probs.double()
    scores = []
    for part in torch.chunk(p, splits):
        py = part.mean(0, keepdim=True)
        # xlogy gives 0 log 0 = 0, so classes that no sample predicts add nothing.
        kl = (torch.special.xlogy(part, part) - torch.special.xlogy(part, py)).sum(1)
        scores.append(kl.mean().exp().item())
    scores_t = torch.tensor(scores, dtype=torch.float64)
    std = scores_t.std(unbiased=False).item() if len(scores) > 1 else 0.0
    return scores_t.mean().item(), std


def class_histogram(probs_or_preds: torch.Tensor, n_classes: int = 10) -> torch.Tensor:
    """Share of samples whose predicted class (argmax of probs, or given ints) is each class."""
    preds = probs_or_preds.argmax(1) if probs_or_preds.dim() == 2 else probs_or_preds
    counts = torch.bincount(preds.long().cpu(), minlength=n_classes).double()
    return counts / counts.sum()


def kl_from_uniform(hist: torch.Tensor) -> float:
    """KL(hist || uniform) = sum_k h_k log(K h_k), in nats; 0 when balanced, log K for one class."""
    h = hist.double()
    return torch.special.xlogy(h, h * len(h)).sum().item()


def classes_covered(hist: torch.Tensor, threshold: float = COVERAGE_THRESHOLD) -> int:
    """How many classes get at least ``threshold`` of the samples."""
    return int((hist >= threshold).sum().item())


def label_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of samples asked for class y that the classifier reads as y."""
    return (probs.argmax(1).cpu() == labels.cpu()).double().mean().item()


def metrics_from_outputs(feats: torch.Tensor, probs: torch.Tensor, real_stats, labels=None,
                         splits: int = 10, coverage_threshold: float = COVERAGE_THRESHOLD) -> dict:
    """Every metric from the classifier's features and probabilities of a set of samples."""
    hist = class_histogram(probs)
    is_mean, is_std = inception_score(probs, splits)
    out = {
        "n": len(probs),
        "fid": frechet_distance(*gaussian_stats(feats), *real_stats),
        "is": is_mean,
        "is_std": is_std,
        "class_histogram": [round(v, 4) for v in hist.tolist()],
        "kl_uniform": kl_from_uniform(hist),
        "classes_covered": classes_covered(hist, coverage_threshold),
        "coverage_threshold": coverage_threshold,
        "mean_confidence": probs.max(1).values.double().mean().item(),
    }
    if labels is not None:
        out["label_accuracy"] = label_accuracy(probs, labels)
    return out


def evaluate(source, n: int = 10000, batch_size: int = 500, device: str | torch.device = "cpu",
             seed: int = 0, splits: int = 10, labels: torch.Tensor | None = None,
             classifier: nn.Module | None = None, real_stats=None, digits=None,
             coverage_threshold: float = COVERAGE_THRESHOLD) -> dict:
    """All metrics of a generator (sampled ``n`` times with ``seed``) or of a tensor of images.

    Returns a dict: ``n``, ``fid``, ``is``, ``is_std``, ``class_histogram`` (10 shares),
    ``kl_uniform``, ``classes_covered``, ``coverage_threshold``, ``mean_confidence``
    (mean top-class probability) and, for conditional generators (or when ``labels``
    are given with a tensor), ``label_accuracy``. The FID is against the MNIST test
    set (only its ``digits``, e.g. ``[7]`` for a generator trained on 7s) unless
    ``real_stats=(mean, covariance)`` is given.
    """
    classifier = load_classifier(device) if classifier is None else classifier
    images, labels = _images_of(source, n, batch_size, device, seed, labels)
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"got {len(labels)} labels for {len(images)} images")
    if not math.isfinite(images.float().sum().item()):
        raise ValueError("the samples contain NaN or infinite values")
    feats, probs = classify(images, classifier, batch_size, device)
    real_stats = real_statistics(classifier, device, digits=digits) if real_stats is None else real_stats
    return metrics_from_outputs(feats, probs, real_stats, labels, splits, coverage_threshold)


# One row per metric of :func:`evaluate`: (label, how to print it).
TABLE_ROWS = (
    ("label accuracy", lambda m: f"{m['label_accuracy']:.1%}" if "label_accuracy" in m else "-"),
    ("FID (lower is better)", lambda m: f"{m['fid']:.2f}"),
    ("MNIST IS (1 to 10)", lambda m: f"{m['is']:.2f} ± {m['is_std']:.2f}"),
    ("classes covered (>= 1%)", lambda m: f"{m['classes_covered']}"),
    ("smallest / largest class", lambda m: f"{min(m['class_histogram']):.1%} / {max(m['class_histogram']):.1%}"),
    ("KL(histogram || uniform)", lambda m: f"{m['kl_uniform']:.3f}"),
    ("mean top-class probability", lambda m: f"{m['mean_confidence']:.3f}"),
)


def metrics_table(results: dict, width: int = 17, label_width: int = 28) -> str:
    """Results of :func:`evaluate` side by side as text: one column per entry, one row per metric.

    ``results`` maps a column name to a metrics dict (a reference set of
    :func:`~gancourse.metrics.reference_values` works too); a name may hold one ``"\n"``
    to take two header lines. The label-accuracy row appears only if some column has one.
    ``width`` is each column's (a column with a longer entry is widened to keep one space before it),
    ``label_width`` the row labels' (at least 27, the longest label's + 1).
    """
    if not results:
        raise ValueError("metrics_table needs at least one column")
    longest = max(len(label) for label, _ in TABLE_ROWS)
    if label_width <= longest:
        raise ValueError(f"label_width must be more than {longest}, the longest row label; got {label_width}")
    names = [name.split("\n") for name in results]
    depth = max(len(parts) for parts in names)
    conditional = any("label_accuracy" in m for m in results.values())
    rows = [(label, fn) for label, fn in TABLE_ROWS if conditional or label != "label accuracy"]
    cells = [[fn(m) for _, fn in rows] for m in results.values()]  # one list per column
    # Each column at least ``width`` wide, and wider where needed to keep a space before its longest entry.
    widths = [max(width, 1 + max(len(text) for text in parts + column)) for parts, column in zip(names, cells)]
    lines = [f"{'':{label_width}s}" + "".join(f"{(parts + [''] * depth)[i]:>{w}s}" for parts, w in zip(names, widths))
             for i in range(depth)]
    for r, (label, _) in enumerate(rows):
        lines.append(f"{label:{label_width}s}" + "".join(f"{column[r]:>{w}s}" for column, w in zip(cells, widths)))
    return "\n".join(lines)
