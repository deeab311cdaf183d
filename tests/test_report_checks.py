"""Numbers a reviewer would check by hand (issues 22 §3 and 23 §3, §6).

* An MI or BMI outside [0, k] is never printed: ``info`` and ``train`` end
  with one line naming the system and SNR, exit status 1.
* ``train``'s comparison table counts the same thing in every row: k-bit
  message errors with their Clopper–Pearson interval, bit errors, and the MI
  of each receiver's own posterior (Hamming hard decoding: given its hard bits).
* ``ber-curve`` flags a zero whose upper bound lies below the closed form and
  a rate the noise generator cannot produce (table and JSON).
* ``gap`` says ``not reached`` and the range a curve covers, never ``+nan``.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.stats import norm

from commae import AWGN, Hamming74, Modem, UncodedBPSK, psk, qam, simulate
from commae.cli import cli
from commae.information import INFORMATION_TOLERANCE_BITS, ImpossibleInformation, check_information
from commae.simulation import clopper_pearson, ebno_gaps, ml_reach, point_flags, write_results
from commae.snr import ebno_db_to_no
from commae.training import MessageBatches, evaluate_system

SMALL = ["--hidden", "16", "--rx-layers", "1", "--epochs", "1", "--batches-per-epoch", "2", "--batch-size", "256", "--quiet"]


def _invoke(*args):
    return CliRunner().invoke(cli, list(args))


# --- MI outside [0, k] ------------------------------------------------------------------------


def test_check_information_clamps_rounding_and_refuses_the_impossible():
    tol = INFORMATION_TOLERANCE_BITS
    assert check_information(-tol / 2, 4, what="MI", system="qam16", snr="Es/N0 0 dB") == 0.0
    assert check_information(4 + tol / 2, 4, what="MI", system="qam16", snr="Es/N0 0 dB") == 4.0
    assert check_information(2.5, 4, what="MI", system="qam16", snr="Es/N0 0 dB") == 2.5
    assert math.isnan(check_information(math.nan, 4, what="MI", system="qam16", snr="Es/N0 0 dB"))
    for value in (-2 * tol, -13.8, 4 + 2 * tol):
        with pytest.raises(ImpossibleInformation, match=r"MI of apsk16 at Es/N0 42 dB is .* outside \[0, 4\] bit"):
            check_information(value, 4, what="MI", system="apsk16", snr="Es/N0 42 dB")


def test_info_refuses_an_mi_outside_zero_to_k(tmp_path, monkeypatch):
    """The estimator is made to return what the phase-noise likelihood once gave at 42 dB (-13.8 bit): no row, one line, exit 1."""
    from commae import information

    real = information.channel_mi

    def broken(constellation, channel, esno_db, **kw):
        mi, bmi = real(constellation, channel, esno_db, **kw)
        return np.where(np.asarray(esno_db) > 30, -13.8, mi), bmi

    monkeypatch.setattr(information, "channel_mi", broken)
    out = tmp_path / "info.csv"
    result = _invoke("info", "--baseline", "qam16", "--esno", "10,42", "--out", str(out))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "MI of qam16 at Es/N0 42 dB over awgn is -13.8000 bit, outside [0, 4]" in lines[0], result.output
    assert "Traceback" not in result.output and not out.exists()
    assert _invoke("info", "--baseline", "qam16", "--esno", "10", "--out", str(out)).exit_code == 0  # a point in range is printed


@pytest.mark.long
def test_train_refuses_a_baseline_mi_above_k_but_prints_the_autoencoders_bound(tmp_path, monkeypatch):
    from commae.runs import comparison

    real = comparison.evaluate_system

    def inflated(system, batches):
        metrics = real(system, batches)
        metrics["mi_bits"] += 0.5  # 16-QAM's k - CE/ln 2 cannot exceed 4 bit
        return metrics

    run = tmp_path / "run"
    ok = _invoke("train", "--dry-run", "--val-size", "2048", *SMALL)
    assert ok.exit_code == 0, ok.output
    assert re.search(r"MI bound \(bit\)", ok.output)  # the autoencoder's column is labelled a bound (it may be negative)
    monkeypatch.setattr(comparison, "evaluate_system", inflated)
    result = _invoke("train", "--out", str(run), "--val-size", "2048", *SMALL)
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: MI of qam16 at Eb/N0 7 dB is 4.") and "outside [0, 4]" in last, result.output
    assert (run / "model.pt").is_file()  # the run itself is kept


# --- the (7,4) comparison ----------------------------------------------------------------------


def _hard_decision_mi(no: float) -> float:
    """I(M; 7 hard bits) of Hamming (7,4) with BPSK: H(R) - 7 h(p), by enumerating the 128 words (closed form)."""
    p = float(norm.sf(math.sqrt(2 / no)))
    words = np.array(list(itertools.product([0, 1], repeat=7)))
    codewords = Hamming74("hard").codewords.numpy().astype(int)
    distance = (words[:, None, :] != codewords[None]).sum(-1)
    prob = (p**distance * (1 - p) ** (7 - distance)).mean(1)
    return float(-(prob * np.log2(prob)).sum() + 7 * (p * math.log2(p) + (1 - p) * math.log2(1 - p)))


def test_hard_decision_posterior_is_bayes_over_the_hard_bits():
    code = Hamming74("hard", AWGN(real=True))
    gen = torch.Generator().manual_seed(1)
    bits = torch.randint(0, 2, (256, 4), generator=gen).float()
    no = ebno_db_to_no(2.0, 4, 7)
    y = code.channel(code.transmit(bits), no, generator=gen)
    p = float(norm.sf(math.sqrt(2 / no)))
    hard = (y < 0).double()  # [B, 7]
    distance = (hard[:, None, :] != code.codewords.double()[None]).sum(-1)  # [B, 16]
    exact = torch.softmax(distance.double() * math.log(p / (1 - p)), -1)
    torch.testing.assert_close(torch.softmax(code.receiver_logits(y, no)[:, 0], -1), exact, atol=1e-7, rtol=1e-6)
    assert exact.max(-1).values.mean() < 0.99  # the point leaves the posterior uncertain


def test_hamming_hard_mi_is_the_information_in_its_hard_decisions():
    """Was the soft posterior's 3.95 bit at 4 dB; I(M; hard bits) is 3.766 (closed form), the soft MI 3.949."""
    ebno_db = 4.0
    batches = MessageBatches(4, 7, 1 << 15, 2, ebno_db, seed=3, fixed=True)
    hard = evaluate_system(Hamming74("hard", AWGN(real=True)), batches)
    soft = evaluate_system(Hamming74("soft", AWGN(real=True)), batches)
    assert hard["mi_bits"] == pytest.approx(_hard_decision_mi(ebno_db_to_no(ebno_db, 4, 7)), abs=0.01)
    assert soft["mi_bits"] > hard["mi_bits"] + 0.15
    assert hard["message_errors"] == round(hard["bler"] * hard["messages"]) and hard["messages"] == 1 << 16


_ROW = re.compile(r"^  (\S+)(?: \(baseline\))?\s+(\d+)\s+(\S+)\s+\[(\S+), (\S+)\]\s+(\d+)\s+(\S+)\s+(\S+)\s*$")


@pytest.mark.long
def test_the_74_table_counts_4_bit_messages_in_every_row_with_intervals(tmp_path):
    """Uncoded BPSK's errors are 4-bit blocks (not channel uses); Hamming hard's MI is its own (3.988 at 7 dB), not soft-ML's 4.000."""
    result = _invoke("train", "--k", "4", "--n", "7", "--real", "--val-size", "40000", "--out", str(tmp_path / "r"), *SMALL)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "validation at Eb/N0 7 dB, 40000 messages of k = 4 bits" in result.output
    header = next(line for line in lines if line.strip().startswith("system"))
    assert re.search(r"errors\s+BLER \(4-bit message\)\s+95% interval\s+bit errors\s+BER\s+MI bound \(bit\)", header), header
    rows = {m[1]: m for m in map(_ROW.match, lines) if m}
    assert list(rows) == ["autoencoder", "hamming74-soft", "hamming74-hard", "uncoded-bpsk-4"], result.output
    for name, m in rows.items():
        errors, bler, low, high, bit_errors, ber = int(m[2]), float(m[3]), float(m[4]), float(m[5]), int(m[6]), float(m[7])
        assert bler == pytest.approx(errors / 40000, rel=1e-3) and ber == pytest.approx(bit_errors / 160000, rel=1e-3), name
        expected = clopper_pearson(errors, 40000)
        assert (low, high) == pytest.approx(expected, rel=6e-3), name
        assert errors <= bit_errors <= 4 * errors, name  # a wrong message has 1 to 4 wrong bits
    uncoded = rows["uncoded-bpsk-4"]
    assert int(uncoded[2]) > int(uncoded[6]) / 4 * 1.0 and float(uncoded[3]) > 3 * float(uncoded[7])  # BLER ~ 4 x BER: blocks, not uses
    hard, soft = float(rows["hamming74-hard"][8]), float(rows["hamming74-soft"][8])
    assert hard == pytest.approx(_hard_decision_mi(ebno_db_to_no(7.0, 4, 7)), abs=0.006) and soft > hard


# --- ber-curve flags ----------------------------------------------------------------------------


def _row(system, ebno_db, bits, bit_errors, theory):
    low, high = clopper_pearson(bit_errors, bits)
    row = {"system": system, "ebno_db": ebno_db, "bits": bits, "bit_errors": bit_errors, "ber": bit_errors / bits, "ber_low": low, "ber_high": high, "ber_theory": theory}
    for unit, count in (("ser", "symbol"), ("bler", "block")):
        row.update({f"{count}s": bits, f"{count}_errors": bit_errors, unit: bit_errors / bits, f"{unit}_low": low, f"{unit}_high": high, f"{unit}_theory": theory})
    return row


def test_a_zero_whose_bound_lies_below_theory_is_flagged():
    systems = {"bpsk": Modem(psk(2), name="bpsk")}
    rows = [_row("bpsk", 10.0, 10**9, 0, 3.9e-6), _row("bpsk", 10.0, 10**5, 0, 3.9e-6), _row("bpsk", 10.0, 10**7, 40, 3.9e-6)]
    flags = point_flags(rows, systems)
    assert [(f["flag"], f["ebno_db"]) for f in flags] == [("zero-below-theory", 10.0)]
    assert "0 errors in 1000000000 bits: the 95% upper bound 3.69e-09 of the BER lies below its closed form 3.90e-06" in flags[0]["note"]


def test_ml_reach_is_half_the_distance_along_an_axis():
    assert ml_reach(Modem(psk(2))) == pytest.approx(1.0)
    assert ml_reach(Modem(psk(2)), "cpu") == ml_reach(UncodedBPSK(3))
    assert ml_reach(Hamming74("soft")) == pytest.approx(1.0)  # 3 positions at distance 2: 12 / (2 * 6)
    assert ml_reach(Modem(qam(16))) == pytest.approx(1 / math.sqrt(10))  # half of 16-QAM's minimum distance 2/sqrt(10)


class _RandnAlone(AWGN):
    """AWGN as it was before issue 25: float32 torch.randn alone, whose CPU Box-Muller on the 24-bit grid stops at 5.768 sigma."""

    def max_noise_sigma(self, device="cpu"):
        return math.sqrt(-2 * math.log(2.0**-24))

    def noise_tail(self, t, device="cpu"):  # exact on the grid: a radius r_m passes t along one axis for arccos(t / r_m) / pi of the angles
        count = math.ceil(2**24 * math.exp(-t * t / 2))
        radius = torch.sqrt(-2 * torch.log(torch.arange(1, count + 1, dtype=torch.float64) * 2.0**-24))
        return float(torch.arccos(t / radius[radius > t]).sum() / math.pi) * 2.0**-24


def test_cpu_randn_is_box_muller_on_the_24_bit_grid_and_awgn_has_no_cap():
    """torch.randn alone: Box-Muller of rand's (j, j + 8) pairs on the 24-bit grid, so it stops at 5.77 sigma; AWGN draws through commae.channels.noise.gaussian (issue 25), exact in the tails."""
    u = torch.rand(1 << 16, generator=torch.Generator().manual_seed(5)).double().reshape(-1, 16)
    z = torch.randn(1 << 16, generator=torch.Generator().manual_seed(5)).double().reshape(-1, 16)
    assert torch.equal(u * 2**24, (u * 2**24).round())  # the 24-bit grid
    radius, angle = torch.sqrt(-2 * torch.log(1 - u[:, :8])), 2 * math.pi * u[:, 8:]
    torch.testing.assert_close(z, torch.cat([radius * torch.cos(angle), radius * torch.sin(angle)], 1), atol=1e-5, rtol=0)
    old = _RandnAlone()
    ratios = [old.noise_tail(t) / norm.sf(t) for t in (4.0, 5.0, 5.3, 5.6, 5.76)]
    assert all(a > b for a, b in zip(ratios, ratios[1:])) and ratios[0] > 0.999 and ratios[-1] < 0.3 and old.noise_tail(5.8) == 0.0
    channel = AWGN()
    assert channel.max_noise_sigma() == math.inf and channel.max_noise_sigma("cuda") == math.inf and AWGN(real=True).max_noise_sigma() == math.inf
    assert all(channel.noise_tail(t) == norm.sf(t) or math.isclose(channel.noise_tail(t), norm.sf(t), rel_tol=1e-12) for t in (3.0, 5.8, 7.0))


def test_rates_the_noise_generator_cannot_produce_are_flagged_and_awgn_now_produces_them(tmp_path):
    """BPSK under randn alone: at 14 dB no error is drawable (1/sigma = 7.1 > 5.77), at 12 dB it draws 62 % of the tail; 10 dB is clean.

    With the uncapped noise of issue 25, ber-curve's AWGN flags none of them.
    """
    old = Modem(psk(2), _RandnAlone(), name="bpsk")
    rows = [row for ebno in (10.0, 12.0, 14.0) for row in simulate([old], [ebno], target_errors=10, max_bits=100_000, seed=1, theory=True, progress=False)]  # a curve ends at its first zero
    flags = point_flags(rows, {"bpsk": old})
    assert [(f["ebno_db"], f["flag"]) for f in flags] == [(12.0, "short-noise-tail"), (14.0, "beyond-noise-generator")]
    assert "draws 62% of the normal tail" in flags[0]["note"] and "the noise never passes 5.77 sigma" in flags[1]["note"]
    out = tmp_path / "b.csv"
    result = _invoke("ber-curve", "--baseline", "bpsk", "--ebno", "10,12,14", "--max-bits", "2e5", "--target-errors", "10", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "flags" not in json.loads(out.with_suffix(".json").read_text()) and "!" not in result.output  # the generator produces every one of these rates
    with open(out) as fh:
        assert next(csv.reader(fh))[-1] == "bler_theory"  # the CSV keeps its columns


# --- gap: not reached --------------------------------------------------------------------------


def test_gap_says_not_reached_and_the_range_the_curve_covers(tmp_path):
    rows = simulate([Modem(psk(2), name="bpsk"), Modem(psk(4), name="psk4")], [0.0, 2.0, 4.0], target_errors=200, seed=1, progress=False)
    results = tmp_path / "r.csv"
    write_results(rows, results, {})
    out = tmp_path / "g.csv"
    result = _invoke("gap", str(results), "--reference", "bpsk", "--metric", "ber", "--rate", "3e-2,1e-7", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "nan" not in result.output.lower()
    line = next(line for line in result.output.splitlines() if line.startswith("psk4") and "1.00e-07" in line)
    assert "not reached" in line and "[open, open]" in line and "over Eb/N0 0 to 4 dB" in line, line
    with open(out) as fh:
        written = list(csv.DictReader(fh))
    reached, missed = written
    assert reached["note"] == "" and float(reached["gap_db"]) == pytest.approx(0.0, abs=0.3)
    assert missed["ebno_db"] == missed["gap_db"] == missed["gap_low_db"] == ""
    low = min(r["ber"] for r in rows if r["system"] == "psk4")
    assert missed["note"].startswith("psk4's BER never crosses 1.00e-07: it covers") and f"down to {low:.2e} over Eb/N0 0 to 4 dB" in missed["note"]


def test_a_gap_whose_bound_curve_misses_the_rate_says_which():
    rows = [{"system": s, "ebno_db": e, "bler": r, "bler_low": r / 2, "bler_high": r * h} for s, h in (("a", 2), ("b", 1.5)) for e, r in ((0, 1e-1), (1, 1e-2), (2, 1e-3))]
    (gap,) = ebno_gaps(rows, "a", "b", "bler", rates=[1.5e-3])
    assert math.isfinite(gap["gap_db"]) and math.isnan(gap["gap_high_db"])
    assert "the upper bound of a's BLER never crosses 1.50e-03: it covers 2.00e-01 down to 2.00e-03 over Eb/N0 0 to 2 dB" in gap["note"]
