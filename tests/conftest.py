"""Shared fixtures: fake image data, the MNIST folder when one is configured, headless Chromium."""
import os
from pathlib import Path

import pytest
import torch

from gancourse.data import ImageData


@pytest.fixture
def fake_data():
    """256 random images in [-1, 1] with labels: enough for a few steps of any model."""
    g = torch.Generator().manual_seed(0)
    images = torch.rand(256, 1, 28, 28, generator=g) * 2 - 1
    labels = torch.randint(0, 10, (256,), generator=g)
    return ImageData(images, labels)


@pytest.fixture
def mnist_dir():
    path = os.environ.get("GANCOURSE_MNIST")
    if not path:
        pytest.skip("GANCOURSE_MNIST is not set (the CI script sets it)")
    return path


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Build the HTML book once per test session (warnings are errors); return the html folder."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "-W", "-n",
                           "--keep-going", "--path-output", str(out)],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail("jupyter-book build failed:\n" + proc.stdout[-5000:] + proc.stderr[-3000:])
    return out / "_build" / "html"


CHROMIUM = Path("/usr/bin/chromium")   # Debian's; .ci/run installs it
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by playwright, one per test module; skips where either is missing."""
    if not CHROMIUM.exists():
        pytest.skip("needs headless Chromium at /usr/bin/chromium")
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
