"""TensorBoard: `commae train --tensorboard` and `fit(callbacks=...)` write every epoch, read back with tensorboard's own reader."""

from __future__ import annotations

import csv
import sys

import pytest
from click.testing import CliRunner

from commae.callbacks import SCALAR_TAGS, TensorBoardLogger, TensorBoardMissing
from commae.cli import cli

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

TRAIN = ["train", "--k", "2", "--epochs", "3", "--batches-per-epoch", "10", "--val-size", "4096", "--schedule", "constant", "--quiet"]


def _events(log_dir):
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0})
    acc.Reload()
    return acc


def test_train_tensorboard_has_every_epoch(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, [*TRAIN, "--out", str(out), "--tensorboard"])
    assert result.exit_code == 0, result.output
    with open(out / "history.csv", newline="") as fh:
        history = list(csv.DictReader(fh))
    acc = _events(out / "tensorboard")
    assert set(SCALAR_TAGS.values()) <= set(acc.Tags()["scalars"])
    for column, tag in SCALAR_TAGS.items():
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [1, 2, 3], tag
        for e, row in zip(events, history):
            assert e.value == pytest.approx(float(row[column]), rel=1e-6, abs=1e-12), (tag, e.step)
    assert [e.step for e in acc.Images("constellation")] == [1]
    image = acc.Images("constellation")[0]
    assert image.width > 100 and image.height > 100

    # a resumed run appends the new epochs
    resumed = CliRunner().invoke(cli, ["train", "--resume", "--epochs", "4", "--out", str(out), "--tensorboard", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    assert [e.step for e in _events(out / "tensorboard").Scalars("loss/val")] == [1, 2, 3, 4]


def test_tensorboard_dir_can_be_named(tmp_path):
    result = CliRunner().invoke(cli, [*TRAIN, "--epochs", "1", "--out", str(tmp_path / "run"), "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code == 0, result.output
    assert [e.step for e in _events(tmp_path / "tb").Scalars("loss/val")] == [1]
    assert not (tmp_path / "run" / "tensorboard").exists()


def test_missing_tensorboard_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as without the package
    result = CliRunner().invoke(cli, [*TRAIN, "--out", str(tmp_path / "run"), "--tensorboard"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: --tensorboard needs the tensorboard package: pip install 'commae[tensorboard]'")
    assert not (tmp_path / "run").exists()
    with pytest.raises(TensorBoardMissing, match=r"pip install 'commae\[tensorboard\]'"):
        TensorBoardLogger(tmp_path / "tb")
