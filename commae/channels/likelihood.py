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
# Most (row, point) pairs averaged over the phase at once.
_PAIRS = 1 << 14


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


# ---------------------------------------------------------------------------------------------
# The average over the phase noise: ln E exp(-2 kappa sin^2((theta - psi) / 2)), theta ~ N(0, s^2)
# ---------------------------------------------------------------------------------------------

# Gauss-Legendre nodes on [-1, 1], for each piece of the phase axis over which the integrand falls.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(20)
# A piece is integrated up to where the log of the integrand has fallen this far below its
# maximum over the whole axis: what is left out weighs less than e^-36 (2e-16) of it per unit width.
_DROP = 36.0
# Most safeguarded Newton steps for a stationary point (it stops when every one has converged).
_NEWTON_STEPS = 40


def _log_integrand(theta: torch.Tensor, kappa: torch.Tensor, psi: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``g(theta) = -theta^2 / (2 s^2) - 2 kappa sin^2((theta - psi) / 2)``: the log of the integrand over the phase."""
    t = theta / s
    u = (theta - psi).mul_(0.5).sin_()
    return t.mul_(t).mul_(-0.5).sub_(u.mul_(u).mul_(2.0 * kappa))


def _slope(theta: torch.Tensor, kappa: torch.Tensor, psi: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``g'(theta)``."""
    return -theta / (s * s) - kappa * torch.sin(theta - psi)


def _solve_f(level: torch.Tensor, a: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, start: torch.Tensor, increasing: bool) -> torch.Tensor:
    """``v`` in ``[lo, hi]`` with ``v + a sin v = level``, ``F(v) = v + a sin v`` monotone there: safeguarded Newton."""
    v = torch.minimum(torch.maximum(start, lo), hi)
    for _ in range(_NEWTON_STEPS):
        f = v + a * torch.sin(v) - level
        below = (f < 0) if increasing else (f > 0)  # the root lies above v
        lo = torch.where(below, v, lo)
        hi = torch.where(below, hi, v)
        step = v - f / (1.0 + a * torch.cos(v))
        new = torch.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
        if bool(((new - v).abs() <= 1e-13).all()):  # (an error in a peak's place only moves a seam between two pieces)
            return new
        v = new
    return v


def _periods(s_max: float) -> list[int]:
    """The periods ``k`` of the phase axis, ``[psi + (2k - 1) pi, psi + (2k + 1) pi]``, that can reach within ``_DROP`` of the maximum.

    With ``psi`` in ``[0, pi]`` the maximum is at least ``g(psi) = -psi^2 / (2 s^2)``, and on period
    ``k != 0`` the prior alone bounds ``g`` by ``-(|psi + 2 pi k| - pi)^2 / (2 s^2)``: period ``k >= 1``
    lies at least ``((2k - 1) pi)^2 / (2 s^2)`` below the maximum, period ``k <= -2`` at least
    ``(2|k| - 1)(2|k| - 3) pi^2 / (2 s^2)``. Periods 0 and -1 are always kept.
    """
    limit = 2.0 * _DROP * s_max**2 / math.pi**2
    ks = [-1, 0]
    k = 1
    while (2 * k - 1) ** 2 < limit:
        ks.append(k)
        k += 1
    k = 2
    while (2 * k - 1) * (2 * k - 3) < limit:
        ks.insert(0, -k)
        k += 1
    return ks


def _piece(top: torch.Tensor, end: torch.Tensor, kappa: torch.Tensor, psi: torch.Tensor, s: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """The Gauss–Legendre rule ``(pairs, nodes [P, J], half-widths [P])`` from ``top`` towards ``end``, over which ``g`` falls, down to ``target``.

    All arguments are 1-D over the same pairs; ``pairs`` indexes them. Pairs whose
    ``g(top)`` is below ``target`` are left out; None when none is left.
    """
    h = _log_integrand(top, kappa, psi, s)
    idx = ((h > target) & (end != top)).nonzero().squeeze(1)
    if idx.numel() == 0:
        return None
    top, end, kappa, psi, s, target, h = (t[idx] for t in (top, end, kappa, psi, s, target, h))
    direction = torch.sign(end - top)
    far = (end - top).abs()
    # g >= target within `near` of top: g(top + d) >= h - |g'(top)| d - (1/s^2 + kappa) d^2 / 2
    slope = _slope(top, kappa, psi, s).abs()
    curvature = 1.0 / (s * s) + kappa
    near = (2.0 * (h - target)) / (slope + torch.sqrt(slope * slope + 2.0 * curvature * (h - target)))
    # the window's end: grow d by 1.25 from `near` until g(top + d) < target (or the piece ends); the
    # window is then at most 1.25 times the region above target, where 20 nodes give 1e-11 on a Gaussian
    width = torch.minimum(near.clamp_min(1e-9 * far), far)  # (a top within 1e-17 nats of target weighs nothing)
    todo = torch.arange(top.numel(), device=top.device)
    while todo.numel():
        d = torch.minimum(1.25 * width[todo], far[todo])
        above = _log_integrand(top[todo] + direction[todo] * d, kappa[todo], psi[todo], s[todo]) >= target[todo]
        width[todo] = d
        todo = todo[above & (d < far[todo])]
    x = torch.as_tensor(_GL_NODES, dtype=top.dtype, device=top.device)
    half = direction * (0.5 * width)
    return idx, (top + half)[:, None] + half[:, None] * x, half.abs()


def phase_log_mean(kappa: torch.Tensor, psi: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    r""":math:`\ln E_\theta\, e^{-2\kappa \sin^2((\theta - \psi)/2)}` with :math:`\theta \sim \mathcal{N}(0, s^2)`: the likelihood averaged over the phase.

    With :math:`m` the noiseless received point of a candidate, :math:`\kappa
    = 2|y||m|/N_0` and :math:`\psi = |\arg(y \bar m)|`,
    :math:`|y - m e^{j\theta}|^2 = (|y| - |m|)^2 + 4|y||m| \sin^2((\theta - \psi)/2)`, so
    :math:`E_\theta\, e^{-|y - m e^{j\theta}|^2 / N_0} = e^{-(|y| - |m|)^2/N_0}` times this.

    The integrand :math:`e^{g(\theta)}`, :math:`g(\theta) = -\theta^2/(2s^2)
    - 2\kappa \sin^2((\theta - \psi)/2)`, is as narrow as
    :math:`1/\sqrt{\kappa}` at high SNR, so no fixed set of phases can
    sample it; it is integrated where it lives. Its stationary points are
    known: with :math:`a = \kappa s^2` and :math:`F(v) = v + a \sin v`, on the
    period :math:`k` of the phase axis (:math:`\psi_k \pm \pi`,
    :math:`\psi_k = \psi + 2\pi k`) they are :math:`\theta = \psi_k \mp v`
    (towards 0) with :math:`F(v) = |\psi_k|`, a peak on the rising part of
    :math:`F` and a minimum on its falling part. Period 0 has one peak,
    between 0 and :math:`\psi`, the highest of all; another period has a peak
    (and the minimum before it) only when :math:`a > 1` and
    :math:`|\psi_k| \le \max F`. Between these points :math:`g` is monotone:
    each such piece is integrated from its top by 20 Gauss–Legendre nodes
    over the window where :math:`g` is within 36 nats of the highest peak
    (its end found by growing a step from a curvature bound by 1.25, so the
    window is at most 1.25 times that region), and periods whose prior alone
    keeps them 36 nats down are left out. The peaks come from safeguarded
    Newton steps on :math:`F`; nothing is sampled at fixed phases, so the
    result holds at every SNR: ``tests/test_phase_noise_likelihood.py``
    holds it to a dense trapezoid rule (float64) to 1e-7 in :math:`\ln p` up
    to 50 dB, for every candidate, and 1e-8 is what it measures.

    Parameters
    ----------
    kappa : Tensor, float64, >= 0
    psi : Tensor, float64, in [0, pi]
    s : Tensor, float64, > 0 — standard deviation of the phase (rad)

    Returns
    -------
    Tensor, float64, of the broadcast shape.
    """
    shape = torch.broadcast_shapes(kappa.shape, psi.shape, s.shape)
    kappa, psi, s = (t.expand(shape).reshape(-1) for t in (kappa, psi, s))
    with torch.no_grad():  # where to integrate: the rule's nodes depend on the arguments, its value is differentiated below
        h0, rules = _phase_rule(kappa.detach(), psi.detach(), s.detach())
    grad = torch.is_grad_enabled() and (kappa.requires_grad or psi.requires_grad or s.requires_grad)
    w = torch.as_tensor(_GL_WEIGHTS, dtype=h0.dtype, device=h0.device)
    acc = torch.zeros_like(h0)  # the integral of exp(g - h0): h0 >= g everywhere (up to rounding)
    for idx, nodes, half in rules:
        k, p, sd = (t[idx, None] for t in (kappa, psi, s))
        if grad:
            u = torch.sin(0.5 * (nodes - p))
            g = -0.5 * (nodes / sd) ** 2 - 2.0 * k * u * u
            acc = acc.index_add(0, idx, (torch.exp(g - h0[idx, None]) @ w) * half)
        else:
            acc.index_add_(0, idx, (_log_integrand(nodes, k, p, sd).sub_(h0[idx, None]).exp_() @ w) * half)
    return (h0 + torch.log(acc) - torch.log(s) - 0.5 * math.log(2 * math.pi)).reshape(shape)


def _phase_rule(kappa: torch.Tensor, psi: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]:
    """The highest value ``h0`` of ``g`` over the axis, and the Gauss–Legendre rule of :func:`phase_log_mean` (1-D arguments)."""
    a = kappa * s * s
    multi = a > 1.0  # peaks in other periods are possible
    a1 = torch.where(multi, a, torch.full_like(a, 2.0))  # where the formulas of a > 1 are defined
    vc = torch.where(multi, torch.arccos(-1.0 / a1), torch.full_like(a, math.pi))  # end of F's rising part
    f_vc = vc + torch.sqrt(a1 * a1 - 1.0)  # F(v_c), the top of F (a > 1)
    zero = torch.zeros_like(a)
    # the highest peak, in period 0, between 0 and psi
    theta0 = psi - _solve_f(psi, a, zero, torch.minimum(psi, vc), psi / (1.0 + a), increasing=True)
    h0 = _log_integrand(theta0, kappa, psi, s)
    target = h0 - _DROP
    rules = [_piece(theta0, psi - math.pi, kappa, psi, s, target), _piece(theta0, psi + math.pi, kappa, psi, s, target)]
    for k in _periods(float(s.max())):
        if k == 0:
            continue
        centre = psi + 2 * math.pi * k
        toward = -1.0 if k > 0 else 1.0  # the direction of 0 from the period's centre
        near_end, far_end = centre + toward * math.pi, centre - toward * math.pi
        # the prior bounds g on the period by its value at the end nearest 0
        idx = (-0.5 * (near_end / s) ** 2 >= target).nonzero().squeeze(1)
        if idx.numel() == 0:
            continue
        kk, pp, ss, tt, a11, vcc, fv, mm = (t[idx] for t in (kappa, psi, s, target, a1, vc, f_vc, multi))
        c, ne, fe = centre[idx], near_end[idx], far_end[idx]
        level = (pp + 2 * math.pi * k) * -toward  # |psi_k| >= pi
        # a peak (and the minimum before it) in this period, high enough to count: it lies at
        # |theta| >= |psi_k| - v_c, where the prior alone is below target otherwise
        here = mm & (level <= fv) & (-0.5 * ((level - vcc) / ss) ** 2 >= tt)
        peak, low = fe.clone(), fe.clone()  # without a peak the period falls from its end nearest 0 to its far end
        sel = here.nonzero().squeeze(1)
        if sel.numel():
            lvl, a2, v2 = level[sel], a11[sel], vcc[sel]
            v_peak = _solve_f(lvl, a2, torch.zeros_like(lvl), v2, lvl / (1.0 + a2), increasing=True)
            v_min = _solve_f(lvl, a2, v2, torch.full_like(lvl, math.pi), math.pi - (lvl - math.pi) / (a2 - 1.0), increasing=False)
            peak[sel] = c[sel] + toward * v_peak
            low[sel] = c[sel] + toward * v_min
        for top, end in ((ne, low), (peak, low), (peak, fe)):  # from the end nearest 0 to the minimum (or the far end); the peak to either side
            rule = _piece(top, end, kk, pp, ss, tt)
            if rule is not None:
                rules.append((idx[rule[0]], rule[1], rule[2]))
    return h0, [r for r in rules if r is not None]


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
    \mathcal{N}(0, \mathrm{Var}\,\theta_i)`. Without an ADC that
    expectation is :func:`phase_log_mean`, integrated where the integrand
    lives, exact to 1e-8 in :math:`\ln p` at every SNR; after an ADC it is
    32-node Gauss–Hermite quadrature. With Wiener phase noise and ``n > 1``
    this is the per-use marginal (symbol-by-symbol detection), not the joint
    ML metric.

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
    if isinstance(no, float) or (isinstance(no, int) and not isinstance(no, bool)):
        no = torch.tensor(float(no), dtype=torch.float64)  # not rounded to float32 on the way: that moves ln p by 1e-8 of |y - m|^2 / N0
    no_b = broadcast_no(no, yy).clamp_min(1e-12).expand(rows, n)  # [B, n], float64
    hh = torch.ones_like(yy) if h is None else h.to(torch.complex128).expand(rows, n)
    if pn is not None and pn.sigma == 0:
        pn = None
    if pn is not None and adc is None:  # the average over the phase, at every SNR
        std = pn.phase_std(n).to(yy.device)[:, None]  # [n, 1]
        out = []
        per = max(1, _PAIRS // (s.numel() * n))
        for start in range(0, rows, per):
            sl = slice(start, start + per)
            mean = hh[sl, :, None] * s  # [b, n, M]
            target = yy[sl, :, None]
            r, rho, var = target.abs(), mean.abs(), no_b[sl, :, None]
            kappa = 2.0 * r * rho / var
            psi = torch.angle(target * mean.conj()).abs()
            out.append(-((r - rho) ** 2) / var + phase_log_mean(kappa, psi, std))
        return torch.cat(out)
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
