"""The ``System`` protocol: transmit → channel → receive.

Everything that sends bits over a channel — the learned autoencoder and every
baseline — implements it, and the Monte-Carlo engine, the information code and
the plots know a system only through it. So a learned system and a baseline
are simulated by the same code on the same bits and the same noise.

A system sends ``k`` information bits per *message* in ``n`` channel uses
(complex, or real when its channel is real). A message is also a *block* for
BLER. For SER a message is cut into *symbols* of ``bits_per_symbol`` bits
(a QAM symbol, one BPSK bit, or the whole message).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import torch

from .channels import Channel, split_channel_output
from .snr import ebno_db_to_esno_db, ebno_db_to_no

__all__ = ["System", "transmit_receive", "errors", "Errors", "system_no", "tunes_to_snr", "at_esno", "at_ebno"]


@runtime_checkable
class System(Protocol):
    """What the simulator needs of a communication system.

    Attributes
    ----------
    k : int
        Information bits per message.
    n : int
        Channel uses per message (Eb/N0 counts ``k/n`` bits per use).
    bits_per_symbol : int
        Bits per symbol for SER; divides ``k``.
    channel : Channel
        The channel the system is designed for.
    """

    k: int
    n: int
    bits_per_symbol: int
    channel: Channel

    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``[B, k]`` (float {0, 1}) to channel symbols ``[B, n]`` (complex64, or float for a real channel)."""
        ...

    def receive(self, y: torch.Tensor, no: torch.Tensor | float, h: torch.Tensor | None = None) -> torch.Tensor:
        """Received ``[B, n]`` (and CSI ``h`` when the channel gives it) to hard bit decisions ``[B, k]``."""
        ...


def system_no(system: System, ebno_db: float | torch.Tensor) -> float | torch.Tensor:
    """Linear N0 at which ``system`` runs for Eb/N0 ``ebno_db`` (dB), with ``k/n`` bits per use."""
    return ebno_db_to_no(ebno_db, k=system.k, n=system.n)


def tunes_to_snr(system: object) -> bool:
    """Whether ``system`` is tuned to the SNR it runs at: it has an ``at_esno(esno_db)`` giving the system of that SNR (e.g. :class:`~commae.baselines.BestMaxwellBoltzmannModem`)."""
    return callable(getattr(system, "at_esno", None))


def at_esno(system: System, esno_db: float) -> System:
    """The system that runs at Es/N0 ``esno_db`` (dB per channel use): ``system.at_esno(esno_db)`` for a system tuned to the SNR, else ``system`` itself.

    The engine and ``commae info`` ask every system this at every point, so a
    baseline whose parameters depend on the SNR (Maxwell–Boltzmann QAM with
    the best :math:`\nu` there) runs with those of the point.
    """
    return system.at_esno(float(esno_db)) if tunes_to_snr(system) else system


def at_ebno(system: System, ebno_db: float) -> System:
    """:func:`at_esno` at the Es/N0 of Eb/N0 ``ebno_db`` (dB) for this system's ``k/n`` bits per channel use."""
    return at_esno(system, float(ebno_db_to_esno_db(ebno_db, system.k, system.n))) if tunes_to_snr(system) else system


def transmit_receive(
    system: System,
    bits: torch.Tensor,
    no: float | torch.Tensor,
    generator: torch.Generator | int | None = None,
) -> torch.Tensor:
    """Send ``bits`` ``[B, k]`` through ``system`` at linear ``no``; return its hard decisions ``[B, k]``.

    The channel draws from ``generator``; two systems with the same ``(k, n)``
    and channel given generators in the same state see the same fading and
    noise.
    """
    x = system.transmit(bits)
    y, h = split_channel_output(system.channel, system.channel(x, no, generator=generator))
    return system.receive(y, no, h)


class Errors(NamedTuple):
    """Where one batch went wrong, and what the receiver saw."""

    bits: torch.Tensor  # [B, k] bool: bit errors
    symbols: torch.Tensor  # [B, k / bits_per_symbol] bool: symbol errors
    blocks: torch.Tensor  # [B] bool: message (block) errors
    y: torch.Tensor  # [B, n] received
    h: torch.Tensor | None  # [B, n] CSI, when the channel gives it


def errors(
    system: System,
    bits: torch.Tensor,
    no: float | torch.Tensor,
    generator: torch.Generator | int | None = None,
) -> Errors:
    """Send ``bits`` ``[B, k]`` through ``system`` and mark its bit, symbol and block errors.

    The one place where the simulator and the validation of baselines count
    errors: a symbol is ``bits_per_symbol`` consecutive bits, a block a message.
    """
    x = system.transmit(bits)
    y, h = split_channel_output(system.channel, system.channel(x, no, generator=generator))
    wrong = system.receive(y, no, h) != bits  # [B, k]
    blocks = wrong.any(-1)  # [B]
    symbols = blocks[:, None] if system.bits_per_symbol == system.k else wrong.reshape(len(bits), -1, system.bits_per_symbol).any(-1)
    return Errors(wrong, symbols, blocks, y, h)
