"""The GAN training loop: visible ``d_step`` and ``g_step``, a Trainer, and callbacks.

Holds: :class:`TrainConfig` (every knob, validated), :func:`d_step` and
:func:`g_step` (one update of each network, with the reasons written beside the
code), :class:`Trainer` (batches, RNG, checkpoints, resume, divergence checks, and an
optional moving average of G's weights) and
the callbacks that attach plots, progress bars and checkpoints from outside the loop.

It does not hold the losses (:mod:`gancourse.losses`) or the models
(:mod:`gancourse.models`). It never touches the caller's global RNG: the trainer
keeps RNG states of its own and swaps them in only while it trains.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from . import losses as L
from .checkpoint import atomic_save, get_rng_state, load_checkpoint, load_state_checked, set_rng_state
from .data import BatchStream, ImageData
from .models import is_conditional
from .utils import resolve_device

__all__ = ["TrainConfig", "Trainer", "TrainingDivergedError", "d_step", "g_step", "Callback",
           "SampleGrid", "Checkpoint", "ProgressBar", "resolve_amp"]

CHECKPOINT_FORMAT = 1
AMP_DTYPES = {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}
AMP_CHOICES = (*AMP_DTYPES, "auto")
COMPILE_MODES = (None, "default", "reduce-overhead", "max-autotune")


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; training stopped before saving anything from that step."""


@dataclass
class TrainConfig:
    """Everything that shapes a training run. Unknown values raise at construction.

    ``steps`` counts generator updates; each is preceded by ``n_critic`` discriminator
    updates.
    """

    loss: str = "non-saturating"
    steps: int = 1000
    batch_size: int = 128
    lr_g: float = 2e-4
    lr_d: float = 2e-4            # TTUR (Heusel et al. 2017): set lr_d > lr_g
    betas: tuple = (0.5, 0.999)   # beta1 = 0.5, as in DCGAN (Radford et al. 2015)
    n_critic: int = 1             # D updates per G update (5 for WGAN/WGAN-GP)
    label_smoothing: float = 0.0  # 0.1 gives the course's real target of 0.9
    smoothing_mode: str = "one-sided"
    label_flip_p: float = 0.0     # noisy labels: flip D's targets with this probability
    instance_noise: float = 0.0   # sigma at step 0, annealed linearly to 0
    gp_weight: float = 10.0       # lambda for "wgan-gp"
    clip_value: float | None = 0.01  # c for "wgan"; None: no clipping (use r1_gamma or spectral norm)
    r1_gamma: float = 0.0         # R1 weight gamma (the penalty added is gamma / 2 * R1)
    feature_matching: bool = False  # G matches D's mean features instead of fooling D
    ema_decay: float | None = None  # keep an average of G's weights with this decay (e.g. 0.999)
    ema_start: int = 0            # the step the average starts from, as a copy of G
    seed: int = 0
    device: str = "auto"
    channels_last: bool = False
    amp: str | None = None        # "bf16", "fp16" (with a gradient scaler) or "auto": see resolve_amp
    compile: str | None = None    # a torch.compile mode: "default", "reduce-overhead" (CUDA graphs)
    sync_every: int | None = None  # steps between reads of the losses; None: 1 on CPU, 50 on GPU

    def __post_init__(self):
        if self.loss not in L.LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; valid losses: {', '.join(L.LOSSES)}")
        for name in ("steps", "batch_size", "n_critic", "seed", "ema_start"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {value!r}")
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {self.n_critic}")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        self.betas = tuple(self.betas)
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        L.smoothed_targets(self.label_smoothing, self.smoothing_mode)  # validates both
        if self.label_smoothing and self.loss not in ("non-saturating", "minimax"):
            raise ValueError("label smoothing applies to the BCE losses only "
                             f"('non-saturating', 'minimax'), not {self.loss!r}")
        if not 0.0 <= self.label_flip_p <= 1.0:
            raise ValueError(f"label_flip_p must lie in [0, 1], got {self.label_flip_p!r}")
        for name in ("instance_noise", "gp_weight", "r1_gamma"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.clip_value is not None and not self.clip_value > 0:
            raise ValueError(f"clip_value must be None (no clipping) or positive, got {self.clip_value!r}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be None (no average) or in (0, 1), got {self.ema_decay!r}")
        if self.ema_start < 0:
            raise ValueError(f"ema_start must be >= 0, got {self.ema_start}")
        if self.amp not in AMP_CHOICES:
            raise ValueError(f"amp must be one of {list(AMP_CHOICES)}, got {self.amp!r}")
        if self.compile not in COMPILE_MODES:
            raise ValueError(f"compile must be one of {list(COMPILE_MODES)}, got {self.compile!r}")
        if self.compile and (self.loss == "wgan-gp" or self.r1_gamma):
            # The penalties differentiate D's gradient (double backward), which compiled
            # graphs do not support.
            raise ValueError("compile cannot be combined with a gradient penalty "
                             "(loss='wgan-gp' or r1_gamma > 0): torch.compile has no double backward")
        if self.sync_every is not None and (isinstance(self.sync_every, bool)
                                            or not isinstance(self.sync_every, int) or self.sync_every < 1):
            raise ValueError(f"sync_every must be None or an int >= 1, got {self.sync_every!r}")
        resolve_device(self.device)  # raises on an unknown or unavailable device

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - valid)
        if unknown:
            raise TypeError(f"unknown config keys {unknown}; valid keys: {', '.join(sorted(valid))}")
        return cls(**values)


# ----------------------------------------------------------------------------- mixed precision
def _bf16_native(device: torch.device) -> bool:
    """Whether a CUDA device computes in bfloat16 natively (compute capability 8.0 and up:
    A100, L4, H100...). Older GPUs, such as Colab's free T4 (7.5), only emulate it."""
    return torch.cuda.get_device_capability(device) >= (8, 0)


def resolve_amp(amp: str | None, device) -> str | None:
    """The autocast dtype (``"bf16"``, ``"fp16"`` or None) that ``amp`` means on ``device``.

    ``"auto"`` picks bfloat16 on a GPU that computes in it natively; float16 with a gradient
    scaler on an older GPU (Colab's T4); float32 (None) on a CPU or an Apple GPU, where
    neither is reliably faster. An explicit choice that the device's autocast does not
    support is a ``ValueError``; bfloat16 on a GPU that only emulates it, and float16 on a
    CPU, run but slowly, with a warning.
    """
    import warnings

    device = torch.device(device)
    if amp not in AMP_CHOICES:
        raise ValueError(f"amp must be one of {list(AMP_CHOICES)}, got {amp!r}")
    if amp == "auto":
        if device.type != "cuda":
            return None
        return "bf16" if _bf16_native(device) else "fp16"
    if amp is None:
        return None
    dtype = AMP_DTYPES[amp]
    # Ask PyTorch itself: for a dtype or device it cannot autocast to, it raises, or warns
    # and disables autocast.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with torch.autocast(device.type, dtype=dtype):
                pass
        except RuntimeError as err:
            raise ValueError(f"amp={amp!r}: {device.type} autocast does not support {dtype}: {err}. "
                             "Use amp='auto' or amp=None (float32).") from None
    refused = [str(w.message) for w in caught if "not supported" in str(w.message) or "Disabling" in str(w.message)]
    if refused:
        raise ValueError(f"amp={amp!r}: {device.type} autocast does not support {dtype} here "
                         f"({refused[0].splitlines()[0]}). Use amp='auto' or amp=None (float32).")
    if amp == "bf16" and device.type == "cuda" and not _bf16_native(device):
        name = torch.cuda.get_device_name(device)
        warnings.warn(f"{name} has no native bfloat16 (compute capability "
                      f"{'.'.join(map(str, torch.cuda.get_device_capability(device)))}); amp='bf16' runs "
                      "emulated and slower than float32. Use amp='fp16' (or 'auto') on this GPU.", stacklevel=3)
    if amp == "fp16" and device.type == "cpu":
        warnings.warn("amp='fp16' on a CPU: CPUs without float16 arithmetic run it far slower than float32 "
                      "(a DCGAN step 25 times slower on the 2-core CPU this was measured on). Use amp=None, "
                      "or amp='bf16' on a CPU with bfloat16 instructions.", stacklevel=3)
    return amp


def _grad_scaler(device: torch.device):
    """A gradient scaler for float16 training on ``device`` (a clear error where PyTorch has none)."""
    if hasattr(torch.amp, "GradScaler"):
        scaler = torch.amp.GradScaler(device.type)
    elif device.type == "cuda":  # PyTorch before 2.3
        scaler = torch.cuda.amp.GradScaler()
    else:
        scaler = None
    if scaler is None or not scaler.is_enabled():  # PyTorch disables a scaler it cannot run
        raise ValueError(f"amp='fp16' needs a gradient scaler, which PyTorch {torch.__version__} does not "
                         f"offer on {device.type}. Use amp='bf16', 'auto' or None.")
    return scaler


def _scaled_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler) -> None:
    """``loss.backward(); opt.step()`` through a gradient scaler (float16 training, ``amp="fp16"``)."""
    # Why scale: float16 gradients below about 6e-8 round to zero. The scaler multiplies the
    # loss before backward and divides the gradients before the step; a step whose gradients
    # overflowed is skipped and the scale lowered, so training adapts the scale as it goes.
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()


# ----------------------------------------------------------------------------- steps
def _call(model: nn.Module, x: torch.Tensor,
          labels: torch.Tensor | None) -> torch.Tensor:
    """Call a model with labels only when it is conditional."""
    return model(x, labels) if labels is not None else model(x)


def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor,
           labels: torch.Tensor | None, cfg: TrainConfig, sigma: float = 0.0,
           scaler=None) -> dict:
    """One discriminator update on a batch of real images and as many fakes.

    ``scaler``: the gradient scaler of float16 training (``amp="fp16"``), or
    None.

    Returns ``loss_D``, ``D(x)`` and ``D(G(z))`` as detached 0-dim tensors on the
    training device; ``float()`` reads one. Why tensors: reading a number off a GPU
    makes the CPU wait for the step to finish, so the :class:`Trainer` reads many
    steps at once.
    """
    b = real.shape[0]
    z = torch.randn(b, G.z_dim, device=real.device)
    # Why no_grad: D's update must not send gradients into G. Generating under no_grad
    # is the cheap form of `fake.detach()`: no graph through G is built at all.
    with torch.no_grad():
        fake = _call(G, z, labels)
    # Why noise on both: instance noise makes the two distributions overlap;
    # noising only one of them would hand D a trivial cue.
    real_in = L.instance_noise(real, sigma)
    fake_in = L.instance_noise(fake, sigma)
    real_out = _call(D, real_in, labels)
    fake_out = _call(D, fake_in, labels)

    d_loss_fn, _ = L.LOSSES[cfg.loss]
    if cfg.loss in ("non-saturating", "minimax"):
        real_t, fake_t = L.smoothed_targets(cfg.label_smoothing,
                                            cfg.smoothing_mode)
        if cfg.label_flip_p:
            p = cfg.label_flip_p
            real_t = L.flip_labels(torch.full_like(real_out, real_t), p)
            fake_t = L.flip_labels(torch.full_like(fake_out, fake_t), p)
        loss = d_loss_fn(real_out, fake_out, real_t, fake_t)
    else:
        loss = d_loss_fn(real_out, fake_out)
    critic = functools.partial(_call, D, labels=labels)  # D(x) with this batch's labels
    if cfg.loss == "wgan-gp":
        # Why interpolates: the optimal critic has unit gradient norm on lines between
        # real and fake samples (Gulrajani et al. 2017), so it is penalised there.
        loss = loss + cfg.gp_weight * L.gradient_penalty(critic, real_in, fake_in)
    if cfg.r1_gamma:
        # Why on real images only: R1 (Mescheder et al. 2018) flattens D around the
        # data, so D stops pushing G once G's samples lie on it; it also bounds an
        # unclipped critic.
        loss = loss + 0.5 * cfg.r1_gamma * L.r1_penalty(critic, real_in)

    opt_d.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        opt_d.step()
    else:
        _scaled_step(loss, opt_d, scaler)
    if cfg.loss == "wgan" and cfg.clip_value is not None:
        # Why clip after the step: the constraint must hold for the critic used next.
        # clip_value=None leaves the critic unclipped, for a Wasserstein loss kept in
        # check by another regulariser instead (R1 in the StyleGAN chapter).
        L.clip_weights(D, cfg.clip_value)
    return {"loss_D": loss.detach(), **_d_outputs(real_out, fake_out, cfg.loss)}


def _d_outputs(real_out: torch.Tensor, fake_out: torch.Tensor, loss: str) -> dict:
    """D(x) and D(G(z)) as probabilities for the BCE losses, as raw scores otherwise."""
    if loss in ("non-saturating", "minimax"):
        real_out, fake_out = torch.sigmoid(real_out), torch.sigmoid(fake_out)
    return {"D(x)": real_out.detach().mean(), "D(G(z))": fake_out.detach().mean()}


def g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, batch_size: int,
           labels: torch.Tensor | None, cfg: TrainConfig, sigma: float = 0.0,
           real: torch.Tensor | None = None, scaler=None) -> dict:
    """One generator update through a frozen discriminator.

    Returns ``loss_G`` as :func:`d_step` returns its values."""
    device = next(G.parameters()).device
    z = torch.randn(batch_size, G.z_dim, device=device)
    fake = _call(G, z, labels)
    # Why freeze D: G's loss must move only G. Turning off D's parameter gradients also
    # skips computing them, which is most of the backward pass through D.
    D.requires_grad_(False)
    try:
        fake_in = L.instance_noise(fake, sigma)
        if cfg.feature_matching:
            # Feature matching (Salimans et al. 2016): match the mean of D's last hidden
            # features on real data instead of maximising D's output.
            f_fake = _features(D, fake_in, labels).mean(0)
            with torch.no_grad():
                f_real = _features(D, L.instance_noise(real, sigma), labels).mean(0)
            loss = F.mse_loss(f_fake, f_real)
        else:
            _, g_loss_fn = L.LOSSES[cfg.loss]
            # Why target 1 and never smoothed: the non-saturating loss is BCE with the
            # "real" label; label smoothing belongs to D's targets only.
            loss = g_loss_fn(_call(D, fake_in, labels))
        opt_g.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            opt_g.step()
        else:
            _scaled_step(loss, opt_g, scaler)
    finally:
        D.requires_grad_(True)
    return {"loss_G": loss.detach()}


def _features(D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    return D.features(x, labels) if labels is not None else D.features(x)


# ------------------------------------------------------------------------- callbacks
class Callback:
    """Hooks the trainer calls; override the ones you need.

    ``on_step_end`` gets the step's metrics as 0-dim tensors (see :func:`d_step`);
    ``trainer.history`` holds them as floats up to the last read (``sync_every``).
    """

    def on_train_begin(self, trainer: "Trainer") -> None: ...

    def on_step_end(self, trainer: "Trainer", metrics: dict) -> None: ...

    def on_train_end(self, trainer: "Trainer") -> None: ...


class SampleGrid(Callback):
    """Every ``every`` steps, generate from one fixed noise batch and keep the images.

    ``trainer.samples`` gets ``(step, images)`` pairs; ``out_dir`` also saves PNGs and
    ``on_grid(step, images)`` lets a notebook draw them live.
    """

    def __init__(self, every: int = 100, n: int = 64, out_dir=None, on_grid=None, seed: int = 1234):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.n, self.out_dir, self.on_grid, self.seed = every, n, out_dir, on_grid, seed

    def on_train_begin(self, trainer):
        g = torch.Generator().manual_seed(self.seed)  # its own generator: training RNG untouched
        self.z = torch.randn(self.n, trainer.G.z_dim, generator=g).to(trainer.device)
        self.labels = (torch.arange(self.n) % trainer.G.n_classes).to(trainer.device) \
            if is_conditional(trainer.G) else None

    def on_step_end(self, trainer, metrics):
        if trainer.step % self.every == 0 or trainer.step == trainer.config.steps:
            images = trainer.generate(self.z, self.labels)
            trainer.samples.append((trainer.step, images))
            if self.out_dir is not None:
                from torchvision.utils import save_image

                Path(self.out_dir).mkdir(parents=True, exist_ok=True)
                save_image(images, Path(self.out_dir) / f"step_{trainer.step:06d}.png",
                           nrow=8, normalize=True, value_range=(-1, 1))
            if self.on_grid is not None:
                self.on_grid(trainer.step, images)


class Checkpoint(Callback):
    """Save the whole training state to ``path`` every ``every`` steps and at the end."""

    def __init__(self, path, every: int = 500):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.path, self.every = Path(path), every

    def on_step_end(self, trainer, metrics):
        if trainer.step % self.every == 0:
            trainer.save(self.path)

    def on_train_end(self, trainer):
        trainer.save(self.path)


class ProgressBar(Callback):
    """A ``tqdm.auto`` bar with the live losses."""

    def __init__(self, every: int = 10):
        self.every = every
        self.bar = None

    def on_train_begin(self, trainer):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.config.steps, initial=trainer.step, desc="training",
                        dynamic_ncols=True)

    def on_step_end(self, trainer, metrics):
        self.bar.update(1)
        if trainer.step % self.every == 0:
            self.bar.set_postfix({k: f"{float(v):.3f}" for k, v in metrics.items()})

    def on_train_end(self, trainer):
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- trainer
class Trainer:
    """Trains a (G, D) pair on an :class:`~gancourse.data.ImageData` or image tensor.

    >>> trainer = Trainer(G, D, data, TrainConfig(steps=200), callbacks=[ProgressBar()])
    >>> trainer.fit()
    """

    def __init__(self, G: nn.Module, D: nn.Module, data, config: TrainConfig | None = None,
                 callbacks: Sequence[Callback] = (), **overrides):
        if config is None:
            config = TrainConfig.from_dict(overrides)
        elif overrides:
            config = TrainConfig.from_dict({**dataclasses.asdict(config), **overrides})
        self.config = cfg = config
        self.device = resolve_device(cfg.device)
        if isinstance(data, torch.Tensor):
            data = ImageData(data, torch.zeros(len(data), dtype=torch.long))
        if not isinstance(data, ImageData):
            raise TypeError(f"data must be an ImageData or an image tensor, got {type(data).__name__}")
        self._batches = BatchStream(len(data), cfg.batch_size, self.device)  # checks the batch size
        if is_conditional(G) != is_conditional(D):
            raise ValueError("G and D must both be conditional or both unconditional")
        if cfg.feature_matching and not hasattr(D, "features"):
            raise ValueError(f"feature matching needs D.features(), which {type(D).__name__} lacks")
        self.conditional = is_conditional(G)
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.G, self.D = G.to(self.device), D.to(self.device)
        images = data.images.to(self.device)
        if cfg.channels_last and images.dim() == 4:
            self.G.to(memory_format=fmt)
            self.D.to(memory_format=fmt)
            images = images.contiguous(memory_format=fmt)
        self.data = ImageData(images, data.labels.to(self.device))
        # Why fused on a GPU: one kernel updates every parameter, instead of a few per
        # tensor; for a model this small, kernel launches are much of a step's time.
        fused = {"fused": True} if self.device.type == "cuda" else {}
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas, **fused)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas, **fused)
        # Mixed precision: the dtype "auto" means on this device, and for float16 one gradient
        # scaler per network (their gradients differ in size; each adapts its own scale).
        self.amp = resolve_amp(cfg.amp, self.device)
        # An exponential moving average of G's weights and batch-norm statistics (Polyak
        # averaging; Yazici et al. 2019), kept beside G when ema_decay is set. It never trains;
        # sampling, measuring and exporting use it (see `sampler`).
        self.G_ema = (AveragedModel(self.G, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay),
                                    use_buffers=True)
                      if cfg.ema_decay is not None else None)
        self.scalers = ({"D": _grad_scaler(self.device), "G": _grad_scaler(self.device)}
                        if self.amp == "fp16" else None)
        self.step = 0
        self.elapsed = 0.0  # seconds spent in training steps, carried across resumes
        self.history: dict[str, list[float]] = {}
        # Metrics of steps not yet read off the device (see sync_history).
        self._pending: list[dict[str, torch.Tensor]] = []
        self.sync_every = cfg.sync_every or (50 if self.device.type == "cuda" else 1)
        self.samples: list[tuple[int, torch.Tensor]] = []
        self.last_checkpoint: Path | None = None
        self.callbacks = list(callbacks)
        # What the steps call: the networks themselves, or compiled wrappers of them that
        # share their parameters (checkpoints always hold the plain modules' state).
        self._G_run, self._D_run = ((torch.compile(self.G, mode=cfg.compile),
                                     torch.compile(self.D, mode=cfg.compile))
                                    if cfg.compile else (self.G, self.D))
        # The trainer's own RNG states, swapped in only while it runs (see _own_rng).
        with torch.random.fork_rng(devices=self._cuda_devices()):
            torch.manual_seed(cfg.seed)
            self._rng = get_rng_state(self.device)

    # ---------------------------------------------------------------- RNG handling
    def _cuda_devices(self) -> list:
        return [self.device] if self.device.type == "cuda" else []

    @contextlib.contextmanager
    def _own_rng(self):
        """Run with the trainer's RNG state; leave the caller's global RNG as it was."""
        with torch.random.fork_rng(devices=self._cuda_devices()):
            set_rng_state(self._rng, self.device)
            try:
                yield
            finally:
                self._rng = get_rng_state(self.device)

    # ----------------------------------------------------------------------- data
    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A shuffled batch by index (see :class:`gancourse.data.BatchStream`)."""
        idx = self._batches.next_index()
        return self.data.images[idx], self.data.labels[idx]

    # ------------------------------------------------------------------- training
    def fit(self, steps: int | None = None) -> dict:
        """Train ``steps`` more generator steps (default: until ``config.steps``)."""
        cfg = self.config
        target = cfg.steps if steps is None else self.step + steps
        for cb in self.callbacks:
            cb.on_train_begin(self)
        self.G.train()
        self.D.train()
        finished = False
        try:
            while self.step < target:
                t0 = time.perf_counter()
                with self._own_rng(), self._autocast():
                    metrics = self._one_step()
                self.step += 1
                if self.G_ema is not None:
                    # After each G update. Why: G's weights keep circling the game's equilibrium,
                    # and their recent average sits nearer it than any single step does.
                    self._update_average()
                self._pending.append(metrics)
                if len(self._pending) >= self.sync_every or self.step == target:
                    self.sync_history()  # waits for the device; raises on NaN or inf
                self.elapsed += time.perf_counter() - t0
                for cb in self.callbacks:
                    cb.on_step_end(self, metrics)
            finished = True
        finally:
            try:
                self.sync_history()  # the finished steps' metrics, even after an interruption
            finally:
                for cb in self.callbacks:
                    # A run that diverged or was interrupted mid-step leaves a half-updated
                    # state; it must not overwrite the last good checkpoint.
                    if finished or not isinstance(cb, Checkpoint):
                        cb.on_train_end(self)
        return self.history

    @torch.no_grad()
    def _update_average(self) -> None:
        """``G_ema <- d * G_ema + (1 - d) * G``; until ``ema_start`` it is a plain copy of G."""
        if self.step <= self.config.ema_start:
            self.G_ema.n_averaged.zero_()  # AveragedModel copies when it has averaged nothing yet
        self.G_ema.update_parameters(self.G)

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw images from: the weight average when the run keeps one, else G."""
        return self.G_ema.module if self.G_ema is not None else self.G

    def _autocast(self):
        """Autocast to the dtype of ``self.amp`` (see :func:`resolve_amp`); the weights stay float32."""
        dtype = AMP_DTYPES[self.amp]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def _one_step(self) -> dict:
        cfg = self.config
        sigma = L.annealed_sigma(self.step, cfg.steps, cfg.instance_noise) if cfg.instance_noise else 0.0
        G, D = self._G_run, self._D_run
        scale_d, scale_g = (self.scalers["D"], self.scalers["G"]) if self.scalers else (None, None)
        metrics: dict = {}
        for _ in range(cfg.n_critic):
            real, labels = self._next_batch()
            metrics = d_step(G, D, self.opt_d, real, labels if self.conditional else None, cfg, sigma,
                             scaler=scale_d)
        g_labels = (torch.randint(self.G.n_classes, (cfg.batch_size,), device=self.device)
                    if self.conditional else None)
        metrics.update(g_step(G, D, self.opt_g, cfg.batch_size, g_labels, cfg, sigma, real=real,
                              scaler=scale_g))
        return metrics

    def sync_history(self) -> None:
        """Read the pending steps' metrics off the device into ``history``, in one transfer.

        Raises :class:`TrainingDivergedError` at the first NaN or infinite value. On a
        CPU this runs after every step; on a GPU every ``sync_every`` steps, because each
        read makes the CPU wait for the GPU. :meth:`save` calls it first, so a checkpoint
        never holds a diverged state.
        """
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        names = list(pending[0])
        rows = torch.stack([torch.stack([m[k].float() for k in names]) for m in pending]).tolist()
        first = self.step - len(pending) + 1  # the step number of rows[0]
        for i, row in enumerate(rows):
            for name, value in zip(names, row):
                if not math.isfinite(value):
                    self._diverged(first + i, name, value)
            for name, value in zip(names, row):
                self.history.setdefault(name, []).append(value)

    def _diverged(self, step: int, name: str, value: float):
        kept = (f"The last good checkpoint is kept at {self.last_checkpoint}."
                if self.last_checkpoint else "No checkpoint had been written yet.")
        raise TrainingDivergedError(
            f"training diverged at step {step}: {name} = {value}. {kept}\n"
            "Things to try: lower the learning rates (lr_g, lr_d); use the "
            "'non-saturating' loss; add a gradient penalty ('wgan-gp') or spectral "
            "norm; check that the data is scaled to [-1, 1] to match G's tanh.")

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images from :attr:`sampler` in eval mode (running BN statistics, no dropout), on the CPU."""
        G = self.sampler
        was_training = G.training
        G.eval()
        try:
            out = _call(G, z.to(self.device), labels.to(self.device) if labels is not None else None)
        finally:
            G.train(was_training)
        return out.float().cpu()

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """The whole training state; raises :class:`TrainingDivergedError` if a pending step diverged."""
        self.sync_history()
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "elapsed": self.elapsed,
            "config": dataclasses.asdict(self.config),
            "G": {"class": type(self.G).__name__, "state": self.G.state_dict()},
            "D": {"class": type(self.D).__name__, "state": self.D.state_dict()},
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self._rng,
            **self._batches.state_dict(),  # "perm" and "pos"
            "history": self.history,
            "scalers": {k: v.state_dict() for k, v in self.scalers.items()} if self.scalers else None,
            "G_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
        }

    def save(self, path) -> Path:
        """Write the whole training state atomically (temporary file, then rename)."""
        self.last_checkpoint = atomic_save(self.state_dict(), path)
        return self.last_checkpoint

    def _load_average(self, ckpt: dict, path) -> None:
        if self.G_ema is None:
            return
        if ckpt.get("G_ema") is not None:
            self.G_ema.load_state_dict(ckpt["G_ema"])
        elif self.step <= self.config.ema_start:
            # Saved without an average (an older checkpoint, or a run without one): up to
            # ema_start the average is only a copy of G, so it can be made now, exactly.
            self._update_average()
        else:
            raise ValueError(f"{path} holds no weight average, and its step {self.step} is past "
                             f"ema_start={self.config.ema_start}: the average cannot be resumed exactly. "
                             f"Resume from a checkpoint at or before step {self.config.ema_start}.")

    def load(self, path) -> "Trainer":
        """Restore a checkpoint written by :meth:`save`, so that :meth:`fit` resumes it exactly."""
        ckpt = load_checkpoint(path)
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: unknown checkpoint format {ckpt.get('format')!r}")
        load_state_checked(self.G, ckpt["G"], "generator")
        load_state_checked(self.D, ckpt["D"], "discriminator")
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        self.step = ckpt["step"]
        self.elapsed = ckpt.get("elapsed", 0.0)
        self._rng = ckpt["rng"]
        self._batches.load_state_dict(ckpt)
        if self.scalers and ckpt.get("scalers"):  # float16 training resumes with the scales it had reached
            for k, scaler in self.scalers.items():
                scaler.load_state_dict(ckpt["scalers"][k])
        self._load_average(ckpt, path)
        self._pending = []  # unread metrics of the replaced state belong to no step of this one
        self.history = {k: list(v) for k, v in ckpt["history"].items()}
        self.last_checkpoint = Path(path)
        return self
