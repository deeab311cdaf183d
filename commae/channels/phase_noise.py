r"""Phase noise: :class:`PhaseNoise`, i.i.d. per channel use or a Wiener process across a message.

``y = x · exp(jθ)``. The receiver does not know θ (it is not CSI). The
output is differentiable in ``x``.

Examples
--------
>>> x = torch.ones(2, 4, dtype=torch.complex64)
>>> y = PhaseNoise(0.1, model="wiener")(x, no=0.0, generator=0)
>>> torch.allclose(y.abs(), x.abs())
True
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from .base import Channel, check_input, make_generator
from .noise import gaussian

__all__ = ["PhaseNoise"]

PhaseModel = Literal["iid", "wiener"]


class PhaseNoise(Channel):
    r"""Random phase rotation of complex channel uses, :math:`y_i = x_i e^{j\theta_i}`.

    Parameters
    ----------
    sigma : float
        Standard deviation in radians, ``>= 0``: of each :math:`\theta_i`
        (``"iid"``) or of each increment (``"wiener"``).
    model : {"iid", "wiener"}
        ``"iid"``: :math:`\theta_i \sim \mathcal{N}(0, \sigma^2)` independently
        per channel use (residual phase error after per-symbol tracking).
        ``"wiener"``: a random walk along the ``n`` uses of a message,
        :math:`\theta_i = \theta_{i-1} + \Delta_i`, :math:`\Delta_i \sim
        \mathcal{N}(0, \sigma^2)`, :math:`\theta_0 = 0` (oscillator phase
        noise after a phase reference at the start of each message), so
        :math:`\mathrm{Var}\,\theta_i = i\sigma^2`. For ``n = 1`` both models
        coincide.

    Notes
    -----
    ``forward(x, no, generator=None)``: ``x`` [B, n] complex64; ``no`` is
    ignored (phase noise adds no power); returns ``y`` of ``x``'s shape.
    Complex channel uses only.
    """

    def __init__(self, sigma: float, model: PhaseModel = "iid") -> None:
        super().__init__()
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma < 0:
            raise ValueError(f"sigma must be a finite standard deviation >= 0 in radians, got {sigma!r}")
        if model not in ("iid", "wiener"):
            raise ValueError(f"model must be 'iid' or 'wiener', got {model!r}")
        self.sigma = float(sigma)
        self.model: PhaseModel = model

    def phase_std(self, n: int) -> torch.Tensor:
        """Standard deviation of :math:`\\theta_i` for uses ``i = 1..n``, ``[n]`` float64."""
        uses = torch.arange(1, n + 1, dtype=torch.float64)
        return self.sigma * (uses.sqrt() if self.model == "wiener" else torch.ones_like(uses))

    def forward(self, x: torch.Tensor, no: float | torch.Tensor = 0.0, generator: torch.Generator | int | None = None) -> torch.Tensor:
        check_input(x, real=False)
        gen = make_generator(generator, x.device)
        theta = gaussian(x.shape, gen, dtype=x.real.dtype, device=x.device) * self.sigma
        if self.model == "wiener":
            theta = theta.cumsum(-1)
        return x * torch.polar(torch.ones_like(theta), theta)

    @property
    def name(self) -> str:
        """``phase-noise-{iid|wiener}-{sigma}rad``."""
        return f"phase-noise-{self.model}-{self.sigma:g}rad"

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}, model={self.model!r}"
