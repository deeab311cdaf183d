"""Tools a reviewer reproducing O'Shea & Hoydis needs: stopping on block errors, Eb/N0 gaps, the paper's architecture and constraints."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from commae import AWGN, Autoencoder, Hamming74, UncodedBPSK, simulate, theory
from commae.cli import cli
from commae.models import Transmitter
from commae.simulation import ebno_at_rate, ebno_gaps


def test_block_target_stops_on_block_errors_and_bit_is_the_default():
    systems = lambda: [UncodedBPSK(8), Hamming74("soft")]  # noqa: E731
    rows = simulate(systems(), [2.0, 5.0], target_errors=150, target_metric="block", batch_size=256, seed=2, progress=False)
    assert all(r["block_errors"] >= 150 for r in rows)
    default = simulate(systems(), [2.0, 5.0], target_errors=150, batch_size=256, seed=2, progress=False)
    explicit = simulate(systems(), [2.0, 5.0], target_errors=150, target_metric="bit", batch_size=256, seed=2, progress=False)
    assert json.dumps(default) == json.dumps(explicit)
    assert all(b["blocks"] >= d["blocks"] for b, d in zip(rows, default)) and any(b["blocks"] > d["blocks"] for b, d in zip(rows, default))
    with pytest.raises(ValueError, match="target_metric must be one of bit, symbol, block"):
        simulate(systems(), [2.0], target_metric="blocks", progress=False)


def _theory_rows(name, shift_db):
    """Uncoded BPSK BLER (K=4) as exact rows, shifted right by ``shift_db``."""
    grid = np.arange(0.0, 12.0, 0.25)
    bler = theory.bler_uncoded(grid, 4)
    return [{"system": name, "ebno_db": float(e + shift_db), "bler": float(b), "bler_low": float(b) * 0.9, "bler_high": float(b) * 1.1} for e, b in zip(grid, bler)]


def test_gap_of_a_shifted_curve_is_the_shift():
    rows = _theory_rows("ref", 0.0) + _theory_rows("late", 1.3)
    gaps = ebno_gaps(rows, "late", "ref", "bler", rates=[1e-2, 1e-3, 1e-5])
    for g in gaps:
        assert g["gap_db"] == pytest.approx(1.3, abs=0.02)
        assert g["gap_low_db"] < g["gap_db"] < g["gap_high_db"]
    exact = float(theory.bler_uncoded(7.0, 4))
    assert ebno_at_rate(rows, "ref", exact, "bler") == pytest.approx(7.0, abs=0.02)
    assert math.isnan(ebno_at_rate(rows, "ref", 1e-12, "bler"))  # never reached
    assert len(ebno_gaps(rows, "late", "ref", "bler")) == sum(1 for r in rows if r["system"] == "late" and r["bler"] < 0.5)
    with pytest.raises(ValueError, match="system 'nope' is not in the results"):
        ebno_gaps(rows, "nope", "ref")


def test_gap_command_writes_a_csv(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)  # relative paths, as a user types them
    result = runner.invoke(
        cli, ["ber-curve", "--baseline", "hamming74-soft", "--baseline", "hamming74-hard", "--ebno", "2:6:2", "--target-errors", "100", "--target-metric", "block", "-q", "--out", "r.csv"]
    )
    assert result.exit_code == 0, result.output
    assert json.load(open("r.json"))["target_metric"] == "block"
    result = runner.invoke(cli, ["gap", "r.csv", "--reference", "hamming74-soft", "--rate", "1e-2", "--out", "g.csv"])
    assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(open("g.csv")))
    assert row["system"] == "hamming74-hard" and 0.8 < float(row["gap_db"]) < 2.8  # hard decisions cost about 2 dB at BLER 1e-2
    bad = runner.invoke(cli, ["gap", "r.csv", "--reference", "qam16"])
    assert bad.exit_code == 2 and "'qam16' is not a system of r.csv" in bad.output
    bad = runner.invoke(cli, ["gap", "r.csv", "--reference", "hamming74-soft", "--rate", "2"])
    assert bad.exit_code == 2 and "--rate" in bad.output


@pytest.mark.parametrize("real", [True, False])
def test_amplitude_constraint_bounds_every_use(real):
    tx = Transmitter(4, 7, real=real, normalization="amplitude", hidden=16)
    with torch.no_grad():
        for p in tx.parameters():
            p.mul_(50)  # push the raw outputs far beyond 1
        x = tx.all_symbols()
    assert float(x.abs().max()) <= 1.0 + 1e-6 and float(x.abs().max()) > 0.99


def test_paper_architecture_is_one_hidden_layer_of_width_m_per_side():
    ae = Autoencoder(4, 7, AWGN(real=True), real=True, hidden=16, rx_layers=1, normalization="message")
    linears = [m for m in ae.receiver.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(7, 16), (16, 16)]
    assert ae.transmitter.embedding[0].weight.shape == (16, 16) and ae.transmitter.embedding[2].out_features == 7
    with pytest.raises(ValueError, match="layers must be a positive integer"):
        Autoencoder(4, 7, AWGN(real=True), real=True, rx_layers=0)


def test_train_defaults_fit_the_channel_and_report_every_baseline(tmp_path, monkeypatch):
    """No CSI: per-message energy by default and the pilot baseline, no undefined MI; (7,4): Hamming soft, hard and uncoded BPSK."""
    common = ["--epochs", "1", "--batches-per-epoch", "20", "--batch-size", "256", "--val-size", "4096", "-q"]
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)  # relative paths, as a user types them
    result = runner.invoke(cli, ["train", "--k", "4", "--n", "2", "--channel", "rayleigh", "--fading", "block", "--no-csi", "--snr", "10:20", "--out", "nocsi", *common])
    assert result.exit_code == 0, result.output
    assert json.load(open("nocsi/config.json"))["system"]["normalization"] == "message"
    line = next(text for text in result.output.splitlines() if "pilot-qam16 (baseline)" in text)
    assert line.split()[-1] == "-"  # no MI: the pilot receiver's metric is not the exact posterior
    result = runner.invoke(cli, ["train", "--k", "4", "--n", "7", "--real", "--hidden", "16", "--rx-layers", "1", "--out", "h", *common])
    assert result.exit_code == 0, result.output
    for name in ("hamming74-soft", "hamming74-hard", "uncoded-bpsk-4"):
        assert f"{name} (baseline)" in result.output
    result = runner.invoke(cli, ["ber-curve", "h", "--ebno", "4", "-q", "--out", "h.csv"])
    assert result.exit_code == 0, result.output
    assert {r["system"] for r in csv.DictReader(open("h.csv"))} == {"h", "hamming74-soft", "hamming74-hard", "uncoded-bpsk-4"}
