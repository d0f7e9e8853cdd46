"""Shared fixtures: fake image data, and the MNIST folder when one is configured."""
import os

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
