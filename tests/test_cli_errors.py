"""Bad input across the commands: one line, exit 2 for usage and 1 for failures, nothing of the user's overwritten."""

import json
import shutil

import pytest
from click.testing import CliRunner

from commae.cli import cli
from commae.runs import RunError, load_config
from commae.simulation import read_results

SMALL = ["--k", "2", "--hidden", "16", "--epochs", "2", "--batches-per-epoch", "5", "--batch-size", "256", "--val-size", "1000", "--quiet"]


def _run(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "a"
    assert _run("train", "--out", str(out), *SMALL).exit_code == 0
    return out


def _one_line(result, code):
    assert result.exit_code == code, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["train", "--lr", "nan"],
        ["train", "--weight-decay", "inf"],
        ["train", "--seed", "99999999999999999999"],
        ["train", "--device", "foo"],
        ["train", "--momentum", "0.9"],
        ["train", "--snr", "1e6"],
        ["ber-curve", "--baseline", "qpsk", "--ebno", "0:1e9:1"],
        ["ber-curve", "--baseline", "qpsk", "--ebno", "0:900:0.5"],
        ["ber-curve", "--baseline", "qpsk", "--confidence", "nan"],
        ["ber-curve", "--baseline", "qpsk", "--out", "no/such/dir/r.csv"],
        ["info", "--baseline", "qpsk", "--out", "no/such/dir/i.csv"],
        ["plot", "ber", "README.md", "--out", "no/such/dir/fig"],
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args):
    _one_line(_run(*args), 2)


def test_train_out_under_a_file_is_a_failure(tmp_path):
    (tmp_path / "f").write_text("x")
    _one_line(_run("train", "--out", str(tmp_path / "f" / "run"), *SMALL), 1)
    _one_line(_run("train", "--out", str(tmp_path / "f"), *SMALL), 2)


def test_runs_with_the_same_name_are_all_simulated(run_dir, tmp_path):
    twin = tmp_path / "other" / "a"
    shutil.copytree(run_dir, twin)
    named_like_a_baseline = tmp_path / "qam4"
    shutil.copytree(run_dir, named_like_a_baseline)
    out = tmp_path / "r.csv"
    result = _run("ber-curve", str(run_dir), str(twin), str(named_like_a_baseline), "--ebno", "3", "--max-bits", "1e5", "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    systems = [r["system"] for r in read_results(out)]
    assert len(systems) == 4 and len(set(systems)) == 4  # three runs and their baseline qam4
    assert "qam4" in systems and str(named_like_a_baseline) in systems


def test_ber_curve_keeps_an_existing_json(tmp_path):
    (tmp_path / "r.json").write_text("mine")
    result = _run("ber-curve", "--baseline", "bpsk", "--ebno", "0", "--max-bits", "1e4", "--out", str(tmp_path / "r.csv"))
    _one_line(result, 1)
    assert (tmp_path / "r.json").read_text() == "mine" and not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("key, value", [("system.k", 0), ("system.channel", "foo"), ("train.optimizer", "rmsprop"), ("train.loss", "mse")])
def test_invalid_config_values_are_a_run_error(run_dir, tmp_path, key, value):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    section, name = key.split(".")
    config[section][name] = value
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError, match=rf"config\.json: '{key}' is {value!r}; it must be"):
        load_config(copy)
    _one_line(_run("plot", "curves", str(copy), "--out", str(tmp_path / "c")), 1)


def test_malformed_rows_name_the_file_and_line(run_dir, tmp_path):
    good = (run_dir / "history.csv").read_text().splitlines()
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "history.csv").write_text("\n".join([good[0], "1,2"]) + "\n")
    result = _run("plot", "curves", str(copy), "--out", str(tmp_path / "c"))
    _one_line(result, 1)
    assert "line 2" in result.output
    csv_path = tmp_path / "r.csv"
    assert _run("ber-curve", "--baseline", "bpsk", "--ebno", "0", "--max-bits", "1e4", "--out", str(csv_path), "--quiet").exit_code == 0
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join([lines[0], "bpsk,awgn,0.0,0.0,5"]) + "\n")
    result = _run("plot", "ber", str(csv_path), "--out", str(tmp_path / "b"))
    _one_line(result, 1)
    assert "line 2" in result.output


def test_resume_with_other_epochs(tmp_path):
    cosine = tmp_path / "cos"
    assert _run("train", "--out", str(cosine), *SMALL).exit_code == 0
    _one_line(_run("train", "--out", str(cosine), "--resume", "--epochs", "4"), 2)
    constant = tmp_path / "const"
    assert _run("train", "--out", str(constant), "--schedule", "constant", *SMALL).exit_code == 0
    _one_line(_run("train", "--out", str(constant), "--resume", "--epochs", "1"), 2)
    result = _run("train", "--out", str(constant), "--resume", "--epochs", "3", "--quiet")
    assert result.exit_code == 0, result.output
    assert load_config(constant)[1].epochs == 3
    assert len((constant / "history.csv").read_text().splitlines()) == 1 + 3
