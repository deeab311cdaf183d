r"""Additive white Gaussian noise: :class:`AWGN`.

Noise follows :mod:`commae.snr`: complex AWGN is :math:`\mathcal{CN}(0, N_0)`,
i.e. variance :math:`N_0/2` per real dimension; a real channel use gets
:math:`\mathcal{N}(0, N_0/2)`.

Examples
--------
>>> x = torch.ones(4, 2, dtype=torch.complex64)
>>> y = AWGN()(x, no=0.1, generator=0)
>>> y.shape, y.dtype
(torch.Size([4, 2]), torch.complex64)
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..snr import noise_std_per_real_dim
from .base import Channel, broadcast_no, check_flag, check_input, complex_normal, make_generator

__all__ = ["AWGN"]

# torch.randn in float32 on a CPU is Box-Muller on 24-bit uniforms (aten normal_fill): u1 = 1 - U with U on
# the grid m 2^-24, so the radius takes the values r_m = sqrt(-2 ln(m 2^-24)), m = 1 .. 2^24, each with
# probability 2^-24, and no draw passes r_1 = sqrt(48 ln 2) = 5.768 standard deviations.
_GRID_BITS = 24
_CPU_MAX_SIGMA = math.sqrt(2 * _GRID_BITS * math.log(2.0))


class AWGN(Channel):
    r"""Additive white Gaussian noise, :math:`y = x + w`.

    Parameters
    ----------
    real : bool
        False (default): complex channel uses, :math:`w \sim \mathcal{CN}(0, N_0)`.
        True: real channel uses, :math:`w \sim \mathcal{N}(0, N_0/2)`, as in
        O'Shea & Hoydis (2017).

    Notes
    -----
    ``forward(x, no, generator=None)``:

    * ``x`` : Tensor, [B, n], complex64 (or float32 when ``real``) — channel input.
    * ``no`` : float or Tensor, [] or [B] — linear :math:`N_0` (see
      :func:`commae.snr.ebno_db_to_no`), broadcast over trailing dims.
    * ``generator`` : torch.Generator on ``x``'s device, an int seed, or None.
    * returns ``y`` : Tensor, same shape and dtype as ``x``.
    """

    @property
    def linear_gaussian(self) -> bool:
        """True, unless a subclass replaces ``forward`` (then the subclass says what its channel is)."""
        return type(self).forward is AWGN.forward

    def __init__(self, real: bool = False) -> None:
        super().__init__()
        check_flag(real, "real")
        self.real = real

    def forward(self, x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor:
        check_input(x, self.real)
        no = broadcast_no(no, x)
        gen = make_generator(generator, x.device)
        if self.real:
            noise = torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=gen)
            return x + noise * noise_std_per_real_dim(no)
        return x + complex_normal(x.shape, x, gen) * torch.sqrt(no)

    def max_noise_sigma(self, device: str | torch.device = "cpu") -> float | None:
        """The largest noise the generator draws in one real dimension, in standard deviations; None where commae does not know it.

        On a CPU, float32 ``torch.randn`` is Box–Muller on 24-bit uniforms and
        never passes :math:`\\sqrt{-2\\ln 2^{-24}} = 5.768` (the largest of 2²⁸
        draws was 5.759, ``tests/test_simulation.py``): an error that needs more
        noise than that is never drawn. On CUDA (another generator) and for a
        subclass that draws its own noise: None.
        """
        if type(self).forward is not AWGN.forward or torch.device(device).type != "cpu":
            return None
        return _CPU_MAX_SIGMA

    def noise_tail(self, t: float, device: str | torch.device = "cpu") -> float | None:
        r"""The probability that the generator draws noise beyond ``t`` standard deviations in one real dimension; None where unknown.

        Exact for the CPU's Box–Muller on the 24-bit grid (see
        :meth:`max_noise_sigma`): a radius :math:`r_m` passes ``t`` along one
        axis for a fraction :math:`\arccos(t/r_m)/\pi` of the angles, so

        .. math:: P(w > t\sigma) = 2^{-24} \sum_{m:\, r_m > t} \frac{\arccos(t/r_m)}{\pi},

        0 from :math:`t \ge 5.768`. Beside the normal tail :math:`Q(t)` it is
        0.98 of it at 5σ, 0.90 at 5.33σ and 0.62 at 5.63σ (BPSK's
        bit error at Eb/N0 12 dB). Below 3σ it is taken as :math:`Q(t)`
        (within 1e-5 of it; the sum would hold millions of terms).

        >>> round(AWGN().noise_tail(5.0) / (0.5 * math.erfc(5.0 / math.sqrt(2))), 3), AWGN().noise_tail(6.0)
        (0.98, 0.0)
        """
        if self.max_noise_sigma(device) is None:
            return None
        t = float(t)
        if t < 3.0:
            return 0.5 * math.erfc(t / math.sqrt(2.0))
        count = math.ceil((1 << _GRID_BITS) * math.exp(-t * t / 2))  # the radii r_m > t have m < 2^24 exp(-t^2/2)
        m = torch.arange(1, count + 1, dtype=torch.float64)
        radius = torch.sqrt(-2 * torch.log(m * 2.0**-_GRID_BITS))
        passing = radius[radius > t]
        return float(torch.arccos(t / passing).sum() / math.pi) * 2.0**-_GRID_BITS

    @property
    def name(self) -> str:
        """``awgn``, or ``awgn-real`` for real channel uses."""
        return "awgn-real" if self.real else "awgn"

    @property
    def closed_form(self) -> dict[str, Any]:
        """``{"channel": "awgn"}``: :mod:`commae.theory`'s AWGN formulas (a real use is BPSK's in-phase axis)."""
        return {"channel": "awgn"}

    def extra_repr(self) -> str:
        return f"real={self.real}"
