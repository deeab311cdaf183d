r"""Stages in series: :class:`Cascade`, and the likelihood an ML detector needs on a cascade.

A :class:`Cascade` applies its stages in order (e.g. PA → Rician → phase
noise → ADC), drawing every random number from one generator, and is a
:class:`~commae.channels.Channel` like any other: it is differentiable when
every stage is, gives CSI when a fading stage does (at most one may), and
names itself by its stages joined with ``+``.

:func:`symbol_log_likelihood` gives :math:`\ln p(y \mid s)` of every
candidate point for the chains a classic receiver can be optimal on
(``[RappPA] → AWGN | Rayleigh/Rician with CSI → [PhaseNoise] → [ADC]``, the
phase noise in any place), so a baseline's detector is the ML detector of
the channel it is compared on.

Examples
--------
>>> from commae.channels import AWGN, ADC, PhaseNoise
>>> ch = Cascade(AWGN(), PhaseNoise(0.1), ADC(bits=3))
>>> ch.name, ch.differentiable
('awgn+phase-noise-iid-0.1rad+adc-3bit-clip1.5', False)
>>> y = ch(torch.ones(4, 1, dtype=torch.complex64), no=0.1, generator=0)
>>> y.shape
torch.Size([4, 1])
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .adc import ADC
from .awgn import AWGN
from .base import Channel, broadcast_no, make_generator
from .fading import Rayleigh, Rician
from .pa import RappPA
from .phase_noise import PhaseNoise

__all__ = ["Cascade", "symbol_log_likelihood"]

# Gauss-Hermite nodes over the phase-noise angle (exact for the Gaussian weight up to degree 63).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite.hermgauss(32)
# Most (row, point, phase node) triples evaluated at once.
_CHUNK = 1 << 21


class Cascade(Channel):
    r"""Channel stages applied in series: ``y = stage_L(… stage_1(x))``.

    Parameters
    ----------
    *stages : Channel
        At least one; all real or all complex; at most one with CSI.

    Notes
    -----
    ``forward(x, no, generator=None)``: each stage gets the previous stage's
    output, the same ``no`` and the same generator (an ``int`` seed makes one
    generator for the whole chain), in order. Returns ``y``, or ``(y, h)``
    with the ``h`` of the fading stage. ``Cascade(AWGN())`` gives exactly
    ``AWGN()``'s numbers.
    """

    def __init__(self, *stages: Channel) -> None:
        super().__init__()
        if len(stages) == 1 and isinstance(stages[0], (list, tuple)):
            stages = tuple(stages[0])
        if not stages:
            raise ValueError("a Cascade needs at least one stage")
        for stage in stages:
            if not isinstance(stage, Channel):
                raise ValueError(f"every stage must be a commae Channel, got {type(stage).__name__}")
        if len({bool(s.real) for s in stages}) > 1:
            raise ValueError("stages must all be real or all complex: " + ", ".join(f"{s.name} (real={s.real})" for s in stages))
        if sum(bool(s.csi) for s in stages) > 1:
            raise ValueError("at most one stage may hand CSI to the receiver, got " + ", ".join(s.name for s in stages if s.csi))
        self.chain = torch.nn.ModuleList(stages)
        self.real = bool(stages[0].real)
        self.csi = any(s.csi for s in stages)
        self.differentiable = all(getattr(s, "differentiable", True) for s in stages)

    @property
    def stages(self) -> tuple[Channel, ...]:
        return tuple(stage for s in self.chain for stage in s.stages)

    def forward(self, x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None):
        gen = make_generator(generator, x.device)
        h = None
        for stage in self.chain:
            out = stage(x, no, generator=gen)
            if stage.csi:
                x, h = out
            else:
                x = out
        return (x, h) if self.csi else x

    @property
    def name(self) -> str:
        """The stages' names joined with ``+``."""
        return "+".join(s.name for s in self.chain)


def _gaussian_log_interval(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """``ln(Phi(hi) - Phi(lo))`` for ``lo < hi`` (standard normal), stable in both tails."""
    flip = lo > 0  # both in the upper tail: use the symmetry Phi(b) - Phi(a) = Phi(-a) - Phi(-b)
    a = torch.where(flip, -hi, lo)
    b = torch.where(flip, -lo, hi)
    log_b = torch.special.log_ndtr(b)
    log_a = torch.special.log_ndtr(a)
    return log_b + torch.log1p(-torch.exp((log_a - log_b).clamp_max(0.0)).clamp_max(1 - 1e-16))


def symbol_log_likelihood(
    channel: Channel,
    y: torch.Tensor,
    points: torch.Tensor,
    no: float | torch.Tensor,
    h: torch.Tensor | None = None,
) -> torch.Tensor | None:
    r""":math:`\ln p(y_i \mid s)` up to a term common to all ``s``, for every use and candidate point, or None.

    Supported chains (other stages, or fading without CSI, give None):
    an optional :class:`RappPA`, then one of :class:`AWGN`, :class:`Rayleigh`
    or :class:`Rician` with CSI, an optional i.i.d. or Wiener
    :class:`PhaseNoise` anywhere (the noise is circularly symmetric and the PA
    has no AM/PM, so its place does not matter), and an optional
    :class:`ADC` last.

    .. math::

        p(y \mid s) = E_\theta\!\left[\prod_{d \in \{I, Q\}}
        P\!\left(y_d \,\middle|\, \left(h e^{j\theta} F(s)\right)_d\right)\right],

    with :math:`F` the PA curve, a Gaussian density of variance :math:`N_0/2`
    per dimension (or, after the ADC, the probability of the quantiser bin
    of :math:`y_d`), and the expectation over :math:`\theta \sim
    \mathcal{N}(0, \mathrm{Var}\,\theta_i)` by 32-node Gauss–Hermite
    quadrature. With Wiener phase noise and ``n > 1`` this is the per-use
    marginal (symbol-by-symbol detection), not the joint ML metric.

    Parameters
    ----------
    channel : Channel
    y : Tensor, [B, n], complex64 (float32 on a real channel)
    points : Tensor, [M], complex — the candidate transmitted symbols
    no : float or Tensor, [] or [B] — linear N0, > 0
    h : Tensor, [B, n], complex, optional — CSI of the fading stage

    Returns
    -------
    Tensor, [B, n, M], float64, or None when the chain is not supported.
    """
    stages = channel.stages
    pa = pn = adc = None
    noise = None
    for position, stage in enumerate(stages):
        if isinstance(stage, RappPA) and noise is None and pa is None:
            pa = stage
        elif isinstance(stage, (AWGN, Rayleigh, Rician)) and noise is None:
            if stage.csi is False and not isinstance(stage, AWGN):
                return None
            noise = stage
        elif isinstance(stage, PhaseNoise) and pn is None:
            pn = stage
        elif isinstance(stage, ADC) and position == len(stages) - 1:
            adc = stage
        else:
            return None
    if noise is None:
        return None
    real = bool(channel.real)
    yy = y.to(torch.complex128) if not real else torch.complex(y.double(), torch.zeros_like(y.double()))
    rows, n = yy.shape
    s = points.to(torch.complex128)
    if pa is not None:
        s = pa.amplify(s)
    no_b = broadcast_no(no, y).double().clamp_min(1e-12).expand(rows, n)  # [B, n]
    hh = torch.ones_like(yy) if h is None else h.to(torch.complex128).expand(rows, n)
    if pn is not None:
        std = pn.phase_std(n).to(yy.device)  # [n]
        thetas = math.sqrt(2) * std[:, None] * torch.as_tensor(_GH_NODES, device=yy.device)  # [n, J]
        log_w = torch.as_tensor(np.log(_GH_WEIGHTS / math.sqrt(math.pi)), device=yy.device)  # [J]
    else:
        thetas = torch.zeros(n, 1, dtype=torch.float64, device=yy.device)
        log_w = torch.zeros(1, dtype=torch.float64, device=yy.device)
    rotation = torch.polar(torch.ones_like(thetas), thetas)  # [n, J]
    if adc is not None:
        c = adc.full_scale(no, y).double().expand(rows, n)
        step = 2 * c / (1 << adc.bits)
    out = []
    per = max(1, _CHUNK // (s.numel() * thetas.shape[-1] * n))
    for start in range(0, rows, per):
        sl = slice(start, start + per)
        mean = (hh[sl, :, None, None] * s[:, None]) * rotation[None, :, None, :]  # [b, n, M, J]
        target = yy[sl, :, None, None]
        var = no_b[sl, :, None, None]
        if adc is None:
            dims = [(target.real, mean.real)] if real else [(target.real, mean.real), (target.imag, mean.imag)]
            ll = sum(-((t - m) ** 2) / var for t, m in dims)
        else:
            cc, dd = c[sl, :, None, None], step[sl, :, None, None]
            sigma = torch.sqrt(var / 2)
            ll = 0.0
            for t, m in [(target.real, mean.real)] if real else [(target.real, mean.real), (target.imag, mean.imag)]:
                index = torch.round((t + cc) / dd - 0.5)
                lo = torch.where(index <= 0, torch.full_like(t, -math.inf), -cc + index * dd)
                hi = torch.where(index >= (1 << adc.bits) - 1, torch.full_like(t, math.inf), -cc + (index + 1) * dd)
                ll = ll + _gaussian_log_interval((lo - m) / sigma, (hi - m) / sigma)
        out.append(torch.logsumexp(ll + log_w, dim=-1))  # [b, n, M]
    return torch.cat(out)
