"""Tests of commae.information: MI / BMI of constellations, capacity, and the MI of trained systems."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from torch import nn

from commae.channels import AWGN
from commae.constellations import pam, psk, qam
from commae.information import (
    bmi,
    capacity_awgn,
    capacity_rayleigh,
    channel_capacity,
    channel_mi,
    estimate_mi,
    mi,
    mi_from_losses,
    mi_over_channel,
    mi_with_interval,
)
from commae.models import Autoencoder
from commae.snr import ebno_db_to_esno_db, ebno_db_to_no

ESNO_DB = [0.0, 5.0, 10.0, 15.0]
# Reference values, computed independently (bits per complex use).
REFERENCE = {
    "16-QAM MI": [0.9897, 1.9732, 3.1639, 3.9285],
    "16-QAM BMI (Gray)": [0.8993, 1.9316, 3.1636, 3.9285],
    "64-QAM MI": [0.9918, 1.9926, 3.2686, 4.6814],
    "QPSK MI": [0.9719, 1.7184, 1.9935, 2.0000],
    "capacity": [1.0000, 2.0574, 3.4594, 5.0278],
}
TOLERANCE = 2e-3

COMPUTED = {
    "16-QAM MI": lambda s: mi(qam(16), s),
    "16-QAM BMI (Gray)": lambda s: bmi(qam(16), s),
    "64-QAM MI": lambda s: mi(qam(64), s),
    "QPSK MI": lambda s: mi(qam(4), s),
    "capacity": lambda s: capacity_awgn(s),
}

GRID = np.arange(-10.0, 30.1, 5.0)
CONSTELLATIONS = {"QPSK": qam(4), "8-PSK": psk(8), "16-QAM": qam(16), "64-QAM": qam(64), "256-QAM": qam(256)}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread for every test here


def _grid(name: str) -> np.ndarray:
    return GRID[::2] if name == "256-QAM" else GRID  # 256-QAM every 10 dB: it costs 16x 64-QAM


@functools.cache
def _curve(name: str, bitwise: bool) -> np.ndarray:
    """MI (or BMI) of a constellation on its grid, computed once for the tests that share it."""
    return (bmi if bitwise else mi)(CONSTELLATIONS[name], _grid(name))


# ------------------------------------------------------------------------ references
@pytest.mark.parametrize("name", list(REFERENCE))
def test_reference_table(name):
    np.testing.assert_allclose(COMPUTED[name](ESNO_DB), REFERENCE[name], rtol=0, atol=TOLERANCE)


def test_qpsk_psk_and_qam_agree():
    # a rotation changes nothing but the Gauss-Hermite grid's alignment: its accuracy, 2e-5 bit
    np.testing.assert_allclose(mi(psk(4), ESNO_DB), mi(qam(4), ESNO_DB), atol=2e-5)


def test_bpsk_real_channel_reference():
    assert abs(float(mi(pam(2), 0.0, real=True)) - 0.7215) < TOLERANCE


def test_real_and_complex_uses_are_consistent():
    # BPSK on a complex use only sees the real noise: the same as one real use
    np.testing.assert_allclose(mi(pam(2), ESNO_DB), mi(pam(2), ESNO_DB, real=True), atol=1e-9)
    # QPSK = two BPSKs of half the energy: MI_qpsk(Es/N0) = 2 MI_bpsk,real(Es/N0 / 2)
    half = np.asarray(ESNO_DB) - 10 * math.log10(2.0)
    np.testing.assert_allclose(mi(qam(4), ESNO_DB), 2 * mi(pam(2), half, real=True), atol=1e-6)
    # 16-QAM = two 4-PAMs, MI and (Gray, per-axis labels) BMI alike
    np.testing.assert_allclose(mi(qam(16), ESNO_DB), 2 * mi(pam(4), half, real=True), atol=1e-5)
    np.testing.assert_allclose(bmi(qam(16), ESNO_DB), 2 * bmi(pam(4), half, real=True), atol=1e-5)


def test_real_capacity_bounds_real_mi():
    grid = np.arange(-10.0, 30.1, 2.5)
    for M in (2, 4, 8):
        assert (mi(pam(M), grid, real=True) <= capacity_awgn(grid, real=True) + 1e-9).all()


# -------------------------------------------------------------------------- bounds
@pytest.mark.parametrize("name", list(CONSTELLATIONS))
def test_mi_below_capacity_and_log2m(name):
    c, grid = CONSTELLATIONS[name], _grid(name)
    values = _curve(name, False)
    assert values.shape == grid.shape
    assert (values <= capacity_awgn(grid) + 1e-9).all()
    assert (values <= c.k + 1e-9).all()
    assert (np.diff(values) >= -1e-9).all()  # more SNR, more information, until it saturates
    rising = values[:-1] < c.k - 1e-3
    assert (np.diff(values)[rising] > 0).all()


@pytest.mark.parametrize("name", ["QPSK", "8-PSK", "16-QAM", "64-QAM"])
def test_high_snr_limit_and_bmi_order(name):
    c = CONSTELLATIONS[name]
    assert abs(float(mi(c, 40.0)) - c.k) < 1e-3
    values, bits = _curve(name, False), _curve(name, True)
    assert (bits >= 0).all()
    assert (bits <= values + 1e-9).all()


def test_gray_labels_beat_natural_labels():
    points = qam(16).points  # bare points get the natural labels 0..15
    assert float(bmi(qam(16), 5.0)) > float(bmi(points, 5.0)) + 0.05
    assert float(mi(points, 5.0)) == pytest.approx(float(mi(qam(16), 5.0)), abs=1e-6)


def test_bare_points_are_normalised():
    points = 3.0 * np.exp(1j * (np.pi / 4 + np.pi / 2 * np.arange(4)))
    np.testing.assert_allclose(mi(points, ESNO_DB), REFERENCE["QPSK MI"], atol=TOLERANCE)
    np.testing.assert_allclose(mi(torch.as_tensor(points), ESNO_DB), mi(points, ESNO_DB), atol=1e-12)


def test_shape_and_ebno_keyword():
    grid = np.array([[0.0, 5.0], [10.0, 15.0]])
    assert mi(qam(16), grid).shape == (2, 2)
    assert mi(qam(16), 3.0).shape == ()
    ebno = np.array([0.0, 4.0, 8.0])
    np.testing.assert_allclose(mi(qam(16), ebno_db=ebno), mi(qam(16), ebno_db_to_esno_db(ebno, 4)), atol=1e-12)
    np.testing.assert_allclose(bmi(qam(16), ebno_db=ebno), bmi(qam(16), ebno_db_to_esno_db(ebno, 4)), atol=1e-12)


# ----------------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("esno_db", [4.0, 12.0])
@pytest.mark.parametrize("bitwise", [False, True])
def test_quadrature_inside_monte_carlo_interval(esno_db, bitwise):
    exact = (bmi if bitwise else mi)(qam(16), esno_db)
    est, low, high = mi_with_interval(qam(16), esno_db, bitwise=bitwise, num_samples=40_000, seed=1, confidence=0.999)
    assert low < est < high
    assert high - low < 0.05
    assert low <= float(exact) <= high


def test_monte_carlo_is_seeded():
    a = mi_with_interval(qam(16), 8.0, num_samples=2000, seed=3)
    assert a == mi_with_interval(qam(16), 8.0, num_samples=2000, seed=3)
    assert a != mi_with_interval(qam(16), 8.0, num_samples=2000, seed=4)
    curve = mi(qam(16), [5.0, 8.0], method="monte_carlo", num_samples=2000, seed=3)
    assert curve[1] == pytest.approx(a[0], abs=1e-12)  # each SNR point uses the seed


def test_interval_shrinks_like_one_over_sqrt_n():
    _, low1, high1 = mi_with_interval(qam(16), 8.0, num_samples=4000)
    _, low2, high2 = mi_with_interval(qam(16), 8.0, num_samples=16_000)
    assert (high2 - low2) == pytest.approx((high1 - low1) / 2, rel=0.15)


@pytest.mark.parametrize("esno_db", [5.0, 15.0])
def test_rayleigh_mi_below_rayleigh_capacity_and_awgn_mi(esno_db):
    _, _, high = mi_with_interval(qam(16), esno_db, channel="rayleigh", num_samples=20_000)
    assert high < float(capacity_rayleigh(esno_db))
    assert high < float(mi(qam(16), esno_db))
    _, _, high_bits = mi_with_interval(qam(16), esno_db, channel="rayleigh", bitwise=True, num_samples=20_000)
    assert high_bits < float(capacity_rayleigh(esno_db))


# -------------------------------------------------------------------------- capacity
def test_capacity_rayleigh_against_numerical_integral():
    grid = np.array([-40.0, -17.0, -16.98, -10.0, 0.0, 10.0, 20.0, 30.0])
    closed = capacity_rayleigh(grid)
    for esno_db, value in zip(grid, closed):
        rho = 10 ** (esno_db / 10)
        numeric, _ = quad(lambda g, rho=rho: math.log2(1 + g * rho) * math.exp(-g), 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)
        assert value == pytest.approx(numeric, rel=1e-6)
    assert (closed < capacity_awgn(grid)).all()  # Jensen
    assert capacity_rayleigh(3.0).shape == ()


# ------------------------------------------------------------- MI of trained systems
def test_mi_from_losses_known_inputs():
    assert mi_from_losses([0.0, 0.0, 0.0], k=3) == (3.0, 3.0, 3.0)
    est, low, high = mi_from_losses(torch.tensor([0.0, math.log(4.0)]), k=2)
    # mean ln 2 nats -> 1 bit; std ln4/sqrt2 nats -> standard error 1 bit
    assert est == pytest.approx(1.0)
    assert low == pytest.approx(1.0 - 1.959964, abs=1e-5)
    assert high == pytest.approx(1.0 + 1.959964, abs=1e-5)
    est, low, high = mi_from_losses(np.full(10, math.log(2.0)), k=1, bitwise=True, confidence=0.5)
    assert (est, low, high) == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)


class _PerfectDemapper(nn.Module):
    """QPSK over AWGN with the exact log-posteriors as symbol logits: its CE bound is the MI."""

    k, n, output = 2, 1, "symbol"

    def __init__(self) -> None:
        super().__init__()
        self.channel = AWGN()
        self.register_buffer("points", qam(4).points)
        self.scale = nn.Parameter(torch.ones(()))  # gives the model a device

    def forward(self, messages, no, generator=None):
        y = self.channel(self.points[messages][:, None], no, generator=generator)  # [B, 1]
        return -(y - self.points[None, :]).abs().pow(2) / no  # [B, M]


def test_estimate_mi_perfect_receiver_matches_quadrature():
    model = _PerfectDemapper()
    ebno_db = 3.0
    result = estimate_mi(model, ebno_db, num_messages=20_000, seed=5)
    exact = float(mi(qam(4), ebno_db_to_esno_db(ebno_db, 2)))
    assert result["esno_db"] == pytest.approx(ebno_db_to_esno_db(ebno_db, 2))
    assert result["low"] <= exact <= result["high"]
    assert result["mi_bits_per_use"] == result["mi_bits_per_message"]


@pytest.mark.parametrize("output", ["symbol", "bit"])
def test_estimate_mi_untrained_autoencoder(output):
    model = Autoencoder(2, 2, output=output, hidden=8)
    model.train()
    result = estimate_mi(model, 4.0, num_messages=3000, batch_size=1000, seed=0)
    assert model.training  # mode restored
    assert result["low"] <= result["mi_bits_per_message"] <= result["high"]
    assert result["mi_bits_per_use"] == pytest.approx(result["mi_bits_per_message"] / 2)
    assert result["mi_bits_per_message"] <= 2.0
    assert estimate_mi(model, 4.0, num_messages=3000, batch_size=1000, seed=0) == result
    model.eval()
    estimate_mi(model, 4.0, num_messages=100)
    assert not model.training


def test_estimate_mi_uses_the_snr_convention():
    seen = {}

    class Spy(_PerfectDemapper):
        def forward(self, messages, no, generator=None):
            seen["no"] = no
            return super().forward(messages, no, generator)

    estimate_mi(Spy(), 7.0, num_messages=10)
    assert seen["no"] == pytest.approx(ebno_db_to_no(7.0, 2, 1))


# ----------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mi(qam(16), 5.0, channel="rician"), "channel must be 'awgn' or 'rayleigh'"),
        (lambda: mi(qam(16), 5.0, method="simpson"), "method must be 'quadrature' or 'monte_carlo'"),
        (lambda: mi(qam(16), 5.0, channel="rayleigh"), "use method='monte_carlo'"),
        (lambda: mi(qam(16), float("nan")), "esno_db must be finite"),
        (lambda: bmi(qam(16), [0.0, float("inf")]), "esno_db must be finite"),
        (lambda: mi(qam(16), ebno_db=float("-inf")), "ebno_db must be finite"),
        (lambda: mi(qam(16)), "exactly one of esno_db"),
        (lambda: mi(qam(16), 1.0, ebno_db=1.0), "exactly one of esno_db"),
        (lambda: mi(np.array([1, -1, 1j]), 5.0), "constellation must have a power of two"),
        (lambda: mi(np.ones((2, 2)), 5.0), "constellation must be"),
        (lambda: mi(qam(16), 5.0, real=True), "real=True needs real constellation points"),
        (lambda: mi(qam(16), 5.0, real=True, channel="rayleigh", method="monte_carlo"), "real"),
        (lambda: mi(qam(16), 5.0, method="monte_carlo", num_samples=0), "num_samples must be a positive integer"),
        (lambda: mi_with_interval(qam(16), 5.0, num_samples=-3), "num_samples must be a positive integer"),
        (lambda: mi_with_interval(qam(16), 5.0, confidence=1.0), r"confidence must be a probability in \(0, 1\)"),
        (lambda: mi_with_interval(qam(16), [5.0, 6.0]), "esno_db must be a scalar"),
        (lambda: mi_with_interval(qam(16), 5.0, channel="awgn2"), "channel must be"),
        (lambda: mi_from_losses([0.1, 0.2], k=2, confidence=0.0), "confidence must be"),
        (lambda: mi_from_losses([], k=2), "per_sample_losses must be a non-empty 1-D"),
        (lambda: mi_from_losses([0.1, float("nan")], k=2), "per_sample_losses must be finite"),
        (lambda: mi_from_losses([0.1], k=0), "k must be a positive integer"),
        (lambda: capacity_rayleigh(float("nan")), "esno_db must be finite"),
        (lambda: estimate_mi(Autoencoder(2, 1, hidden=8), float("nan")), "ebno_db must be finite"),
        (lambda: estimate_mi(Autoencoder(2, 1, hidden=8), 3.0, num_messages=0), "num_messages must be a positive integer"),
        (lambda: estimate_mi(Autoencoder(2, 1, hidden=8), 3.0, confidence=2), "confidence must be"),
        (lambda: estimate_mi(Autoencoder(2, 1, hidden=8), 3.0, device="meta"), "device must be the model's device"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the estimator a channel object gets (issue 21) -------------------------------------------


def test_channel_mi_picks_the_estimator_the_channel_admits():
    from commae.channels import Cascade, Channel, PhaseNoise, Rayleigh, Rician

    c, esno = qam(16), [0.0, 10.0]
    m, b = channel_mi(c, AWGN(), esno, num_samples=3000, seed=2)
    assert np.array_equal(m, mi(c, esno)) and np.array_equal(b, bmi(c, esno))  # quadrature, bit for bit
    kw = dict(channel="rayleigh", method="monte_carlo", num_samples=3000, seed=2)
    m, b = channel_mi(c, Rayleigh("block"), esno, num_samples=3000, seed=2)
    assert np.array_equal(m, mi(c, esno, **kw)) and np.array_equal(b, bmi(c, esno, **kw))
    for ch in (Rician(2.0), Cascade(AWGN(), PhaseNoise(0.1))):
        got, want = channel_mi(c, ch, esno, num_samples=3000, seed=2), mi_over_channel(c, ch, esno, num_samples=3000, seed=2)
        assert all(np.array_equal(g, w) for g, w in zip(got, want))
        assert np.all((0 <= got[0]) & (got[0] <= 4))

    class Mine(Channel):
        def forward(self, x, no, generator=None):
            return AWGN()(x, no, generator)

    for ch in (Rician(2.0, csi=False), Rayleigh("block", csi=False), Cascade(Rician(2.0, "block", csi=False), PhaseNoise(0.1)), Mine()):
        assert channel_mi(c, ch, esno) is None, ch.name  # no number there would be its MI


def test_channel_capacity_where_a_closed_form_exists():
    from commae.channels import Rayleigh, Rician
    from commae.theory import capacity_awgn

    esno = np.array([0.0, 10.0])
    assert np.array_equal(channel_capacity(AWGN(), esno), capacity_awgn(esno))
    assert np.array_equal(channel_capacity(AWGN(real=True), esno), capacity_awgn(esno, real=True))
    assert np.array_equal(channel_capacity(Rayleigh("fast"), esno), capacity_rayleigh(esno))
    assert np.isnan(channel_capacity(Rician(3.0), esno)).all() and np.isnan(channel_capacity(Rayleigh(csi=False), esno)).all()
