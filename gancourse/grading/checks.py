"""Assertions used by the exercises' test cells, with messages written for students.

Test cells reload this module before using it (``checks = importlib.reload(checks)``),
so a notebook that redefines or monkeypatches these helpers changes nothing. Every
check raises ``AssertionError`` with a message saying what was expected; a cell that
raises scores 0 and a cell that finishes scores its points (nbgrader's rule).

:func:`fresh` loads a private copy of a ``gancourse`` module from its file, for test
cells that compare an answer with the library's reference implementation.

This module holds no exercises and no grading machinery.
"""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

__all__ = ["close", "shape", "check", "finite", "fresh", "tensor_like", "isclose"]


def _as_float_tensor(x, name: str):
    import torch

    if isinstance(x, (int, float)):
        return torch.tensor(float(x), dtype=torch.float64)
    if not isinstance(x, torch.Tensor):
        raise AssertionError(f"{name} should be a torch.Tensor or a number, got {type(x).__name__}")
    return x.detach().to("cpu", torch.float64)


def tensor_like(x, name: str = "result") -> None:
    """``x`` is a torch tensor."""
    import torch

    if not isinstance(x, torch.Tensor):
        raise AssertionError(f"{name} should be a torch.Tensor, got {type(x).__name__}")


def shape(x, expected, name: str = "result") -> None:
    """``x`` is a tensor of exactly this shape."""
    tensor_like(x, name)
    if tuple(x.shape) != tuple(expected):
        raise AssertionError(f"{name} has shape {tuple(x.shape)}, expected {tuple(expected)}")


def finite(x, name: str = "result") -> None:
    """Every entry of ``x`` is finite (no NaN, no infinity)."""
    t = _as_float_tensor(x, name)
    if not bool(t.isfinite().all()):
        bad = int((~t.isfinite()).sum())
        raise AssertionError(f"{name} has {bad} NaN or infinite entr{'y' if bad == 1 else 'ies'}")


def close(actual, expected, name: str = "result", atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """``actual`` equals ``expected`` (same shape, finite, within ``atol + rtol * |expected|``)."""
    a, e = _as_float_tensor(actual, name), _as_float_tensor(expected, "the expected value")
    if a.shape != e.shape:
        raise AssertionError(f"{name} has shape {tuple(a.shape)}, expected {tuple(e.shape)}")
    finite(a, name)
    err = (a - e).abs()
    tol = atol + rtol * e.abs()
    if bool((err > tol).any()):
        i = int((err - tol).flatten().argmax())
        if a.dim() == 0:
            raise AssertionError(f"{name} is {a.item():.6g}, expected {e.item():.6g}")
        raise AssertionError(f"{name} is wrong: entry {i} (flattened) is {a.flatten()[i].item():.6g}, "
                             f"expected {e.flatten()[i].item():.6g} (max abs error {err.max().item():.3g})")


def check(condition, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


def fresh(module: str):
    """A private copy of ``gancourse.<module>`` executed from its file.

    Changes a notebook made to the imported module (``gancourse.losses.x = ...``) do
    not reach the copy, so a test can trust it as the reference.
    """
    import gancourse

    path = Path(gancourse.__file__).resolve().parent / f"{module}.py"
    name = f"_gancourse_reference_{module}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "gancourse"
    sys.modules[name] = mod  # dataclasses and typing look the module up while it runs
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop(name, None)
    return mod


def isclose(a: float, b: float, tol: float = 1e-9) -> bool:
    """Plain-float comparison with an absolute and relative tolerance."""
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
