"""Small explicit helpers: seeding, device choice, CPU threads, image grids, plot style and source
listings.

Nothing here runs on import. Seeding, thread counts and plot styling change only when you call
:func:`seed_everything`, :func:`set_cpu_threads` or :func:`set_plot_style`.
"""
from __future__ import annotations

import os
import platform
import random
import re

import torch

__all__ = ["seed_everything", "resolve_device", "set_cpu_threads", "describe_device", "image_grid",
           "show_images", "set_plot_style", "show_source", "print_wrapped"]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's (if installed) and torch's global generators."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover - numpy ships with torch's usual installs
        pass


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or None) picks cuda, then mps, then cpu; anything else is taken as given."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'mps'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch.cuda.is_available() is False")
    return dev


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one, as in
    containers and Colab), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def set_cpu_threads(threads: int | None = None) -> int:
    """Set the threads PyTorch computes with on a CPU: ``threads``, or None for every usable core.

    Returns the number now in use. A notebook calls ``set_cpu_threads(None)`` to use the whole
    machine whatever ran before in its kernel; one thread makes timings comparable across
    machines of different sizes.
    """
    if threads is None:
        threads = usable_cores()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be None (every core) or an int >= 1, got {threads!r}")
    torch.set_num_threads(threads)
    return torch.get_num_threads()


def describe_device(device: torch.device) -> str:
    """The device in words for logs and model cards: the GPU's name, or the CPU and its threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def image_grid(images: torch.Tensor, nrow: int = 8, value_range=(-1.0, 1.0)) -> torch.Tensor:
    """Tile (B, 1, H, W) images into one (H', W') tensor in [0, 1] for plotting."""
    from torchvision.utils import make_grid

    images = images.detach().float().cpu()
    if images.dim() == 2:  # flattened 784-vectors
        images = images.view(-1, 1, 28, 28)
    lo, hi = value_range
    images = ((images - lo) / (hi - lo)).clamp(0, 1)
    return make_grid(images, nrow=nrow, padding=2, pad_value=1.0)[0]


def show_images(images: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None,
                value_range=(-1.0, 1.0)):
    """Show a batch of images as a grid on a matplotlib axis; return the axis."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(nrow * 0.6, max(1, len(images) // nrow) * 0.6 + 0.4))
    ax.imshow(image_grid(images, nrow, value_range).numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def set_plot_style() -> None:
    """The course's matplotlib style. Call it explicitly; importing gancourse never does."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.dpi": 100,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "font.size": 10,
    })


def print_wrapped(obj, width: int = 88) -> None:
    """``print(obj)`` with every line longer than ``width`` broken, so it fits the book's column.

    A line is broken first before keyword arguments (``Conv2d(1, 64,`` / ``kernel_size=...``,
    as a module's printout reads best), then at spaces; its continuation lines are indented
    four more than the line itself.
    """
    import textwrap

    for line in str(obj).split("\n"):
        indent = " " * (len(line) - len(line.lstrip()) + 4)
        pieces = re.split(r"(?<=,) (?=\w+=)", line)
        parts = [pieces[0]]  # the line's parts, each to be printed on lines of its own
        for piece in pieces[1:]:
            if len(parts[-1]) + 1 + len(piece) > width:
                parts.append(indent + piece)
            else:
                parts[-1] += " " + piece
        for part in parts:
            print(textwrap.fill(part, width, subsequent_indent=indent, break_long_words=False))


class SourceCode:
    """Python source shown as a highlighted code block in notebooks and the book, as text elsewhere."""

    def __init__(self, source: str):
        self.source = source

    def _repr_markdown_(self) -> str:
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", self.source)), default=0))
        return f"{fence}python\n{self.source.rstrip()}\n{fence}\n"

    def __repr__(self) -> str:
        return self.source.rstrip()


def show_source(*objects) -> None:
    """Show the library's own code of each function or class, so a page never holds a pasted copy.

    In a notebook (and so in the book) each is displayed as a Python code block, highlighted
    like the cells around it; outside IPython it is printed.
    """
    import inspect

    sources = [SourceCode(inspect.getsource(obj)) for obj in objects]
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    in_ipython = get_ipython is not None and get_ipython() is not None
    for source in sources:
        if in_ipython:
            display(source)
        else:
            print(source.source)
