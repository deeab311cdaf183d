"""Shared fixtures: a fixed global seed for every test and the devices to run on."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global RNG state (explicit generators are preferred)."""
    torch.manual_seed(0)


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """CPU, and CUDA when this machine has it."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["torch"] = torch
