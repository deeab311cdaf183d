r"""Flat fading: :class:`Rayleigh` and :class:`Rician`, fast or block, with or without CSI.

``y = h x + w`` with :math:`E|h|^2 = 1` (the SNR is the average SNR). The
output is affine in ``x``, so gradients flow from ``y`` back to ``x``. The
fading is drawn before the noise, from the same generator.

Examples
--------
>>> x = torch.ones(4, 2, dtype=torch.complex64)
>>> y, h = Rayleigh(fading="block", csi=True)(x, no=0.1, generator=0)
>>> bool((h[:, 0] == h[:, 1]).all())
True
>>> y, h = Rician(k_factor=10.0)(x, no=0.1, generator=0)
>>> y.shape
torch.Size([4, 2])
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .base import Channel, Fading, broadcast_no, check_flag, check_input, complex_normal, make_generator

__all__ = ["Rayleigh", "Rician", "Fading"]


class Rayleigh(Channel):
    r"""Flat Rayleigh fading, :math:`y = h x + w`, :math:`h \sim \mathcal{CN}(0, 1)`.

    Parameters
    ----------
    fading : {"fast", "block"}
        ``"fast"``: an independent :math:`h` per channel use;
        ``"block"``: one :math:`h` per message (row of ``x``), the same over its
        ``n`` uses.
    csi : bool
        With perfect CSI the receiver is given ``h``: ``forward`` returns
        ``(y, h)``; without it returns ``y`` only.

    Notes
    -----
    ``forward(x, no, generator=None)`` takes what :class:`AWGN` takes
    (complex ``x`` only) and returns ``y`` or ``(y, h)``, with ``h`` of ``x``'s
    shape (a block-fading ``h`` repeated along the last dim). :math:`E|h|^2 = 1`,
    so the SNR is the average SNR. The fading is drawn before the noise, from
    the same generator.
    """

    linear_gaussian = True

    def __init__(self, fading: Fading = "fast", csi: bool = True) -> None:
        super().__init__()
        if fading not in ("fast", "block"):
            raise ValueError(f"fading must be 'fast' or 'block', got {fading!r}")
        check_flag(csi, "csi")
        self.fading: Fading = fading
        self.csi = csi

    def forward(self, x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return _fade(x, no, generator, self.fading, self.csi, 0.0)

    @property
    def name(self) -> str:
        """``rayleigh-{fast|block}-{csi|nocsi}``."""
        return f"rayleigh-{self.fading}-{'csi' if self.csi else 'nocsi'}"

    @property
    def closed_form(self) -> dict[str, Any] | None:
        """``{"channel": "rayleigh", "fading": ...}`` with CSI; None without (theory's fading rates are coherent)."""
        return {"channel": "rayleigh", "fading": self.fading} if self.csi else None

    def extra_repr(self) -> str:
        return f"fading={self.fading!r}, csi={self.csi}"


class Rician(Channel):
    r"""Flat Rician fading, :math:`y = h x + w`, with K-factor :math:`K` (linear).

    .. math::

        h = \sqrt{\frac{K}{K+1}} + \sqrt{\frac{1}{K+1}}\, g, \qquad g \sim \mathcal{CN}(0, 1),

    a line-of-sight component of phase 0 plus scattered power, so
    :math:`E|h|^2 = 1` and the SNR is the average SNR (Simon & Alouini 2005,
    Sec. 2.2.1.3). :math:`K = 0` is Rayleigh fading — the same draws as
    :class:`Rayleigh` with the same generator — and :math:`K \to \infty` AWGN.

    Parameters
    ----------
    k_factor : float
        Ratio of line-of-sight to scattered power, linear, ``>= 0``.
    fading : {"fast", "block"}
        An independent :math:`g` per channel use, or one per message.
    csi : bool
        The receiver is given ``h``: ``forward`` returns ``(y, h)``.

    Notes
    -----
    ``forward(x, no, generator=None)`` as :class:`Rayleigh` (complex ``x`` only).
    """

    linear_gaussian = True

    def __init__(self, k_factor: float = 0.0, fading: Fading = "fast", csi: bool = True) -> None:
        super().__init__()
        if isinstance(k_factor, bool) or not isinstance(k_factor, (int, float)) or not math.isfinite(k_factor) or k_factor < 0:
            raise ValueError(f"k_factor must be a finite number >= 0 (linear, not dB), got {k_factor!r}")
        if fading not in ("fast", "block"):
            raise ValueError(f"fading must be 'fast' or 'block', got {fading!r}")
        check_flag(csi, "csi")
        self.k_factor = float(k_factor)
        self.fading: Fading = fading
        self.csi = csi

    def forward(self, x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return _fade(x, no, generator, self.fading, self.csi, self.k_factor)

    @property
    def name(self) -> str:
        """``rician-K{K}-{fast|block}-{csi|nocsi}``."""
        return f"rician-K{self.k_factor:g}-{self.fading}-{'csi' if self.csi else 'nocsi'}"

    @property
    def closed_form(self) -> dict[str, Any] | None:
        """``{"channel": "rician", "k_factor": K, "fading": ...}`` with CSI; None without."""
        return {"channel": "rician", "k_factor": self.k_factor, "fading": self.fading} if self.csi else None

    def extra_repr(self) -> str:
        return f"k_factor={self.k_factor:g}, fading={self.fading!r}, csi={self.csi}"


def _fade(x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None, fading: str, csi: bool, k_factor: float) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """``y = h x + w`` with Rician ``h`` of factor ``k_factor`` (0: Rayleigh, exactly its draws), per use or per message."""
    check_input(x, real=False)
    if fading == "block" and x.ndim < 2:
        raise ValueError(f"x must have shape [B, n] for block fading (one h per row), got {tuple(x.shape)}")
    no = broadcast_no(no, x)
    gen = make_generator(generator, x.device)
    if fading == "fast":
        h = complex_normal(x.shape, x, gen)
    else:
        h = complex_normal((*x.shape[:-1], 1), x, gen).expand(x.shape).contiguous()
    if k_factor > 0:
        h = math.sqrt(k_factor / (k_factor + 1.0)) + h * math.sqrt(1.0 / (k_factor + 1.0))
    y = h * x + complex_normal(x.shape, x, gen) * torch.sqrt(no)
    return (y, h) if csi else y
