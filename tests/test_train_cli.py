"""`commae train` and the run directory it writes (runs.py + cli.py)."""

import csv
import json
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import commae
from commae import AWGN, Hamming74
from commae.cli import cli
from commae.losses import SymbolCrossEntropy
from commae.models import SystemConfig
from commae.runs import RUN_FILES, RunError, load_config, load_model, train_run
from commae.training import MessageBatches, TrainConfig, evaluate_system

SMALL = ["--k", "2", "--hidden", "16", "--epochs", "4", "--batches-per-epoch", "5", "--batch-size", "256", "--val-size", "2000", "--quiet"]


def _values(run_dir: Path) -> list[dict]:
    """history.csv without the wall-clock column."""
    with open(run_dir / "history.csv") as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def _weights(run_dir: Path) -> dict:
    return torch.load(run_dir / "model.pt", weights_only=True)


def _invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_train_writes_exactly_the_run_files(tmp_path):
    out = tmp_path / "run"
    result = _invoke("train", "--snr", "7", "--out", str(out), *SMALL)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    config = json.loads((out / "config.json").read_text())
    assert config["version"] == commae.__version__ and config["seed"] == 0
    assert config["train"]["ebno_db"] == [7.0, 7.0] and config["system"]["k"] == 2
    state = torch.load(out / "model.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    torch.load(out / "checkpoint.pt", weights_only=True)
    rows = _values(out)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "val_ser", "val_ber", "val_bler", "mi_bits", "lr"]
    assert "autoencoder" in result.output and "qam4 (baseline)" in result.output
    assert load_model(out).k == 2


def test_same_seed_same_numbers_new_seed_new_numbers(tmp_path):
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert _invoke("train", "--out", str(tmp_path / name), "--seed", seed, *SMALL).exit_code == 0
    assert _values(tmp_path / "a") == _values(tmp_path / "b")
    wa, wb, wc = (_weights(tmp_path / n) for n in "abc")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert _values(tmp_path / "a") != _values(tmp_path / "c")
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_resume_ends_at_the_weights_of_an_uninterrupted_run(tmp_path):
    system = SystemConfig(k=2, hidden=16)
    train = TrainConfig(epochs=4, batches_per_epoch=5, batch_size=256, val_size=2000, seed=7, schedule="cosine")
    train_run(system, train, tmp_path / "whole", progress=False, log=None)
    train_run(system, train, tmp_path / "cut", progress=False, log=None, stop_after=2)
    assert len(_values(tmp_path / "cut")) == 2
    result = _invoke("train", "--out", str(tmp_path / "cut"), "--resume", "--quiet")
    assert result.exit_code == 0, result.output
    assert _values(tmp_path / "cut") == _values(tmp_path / "whole")
    whole, cut = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    assert all(torch.equal(whole[k], cut[k]) for k in whole)


def test_existing_out_is_refused_without_force_and_user_files_survive(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["train", "--out", str(out), *SMALL])
    assert result.exit_code == 1
    assert "exists and is not empty" in result.output and "--force" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert _invoke("train", "--out", str(out), "--force", *SMALL).exit_code == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.pt").is_file()


def test_divergence_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    class NaNLater(SymbolCrossEntropy):
        calls = 0

        def forward(self, logits, labels):
            NaNLater.calls += 1
            loss = super().forward(logits, labels)
            return loss * float("nan") if NaNLater.calls > 12 else loss  # epoch 1: 5 train + 1 val calls

    monkeypatch.setattr("commae.runs.pipeline.make_loss", lambda name, k: NaNLater(k))
    train = TrainConfig(epochs=4, batches_per_epoch=5, batch_size=256, val_size=2000)
    with pytest.raises(RunError, match=r"diverged: the loss became nan in epoch 3; the last good checkpoint \(epoch 2\)") as info:
        train_run(SystemConfig(k=2, hidden=16), train, tmp_path / "run", progress=False, log=None)
    assert "--lr" in str(info.value)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["epoch"] == 2
    assert len(_values(tmp_path / "run")) == 2


def test_dry_run_writes_nothing(tmp_path):
    result = _invoke("train", "--out", str(tmp_path / "run"), "--dry-run", *SMALL)
    assert result.exit_code == 0 and "dry run" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--snr", "abc"], 2, "is not an Eb/N0 in dB"),
        (["--snr", "9:3"], 2, "LOW <= HIGH"),
        (["--k", "0"], 2, "--k"),
        (["--channel", "rician"], 2, "'awgn', 'rayleigh'"),
        (["--real", "--channel", "rayleigh"], 2, "--real needs --channel awgn"),
        (["--nesterov"], 2, "--nesterov needs --optimizer sgd"),
        (["--device", "cuda:7" if not torch.cuda.is_available() else "tpu"], 1, "--device"),
        (["--resume"], 1, "cannot resume"),
    ],
)
def test_bad_options_get_one_line_and_an_exit_code(tmp_path, args, code, message):
    result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "r"), *SMALL, *args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_resume_refuses_changed_options(tmp_path):
    out = tmp_path / "run"
    assert _invoke("train", "--out", str(out), *SMALL).exit_code == 0
    result = CliRunner().invoke(cli, ["train", "--out", str(out), "--resume", "--lr", "0.1"])
    assert result.exit_code == 2 and "--lr cannot change when resuming" in result.output


def test_corrupt_model_file_is_a_one_line_failure(tmp_path):
    out = tmp_path / "run"
    assert _invoke("train", "--out", str(out), *SMALL).exit_code == 0
    (out / "model.pt").write_bytes(b"not a model")
    with pytest.raises(RunError, match="is truncated or not a torch file"):
        load_model(out)
    (out / "config.json").write_text("{")
    with pytest.raises(RunError, match="is not valid JSON"):
        load_config(out)


@pytest.mark.long
def test_default_train_matches_16qam_on_the_same_validation_set(tmp_path):
    """The README's main job: `commae train --snr 7` ends with val SER <= 1.05 x 16-QAM's on the same noise."""
    result = _invoke("train", "--snr", "7", "--out", str(tmp_path / "run"), "--quiet")
    assert result.exit_code == 0, result.output
    ser = {name: float(value) for name, value in re.findall(r"^\s+(autoencoder|qam16) .*?(\d\.\d+e-\d+)", result.output, re.M)}
    assert set(ser) == {"autoencoder", "qam16"}, result.output
    assert ser["autoencoder"] <= 1.05 * ser["qam16"], result.output


@pytest.mark.long
def test_oshea_hoydis_74_autoencoder_approaches_hamming_soft_ml(tmp_path):
    """k = 4 bits in n = 7 real uses, trained at 7 dB: BLER at 6 dB within 1.5x of Hamming (7,4) soft-ML."""
    system = SystemConfig(k=4, n=7, real=True)
    result = train_run(system, TrainConfig(epochs=30, val_size=20_000), tmp_path / "run", progress=False, log=None)
    val = MessageBatches(4, 7, 1 << 16, 24, 6.0, seed=11, fixed=True)
    learned = evaluate_system(result.model, val)["bler"]
    hamming = evaluate_system(Hamming74("soft", channel=AWGN(real=True)), val)["bler"]
    assert hamming == pytest.approx(8.01e-4, rel=0.15)
    assert learned <= 1.5 * hamming, (learned, hamming)


def test_bitwise_rayleigh_block_without_csi_run(tmp_path):
    out = tmp_path / "run"
    result = _invoke("train", "--out", str(out), "--loss", "bce", "--channel", "rayleigh", "--fading", "block", "--no-csi", "--n", "2", "--snr", "10:20", "--amp", *SMALL)
    assert result.exit_code == 0, result.output
    system, train = load_config(out)
    assert (system.output, system.channel, system.fading, system.csi, train.ebno_db) == ("bit", "rayleigh", "block", False, (10.0, 20.0))
    model = load_model(out)
    assert model.receiver.output == "bit" and not model.receiver.csi
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
