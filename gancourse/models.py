"""Generators and discriminators for 28x28 grayscale images.

Holds: the course's MLP GAN, a minimal Keras-style MLP (sigmoid output on [0, 1]
data), the case-study DCGAN and a deeper variant of its generator, conditional variants
of the MLP and the DCGAN, and the DCGAN weight initialisation.

Every discriminator returns a *logit* (no sigmoid): the losses in
:mod:`gancourse.losses` apply the sigmoid inside a numerically stable formula.
Every conditional model takes ``(input, labels)``.

It does not hold losses, training code or pretrained weights.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "dcgan_init", "MLPGenerator", "MLPDiscriminator", "KerasStyleGenerator",
    "KerasStyleDiscriminator", "DCGANGenerator", "DCGANDiscriminator", "DeepDCGANGenerator",
    "ConditionalMLPGenerator", "ConditionalMLPDiscriminator",
    "ConditionalDCGANGenerator", "ConditionalDCGANDiscriminator", "MODELS", "build", "register",
]

IMG_SHAPE = (1, 28, 28)
IMG_PIXELS = 28 * 28


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation (Radford et al. 2015), chosen by layer class.

    Conv, transposed conv and linear weights ~ N(0, 0.02); batch-norm weights
    ~ N(1, 0.02); all biases 0. Use it as ``model.apply(dcgan_init)``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _mlp_block(n_in: int, n_out: int, slope: float, dropout: float) -> list[nn.Module]:
    return [nn.Linear(n_in, n_out), nn.LeakyReLU(slope), nn.Dropout(dropout)]


# --------------------------------------------------------------------------- MLP GAN
class MLPGenerator(nn.Module):
    """The course's first PyTorch generator: z -> 256 -> 512 -> 1024 -> 784 -> tanh.

    ``slope`` is the LeakyReLU negative slope (the course used PyTorch's default, 0.01).
    """

    def __init__(self, z_dim: int = 100, hidden=(256, 512, 1024), slope: float = 0.01,
                 dropout: float = 0.2):
        super().__init__()
        self.z_dim = z_dim
        h1, h2, h3 = hidden
        self.net = nn.Sequential(
            *_mlp_block(z_dim, h1, slope, dropout),  # (B, 256)
            *_mlp_block(h1, h2, slope, dropout),     # (B, 512)
            *_mlp_block(h2, h3, slope, dropout),     # (B, 1024)
            nn.Linear(h3, IMG_PIXELS),               # (B, 784)
            nn.Tanh(),                               # (B, 784) in (-1, 1), like the scaled data
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *IMG_SHAPE)      # (B, 1, 28, 28)


class MLPDiscriminator(nn.Module):
    """The course's first PyTorch discriminator: 784 -> 1024 -> 512 -> 256 -> 1 logit."""

    def __init__(self, hidden=(1024, 512, 256), slope: float = 0.01, dropout: float = 0.2,
                 in_features: int = IMG_PIXELS):
        super().__init__()
        h1, h2, h3 = hidden
        self.body = nn.Sequential(
            *_mlp_block(in_features, h1, slope, dropout),  # (B, 1024)
            *_mlp_block(h1, h2, slope, dropout),           # (B, 512)
            *_mlp_block(h2, h3, slope, dropout),           # (B, 256)
        )
        self.head = nn.Linear(h3, 1)                       # (B, 1) logit

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer, used by feature matching."""
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# ---------------------------------------------------------- Keras-style minimal MLP
class KerasStyleGenerator(nn.Module):
    """Minimal Keras-style generator: Dense 128 (ReLU) + BatchNorm -> Dense 784 -> sigmoid.

    Its output lies in (0, 1), so it only matches data scaled to [0, 1]. The
    fundamentals chapter uses it to show why data scaling must match the output
    activation.
    """

    def __init__(self, z_dim: int = 100, hidden: int = 128):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden),       # (B, 128)
            nn.ReLU(),
            nn.BatchNorm1d(hidden),         # (B, 128)
            nn.Linear(hidden, IMG_PIXELS),  # (B, 784)
            nn.Sigmoid(),                   # (B, 784) in (0, 1)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *IMG_SHAPE)  # (B, 1, 28, 28)


class KerasStyleDiscriminator(nn.Module):
    """Minimal Keras-style discriminator: Dense 128 (ReLU) -> Dense 1 logit."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(IMG_PIXELS, hidden), nn.ReLU())  # (B, 128)
        self.head = nn.Linear(hidden, 1)                                      # (B, 1) logit

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# ------------------------------------------------------------------- case-study DCGAN
def _upsample_7_to_28(c_in: int, c_mid: int) -> list[nn.Module]:
    """The case-study generator's two upsampling blocks: a (c_in, 7, 7) map to a 28x28 image."""
    return [
        # 5x5 kernel, stride 2, padding 2, output_padding 1: 7 -> (7-1)*2 - 4 + 5 + 1 = 14
        nn.ConvTranspose2d(c_in, c_mid, 5, stride=2, padding=2, output_padding=1, bias=False),
        nn.BatchNorm2d(c_mid),                                             # (B, 64, 14, 14)
        nn.ReLU(),
        nn.ConvTranspose2d(c_mid, 1, 5, stride=2, padding=2, output_padding=1),  # (B, 1, 28, 28)
        nn.Tanh(),                                                         # in (-1, 1); no BN here
    ]


class DCGANGenerator(nn.Module):
    """The MNIST case-study generator.

    z (100) -> Linear 7*7*128 -> reshape -> ConvT 5x5/2 -> 14x14x64 -> BN -> ReLU
    -> ConvT 5x5/2 -> 28x28x1 -> tanh. ``width`` scales the channels (128, 64).
    """

    def __init__(self, z_dim: int = 100, width: int = 64, init: bool = True):
        super().__init__()
        self.z_dim = z_dim
        c1, c2 = 2 * width, width
        self.project = nn.Linear(z_dim, c1 * 7 * 7)                       # (B, 6272)
        self.c1 = c1
        self.net = nn.Sequential(*_upsample_7_to_28(c1, c2))                # (B, 1, 28, 28)
        if init:
            self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, self.c1, 7, 7)                        # (B, 128, 7, 7)
        return self.net(h)


class DeepDCGANGenerator(nn.Module):
    """A deeper case-study generator: the course's DCGAN blocks, one more of each.

    z (100) -> Linear 7*7*256 -> BN -> ReLU -> ConvT 5x5/1 -> 7x7x128 -> BN -> ReLU
    -> ConvT 5x5/2 -> 14x14x64 -> BN -> ReLU -> ConvT 5x5/2 -> 28x28x1 -> tanh.

    The shape of the TensorFlow DCGAN tutorial's generator. Against
    :class:`DCGANGenerator` it has three hidden nonlinearities instead of one: batch norm
    and ReLU after the projection (so the 7x7 map is already a nonlinear function of z),
    and a stride-1 transposed convolution that works at 7x7 before any upsampling.
    ``width`` scales the channels (256, 128, 64). Not the course notes' architecture:
    ``models.build("dcgan-deep")`` pairs it with the case-study discriminator, and the recipe
    ``dcgan-mnist-deep`` with that discriminator grown by a third block (``blocks=3``).
    """

    def __init__(self, z_dim: int = 100, width: int = 64, init: bool = True):
        super().__init__()
        self.z_dim = z_dim
        c0, c1, c2 = 4 * width, 2 * width, width
        self.project = nn.Sequential(
            nn.Linear(z_dim, c0 * 7 * 7, bias=False),                      # (B, 12544); BN has the bias
            nn.Unflatten(1, (c0, 7, 7)),                                   # (B, 256, 7, 7)
            nn.BatchNorm2d(c0),
            nn.ReLU(),
        )
        self.net = nn.Sequential(
            # stride 1, padding 2: 7 -> 7, the spatial size is kept
            nn.ConvTranspose2d(c0, c1, 5, stride=1, padding=2, bias=False),  # (B, 128, 7, 7)
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            *_upsample_7_to_28(c1, c2),                                    # (B, 1, 28, 28)
        )
        if init:
            self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z))


_NORMS = {
    "batch": nn.BatchNorm2d,
    "layer": lambda c: nn.GroupNorm(1, c),  # one group: layer norm over (C, H, W) of each sample
    "none": lambda c: nn.Identity(),
}


class DCGANDiscriminator(nn.Module):
    """The MNIST case-study discriminator.

    Conv 5x5/2 -> 14x14x64 -> LeakyReLU(0.2) (no BN on the input layer) -> Conv 5x5/2
    -> 7x7x128 -> BN -> LeakyReLU(0.2) -> flatten -> Linear -> 1 logit. ``in_channels``
    is 1 for images; the conditional discriminator adds a label channel.

    ``norm`` is the second layer's normalisation: ``"batch"`` (the case study),
    ``"layer"`` (per-sample, over channels and positions) or ``"none"``. A WGAN-GP critic
    needs one of the last two: batch norm mixes the samples of a batch, so the gradient
    penalty's per-sample gradient norm would no longer be per sample (Gulrajani et al. 2017).

    ``blocks=3`` grows D by one more block of the same kind, Conv 5x5/2 -> 4x4x256 -> norm
    -> LeakyReLU, before the dense layer (not the course notes' architecture): with two
    blocks the logit is a linear function of features that each see a 13x13 patch, with
    three it is a nonlinear function of the whole digit.
    """

    def __init__(self, width: int = 64, slope: float = 0.2, in_channels: int = 1,
                 init: bool = True, norm: str = "batch", blocks: int = 2):
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f"norm must be one of {sorted(_NORMS)}, got {norm!r}")
        if blocks not in (2, 3):
            raise ValueError(f"blocks must be 2 (the case study) or 3, got {blocks!r}")
        c1, c2, c3 = width, 2 * width, 4 * width

        def down(c_in, c_out):
            """Conv 5x5/2 (no bias when a norm follows; it has its own) -> norm -> LeakyReLU."""
            return [nn.Conv2d(c_in, c_out, 5, stride=2, padding=2, bias=norm == "none"),
                    _NORMS[norm](c_out),
                    nn.LeakyReLU(slope)]

        layers = [
            nn.Conv2d(in_channels, c1, 5, stride=2, padding=2),    # (B, 64, 14, 14)
            nn.LeakyReLU(slope),                                   # no BN on D's input layer
            *down(c1, c2),                                         # (B, 128, 7, 7)
        ]
        features = c2 * 7 * 7                                      # 6272
        if blocks == 3:
            # (7 + 4 - 5) // 2 + 1 = 4: a nonlinear layer over the whole digit before the logit
            layers += down(c2, c3)                                 # (B, 256, 4, 4)
            features = c3 * 4 * 4                                  # 4096
        self.body = nn.Sequential(*layers, nn.Flatten())           # (B, features)
        self.head = nn.Linear(features, 1)                         # (B, 1) logit
        if init:
            self.apply(dcgan_init)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# ------------------------------------------------------------------ conditional GANs
class _LabelEmbedding(nn.Module):
    """Looks up a learned vector per class and checks the labels."""

    def __init__(self, n_classes: int, embed_dim: int):
        super().__init__()
        self.n_classes = n_classes
        self.embed = nn.Embedding(n_classes, embed_dim)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"labels must be an integer tensor, got {y.dtype}")
        return self.embed(y)                                       # (B, embed_dim)


class ConditionalMLPGenerator(nn.Module):
    """The course's CGAN generator: [z, embed(y)] -> MLP generator."""

    def __init__(self, z_dim: int = 100, n_classes: int = 10, embed_dim: int = 16, **mlp_kwargs):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.label = _LabelEmbedding(n_classes, embed_dim)
        self.gen = MLPGenerator(z_dim + embed_dim, **mlp_kwargs)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.gen(torch.cat([z, self.label(y)], dim=1))      # (B, 1, 28, 28)


class ConditionalMLPDiscriminator(nn.Module):
    """The course's CGAN discriminator: [flatten(x), embed(y)] -> MLP discriminator."""

    def __init__(self, n_classes: int = 10, embed_dim: int = 16, **mlp_kwargs):
        super().__init__()
        self.n_classes = n_classes
        self.label = _LabelEmbedding(n_classes, embed_dim)
        self.disc = MLPDiscriminator(in_features=IMG_PIXELS + embed_dim, **mlp_kwargs)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.disc.features(torch.cat([x.flatten(1), self.label(y)], dim=1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.disc.head(self.features(x, y))                 # (B, 1) logit


class ConditionalDCGANGenerator(nn.Module):
    """Conditional case-study generator: [z, embed(y)] -> DCGAN generator."""

    def __init__(self, z_dim: int = 100, n_classes: int = 10, embed_dim: int = 16,
                 width: int = 64):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.label = _LabelEmbedding(n_classes, embed_dim)
        self.gen = DCGANGenerator(z_dim + embed_dim, width=width)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.gen(torch.cat([z, self.label(y)], dim=1))      # (B, 1, 28, 28)


class ConditionalDCGANDiscriminator(nn.Module):
    """Conditional case-study discriminator: [x, embed(y) as a 28x28 map] -> DCGAN discriminator.

    The label enters with the image, as a second input channel, so that every conv layer
    can relate the two. Why not append embed(y) to the flattened features before the last
    linear layer: there it only adds a per-class constant to the logit, independent of the
    image, so D cannot tell a wrong digit from a right one and G's classes come out in an
    arbitrary order (measured on the first cdcgan-mnist run: 29% label accuracy).
    """

    def __init__(self, n_classes: int = 10, width: int = 64):
        super().__init__()
        self.n_classes = n_classes
        self.label = _LabelEmbedding(n_classes, IMG_PIXELS)
        self.disc = DCGANDiscriminator(width=width, in_channels=2)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        label_map = self.label(y).view(-1, *IMG_SHAPE)               # (B, 1, 28, 28)
        return self.disc.features(torch.cat([x, label_map], dim=1))  # (B, 6272)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.disc.head(self.features(x, y))                 # (B, 1) logit


# The "Beyond DCGAN" models live in modules of their own. gancourse.stylegan imports nothing
# of the course, so this module imports it. gancourse.progressive trains its growing networks
# with gancourse.train, which imports this module: the layers run models -> train ->
# progressive, so progressive adds its pair to MODELS itself, with register() (importing the
# gancourse package imports it, so MODELS always holds "progressive").
from .stylegan import StyleDiscriminator, StyleGenerator  # noqa: E402

MODELS = {
    "mlp": (MLPGenerator, MLPDiscriminator),
    "keras-mlp": (KerasStyleGenerator, KerasStyleDiscriminator),
    "dcgan": (DCGANGenerator, DCGANDiscriminator),
    "dcgan-deep": (DeepDCGANGenerator, DCGANDiscriminator),      # the case study's deeper variant
    "cmlp": (ConditionalMLPGenerator, ConditionalMLPDiscriminator),
    "cdcgan": (ConditionalDCGANGenerator, ConditionalDCGANDiscriminator),
    "stylegan": (StyleGenerator, StyleDiscriminator),            # gancourse.stylegan
    # "progressive": gancourse.progressive registers ProgressiveGenerator and ProgressiveDiscriminator
}


def register(name: str, generator: type, discriminator: type) -> None:
    """Add a (generator, discriminator) pair to ``MODELS`` under ``name``, for :func:`build`.

    For model modules above this one (``gancourse.progressive``). Registering the same classes
    again (also as a reloaded module makes them anew) replaces them; other classes under a
    taken name are an error.
    """
    if not all(isinstance(c, type) and issubclass(c, nn.Module) for c in (generator, discriminator)):
        raise TypeError(f"register({name!r}, ...) needs two nn.Module classes, got {generator!r}, {discriminator!r}")

    def where(pair):
        return [f"{c.__module__}.{c.__qualname__}" for c in pair]

    if name in MODELS and where(MODELS[name]) != where((generator, discriminator)):
        raise ValueError(f"model name {name!r} is taken by {', '.join(where(MODELS[name]))}")
    MODELS[name] = (generator, discriminator)


def build(name: str, g_kwargs: dict | None = None, d_kwargs: dict | None = None):
    """Build a (generator, discriminator) pair by name; see ``MODELS`` for the names."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(sorted(MODELS))}")
    g_cls, d_cls = MODELS[name]
    return g_cls(**(g_kwargs or {})), d_cls(**(d_kwargs or {}))


def is_conditional(model: nn.Module) -> bool:
    """True for models that take labels as a second input."""
    return hasattr(model, "n_classes")
