"""Tests of commae.theory: reference values, identities, independent brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate

from commae import theory
from commae.theory import (
    ber_bpsk,
    ber_hamming74_hard,
    ber_psk,
    ber_qam,
    bler_hamming74_hard,
    bler_uncoded,
    capacity_awgn,
    q_function,
    ser_bpsk,
    ser_psk,
    ser_qam,
)

EBNO_DB = np.array([0.0, 4.0, 8.0, 10.0])

# Reference values computed independently of this package; used exactly as given.
REFERENCE = {
    "bpsk_ber_awgn": (lambda e: ber_bpsk(e), [7.8650e-2, 1.2501e-2, 1.9091e-4, 3.8721e-6]),
    "qam16_ber_awgn": (lambda e: ber_qam(e, 16), [1.4098e-1, 5.8624e-2, 9.2472e-3, 1.7542e-3]),
    "qam16_ser_awgn": (lambda e: ser_qam(e, 16), [4.7918e-1, 2.2073e-1, 3.6647e-2, 7.0043e-3]),
    "psk8_ber_awgn": (lambda e: ber_psk(e, 8), [1.2269e-1, 4.5895e-2, 6.1811e-3, 1.0114e-3]),
    "bpsk_ber_rayleigh": (
        lambda e: ber_bpsk(e, channel="rayleigh"),
        [1.4645e-1, 7.7137e-2, 3.5459e-2, 2.3269e-2],
    ),
    "hamming74_bler_awgn": (lambda e: bler_hamming74_hard(e), [2.626e-1, 3.671e-2, 2.723e-4, 2.743e-6]),
}

CHANNELS = ["awgn", "rayleigh"]


# ----------------------------------------------------------------------------- helpers
def _q(x):
    """Q function straight from the definition, independent of commae."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _rayleigh_average(rate_of_esno, esno_bar: float) -> float:
    r"""Brute force :math:`\int_0^\infty f(s)\,e^{-s/\bar\gamma}/\bar\gamma\,ds` with scipy quad."""

    def integrand(s):
        return rate_of_esno(s) * math.exp(-s / esno_bar) / esno_bar

    total = 0.0
    edges = [0.0, 0.1, 1.0, 5.0, 20.0, 80.0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        total += integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-11, limit=200)[0]
    # Every rate here decays at least like Q(sqrt(s / 300)): e^{-80/600} is not small, so
    # finish the tail with quad's own infinite-range rule.
    total += integrate.quad(integrand, 80.0, np.inf, epsabs=0.0, epsrel=1e-11, limit=200)[0]
    return total


def _esno_db(esno: float) -> float:
    return -np.inf if esno == 0.0 else 10.0 * math.log10(esno)


def _pam_gray_ber(num_levels: int, d_over_sigma: float) -> float:
    """Exact BER of Gray L-PAM (points 2j-(L-1), spacing 2) by summing every decision region."""
    gray = [j ^ (j >> 1) for j in range(num_levels)]
    bits = num_levels.bit_length() - 1
    total = 0.0
    for j, jp in itertools.product(range(num_levels), repeat=2):
        if j == jp:
            continue
        x = 2 * j - (num_levels - 1)
        lo = -math.inf if jp == 0 else 2 * jp - num_levels
        hi = math.inf if jp == num_levels - 1 else 2 * jp - num_levels + 2
        # P(lo - x < noise < hi - x), both tails written as Q to avoid cancellation.
        if jp > j:
            prob = _q((lo - x) * d_over_sigma) - (0.0 if hi == math.inf else _q((hi - x) * d_over_sigma))
        else:
            prob = _q((x - hi) * d_over_sigma) - (0.0 if lo == -math.inf else _q((x - lo) * d_over_sigma))
        total += prob * bin(gray[j] ^ gray[jp]).count("1")
    return total / (num_levels * bits)


def _hamming74_brute_force() -> tuple[np.ndarray, np.ndarray]:
    """Per error-pattern weight: #block errors and #info-bit errors, over all 16 x 128 cases.

    Minimum-distance decoding over the codebook (equal to syndrome decoding for
    this perfect code), with no use of a parity-check matrix.
    """
    parity = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]])
    messages = np.array(list(itertools.product([0, 1], repeat=4)))  # [16, 4]
    codebook = np.hstack([messages, messages @ parity % 2])  # [16, 7]
    errors = np.array(list(itertools.product([0, 1], repeat=7)))  # [128, 7]
    block = np.zeros(8)
    info = np.zeros(8)
    for m, c in zip(messages, codebook):
        received = (c + errors) % 2  # [128, 7]
        dist = (received[:, None, :] != codebook[None, :, :]).sum(-1)  # [128, 16]
        decoded = messages[dist.argmin(1)]  # [128, 4]
        weights = errors.sum(1)
        wrong_bits = (decoded != m).sum(1)
        np.add.at(block, weights, wrong_bits > 0)
        np.add.at(info, weights, wrong_bits)
    return block / 16, info / 16


# ------------------------------------------------------------------------ reference table
@pytest.mark.parametrize("name", list(REFERENCE))
def test_reference_table(name):
    func, expected = REFERENCE[name]
    np.testing.assert_allclose(func(EBNO_DB), expected, rtol=1e-3)


# -------------------------------------------------------------------- Q and Craig integral
def test_q_function_values():
    np.testing.assert_allclose(q_function([0.0, 1.0, 3.0]), [0.5, 0.15865525393145707, 0.0013498980316301], rtol=1e-12)


@pytest.mark.parametrize("ebno_db", [-10.0, 0.0, 7.0, 13.0, 20.0, 25.0])
def test_craig_quadrature_matches_closed_forms(ebno_db):
    g = 10 ** (ebno_db / 10)
    # Q by Craig's integral (Gauss-Legendre) against erfc.
    assert math.isclose(float(ber_bpsk(ebno_db)), _q(math.sqrt(2 * g)), rel_tol=1e-10)
    # Rayleigh MGF form against the closed form.
    assert math.isclose(float(ber_bpsk(ebno_db, "rayleigh")), 0.5 * (1 - math.sqrt(g / (1 + g))), rel_tol=1e-12)
    # QPSK SER = 2Q - Q^2, the Q^2 term being Craig's pi/4 integral.
    p = _q(math.sqrt(2 * g))
    assert math.isclose(float(ser_qam(ebno_db, 4)), 2 * p - p * p, rel_tol=1e-10)


# -------------------------------------------------------------------------- identities
@pytest.mark.parametrize("channel", CHANNELS)
def test_qpsk_ber_equals_bpsk(channel):
    e = np.linspace(-5.0, 20.0, 11)
    np.testing.assert_allclose(ber_qam(e, 4, channel), ber_bpsk(e, channel), rtol=1e-12)
    np.testing.assert_allclose(ber_psk(e, 4, channel), ber_bpsk(e, channel), rtol=1e-10)


@pytest.mark.parametrize("channel", CHANNELS)
def test_4qam_ser_equals_4psk_ser(channel):
    e = np.linspace(-5.0, 20.0, 11)
    np.testing.assert_allclose(ser_qam(e, 4, channel), ser_psk(e, 4, channel), rtol=1e-10)


@pytest.mark.parametrize("channel", CHANNELS)
def test_psk_m2_is_bpsk(channel):
    e = np.linspace(-5.0, 20.0, 11)
    np.testing.assert_allclose(ser_psk(e, 2, channel), ber_bpsk(e, channel), rtol=1e-10)
    np.testing.assert_allclose(ber_psk(e, 2, channel), ber_bpsk(e, channel), rtol=1e-10)
    np.testing.assert_array_equal(ser_bpsk(e, channel), ber_bpsk(e, channel))


@pytest.mark.parametrize("M", [16, 64, 256])
@pytest.mark.parametrize("ebno_db", [-3.0, 5.0, 12.0, 18.0])
def test_qam_ber_equals_pam_region_sum(M, ebno_db):
    # Independent of Cho & Yoon: enumerate every decision region of the Gray PAM per axis.
    esno = math.log2(M) * 10 ** (ebno_db / 10)
    d_over_sigma = math.sqrt(3 * esno / (M - 1))
    expected = _pam_gray_ber(int(math.isqrt(M)), d_over_sigma)
    assert math.isclose(float(ber_qam(ebno_db, M)), expected, rel_tol=1e-9)


@pytest.mark.parametrize("M", [16, 64, 256])
def test_qam_ser_per_axis(M):
    e = np.array([-3.0, 5.0, 12.0, 18.0])
    esno = math.log2(M) * 10 ** (e / 10)
    p_axis = 2 * (1 - 1 / math.sqrt(M)) * q_function(np.sqrt(3 * esno / (M - 1)))
    np.testing.assert_allclose(ser_qam(e, M), 2 * p_axis - p_axis**2, rtol=1e-10)  # 1 - (1 - P_a)^2


def test_qam_ber_close_to_gray_approximation_at_high_snr():
    # The nearest-neighbour approximation 4/k (1 - 1/sqrt M) Q(sqrt(3 k Eb/N0/(M-1))) is the
    # exact BER's limit, and below it at low SNR (the exact form counts farther regions).
    M, k = 16, 4
    e = np.array([0.0, 16.0])
    approx = 4 / k * (1 - 1 / math.sqrt(M)) * q_function(np.sqrt(3 * k * 10 ** (e / 10) / (M - 1)))
    exact = ber_qam(e, M)
    assert math.isclose(exact[1], approx[1], rel_tol=1e-4)
    assert abs(exact[0] / approx[0] - 1) > 1e-3


@pytest.mark.parametrize("M", [8, 16])
def test_psk_rayleigh_ser_closed_form(M):
    # Simon & Alouini: P_s = (M-1)/M [1 - b M/((M-1)pi) (pi/2 + arctan(b cot(pi/M)))],
    # b = sqrt(c/(1+c)), c = Es/N0 sin^2(pi/M).
    e = np.array([0.0, 10.0, 30.0])
    c = math.log2(M) * 10 ** (e / 10) * math.sin(math.pi / M) ** 2
    b = np.sqrt(c / (1 + c))
    expected = (M - 1) / M * (1 - b * M / ((M - 1) * math.pi) * (math.pi / 2 + np.arctan(b / math.tan(math.pi / M))))
    np.testing.assert_allclose(ser_psk(e, M, "rayleigh"), expected, rtol=1e-10)


def test_psk_rayleigh_m2_is_bpsk_closed_form():
    e = np.array([-5.0, 0.0, 10.0, 25.0])
    g = 10 ** (e / 10)
    np.testing.assert_allclose(ser_psk(e, 2, "rayleigh"), 0.5 * (1 - np.sqrt(g / (1 + g))), rtol=1e-12)


# --------------------------------------------------------------- Rayleigh by brute force
@pytest.mark.parametrize(
    ("name", "func", "k", "rate_of_esno"),
    [
        (
            "qam16_ser",
            ser_qam,
            4,
            lambda s: 1 - (1 - 1.5 * q_function(math.sqrt(3 * s / 15))) ** 2,
        ),
        (
            "qam64_ber",
            ber_qam,
            6,
            lambda s: _pam_gray_ber(8, math.sqrt(3 * s / 63)),
        ),
        (
            "psk8_ser",
            ser_psk,
            3,
            lambda s: float(ser_psk(_esno_db(s) - 10 * math.log10(3), 8)),
        ),
        (
            "psk8_ber",
            ber_psk,
            3,
            lambda s: float(ber_psk(_esno_db(s) - 10 * math.log10(3), 8)),
        ),
    ],
)
def test_rayleigh_mgf_matches_brute_force_average(name, func, k, rate_of_esno):
    M = 2**k
    for ebno_db in (0.0, 15.0, 25.0):
        esno_bar = k * 10 ** (ebno_db / 10)
        expected = _rayleigh_average(rate_of_esno, esno_bar)
        got = float(func(ebno_db, M, "rayleigh"))
        assert math.isclose(got, expected, rel_tol=1e-6), (name, ebno_db, got, expected)


# ----------------------------------------------------------------------------- Hamming
def test_hamming74_awgn_formula():
    e = np.array([-2.0, 3.0, 9.0])
    p = q_function(np.sqrt(2 * 4 / 7 * 10 ** (e / 10)))
    np.testing.assert_allclose(bler_hamming74_hard(e), 1 - (1 - p) ** 7 - 7 * p * (1 - p) ** 6, rtol=1e-9)


@pytest.mark.parametrize("channel", CHANNELS)
def test_hamming74_matches_brute_force_decoding(channel):
    block, info = _hamming74_brute_force()
    e = np.array([-2.0, 3.0, 9.0, 14.0])
    g = 4 / 7 * 10 ** (e / 10)
    p = q_function(np.sqrt(2 * g)) if channel == "awgn" else 0.5 * (1 - np.sqrt(g / (1 + g)))
    weights = [p**w * (1 - p) ** (7 - w) for w in range(8)]
    np.testing.assert_allclose(bler_hamming74_hard(e, channel), sum(b * x for b, x in zip(block, weights)), rtol=1e-9)
    np.testing.assert_allclose(ber_hamming74_hard(e, channel), sum(i * x for i, x in zip(info, weights)) / 4, rtol=1e-9)


def test_hamming74_ber_high_snr_limit():
    # The 21 double-error patterns leave 36 wrong information bits in all after decoding,
    # so the information BER of this systematic code tends to 36/4 p^2 = 9 p^2.
    p = float(q_function(math.sqrt(2 * 4 / 7 * 10**1.4)))
    assert math.isclose(float(ber_hamming74_hard(14.0)), 9 * p * p, rel_tol=1e-3)


def _bler_uncoded_8(ebno_db, channel, fading):
    return bler_uncoded(ebno_db, 8, channel, fading)


@pytest.mark.parametrize(
    ("func", "k", "n", "rate_of_p"),
    [
        # 1 - (1-p)^7 - 7p(1-p)^6 and 1 - (1-p)^8, written without cancellation
        (bler_hamming74_hard, 4, 7, lambda p: sum(math.comb(7, w) * p**w * (1 - p) ** (7 - w) for w in range(2, 8))),
        (ber_hamming74_hard, 4, 7, None),
        (_bler_uncoded_8, 1, 1, lambda p: -math.expm1(8 * math.log1p(-p))),
    ],
)
def test_block_fading_matches_quad_average(func, k, n, rate_of_p):
    if rate_of_p is None:
        _, info = _hamming74_brute_force()

        def rate_of_p(p):
            return sum(c * p**w * (1 - p) ** (7 - w) for w, c in enumerate(info)) / 4

    for ebno_db in (0.0, 10.0, 20.0):
        esno_bar = k / n * 10 ** (ebno_db / 10)
        expected = _rayleigh_average(lambda s: rate_of_p(_q(math.sqrt(2 * s))), esno_bar)
        got = float(func(ebno_db, channel="rayleigh", fading="block"))
        assert math.isclose(got, expected, rel_tol=1e-6), (ebno_db, got, expected)


def test_block_fading_loses_diversity():
    e = np.array([15.0, 20.0, 30.0])
    block = bler_hamming74_hard(e, "rayleigh", "block")
    fast = bler_hamming74_hard(e, "rayleigh", "fast")
    assert np.all(block > fast)
    # Slopes: diversity 1 (block) against 2 (fast) over the last decade of SNR.
    assert math.isclose(math.log10(block[1] / block[2]), 1.0, abs_tol=0.05)
    assert math.isclose(math.log10(fast[1] / fast[2]), 2.0, abs_tol=0.05)


def test_uncoded_single_bit_block_is_bpsk():
    e = np.linspace(-5.0, 25.0, 7)
    for channel in CHANNELS:
        np.testing.assert_allclose(bler_uncoded(e, 1, channel), ber_bpsk(e, channel), rtol=1e-12)
    # One bit sees one fade either way, so block fading = fast fading.
    np.testing.assert_allclose(bler_uncoded(e, 1, "rayleigh", "block"), ber_bpsk(e, "rayleigh"), rtol=1e-9)


def test_fading_is_ignored_over_awgn():
    e = np.array([0.0, 8.0])
    np.testing.assert_array_equal(bler_hamming74_hard(e, "awgn", "block"), bler_hamming74_hard(e))
    np.testing.assert_array_equal(bler_uncoded(e, 4, "awgn", "block"), bler_uncoded(e, 4))


# ---------------------------------------------------------------------------- capacity
def test_capacity():
    assert math.isclose(float(capacity_awgn(0.0)), 1.0, rel_tol=1e-12)
    esno_db = np.array([-5.0, 0.0, 10.0, 20.0])
    snr = 10 ** (esno_db / 10)
    np.testing.assert_allclose(capacity_awgn(esno_db), np.log2(1 + snr), rtol=1e-12)
    np.testing.assert_allclose(capacity_awgn(esno_db, real=True), 0.5 * np.log2(1 + 2 * snr), rtol=1e-12)
    assert np.all(np.diff(capacity_awgn(esno_db)) > 0)


# ---------------------------------------------------------------------- shapes, monotone
ALL_RATES = [
    ("ber_bpsk", lambda e, ch: ber_bpsk(e, ch)),
    ("ser_bpsk", lambda e, ch: ser_bpsk(e, ch)),
    ("ber_qam16", lambda e, ch: ber_qam(e, 16, ch)),
    ("ser_qam64", lambda e, ch: ser_qam(e, 64, ch)),
    ("ber_qam256", lambda e, ch: ber_qam(e, 256, ch)),
    ("ber_psk8", lambda e, ch: ber_psk(e, 8, ch)),
    ("ser_psk16", lambda e, ch: ser_psk(e, 16, ch)),
    ("bler_hamming_fast", lambda e, ch: bler_hamming74_hard(e, ch)),
    ("bler_hamming_block", lambda e, ch: bler_hamming74_hard(e, ch, "block")),
    ("ber_hamming_block", lambda e, ch: ber_hamming74_hard(e, ch, "block")),
    ("bler_uncoded_block", lambda e, ch: bler_uncoded(e, 8, ch, "block")),
]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(("name", "func"), ALL_RATES)
def test_rates_decrease_and_are_probabilities(name, func, channel):
    rates = func(np.linspace(-10.0, 20.0, 31), channel)
    assert np.all(np.isfinite(rates))
    assert np.all((rates >= 0) & (rates <= 1))
    assert np.all(np.diff(rates) < 0), name


@pytest.mark.parametrize(("name", "func"), ALL_RATES)
def test_vectorised_shapes(name, func):
    e = np.arange(12.0).reshape(3, 4)
    for channel in CHANNELS:
        out = func(e, channel)
        assert isinstance(out, np.ndarray) and out.shape == (3, 4) and out.dtype == np.float64
        np.testing.assert_allclose(out.ravel(), [float(func(x, channel)) for x in e.ravel()], rtol=1e-12)
        scalar = func(3.0, channel)
        assert isinstance(scalar, np.ndarray) and scalar.shape == ()
    assert capacity_awgn(e).shape == (3, 4)
    assert q_function(e).shape == (3, 4)


def test_no_torch_in_theory():
    assert "torch" not in theory.__dict__


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ber_bpsk(0.0, channel="rician"), "channel"),
        (lambda: ser_psk(0.0, 8, channel="AWGN"), "channel"),
        (lambda: ber_qam(0.0, 8), "M must"),
        (lambda: ser_qam(0.0, 2), "M must"),
        (lambda: ber_qam(0.0, 12), "M must"),
        (lambda: ber_psk(0.0, 6), "M must"),
        (lambda: ser_psk(0.0, 1), "M must"),
        (lambda: ser_psk(0.0, 0), "M must"),
        (lambda: ber_psk(0.0, 4.5), "M must"),
        (lambda: bler_hamming74_hard(0.0, "rayleigh", fading="slow"), "fading"),
        (lambda: ber_hamming74_hard(0.0, fading="Block"), "fading"),
        (lambda: bler_uncoded(0.0, 0), "K must"),
        (lambda: bler_uncoded(0.0, 2.5), "K must"),
        (lambda: bler_uncoded(0.0, 4, channel="fast"), "channel"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_error_message_lists_valid_values():
    with pytest.raises(ValueError, match="'awgn' or 'rayleigh'"):
        ber_bpsk(0.0, channel="rician")
    with pytest.raises(ValueError, match="'fast' or 'block'"):
        bler_uncoded(0.0, 4, fading="slow")
    with pytest.raises(ValueError, match="power of two"):
        ber_psk(0.0, 6)
