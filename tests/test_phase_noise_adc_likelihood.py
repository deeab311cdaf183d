"""The likelihood after phase noise and an ADC is the ML metric at every SNR (issue 22, its last item).

Given the phase, the probability of the received quantiser cell falls from about 1
to about 0 within sigma / |m| rad of the phases where the noiseless point crosses an
edge of the cell (0.002 rad at Es/N0 50 dB), far narrower than the 0.11 rad between
the 32 fixed Gauss–Hermite phases commae used to average over. These tests hold the
likelihood to a brute-force average over the phase written here with numpy and
scipy (a dense trapezoid rule, no commae code), up to 50 dB, for 3- and 4-bit ADCs,
and check what follows from an exact likelihood: the MI of the quantised channel,
computed exactly over every cell, agrees with the brute-force one; the Monte-Carlo
MI `commae info` prints agrees with it within its error and does not fall with SNR;
the baselines' symbol error rate is the exact ML one; a noiseless point is decided as itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _montecarlo import clopper_pearson
from scipy.special import log_ndtr, ndtr
from test_phase_noise_likelihood import ml_symbol_errors

from commae import qam
from commae.channels import ADC, AWGN, Cascade, PhaseNoise, RappPA, Rician, symbol_log_likelihood
from commae.constellations import apsk
from commae.information import mi_over_channel
from commae.models import make_channel
from commae.snr import esno_db_to_no

CONSTELLATIONS = {"qam16": qam(16), "apsk16": apsk(16)}
CLIP = 1.5  # the ADC's default clipping level (times the input RMS)


# ---------------------------------------------------------------------------------------------
# The brute-force reference: numpy and scipy only
# ---------------------------------------------------------------------------------------------


def quantiser(bits: int, no: float, clip: float = CLIP) -> tuple[np.ndarray, np.ndarray]:
    """``(edges [L + 1], levels [L])`` of the ADC's uniform mid-rise quantiser per real dimension, ``L = 2^bits``, the outer edges infinite.

    Full scale c = clip * sqrt((1 + N0) / 2) (a unit-power input plus noise), step 2c / L.
    """
    c = clip * math.sqrt((1 + no) / 2)
    count = 1 << bits
    step = 2 * c / count
    edges = -c + step * np.arange(count + 1)
    edges[0], edges[-1] = -np.inf, np.inf
    return edges, -c + (np.arange(count) + 0.5) * step


def log_gaussian_interval(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """ln(Phi(hi) - Phi(lo)) for lo < hi, with scipy's log_ndtr, stable in both tails."""
    flip = lo > 0
    a, b = np.where(flip, -hi, lo), np.where(flip, -lo, hi)
    la, lb = log_ndtr(a), log_ndtr(b)
    return lb + np.log1p(-np.exp(np.minimum(la - lb, 0.0)))


def brute_log_likelihood(cell: tuple[int, int], m: complex, no: float, s: float, bits: int) -> float:
    """ln E_theta P(Q(m e^{j theta} + w) = cell), theta ~ N(0, s^2), w ~ CN(0, N0), by the trapezoid rule on a dense grid.

    The grid covers theta in [-(pi + 12 s), pi + 12 s] (the integrand is 2 pi-periodic times the
    prior, so every copy of its peaks that is not 72 nats down lies there) with a spacing of 1/8
    of the narrowest width the integrand can have, min(s, sigma / max(|m|, 2)) with sigma =
    sqrt(N0 / 2): the cell's probability changes over sigma / |m| in theta where the point
    crosses an edge, and over sigma / sqrt(|m| |corner|) near a corner.
    """
    edges, _ = quantiser(bits, no)
    sigma = math.sqrt(no / 2)
    step = min(s, sigma / max(abs(m), 2.0)) / 8
    span = math.pi + 12 * s
    theta = np.linspace(-span, span, 2 * int(span / step) + 1)
    z = m * np.exp(1j * theta)
    (i, q) = cell
    g = (
        log_gaussian_interval((edges[i] - z.real) / sigma, (edges[i + 1] - z.real) / sigma)
        + log_gaussian_interval((edges[q] - z.imag) / sigma, (edges[q + 1] - z.imag) / sigma)
        - 0.5 * (theta / s) ** 2
    )
    top = g.max()
    return float(top + math.log(np.exp(g - top).sum() * (theta[1] - theta[0]) / (s * math.sqrt(2 * math.pi))))


def brute_cell_probabilities(points: np.ndarray, no: float, s: float, bits: int) -> np.ndarray:
    """``[M, L, L]``: P(cell (i, q) | x) of every cell, by the trapezoid rule over theta in [-12 s, 12 s] (what lies beyond weighs < 1e-31).

    Given theta the I and Q cells are independent, so P = sum_theta w(theta) A_i(theta) B_q(theta), one matrix product.
    """
    edges, _ = quantiser(bits, no)
    sigma = math.sqrt(no / 2)
    out = []
    for m in points:
        step = min(s, sigma / max(abs(m), 2.0)) / 8
        theta = np.linspace(-12 * s, 12 * s, 2 * int(12 * s / step) + 1)
        w = np.exp(-0.5 * (theta / s) ** 2) * (theta[1] - theta[0]) / (s * math.sqrt(2 * math.pi))
        w[[0, -1]] *= 0.5
        z = m * np.exp(1j * theta)
        a = ndtr((edges[None, 1:] - z.real[:, None]) / sigma) - ndtr((edges[None, :-1] - z.real[:, None]) / sigma)
        b = ndtr((edges[None, 1:] - z.imag[:, None]) / sigma) - ndtr((edges[None, :-1] - z.imag[:, None]) / sigma)
        out.append(np.einsum("t,ti,tq->iq", w, a, b))
    return np.array(out)


def exact_mi(probabilities: np.ndarray) -> tuple[float, float]:
    """``(I(X; Y), Var of the information density)`` in bits of equiprobable inputs and ``[M, cells]`` transition probabilities."""
    p = probabilities.reshape(probabilities.shape[0], -1)
    py = p.mean(0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(p > 0, np.log2(p / py), 0.0)
    mi = float((p * density).sum() / p.shape[0])
    return mi, float((p * density**2).sum() / p.shape[0] - mi**2)


# ---------------------------------------------------------------------------------------------
# commae's likelihood, on received cells
# ---------------------------------------------------------------------------------------------


def library_cell_probabilities(const, channel, no: float, bits: int) -> np.ndarray:
    """``[M, L, L]`` from ``channel.log_likelihood`` at every output level pair of the ADC."""
    _, levels = quantiser(bits, no)
    y = torch.tensor((levels[:, None] + 1j * levels[None, :]).ravel(), dtype=torch.complex64)[:, None]
    ll = channel.log_likelihood(y, const.points, no)[:, 0, :]  # [L * L, M]
    return ll.exp().numpy().T.reshape(-1, 1 << bits, 1 << bits)


def received_cells(const, channel, s: float, esno_db: float, bits: int, seed: int) -> tuple[torch.Tensor, list[tuple[int, int]], float]:
    """Received values and their cells: two channel draws, a noiseless point, one rotated by pi and one by 3 s, a corner cell and an edge cell."""
    no = float(esno_db_to_no(esno_db))
    _, levels = quantiser(bits, no)
    gen = torch.Generator().manual_seed(seed)
    x = const.points[torch.randint(0, const.num_points, (2,), generator=gen)][:, None]
    drawn = channel(x, no, generator=gen)[:, 0]
    p = const.points
    rotated = torch.stack([p[0], -p[3], p[5] * complex(math.cos(3 * s), math.sin(3 * s))])[:, None]
    quantised = ADC(bits)(rotated, no)[:, 0]
    top, middle = float(levels[-1]), float(levels[len(levels) // 2])
    extra = torch.tensor([complex(top, top), complex(float(levels[0]), middle)], dtype=torch.complex64)
    y = torch.cat([drawn, quantised, extra])[:, None]
    cells = [(int(np.argmin(abs(levels - v.real))), int(np.argmin(abs(levels - v.imag)))) for v in y[:, 0].tolist()]
    return y, cells, no


def _assert_matches_brute_force(name: str, bits: int, s: float, snrs, seed: int, tol: float = 1e-7) -> None:
    const = CONSTELLATIONS[name]
    channel = make_channel("awgn", phase_noise=s, adc_bits=bits)
    points = const.points.numpy().astype(np.complex128)
    errors = {}
    for esno_db in snrs:
        y, cells, no = received_cells(const, channel, s, esno_db, bits, seed + int(esno_db))
        ll = symbol_log_likelihood(channel, y, const.points, no)[:, 0, :].numpy()  # [R, M]
        ref = np.array([[brute_log_likelihood(cell, m, no, s, bits) for m in points] for cell in cells])
        errors[esno_db] = (float(np.abs(ll - ref).max()), int((ll.argmax(1) != ref.argmax(1)).sum()))
    assert all(e[0] < tol and e[1] == 0 for e in errors.values()), "Es/N0: (|d ln p| over every cell and candidate, decisions differing) " + str(errors)


@pytest.mark.parametrize("name", ["qam16", "apsk16"])
def test_likelihood_after_phase_noise_and_adc_matches_brute_force(name):
    """ln p(cell | x) of every candidate, 4-bit ADC, 0.2 rad, to 1e-7 (relative error of p 1e-7) at 10, 30 and 50 dB."""
    _assert_matches_brute_force(name, 4, 0.2, (10.0, 30.0, 50.0), seed=0)


@pytest.mark.long
@pytest.mark.parametrize("name", ["qam16", "apsk16"])
@pytest.mark.parametrize("bits", [3, 4])
@pytest.mark.parametrize("sigma", [0.2, 0.02])
def test_likelihood_after_phase_noise_and_adc_matches_brute_force_every_10_db(name, bits, sigma):
    _assert_matches_brute_force(name, bits, sigma, (10.0, 20.0, 30.0, 40.0, 50.0), seed=40)


@pytest.mark.long
def test_likelihood_with_a_pa_csi_wiener_uses_and_a_wide_phase_after_an_adc_matches_brute_force():
    """The PA and the gain move the noiseless point; a Wiener walk widens later uses' phase; a 2 rad phase wraps around the circle."""
    const = CONSTELLATIONS["apsk16"]
    no = float(esno_db_to_no(40.0))
    _, levels = quantiser(3, no)
    pa = RappPA(backoff_db=3.0)
    gen = torch.Generator().manual_seed(5)
    pick = torch.randint(0, len(levels), (2, 3, 2), generator=gen)
    y = torch.tensor(levels[pick[..., 0].numpy()] + 1j * levels[pick[..., 1].numpy()], dtype=torch.complex64)  # [2, 3] received levels
    h = torch.randn(2, 3, dtype=torch.complex64, generator=gen)
    for stages, std, gain in (
        ((pa, Rician(3.0), PhaseNoise(0.1)), [0.1] * 3, h),
        ((AWGN(), PhaseNoise(0.1, "wiener")), [0.1 * math.sqrt(use + 1) for use in range(3)], torch.ones_like(h)),
        ((AWGN(), PhaseNoise(2.0)), [2.0] * 3, torch.ones_like(h)),
    ):
        channel = Cascade(*stages, ADC(3))
        ll = symbol_log_likelihood(channel, y, const.points, no, h if stages[1].csi else None).numpy()  # [2, 3, M]
        means = gain.numpy().astype(np.complex128)[..., None] * (pa.amplify(const.points.to(torch.complex128)).numpy() if stages[0] is pa else const.points.numpy().astype(np.complex128))
        ref = np.array([[[brute_log_likelihood((int(pick[r, u, 0]), int(pick[r, u, 1])), means[r, u, m], no, std[u], 3) for m in range(16)] for u in range(3)] for r in range(2)])
        assert np.abs(ll - ref).max() < 1e-7, (channel.name, np.abs(ll - ref).max())


@pytest.mark.long  # tens of seconds each: the default set keeps the brute-force likelihood and the noiseless-point checks
@pytest.mark.parametrize("name", ["qam16", "apsk16"])
def test_exact_mi_through_a_4_bit_adc_agrees_with_brute_force_and_grows_with_snr(name):
    """The MI of the quantised channel summed over all 256 cells: commae's likelihood against the brute-force cell probabilities, 20 to 50 dB.

    More SNR need not raise the MI through a quantiser (noise can dither it), but here it does,
    by the brute force: 16-APSK 3.4309 -> 3.4856 bit, 16-QAM 3.7386 -> 3.8465 bit from 20 to 50 dB.
    """
    const = CONSTELLATIONS[name]
    channel = make_channel("awgn", phase_noise=0.2, adc_bits=4)
    points = const.points.numpy().astype(np.complex128)
    snrs = (20.0, 30.0, 40.0, 50.0)
    exact = [exact_mi(library_cell_probabilities(const, channel, float(esno_db_to_no(e)), 4))[0] for e in snrs]
    brute = [exact_mi(brute_cell_probabilities(points, float(esno_db_to_no(e)), 0.2, 4))[0] for e in snrs]
    assert np.allclose(exact, brute, rtol=0, atol=1e-6), (exact, brute)
    assert all(b > a for a, b in zip(brute, brute[1:])), brute
    assert all(b > a for a, b in zip(exact, exact[1:])), exact


@pytest.mark.long  # tens of seconds each: the default set keeps the brute-force likelihood and the noiseless-point checks
@pytest.mark.parametrize("name", ["qam16", "apsk16"])
def test_monte_carlo_mi_through_a_4_bit_adc_is_the_exact_one(name):
    """`commae info --adc-bits 4 --phase-noise 0.2`'s MI (Monte Carlo, 2^14 samples) lies within 5 standard errors of the brute-force MI at 20, 35 and 50 dB.

    The standard error is the exact one, sqrt(Var i(X; Y) / n) from the brute-force cell
    probabilities; with the fixed phases `info` printed 2.00 bit for 16-APSK at 50 dB, where it is 3.4856.
    """
    const = CONSTELLATIONS[name]
    channel = make_channel("awgn", phase_noise=0.2, adc_bits=4)
    snrs = [20.0, 35.0, 50.0]
    samples = 1 << 14
    mi, bmi = mi_over_channel(const, channel, snrs, num_samples=samples, seed=7)
    for value, esno_db in zip(mi, snrs):
        exact, var = exact_mi(brute_cell_probabilities(const.points.numpy().astype(np.complex128), float(esno_db_to_no(esno_db)), 0.2, 4))
        assert abs(value - exact) < 5 * math.sqrt(var / samples), (esno_db, value, exact, math.sqrt(var / samples))
    assert np.all((bmi >= 0) & (bmi <= mi + 0.05)), (mi, bmi)


@pytest.mark.long  # tens of seconds each: the default set keeps the brute-force likelihood and the noiseless-point checks
@pytest.mark.parametrize("name", ["qam16", "apsk16"])
def test_ml_symbol_error_rate_through_an_adc_is_the_exact_one(name):
    """The baselines' detector (``Modem.receive``) makes the ML detector's errors: its SER lies in the 99.9 % interval around the exact ML SER, 20 to 50 dB.

    The exact ML SER of the quantised channel is 1 - (1/M) sum over cells of max_x P(cell | x),
    from the brute-force cell probabilities; here it never rises with SNR (16-APSK 0.1651, 0.1483,
    0.1467, 0.1465 at 20, 30, 40, 50 dB), while the fixed phases gave 0.161 at 35 dB.
    """
    const = CONSTELLATIONS[name]
    channel = make_channel("awgn", phase_noise=0.2, adc_bits=4)
    points = const.points.numpy().astype(np.complex128)
    symbols = 1 << 14
    exact = []
    for i, esno_db in enumerate([20.0, 30.0, 35.0, 40.0, 50.0]):
        p = brute_cell_probabilities(points, float(esno_db_to_no(esno_db)), 0.2, 4).reshape(const.num_points, -1)
        exact.append(1 - p.max(0).sum() / const.num_points)
        count = ml_symbol_errors(const, channel, esno_db, symbols, seed=60 + i)
        low, high = clopper_pearson(count, symbols, 0.999)
        assert low <= exact[-1] <= high, f"SER {count / symbols:.4f} at {esno_db} dB, exact ML {exact[-1]:.4f}"
    assert all(b <= a for a, b in zip(exact, exact[1:])), exact


@pytest.mark.parametrize("name", [pytest.param("qam16", marks=pytest.mark.long), "apsk16"])  # 16-QAM passed before the fix too
def test_a_noiseless_point_after_an_adc_is_decided_as_itself(name):
    """The quantised noiseless point (its cell holds no other point) is decided as itself, 20 to 60 dB, phase noise 0.2 and 0.05 rad."""
    const = CONSTELLATIONS[name]
    for sigma in (0.2, 0.05):
        channel = make_channel("awgn", phase_noise=sigma, adc_bits=4)
        for esno_db in (20.0, 30.0, 40.0, 50.0, 60.0):
            no = float(esno_db_to_no(esno_db))
            y = ADC(4)(const.points[:, None], no)
            decided = symbol_log_likelihood(channel, y, const.points, no)[:, 0].argmax(-1)
            assert torch.equal(decided, torch.arange(const.num_points)), (sigma, esno_db, decided)


def test_the_kronrod_rule_is_exact_to_degree_22_and_holds_the_gauss_rule():
    """The 15-node Gauss–Kronrod rule integrates x^d exactly on [-1, 1] for d <= 22 (3n + 1, n = 7), and its odd nodes are the 7-node Gauss rule."""
    from commae.channels.likelihood import _GAUSS7_WEIGHTS, _KRONROD_NODES, _KRONROD_WEIGHTS

    for d in range(23):
        exact = (1 - (-1) ** (d + 1)) / (d + 1)
        assert abs((_KRONROD_WEIGHTS * _KRONROD_NODES**d).sum() - exact) < 1e-15, d
    nodes, weights = np.polynomial.legendre.leggauss(7)
    assert np.allclose(_KRONROD_NODES[1::2], nodes, atol=1e-15) and np.allclose(_GAUSS7_WEIGHTS, weights, atol=1e-15)


def test_likelihood_after_an_adc_is_differentiable_in_the_points():
    """The rule is chosen without a gradient and the value differentiated through the integrand (finite differences agree)."""
    channel = make_channel("awgn", phase_noise=0.2, adc_bits=3)
    no = 1e-2
    y = ADC(3)(torch.tensor([[0.9 + 0.2j], [-0.1 + 1.0j]]), no).to(torch.complex128)

    def ll(re, im):
        return symbol_log_likelihood(channel, y, torch.complex(re, im), no)

    points = qam(4).points.to(torch.complex128)
    re, im = points.real.clone().requires_grad_(), points.imag.clone().requires_grad_()
    assert torch.autograd.gradcheck(ll, (re, im), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_the_likelihood_after_an_adc_depends_only_on_the_cell():
    """Every received value of a batch in the same cell gets the same ln p (computed once per distinct cell), and any value in a cell the cell's."""
    const = CONSTELLATIONS["apsk16"]
    channel = make_channel("awgn", phase_noise=0.2, adc_bits=4)
    no = float(esno_db_to_no(30.0))
    gen = torch.Generator().manual_seed(3)
    x = const.points[torch.randint(0, 16, (4096,), generator=gen)][:, None]
    y = channel(x, no, generator=gen)
    ll = symbol_log_likelihood(channel, y, const.points, no)
    one = torch.cat([symbol_log_likelihood(channel, y[i : i + 1], const.points, no) for i in range(8)])
    assert torch.allclose(ll[:8], one, rtol=0, atol=1e-9)
    nudged = y[:8] + 0.01 * (1 + 1j)  # within the cell (a step is 0.13)
    assert torch.allclose(symbol_log_likelihood(channel, nudged, const.points, no), ll[:8], rtol=0, atol=1e-9)
