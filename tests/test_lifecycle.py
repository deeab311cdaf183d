"""The life of a run directory in one process: its lock, --force that keeps the old run until the new one has a checkpoint, outputs that never collide."""

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from commae._interrupts import deferred_sigint, sigint_blocked
from commae.cli import cli
from commae.losses import SymbolCrossEntropy
from commae.models import SystemConfig
from commae.runs import RUN_FILES, RunError, prepare_run_dir, train_run
from commae.runs.lock import LOCK_NAME, DirectoryLocked, lock_dir
from commae.simulation import write_results
from commae.training import TrainConfig

SYSTEM = SystemConfig(k=2, hidden=16)
TRAIN = TrainConfig(epochs=3, batches_per_epoch=4, batch_size=256, val_size=512, seed=1)


def _hashes(directory: Path) -> dict[str, str]:
    """Every entry of ``directory`` (hidden ones too) with the SHA-256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(directory.iterdir())}


def _nan_from_call(n: int):
    """A cross-entropy that turns NaN from its n-th call on (an epoch here is 4 training calls and 1 validation call)."""

    class NaNLater(SymbolCrossEntropy):
        calls = 0

        def forward(self, logits, labels):
            NaNLater.calls += 1
            loss = super().forward(logits, labels)
            return loss * float("nan") if NaNLater.calls >= n else loss

    return lambda name, k: NaNLater(k)


@pytest.fixture
def old_run(tmp_path) -> Path:
    """A finished run (seed 9) beside a file of the user's."""
    out = tmp_path / "run"
    train_run(SYSTEM, TrainConfig(epochs=2, batches_per_epoch=4, batch_size=256, val_size=512, seed=9), out, progress=False, log=None)
    (out / "notes.txt").write_text("mine")
    return out


def test_the_lock_refuses_a_second_holder_by_pid_and_a_leftover_lock_file_is_free(tmp_path):
    with lock_dir(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(DirectoryLocked) as info, lock_dir(tmp_path):
            pass
        assert info.value.pid == os.getpid() and f"(pid {os.getpid()})" in str(info.value)
        with pytest.raises(RunError, match=rf"--out {tmp_path} is in use by another commae process \(pid {os.getpid()}\)"):
            prepare_run_dir(tmp_path, force=True)
    assert not (tmp_path / LOCK_NAME).exists()
    (tmp_path / LOCK_NAME).write_text("999999\n")  # what a killed holder leaves: the file, not the lock
    assert prepare_run_dir(tmp_path) == tmp_path  # and it does not make the directory "not empty"
    with lock_dir(tmp_path):
        pass
    assert list(tmp_path.iterdir()) == []


def test_force_keeps_the_previous_run_when_the_new_one_diverges_in_its_first_epoch(old_run, monkeypatch):
    before = _hashes(old_run)
    monkeypatch.setattr("commae.runs.pipeline.make_loss", _nan_from_call(1))
    with pytest.raises(RunError, match=rf"in epoch 1; no checkpoint was written and {old_run} is left as it was"):
        train_run(SYSTEM, TRAIN, old_run, force=True, progress=False, log=None)
    assert _hashes(old_run) == before  # no file of the old run changed, nothing was added (no .previous-*, no lock)


def test_force_replaces_the_previous_run_at_the_new_runs_first_checkpoint(old_run, monkeypatch):
    monkeypatch.setattr("commae.runs.pipeline.make_loss", _nan_from_call(6))  # epoch 1 is good, epoch 2 diverges
    with pytest.raises(RunError, match=r"in epoch 2; the last good checkpoint \(epoch 1\)"):
        train_run(SYSTEM, TRAIN, old_run, force=True, progress=False, log=None)
    assert sorted(p.name for p in old_run.iterdir()) == ["checkpoint.pt", "config.json", "history.csv", "notes.txt"]
    state = torch.load(old_run / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1 and state["config"]["train"]["seed"] == 1


def test_a_new_run_that_fails_before_its_first_checkpoint_leaves_the_directory_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr("commae.runs.pipeline.make_loss", _nan_from_call(1))
    for out in (tmp_path / "new" / "run", tmp_path / "empty"):
        existed = out.name == "empty"
        if existed:
            out.mkdir()
        with pytest.raises(RunError, match="no checkpoint was written"):
            train_run(SYSTEM, TRAIN, out, progress=False, log=None)
        assert out.is_dir() == existed and (not existed or list(out.iterdir()) == [])


def test_a_previous_run_moved_aside_by_a_killed_force_is_put_back(old_run):
    # the state a SIGKILL leaves between moving the old run aside and the new run's first checkpoint
    before = _hashes(old_run)
    aside = old_run / ".previous-4242"
    aside.mkdir()
    for name in RUN_FILES:
        os.replace(old_run / name, aside / name)
    (old_run / "config.json").write_text('{"half": "of a new run"}')
    (old_run / ".checkpoint.pt.tmp-4242").write_bytes(b"half a checkpoint")
    assert prepare_run_dir(old_run, resume=True) == old_run
    assert _hashes(old_run) == before
    # killed while moving: the files already moved come back, the others were never touched
    moving = old_run / ".previous-4243.moving"
    moving.mkdir()
    os.replace(old_run / "checkpoint.pt", moving / "checkpoint.pt")
    prepare_run_dir(old_run, resume=True)
    assert _hashes(old_run) == before


def test_one_commands_outputs_never_share_a_path(old_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["ber-curve", "--baseline", "bpsk", "--ebno", "0", "--max-bits", "1e4", "--out", "res.json", "--force", "--quiet"])
    assert result.exit_code == 2 and "res.json would be both the CSV and its settings file res.json" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not Path("res.json").exists()
    result = runner.invoke(cli, ["ber-curve", "--baseline", "bpsk", "--ebno", "0", "--max-bits", "1e4", "--out", "res", "--quiet"])
    assert result.exit_code == 0 and Path("res").is_file() and Path("res.json").is_file()
    result = runner.invoke(cli, ["plot", "ber", "res", "--format", "png,PNG,png", "--out", "fig"])
    assert result.exit_code == 0 and result.output.count("wrote fig.png") == 1, result.output
    for log_dir, message in ((str(old_run), "is the run directory"), (str(old_run / "model.pt"), "is a file of the run"), (str(tmp_path / "res"), "is a file, not a directory")):
        result = runner.invoke(cli, ["train", "--out", str(old_run), "--resume", "--tensorboard", log_dir])
        assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_a_sigint_inside_deferred_sigint_waits_for_the_end_of_the_block():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_sigint():
            os.kill(os.getpid(), signal.SIGINT)  # a real signal, to this process
            time.sleep(0.05)  # Python runs its handler here: the block is not cut short
            done.append("both files written")
    assert done == ["both files written"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_sigint_inside_sigint_blocked_is_delivered_after_the_block():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with sigint_blocked():
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # pending while blocked
            time.sleep(0.05)
            done.append("imported")
        time.sleep(0.05)  # delivered once unblocked, as a KeyboardInterrupt here
    assert done == ["imported"]


def test_the_next_write_removes_the_temp_files_of_killed_writers_only(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for pid in (dead.pid, alive.pid):
            (tmp_path / f".res.csv.tmp-{pid}").write_text("half a CSV")
        (tmp_path / f".res.json.tmp-{dead.pid}").write_text("half a JSON")
        write_results([], tmp_path / "res.csv", {"seed": 0})
        assert sorted(os.listdir(tmp_path)) == [f".res.csv.tmp-{alive.pid}", "res.csv", "res.json"]  # a running writer's temp stays
    finally:
        alive.kill()
        alive.wait()
