"""A small error counter for the component tests, independent of the engine in ``commae.simulation``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.stats import beta

from commae import System, system_no
from commae.system import errors


@dataclass
class Counts:
    bits: int = 0
    bit_errors: int = 0
    symbols: int = 0
    symbol_errors: int = 0
    blocks: int = 0
    block_errors: int = 0


def count_errors(
    system: System,
    ebno_db: float,
    min_errors: int = 200,
    unit: str = "bit",
    batch_size: int = 1 << 16,
    max_batches: int = 2000,
    seed: int = 1,
) -> Counts:
    """Send random bits through ``system`` until ``unit`` ("bit", "symbol" or "block") has ``min_errors`` errors."""
    gen = torch.Generator().manual_seed(seed)
    no = system_no(system, ebno_db)
    c = Counts()
    for _ in range(max_batches):
        bits = torch.randint(0, 2, (batch_size, system.k), generator=gen).float()
        e = errors(system, bits, no, gen)
        c.bits += e.bits.numel()
        c.bit_errors += int(e.bits.sum())
        c.symbols += e.symbols.numel()
        c.symbol_errors += int(e.symbols.sum())
        c.blocks += batch_size
        c.block_errors += int(e.blocks.sum())
        if getattr(c, f"{unit}_errors") >= min_errors:
            return c
    raise AssertionError(f"fewer than {min_errors} {unit} errors after {max_batches} batches")


def clopper_pearson(errors: int, trials: int, confidence: float = 0.999) -> tuple[float, float]:
    """Exact two-sided Clopper–Pearson interval of a binomial proportion."""
    alpha = 1 - confidence
    low = beta.ppf(alpha / 2, errors, trials - errors + 1) if errors > 0 else 0.0
    high = beta.ppf(1 - alpha / 2, errors + 1, trials - errors) if errors < trials else 1.0
    return float(low), float(high)


def assert_inside(errors: int, trials: int, p: float, what: str, confidence: float = 0.999) -> None:
    low, high = clopper_pearson(errors, trials, confidence)
    assert low <= p <= high, f"{what}: theory {p:.4e} outside the {confidence:.1%} interval [{low:.4e}, {high:.4e}] of {errors}/{trials} = {errors / trials:.4e}"
