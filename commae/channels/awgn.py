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
from .noise import LARGEST_DRAW, gaussian

__all__ = ["AWGN"]


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
            noise = gaussian(x.shape, gen, dtype=x.dtype, device=x.device)
            return x + noise * noise_std_per_real_dim(no)
        return x + complex_normal(x.shape, x, gen) * torch.sqrt(no)

    def max_noise_sigma(self, device: str | torch.device = "cpu") -> float | None:
        """The largest noise the generator draws in one real dimension, in standard deviations; None where commae does not know it.

        The noise is :func:`commae.channels.noise.gaussian`'s, exact in the
        tails on every device (float32 ``torch.randn`` alone stops at
        5.768σ on a CPU; the correction has no cap): ``inf``. For a subclass
        that draws its own noise: None.
        """
        if type(self).forward is not AWGN.forward:
            return None
        return LARGEST_DRAW

    def noise_tail(self, t: float, device: str | torch.device = "cpu") -> float | None:
        r"""The probability that the generator draws noise beyond ``t`` standard deviations in one real dimension; None where unknown.

        :math:`Q(t)`: beyond :data:`~commae.channels.noise.TAIL_THRESHOLD`
        (4σ) the draws are exact, with their exact mass; within it they are
        float32 ``torch.randn``'s, whose tail is within :math:`2.6\cdot10^{-4}`
        of :math:`Q(t)` relative (``benchmarks/noise_tail.py``).

        >>> AWGN().noise_tail(6.0) == 0.5 * math.erfc(6.0 / math.sqrt(2))
        True
        """
        if self.max_noise_sigma(device) is None:
            return None
        return 0.5 * math.erfc(float(t) / math.sqrt(2.0))

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
