"""Maxwell–Boltzmann shaped QAM as a named baseline (issue 26): ``qamM-mb``, ``qamM-mb-bmi``, ``qamM-mb:NU``.

The references are the test's own. Square QAM with :math:`P(x) = P(x_I)P(x_Q)`
over complex AWGN is two independent PAM channels with noise variance N0/2
each (the test checks the product form of the baseline's probabilities), so
its MI is twice the MI of one axis, its BMD rate twice the axis's with the
axis's Gray bits, and its MAP detector the per-axis MAP detector: all three
are computed here by trapezoidal integration over a fine grid of the received
axis sample, without commae.information.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.integrate import trapezoid
from scipy.stats import beta

from commae._names import is_known_baseline
from commae.baselines import BestMaxwellBoltzmannModem, MaxwellBoltzmannModem, Modem, make_baseline
from commae.channels import AWGN, Rayleigh
from commae.cli import cli
from commae.constellations import qam
from commae.information import best_maxwell_boltzmann, mi
from commae.simulation import simulate


def _axis(constellation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The in-phase levels, their probabilities and their Gray bits (the first k/2 bits of the labels); the law must be the product of its axes'."""
    points = constellation.points.to(torch.complex128).numpy()
    p = constellation.probabilities.numpy()
    bits = constellation.bit_labels.numpy().astype(int)
    levels = np.unique(np.round(points.real, 9))
    on = [np.isclose(points.real, a, atol=1e-6) for a in levels]
    q = np.array([p[mask].sum() for mask in on])
    qq = np.array([p[np.isclose(points.imag, a, atol=1e-6)].sum() for a in levels])
    marginal_q = {round(float(a), 6): float(v) for a, v in zip(levels, qq)}
    product = np.array([q[np.argmin(abs(levels - x.real))] * marginal_q[round(float(levels[np.argmin(abs(levels - x.imag))]), 6)] for x in points])
    assert np.allclose(p, product, rtol=1e-9, atol=0)  # P(x) = P(x_I) P(x_Q)
    half = bits.shape[1] // 2
    labels = np.array([bits[mask][0, :half] for mask in on])
    assert all((bits[mask][:, :half] == labels[i]).all() for i, mask in enumerate(on))
    return levels, q, labels


def _grid(levels: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The received axis sample on a fine grid, and each level's Gaussian density there ``[L, Y]``."""
    y = np.linspace(levels.min() - 12 * sigma, levels.max() + 12 * sigma, 20_001)
    density = np.exp(-((y[None, :] - levels[:, None]) ** 2) / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)
    return y, density


def _axis_rates(levels: np.ndarray, q: np.ndarray, labels: np.ndarray, esno_db: float) -> tuple[float, float]:
    """(MI, BMD rate) of one PAM axis, bits per real use: I = H(X) - E[-log2 P(x|y)], R = H(X) - sum_b E[-log2 P(c_b|y)]."""
    sigma = math.sqrt(10 ** (-esno_db / 10) / 2)
    y, density = _grid(levels, sigma)
    joint = q[:, None] * density  # [L, Y]
    py = joint.sum(0)
    entropy = float(-(q * np.log2(q)).sum())
    mi_axis = entropy - trapezoid((joint * -np.log2(np.maximum(joint / py, 1e-300))).sum(0), y)
    conditional = 0.0
    for b in range(labels.shape[1]):
        for v in (0, 1):
            rows = labels[:, b] == v
            posterior = joint[rows].sum(0) / py  # P(c_b = v | y)
            conditional += trapezoid(joint[rows].sum(0) * -np.log2(np.maximum(posterior, 1e-300)), y)
    return float(mi_axis), float(entropy - conditional)


def _map_ser(levels: np.ndarray, q: np.ndarray, esno_db: float) -> float:
    """SER of per-axis MAP detection, argmax_j ln q_j - (y - a_j)^2 / N0, by integrating each level's density over the region decided for it."""
    sigma = math.sqrt(10 ** (-esno_db / 10) / 2)
    y, density = _grid(levels, sigma)
    decided = np.argmax(np.log(q)[:, None] - (y[None, :] - levels[:, None]) ** 2 / (2 * sigma**2), axis=0)  # [Y]
    correct = sum(q[j] * trapezoid(np.where(decided == j, density[j], 0.0), y) for j in range(len(levels)))
    return 1 - correct**2


def _qam_rates(constellation, esno_db: float) -> tuple[float, float]:
    levels, q, labels = _axis(constellation)
    mi_axis, bmd_axis = _axis_rates(levels, q, labels, esno_db)  # the levels are the points' coordinates: each axis has noise N0/2
    return 2 * mi_axis, 2 * bmd_axis


@pytest.mark.parametrize(("M", "esno_db", "gain"), [(16, 10.0, 0.08), (64, 15.0, 0.2)])
def test_named_baseline_has_the_best_mi_by_an_independent_quadrature_and_beats_qam(M: int, esno_db: float, gain: float) -> None:
    modem = make_baseline(f"qam{M}-mb", search=best_maxwell_boltzmann).at_esno(esno_db)
    assert isinstance(modem, MaxwellBoltzmannModem) and modem.name == f"qam{M}-mb"
    own, _ = _qam_rates(modem.constellation, esno_db)
    assert float(mi(modem.constellation, esno_db)) == pytest.approx(own, abs=2e-5)  # the library's quadrature (measured: within 3e-7)
    uniform, _ = _qam_rates(qam(M), esno_db)
    assert own >= uniform + gain  # 16: 3.2567 against 3.1639; 64: 4.8927 against 4.6814
    for step in (-0.05, 0.05):  # and its nu is the maximiser (within the search's tolerance)
        assert _qam_rates(MaxwellBoltzmannModem(M, modem.nu + step).constellation, esno_db)[0] < own


def test_the_bmi_baseline_maximises_the_bmd_rate() -> None:
    esno = 5.0  # where the two optima differ: nu 1.73 (MI) and 1.83 (BMD rate)
    by_mi = make_baseline("qam16-mb", search=best_maxwell_boltzmann).at_esno(esno)
    by_bmd = make_baseline("qam16-mb-bmi", search=best_maxwell_boltzmann).at_esno(esno)
    assert by_bmd.nu > by_mi.nu + 0.05
    rate = lambda nu: _qam_rates(MaxwellBoltzmannModem(16, nu).constellation, esno)[1]  # noqa: E731
    best = rate(by_bmd.nu)
    assert best > rate(by_mi.nu) and best > rate(by_bmd.nu - 0.05) and best > rate(by_bmd.nu + 0.05)


def test_monte_carlo_ser_is_the_map_ser_with_its_prior_at_each_point() -> None:
    family = make_baseline("qam16-mb", search=best_maxwell_boltzmann)
    ebnos = [3.0, 7.0]
    rows = simulate({"qam16-mb": family}, ebnos, target_errors=2000, target_metric="symbol", seed=3, progress=False)
    assert [r["ebno_db"] for r in rows] == ebnos
    for row in rows:
        esno = float(row["esno_db"])
        modem = family.at_esno(esno)  # the modem of this point, with its own nu
        assert row["nu"] == modem.nu and row["entropy_bits_per_use"] == pytest.approx(modem.constellation.entropy_bits, abs=1e-12)
        levels, q, _ = _axis(modem.constellation)
        want = _map_ser(levels, q, esno)
        low, high = beta.ppf(5e-5, row["symbol_errors"], row["symbols"] - row["symbol_errors"] + 1), beta.ppf(1 - 5e-5, row["symbol_errors"] + 1, row["symbols"] - row["symbol_errors"])
        assert low < want < high, (esno, row["ser"], want, row["symbols"])  # 99.99 % Clopper-Pearson
    assert rows[0]["nu"] > rows[1]["nu"] > 0  # more shaping at the lower SNR


def test_a_fixed_nu_is_one_modem_and_the_same_seed_the_same_rows() -> None:
    fixed = make_baseline("qam64-mb:0.05")
    assert isinstance(fixed, MaxwellBoltzmannModem) and fixed.nu == 0.05 and fixed.name == "qam64-mb:0.05"
    levels, p = fixed.amplitude_probabilities()
    assert levels.tolist() == [1, 3, 5, 7] and float(p.sum()) == pytest.approx(1.0) and bool((p[:-1] > p[1:]).all())
    systems = {"qam16": make_baseline("qam16"), "mb": make_baseline("qam16-mb", search=best_maxwell_boltzmann)}

    def run(seed: int, threads: int) -> list[dict]:
        return simulate(systems, [4.0, 6.0], target_errors=300, batch_size=1 << 14, seed=seed, threads=threads, progress=False)

    counts = lambda rows: [(r["system"], r["bits"], r["bit_errors"], r["symbol_errors"], r.get("nu")) for r in rows]  # noqa: E731
    first = run(5, 1)
    assert counts(first) == counts(run(5, 2))  # several workers take the tuned modems of each point too
    assert counts(first) != counts(run(6, 1))
    assert "nu" not in first[0] and first[1]["nu"] > 0  # an equiprobable row has no shaping columns


def test_a_family_is_no_modem_without_an_snr_and_chooses_nu_for_awgn() -> None:
    family = make_baseline("qam16-mb", search=best_maxwell_boltzmann)
    assert isinstance(family, BestMaxwellBoltzmannModem) and (family.k, family.n) == (4, 1)
    with pytest.raises(ValueError, match="at_esno"):
        family.transmit(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="search=commae.information.best_maxwell_boltzmann"):
        make_baseline("qam16-mb")
    with pytest.raises(ValueError, match="complex AWGN"):
        make_baseline("qam16-mb", Rayleigh("fast", csi=True), search=best_maxwell_boltzmann)
    with pytest.raises(ValueError, match="too large"):
        make_baseline("qam16-mb:1000")
    assert family.at_esno(10.0) is family.at_esno(10.0)
    assert Modem(qam(16), AWGN()).message_probabilities() is None


@pytest.mark.parametrize("name", ["qam16-mb", "qam64-mb-bmi", "qam256-mb:0.5", "qam16-mb:0", "qam32-mb", "qam4-mb", "qam16-mb:-1", "qam16-mb:abc", "qam16-mb-mi", "qamM-mb", "qam016-mb"])
def test_names_are_checked_as_make_baseline_builds_them(name: str) -> None:
    try:
        make_baseline(name, search=best_maxwell_boltzmann)
        built = True
    except ValueError:
        built = False
    assert is_known_baseline(name) == built, name


def test_bicm_refuses_a_shaped_modem() -> None:
    from commae.bicm import BICM
    from commae.codes.bp import BPDecoder
    from commae.codes.ldpc5g import LDPC5G

    code = LDPC5G(100, 200)
    with pytest.raises(ValueError, match="distribution matcher"):
        BICM(code, make_baseline("qam16-mb:0.5"), BPDecoder(code))


def test_cli_info_and_ber_curve_show_entropy_and_nu(tmp_path) -> None:
    runner = CliRunner()
    info = runner.invoke(cli, ["info", "--baseline", "qam16", "--baseline", "qam16-mb", "--esno", "10", "--out", str(tmp_path / "info.csv")])
    assert info.exit_code == 0, info.output
    assert "qam16-mb at Es/N0 10 dB: nu 0.8341 (best MI), 1:0.6609 3:0.3391" in info.output
    lines = (tmp_path / "info.csv").read_text().splitlines()
    assert lines[0].endswith(",capacity_bits_per_use,nu") and lines[2].startswith("qam16-mb,awgn,10.0,") and ",3.8479" in lines[2]
    args = ["ber-curve", "--baseline", "qam16", "--baseline", "qam16-mb", "--ebno", "4", "--target-errors", "200"]
    first = runner.invoke(cli, [*args, "--seed", "1", "--out", str(tmp_path / "a.csv")])
    assert first.exit_code == 0, first.output
    assert "qam16-mb at 4 dB (Es/N0 10.0206 dB): H(X) 3.8491, nu 0.8306" in first.output
    again = runner.invoke(cli, [*args, "--quiet", "--seed", "1", "--out", str(tmp_path / "b.csv")])
    other = runner.invoke(cli, [*args, "--quiet", "--seed", "2", "--out", str(tmp_path / "c.csv")])
    assert again.exit_code == other.exit_code == 0
    text = (tmp_path / "a.csv").read_text()
    assert text == (tmp_path / "b.csv").read_text() and text != (tmp_path / "c.csv").read_text()
    header, plain, shaped = text.splitlines()
    assert header.endswith(",entropy_bits_per_use,nu") and plain.endswith(",,") and shaped.startswith("qam16-mb,awgn,4.0,")


@pytest.mark.parametrize(("command", "name"), [("info", "qam32-mb"), ("ber-curve", "qam16-mb:x"), ("info", "qam16-mbi")])
def test_a_misspelt_name_is_one_line_listing_the_valid_ones(tmp_path, command: str, name: str) -> None:
    result = CliRunner().invoke(cli, [command, "--baseline", name, "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    error = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error) == 1 and "qamM-mb, qamM-mb-bmi, qamM-mb:NU (K a positive integer; M 16, 64 or 256; NU a number >= 0)" in error[0]
    assert "Traceback" not in result.output
