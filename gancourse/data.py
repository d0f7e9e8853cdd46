"""MNIST and Fashion-MNIST as whole tensors, scaled to [-1, 1].

This module finds the data, loads it once through torchvision, and holds it as a
single tensor on the training device so that batches are drawn by index with no
per-item Python transforms.

It does not train anything and it does not augment images.

Where the data is looked for, in order:

1. an explicit ``root`` argument (a torchvision root, or a folder holding the four
   IDX ``.gz`` files);
2. an environment variable (``GANCOURSE_MNIST`` or ``GANCOURSE_FASHION_MNIST``) that
   points at a folder holding the four IDX ``.gz`` files; they are decompressed once
   into a cache (``GANCOURSE_CACHE``, default ``~/.cache/gancourse``);
   for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist`` is tried next;
3. torchvision's download into that cache.

When all three fail, :class:`DataNotFoundError` names all three ways to provide it.
"""
from __future__ import annotations

import gzip
import os
import shutil
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch

__all__ = ["DataNotFoundError", "ImageData", "BatchStream", "load_mnist", "load_fashion_mnist", "load_dataset",
           "DATASETS", "cache_dir"]

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class _Spec:
    name: str            # our name
    folder: str          # torchvision's folder name under the root
    env: str             # environment variable that may point at the .gz files
    system_dirs: tuple   # well-known folders, tried after the variable


DATASETS = {
    "mnist": _Spec("mnist", "MNIST", "GANCOURSE_MNIST", ()),
    "fashion-mnist": _Spec("fashion-mnist", "FashionMNIST", "GANCOURSE_FASHION_MNIST",
                           ("/usr/share/datasets/fashion-mnist",)),
}


class DataNotFoundError(RuntimeError):
    """The dataset is not on disk and could not be downloaded."""


def cache_dir() -> Path:
    """The folder where decompressed and downloaded data is kept."""
    return Path(os.environ.get("GANCOURSE_CACHE", Path.home() / ".cache" / "gancourse"))


def _has_raw(root: Path, spec: _Spec) -> bool:
    raw = root / spec.folder / "raw"
    return all((raw / f).is_file() for f in IDX_FILES)


def _idx_source(folder: Path) -> dict | None:
    """Map each IDX name to a file in ``folder`` (``.gz`` or already decompressed)."""
    found = {}
    for f in IDX_FILES:
        for candidate in (folder / (f + ".gz"), folder / f):
            if candidate.is_file():
                found[f] = candidate
                break
        else:
            return None
    return found


def _decompress_into_cache(sources: dict, spec: _Spec) -> Path:
    """Decompress the IDX files once into ``<cache>/<name>/<Folder>/raw``; return the root."""
    root = cache_dir() / spec.name
    raw = root / spec.folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, src in sources.items():
        dst = raw / name
        if dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime:
            continue
        # A name of this process's own: two runs started together (two trainings, or
        # pytest-xdist workers) each write a whole file and the last replace wins.
        tmp = dst.with_name(f"{dst.name}.{os.getpid()}.part")
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as fin, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        os.replace(tmp, dst)  # atomic: a killed run never leaves half a file
    return root


def _resolve_root(spec: _Spec, root: str | os.PathLike | None) -> tuple[Path, bool]:
    """Return (torchvision root, whether a download is needed)."""
    if root is not None:
        root = Path(root).expanduser()
        if _has_raw(root, spec):
            return root, False
        sources = _idx_source(root)
        if sources:
            return _decompress_into_cache(sources, spec), False
        raise DataNotFoundError(
            f"{spec.name}: the root {str(root)!r} holds neither {spec.folder}/raw/<IDX files> "
            f"nor the four IDX .gz files ({', '.join(f + '.gz' for f in IDX_FILES)}).")
    candidates = []
    if os.environ.get(spec.env):
        candidates.append(Path(os.environ[spec.env]).expanduser())
    candidates += [Path(d) for d in spec.system_dirs]
    for folder in candidates:
        sources = _idx_source(folder)
        if sources:
            return _decompress_into_cache(sources, spec), False
        if _has_raw(folder, spec):
            return folder, False
    if os.environ.get(spec.env):
        raise DataNotFoundError(
            f"{spec.name}: {spec.env}={os.environ[spec.env]!r} does not hold the four IDX files "
            f"({', '.join(f + '.gz' for f in IDX_FILES)}).")
    cached = cache_dir() / spec.name
    return cached, not _has_raw(cached, spec)


def _not_found_message(spec: _Spec, err: BaseException) -> str:
    return (
        f"Could not find or download {spec.name} ({type(err).__name__}: {err}).\n"
        f"Provide it in one of three ways:\n"
        f"  1. pass root=... (a torchvision root, or a folder holding the four IDX .gz files);\n"
        f"  2. set the environment variable {spec.env} to a folder holding "
        f"{', '.join(f + '.gz' for f in IDX_FILES)};\n"
        f"  3. connect to the internet so that torchvision can download it into {cache_dir() / spec.name}."
    )


def _torchvision_dataset(spec: _Spec, root: Path, train: bool, download: bool):
    from torchvision import datasets  # imported here: importing gancourse stays cheap

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[spec.name]
    if not download:
        return cls(str(root), train=train, download=False)
    try:
        return cls(str(root), train=train, download=True)
    except (urllib.error.URLError, OSError, RuntimeError) as err:
        raise DataNotFoundError(_not_found_message(spec, err)) from None


@dataclass
class ImageData:
    """A whole image dataset as tensors: ``images`` (N, 1, 28, 28) in [-1, 1], ``labels`` (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device) -> "ImageData":
        return ImageData(self.images.to(device), self.labels.to(device))

    def batches(self, batch_size: int, generator: torch.Generator | None = None,
                drop_last: bool = True) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        """One shuffled pass over the data, batches drawn by index on the data's device."""
        perm = torch.randperm(len(self), generator=generator, device="cpu").to(self.images.device)
        stop = len(self) - (len(self) % batch_size if drop_last else 0)
        for i in range(0, stop, batch_size):
            idx = perm[i:i + batch_size]
            yield self.images[idx], self.labels[idx]


class BatchStream:
    """Endless shuffled batch indices: a new permutation each epoch, the last partial batch dropped.

    The training loops (:class:`gancourse.train.Trainer`, :mod:`gancourse.progressive`) draw
    their batches from one of these, with the global RNG they run under. :meth:`state_dict`
    keeps the current permutation and how far into it the run has read, so a resumed run
    reads exactly the batches an uninterrupted one would.
    """

    def __init__(self, n: int, batch_size: int, device: torch.device | str = "cpu"):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if batch_size > n:
            raise ValueError(f"batch_size {batch_size} exceeds the dataset size {n}")
        self.n, self.batch_size, self.device = n, batch_size, torch.device(device)
        self.perm: torch.Tensor | None = None
        self.pos = 0

    def next_index(self) -> torch.Tensor:
        """The next batch's indices, on the stream's device."""
        if self.perm is None or self.pos + self.batch_size > self.n:
            self.perm = torch.randperm(self.n).to(self.device)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def state_dict(self) -> dict:
        return {"perm": None if self.perm is None else self.perm.cpu(), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        perm = state["perm"]
        if perm is not None and len(perm) != self.n:
            raise ValueError(f"the checkpoint was trained on {len(perm)} images, this data has {self.n}")
        self.perm = None if perm is None else perm.to(self.device)
        self.pos = state["pos"]


def load_dataset(name: str = "mnist", train: bool = True, root=None,
                 digits: Sequence[int] | None = None, subset: int | None = None,
                 device: str | torch.device = "cpu", seed: int = 0) -> ImageData:
    """Load MNIST or Fashion-MNIST as one tensor scaled to [-1, 1].

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        train: the 60k training split, else the 10k test split.
        root: an explicit root (see the module docstring).
        digits: keep only these classes, e.g. ``[7]`` for the StyleGAN chapter.
        subset: keep this many images, drawn at random with ``seed`` (for fast runs).
        device: where the tensors live.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    if subset is not None and (not isinstance(subset, int) or subset <= 0):
        raise ValueError(f"subset must be a positive int or None, got {subset!r}")
    spec = DATASETS[name]
    tv_root, download = _resolve_root(spec, root)
    ds = _torchvision_dataset(spec, tv_root, train, download)
    images, labels = ds.data, ds.targets  # uint8 (N, 28, 28), int64 (N,)
    if digits is not None:
        digits = list(digits)
        bad = [d for d in digits if not (isinstance(d, int) and 0 <= d <= 9)]
        if bad or not digits:
            raise ValueError(f"digits must be a non-empty list of ints in 0..9, got {digits!r}")
        keep = torch.isin(labels, torch.tensor(digits))
        images, labels = images[keep], labels[keep]
    if subset is not None and subset < len(labels):
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(labels), generator=g)[:subset]
        images, labels = images[idx], labels[idx]
    # One vectorised scaling for the whole set: uint8 [0, 255] -> float [-1, 1] (tanh's range).
    x = images.unsqueeze(1).float().div_(127.5).sub_(1.0)
    return ImageData(x.contiguous(), labels.clone()).to(device)


def load_mnist(train: bool = True, **kwargs) -> ImageData:
    """MNIST as one tensor in [-1, 1]; see :func:`load_dataset` for the options."""
    return load_dataset("mnist", train=train, **kwargs)


def load_fashion_mnist(train: bool = True, **kwargs) -> ImageData:
    """Fashion-MNIST as one tensor in [-1, 1]; see :func:`load_dataset` for the options."""
    return load_dataset("fashion-mnist", train=train, **kwargs)
