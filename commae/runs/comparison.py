"""The run's validation set, and the classic baselines measured on it beside the learned system.

The validation set is fixed by the run's seed, so validation numbers compare
across epochs and runs. A baseline of the same ``n`` sees exactly the
learned system's messages and noise; one of another ``n`` (uncoded BPSK
beside a (7,4) run) sees the same messages at the same Eb/N0 with noise of
its own.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from ..baselines import matching_baselines
from ..models import SystemConfig
from ..training import MessageBatches, TrainConfig, derive_seed, evaluate_system

__all__ = ["BaselineComparison", "validation_set", "compare_with_baselines"]


def validation_set(system: SystemConfig, train: TrainConfig, device: torch.device) -> MessageBatches:
    """``train.val_size`` messages (rounded down to equal chunks of at most 2**15), fixed by the run's seed."""
    chunks = math.ceil(train.val_size / (1 << 15))
    return MessageBatches(system.k, system.n, train.val_size // chunks, chunks, train.ebno_db, derive_seed(train.seed, "val"), device, fixed=True)


@dataclass
class BaselineComparison:
    """The matching baseline's name and metrics (None: no baseline has these k and n), and the other baselines' metrics by name."""

    baseline: str | None
    metrics: dict[str, float] | None
    others: dict[str, dict[str, float]]


def compare_with_baselines(system: SystemConfig, train: TrainConfig, val_batches: MessageBatches, device: torch.device) -> BaselineComparison:
    """Evaluate the baselines that match ``system`` (:func:`~commae.baselines.matching_baselines`) on the run's validation set."""
    baselines = matching_baselines(system.k, system.n, system.make_channel())
    baseline = baselines[0] if baselines else None
    metrics = evaluate_system(baseline.to(device), val_batches) if baseline is not None else None
    others = {}
    for other in baselines[1:]:  # same messages; a system with another n gets its own noise at the same Eb/N0
        batches = val_batches if other.n == system.n else validation_set(dataclasses.replace(system, n=other.n), train, device)
        others[other.name] = evaluate_system(other.to(device), batches)
    return BaselineComparison(getattr(baseline, "name", None), metrics, others)
