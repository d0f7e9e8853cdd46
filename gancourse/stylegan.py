"""StyleGAN-lite for 28x28 digits (the "Beyond DCGAN" chapter's digit-7 model).

Holds the pieces of a style-based generator (Karras et al. 2019, "A Style-Based Generator
Architecture for GANs"), scaled down to MNIST:

- :class:`PixelNorm` and :class:`MappingNetwork`: z -> w, an MLP;
- :class:`AdaIN`: instance normalisation, then a per-channel scale and bias computed from w;
- :class:`NoiseInjection`: per-pixel noise with a learned per-channel strength;
- :class:`SynthesisNetwork`: a learned 4x4 constant grown to 28x28, one style per layer;
- :class:`StyleGenerator`: mapping + synthesis, with the moving average ``w_avg`` of w;
- :func:`truncate`, :func:`mix_styles` and :func:`generate_images`: the truncation trick and
  style mixing;
- :class:`MinibatchStdDev` and :class:`StyleDiscriminator`: a conv critic with the
  minibatch standard deviation feature (Karras et al. 2018).

The critic returns an unbounded score (no sigmoid). The chapter trains the pair with the
Wasserstein loss and the R1 penalty, which live in :mod:`gancourse.losses` and are picked by
``TrainConfig(loss="wgan", clip_value=None, r1_gamma=...)``; the recipe is
``gancourse.recipes.RECIPES["stylegan7-mnist"]``.

It does not hold losses or training loops, and it does not use progressive growing
(see :mod:`gancourse.progressive`), equalised learning rates or modulated convolutions
(StyleGAN2): at 28x28 the plain version trains, and every line stays readable.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["PixelNorm", "MappingNetwork", "AdaIN", "NoiseInjection", "StyleLayer", "SynthesisNetwork",
           "StyleGenerator", "MinibatchStdDev", "StyleDiscriminator", "truncate", "mix_styles",
           "generate_images"]


class PixelNorm(nn.Module):
    """Scale each sample's feature vector to unit root-mean-square along dim 1 (Karras et al. 2018).

    On z (B, z_dim) it puts every latent code on the same sphere before the mapping network.
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)  # same shape as x


class MappingNetwork(nn.Module):
    """z -> w: PixelNorm, then ``depth`` blocks of Linear + LeakyReLU(0.2).

    The generator's images are decided by w, not by z. Because w is learned, the mapping
    can "unwarp" the Gaussian z into a space where factors of variation are more nearly
    linear (Karras et al. 2019, section 4).
    """

    def __init__(self, z_dim: int = 128, w_dim: int = 128, depth: int = 4, slope: float = 0.2):
        super().__init__()
        if depth < 1:
            raise ValueError(f"mapping depth must be >= 1, got {depth}")
        self.z_dim, self.w_dim, self.depth = z_dim, w_dim, depth
        layers: list[nn.Module] = [PixelNorm()]                      # (B, z_dim), unit RMS
        for i in range(depth):
            layers += [nn.Linear(z_dim if i == 0 else w_dim, w_dim),  # (B, w_dim)
                       nn.LeakyReLU(slope)]                          # (B, w_dim)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)                                           # (B, w_dim)


class AdaIN(nn.Module):
    """Adaptive instance normalisation (Huang & Belongie 2017), the style input of every layer.

    ``AdaIN(x, w) = scale(w) * (x - mean(x)) / std(x) + bias(w)``, where the mean and std are
    taken per sample and per channel over the pixels, and ``(scale, bias) = A(w)`` is a
    learned affine map from w to two numbers per channel. Normalising first erases the
    previous layer's style (each channel's overall level and contrast); the new style then
    sets them again. The scale half of A's bias starts at 1, so a fresh layer passes the
    normalised features through.
    """

    def __init__(self, channels: int, w_dim: int, eps: float = 1e-5):
        super().__init__()
        self.channels, self.eps = channels, eps
        self.affine = nn.Linear(w_dim, 2 * channels)                 # (B, 2C): scale, then bias
        with torch.no_grad():
            self.affine.bias[:channels].fill_(1.0)
            self.affine.bias[channels:].zero_()

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # Written out rather than x.var(): on a CPU this is several times faster.
        x = x - x.mean(dim=(2, 3), keepdim=True)                     # (B, C, H, W), mean 0 per channel
        var = x.pow(2).mean(dim=(2, 3), keepdim=True)                # (B, C, 1, 1)
        x = x * torch.rsqrt(var + self.eps)                          # (B, C, H, W), std 1 per channel
        scale, bias = self.affine(w).chunk(2, dim=1)                 # (B, C) each
        return scale[:, :, None, None] * x + bias[:, :, None, None]  # (B, C, H, W)


class NoiseInjection(nn.Module):
    """Add one map of Gaussian noise per sample, times a learned per-channel strength (init 0).

    In training mode the noise is fresh every call, so stochastic detail (stroke texture)
    need not be coded in w. In eval mode a fixed map, drawn once at construction and saved
    with the weights, is used instead, so that a generator in eval mode is a deterministic
    function of w: the same seed gives the same image in sample grids and the explorer.
    """

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(1, channels, 1, 1))  # (1, C, 1, 1)
        self.register_buffer("fixed", torch.randn(1, 1, size, size))  # (1, 1, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            b, _, h, w = x.shape
            noise = torch.randn(b, 1, h, w, device=x.device, dtype=x.dtype)  # (B, 1, H, W)
        else:
            noise = self.fixed                                        # (1, 1, H, W), broadcast
        return x + self.strength * noise                              # (B, C, H, W)


class StyleLayer(nn.Module):
    """One styled layer: ``conv`` (may change size), noise, LeakyReLU(0.2), AdaIN with one w."""

    def __init__(self, conv: nn.Module, channels: int, size: int, w_dim: int, noise: bool,
                 slope: float = 0.2):
        super().__init__()
        self.conv = conv
        self.noise = NoiseInjection(channels, size) if noise else nn.Identity()
        self.act = nn.LeakyReLU(slope)
        self.adain = AdaIN(channels, w_dim)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.adain(self.act(self.noise(self.conv(x))), w)


def _conv3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)                       # keeps H, W


def _up2(c_in: int, c_out: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)   # (H - 1) * 2 - 2 + 4 = 2H


class SynthesisNetwork(nn.Module):
    """ws (B, n_layers, w_dim) -> images (B, 1, 28, 28) in [-1, 1].

    A learned 4x4 constant is the input of every image; content comes only through the
    styles (and the noise). Two styled layers per resolution, 4 -> 7 -> 14 -> 28, so
    ``n_layers = 8``: layers 0-3 (4x4 and 7x7) take the coarse styles, layers 4-7 (14x14 and
    28x28) the fine ones. In StyleGAN the coarse styles set pose and shape and the fine
    ones detail; :func:`generate_images` with ``mix=`` shows what they set for digits.

    Why 4 -> 7: 28 = 7 * 2 * 2, and 7 is not twice 4, so the first step cannot be a doubling.
    It is a transposed convolution with a 4x4 kernel, stride 1 and no padding, which adds
    kernel - 1 = 3 pixels to each side length: (4 - 1) * 1 + 4 = 7. Unlike resizing by
    7/4 it is learned and never blends pixels by fractional weights. From 7 on, each step
    doubles with a transposed convolution (kernel 4, stride 2, padding 1: (H - 1) * 2 - 2 + 4
    = 2H; the kernel is a multiple of the stride, so every output pixel gets the same number
    of taps and no checkerboard is built in). StyleGAN upsamples and then applies a 3x3
    convolution instead; for the 14 -> 28 layer (batch 64, 64 -> 32 channels, forward and
    backward) that took about 2.8 times as long on the course's CPU.

    ``channels`` are the widths at 4, 7, 14 and 28 pixels.
    """

    def __init__(self, w_dim: int = 128, channels=(128, 128, 64, 32), noise: bool = True):
        super().__init__()
        c4, c7, c14, c28 = channels
        self.w_dim = w_dim
        self.const = nn.Parameter(torch.randn(1, c4, 4, 4))          # (1, C4, 4, 4), learned

        def layer(conv, c, size):
            return StyleLayer(conv, c, size, w_dim, noise)

        self.layers = nn.ModuleList([
            layer(nn.Identity(), c4, 4),                              # 0: (B, C4, 4, 4) styled constant
            layer(_conv3(c4, c4), c4, 4),                             # 1: (B, C4, 4, 4)
            layer(nn.ConvTranspose2d(c4, c7, 4), c7, 7),              # 2: (B, C7, 7, 7), (4 - 1) + 4 = 7
            layer(_conv3(c7, c7), c7, 7),                             # 3: (B, C7, 7, 7)
            layer(_up2(c7, c14), c14, 14),                            # 4: (B, C14, 14, 14)
            layer(_conv3(c14, c14), c14, 14),                         # 5: (B, C14, 14, 14)
            layer(_up2(c14, c28), c28, 28),                           # 6: (B, C28, 28, 28)
            layer(_conv3(c28, c28), c28, 28),                         # 7: (B, C28, 28, 28)
        ])
        self.to_gray = nn.Conv2d(c28, 1, 1)                           # (B, 1, 28, 28)
        self.out = nn.Tanh()                                          # (B, 1, 28, 28) in (-1, 1)
        self.n_layers = len(self.layers)

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        if ws.dim() != 3 or ws.shape[1:] != (self.n_layers, self.w_dim):
            raise ValueError(f"ws must have shape (B, {self.n_layers}, {self.w_dim}): one w per styled "
                             f"layer; got {tuple(ws.shape)}")
        x = self.const.expand(ws.shape[0], -1, -1, -1)                # (B, C4, 4, 4)
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i])
        return self.out(self.to_gray(x))                              # (B, 1, 28, 28)


class StyleGenerator(nn.Module):
    """StyleGAN-lite generator: ``G(z) = synthesis(mapping(z) repeated n_layers times)``.

    Args:
        z_dim, w_dim: sizes of z and w. The course notes used 512 for both, StyleGAN's size
            for 1024x1024 faces. Here both default to 128: one digit at 28x28 has far fewer
            factors of variation, and at 512 most of the generator's weights would sit in the
            mapping network and the style affines. With the default widths the generator
            has 1.02M parameters at 128 (mapping 66k, style affines 182k) against 2.54M at
            512 (mapping 1.05M, affines 722k). A training step (batch 64, critic 1.12M
            parameters, R1 on) took 2.2-2.6 s at either size on the course's 2-core CPU
            (one thread, machine shared with other jobs): the time goes to the convolutions,
            which do not depend on the latent size. So 128 is chosen for a model (and a
            download, and an explorer) 2.5 times smaller, not for speed.
        channels: widths at 4, 7, 14 and 28 pixels.
        mapping_depth: Linear layers in the mapping network (StyleGAN: 8; 4 by default here,
            half the mapping's weights; the two depths have not been compared).
        noise: per-layer noise inputs (:class:`NoiseInjection`).
        w_avg_beta: ``w_avg`` follows the mean w of each training batch with this decay.
        mixing_prob: style-mixing regularisation (Karras et al. 2019, section 3.1): in training
            mode, this fraction of the samples takes its styles from a second z from a random
            layer on, which discourages neighbouring layers from relying on each other.

    Attributes used by :func:`generate_images` and the latent explorer: ``mapping(z)``
    (B, w_dim), ``synthesis(ws)`` with ws (B, n_layers, w_dim), ``n_layers`` (alias
    ``num_ws``), ``z_dim``, ``w_dim`` and the buffer ``w_avg`` (w_dim,).
    """

    def __init__(self, z_dim: int = 128, w_dim: int = 128, channels=(128, 128, 64, 32),
                 mapping_depth: int = 4, noise: bool = True, w_avg_beta: float = 0.995,
                 mixing_prob: float = 0.0):
        super().__init__()
        if len(channels) != 4:
            raise ValueError(f"channels must be 4 widths (at 4, 7, 14, 28 pixels), got {channels!r}")
        if not 0.0 <= w_avg_beta < 1.0:
            raise ValueError(f"w_avg_beta must lie in [0, 1), got {w_avg_beta!r}")
        if not 0.0 <= mixing_prob <= 1.0:
            raise ValueError(f"mixing_prob must lie in [0, 1], got {mixing_prob!r}")
        self.z_dim, self.w_dim = z_dim, w_dim
        self.w_avg_beta, self.mixing_prob = w_avg_beta, mixing_prob
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_depth)    # (B, z_dim) -> (B, w_dim)
        self.synthesis = SynthesisNetwork(w_dim, tuple(channels), noise)  # (B, L, w_dim) -> (B, 1, 28, 28)
        self.n_layers = self.synthesis.n_layers
        self.register_buffer("w_avg", torch.zeros(w_dim))            # (w_dim,), the centre of truncation

    @property
    def num_ws(self) -> int:
        """The number of styles ``synthesis`` takes (the latent explorer's name for ``n_layers``)."""
        return self.n_layers

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        w = self.mapping(z)                                           # (B, w_dim)
        if self.training:
            with torch.no_grad():  # a statistic of training, not part of the graph
                self.w_avg.lerp_(w.detach().mean(0), 1.0 - self.w_avg_beta)
        ws = w.unsqueeze(1).repeat(1, self.n_layers, 1)               # (B, n_layers, w_dim)
        if self.training and self.mixing_prob > 0:
            ws = self._mix_regularise(z, ws)
        return self.synthesis(ws)                                     # (B, 1, 28, 28)

    def _mix_regularise(self, z: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
        b, n = ws.shape[:2]
        w2 = self.mapping(torch.randn_like(z))                        # (B, w_dim), a second style
        mixed = torch.rand(b, device=z.device) < self.mixing_prob     # (B,) which samples mix
        cut = torch.randint(1, n, (b,), device=z.device)              # (B,) first layer from w2
        take = mixed[:, None] & (torch.arange(n, device=z.device)[None, :] >= cut[:, None])  # (B, L)
        return torch.where(take[:, :, None], w2[:, None, :], ws)      # (B, n_layers, w_dim)

    @torch.no_grad()
    def update_w_avg(self, n: int = 10000, seed: int = 0, batch_size: int = 1000) -> torch.Tensor:
        """Set ``w_avg`` to the exact mean of ``mapping(z)`` over ``n`` codes from ``seed``; return it."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        g = torch.Generator().manual_seed(seed)
        device = self.w_avg.device
        total = torch.zeros_like(self.w_avg, dtype=torch.float64)
        for i in range(0, n, batch_size):
            z = torch.randn(min(batch_size, n - i), self.z_dim, generator=g).to(device)
            total += self.mapping(z).double().sum(0)
        self.w_avg.copy_(total / n)
        return self.w_avg


# --------------------------------------------------------------- truncation and mixing
def truncate(w: torch.Tensor, w_avg: torch.Tensor, psi: float) -> torch.Tensor:
    """The truncation trick: ``w' = w_avg + psi * (w - w_avg)`` (Karras et al. 2019, section 2).

    psi = 1 returns ``w`` itself (no truncation); psi = 0 gives ``w_avg`` for every code,
    the "average image"; values between trade variety for typical-looking images.
    """
    if psi == 1.0:
        return w
    return w_avg + psi * (w - w_avg)


def mix_styles(w_coarse: torch.Tensor, w_fine: torch.Tensor, crossover: int, n_layers: int) -> torch.Tensor:
    """Styles (B, n_layers, w_dim): layers ``< crossover`` from ``w_coarse``, the rest from ``w_fine``.

    ``crossover = 0`` takes every layer from ``w_fine``; ``crossover = n_layers`` every layer
    from ``w_coarse``.
    """
    if isinstance(crossover, bool) or not isinstance(crossover, int) or not 0 <= crossover <= n_layers:
        raise ValueError(f"crossover must be an int in 0..{n_layers}, got {crossover!r}")
    if w_coarse.shape != w_fine.shape:
        raise ValueError(f"both styles need one shape, got {tuple(w_coarse.shape)} and {tuple(w_fine.shape)}")
    coarse = w_coarse.unsqueeze(1).expand(-1, crossover, -1)          # (B, crossover, w_dim)
    fine = w_fine.unsqueeze(1).expand(-1, n_layers - crossover, -1)   # (B, L - crossover, w_dim)
    return torch.cat([coarse, fine], dim=1)                           # (B, n_layers, w_dim)


@torch.no_grad()
def generate_images(G: StyleGenerator, n: int, psi: float = 1.0, seed: int | None = None,
                    mix: int | None = None, mix_seed: int | None = None) -> torch.Tensor:
    """``n`` images (n, 1, 28, 28) in [-1, 1], on the CPU, from G in eval mode.

    Args:
        psi: truncation (see :func:`truncate`), applied to every w around ``G.w_avg``.
        seed: seeds the codes z (None: fresh random codes). The caller's global RNG is untouched.
        mix: style mixing: the crossover layer. Layers ``< mix`` (coarse: shape, slant) take
            the style of the first codes, the others (fine: stroke, detail) that of a second
            set of ``n`` codes. None: no mixing.
        mix_seed: seeds the second codes; None draws them right after the first codes
            from the same seeded stream.

    Mind ``w_avg``: it is a moving average kept during training. Call ``G.update_w_avg()``
    first for a generator whose training did not go through ``forward`` in training mode.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if mix is not None:
        mix_styles(G.w_avg[None], G.w_avg[None], mix, G.n_layers)    # validates the crossover early
    g = torch.Generator()
    if seed is None:
        g.seed()
    else:
        g.manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=g)                          # (n, z_dim)
    if mix is not None:
        g2 = g if mix_seed is None else torch.Generator().manual_seed(mix_seed)
        z2 = torch.randn(n, G.z_dim, generator=g2)                    # (n, z_dim)
    device = G.w_avg.device
    was_training = G.training
    G.eval()
    try:
        w = truncate(G.mapping(z.to(device)), G.w_avg, psi)           # (n, w_dim)
        if mix is None:
            ws = w.unsqueeze(1).repeat(1, G.n_layers, 1)              # (n, n_layers, w_dim)
        else:
            w2 = truncate(G.mapping(z2.to(device)), G.w_avg, psi)     # (n, w_dim)
            ws = mix_styles(w, w2, mix, G.n_layers)                   # (n, n_layers, w_dim)
        images = G.synthesis(ws)                                      # (n, 1, 28, 28)
    finally:
        G.train(was_training)
    return images.float().cpu()


# ---------------------------------------------------------------------- discriminator
class MinibatchStdDev(nn.Module):
    """Append the batch's variety as one extra feature map (Karras et al. 2018, section 3).

    The batch is split into groups of ``group_size`` consecutive samples. Within each group,
    the standard deviation of every feature at every pixel is taken across the samples,
    then averaged into one number, which becomes a constant extra channel for that
    group's samples. A generator that collapses to a few images produces batches with a
    small value, which the critic can see, while a per-sample critic could not.

    Any batch size works: the last group keeps the remainder (a remainder of one joins the
    group before it). A batch of one has no variety to measure: its feature is
    ``sqrt(eps)``, about 1e-4. Groups of identical samples give the same value.
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8):
        super().__init__()
        if group_size < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        self.group_size, self.eps = group_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        g = min(self.group_size, b)
        ids = [i // g for i in range(b)]
        if b % g == 1 and b > 1:
            ids[-1] = ids[-2]                                         # no group of one
        n_groups = ids[-1] + 1
        group = torch.tensor(ids, device=x.device)                    # (B,) group of each sample
        count = torch.bincount(group, minlength=n_groups).to(x.dtype).view(-1, 1, 1, 1)  # (G, 1, 1, 1)
        zeros = x.new_zeros(n_groups, *x.shape[1:])                   # (G, C, H, W)
        mean = zeros.index_add(0, group, x) / count                   # (G, C, H, W)
        var = zeros.index_add(0, group, (x - mean[group]) ** 2) / count  # (G, C, H, W)
        std = torch.sqrt(var + self.eps).mean(dim=(1, 2, 3))          # (G,)
        feature = std[group].view(b, 1, 1, 1).expand(b, 1, *x.shape[2:])  # (B, 1, H, W)
        return torch.cat([x, feature], dim=1)                         # (B, C + 1, H, W)


class StyleDiscriminator(nn.Module):
    """The StyleGAN-lite critic: convs 28 -> 14 -> 7, minibatch std, then a score (no sigmoid).

    No batch normalisation: the R1 penalty and the Wasserstein loss treat D as a function of
    one image, and minibatch std is the only place where the batch is seen, on purpose.
    ``channels`` are the widths at 28, 14 and 7 pixels.
    """

    def __init__(self, channels=(32, 64, 128), mbstd_group: int = 4, slope: float = 0.2):
        super().__init__()
        c28, c14, c7 = channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c28, 3, padding=1), nn.LeakyReLU(slope),             # (B, C28, 28, 28)
            nn.Conv2d(c28, c14, 4, stride=2, padding=1), nn.LeakyReLU(slope),  # (B, C14, 14, 14)
            nn.Conv2d(c14, c7, 4, stride=2, padding=1), nn.LeakyReLU(slope),  # (B, C7, 7, 7)
            MinibatchStdDev(mbstd_group),                                     # (B, C7 + 1, 7, 7)
            nn.Conv2d(c7 + 1, c7, 3, padding=1), nn.LeakyReLU(slope),         # (B, C7, 7, 7)
            nn.Flatten(),                                                     # (B, C7 * 49)
            nn.Linear(c7 * 7 * 7, c7), nn.LeakyReLU(slope),                   # (B, C7)
        )
        self.head = nn.Linear(c7, 1)                                          # (B, 1) score

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer (B, C7), used by feature matching."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))                                        # (B, 1)
