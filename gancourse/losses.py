"""GAN objectives and regularisers as small pure functions on logits.

Every loss takes the discriminator's raw outputs (logits for the BCE family,
unbounded scores for LSGAN, WGAN and hinge) and returns a scalar to *minimise*.
The sigmoid is never applied separately: ``log sigmoid(l)`` is computed as
``-softplus(-l)``, which stays finite for logits of any size.

Notation: ``D(x) = sigmoid(real_logits)``, ``D(G(z)) = sigmoid(fake_logits)``,
``f`` is a critic's raw score, ``E`` is the batch mean.

It holds no models and no training loop; :mod:`gancourse.train` picks these by name.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "smoothed_targets", "d_loss_bce", "g_loss_minimax", "g_loss_nonsaturating",
    "d_loss_lsgan", "g_loss_lsgan", "d_loss_wgan", "g_loss_wgan", "clip_weights",
    "d_loss_hinge", "g_loss_hinge", "gradient_penalty", "r1_penalty",
    "instance_noise", "annealed_sigma", "flip_labels", "apply_spectral_norm", "LOSSES",
]

SMOOTHING_MODES = ("none", "one-sided", "two-sided")


# ------------------------------------------------------------------ BCE family
def smoothed_targets(smoothing: float = 0.0, mode: str = "one-sided") -> tuple[float, float]:
    """Discriminator targets ``(real, fake)`` for label smoothing.

    - ``"none"``: (1, 0).
    - ``"one-sided"``: (1 - smoothing, 0). Only the real targets move, as recommended
      by Salimans et al. 2016, "Improved Techniques for Training GANs". With
      smoothing = 0.1 this is the course's 0.9 real target.
    - ``"two-sided"``: (1 - smoothing, smoothing). Smoothing the fake targets rewards
      D for giving fakes a non-zero score, which pulls G towards wherever it already
      is; Salimans et al. advise against it. It is here to be shown.

    The generator's targets are never smoothed.
    """
    if mode not in SMOOTHING_MODES:
        raise ValueError(f"smoothing mode must be one of {SMOOTHING_MODES}, got {mode!r}")
    if not 0.0 <= smoothing < 0.5:
        raise ValueError(f"smoothing must lie in [0, 0.5), got {smoothing!r}")
    if mode == "none":
        return 1.0, 0.0
    if mode == "one-sided":
        return 1.0 - smoothing, 0.0
    return 1.0 - smoothing, smoothing


def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor,
               real_target=1.0, fake_target=0.0) -> torch.Tensor:
    """Discriminator BCE: ``-E[t_r log D(x) + (1-t_r) log(1-D(x))] - E[t_f log D(G(z)) + (1-t_f) log(1-D(G(z)))]``.

    With targets (1, 0) this is minus the value function V(D, G) of Goodfellow et al.
    2014, "Generative Adversarial Nets". Targets may be floats (see
    :func:`smoothed_targets`) or tensors shaped like the logits (see :func:`flip_labels`).
    """
    rt = torch.as_tensor(real_target, dtype=real_logits.dtype, device=real_logits.device)
    ft = torch.as_tensor(fake_target, dtype=fake_logits.dtype, device=fake_logits.device)
    return (F.binary_cross_entropy_with_logits(real_logits, rt.expand_as(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, ft.expand_as(fake_logits)))


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """Saturating minimax generator loss: ``E[log(1 - D(G(z)))]``.

    Goodfellow et al. 2014.

    Computed as ``-E[softplus(l)]``. Its gradient vanishes when D confidently
    rejects the fakes (D(G(z)) -> 0), which is exactly early in training.
    """
    return -F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: ``-E[log D(G(z))]``.

    Goodfellow et al. 2014, section 3.

    The BCE with target 1 ("flipped labels"), computed as ``E[softplus(-l)]``. Its
    gradient is largest when D rejects the fakes.
    """
    return F.softplus(-fake_logits).mean()


# ------------------------------------------------------------------------ LSGAN
def d_loss_lsgan(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator: ``1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]`` on raw outputs.

    Mao et al. 2017, "Least Squares Generative Adversarial Networks", with a=0, b=c=1.
    """
    return 0.5 * ((real_out - 1.0) ** 2).mean() + 0.5 * (fake_out ** 2).mean()


def g_loss_lsgan(fake_out: torch.Tensor) -> torch.Tensor:
    """LSGAN generator: ``1/2 E[(D(G(z)) - 1)^2]`` (Mao et al. 2017)."""
    return 0.5 * ((fake_out - 1.0) ** 2).mean()


# ------------------------------------------------------------------------- WGAN
def d_loss_wgan(real_score: torch.Tensor, fake_score: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss: ``E[f(G(z))] - E[f(x)]``.

    Arjovsky et al. 2017, "Wasserstein GAN". Minimising it maximises the critic's
    estimate of the Earth Mover's distance; it is only meaningful with a Lipschitz
    constraint: :func:`clip_weights`, :func:`gradient_penalty` or spectral norm.
    """
    return fake_score.mean() - real_score.mean()


def g_loss_wgan(fake_score: torch.Tensor) -> torch.Tensor:
    """Wasserstein generator loss: ``-E[f(G(z))]`` (Arjovsky et al. 2017)."""
    return -fake_score.mean()


@torch.no_grad()
def clip_weights(critic: nn.Module, c: float = 0.01) -> None:
    """Clamp every parameter of the critic to [-c, c], in place.

    Arjovsky et al. 2017, "Wasserstein GAN"."""
    if c <= 0:
        raise ValueError(f"clip value must be positive, got {c!r}")
    for p in critic.parameters():
        p.clamp_(-c, c)


# ------------------------------------------------------------------------ hinge
def d_loss_hinge(real_score: torch.Tensor, fake_score: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss: ``E[relu(1 - f(x))] + E[relu(1 + f(G(z)))]``.

    Lim & Ye 2017, "Geometric GAN"; used with spectral norm by Miyato et al. 2018.
    """
    return F.relu(1.0 - real_score).mean() + F.relu(1.0 + fake_score).mean()


def g_loss_hinge(fake_score: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss: ``-E[f(G(z))]`` (Miyato et al. 2018)."""
    return -fake_score.mean()


# ------------------------------------------------------------------ penalties
def _grad_norms(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor],
                     real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty: ``E[(||grad f(x_hat)||_2 - 1)^2]`` at random interpolates.

    ``x_hat = e * x + (1 - e) * G(z)`` with one ``e ~ U[0, 1]`` per sample, as in
    Gulrajani et al. 2017, "Improved Training of Wasserstein GANs". The penalty is on
    the interpolates, not on the real samples. It returns the unweighted mean; the
    caller multiplies by lambda (10 in the paper). For a conditional critic pass
    ``lambda x: D(x, y)``.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got "
                         f"{tuple(real.shape)} and {tuple(fake.shape)}")
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, device="cpu" if generator is None
                     else generator.device, dtype=real.dtype).to(real.device)
    x_hat = eps * real.detach() + (1.0 - eps) * fake.detach()
    return ((_grad_norms(critic, x_hat) - 1.0) ** 2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """R1 penalty on real data: ``E[||grad D(x)||_2^2]``, x from the data.

    Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?".
    It returns the unweighted mean; the paper's regulariser is ``gamma / 2`` times it.
    """
    return (_grad_norms(critic, real) ** 2).mean()


# ------------------------------------------------------------- other stabilisers
def annealed_sigma(step: int, total_steps: int, sigma0: float = 0.1) -> float:
    """Instance-noise standard deviation, annealed linearly from ``sigma0`` to 0.

    Sønderby et al. 2017 / Arjovsky & Bottou 2017 add noise to both real and fake
    inputs of D so that their supports overlap; the noise is removed as training goes.
    """
    if total_steps <= 0:
        return 0.0
    return sigma0 * max(0.0, 1.0 - step / total_steps)


def instance_noise(x: torch.Tensor, sigma: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """``x + sigma * N(0, I)``; apply it to real *and* fake inputs of D."""
    if sigma <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype,
                        device="cpu" if generator is None else generator.device)
    return x + sigma * noise.to(x.device)


def flip_labels(targets: torch.Tensor, p: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Noisy labels: with probability ``p`` each target t becomes ``1 - t``.

    Used on the discriminator's targets only (a trick from Salimans et al. 2016's
    follow-ups, listed in Chintala's "ganhacks").
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"flip probability must lie in [0, 1], got {p!r}")
    if p == 0:
        return targets
    u = torch.rand(targets.shape, generator=generator,
                   device="cpu" if generator is None else generator.device).to(targets.device)
    return torch.where(u < p, 1.0 - targets, targets)


def apply_spectral_norm(model: nn.Module) -> nn.Module:
    """Wrap every conv and linear layer of ``model`` in spectral normalisation, in place.

    Miyato et al. 2018, "Spectral Normalization for GANs": each weight is divided by
    its largest singular value (estimated by power iteration), so every layer is
    1-Lipschitz. Built on ``torch.nn.utils.parametrizations.spectral_norm``.
    """
    from torch.nn.utils.parametrizations import spectral_norm

    for name, child in list(model.named_children()):
        if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            setattr(model, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return model


# name -> (discriminator loss, generator loss). "wgan" clips the critic (unless clip_value=None) and "wgan-gp"
# the penalty; the trainer adds those.
LOSSES = {
    "non-saturating": (d_loss_bce, g_loss_nonsaturating),
    "minimax": (d_loss_bce, g_loss_minimax),
    "lsgan": (d_loss_lsgan, g_loss_lsgan),
    "wgan": (d_loss_wgan, g_loss_wgan),
    "wgan-gp": (d_loss_wgan, g_loss_wgan),
    "hinge": (d_loss_hinge, g_loss_hinge),
}
