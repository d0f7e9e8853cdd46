"""gancourse: the small, exact PyTorch library behind the GAN course.

Submodules (import what you need; importing this package changes no global state:
no seeding, no matplotlib rcParams, no warning filters, no downloads):

- :mod:`gancourse.data`    MNIST / Fashion-MNIST as whole tensors in [-1, 1]
- :mod:`gancourse.models`  MLP, Keras-style, DCGAN and conditional generators/discriminators
- :mod:`gancourse.losses`  GAN objectives and regularisers on logits
- :mod:`gancourse.train`   d_step, g_step, Trainer, callbacks, checkpoints
- :mod:`gancourse.progressive` progressive growing, built on train (adds "progressive" to models.MODELS)
- :mod:`gancourse.utils`   seeding, device choice, image grids, plot style
- :mod:`gancourse.metrics` the course's MNIST classifier, FID, IS, coverage
- ``gancourse.pretrained(name)`` loads a shipped generator offline
"""
from . import data, losses, models, progressive, train, utils  # progressive adds itself to models.MODELS
from .data import load_mnist, load_fashion_mnist
from .pretrained import pretrained
from .train import Trainer, TrainConfig
from .utils import resolve_device, seed_everything

__version__ = "0.1.0"  # the same as pyproject.toml's: tests/test_repo.py checks they agree

__all__ = ["data", "losses", "models", "train", "utils", "load_mnist", "load_fashion_mnist",
           "Trainer", "TrainConfig", "resolve_device", "seed_everything", "pretrained", "__version__"]
