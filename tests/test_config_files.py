"""`commae train --config`: TOML files and a run's own config.json reproduce the run; bad keys are one line."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from commae.cli import cli

SMALL = {"k": 2, "epochs": 2, "batches-per-epoch": 8, "val-size": 4096, "lr": 0.01, "optimizer": "adamw", "weight-decay": 0.01, "snr": "5:9", "seed": 3}


def _train(*args):
    return CliRunner().invoke(cli, ["train", "--quiet", *args])


def _history_without_timing(run):
    """history.csv without its last column (seconds, a wall-clock time), byte for byte otherwise."""
    return [line.rsplit(",", 1)[0] for line in (run / "history.csv").read_text().splitlines()]


def _weights_equal(a, b):
    wa, wb = torch.load(a / "model.pt", weights_only=True), torch.load(b / "model.pt", weights_only=True)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_toml_file_equals_the_command_line_it_encodes(tmp_path):
    argv = [item for key, value in SMALL.items() for item in (f"--{key}", str(value))]
    assert _train(*argv, "--out", str(tmp_path / "cli")).exit_code == 0
    toml = tmp_path / "exp.toml"
    toml.write_text("".join(f"{key.replace('-', '_') if i % 2 else key} = {json.dumps(value)}\n" for i, (key, value) in enumerate(SMALL.items())))
    result = _train("--config", str(toml), "--out", str(tmp_path / "file"))
    assert result.exit_code == 0, result.output
    assert _history_without_timing(tmp_path / "cli") == _history_without_timing(tmp_path / "file")
    assert _weights_equal(tmp_path / "cli", tmp_path / "file")
    assert json.loads((tmp_path / "cli" / "config.json").read_text()) == json.loads((tmp_path / "file" / "config.json").read_text())


def test_run_config_json_reruns_the_experiment_and_the_command_line_wins(tmp_path):
    argv = [item for key, value in SMALL.items() for item in (f"--{key}", str(value))]
    assert _train(*argv, "--out", str(tmp_path / "a")).exit_code == 0
    result = _train("--config", str(tmp_path / "a" / "config.json"), "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert _history_without_timing(tmp_path / "a") == _history_without_timing(tmp_path / "b")
    assert _weights_equal(tmp_path / "a", tmp_path / "b")
    result = _train("--config", str(tmp_path / "a" / "config.json"), "--lr", "0.002", "--epochs", "1", "--out", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    train = json.loads((tmp_path / "c" / "config.json").read_text())["train"]
    assert train["lr"] == 0.002 and train["epochs"] == 1 and train["optimizer"] == "adamw" and train["ebno_db"] == [5.0, 9.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("learning-rate = 1e-3\n", "unknown key 'learning-rate'"),
        ('lr = "fast"\n', "key 'lr': 'fast' is not a valid float"),
        ("epochs = 2.5\n", "key 'epochs' must be an integer, got 2.5"),
        ('epochs = "3"\n', "key 'epochs' must be an integer, got '3'"),
        ('amp = "yes"\n', "key 'amp' must be true or false, got 'yes'"),
        ('optimizer = "rmsprop"\n', "key 'optimizer': 'rmsprop' is not one of 'sgd', 'adam', 'adamw'"),
        ("batch-size = 0\n", "key 'batch-size': 0 is not in the range 1<=x<=16777216"),
        ("lr = [1, 2]\n", "key 'lr' has a list"),
        ("[train]\nlr = 1\n", "key 'train' is a table"),
        ("resume = true\n", "key 'resume' is not taken from a config file"),
        ("lr = \n", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = _train("--config", str(path), "--out", str(tmp_path / "run"))
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: Invalid value for '--config': {path}: ") and expected in line, line
    assert not (tmp_path / "run").exists()


def test_bad_run_config_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"system": {"k": 2, "widht": 3}, "train": {}}))
    result = _train("--config", str(path), "--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and "unknown key 'widht'" in result.output
    path.write_text("{not json")
    result = _train("--config", str(path), "--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and "not valid JSON" in result.output


def test_every_config_field_is_an_option():
    """A run's config.json must map back to options: each config field has an option of its own, or is set through one (via)."""
    import dataclasses

    from commae import config
    from commae.models import SystemConfig
    from commae.training import TrainConfig

    options = {p.name for p in cli.commands["train"].params}
    for cls in (SystemConfig, TrainConfig):
        for f in dataclasses.fields(cls):
            option = config.option(f.name)
            assert option.param in options or option.via, f"{cls.__name__}.{f.name} has no commae train option"


def test_an_esno_run_config_reruns_in_esno(tmp_path):
    assert _train("--k", "2", "--epochs", "1", "--batches-per-epoch", "4", "--val-size", "2048", "--snr", "10", "--esno", "--out", str(tmp_path / "a")).exit_code == 0
    result = _train("--config", str(tmp_path / "a" / "config.json"), "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    a, b = (json.loads((tmp_path / d / "config.json").read_text())["train"] for d in "ab")
    assert a == b and a["esno_db"] == [10.0, 10.0]
    assert _history_without_timing(tmp_path / "a") == _history_without_timing(tmp_path / "b")


# issue 23.1: a --config file's settings name the run, and --resume refuses a run of other settings
EXP = 'loss = "bce"\nlr = 1e-3\nbatch-size = 2048\nepochs = 1\nsnr = "5:10"\n'
TINY = ["--k", "2", "--hidden", "8", "--batches-per-epoch", "1", "--val-size", "256"]


def _default_dir(*args):
    from commae.cli.train import train
    from commae.runs import default_run_dir

    return default_run_dir(train.make_context("train", list(args)).params)


def test_a_config_file_run_is_named_by_its_settings(tmp_path):
    toml = tmp_path / "exp.toml"
    toml.write_text(EXP)
    from_file = _default_dir("--config", str(toml))
    typed = _default_dir("--loss", "bce", "--lr", "1e-3", "--batch-size", "2048", "--epochs", "1", "--snr", "5:10")
    assert from_file == typed and from_file.startswith("runs/k4-n1-awgn-5to10dB-bce-lr0.001-x"), from_file
    assert from_file != _default_dir("--snr", "5:10") == "runs/k4-n1-awgn-5to10dB"
    assert _default_dir("--config", str(toml), "--loss", "ce") == _default_dir("--lr", "1e-3", "--batch-size", "2048", "--epochs", "1", "--snr", "5:10")  # the command line wins


def test_resume_refuses_a_run_whose_settings_differ_from_the_config_files_or_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "exp.toml"
    toml.write_text(EXP)
    # a BCE run from the file in the directory a plain `--snr 5:10` run names (as older versions named it)
    plain = _default_dir("--snr", "5:10", *TINY)
    made = _train("--config", str(toml), *TINY, "--out", plain)
    assert made.exit_code == 0, made.output
    resumed = _train("--snr", "5:10", *TINY, "--resume")
    assert resumed.exit_code == 2, resumed.output
    line = resumed.output.strip().splitlines()[-1]
    assert f"--loss, --lr and --batch-size cannot change when resuming: the run in {plain} has --loss bce, --lr 0.001, --batch-size 2048; this command --loss ce, --lr 0.003, --batch-size 1024" in line
    assert "--epochs" not in line  # epochs may differ on --resume
    # the run named by --out: the file's settings must be the run's (and a changed file is refused) ...
    toml.write_text(EXP.replace("1e-3", "1e-2"))
    changed = _train("--config", str(toml), *TINY, "--out", plain, "--resume")
    assert changed.exit_code == 2 and "--lr cannot change when resuming: the run in" in changed.output and "has --lr 0.001; this command --lr 0.01" in changed.output, changed.output
    # ... the same file resumes (--out alone, the run's own settings, is test_cli_names')
    toml.write_text(EXP)
    again = _train("--config", str(toml), *TINY, "--out", plain, "--resume")
    assert again.exit_code == 0, again.output
