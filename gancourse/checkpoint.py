"""Atomic checkpoint files and architecture checks.

Holds the file format's two halves: :func:`atomic_save` (write to a temporary file,
then rename, so a run killed mid-write never leaves a corrupt checkpoint) and
:func:`load_state_checked` (load weights, naming every mismatch of class, key or
shape), plus the RNG state a resumed run needs (:func:`get_rng_state`, :func:`set_rng_state`).
What goes *into* a checkpoint is decided by :class:`gancourse.train.Trainer` and
:mod:`gancourse.progressive`.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import nn

__all__ = ["CheckpointMismatchError", "atomic_save", "load_checkpoint", "load_state_checked",
           "get_rng_state", "set_rng_state"]


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model it is being loaded into."""


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint file written by :func:`atomic_save`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    return torch.load(path, map_location=map_location, weights_only=True)


def get_rng_state(device: torch.device) -> dict:
    """The global CPU RNG state, and the CUDA one of ``device`` when it is a GPU."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device: torch.device) -> None:
    """Restore a state of :func:`get_rng_state` (the CUDA part only on a GPU)."""
    torch.set_rng_state(state["cpu"])
    if state.get("cuda") is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def describe_mismatch(model: nn.Module, saved_class: str, state: dict) -> list[str]:
    """Every difference between ``model`` and a saved (class name, state dict)."""
    problems = []
    if saved_class != type(model).__name__:
        problems.append(f"class: checkpoint has {saved_class}, model is {type(model).__name__}")
    own = model.state_dict()
    for key in sorted(set(state) - set(own)):
        problems.append(f"{key}: in the checkpoint but not in the model")
    for key in sorted(set(own) - set(state)):
        problems.append(f"{key}: in the model but not in the checkpoint")
    for key in sorted(set(own) & set(state)):
        if tuple(own[key].shape) != tuple(state[key].shape):
            problems.append(f"{key}: checkpoint shape {tuple(state[key].shape)}, "
                            f"model shape {tuple(own[key].shape)}")
    return problems


def load_state_checked(model: nn.Module, saved: dict, name: str) -> None:
    """Load ``saved = {"class": ..., "state": ...}`` into ``model`` or raise naming each mismatch."""
    problems = describe_mismatch(model, saved["class"], saved["state"])
    if problems:
        listing = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise CheckpointMismatchError(
            f"the checkpoint's {name} does not fit this {name} ({type(model).__name__}):\n  "
            f"{listing}{more}")
    model.load_state_dict(saved["state"])
