r"""Analog-to-digital conversion: :class:`ADC`, a uniform b-bit quantiser per real dimension.

Not differentiable: its output is detached from the graph, as hardware would
be. Train through it with model-free training.

Examples
--------
>>> adc = ADC(bits=2, clip=1.0)              # full scale 1.0 * sqrt(1/2) at N0 = 0
>>> [round(v, 3) for v in adc.levels(0.0).tolist()]
[-0.53, -0.177, 0.177, 0.53]
>>> adc(torch.tensor([[0.05 + 0.9j]]), no=0.0)  # 0.9 is clipped to the top level
tensor([[0.1768+0.5303j]])
"""

from __future__ import annotations

import math

import torch

from .base import Channel, broadcast_no

__all__ = ["ADC"]


class ADC(Channel):
    r"""Uniform mid-rise quantiser with :math:`2^b` levels on each real dimension, clipping at :math:`\pm c`.

    Parameters
    ----------
    bits : int
        Resolution :math:`b` per real dimension (1 to 16).
    clip : float
        Clipping level relative to the RMS of the ADC input per real dimension,
        ``> 0``. The input is assumed to be a unit-power signal plus noise (an
        ideal automatic gain control for commae's unit-energy convention), so
        the RMS per real dimension is :math:`\sqrt{(1 + N_0)/2}` on complex
        uses and :math:`\sqrt{1 + N_0/2}` on real uses, and the full scale is
        :math:`c = \text{clip}\cdot\text{RMS}`.
    real : bool
        Real channel uses.

    Notes
    -----
    With step :math:`\Delta = 2c/2^b`, an input :math:`u` (each of I and Q)
    becomes :math:`-c + (i + \tfrac12)\Delta` with
    :math:`i = \min(2^b - 1, \max(0, \lfloor (u + c)/\Delta \rfloor))`.
    ``forward(x, no, generator=None)``: ``no`` (scalar or [B]) sets the RMS;
    nothing random; returns the quantised ``y`` (detached).
    """

    differentiable = False

    def __init__(self, bits: int, clip: float = 1.5, real: bool = False) -> None:
        super().__init__()
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
            raise ValueError(f"bits must be an integer from 1 to 16 (resolution per real dimension), got {bits!r}")
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not math.isfinite(clip) or clip <= 0:
            raise ValueError(f"clip must be a positive number (clipping level relative to the input RMS), got {clip!r}")
        self.bits = bits
        self.clip = float(clip)
        self.real = bool(real)

    def full_scale(self, no: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """The clipping level :math:`c` broadcastable to ``like`` (real dtype)."""
        no = broadcast_no(no, like)
        rms = torch.sqrt(1.0 + no / 2) if self.real else torch.sqrt((1.0 + no) / 2)
        return self.clip * rms

    def levels(self, no: float | torch.Tensor) -> torch.Tensor:
        """The :math:`2^b` output values at a scalar ``no``, ascending, float64."""
        c = float(self.full_scale(float(no), torch.zeros(1)))
        step = 2 * c / (1 << self.bits)
        return -c + (torch.arange(1 << self.bits, dtype=torch.float64) + 0.5) * step

    def _quantise(self, u: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        step = 2 * c / (1 << self.bits)
        index = torch.floor((u + c) / step).clamp(0, (1 << self.bits) - 1)
        return -c + (index + 0.5) * step

    def forward(self, x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor:
        if self.real != (not x.is_complex()):
            raise ValueError(f"x must be {'real' if self.real else 'complex'} for this ADC (real={self.real}), got {x.dtype}")
        with torch.no_grad():
            c = self.full_scale(no, x)
            if self.real:
                return self._quantise(x, c)
            return torch.complex(self._quantise(x.real, c), self._quantise(x.imag, c))

    @property
    def name(self) -> str:
        """``adc-{b}bit-clip{c}``."""
        return f"adc-{self.bits}bit-clip{self.clip:g}"

    def extra_repr(self) -> str:
        return f"bits={self.bits}, clip={self.clip:g}, real={self.real}"
