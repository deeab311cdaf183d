"""`commae ber-curve --code`: coded baselines and runs end to end, the settings recorded, bad --code input (one line, exit 2)."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from commae.cli import cli
from commae.cli.ber_curve import DECODERS
from commae.codes.alist import write_alist
from commae.codes.bp import ALGORITHMS
from commae.codes.linear import hamming74
from commae.simulation import read_results


def _run(*args):
    return CliRunner().invoke(cli, ["ber-curve", *args])


def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in result.output, result.output
    return lines[0]


def test_decoder_choices_are_the_decoders_algorithms():
    assert DECODERS == ALGORITHMS


def test_a_coded_baseline_end_to_end(tmp_path):
    out = tmp_path / "coded.csv"
    result = _run("--baseline", "qam16", "--code", "ldpc5g:120:240", "--iterations", "10", "--ebno", "4,5", "--target-errors", "20", "--max-bits", "2e5", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = read_results(out)
    assert [(r["system"], r["ebno_db"]) for r in rows] == [("qam16-ldpc", 4.0), ("qam16-ldpc", 5.0)]
    for r in rows:
        assert r["bits"] == 120 * r["blocks"] and r["symbols"] == r["blocks"]  # information bits; SER counts codewords
        assert r["block_errors"] >= 20 or r["bits"] >= 200_000  # stopped on block errors
        assert r["bler_low"] <= r["bler"] <= r["bler_high"]
        assert r["esno_db"] == pytest.approx(r["ebno_db"] + 10 * torch.log10(torch.tensor(2.0)).item())  # 120 bits in 60 uses
    assert rows[0]["bler"] > rows[1]["bler"]
    settings = json.loads(out.with_suffix(".json").read_text())
    assert settings["target_metric"] == "block" and settings["batch_size"] == 1000
    assert settings["code"] == {
        "code": "ldpc5g:120:240",
        "k": 120,
        "n": 240,
        "decoder": "sum-product",
        "iterations": 10,
        "schedule": "flooding",
        "early_stop": True,
        "demapper": "app",
        "interleaver_seed": 0,
        "scrambler_seed": 0,
    }
    assert "BLER 1" in result.output or "BLER" in result.output


def test_an_alist_code_with_min_sum_and_max_log(tmp_path):
    alist = tmp_path / "hamming.alist"
    write_alist(alist, hamming74().parity_check)
    out = tmp_path / "h.csv"
    args = ["--baseline", "qpsk", "--code", str(alist), "--decoder", "min-sum", "--schedule", "layered", "--demapper", "max-log", "--ebno", "6", "--target-errors", "30", "--out", str(out), "--quiet"]
    result = _run(*args)
    assert result.exit_code == 0, result.output
    (row,) = read_results(out)
    assert row["system"] == "qpsk-hamming" and row["bits"] == 4 * row["blocks"]
    settings = json.loads(out.with_suffix(".json").read_text())["code"]
    assert (settings["decoder"], settings["schedule"], settings["demapper"]) == ("min-sum", "layered", "max-log")


@pytest.mark.long
def test_a_trained_run_is_coded_with_its_matching_baseline(tmp_path):
    run = tmp_path / "ae"
    train = CliRunner().invoke(cli, ["train", "--k", "2", "--loss", "bce", "--hidden", "16", "--epochs", "2", "--batches-per-epoch", "20", "--val-size", "2000", "--out", str(run), "--quiet"])
    assert train.exit_code == 0, train.output
    out = tmp_path / "r.csv"
    result = _run(str(run), "--code", "ldpc5g:60:120", "--iterations", "10", "--ebno", "3", "--target-errors", "20", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    rows = {r["system"]: r for r in read_results(out)}
    assert set(rows) == {"ae-ldpc", "qam4-ldpc"}  # the matching baseline of k = 2, n = 1, coded too
    assert all(r["block_errors"] >= 20 and r["bits"] == 60 * r["blocks"] for r in rows.values())


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("ldpc5g:12:x", "write ldpc5g:K:N with whole numbers"),
        ("ldpc5g:100:50", "n must be at least"),
        ("ldpc5g:750", "write ldpc5g:K:N"),
        ("missing.alist", "no such file"),
        ("garbage", "no such file"),
    ],
)
def test_bad_code_specs_are_one_line_and_exit_2(tmp_path, spec, says):
    line = _one_error_line(_run("--baseline", "qam16", "--code", spec, "--out", str(tmp_path / "x.csv")))
    assert "--code" in line and says in line, line
    assert not (tmp_path / "x.csv").exists()


def test_an_unreadable_alist_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.alist"
    bad.write_text("7 3\n3 4\nnot numbers\n")
    line = _one_error_line(_run("--baseline", "qam16", "--code", str(bad), "--out", str(tmp_path / "x.csv")))
    assert "bad.alist" in line and "--code" in line, line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--baseline", "qam16", "--decoder", "min-sum"], "--decoder applies to coded links"),
        (["--baseline", "qam16", "--iterations", "5"], "--iterations applies to coded links"),
        (["--baseline", "hamming74-hard", "--code", "ldpc5g:100:200"], "gives no bit LLRs"),
        (["--baseline", "qam16", "--code", "ldpc5g:100:200", "--importance-sampling", "--is-method", "shift"], "--is-method shift"),
        (["--baseline", "qam16", "--code", "ldpc5g:100:200", "--decoder", "bp"], "'--decoder'"),
    ],
)
def test_coded_options_out_of_place_are_refused(tmp_path, args, says):
    line = _one_error_line(_run(*args, "--out", str(tmp_path / "x.csv")))
    assert says in line, line
