"""Small low-dimensional GAN problems that run in seconds on a CPU.

Holds: the 2-D ring of Gaussians (sampler, mode centres, a pair of small MLPs that
fit it, and :func:`mode_coverage`, which counts the modes a generator covers), a
GAN-Lab-style picture of one training state (:func:`plot_toy_state`), and the exact
1-D quantities of the game theory chapter: Gaussian densities, the optimal
discriminator ``D*``, the value ``V(D, G)`` and the Jensen-Shannon divergence by
numerical integration.

It holds no losses and no training loop: train these models with
:class:`gancourse.train.Trainer`, which accepts a ``(N, 2)`` data tensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .train import Callback

__all__ = ["ring_centres", "sample_ring", "ToyGenerator", "GaussianGenerator", "ToyDiscriminator",
           "Coverage", "mode_coverage", "CoverageTracker", "toy_grid", "plot_toy_state", "gaussian_pdf",
           "gaussian_logpdf", "optimal_discriminator", "optimal_logit", "value_function", "integrate", "jsd"]

RING_MODES = 8
RING_RADIUS = 2.0
RING_STD = 0.05


# ------------------------------------------------------------------ ring of Gaussians
def ring_centres(n_modes: int = RING_MODES, radius: float = RING_RADIUS) -> torch.Tensor:
    """The ``(n_modes, 2)`` centres, evenly spaced on a circle, the first at angle 0."""
    if n_modes < 1:
        raise ValueError(f"n_modes must be >= 1, got {n_modes!r}")
    angle = torch.arange(n_modes, dtype=torch.float32) * (2 * math.pi / n_modes)
    return radius * torch.stack([angle.cos(), angle.sin()], dim=1)


def sample_ring(n: int, n_modes: int = RING_MODES, radius: float = RING_RADIUS,
                std: float = RING_STD, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points ``(n, 2)`` from an equal mixture of isotropic Gaussians on a ring."""
    centres = ring_centres(n_modes, radius)
    idx = torch.randint(n_modes, (n,), generator=generator)
    return centres[idx] + std * torch.randn(n, 2, generator=generator)


def _mlp(n_in: int, n_out: int, hidden: int, depth: int, activation) -> nn.Sequential:
    layers, width = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    """z (``z_dim``) -> ``depth`` hidden layers of ``hidden`` units -> a point (``out_dim`` = 2: the plane).

    ``activation`` is the hidden layers' class (``nn.ReLU``, ``nn.LeakyReLU``, ...). The
    output is linear: the ring's points are not bounded to (-1, 1).
    """

    def __init__(self, z_dim: int = 2, hidden: int = 128, depth: int = 2, activation=nn.ReLU,
                 out_dim: int = 2):
        super().__init__()
        self.z_dim = z_dim
        self.net = _mlp(z_dim, out_dim, hidden, depth, activation)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)                     # (B, out_dim)


class GaussianGenerator(nn.Module):
    """``G(z) = mean + std * z`` with ``z ~ N(0, 1)``: it produces exactly N(mean, std^2).

    Both numbers are parameters, so a ``g_step`` moves them; for a fixed generator
    call ``G.requires_grad_(False)`` or simply never update it.
    """

    z_dim = 1

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.mean = nn.Parameter(torch.tensor(float(mean)))
        self.std = nn.Parameter(torch.tensor(float(std)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mean + self.std * z        # (B, 1)


class ToyDiscriminator(nn.Module):
    """A point (``in_dim`` numbers: the plane by default) -> ``depth`` hidden layers -> one logit."""

    def __init__(self, hidden: int = 128, depth: int = 2, activation=nn.ReLU, in_dim: int = 2):
        super().__init__()
        self.net = _mlp(in_dim, 1, hidden, depth, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)                     # (B, 1) logit


@dataclass(frozen=True)
class Coverage:
    """What :func:`mode_coverage` measured on one batch of samples."""

    counts: tuple             # samples within ``k_sigma`` std of each mode centre
    covered: int              # modes holding at least ``min_share`` of the samples
    high_quality: float       # share of samples within ``k_sigma`` std of some centre
    mean_distance: float      # mean distance of a sample to its nearest centre
    n: int                    # number of samples

    def __str__(self) -> str:
        return (f"{self.covered}/{len(self.counts)} modes covered, {self.high_quality:.1%} high-quality, "
                f"mean distance to the nearest mode {self.mean_distance:.3f}")


def mode_coverage(samples: torch.Tensor, centres: torch.Tensor | None = None, std: float = RING_STD,
                  k_sigma: float = 3.0, min_share: float = 0.02) -> Coverage:
    """Count the modes a batch of samples covers.

    A sample is *high-quality* when it lies within ``k_sigma * std`` of a mode centre;
    a mode is *covered* when at least ``min_share`` of all samples are high-quality
    samples of that mode.
    """
    if centres is None:
        centres = ring_centres()
    samples = samples.detach().float().cpu()
    dist = torch.cdist(samples, centres.float())           # (n, modes)
    nearest, which = dist.min(dim=1)
    close = nearest <= k_sigma * std
    counts = torch.bincount(which[close], minlength=len(centres))
    n = len(samples)
    return Coverage(counts=tuple(counts.tolist()),
                    covered=int((counts >= min_share * n).sum()),
                    high_quality=close.float().mean().item(),
                    mean_distance=nearest.mean().item(), n=n)


class CoverageTracker(Callback):
    """A :class:`~gancourse.train.Trainer` callback: every ``every`` steps, measure
    :func:`mode_coverage` of G on one fixed noise batch of ``n`` points.

    ``history`` gets ``(step, Coverage)`` pairs. The noise has its own generator,
    so tracking never changes the training run's random numbers.
    """

    def __init__(self, every: int = 100, n: int = 1000, seed: int = 1234, **coverage_kwargs):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.n, self.seed, self.kwargs = every, n, seed, coverage_kwargs
        self.history: list[tuple[int, Coverage]] = []

    def on_train_begin(self, trainer):
        g = torch.Generator().manual_seed(self.seed)
        self.z = torch.randn(self.n, trainer.G.z_dim, generator=g)

    def on_step_end(self, trainer, metrics):
        if trainer.step % self.every == 0:
            self.history.append((trainer.step, mode_coverage(trainer.generate(self.z), **self.kwargs)))


def toy_grid(lim: float = 3.0, n: int = 100) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A square grid on [-lim, lim]^2: ``(xx, yy, points)`` with points ``(n*n, 2)``."""
    axis = torch.linspace(-lim, lim, n)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    return xx, yy, torch.stack([xx.flatten(), yy.flatten()], dim=1)


def plot_toy_state(ax, G: nn.Module, D: nn.Module, real: torch.Tensor, z: torch.Tensor, g_loss,
                   lim: float = 3.0, arrows: int = 64, title: str | None = None,
                   probability: bool = True):
    """Draw one training state the way GAN Lab does, on a matplotlib axis.

    The background is D's output on a grid (``sigmoid`` of the logit when
    ``probability``, else the raw score; green where D says real, purple where it
    says fake), real points are dark green, G(z) dark purple, and
    an arrow at each of the first ``arrows`` fakes points along ``-grad`` of
    ``g_loss(D(G(z)))`` with respect to that fake point: where G's loss pushes it.
    Returns the heatmap's image, for a colour bar.
    """
    was_training = G.training, D.training
    G.eval(), D.eval()
    try:
        xx, yy, pts = toy_grid(lim)
        with torch.no_grad():
            out = D(pts).view(xx.shape)
            out = torch.sigmoid(out) if probability else out
            fake = G(z)
        kw = dict(vmin=0, vmax=1) if probability else {}
        image = ax.pcolormesh(xx.numpy(), yy.numpy(), out.numpy(), cmap="PRGn", shading="auto", **kw)
        points = fake[:arrows].clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(g_loss(D(points)), points)
        push = -grad
        push = push / push.norm(dim=1).max().clamp_min(1e-12)       # longest arrow: 1
        r = real.detach().cpu()
        ax.scatter(r[:, 0], r[:, 1], s=5, c="#00441b", alpha=0.6, lw=0, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=5, c="#40004b", alpha=0.7, lw=0, label="G(z)")
        p = points.detach()
        ax.quiver(p[:, 0], p[:, 1], push[:, 0], push[:, 1], angles="xy", scale_units="xy", scale=1.5,
                  width=0.004, color="k", alpha=0.8)
        ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim)
        ax.set_aspect("equal"), ax.set_xticks([]), ax.set_yticks([])
        if title:
            ax.set_title(title)
    finally:
        G.train(was_training[0]), D.train(was_training[1])
    return image


# ------------------------------------------------------------------ exact 1-D quantities
def gaussian_pdf(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """The density of N(mean, std^2) at ``x``."""
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def gaussian_logpdf(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """The log-density of N(mean, std^2) at ``x``; finite where the density underflows to 0."""
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2 * math.pi))


def optimal_logit(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    """The logit of ``D*``: ``log p_data(x) - log p_g(x)``, from the two log-densities.

    ``sigmoid`` of it is :func:`optimal_discriminator`; unlike the probability, it
    stays exact where ``D*`` is within 1e-16 of 0 or 1.
    """
    return log_p_data - log_p_g


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` from the two densities at the same points.

    Where both densities are 0 the value is undefined; it is returned as 1/2.
    """
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(torch.finfo(total.dtype).tiny),
                       torch.full_like(total, 0.5))


def value_function(logits: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor, x: torch.Tensor) -> float:
    """``V(D, G) = int p_data log D + p_g log(1 - D) dx`` from D's *logits* on the grid ``x``.

    The exact value of the GAN game for a 1-D discriminator and densities known on a
    grid. As in :mod:`gancourse.losses`, ``log D = logsigmoid(l)`` and
    ``log(1 - D) = logsigmoid(-l)``, which stay finite where D rounds to 0 or 1.
    """
    logits = logits.to(p_data.dtype)
    return integrate(p_data * F.logsigmoid(logits) + p_g * F.logsigmoid(-logits), x)


def integrate(values: torch.Tensor, x: torch.Tensor) -> float:
    """The trapezoid rule on a sorted 1-D grid."""
    return torch.trapezoid(values, x).item()


def _kl(p: torch.Tensor, q: torch.Tensor, x: torch.Tensor) -> float:
    """KL(p || q) on a grid; terms where p is 0 contribute 0."""
    ratio = torch.where(p > 0, p / q.clamp_min(torch.finfo(p.dtype).tiny), torch.ones_like(p))
    return integrate(p * torch.log(ratio), x)


def jsd(p: torch.Tensor, q: torch.Tensor, x: torch.Tensor) -> float:
    """Jensen-Shannon divergence (natural log) of two densities given on the grid ``x``.

    ``JSD = KL(p || m) / 2 + KL(q || m) / 2`` with ``m = (p + q) / 2``; it lies in
    [0, log 2]. Use float64 grids fine enough to resolve both densities.
    """
    m = 0.5 * (p + q)
    return 0.5 * _kl(p, m, x) + 0.5 * _kl(q, m, x)
