"""The bad-input matrix: every command refuses every kind of bad value or file in one line, changing nothing.

Each case copies a valid tiny run and ber-curve CSV (built once per module),
spoils one thing (an option value, a path, a file's bytes or one field of a
well-formed file) and runs the command. It asserts the exit status (2 for a
usage error, 1 for a failure), that stderr is exactly one non-empty line
naming the option or the file, that no traceback is printed, and that the
SHA-256 of every file under the case's directory is unchanged, with no new
file (except a run that trains and fails, which keeps its files).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import commae
from commae import schemas
from commae.cli import cli
from commae.models import SystemConfig

TINY = ["--k", "2", "--hidden", "8", "--epochs", "2", "--batches-per-epoch", "2", "--batch-size", "64", "--val-size", "256", "--schedule", "constant", "--quiet"]
LONG = "a" * 300  # beyond NAME_MAX (255)
BASE = ["--baseline", "qpsk", "--ebno", "0", "--max-bits", "1e4", "--quiet"]
TRAINED = ("config.json", "model.pt", "checkpoint.pt", "history.csv", "constellation.pdf", "constellation.png")
STATS = {"cases": 0, "files_hashed": 0}


def _invoke(args: list[str]):
    return CliRunner().invoke(cli, args)


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> Path:
    """A valid two-epoch run in ``run/`` and a valid ber-curve CSV ``res.csv`` (with its ``res.json``)."""
    root = tmp_path_factory.mktemp("golden")
    result = _invoke(["train", "--out", str(root / "run"), *TINY])
    assert result.exit_code == 0, result.output
    result = _invoke(["ber-curve", "--baseline", "bpsk", "--baseline", "qpsk", "--ebno", "0,4", "--max-bits", "2e4", "--out", str(root / "res.csv"), "--quiet"])
    assert result.exit_code == 0, result.output
    (root / "plain.txt").write_text("a file, not a directory\n")
    (root / "empty").mkdir()
    yield root
    print(f"\nbad-input matrix: {STATS['cases']} cases, {STATS['files_hashed']} file hashes compared")


# --- spoiling one thing ---------------------------------------------------------------------


def _json(rel: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(tree: Path) -> None:
        raw = json.loads((tree / rel).read_text())
        edit(raw)
        (tree / rel).write_text(json.dumps(raw))

    return apply


def _set(table: str, key: str, value) -> Callable[[Path], None]:
    return _json("run/config.json", lambda raw: raw[table].__setitem__(key, value))


def _bytes(rel: str, data: bytes) -> Callable[[Path], None]:
    return lambda tree: (tree / rel).write_bytes(data)


def _truncate(rel: str, fraction: float = 0.5) -> Callable[[Path], None]:
    def apply(tree: Path) -> None:
        data = (tree / rel).read_bytes()
        (tree / rel).write_bytes(data[: int(len(data) * fraction)])

    return apply


def _remove(rel: str) -> Callable[[Path], None]:
    return lambda tree: (tree / rel).unlink()


def _torch(rel: str, edit: Callable) -> Callable[[Path], None]:
    """Load a torch file, let ``edit`` change it in place (or return a replacement), save it back."""

    def apply(tree: Path) -> None:
        state = torch.load(tree / rel, weights_only=True)
        new = edit(state)
        torch.save(state if new is None else new, tree / rel)

    return apply


def _first_weight(state: dict) -> str:
    return next(iter(state))


def _nan_weight(state):
    state[_first_weight(state)][0, 0] = float("nan")


def _inf_weight(state):
    state[_first_weight(state)][0, 0] = float("inf")


def _other_architecture(_):
    return SystemConfig(k=2, hidden=16).build().state_dict()


def _float64(state):
    return {k: v.double() for k, v in state.items()}


class _Evil:
    """A pickle that would create a file if it were ever executed."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def _evil_torch_file() -> bytes:
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(2), "payload": _Evil()}, buffer)
    return buffer.getvalue()


def _csv_cell(rel: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Set one cell of a CSV (``row`` 0 is the first data row)."""

    def apply(tree: Path) -> None:
        lines = list(csv.reader((tree / rel).read_text().splitlines()))
        lines[row + 1][lines[0].index(column)] = value
        (tree / rel).write_text("\n".join(",".join(cells) for cells in lines) + "\n")

    return apply


def _csv_lines(rel: str, edit: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def apply(tree: Path) -> None:
        (tree / rel).write_text("\n".join(edit((tree / rel).read_text().splitlines())) + "\n")

    return apply


def _both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(tree: Path) -> None:
        for edit in edits:
            edit(tree)

    return apply


# --- the matrix -----------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    args: list[str]
    code: int
    names: str  # the stderr line must contain this (the option or the file)
    spoil: Callable[[Path], None] | None = None
    new_files: tuple[str, ...] = ()
    marks: tuple = field(default_factory=tuple)


U, F = 2, 1  # usage error, failure
RESUME = ["train", "--out", "run", "--resume", "--quiet"]
CKPT = "run/checkpoint.pt"
MODEL = "run/model.pt"
HIST = "run/history.csv"

CASES = [
    # train: option values (types, ranges, non-finite, choices, combinations)
    Case("train-lr-negative", ["train", "--lr", "-1"], U, "'--lr'"),
    Case("train-lr-zero", ["train", "--lr", "0"], U, "'--lr'"),
    Case("train-lr-inf", ["train", "--lr", "inf"], U, "'--lr'"),
    Case("train-lr-word", ["train", "--lr", "fast"], U, "'--lr'"),
    Case("train-epochs-zero", ["train", "--epochs", "0"], U, "'--epochs'"),
    Case("train-epochs-fraction", ["train", "--epochs", "1.5"], U, "'--epochs'"),
    Case("train-epochs-word", ["train", "--epochs", "ten"], U, "'--epochs'"),
    Case("train-batch-size-zero", ["train", "--batch-size", "0"], U, "'--batch-size'"),
    Case("train-batch-size-1e12", ["train", "--batch-size", "1000000000000"], U, "'--batch-size'"),
    Case("train-batch-size-above-max", ["train", "--batch-size", str(2**24 + 1)], U, "'--batch-size'"),
    Case("train-val-size-zero", ["train", "--val-size", "0"], U, "'--val-size'"),
    Case("train-val-size-1e30", ["train", "--val-size", str(10**30)], U, "'--val-size'"),
    Case("train-k-zero", ["train", "--k", "0"], U, "'--k'"),
    Case("train-k-13", ["train", "--k", "13"], U, "'--k'"),
    Case("train-n-257", ["train", "--n", "257"], U, "'--n'"),
    Case("train-hidden-zero", ["train", "--hidden", "0"], U, "'--hidden'"),
    Case("train-rx-layers-17", ["train", "--rx-layers", "17"], U, "'--rx-layers'"),
    Case("train-momentum-one", ["train", "--optimizer", "sgd", "--momentum", "1"], U, "'--momentum'"),
    Case("train-momentum-negative", ["train", "--optimizer", "sgd", "--momentum", "-0.1"], U, "'--momentum'"),
    Case("train-optimizer-unknown", ["train", "--optimizer", "rmsprop"], U, "'--optimizer'"),
    Case("train-schedule-unknown", ["train", "--schedule", "linear"], U, "'--schedule'"),
    Case("train-loss-unknown", ["train", "--loss", "mse"], U, "'--loss'"),
    Case("train-channel-unknown", ["train", "--channel", "optical"], U, "'--channel'"),
    Case("train-snr-nan", ["train", "--snr", "nan"], U, "'--snr'"),
    Case("train-snr-reversed", ["train", "--snr", "10:5"], U, "'--snr'"),
    Case("train-snr-1e30", ["train", "--snr", "1e30"], U, "'--snr'"),
    Case("train-clip-zero", ["train", "--clip", "0"], U, "'--clip'"),
    Case("train-clip-nan", ["train", "--clip", "nan"], U, "'--clip'"),
    Case("train-patience-zero", ["train", "--patience", "0"], U, "'--patience'"),
    Case("train-batches-per-epoch-1e20", ["train", "--batches-per-epoch", str(10**20), "--out", "new"], U, "'--batches-per-epoch'"),
    Case("train-accumulate-1e20", ["train", "--accumulate", str(10**20), "--out", "new"], U, "'--accumulate'"),
    Case("train-epochs-2e31", ["train", "--epochs", str(2**31), "--out", "new"], U, "'--epochs'"),
    Case("resume-config-accumulate-1e20", RESUME, F, "config.json", _set("train", "accumulate", 10**20)),
    Case("train-accumulate-zero", ["train", "--accumulate", "0"], U, "'--accumulate'"),
    Case("train-batches-negative", ["train", "--batches-per-epoch", "-1"], U, "'--batches-per-epoch'"),
    Case("train-exploration-one", ["train", "--training", "model-free", "--exploration", "1"], U, "'--exploration'"),
    Case("train-exploration-without-model-free", ["train", "--exploration", "0.1", *TINY], U, "--exploration"),
    Case("train-noise-input-one-snr", ["train", "--noise-input", "--snr", "7", *TINY], U, "--noise-input"),
    Case("train-seed-negative", ["train", "--seed", "-1"], U, "'--seed'"),
    Case("train-k-factor-without-rician", ["train", "--k-factor", "3", *TINY], U, "--k-factor"),
    Case("train-rician-without-k-factor", ["train", "--channel", "rician", *TINY], U, "--k-factor"),
    Case("train-phase-noise-4", ["train", "--phase-noise", "4"], U, "'--phase-noise'"),
    Case("train-adc-bits-zero", ["train", "--adc-bits", "0"], U, "'--adc-bits'"),
    Case("train-pa-backoff-31", ["train", "--pa", "rapp", "--pa-backoff", "31"], U, "'--pa-backoff'"),
    Case("train-real-rayleigh", ["train", "--real", "--channel", "rayleigh", *TINY], U, "--real"),
    Case("train-points-n2", ["train", "--points", "--n", "2", *TINY], U, "--points"),
    Case("train-nesterov-adam", ["train", "--nesterov", *TINY, "--out", "new"], U, "--nesterov"),
    Case("train-threads-zero", ["train", "--threads", "0"], U, "'--threads'"),
    Case("train-device-tpu", ["train", "--device", "tpu"], U, "'--device'"),
    Case("train-resume-and-force", ["train", "--out", "run", "--resume", "--force"], U, "--resume"),
    Case("train-out-is-a-file", ["train", "--out", "plain.txt", *TINY], U, "'--out'"),
    Case("train-out-name-too-long", ["train", "--out", LONG, *TINY], U, "'--out'"),
    Case("train-config-missing", ["train", "--config", "nothing.toml"], U, "'--config'"),
    Case("train-config-negative-lr", ["train", "--config", "run/config.json", "--out", "new"], U, "'--config'", _set("train", "lr", -0.001)),
    # train --resume: a run whose files were edited or damaged
    Case("resume-empty-dir", ["train", "--out", "empty", "--resume", "--quiet"], F, "checkpoint.pt"),
    Case("resume-config-negative-lr", RESUME, F, "config.json", _set("train", "lr", -0.001)),
    Case("resume-config-string-epochs", RESUME, F, "config.json", _set("train", "epochs", "3")),
    Case("resume-config-float-epochs", RESUME, F, "config.json", _set("train", "epochs", 2.0)),
    Case("resume-config-batch-size-zero", RESUME, F, "config.json", _set("train", "batch_size", 0)),
    Case("resume-config-nan-lr", RESUME, F, "config.json", _bytes("run/config.json", b'{"system": {"k": 2}, "train": {"lr": NaN}}')),
    Case("resume-config-unknown-key", RESUME, F, "config.json", _set("train", "warmup", 3)),
    Case("resume-config-momentum-adam", RESUME, F, "config.json", _set("train", "momentum", 0.9)),
    Case("resume-config-truncated", RESUME, F, "config.json", _truncate("run/config.json")),
    Case("resume-config-not-utf8", RESUME, F, "config.json", _bytes("run/config.json", b"\xff\xfe\x00garbage")),
    Case("resume-config-nested-too-deep", RESUME, F, "config.json", _bytes("run/config.json", b"[" * 100_000 + b"]" * 100_000)),
    Case("train-config-toml-nested-too-deep", ["train", "--config", "deep.toml"], U, "deep.toml", _bytes("deep.toml", b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n")),
    Case("train-config-json-nested-too-deep", ["train", "--config", "deep.json"], U, "deep.json", _bytes("deep.json", b"[" * 100_000 + b"]" * 100_000)),
    Case("resume-config-a-list", RESUME, F, "config.json", _bytes("run/config.json", b"[1, 2, 3]")),
    Case("resume-checkpoint-epoch-99", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s.__setitem__("epoch", 99))),
    Case("resume-checkpoint-epoch-minus-1", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s.__setitem__("epoch", -1))),
    Case("resume-checkpoint-epoch-behind-history", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s.__setitem__("epoch", 1))),
    Case("resume-checkpoint-epoch-string", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s.__setitem__("epoch", "2"))),
    Case("resume-checkpoint-truncated", RESUME, F, "checkpoint.pt", _truncate(CKPT)),
    Case("resume-checkpoint-empty", RESUME, F, "checkpoint.pt", _bytes(CKPT, b"")),
    Case("resume-checkpoint-code", RESUME, F, "checkpoint.pt", _bytes(CKPT, b"")),  # replaced below by the pickle that runs code
    Case("resume-checkpoint-no-model", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s.pop("model"))),
    Case("resume-checkpoint-a-list", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: [1, 2])),
    Case("resume-checkpoint-nan-weights", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: _nan_weight(s["model"]))),
    Case("resume-checkpoint-other-architecture", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s.__setitem__("model", _other_architecture(None)))),
    Case("resume-checkpoint-float64", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s.__setitem__("model", _float64(s["model"])))),
    Case("resume-checkpoint-history-nan", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s["history"][0].__setitem__("val_loss", float("nan")))),
    Case("resume-checkpoint-optimizer-inf", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s["optimizer"]["state"][0]["exp_avg"].__setitem__(0, float("inf")))),
    Case("resume-checkpoint-other-system", RESUME, F, "checkpoint.pt", _torch(CKPT, lambda s: s["config"]["system"].__setitem__("channel", "rayleigh"))),
    Case("resume-checkpoint-a-directory", RESUME, F, "checkpoint.pt", lambda t: ((t / CKPT).unlink(), (t / CKPT).mkdir())),
    # training that ends worse than guessing: a failure, the files kept for inspection
    Case(
        "train-lr-1e3-ends-worse-than-guessing",
        ["train", "--out", "new", "--k", "2", "--hidden", "16", "--epochs", "2", "--batches-per-epoch", "20", "--batch-size", "256", "--val-size", "1000", "--lr", "1e3", "--quiet"],
        F,
        "training failed",
        new_files=tuple(f"new/{name}" for name in TRAINED),
    ),
    # ber-curve: options
    Case("ber-max-bits-1e30", ["ber-curve", *BASE, "--max-bits", "1e30"], U, "'--max-bits'"),
    Case("ber-max-bits-huge-integer", ["ber-curve", *BASE, "--max-bits", str(2**62 + 1)], U, "'--max-bits'"),
    Case("ber-max-bits-zero", ["ber-curve", *BASE, "--max-bits", "0"], U, "'--max-bits'"),
    Case("ber-max-bits-nan", ["ber-curve", *BASE, "--max-bits", "nan"], U, "'--max-bits'"),
    Case("ber-max-bits-inf", ["ber-curve", *BASE, "--max-bits", "inf"], U, "'--max-bits'"),
    Case("ber-max-bits-fraction", ["ber-curve", *BASE, "--max-bits", "1.5"], U, "'--max-bits'"),
    Case("ber-batch-size-1e12", ["ber-curve", *BASE, "--batch-size", "1e12"], U, "'--batch-size'"),
    Case("ber-batch-size-negative", ["ber-curve", *BASE, "--batch-size", "-4"], U, "'--batch-size'"),
    Case("ber-target-errors-zero", ["ber-curve", *BASE, "--target-errors", "0"], U, "'--target-errors'"),
    Case("ber-target-metric-unknown", ["ber-curve", *BASE, "--target-metric", "frame"], U, "'--target-metric'"),
    Case("ber-ebno-nan", ["ber-curve", *BASE, "--ebno", "nan"], U, "'--ebno'"),
    Case("ber-ebno-reversed", ["ber-curve", *BASE, "--ebno", "5:0:1"], U, "'--ebno'"),
    Case("ber-ebno-zero-step", ["ber-curve", *BASE, "--ebno", "0:10:0"], U, "'--ebno'"),
    Case("ber-confidence-one", ["ber-curve", *BASE, "--confidence", "1"], U, "'--confidence'"),
    Case("ber-precision-unknown", ["ber-curve", *BASE, "--precision", "fp16"], U, "'--precision'"),
    Case("ber-nothing-to-simulate", ["ber-curve", "--quiet"], U, "RUN_DIR or --baseline"),
    Case("ber-baseline-unknown", ["ber-curve", "--baseline", "qam32"], U, "'--baseline'"),
    Case("ber-rician-without-k-factor", ["ber-curve", *BASE, "--channel", "rician"], U, "--k-factor"),
    Case("ber-impairment-without-baseline", ["ber-curve", "run", "--phase-noise", "0.1", "--quiet"], U, "--baseline"),
    Case("ber-seed-negative", ["ber-curve", *BASE, "--seed", "-1"], U, "'--seed'"),
    Case("ber-out-is-a-directory", ["ber-curve", *BASE, "--out", "empty"], U, "'--out'"),
    Case("ber-out-name-too-long", ["ber-curve", *BASE, "--out", LONG + ".csv"], U, "'--out'"),
    Case("ber-out-missing-parent", ["ber-curve", *BASE, "--out", "no/such/r.csv"], U, "'--out'"),
    Case("ber-run-is-a-file", ["ber-curve", "plain.txt", "--quiet"], U, "plain.txt"),
    Case("ber-run-name-too-long", ["ber-curve", LONG, "--quiet"], U, "RUN_DIR"),
    # ber-curve: run directories that are empty, missing or damaged
    Case("ber-empty-run-dir", ["ber-curve", "empty", "--quiet"], F, "config.json"),
    Case("ber-missing-run-dir", ["ber-curve", "nowhere", "--quiet"], F, "nowhere"),
    Case("ber-model-nan", ["ber-curve", "run", "--quiet"], F, "model.pt", _torch(MODEL, _nan_weight)),
    Case("ber-model-float64", ["ber-curve", "run", "--quiet"], F, "model.pt", _torch(MODEL, _float64)),
    Case("ber-model-other-architecture", ["ber-curve", "run", "--quiet"], F, "model.pt", _torch(MODEL, _other_architecture)),
    Case("ber-model-truncated", ["ber-curve", "run", "--quiet"], F, "model.pt", _truncate(MODEL)),
    Case("ber-model-text", ["ber-curve", "run", "--quiet"], F, "model.pt", _bytes(MODEL, b"not a model\n")),
    Case("ber-model-missing", ["ber-curve", "run", "--quiet"], F, "model.pt", _remove(MODEL)),
    Case("ber-model-code", ["ber-curve", "run", "--quiet"], F, "model.pt"),  # the pickle that runs code, set below
    Case("ber-model-a-tensor", ["ber-curve", "run", "--quiet"], F, "model.pt", _torch(MODEL, lambda s: torch.zeros(3))),
    Case("ber-config-k-20", ["ber-curve", "run", "--quiet"], F, "config.json", _set("system", "k", 20)),
    Case("ber-config-hidden-string", ["ber-curve", "run", "--quiet"], F, "config.json", _set("system", "hidden", "8")),
    Case("ber-config-no-system", ["ber-curve", "run", "--quiet"], F, "config.json", _json("run/config.json", lambda raw: raw.pop("system"))),
    Case("ber-config-empty", ["ber-curve", "run", "--quiet"], F, "config.json", _bytes("run/config.json", b"")),
    # info
    Case("info-model-nan", ["info", "run", "--quiet"], F, "model.pt", _torch(MODEL, _nan_weight)),
    Case("info-model-inf", ["info", "run", "--quiet"], F, "model.pt", _torch(MODEL, _inf_weight)),
    Case("info-model-float64", ["info", "run", "--quiet"], F, "model.pt", _torch(MODEL, _float64)),
    Case("info-config-garbage", ["info", "run", "--quiet"], F, "config.json", _bytes("run/config.json", b"{{{")),
    Case("info-samples-too-few", ["info", "--baseline", "qpsk", "--samples", "10"], U, "'--samples'"),
    Case("info-esno-nan", ["info", "--baseline", "qpsk", "--esno", "nan"], U, "'--esno'"),
    Case("info-nothing", ["info"], U, "RUN_DIR or --baseline"),
    Case("info-code-baseline", ["info", "--baseline", "hamming74-hard"], U, "'--baseline'"),
    Case("info-out-name-too-long", ["info", "--baseline", "qpsk", "--out", LONG], U, "'--out'"),
    # plot constellation
    Case("plot-constellation-model-nan", ["plot", "constellation", "run"], F, "model.pt", _torch(MODEL, _nan_weight)),
    Case("plot-constellation-model-other-architecture", ["plot", "constellation", "run"], F, "model.pt", _torch(MODEL, _other_architecture)),
    Case("plot-constellation-no-config", ["plot", "constellation", "run"], F, "config.json", _remove("run/config.json")),
    Case("plot-constellation-cloud-nan", ["plot", "constellation", "run", "--cloud", "nan"], U, "'--cloud'"),
    Case("plot-constellation-projection-unknown", ["plot", "constellation", "run", "--projection", "umap"], U, "'--projection'"),
    Case("plot-constellation-format-gif", ["plot", "constellation", "run", "--format", "gif"], U, "'--format'"),
    Case("plot-constellation-style-unknown", ["plot", "constellation", "run", "--style", "nature"], U, "'--style'"),
    # plot ber: results CSVs that are damaged or inconsistent
    Case("plot-ber-rate-nan", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "ber", "nan")),
    Case("plot-ber-rate-inf", ["plot", "ber", "res.csv"], F, "res.csv, line 3", _csv_cell("res.csv", 1, "ser", "inf")),
    Case("plot-ber-rate-negative", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "ber", "-0.1")),
    Case("plot-ber-rate-inconsistent", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "ber", "0.5")),
    Case("plot-ber-count-negative", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "bit_errors", "-5")),
    Case("plot-ber-count-fraction", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "bits", "2e4")),
    Case("plot-ber-errors-above-trials", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "block_errors", "30000")),
    Case("plot-ber-bound-above-rate", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "ber_low", "0.5")),
    Case("plot-ber-bound-above-one", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "ber_high", "1.5")),
    Case("plot-ber-theory-negative", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "ber_theory", "-1e-3")),
    Case("plot-ber-ebno-inf", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "ebno_db", "inf")),
    Case("plot-ber-system-empty", ["plot", "ber", "res.csv"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "system", "")),
    Case("plot-ber-empty-file", ["plot", "ber", "res.csv"], F, "res.csv", _bytes("res.csv", b"")),
    Case("plot-ber-header-only", ["plot", "ber", "res.csv"], F, "res.csv", _csv_lines("res.csv", lambda lines: lines[:1])),
    Case("plot-ber-missing-column", ["plot", "ber", "res.csv"], F, "res.csv", _csv_lines("res.csv", lambda lines: [line.rsplit(",", 1)[0] for line in lines])),
    Case("plot-ber-short-row", ["plot", "ber", "res.csv"], F, "res.csv, line 3", _csv_lines("res.csv", lambda lines: [lines[0], lines[1], lines[2][:40]])),
    Case("plot-ber-duplicate-point", ["plot", "ber", "res.csv"], F, "res.csv, line 6", _csv_lines("res.csv", lambda lines: [*lines, lines[1]])),
    Case("gap-duplicate-point", ["gap", "res.csv", "--reference", "bpsk"], F, "res.csv, line 6", _csv_lines("res.csv", lambda lines: [*lines, lines[2]])),
    Case("plot-ber-not-utf8", ["plot", "ber", "res.csv"], F, "res.csv", _bytes("res.csv", b"\xff\xfe\xfa" * 50)),
    Case("plot-ber-missing-file", ["plot", "ber", "nothing.csv"], U, "nothing.csv"),
    Case("plot-ber-a-directory", ["plot", "ber", "empty"], U, "empty"),
    Case("plot-ber-xlim-reversed", ["plot", "ber", "res.csv", "--xlim", "5:1"], U, "'--xlim'"),
    Case("plot-ber-ylim-zero", ["plot", "ber", "res.csv", "--ylim", "0:1"], U, "'--ylim'"),
    Case("plot-ber-metric-unknown", ["plot", "ber", "res.csv", "--metric", "fer"], U, "'--metric'"),
    Case("plot-ber-label-malformed", ["plot", "ber", "res.csv", "--label", "qpsk"], U, "'--label'"),
    Case("plot-ber-out-name-too-long", ["plot", "ber", "res.csv", "--out", LONG], U, "'--out'"),
    # plot curves: histories that are damaged or inconsistent
    Case("plot-curves-history-nan", ["plot", "curves", "run"], F, "history.csv, line 2", _csv_cell(HIST, 0, "val_loss", "nan")),
    Case("plot-curves-history-inf", ["plot", "curves", "run"], F, "history.csv, line 3", _csv_cell(HIST, 1, "train_loss", "inf")),
    Case("plot-curves-history-rate-above-one", ["plot", "curves", "run"], F, "history.csv, line 2", _csv_cell(HIST, 0, "val_ser", "2")),
    Case("plot-curves-history-lr-negative", ["plot", "curves", "run"], F, "history.csv, line 2", _csv_cell(HIST, 0, "lr", "-0.1")),
    Case("plot-curves-history-epoch-skipped", ["plot", "curves", "run"], F, "history.csv, line 3", _csv_cell(HIST, 1, "epoch", "3")),
    Case("plot-curves-history-epoch-fraction", ["plot", "curves", "run"], F, "history.csv, line 2", _csv_cell(HIST, 0, "epoch", "1.0")),
    Case("plot-curves-history-header", ["plot", "curves", "run"], F, "history.csv, line 1", _csv_lines(HIST, lambda lines: [lines[0].replace("val_loss", "valloss"), *lines[1:]])),
    Case("plot-curves-history-empty", ["plot", "curves", "run"], F, "history.csv", _bytes(HIST, b"")),
    Case("plot-curves-history-header-only", ["plot", "curves", "run"], F, "history.csv", _csv_lines(HIST, lambda lines: lines[:1])),
    Case("plot-curves-history-missing", ["plot", "curves", "run"], F, "history.csv", _remove(HIST)),
    Case("plot-curves-config-lr-string", ["plot", "curves", "run"], F, "config.json", _set("train", "lr", "0.003")),
    Case("plot-curves-metric-unknown", ["plot", "curves", "run", "--metric", "bler"], U, "'--metric'"),
    # gap
    Case("gap-rate-nan", ["gap", "res.csv", "--reference", "bpsk"], F, "res.csv, line 2", _csv_cell("res.csv", 0, "bler", "nan")),
    Case("gap-rate-above-one", ["gap", "res.csv", "--reference", "bpsk", "--rate", "2"], U, "'--rate'"),
    Case("gap-reference-missing", ["gap", "res.csv"], U, "'--reference'"),
    Case("gap-reference-unknown", ["gap", "res.csv", "--reference", "qam64"], U, "'--reference'"),
]
# What the line must say beyond the file's name, for the defects this matrix was written for.
SAYS = {
    "resume-config-negative-lr": "'train.lr' is -0.001; it must be a finite number > 0 (as --lr)",
    "resume-config-string-epochs": "'train.epochs' is '3'; it must be an integer from 1 to 2147483647",
    "resume-config-batch-size-zero": "'train.batch_size' is 0; it must be an integer from 1 to 16777216",
    "resume-checkpoint-epoch-99": "'epoch' is 99; it must be from 0 to the run's 2 epochs",
    "resume-checkpoint-epoch-minus-1": "'epoch' is -1",
    "resume-checkpoint-code": "Python objects other than tensors and plain containers (weights_only=True), which commae never executes",
    "ber-model-code": "which commae never executes",
    "ber-model-truncated": "truncated or not a torch file",
    "ber-model-float64": "float64",
    "ber-model-other-architecture": "the config.json architecture needs",
    "info-model-nan": "model.pt holds non-finite weights (NaN) in 'transmitter.embedding.0.weight'",
    "plot-constellation-model-nan": "non-finite weights (NaN)",
    "ber-max-bits-1e30": "above the maximum 2**62",
    "ber-batch-size-1e12": "above the maximum 2**24 = 16777216",
    "plot-ber-rate-nan": "'ber' is 'nan'; it must be a finite number",
    "plot-ber-rate-negative": "it must be an error rate in [0, 1]",
    "plot-curves-history-nan": "'val_loss' is nan",
    "train-lr-1e3-ends-worse-than-guessing": "lower --lr",
    "ber-empty-run-dir": "config.json is missing",
}
_EVIL = {"resume-checkpoint-code": CKPT, "ber-model-code": MODEL}
for _case in CASES:
    if _case.id in _EVIL:
        _case.spoil = (lambda rel: lambda tree: (tree / rel).write_bytes(_evil_torch_file()))(_EVIL[_case.id])
# The default run checks a representative few: each command, and each kind of spoiling (a value's type, range and
# combination, a path, a damaged or edited file, a pickle that runs code, a training that fails); the whole matrix is
# in CI's longer set (-m long).
REPRESENTATIVE = {
    "train-lr-negative",
    "train-epochs-word",
    "train-real-rayleigh",
    "train-out-is-a-file",
    "train-config-negative-lr",
    "train-lr-1e3-ends-worse-than-guessing",
    "resume-config-negative-lr",
    "resume-config-truncated",
    "resume-checkpoint-epoch-99",
    "resume-checkpoint-code",
    "resume-checkpoint-other-architecture",
    "ber-max-bits-1e30",
    "ber-out-missing-parent",
    "ber-model-nan",
    "ber-model-truncated",
    "info-model-nan",
    "info-samples-too-few",
    "plot-constellation-model-nan",
    "plot-ber-rate-nan",
    "plot-ber-duplicate-point",
    "plot-curves-history-nan",
    "gap-reference-unknown",
}
assert REPRESENTATIVE <= {c.id for c in CASES}, REPRESENTATIVE - {c.id for c in CASES}
for _case in CASES:
    if _case.id not in REPRESENTATIVE:
        _case.marks = (pytest.mark.long,)


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _check_one_line(code: int, stdout: str, stderr: str, case: Case) -> None:
    assert "Traceback" not in stdout + stderr, stderr[-2000:]
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"stderr is not one line: {stderr!r}"
    assert case.names in lines[0], f"{case.names!r} not named in {lines[0]!r}"
    assert SAYS.get(case.id, "") in lines[0], f"{SAYS[case.id]!r} not said in {lines[0]!r}"
    assert code == case.code, f"exit {code}, expected {case.code}: {lines[0]}"


@pytest.mark.parametrize("case", [pytest.param(c, marks=c.marks, id=c.id) for c in CASES])
def test_bad_input_is_refused_in_one_line_and_changes_nothing(case, golden, tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    shutil.copytree(golden, tree)
    if case.spoil is not None:
        case.spoil(tree)
    monkeypatch.chdir(tree)  # default outputs (results.csv, info.csv, ber.pdf, runs/...) land in the hashed tree
    before = _hashes(tmp_path)
    result = CliRunner().invoke(cli, case.args)
    assert result.exc_info is not None and result.exc_info[0] is SystemExit, f"{case.id}: escaped {result.exc_info}"
    _check_one_line(result.exit_code, result.stdout, result.stderr, case)
    after = _hashes(tmp_path)
    expected_new = {f"tree/{rel}" for rel in case.new_files}
    assert set(after) - set(before) == expected_new, f"new files: {sorted(set(after) - set(before))}"
    assert {k: v for k, v in after.items() if k in before} == before, "a file changed"
    STATS["cases"] += 1
    STATS["files_hashed"] += len(before)


def test_the_matrix_is_large_and_its_fixtures_valid(golden):
    """At least 80 cases, each spoiling a fixture that is valid as built (so the refusal is the spoiled thing's)."""
    assert len(CASES) >= 80 and len({c.id for c in CASES}) == len(CASES)
    from commae.runs import load_config, load_history, load_model
    from commae.runs.checkpoint import check_checkpoint

    system, train = load_config(golden / "run")
    assert len(load_history(golden / "run")) == 2 == train.epochs
    model = load_model(golden / "run")
    state = schemas.load_torch_file(golden / CKPT)
    check_checkpoint(state, golden / CKPT, model, system, train)
    rows = schemas.read_results(golden / "res.csv")
    assert [r["system"] for r in rows] == ["bpsk", "qpsk", "bpsk", "qpsk"]


@pytest.mark.parametrize(
    "case_id",
    [pytest.param("resume-checkpoint-epoch-99", marks=pytest.mark.long), "ber-max-bits-1e30", pytest.param("resume-checkpoint-code", marks=pytest.mark.long)],
)
def test_a_real_process_prints_one_line_and_no_traceback(case_id, golden, tmp_path):
    """The same refusals from ``python -m commae``: one line on stderr, no traceback, nothing changed."""
    case = next(c for c in CASES if c.id == case_id)
    tree = tmp_path / "tree"
    shutil.copytree(golden, tree)
    if case.spoil is not None:
        case.spoil(tree)
    before = _hashes(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(commae.__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-m", "commae", *case.args], cwd=tree, capture_output=True, text=True, env=env, timeout=120)
    _check_one_line(out.returncode, out.stdout, out.stderr, case)
    assert _hashes(tmp_path) == before


def test_empty_theory_cells_read_as_nan(golden, tmp_path):
    """Only an empty theory cell means "no closed form"; the rest of a row stays checked."""
    path = tmp_path / "res.csv"
    shutil.copy(golden / "res.csv", path)
    _csv_cell("res.csv", 0, "ber_theory", "")(tmp_path)
    rows = schemas.read_results(path)
    assert math.isnan(rows[0]["ber_theory"]) and rows[1]["ber_theory"] > 0


def test_config_limits_are_the_train_options_limits():
    """Each config.json field is checked exactly as its `commae train` option: the same bounds, openness, choices and defaults."""
    import dataclasses

    import click

    from commae import config
    from commae.training import TrainConfig

    params = {p.name: p for p in cli.commands["train"].params}
    for fields in (schemas.SYSTEM_FIELDS, schemas.TRAIN_FIELDS):
        for name, (spec, option) in fields.items():
            if not config.option(name).flags:  # set through another option (output by --loss, ebno_db and esno_db by --snr)
                assert option == config.option(name).via, name
                continue
            param = config.option(name).param
            ptype = params[param].type
            assert option == "--" + param.replace("_", "-"), name
            if isinstance(spec, schemas.Int):
                assert isinstance(ptype, click.IntRange) and (ptype.min, ptype.max) == (spec.lo, spec.hi), name
            elif isinstance(spec, schemas.Real):
                assert isinstance(ptype, click.FloatRange), name
                assert (ptype.min, ptype.max, ptype.min_open, ptype.max_open) == (spec.lo, spec.hi, spec.lo_open, spec.hi_open), name
            elif isinstance(spec, schemas.OneOf):
                assert tuple(ptype.choices) == spec.choices, name
            elif isinstance(spec, schemas.Flag):
                assert params[param].is_flag or params[param].is_bool_flag, name
    for cls, fields in ((SystemConfig, schemas.SYSTEM_FIELDS), (TrainConfig, schemas.TRAIN_FIELDS)):
        assert {f.name for f in dataclasses.fields(cls)} == set(fields)
        assert all(f.default == config.default(f.name) for f in dataclasses.fields(cls))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory; the missing, non-directory and over-long --out cases stand for it")
def test_a_read_only_out_directory_is_one_line(golden, tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    shutil.copytree(golden, tree)
    (tree / "ro").mkdir()
    (tree / "ro").chmod(0o555)
    monkeypatch.chdir(tree)
    before = _hashes(tmp_path)
    try:
        result = CliRunner().invoke(cli, ["ber-curve", *BASE, "--out", "ro/r.csv"])
    finally:
        (tree / "ro").chmod(0o755)
    _check_one_line(result.exit_code, result.stdout, result.stderr, Case("read-only", [], F, "ro"))
    assert _hashes(tmp_path) == before


@pytest.mark.parametrize("loss", ["ce", "bce"])
def test_an_untrained_receiver_is_never_a_failed_training(loss):
    """runs.FAILED_MI_BITS: an untrained receiver's MI (BMI) bound lies within 0.2 bit of 0, far above the -0.5 bit that fails a run."""
    from commae.losses import make_loss
    from commae.runs import FAILED_MI_BITS
    from commae.runs.comparison import validation_set
    from commae.training import TrainConfig, evaluate

    bounds = []
    for k in (1, 2, 4, 8):
        for hidden in (8, 128):
            for seed in range(4):
                torch.manual_seed(seed)
                system = SystemConfig(k=k, hidden=hidden, output="symbol" if loss == "ce" else "bit")
                model = system.build().eval()
                loss_fn = make_loss(loss, k)
                with torch.no_grad():
                    val_loss = evaluate(model, loss_fn, validation_set(system, TrainConfig(val_size=2048, loss=loss), torch.device("cpu")))["val_loss"]
                bounds.append(loss_fn.mi_bits(val_loss))
    assert max(abs(b) for b in bounds) < 0.2 and FAILED_MI_BITS == -0.5, bounds


HOSTILE_COMMANDS = {
    "train --resume": ["train", "--out", "run", "--resume", "--quiet"],
    "ber-curve": ["ber-curve", "run", "--ebno", "0", "--max-bits", "1e4", "--quiet"],
    "info": ["info", "run", "--esno", "0"],
    "plot constellation": ["plot", "constellation", "run", "--format", "png"],
}


def test_the_payload_runs_when_unpickled_unsafely(tmp_path, monkeypatch):
    """The hostile file is real: loaded without weights_only it creates PWNED (so the test below can fail)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.pt").write_bytes(_evil_torch_file())
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("target", ["model.pt", "checkpoint.pt"])
@pytest.mark.parametrize("command", sorted(HOSTILE_COMMANDS))
def test_a_pickle_payload_is_refused_by_every_command_that_loads_a_run(command, target, golden, tmp_path, monkeypatch):
    """model.pt or checkpoint.pt carrying code: each command that reads that file refuses it in one line, and the code never runs."""
    tree = tmp_path / "tree"
    shutil.copytree(golden, tree)
    (tree / "run" / target).write_bytes(_evil_torch_file())
    monkeypatch.chdir(tree)
    before = _hashes(tmp_path)
    result = CliRunner().invoke(cli, HOSTILE_COMMANDS[command])
    assert not (tree / "PWNED").exists() and not (tmp_path / "PWNED").exists()
    reads = target == "checkpoint.pt" if command == "train --resume" else target == "model.pt"
    if reads:
        assert result.exit_code == 1, result.output
        _check_one_line(result.exit_code, result.stdout, result.stderr, Case(command, [], F, target))
        assert "never executes" in result.stderr
    else:  # the command does not read that file at all
        assert result.exit_code in (0, 1) and "Traceback" not in result.output
    if reads:
        assert set(_hashes(tmp_path)) == set(before) and _hashes(tmp_path) == before
