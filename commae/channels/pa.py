r"""Power amplifier: :class:`RappPA`, the Rapp model of a solid-state amplifier (AM/AM only).

Examples
--------
>>> pa = RappPA(smoothness=3.0, saturation=1.0, backoff_db=0.0)
>>> y = pa(torch.tensor([[0.01 + 0j, 10.0 + 0j]]), no=0.0)
>>> [round(v, 3) for v in y.abs()[0].tolist()]    # small signals pass, large ones saturate at A
[0.01, 1.0]
"""

from __future__ import annotations

import math

import torch

from .base import Channel

__all__ = ["RappPA"]


class RappPA(Channel):
    r"""Rapp power amplifier applied to the transmitted symbols (no AM/PM, no memory).

    The unit-energy symbols ``x`` drive the amplifier at an average input
    power ``backoff_db`` below its saturation power :math:`A^2`, and the output
    follows Rapp's AM/AM curve with unit small-signal gain:

    .. math::

        u = A\,10^{-\mathrm{IBO}/20}\,x, \qquad
        y = \frac{u}{\left(1 + (|u|/A)^{2p}\right)^{1/(2p)}}

    (C. Rapp, "Effects of HPA-nonlinearity on a 4-DPSK/OFDM-signal for a
    digital sound broadcasting system", ECSC 1991). :math:`N_0` stays referred
    to unit power, so the output power — and with it the SNR — falls with the
    back-off: more back-off trades SNR for linearity, as on real hardware.
    With ``saturation=1`` and ``backoff_db=0`` the average drive power equals
    the saturation power.

    Parameters
    ----------
    smoothness : float
        :math:`p > 0`; large :math:`p` approaches an ideal limiter.
    saturation : float
        Output saturation amplitude :math:`A > 0`, in units of the
        transmitter's RMS amplitude.
    backoff_db : float
        Input back-off in dB (average input power below :math:`A^2`), finite.
    real : bool
        Real channel uses (the sign is kept).

    Notes
    -----
    ``forward(x, no, generator=None)``: ``no`` and ``generator`` are unused
    (deterministic); returns ``y`` of ``x``'s shape. Differentiable.
    """

    def __init__(self, smoothness: float = 3.0, saturation: float = 1.0, backoff_db: float = 0.0, real: bool = False) -> None:
        super().__init__()
        for value, name, low in ((smoothness, "smoothness", 0.0), (saturation, "saturation", 0.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= low:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if isinstance(backoff_db, bool) or not isinstance(backoff_db, (int, float)) or not math.isfinite(backoff_db) or abs(backoff_db) > 60:
            raise ValueError(f"backoff_db must be a number of dB within ±60, got {backoff_db!r}")
        self.smoothness = float(smoothness)
        self.saturation = float(saturation)
        self.backoff_db = float(backoff_db)
        self.real = bool(real)

    def amplify(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic AM/AM map of any tensor of symbols (complex or real)."""
        drive = self.saturation * 10 ** (-self.backoff_db / 20)
        u = x * drive
        p2 = 2 * self.smoothness
        ratio = (u.abs() / self.saturation).clamp_max(1e6)
        return u / (1 + ratio.pow(p2)).pow(1 / p2)

    def forward(self, x: torch.Tensor, no: float | torch.Tensor = 0.0, generator: torch.Generator | int | None = None) -> torch.Tensor:
        if self.real != (not x.is_complex()):
            raise ValueError(f"x must be {'real' if self.real else 'complex'} for this amplifier (real={self.real}), got {x.dtype}")
        return self.amplify(x)

    @property
    def name(self) -> str:
        """``rapp-p{p}-A{A}-ibo{IBO}dB``."""
        return f"rapp-p{self.smoothness:g}-A{self.saturation:g}-ibo{self.backoff_db:g}dB"

    def extra_repr(self) -> str:
        return f"smoothness={self.smoothness:g}, saturation={self.saturation:g}, backoff_db={self.backoff_db:g}, real={self.real}"
