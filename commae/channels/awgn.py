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

from typing import Any

import torch

from ..snr import noise_std_per_real_dim
from .base import Channel, broadcast_no, check_flag, check_input, complex_normal, make_generator
from .noise import gaussian

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
