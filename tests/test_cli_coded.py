"""`commae ber-curve --code`: coded baselines and runs end to end, the settings recorded, bad --code input (one line, exit 2)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from click.testing import CliRunner

from commae.bicm import INTERLEAVERS
from commae.cli import cli
from commae.cli.ber_curve import DECODERS
from commae.cli.ber_curve import INTERLEAVERS as CLI_INTERLEAVERS
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
    assert CLI_INTERLEAVERS == INTERLEAVERS


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
        "interleaver": "random",
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
    nr = tmp_path / "nr.csv"  # the nr interleaver ranks the run's label positions by its own receiver's LLRs
    result = _run(str(run), "--code", "ldpc5g:60:120", "--iterations", "10", "--ebno", "3", "--target-errors", "20", "--interleaver", "nr", "--out", str(nr), "--quiet")
    assert result.exit_code == 0, result.output
    orders = json.loads(nr.with_suffix(".json").read_text())["code"]["label_orders"]
    assert set(orders) == {"ae-ldpc", "qam4-ldpc"} and all(sorted(order) == [0, 1] for order in orders.values())


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
        (["--baseline", "qam16", "--interleaver", "nr"], "--interleaver applies to coded links: add --code FILE.alist or --code ldpc5g:K:N"),
        (["--baseline", "qam16", "--code", "ldpc5g:100:200", "--interleaver-ebno", "6"], "--interleaver-ebno is the design point of --interleaver nr (valid: random, nr"),
        (["--baseline", "qam16", "--code", "ldpc5g:100:200", "--interleaver", "random", "--interleaver-ebno", "6"], "add --interleaver nr"),
        (["--baseline", "qam16", "--code", "ldpc5g:100:200", "--interleaver", "row-column"], "'--interleaver': 'row-column' is not one of 'random', 'nr'"),
        (["--baseline", "qam16", "--code", "ldpc5g:100:200", "--interleaver", "nr", "--interleaver-ebno", "inf"], "'--interleaver-ebno'"),
    ],
)
def test_coded_options_out_of_place_are_refused(tmp_path, args, says):
    line = _one_error_line(_run(*args, "--out", str(tmp_path / "x.csv")))
    assert says in line, line


_NR_RUN = ("--baseline", "qam16", "--code", "ldpc5g:100:200", "--iterations", "10", "--target-errors", "10", "--max-bits", "2e4", "--quiet")


def test_the_nr_interleaver_is_built_recorded_and_reproducible_by_seed(tmp_path):
    """--interleaver nr: each link's rows on its label positions ranked at the median Eb/N0 (the I and Q signs of Gray
    16-QAM first), recorded in the JSON; the same --seed gives the same CSV byte for byte."""
    from commae import Modem, qam
    from commae.bicm import reliability_order
    from commae.snr import ebno_db_to_no

    outs = [tmp_path / f"{name}.csv" for name in ("a", "b")]
    for out in outs:
        result = _run(*_NR_RUN, "--interleaver", "nr", "--ebno", "4,4.5,6", "--seed", "7", "--out", str(out))
        assert result.exit_code == 0, result.output
    assert outs[0].read_bytes() == outs[1].read_bytes()
    code = json.loads(outs[0].with_suffix(".json").read_text())["code"]
    order = reliability_order(Modem(qam(16)), ebno_db_to_no(4.5, k=100, n=50), seed=0)  # 100 bits in 50 uses
    assert sorted(order[:2]) == [0, 2]
    assert {key: code[key] for key in ("interleaver", "interleaver_ebno_db", "label_orders", "reliability_samples", "reliability_seed")} == {
        "interleaver": "nr",
        "interleaver_ebno_db": 4.5,
        "label_orders": {"qam16-ldpc": order},
        "reliability_samples": 200_000,
        "reliability_seed": 0,
    }
    assert "interleaver_seed" not in code
    random = tmp_path / "random.csv"
    assert _run(*_NR_RUN, "--interleaver", "random", "--ebno", "4,4.5,6", "--seed", "7", "--out", str(random)).exit_code == 0
    assert random.read_bytes() != outs[0].read_bytes()  # another interleaver, another link


def test_the_nr_design_point_is_given_or_read_from_es_n0_points(tmp_path):
    out = tmp_path / "given.csv"
    result = _run(*_NR_RUN[:-1], "--interleaver", "nr", "--interleaver-ebno", "5.25", "--ebno", "4", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "interleaver nr (5G NR row-column), rows to label positions ranked at Eb/N0 5.25 dB: qam16-ldpc [" in result.output
    assert json.loads(out.with_suffix(".json").read_text())["code"]["interleaver_ebno_db"] == 5.25
    out = tmp_path / "esno.csv"
    assert _run(*_NR_RUN, "--interleaver", "nr", "--esno", "7,9", "--out", str(out)).exit_code == 0
    design = json.loads(out.with_suffix(".json").read_text())["code"]["interleaver_ebno_db"]
    assert design == pytest.approx(8.0 - 10 * math.log10(2))  # the median Es/N0, as Eb/N0 of 2 information bits a use
