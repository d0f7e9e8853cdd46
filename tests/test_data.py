"""The data loader: the three places it looks, scaling, options, and its errors."""
import gzip
import os
import socket
from pathlib import Path

import pytest
import torch

from gancourse import data as gdata


def test_offline_error_names_all_three_ways(tmp_path, monkeypatch):
    """No root, no variable, nothing cached and no network: one clear error."""
    monkeypatch.delenv("GANCOURSE_MNIST", raising=False)
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path))

    def no_network(*args, **kwargs):
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    with pytest.raises(gdata.DataNotFoundError) as err:
        gdata.load_mnist()
    msg = str(err.value)
    assert "root=" in msg and "GANCOURSE_MNIST" in msg and "download" in msg


def test_variable_pointing_at_an_empty_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_MNIST", str(tmp_path))
    with pytest.raises(gdata.DataNotFoundError, match="GANCOURSE_MNIST"):
        gdata.load_mnist()


def test_bad_options():
    with pytest.raises(ValueError, match="unknown dataset"):
        gdata.load_dataset("cifar")
    with pytest.raises(ValueError, match="subset"):
        gdata.load_mnist(subset=0)


def _write_fake_idx(folder: Path, n: int = 20):
    """Four tiny IDX .gz files in MNIST's format."""
    import struct

    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", n), ("t10k", n // 2)):
        pixels = bytes((i * 7) % 256 for i in range(count * 28 * 28))
        labels = bytes(i % 10 for i in range(count))
        with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, count, 28, 28) + pixels)
        with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, count) + labels)


def test_gz_folder_from_variable_is_decompressed_once(tmp_path, monkeypatch):
    src = tmp_path / "idx"
    _write_fake_idx(src)
    monkeypatch.setenv("GANCOURSE_MNIST", str(src))
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path / "cache"))
    d = gdata.load_mnist(digits=[3, 7])
    raw = tmp_path / "cache" / "mnist" / "MNIST" / "raw" / "train-images-idx3-ubyte"
    assert raw.is_file()
    mtime = raw.stat().st_mtime_ns
    assert d.images.shape == (4, 1, 28, 28) and set(d.labels.tolist()) == {3, 7}
    assert d.images.min() >= -1 and d.images.max() <= 1
    gdata.load_mnist(train=False)
    assert raw.stat().st_mtime_ns == mtime  # not decompressed again


def test_explicit_root_wins(tmp_path, monkeypatch):
    src = tmp_path / "mine"
    _write_fake_idx(src, n=10)
    monkeypatch.setenv("GANCOURSE_MNIST", str(tmp_path / "does-not-exist"))
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path / "cache"))
    assert len(gdata.load_mnist(root=src)) == 10
    with pytest.raises(gdata.DataNotFoundError, match="neither"):
        gdata.load_mnist(root=tmp_path / "empty")


def test_batches_cover_the_data_once(fake_data):
    seen = torch.cat([y for _, y in fake_data.batches(64, torch.Generator().manual_seed(0))])
    assert len(seen) == 256
    assert sorted(seen.tolist()) == sorted(fake_data.labels.tolist())


def test_real_mnist(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path))
    d = gdata.load_mnist(train=True)
    assert d.images.shape == (60000, 1, 28, 28)
    assert d.images.min().item() == -1.0 and d.images.max().item() == 1.0
    assert torch.bincount(d.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    sevens = gdata.load_mnist(train=False, digits=[7], subset=100)
    assert len(sevens) == 100 and sevens.labels.eq(7).all()


def test_fashion_mnist_from_debian_package(tmp_path, monkeypatch):
    """Fashion-MNIST comes from Debian's dataset-fashion-mnist package (.ci/run installs it)."""
    if not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    monkeypatch.delenv("GANCOURSE_FASHION_MNIST", raising=False)
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path))
    d = gdata.load_fashion_mnist(train=False, digits=[0, 9])
    assert len(d) == 2000 and d.images.shape[1:] == (1, 28, 28)
    assert d.images.min().item() == -1.0 and d.images.max().item() == 1.0


def _decompress_in_child(cache: str, src: str, out: "multiprocessing.Queue") -> None:
    os.environ["GANCOURSE_CACHE"] = cache
    from gancourse import data as D
    try:
        D._decompress_into_cache({"train-images-idx3-ubyte": Path(src)}, D.DATASETS["mnist"])
        out.put("ok")
    except Exception as e:  # noqa: BLE001 - the test reports whatever went wrong
        out.put(repr(e))


def test_two_runs_started_together_share_the_cache(tmp_path):
    """Two trainings started at once both decompress MNIST into an empty cache: neither fails.

    (They once wrote the same ``.part`` file, and the second ``os.replace`` found it gone.)
    """
    import multiprocessing

    payload = os.urandom(1 << 20) * 24  # 24 MiB: long enough for the writers to overlap
    src = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(src, "wb", compresslevel=1) as f:
        f.write(payload)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_decompress_in_child, args=(str(tmp_path / "cache"), str(src), out))
             for _ in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == ["ok"] * 4
    raw = tmp_path / "cache" / "mnist" / "MNIST" / "raw"
    assert (raw / "train-images-idx3-ubyte").read_bytes() == payload
    assert not list(raw.glob("*.part"))
