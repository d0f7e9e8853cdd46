"""Shipped pretrained generators, loaded offline: ``gancourse.pretrained("dcgan-mnist")``.

Holds :func:`load` (exported as ``gancourse.pretrained``), :func:`card` (the JSON model
card) and :func:`available` (the names whose weights are shipped). The files are the
ones :func:`gancourse.pretrain.export` writes: ``<name>.pt`` (fp16 generator weights
with the model name and its arguments) and ``<name>.json`` (the card).

Where they are looked for: the ``weights_dir`` argument, else the environment
variable ``GANCOURSE_WEIGHTS``, else ``gancourse/weights/`` inside the package.

It never trains or downloads anything; training is :mod:`gancourse.pretrain`.
``gancourse.pretrained`` is the function :func:`load`; it also carries ``.card`` and
``.available`` and ``.load``, so ``gancourse.pretrained.card("dcgan-mnist")`` works too.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .checkpoint import load_state_checked
from .models import MODELS
from .recipes import RECIPES
from .utils import resolve_device

__all__ = ["PretrainedNotFoundError", "load", "load_file", "pretrained", "card", "available", "weights_dir"]

PACKAGE_WEIGHTS = Path(__file__).resolve().parent / "weights"


class PretrainedNotFoundError(LookupError):
    """The name is not a published generator, or its weights are not shipped (yet)."""


def weights_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder searched: ``path``, else ``$GANCOURSE_WEIGHTS``, else the package's weights/."""
    if path is not None:
        return Path(path)
    env = os.environ.get("GANCOURSE_WEIGHTS")
    return Path(env).expanduser() if env else PACKAGE_WEIGHTS


def available(path: str | os.PathLike | None = None) -> list[str]:
    """The published generator names whose weights are in the weights folder."""
    folder = weights_dir(path)
    return [name for name in RECIPES if (folder / f"{name}.pt").is_file()]


def _check(name: str, path) -> Path:
    folder = weights_dir(path)
    shipped = available(path)
    listing = ", ".join(shipped) if shipped else "none yet"
    if name not in RECIPES:
        raise PretrainedNotFoundError(
            f"unknown pretrained generator {name!r}. Available: {listing}. "
            f"Published names: {', '.join(RECIPES)}.")
    if name not in shipped:
        raise PretrainedNotFoundError(
            f"the weights of {name!r} are not shipped yet (no {folder / (name + '.pt')}). "
            f"Available: {listing}. Train and export them with `python -m gancourse.pretrain {name}`.")
    return folder / f"{name}.pt"


def load(name: str, device: str | torch.device = "cpu", weights_dir: str | os.PathLike | None = None
         ) -> nn.Module:
    """The shipped generator ``name`` in eval mode, float32, on ``device`` (``"auto"`` picks one).

    The generator's ``pretrained_name`` attribute holds ``name``.

    >>> G = gancourse.pretrained("dcgan-mnist")
    >>> images = G(torch.randn(16, G.z_dim))   # (16, 1, 28, 28) in [-1, 1]
    """
    G = load_file(_check(name, weights_dir), device)
    # The name lets the latent explorer give the static book this generator, run in the page
    # (it checks that the weights still are the shipped ones: gancourse.interactive.export).
    G.pretrained_name = name
    return G


def load_file(file: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """A generator from a weights file in the shipped format (the model's name, its arguments and
    an fp16 state dict), in eval mode, float32, on ``device``: for files that are not a published
    name, such as the measured steps of a longer run that chapter 08 compares."""
    file = Path(file)
    saved = torch.load(file, map_location="cpu", weights_only=True)
    model_name = saved.get("model")
    if model_name not in MODELS:
        raise ValueError(f"{file}: unknown model {model_name!r}; valid: {', '.join(MODELS)}")
    G = MODELS[model_name][0](**saved.get("g_kwargs", {}))
    # fp16 values are copied into G's float32 parameters; any key or shape mismatch is named.
    load_state_checked(G, {"class": type(G).__name__, "state": saved["state"]}, "generator")
    return G.float().to(resolve_device(device)).eval()


def card(name: str, weights_dir: str | os.PathLike | None = None) -> dict:
    """The JSON model card of the shipped generator ``name`` (recipe, steps, time, device, ...)."""
    file = _check(name, weights_dir).with_suffix(".json")
    if not file.is_file():
        raise PretrainedNotFoundError(f"{name!r} has weights but no model card at {file}")
    return json.loads(file.read_text())


pretrained = load
pretrained.card = card
pretrained.available = available
pretrained.load = load  # so that gancourse.pretrained.load("dcgan-mnist") reads as it does for the module
pretrained.weights_dir = weights_dir  # where the shipped weights, cards and run records are
pretrained.load_file = load_file
