"""Non-uniform points in the information code and the Maxwell–Boltzmann QAM baseline (issue 26, slice 1).

The references here are independent of :mod:`commae.information`: a shaped
square QAM with P(x) = P(x_I) P(x_Q) (Maxwell–Boltzmann factorises over the
axes) over complex AWGN is two independent PAM channels with noise variance
N0/2 each, so its MI and its BMD rate are twice those of the PAM, which the
test integrates over y on a dense grid (trapezoid rule, log-sum-exp) in its
own lines — a different decomposition and a different rule from the
library's 2-D Gauss–Hermite quadrature over all M points.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from commae.baselines import Modem
from commae.constellations import Constellation, draw_indices, entropy_bits, maxwell_boltzmann, qam
from commae.information import best_maxwell_boltzmann, bmi, mi, mi_over_channel, mi_table, mi_with_interval


def _pam_mb(levels_count: int, nu: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels, probabilities and Gray labels of one axis of MB-shaped square QAM (unit complex energy under P)."""
    a = np.arange(levels_count) * 2.0 - (levels_count - 1)
    a = a / math.sqrt(2 * np.mean(a**2))  # equiprobable QAM of unit energy: each axis 1/2
    p = np.exp(-nu * a**2)  # |x|^2 = x_I^2 + x_Q^2: the QAM's P factorises into these
    p /= p.sum()
    a = a / math.sqrt(2 * np.sum(p * a**2))  # unit complex energy under P
    gray = np.arange(levels_count) ^ (np.arange(levels_count) >> 1)
    return a, p, gray


def _pam_rates(levels: np.ndarray, p: np.ndarray, labels: np.ndarray, no: float) -> tuple[float, float]:
    """MI and BMD rate (bits per real use) of PAM ``levels`` sent with ``p`` over N(0, no/2), by the trapezoid rule in y."""
    sigma = math.sqrt(no / 2)
    y = np.linspace(levels.min() - 12 * sigma, levels.max() + 12 * sigma, 40_001)
    log_like = -((y[None, :] - levels[:, None]) ** 2) / (2 * sigma**2) - 0.5 * math.log(2 * math.pi * sigma**2)  # [L, Y]
    log_joint = np.log(p)[:, None] + log_like
    log_out = logsumexp(log_joint, axis=0)  # ln p(y)
    like = np.exp(log_like)
    mi_value = sum(p[i] * np.trapezoid(like[i] * (log_like[i] - log_out), y) for i in range(len(levels))) / math.log(2)
    width = int(math.log2(len(levels)))
    conditional = 0.0  # sum_b H(B_b | Y)
    for b in range(width):
        bit = (labels >> (width - 1 - b)) & 1
        for value in (0, 1):
            rows = bit == value
            log_bit = logsumexp(log_joint[rows], axis=0) - log_out  # ln P(B_b = value | y)
            # H(B_b|Y) = -sum_value int p(y, B_b = value) ln P(B_b = value | y) dy
            conditional -= np.trapezoid(np.exp(logsumexp(log_joint[rows], axis=0)) * log_bit, y)
    entropy = -np.sum(p * np.log2(p))
    return float(mi_value), float(entropy - conditional / math.log(2))


def _reference(M: int, nu: float, esno_db: float) -> tuple[float, float, float]:
    """MI, BMD rate and H(X) of MB square M-QAM at ``nu`` (per complex use), by the test's own 1-D integration."""
    levels, p, gray = _pam_mb(int(math.isqrt(M)), nu)
    mi_pam, bmd_pam = _pam_rates(levels, p, gray, 10 ** (-esno_db / 10))
    return 2 * mi_pam, 2 * bmd_pam, 2 * float(-np.sum(p * np.log2(p)))


@pytest.mark.parametrize(("M", "esno_db"), [(16, 5.0), (16, 10.0), (64, 15.0)])
def test_mb_qam_at_its_best_nu_matches_an_independent_quadrature(M: int, esno_db: float) -> None:
    shaped, nu = best_maxwell_boltzmann(M, esno_db)
    assert 0 < nu < 8.0  # an interior optimum, not the end of the search
    got_mi, got_bmd = float(mi(shaped, esno_db)), float(bmi(shaped, esno_db))
    want_mi, want_bmd, want_h = _reference(M, nu, esno_db)
    # the library's quadrature is within 2e-5 bit of a 160-node rule; the trapezoid rule on 40 001 points well within that
    assert got_mi == pytest.approx(want_mi, abs=5e-5)
    assert got_bmd == pytest.approx(want_bmd, abs=5e-5)
    assert shaped.entropy_bits == pytest.approx(want_h, abs=1e-6)  # the library's points are float32
    # nu is a maximum of the (independently computed) MI: 0.1 either side is no better
    for step in (-0.1, 0.1):
        assert _reference(M, nu + step, esno_db)[0] <= want_mi + 1e-6
    # and shaping gains over the equiprobable QAM at these SNRs
    assert got_mi > float(mi(qam(M), esno_db)) + 0.01


def test_mb_qam_beats_a_grid_of_nu_and_its_bmi_optimum_is_its_own() -> None:
    esno = 10.0
    shaped, nu = best_maxwell_boltzmann(16, esno)
    grid = [float(mi(maxwell_boltzmann(qam(16), v), esno)) for v in np.linspace(0, 3, 31)]
    assert float(mi(shaped, esno)) >= max(grid) - 1e-7
    by_bmi, nu_bmi = best_maxwell_boltzmann(16, esno, metric="bmi")
    grid_bmi = [float(bmi(maxwell_boltzmann(qam(16), v), esno)) for v in np.linspace(0, 3, 31)]
    assert float(bmi(by_bmi, esno)) >= max(grid_bmi) - 1e-7
    assert float(bmi(by_bmi, esno)) <= float(mi(by_bmi, esno)) + 1e-9  # BMD rate <= MI


@pytest.mark.parametrize("nu", [0.0, 0.3, 1.5])
def test_energy_is_one_under_the_probabilities(nu: float) -> None:
    c = maxwell_boltzmann(qam(64), nu)
    p = c.probabilities
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float((p * c.points.to(torch.complex128).abs() ** 2).sum()) == pytest.approx(1.0, abs=1e-6)
    assert c.entropy_bits == pytest.approx(entropy_bits(p), abs=1e-12)
    assert c.entropy_bits <= 6.0 + 1e-12
    # and the points are QAM's grid, scaled: ratios of distances are kept
    ratio = c.points.abs() / qam(64).points.abs()
    assert float(ratio.max() - ratio.min()) < 1e-5


@pytest.mark.parametrize("M", [16, 64])
def test_uniform_probabilities_give_the_equiprobable_numbers(M: int) -> None:
    esno = [0.0, 8.0, 17.0]
    uniform = np.full(M, 1.0 / M)
    np.testing.assert_allclose(mi(qam(M), esno, probabilities=uniform), mi(qam(M), esno), rtol=0, atol=1e-12)
    np.testing.assert_allclose(bmi(qam(M), esno, probabilities=uniform), bmi(qam(M), esno), rtol=0, atol=1e-12)
    # nu = 0: Maxwell-Boltzmann is the equiprobable constellation
    np.testing.assert_allclose(mi(maxwell_boltzmann(qam(M), 0.0), esno), mi(qam(M), esno), rtol=0, atol=1e-6)


def test_monte_carlo_agrees_with_the_quadrature_for_shaped_points() -> None:
    shaped = maxwell_boltzmann(qam(16), 1.0)
    for bitwise, exact in ((False, mi(shaped, 10.0)), (True, bmi(shaped, 10.0))):
        estimate, low, high = mi_with_interval(shaped, 10.0, bitwise=bitwise, num_samples=200_000, seed=3, confidence=0.999)
        assert low <= float(exact) <= high, (bitwise, estimate, float(exact))
        assert high - low < 0.03
    # the Monte Carlo of any channel with a likelihood (here AWGN through the generic estimator)
    from commae.channels import AWGN

    got_mi, got_bmi = mi_over_channel(shaped, AWGN(), 10.0, num_samples=200_000, seed=4)
    assert float(got_mi) == pytest.approx(float(mi(shaped, 10.0)), abs=0.015)  # ~5 standard errors (2.9e-3)
    assert float(got_bmi) == pytest.approx(float(bmi(shaped, 10.0)), abs=0.015)


def test_points_are_drawn_from_their_probabilities() -> None:
    p = maxwell_boltzmann(qam(16), 1.0).probabilities
    counts = torch.bincount(draw_indices(p, 400_000, torch.Generator().manual_seed(5)), minlength=16).double()
    expected = 400_000 * p
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 37.7  # the 0.999 quantile of chi-squared with 15 degrees of freedom


def test_map_modem_matches_the_brute_force_posterior() -> None:
    shaped = maxwell_boltzmann(qam(16), 1.2)
    modem = Modem(shaped, name="qam16-mb")
    no = 10 ** (-8 / 10)
    gen = torch.Generator().manual_seed(7)
    y = torch.view_as_complex(torch.randn(4000, 1, 2, generator=gen)) * 0.9  # anywhere around the points
    # brute force, by label: P(label j | y) ∝ p_j exp(-|y - s_j|^2 / N0), in float64 with numpy
    by_label = shaped.points.numpy().astype(np.complex128)[shaped.index_of_label.numpy()]
    p_label = shaped.probabilities.numpy()[shaped.index_of_label.numpy()]
    yy = y.numpy()[:, 0].astype(np.complex128)
    log_post = np.log(p_label)[None, :] - np.abs(yy[:, None] - by_label[None, :]) ** 2 / no
    log_post -= logsumexp(log_post, axis=1, keepdims=True)
    got = torch.log_softmax(modem.symbol_logits(y, no).double(), -1)[:, 0].numpy()
    np.testing.assert_allclose(got, log_post, atol=1e-4)
    map_label = log_post.argmax(1)
    decided = modem.receive(y, no)
    want_bits = ((map_label[:, None] >> np.arange(3, -1, -1)) & 1).astype(np.float32)
    np.testing.assert_array_equal(decided.numpy(), want_bits)
    # the prior matters: ML (no prior) decides differently somewhere in this cloud
    ml_label = (-(np.abs(yy[:, None] - by_label[None, :]) ** 2)).argmax(1)
    assert (ml_label != map_label).any()
    # APP LLRs with the prior: ln P(b=1|y) - ln P(b=0|y)
    llr = modem.llr(y, no).double().numpy()
    for b in range(4):
        one = ((np.arange(16) >> (3 - b)) & 1) == 1
        want = logsumexp(log_post[:, one], axis=1) - logsumexp(log_post[:, ~one], axis=1)
        np.testing.assert_allclose(llr[:, b], want, atol=2e-3, rtol=1e-4)
    with pytest.raises(ValueError, match="no must be given"):
        modem.receive(y)


def test_shaped_modem_asks_for_its_messages_and_leaves_the_fast_path() -> None:
    shaped = maxwell_boltzmann(qam(16), 0.7)
    one, two = Modem(shaped), Modem(shaped, symbols_per_message=2)
    assert one.fast_path is None and one.closed_form is None and Modem(qam(16)).message_probabilities() is None
    p1, p2 = one.message_probabilities(), two.message_probabilities()
    assert p1.shape == (16,) and p2.shape == (256,)
    assert float(p2.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(p2[0x3A]) == pytest.approx(float(p1[0x3] * p1[0xA]), rel=1e-12)  # first symbol in the high bits
    assert entropy_bits(p2) == pytest.approx(2 * shaped.entropy_bits, abs=1e-9)
    assert torch.allclose(p1, shaped.probabilities[shaped.index_of_label])


def test_mi_table_reports_the_entropy() -> None:
    shaped = maxwell_boltzmann(qam(16), 1.0)
    from commae.channels import AWGN

    rows = mi_table({"qam16": qam(16), "qam16-mb": shaped}, AWGN(), [10.0])
    assert rows[0]["entropy_bits_per_use"] == 4.0
    assert rows[1]["entropy_bits_per_use"] == pytest.approx(shaped.entropy_bits)
    assert rows[1]["mi_bits_per_use"] <= rows[1]["entropy_bits_per_use"]


@pytest.mark.parametrize(
    ("probabilities", "match"),
    [(np.full(8, 1 / 8), "one per point"), (np.r_[np.full(15, 1 / 15), 0.0], "positive"), (np.full(16, 0.1), "sum to 1")],
)
def test_bad_probabilities_are_refused(probabilities: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match="probabilities"):
        mi(qam(16), 10.0, probabilities=probabilities)
    with pytest.raises(ValueError, match=match):
        Constellation(qam(16).points, probabilities=torch.as_tensor(probabilities))
    with pytest.raises(ValueError, match="nu"):
        maxwell_boltzmann(qam(16), -1.0)
    with pytest.raises(ValueError, match="metric"):
        best_maxwell_boltzmann(16, 10.0, metric="gmi")
