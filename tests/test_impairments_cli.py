"""The impairment and model-free options of train, ber-curve and info."""

import csv
import json

import pytest
from click.testing import CliRunner

from commae.cli import cli
from commae.runs import load_config

SMALL = ["--k", "2", "--hidden", "16", "--epochs", "1", "--batches-per-epoch", "3", "--batch-size", "256", "--val-size", "512", "--quiet"]


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def _one_line(result, code):
    assert result.exit_code == code, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output


def test_backprop_through_the_adc_is_refused_in_one_line(tmp_path):
    result = _run("train", "--adc-bits", "3", "--out", str(tmp_path / "r"), *SMALL)
    _one_line(result, 1)
    assert "adc-3bit-clip1.5 has no gradient" in result.output and "--training model-free" in result.output
    assert not (tmp_path / "r").exists()


def test_model_free_training_through_impairments_writes_its_config(tmp_path):
    out = tmp_path / "mf"
    result = _run(
        "train", "--training", "model-free", "--exploration", "0.05", "--adc-bits", "4", "--adc-clip", "2", "--phase-noise", "0.05", "--pa", "rapp", "--pa-backoff", "3", "--out", str(out), *SMALL
    )
    assert result.exit_code == 0, result.output
    system, train = load_config(out)
    assert (system.adc_bits, system.adc_clip, system.phase_noise, system.pa, system.pa_backoff) == (4, 2.0, 0.05, "rapp", 3.0)
    assert (train.training, train.exploration) == ("model-free", 0.05)
    assert system.make_channel().name == "rapp-p3-A1-ibo3dB+awgn+phase-noise-iid-0.05rad+adc-4bit-clip2"
    rows = _run("ber-curve", str(out), "--ebno", "4", "--max-bits", "2000", "--out", str(tmp_path / "r.csv"), "--quiet")
    assert rows.exit_code == 0, rows.output
    with open(tmp_path / "r.csv") as fh:
        assert {r["channel"] for r in csv.DictReader(fh)} == {"rapp-p3-A1-ibo3dB+awgn+phase-noise-iid-0.05rad+adc-4bit-clip2"}


@pytest.mark.parametrize(
    "args, says",
    [
        (["train", "--k-factor", "3"], "--k-factor applies to --channel rician"),
        (["train", "--channel", "rician"], "--channel rician needs --k-factor"),
        (["train", "--real", "--phase-noise", "0.1"], "--phase-noise needs complex"),
        (["train", "--real", "--channel", "rician", "--k-factor", "1"], "--real needs --channel awgn"),
        (["train", "--pa-backoff", "3"], "--pa-backoff needs --pa rapp"),
        (["train", "--adc-clip", "2"], "--adc-clip needs --adc-bits"),
        (["train", "--phase-noise-model", "wiener"], "--phase-noise-model needs --phase-noise"),
        (["train", "--exploration", "0.1"], "--exploration needs --training model-free"),
        (["train", "--training", "reinforce"], "'reinforce' is not one of 'backprop', 'model-free'"),
        (["train", "--adc-bits", "0"], "--adc-bits"),
        (["train", "--phase-noise", "-1"], "--phase-noise"),
        (["ber-curve", "--baseline", "apsk16", "--k-factor", "2"], "--k-factor applies to --channel rician"),
        (["ber-curve", "--baseline", "qam16", "--channel", "rician"], "--channel rician needs --k-factor"),
        (["info", "--baseline", "qam16", "--pa-smoothness", "2"], "--pa-smoothness needs --pa rapp"),
    ],
)
def test_invalid_combinations_get_one_line(args, says, tmp_path):
    result = _run(*args, "--out", str(tmp_path / "x"))
    _one_line(result, 2)
    assert says in result.output


def test_help_gives_units_and_ranges():
    for command in ("train", "ber-curve", "info"):
        text = _run(command, "--help").output
        for fragment in ("--k-factor", "linear", "radians", "--phase-noise-model", "--adc-bits", "RMS", "--pa", "--pa-backoff", "dB"):
            assert fragment in text, (command, fragment)
    assert "Aoudia" in _run("train", "--help").output


def test_ber_curve_with_apsk_through_a_pa(tmp_path):
    out = tmp_path / "pa.csv"
    result = _run("ber-curve", "--baseline", "apsk16", "--baseline", "qam16", "--pa", "rapp", "--pa-backoff", "1", "--ebno", "10", "--max-bits", "4000", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert {r["system"] for r in rows} == {"apsk16", "qam16"}
    assert {r["channel"] for r in rows} == {"rapp-p3-A1-ibo1dB+awgn"} and all(r["ber_theory"] == "" for r in rows)
    settings = json.loads(out.with_suffix(".json").read_text())
    assert settings["pa"] == "rapp" and settings["pa_backoff"] == 1.0


def test_info_over_rician_and_an_adc(tmp_path):
    out = tmp_path / "info.csv"
    result = _run("info", "--baseline", "apsk16", "--channel", "rician", "--k-factor", "3", "--adc-bits", "5", "--esno", "10,20", "--samples", "4000", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert [r["channel"] for r in rows] == ["rician-K3-fast-csi+adc-5bit-clip1.5"] * 2
    assert rows[0]["capacity_bits_per_use"] == "" and 0 < float(rows[0]["mi_bits_per_use"]) < float(rows[1]["mi_bits_per_use"]) <= 4
