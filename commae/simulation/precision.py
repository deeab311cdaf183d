r"""Reduced-precision (bf16) inference for learned receivers, checked against fp32 on the same draws.

:class:`Bf16Receiver` wraps a learned :class:`~commae.system.System`: it
transmits as the system does and runs its receiver under ``torch.autocast``
with bfloat16 (the CPU's bf16 matrix units through oneDNN where the CPU has
them; tensor cores on CUDA). Its decisions may differ from fp32's near the
decision boundaries, so it is used only after :func:`check_bf16` has compared
the two on the same bits, noise and fading at every Eb/N0 of the run:

* the fraction of messages whose decision changes;
* fp32's bit errors with their Clopper–Pearson interval, and bf16's bit
  errors; the check passes at a point when bf16's BER lies inside fp32's
  interval.

``commae ber-curve --precision bf16`` refuses the option for the run (exit
1) when any point fails, and writes the check into the run's JSON.

Examples
--------
>>> from commae import Autoencoder
>>> checks = check_bf16(Autoencoder(2, 1), [4.0], messages=4096, seed=0)
>>> 0.0 <= checks[0].changed <= 1.0
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ..channels import seed_from_text, split_channel_output
from ..system import System, system_no
from .statistics import clopper_pearson

__all__ = ["Bf16Receiver", "PrecisionCheck", "check_bf16"]


class Bf16Receiver(nn.Module):
    """``system`` with its receiver run in bfloat16 autocast; transmitter and channel unchanged."""

    def __init__(self, system: System) -> None:
        super().__init__()
        self.system = system
        self.k, self.n, self.bits_per_symbol, self.channel = system.k, system.n, system.bits_per_symbol, system.channel
        self.name = getattr(system, "name", None)

    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        return self.system.transmit(bits)

    def receive(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        with torch.autocast(y.device.type, dtype=torch.bfloat16):
            return self.system.receive(y, no, h)


@dataclass
class PrecisionCheck:
    """bf16 against fp32 at one Eb/N0, on the same draws."""

    ebno_db: float
    messages: int
    changed: float  # fraction of messages whose decision differs
    bits: int
    fp32_bit_errors: int
    bf16_bit_errors: int
    fp32_ber_low: float
    fp32_ber_high: float
    ok: bool  # bf16's BER inside fp32's interval

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_bf16(
    system: System,
    ebno_dbs: Iterable[float],
    *,
    messages: int = 1 << 17,
    seed: int = 0,
    device: str | torch.device = "cpu",
    confidence: float = 0.95,
) -> list[PrecisionCheck]:
    """Compare ``system``'s fp32 decisions with :class:`Bf16Receiver`'s on ``messages`` random messages per point.

    The draws come from their own seed stream (``seed``, point), so the check
    does not touch the simulation's noise.
    """
    if messages < 1:
        raise ValueError(f"messages must be positive, got {messages}")
    device = torch.device(device)
    if isinstance(system, nn.Module):
        system.to(device).eval()
    reduced = Bf16Receiver(system)
    out = []
    with torch.inference_mode():
        for point, ebno_db in enumerate(float(e) for e in ebno_dbs):
            gen = torch.Generator(device=device).manual_seed(seed_from_text(f"commae-bf16-check:{seed}:{point}"))
            bits = torch.randint(0, 2, (messages, system.k), device=device, generator=gen).to(torch.float32)
            no = system_no(system, ebno_db)
            y, h = split_channel_output(system.channel, system.channel(system.transmit(bits), no, generator=gen))
            full, half = system.receive(y, no, h), reduced.receive(y, no, h)
            e32, e16 = int((full != bits).sum()), int((half != bits).sum())
            low, high = clopper_pearson(e32, bits.numel(), confidence)
            out.append(PrecisionCheck(
                ebno_db, messages, float((full != half).any(-1).float().mean()), bits.numel(), e32, e16,
                float(low), float(high), bool(low <= e16 / bits.numel() <= high),
            ))  # fmt: skip
    return out
