"""Shared fixtures: a fixed global seed for every test, the devices to run on, and one intra-op thread where a module asks for it."""

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


@pytest.fixture
def one_thread():
    """Run the test on one intra-op thread and restore the count after: the results do not depend on it, and on a small
    shared CPU two threads stall at every mid-sized operator (decoders, quadratures). A module opts in with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """CPU, and CUDA when this machine has it."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["torch"] = torch
