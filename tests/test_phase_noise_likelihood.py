"""The likelihood under phase noise is the ML metric at every SNR (issue 22).

A fixed set of phases cannot sample the likelihood of a point once it is
narrower in theta than their spacing; these tests hold it to a brute-force
dense grid up to 50 dB, and check what an ML detector must do: its error rate
never rises with SNR, a noiseless point is decided as itself, and the MI it
gives lies in [0, log2 M].
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _montecarlo import clopper_pearson

from commae import AWGN, Modem, qam
from commae.channels import Cascade, PhaseNoise, RappPA, Rician, symbol_log_likelihood
from commae.constellations import apsk
from commae.information import mi_over_channel
from commae.models import make_channel
from commae.snr import esno_db_to_no

CONSTELLATIONS = {"qam16": qam(16), "apsk16": apsk(16)}


def brute_log_likelihood(y: np.ndarray, means: np.ndarray, no: float, s: float) -> np.ndarray:
    """ln E_theta exp(-|y - m e^{j theta}|^2 / N0), theta ~ N(0, s^2), by the trapezoid rule on a dense grid (float64).

    The grid covers theta in [-(pi + 12 s), pi + 12 s] (every peak of the integrand, which lies
    between 0 and arg(y / m) or one period beyond) with a spacing of 1/8 of the narrowest
    width the integrand can have, min(s, sqrt(N0 / (2 |y| |m|))) (the trapezoid rule's error on a
    Gaussian sampled 8 to a standard deviation is e^-1200): up to 5e4 points a pair at 50 dB.
    ``y`` [P] and ``means`` [P] complex; returns [P].
    """
    out = np.empty(len(y))
    for i, (yy, m) in enumerate(zip(y, means)):
        kappa = 2 * abs(yy) * abs(m) / no
        step = min(s, 1 / math.sqrt(kappa + 1e-300)) / 8
        span = math.pi + 12 * s
        theta = np.linspace(-span, span, 2 * int(span / step) + 1)
        g = -(np.abs(yy - m * np.exp(1j * theta)) ** 2) / no - 0.5 * (theta / s) ** 2
        top = g.max()
        out[i] = top + math.log(np.exp(g - top).sum() * (theta[1] - theta[0]) / (s * math.sqrt(2 * math.pi)))
    return out


def _pairs(const, sigma: float, esno_db: float, draws: int, seed: int) -> tuple[torch.Tensor, float]:
    """Received values: ``draws`` through the channel, and every fifth point noiseless and rotated by pi, pi/2 and 3 sigma."""
    no = float(esno_db_to_no(esno_db))
    gen = torch.Generator().manual_seed(seed)
    x = const.points[torch.randint(0, const.num_points, (draws,), generator=gen)][:, None]
    y = Cascade(AWGN(), PhaseNoise(sigma))(x, no, generator=gen)
    p = const.points[::5, None]
    extra = torch.cat([p, -p, 1j * p, p * complex(math.cos(3 * sigma), math.sin(3 * sigma))])
    return torch.cat([y, extra.to(y.dtype)]), no


def _grid_errors(channel, const, y, no, sigma, h=None, means=None) -> tuple[float, float, int]:
    """Largest |ln p - ln p_grid| over every (received value, candidate), the same for ln p less its largest candidate's, and the decisions that differ."""
    ll = symbol_log_likelihood(channel, y, const.points, no, h)[:, 0, :].numpy()  # [B, M]
    if means is None:
        means = np.broadcast_to(const.points.numpy().astype(np.complex128), ll.shape)
    yy = np.broadcast_to(y.numpy().astype(np.complex128), ll.shape)
    ref = brute_log_likelihood(yy.ravel(), np.asarray(means).ravel(), no, sigma).reshape(ll.shape)
    # the differences are what decisions and the MI use, within each received value
    diff = (ll - ll.max(1, keepdims=True)) - (ref - ref.max(1, keepdims=True))
    return float(np.abs(ll - ref).max()), float(np.abs(diff).max()), int((ll.argmax(1) != ref.argmax(1)).sum())


def _assert_matches_grid(channel, const, sigma, snrs, draws, seed, tol=1e-7):
    errors = {}
    for esno_db in snrs:
        y, no = _pairs(const, sigma, esno_db, draws=draws, seed=seed + int(esno_db))
        errors[esno_db] = _grid_errors(channel, const, y, no, sigma)
    assert all(e[0] < tol and e[1] < 2 * tol and e[2] == 0 for e in errors.values()), "Es/N0: (|d ln p|, |d ln p differences|, decisions differing) " + str(errors)


@pytest.mark.parametrize("name", ["qam16", "apsk16"])
@pytest.mark.parametrize("sigma", [0.2, 0.02])
def test_likelihood_matches_a_dense_grid_up_to_50_db(name, sigma):
    """Every candidate's ln p(y|x), not only the likely ones, to 1e-7 (relative error of p 1e-7) at 10, 30 and 50 dB."""
    _assert_matches_grid(make_channel("awgn", phase_noise=sigma), CONSTELLATIONS[name], sigma, (10.0, 30.0, 50.0), draws=2, seed=0)


@pytest.mark.long
@pytest.mark.parametrize("name", ["qam16", "apsk16"])
@pytest.mark.parametrize("sigma", [0.2, 0.02, 0.5])
def test_likelihood_matches_a_dense_grid_every_5_db(name, sigma):
    _assert_matches_grid(make_channel("awgn", phase_noise=sigma), CONSTELLATIONS[name], sigma, [float(e) for e in range(0, 55, 5)], draws=16, seed=100)


def test_likelihood_with_csi_a_pa_wiener_noise_and_a_wide_phase_matches_the_grid():
    """The gain and the PA only move the noiseless point; a Wiener walk widens the phase of later uses; a wide phase (2 rad) spans periods."""
    const = CONSTELLATIONS["apsk16"]
    no = float(esno_db_to_no(40.0))
    gen = torch.Generator().manual_seed(5)
    y = torch.randn(6, 1, dtype=torch.complex64, generator=gen)
    h = torch.randn(6, 1, dtype=torch.complex64, generator=gen)
    pa = RappPA(backoff_db=3.0)
    channel = Cascade(pa, Rician(3.0), PhaseNoise(0.1))
    means = (h.to(torch.complex128) * pa.amplify(const.points.to(torch.complex128))).numpy()  # [6, M]
    assert max(_grid_errors(channel, const, y, no, 0.1, h=h, means=means)[:2]) < 1e-7
    wiener = Cascade(AWGN(), PhaseNoise(0.1, "wiener"))
    y2 = torch.randn(4, 3, dtype=torch.complex64, generator=gen)
    ll = symbol_log_likelihood(wiener, y2, const.points, no)  # [4, 3, M]
    for use in range(3):
        yy = np.broadcast_to(y2[:, use, None].numpy().astype(np.complex128), (4, 16))
        ref = brute_log_likelihood(yy.ravel(), np.broadcast_to(const.points.numpy(), (4, 16)).ravel().astype(np.complex128), no, 0.1 * math.sqrt(use + 1))
        assert np.abs(ll[:, use, :].numpy().ravel() - ref).max() < 1e-7
    _assert_matches_grid(make_channel("awgn", phase_noise=2.0), const, 2.0, (30.0,), draws=2, seed=9)


@pytest.mark.parametrize("name", ["qam16", "apsk16"])
def test_a_noiseless_point_is_decided_as_itself(name):
    const = CONSTELLATIONS[name]
    y = const.points[:, None]  # [M, 1]: y = x exactly
    for sigma in (0.2, 0.05, 0.01):
        channel = make_channel("awgn", phase_noise=sigma)
        for esno_db in (20.0, 30.0, 40.0, 50.0, 60.0):
            decided = symbol_log_likelihood(channel, y, const.points, float(esno_db_to_no(esno_db)))[:, 0].argmax(-1)
            assert torch.equal(decided, torch.arange(const.num_points)), (sigma, esno_db, decided)


def ml_symbol_errors(const, channel, esno_db: float, symbols: int, seed: int) -> int:
    """Symbol errors of the baseline's own detector (``Modem.receive``) over ``channel`` on ``symbols`` seeded uses."""
    modem = Modem(const, channel)
    no = float(esno_db_to_no(esno_db))
    gen = torch.Generator().manual_seed(seed)
    sent = torch.randint(0, const.num_points, (symbols,), generator=gen)
    y = modem.channel(const.points[sent][:, None], no, generator=gen)
    bits = modem.receive(y, no)
    return int((bits != const.indices_to_bits(sent[:, None])).any(-1).sum())


def _assert_never_rises(const, sigma, snrs, symbols, seed):
    counts = [ml_symbol_errors(const, make_channel("awgn", phase_noise=sigma), e, symbols, seed + i) for i, e in enumerate(snrs)]
    bounds = [clopper_pearson(c, symbols, 0.999) for c in counts]
    for i in range(len(snrs)):
        for j in range(i + 1, len(snrs)):  # at a higher SNR the rate may not lie above the lower SNR's interval
            assert bounds[j][0] <= bounds[i][1], f"ML SER rises from {counts[i] / symbols:.4f} at {snrs[i]} dB to {counts[j] / symbols:.4f} at {snrs[j]} dB"
    return [c / symbols for c in counts]


@pytest.mark.parametrize("name", ["qam16", "apsk16"])
def test_ml_symbol_error_rate_never_rises_with_snr(name):
    """More noise is a degraded version of the same channel: an ML detector's SER cannot rise with SNR (99.9 % intervals)."""
    rates = _assert_never_rises(CONSTELLATIONS[name], 0.2, [16.0, 24.0, 32.0, 40.0], 1 << 13, seed=21)
    floor = {"qam16": (0.02, 0.045), "apsk16": (0.13, 0.16)}[name]  # the phase-noise floor of each at 40 dB
    assert floor[0] < rates[-1] < floor[1], rates


@pytest.mark.long
@pytest.mark.parametrize("name", ["qam16", "apsk16"])
def test_ml_symbol_error_rate_never_rises_every_2_db(name):
    _assert_never_rises(CONSTELLATIONS[name], 0.2, [float(e) for e in range(16, 42, 2)], 1 << 15, seed=31)


def test_mi_under_strong_phase_noise_is_in_range_and_grows_with_snr():
    """`info --phase-noise 0.2` at 42 dB: the MI of 16-APSK and 16-QAM lies in [0, 4] bit and is not below its value at 22 dB."""
    channel = make_channel("awgn", phase_noise=0.2)
    for const in CONSTELLATIONS.values():
        mi, bmi = mi_over_channel(const, channel, [22.0, 42.0], num_samples=8000, seed=3)
        assert np.all((mi >= 0) & (mi <= 4)) and np.all((bmi >= 0) & (bmi <= mi + 0.05)), (mi, bmi)
        assert mi[1] > mi[0] - 0.07, mi  # 8000 samples of a density with std < 1.5 bit: std < 0.017 bit each


def test_likelihood_is_differentiable_in_the_points():
    """The rule's nodes are chosen without a gradient; the value is differentiated through the integrand (finite differences agree)."""
    channel = make_channel("awgn", phase_noise=0.2)
    y = torch.tensor([[0.9 + 0.2j], [-0.1 + 1.0j]], dtype=torch.complex128)

    def ll(re, im):
        return symbol_log_likelihood(channel, y, torch.complex(re, im), 1e-3)

    points = qam(4).points.to(torch.complex128)
    re, im = points.real.clone().requires_grad_(), points.imag.clone().requires_grad_()
    assert torch.autograd.gradcheck(ll, (re, im), eps=1e-6, atol=1e-5, rtol=1e-4)
