r"""The likelihood :math:`p(y \mid s)` of the stage chains commae can evaluate, for ML detection and MI.

:func:`symbol_log_likelihood` gives :math:`\ln p(y \mid s)` of every
candidate point for the chains a classic receiver can be optimal on
(``[RappPA] → AWGN | Rayleigh/Rician with CSI → [PhaseNoise] → [ADC]``, the
phase noise in any place), so a baseline's detector is the ML detector of
the channel it is compared on. It asks the channel
(:meth:`~commae.channels.Channel.log_likelihood`), whose default is
:func:`chain_log_likelihood` over its stages: a channel of your own gives
its likelihood by overriding that method.

Examples
--------
>>> from commae.channels import AWGN, Cascade, PhaseNoise, Rayleigh
>>> y = torch.tensor([[0.9 + 0.1j]])
>>> points = torch.tensor([1 + 0j, -1 + 0j])
>>> symbol_log_likelihood(Cascade(AWGN(), PhaseNoise(0.1)), y, points, 0.1).argmax(-1)
tensor([[0]])
>>> symbol_log_likelihood(Rayleigh(csi=False), y, points, 0.1) is None   # the gain is unknown
True
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .adc import ADC
from .awgn import AWGN
from .base import Channel, broadcast_no
from .fading import Rayleigh, Rician
from .pa import RappPA
from .phase_noise import PhaseNoise

__all__ = ["symbol_log_likelihood", "chain_log_likelihood", "likelihood_chain"]

# Gauss-Hermite nodes over the phase-noise angle (exact for the Gaussian weight up to degree 63).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite.hermgauss(32)
# Most (row, point, phase node) triples evaluated at once.
_CHUNK = 1 << 21


def likelihood_chain(channel: Channel) -> tuple[RappPA | None, Channel, PhaseNoise | None, ADC | None] | None:
    """``(pa, noise, phase_noise, adc)`` of a chain :func:`chain_log_likelihood` evaluates, or None.

    An optional :class:`RappPA`, then one of :class:`AWGN`, :class:`Rayleigh`
    or :class:`Rician` that is :attr:`~commae.channels.Channel.coherent`
    (with CSI), an optional :class:`PhaseNoise` anywhere and an optional
    :class:`ADC` last. Any other stage, or fading without CSI, gives None.
    """
    stages = channel.stages
    pa = pn = adc = noise = None
    for position, stage in enumerate(stages):
        if isinstance(stage, RappPA) and noise is None and pa is None:
            pa = stage
        elif isinstance(stage, (AWGN, Rayleigh, Rician)) and noise is None:
            if not stage.coherent:
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
    return pa, noise, pn, adc


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

    Asks ``channel`` (:meth:`~commae.channels.Channel.log_likelihood`): for
    commae's own stages and their cascades that is :func:`chain_log_likelihood`,
    for a channel of your own what its method gives (by default None).

    Parameters
    ----------
    channel : Channel
    y : Tensor, [B, n], complex64 (float32 on a real channel)
    points : Tensor, [M], complex — the candidate transmitted symbols
    no : float or Tensor, [] or [B] — linear N0, > 0
    h : Tensor, [B, n], complex, optional — CSI of the fading stage

    Returns
    -------
    Tensor, [B, n, M], float64, or None when the channel has no likelihood commae can evaluate.
    """
    own = getattr(channel, "log_likelihood", None)
    return own(y, points, no, h) if own is not None else chain_log_likelihood(channel, y, points, no, h)


def chain_log_likelihood(
    channel: Channel,
    y: torch.Tensor,
    points: torch.Tensor,
    no: float | torch.Tensor,
    h: torch.Tensor | None = None,
) -> torch.Tensor | None:
    r"""The exact :math:`\ln p(y_i \mid s)` of ``channel``'s stages, or None when :func:`likelihood_chain` refuses them.

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

    Parameters and returns as :func:`symbol_log_likelihood`.
    """
    chain = likelihood_chain(channel)
    if chain is None:
        return None
    pa, _, pn, adc = chain
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
