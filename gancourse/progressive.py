"""Progressive growing (Karras et al. 2018, "Progressive Growing of GANs"), scaled to 7 -> 14 -> 28.

Holds a generator and a critic that grow together by one resolution per stage
(:class:`ProgressiveGenerator`, :class:`ProgressiveDiscriminator`), the fade-in that
blends each new block in (:meth:`~ProgressiveGenerator.set_stage`), the real images at the
current resolution (:func:`real_at`), and two training functions that share one loop:

- :func:`train_progressive`: 7x7 (stable), then 14x14 (fade-in, stable), then 28x28
  (fade-in, stable): five phases of ``steps_per_phase`` steps each;
- :func:`train_direct`: the same networks at 28x28 from the first step, for a chosen
  number of steps (pass ``run.total_steps`` of a progressive run for a fair comparison),
  optionally cut into several phases to look at the run part-way (``steps=[k, n - k]``).

Both return a :class:`GrowthRun` with the per-step metrics, each phase's wall time and
seconds per step, and samples from fixed noise at the end of each phase. Given a
``checkpoint`` path, both save their whole state after every phase and resume from it
exactly (``python -m gancourse.pretrain progressive-mnist`` relies on this). Every update is
:func:`gancourse.train.d_step` / :func:`gancourse.train.g_step`, so the losses and
regularisers are exactly those of :class:`gancourse.train.TrainConfig` (by default WGAN-GP).

Fade-in, for G at stage s with weight alpha (0 -> 1 over a fade phase):
``image = (1 - alpha) * upsample(old_image) + alpha * new_image``, where ``old_image`` is
the previous stage's output (its to-gray layer on the features before the new block) and
``new_image`` the new block's. D mirrors it: ``features = (1 - alpha) * from_gray_old(
downsample(x)) + alpha * new_block(from_gray_new(x))``. With alpha = 0 both networks compute
exactly what they computed at the previous stage; with alpha = 1 the old path is gone.

It does not hold a Trainer integration (phases change the networks, which a plain
:class:`~gancourse.train.Trainer` run does not do); at their final stage, the default,
both networks are ordinary 28x28 models that ``Trainer`` can train.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import atomic_save, get_rng_state, load_checkpoint, load_state_checked, set_rng_state
from .data import BatchStream, ImageData
from .models import register
from .stylegan import MinibatchStdDev, PixelNorm
from .train import TrainConfig, d_step, g_step
from .utils import resolve_device

__all__ = ["RESOLUTIONS", "ProgressiveGenerator", "ProgressiveDiscriminator", "downsample", "real_at",
           "Phase", "GrowthRun", "schedule", "train_progressive", "train_direct"]

RESOLUTIONS = (7, 14, 28)  # stage 0, 1, 2


def _check_stage(stage: int, alpha: float) -> None:
    if isinstance(stage, bool) or not isinstance(stage, int) or not 0 <= stage < len(RESOLUTIONS):
        raise ValueError(f"stage must be an int in 0..{len(RESOLUTIONS) - 1}, got {stage!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    if stage == 0 and alpha != 1.0:
        raise ValueError("stage 0 has nothing to fade from: alpha must be 1")


class _Growing(nn.Module):
    """The stage / alpha state shared by both networks (not saved in ``state_dict``)."""

    stage: int
    alpha: float

    def set_stage(self, stage: int, alpha: float = 1.0) -> "_Growing":
        """Work at ``RESOLUTIONS[stage]``, with the newest block faded in by ``alpha``; returns self."""
        _check_stage(stage, alpha)
        self.stage, self.alpha = stage, float(alpha)
        return self

    @property
    def resolution(self) -> int:
        return RESOLUTIONS[self.stage]


def _widths(channels) -> tuple:
    if len(channels) != len(RESOLUTIONS):
        raise ValueError(f"channels must be {len(RESOLUTIONS)} widths (at 7, 14, 28 pixels), got {channels!r}")
    return tuple(channels)


def _conv3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)                             # keeps H, W


class ProgressiveGenerator(_Growing):
    """z -> images at 7, 14 or 28 pixels, in [-1, 1].

    ``channels`` are the widths at 7, 14 and 28 pixels. Each block is nearest-neighbour
    upsampling and two 3x3 convolutions, with pixel norm after each (Karras et al. 2018,
    section 4.2). A 1x1 "to-gray" convolution per resolution turns features into an image.
    Built at its final stage (28x28, alpha 1).
    """

    def __init__(self, z_dim: int = 64, channels=(128, 64, 32), slope: float = 0.2):
        super().__init__()
        c7, c14, c28 = _widths(channels)
        self.z_dim = z_dim

        def act():
            return nn.Sequential(nn.LeakyReLU(slope), PixelNorm())

        self.base = nn.Sequential(
            PixelNorm(),                                                    # (B, z_dim)
            nn.Linear(z_dim, c7 * 7 * 7), act(),                            # (B, C7 * 49)
            nn.Unflatten(1, (c7, 7, 7)),                                    # (B, C7, 7, 7)
            _conv3(c7, c7), act(),                                          # (B, C7, 7, 7)
        )
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),     # (B, C7, 14, 14)
                          _conv3(c7, c14), act(),                           # (B, C14, 14, 14)
                          _conv3(c14, c14), act()),                         # (B, C14, 14, 14)
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),     # (B, C14, 28, 28)
                          _conv3(c14, c28), act(),                          # (B, C28, 28, 28)
                          _conv3(c28, c28), act()),                         # (B, C28, 28, 28)
        ])
        self.to_gray = nn.ModuleList([nn.Conv2d(c, 1, 1) for c in channels])  # (B, 1, r, r) each
        self.set_stage(len(RESOLUTIONS) - 1)

    def image(self, h: torch.Tensor, stage: int) -> torch.Tensor:
        """Features at ``RESOLUTIONS[stage]`` -> an image in [-1, 1]."""
        return torch.tanh(self.to_gray[stage](h))                           # (B, 1, r, r)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.base(z)                                                    # (B, C7, 7, 7)
        for block in self.blocks[:max(self.stage - 1, 0)]:                  # the grown, stable blocks
            h = block(h)
        if self.stage == 0:
            return self.image(h, 0)                                         # (B, 1, 7, 7)
        new = self.image(self.blocks[self.stage - 1](h), self.stage)       # (B, 1, r, r)
        if self.alpha >= 1.0:
            return new
        old = F.interpolate(self.image(h, self.stage - 1), scale_factor=2, mode="nearest")  # (B, 1, r, r)
        return (1.0 - self.alpha) * old + self.alpha * new                  # both in [-1, 1], so is this


class ProgressiveDiscriminator(_Growing):
    """Images at 7, 14 or 28 pixels -> a score (no sigmoid); the mirror image of the generator.

    ``channels`` are the widths at 7, 14 and 28 pixels. A 1x1 "from-gray" convolution per
    resolution reads the image; each block is two 3x3 convolutions and 2x average pooling;
    the head (at 7x7) has the minibatch standard deviation feature, a 3x3 convolution and a
    linear score. No batch normalisation (the gradient penalty treats D per image).
    """

    def __init__(self, channels=(128, 64, 32), mbstd_group: int = 4, slope: float = 0.2):
        super().__init__()
        c7, c14, c28 = _widths(channels)
        self.from_gray = nn.ModuleList([nn.Sequential(nn.Conv2d(1, c, 1), nn.LeakyReLU(slope))
                                        for c in channels])                 # (B, C_r, r, r) each
        self.blocks = nn.ModuleList([
            nn.Sequential(_conv3(c14, c14), nn.LeakyReLU(slope),            # (B, C14, 14, 14)
                          _conv3(c14, c7), nn.LeakyReLU(slope),             # (B, C7, 14, 14)
                          nn.AvgPool2d(2)),                                 # (B, C7, 7, 7)
            nn.Sequential(_conv3(c28, c28), nn.LeakyReLU(slope),            # (B, C28, 28, 28)
                          _conv3(c28, c14), nn.LeakyReLU(slope),            # (B, C14, 28, 28)
                          nn.AvgPool2d(2)),                                 # (B, C14, 14, 14)
        ])
        self.head = nn.Sequential(
            MinibatchStdDev(mbstd_group),                                   # (B, C7 + 1, 7, 7)
            _conv3(c7 + 1, c7), nn.LeakyReLU(slope),                        # (B, C7, 7, 7)
            nn.Flatten(),                                                   # (B, C7 * 49)
            nn.Linear(c7 * 7 * 7, 1),                                       # (B, 1) score
        )
        self.set_stage(len(RESOLUTIONS) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            raise ValueError(f"at stage {self.stage} the critic reads {self.resolution}x{self.resolution} "
                             f"images, got {tuple(x.shape)}; use real_at() for the real ones")
        h = self.from_gray[self.stage](x)                                   # (B, C_r, r, r)
        if self.stage > 0:
            h = self.blocks[self.stage - 1](h)                              # (B, C_r/2, r/2, r/2)
            if self.alpha < 1.0:
                old = self.from_gray[self.stage - 1](F.avg_pool2d(x, 2))    # (B, C_r/2, r/2, r/2)
                h = (1.0 - self.alpha) * old + self.alpha * h
            for block in reversed(self.blocks[:self.stage - 1]):            # the older, stable blocks
                h = block(h)                                                # (B, C7, 7, 7) at the end
        return self.head(h)                                                 # (B, 1)


register("progressive", ProgressiveGenerator, ProgressiveDiscriminator)  # for models.build("progressive")


# ----------------------------------------------------------------------------- data
def downsample(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """28x28 images averaged down to ``resolution`` (7, 14 or 28) by average pooling."""
    factor, rem = divmod(images.shape[-1], resolution)
    if rem or factor < 1:
        raise ValueError(f"cannot downsample {images.shape[-1]} pixels to {resolution}")
    return images if factor == 1 else F.avg_pool2d(images, factor)


def real_at(images: torch.Tensor, stage: int, alpha: float = 1.0) -> torch.Tensor:
    """The real images as D should see them at ``stage`` with fade ``alpha``.

    During a fade-in they are blended the same way as the generator's output (Karras et al.
    2018, appendix A.1): ``(1 - alpha) * upsample(downsample(x)) + alpha * x`` at the new
    resolution, so that D cannot tell real from fake by sharpness alone.
    """
    _check_stage(stage, alpha)
    x = downsample(images, RESOLUTIONS[stage])
    if alpha < 1.0:
        x = (1.0 - alpha) * F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest") + alpha * x
    return x


# ------------------------------------------------------------------------- training
@dataclass
class Phase:
    """One phase of a run: a stage, faded in or stable, with its wall time and final samples."""

    stage: int
    fade: bool
    steps: int
    seconds: float = 0.0
    samples: torch.Tensor | None = None  # (n, 1, r, r) from fixed noise, at the phase's end

    @property
    def resolution(self) -> int:
        return RESOLUTIONS[self.stage]

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / self.steps if self.steps else math.nan

    @property
    def name(self) -> str:
        return f"{self.resolution}x{self.resolution} {'fade-in' if self.fade else 'stable'}"


@dataclass
class GrowthRun:
    """What :func:`train_progressive` and :func:`train_direct` return.

    ``history`` holds one value per generator step of ``loss_D``, ``loss_G``, ``D(x)``,
    ``D(G(z))``, ``resolution`` and ``alpha``; ``phases`` the :class:`Phase` list in order.
    """

    history: dict = field(default_factory=dict)
    phases: list = field(default_factory=list)
    config: object = None  # the run's gancourse.train.TrainConfig (DEFAULT_CONFIG with the caller's overrides)

    @property
    def total_steps(self) -> int:
        return sum(p.steps for p in self.phases)

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    def table(self) -> str:
        """One line per phase: resolution, steps, wall time, seconds per step."""
        rows = [f"{'phase':<16}{'steps':>7}{'seconds':>10}{'s/step':>9}"]
        rows += [f"{p.name:<16}{p.steps:>7}{p.seconds:>10.1f}{p.seconds_per_step:>9.3f}" for p in self.phases]
        rows.append(f"{'total':<16}{self.total_steps:>7}{self.seconds:>10.1f}")
        return "\n".join(rows)


def schedule(steps_per_phase: int, n_stages: int = len(RESOLUTIONS)) -> list:
    """Karras et al.'s phases: the first stage stable, then each later stage faded in and stabilised."""
    if steps_per_phase < 1:
        raise ValueError(f"steps_per_phase must be >= 1, got {steps_per_phase}")
    phases = [Phase(0, False, steps_per_phase)]
    for stage in range(1, n_stages):
        phases += [Phase(stage, True, steps_per_phase), Phase(stage, False, steps_per_phase)]
    return phases


# Defaults of both training functions. From Karras et al. 2018: WGAN-GP with one critic step
# (they add a small drift term, left out here) and Adam with betas (0, 0.99). Ours: the
# learning rate 5e-4, where the paper and its code use 0.001.
DEFAULT_CONFIG = dict(loss="wgan-gp", gp_weight=10.0, n_critic=1, batch_size=64, lr_g=5e-4, lr_d=5e-4,
                      betas=(0.0, 0.99))


def train_progressive(G: ProgressiveGenerator, D: ProgressiveDiscriminator, data, steps_per_phase: int,
                      n_samples: int = 16, callback=None, checkpoint=None, **config) -> GrowthRun:
    """Grow G and D 7 -> 14 -> 28 over 5 phases of ``steps_per_phase`` generator steps each.

    ``data`` is an :class:`~gancourse.data.ImageData` or an image tensor (N, 1, 28, 28);
    ``config`` overrides :data:`DEFAULT_CONFIG` with any :class:`~gancourse.train.TrainConfig`
    field (``loss``, ``n_critic``, ``lr_g``, ``seed``, ``device``, ...; ``steps`` is ignored).
    ``callback(phase, run)``, if given, is called after each phase. The networks are left at
    their final stage. The caller's global RNG is left as it was.

    ``checkpoint``, a file path, makes the run resumable: the whole state (networks,
    optimisers, RNG, position in the shuffled data, history, finished phases) is written
    there atomically after every phase, and a run started with an existing checkpoint
    continues after its last finished phase. A resumed run ends exactly as an uninterrupted
    one (on the CPU, bit for bit); only the phases' wall times differ.
    """
    return _run(G, D, data, schedule(steps_per_phase), n_samples, callback, config, checkpoint)


def train_direct(G: ProgressiveGenerator, D: ProgressiveDiscriminator, data, steps,
                 n_samples: int = 16, callback=None, checkpoint=None, **config) -> GrowthRun:
    """The baseline: the same networks at 28x28 from the start, for ``steps`` generator steps.

    ``steps`` may also be a list of ints: one run (one optimiser state, one stream of batches)
    cut into that many 28x28 phases, with samples and the ``callback`` at the end of each, e.g.
    ``[k, n - k]`` to look at the networks after ``k`` steps (an equal-time point) and after ``n``.
    ``checkpoint`` works as in :func:`train_progressive`, after each of those phases.
    """
    lengths = [steps] if isinstance(steps, int) else list(steps)
    if not lengths or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in lengths):
        raise ValueError(f"steps must be an int >= 1 or a non-empty list of them, got {steps!r}")
    return _run(G, D, data, [Phase(len(RESOLUTIONS) - 1, False, k) for k in lengths], n_samples, callback,
                config, checkpoint)


def _run(G, D, data, phases, n_samples, callback, config, checkpoint=None) -> GrowthRun:
    cfg = TrainConfig.from_dict({**DEFAULT_CONFIG, **config, "steps": sum(p.steps for p in phases)})
    device = resolve_device(cfg.device)
    images = data.images if isinstance(data, ImageData) else data
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"data must be images of shape (N, 1, 28, 28), got {tuple(images.shape)}")
    batches = BatchStream(len(images), cfg.batch_size, device)  # checks the batch size
    images = images.to(device)
    G.to(device).train()
    D.to(device).train()
    run = GrowthRun(history={k: [] for k in ("loss_D", "loss_G", "D(x)", "D(G(z))", "resolution", "alpha")},
                    config=cfg)
    try:
        # The run's own RNG, seeded from the config: the caller's global RNG is left alone.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(cfg.seed)
            fixed_z = torch.randn(n_samples, G.z_dim).to(device)
            opts = (torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas),
                    torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas))
            if checkpoint is not None and Path(checkpoint).exists():
                _resume(checkpoint, G, D, opts, batches, run, phases, cfg, device)
            for phase in phases[len(run.phases):]:
                t0 = time.perf_counter()
                _train_phase(G, D, opts, images, batches, phase, cfg, run.history)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                phase.seconds = time.perf_counter() - t0
                phase.samples = _samples(G, phase.stage, fixed_z)
                run.phases.append(phase)
                if checkpoint is not None:
                    _save(checkpoint, G, D, opts, batches, run, phases, cfg, device)
                if callback is not None:
                    callback(phase, run)
    finally:  # whatever happened, leave both networks at their final 28x28 stage
        G.set_stage(len(RESOLUTIONS) - 1)
        D.set_stage(len(RESOLUTIONS) - 1)
    return run


def _train_phase(G, D, opts, images, batches, phase: Phase, cfg, history: dict) -> None:
    """``phase.steps`` generator steps, each after ``cfg.n_critic`` critic steps, at the phase's stage."""
    opt_g, opt_d = opts
    for k in range(phase.steps):
        # alpha climbs linearly from exactly 0 (the previous stage's networks) towards 1.
        alpha = k / phase.steps if phase.fade else 1.0
        G.set_stage(phase.stage, alpha)
        D.set_stage(phase.stage, alpha)
        for _ in range(cfg.n_critic):
            real = real_at(images[batches.next_index()], phase.stage, alpha)
            metrics = d_step(G, D, opt_d, real, None, cfg)
        metrics.update(g_step(G, D, opt_g, cfg.batch_size, None, cfg, real=real))
        metrics = {name: float(value) for name, value in metrics.items()}
        if not all(math.isfinite(v) for v in metrics.values()):
            raise FloatingPointError(f"training diverged in phase {phase.name!r}, step {k + 1}: {metrics}")
        for name, value in metrics.items():
            history[name].append(value)
        history["resolution"].append(phase.resolution)
        history["alpha"].append(alpha)


@torch.no_grad()
def _samples(G: ProgressiveGenerator, stage: int, z: torch.Tensor) -> torch.Tensor:
    """Images from fixed noise at ``stage`` with the new block fully in (alpha 1), on the CPU."""
    G.set_stage(stage, 1.0).eval()
    try:
        return G(z).float().cpu()
    finally:
        G.train()


def _plan(phases) -> list:
    return [[p.stage, p.fade, p.steps] for p in phases]


def _settings(cfg) -> str:
    """The run's training settings as text, to compare a checkpoint's with this run's (device aside)."""
    return json.dumps({k: v for k, v in dataclasses.asdict(cfg).items() if k != "device"}, sort_keys=True)


def _save(path, G, D, opts, batches, run, phases, cfg, device) -> None:
    """Everything a resumed run needs, written atomically after a phase."""
    atomic_save({
        "plan": _plan(phases),
        "config": _settings(cfg),
        "G": {"class": type(G).__name__, "state": G.state_dict()},
        "D": {"class": type(D).__name__, "state": D.state_dict()},
        "opt_G": opts[0].state_dict(), "opt_D": opts[1].state_dict(),
        "batches": batches.state_dict(),
        "rng": get_rng_state(device),
        "history": run.history,
        "phases": [{"seconds": p.seconds, "samples": p.samples} for p in run.phases],
    }, path)


def _resume(path, G, D, opts, batches, run, phases, cfg, device) -> None:
    """Load a checkpoint of :func:`_save` into a run that has just been set up, or explain why not."""
    state = load_checkpoint(path)
    config = _settings(cfg)
    if state["plan"] != _plan(phases) or state["config"] != config:
        raise ValueError(f"the checkpoint {str(path)!r} belongs to another run (phases {state['plan']}, "
                         f"config {state['config']}); this run has phases {_plan(phases)}, config {config}. "
                         f"Delete it or pass another checkpoint path to start afresh.")
    load_state_checked(G, state["G"], "generator")
    load_state_checked(D, state["D"], "discriminator")
    opts[0].load_state_dict(state["opt_G"])
    opts[1].load_state_dict(state["opt_D"])
    batches.load_state_dict(state["batches"])
    set_rng_state(state["rng"], device)
    run.history.update(state["history"])
    for phase, saved in zip(phases, state["phases"]):
        phase.seconds, phase.samples = saved["seconds"], saved["samples"]
        run.phases.append(phase)
