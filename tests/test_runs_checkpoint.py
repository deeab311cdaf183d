"""commae.runs: the checkpoint as one dataclass (its fields are the file's keys), the lock across processes, temp files on Windows."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from commae import _files
from commae.models import SystemConfig
from commae.runs import Checkpoint, RunError, prepare_run_dir, train_run
from commae.runs.checkpoint import KEY, check_checkpoint
from commae.runs.lock import LOCK_NAME, DirectoryLocked, lock_dir
from commae.schemas import SchemaError
from commae.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SYSTEM = SystemConfig(k=2, hidden=16)
TRAIN = TrainConfig(epochs=2, batches_per_epoch=2, batch_size=128, val_size=256, seed=5, schedule="constant")

# checkpoint.pt's keys in the order commae 0.1.0 wrote them (one process): runs written before commae.runs.checkpoint
# existed resume only while a checkpoint keeps them
WRITTEN_BY_0_1_0 = ["model", "optimizer", "scheduler", "scaler", "train_generator", "rng", "epoch", "history", "early_stopping", "config"]
DISTRIBUTED = ["world_size", "train_generators", "rngs"]  # a torchrun job's, between "rng" and "epoch"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ckpt") / "run"
    train_run(SYSTEM, TRAIN, out, progress=False, log=None)
    return out


def test_the_fields_are_the_files_keys_in_its_order(run):
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert list(state) == WRITTEN_BY_0_1_0
    names = [f.name for f in dataclasses.fields(Checkpoint)]
    assert [n for n in names if n not in DISTRIBUTED] == WRITTEN_BY_0_1_0
    assert names[names.index("rng") + 1 : names.index("epoch")] == DISTRIBUTED
    assert list(vars(KEY)) == names and KEY.epoch == "epoch"
    with pytest.raises(AttributeError):
        KEY.epochs  # noqa: B018 - a key that is no field is an error, not a new spelling


def test_a_checkpoint_round_trips_and_restores_the_run(run, tmp_path):
    model = SYSTEM.build()
    path = run / "checkpoint.pt"
    checkpoint = Checkpoint.load(path, model, SYSTEM, TRAIN)
    assert checkpoint.epoch == 2 and len(checkpoint.history) == 2 and checkpoint.world_size is None
    checkpoint.save(tmp_path / "again.pt")
    again = torch.load(tmp_path / "again.pt", weights_only=True)
    original = torch.load(path, weights_only=True)
    assert list(again) == list(original) and all(torch.equal(again["model"][k], original["model"][k]) for k in original["model"])
    optimizer = torch.optim.Adam(model.parameters())
    generator = torch.Generator()
    history, epoch, early = checkpoint.restore(path, model, optimizer, None, None, generator, None, torch.device("cpu"))
    assert epoch == 2 and [r["epoch"] for r in history.rows] == [1, 2] and early is None
    assert all(torch.equal(v, checkpoint.model[k]) for k, v in model.state_dict().items())
    assert torch.equal(generator.get_state(), checkpoint.train_generator)


def test_the_schema_is_built_from_the_fields(run):
    model = SYSTEM.build()
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    path = run / "checkpoint.pt"
    with pytest.raises(SchemaError, match=r"it lacks 'optimizer'$"):
        check_checkpoint({k: v for k, v in state.items() if k != "optimizer"}, path, model, SYSTEM, TRAIN)
    with pytest.raises(SchemaError, match=r"'world_size' is 0; it must be an integer >= 1$"):
        check_checkpoint({**state, "world_size": 0}, path, model, SYSTEM, TRAIN)
    with pytest.raises(
        SchemaError,
        match=r"unknown key 'extra'; a commae checkpoint has model, optimizer, scheduler, scaler, train_generator, rng, world_size, train_generators, rngs, epoch, history, early_stopping, config$",
    ):
        check_checkpoint({**state, "extra": 1}, path, model, SYSTEM, TRAIN)
    with pytest.raises(RunError, match=r"was trained by 3 process\(es\); resume it with the same number"):
        Checkpoint(**{**state, "world_size": 3}).restore(path, model, torch.optim.Adam(model.parameters()), None, None, torch.Generator(), None, torch.device("cpu"))


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from commae.runs.lock import lock_dir
    with lock_dir(sys.argv[1]):
        print("held", flush=True)
        time.sleep(120)
    """
)


def test_another_process_holding_the_lock_is_named_and_its_death_frees_it(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "held"
        for _ in range(2):  # a refused process leaves the holder's pid in the file for the next one
            with pytest.raises(DirectoryLocked) as info, lock_dir(tmp_path):
                pass
            assert info.value.pid == holder.pid
        with pytest.raises(RunError, match=rf"is in use by another commae process \(pid {holder.pid}\); wait for it to end"):
            prepare_run_dir(tmp_path, force=True)
    finally:
        holder.kill()
        holder.wait(timeout=60)
    assert (tmp_path / LOCK_NAME).exists()  # the dead holder's file stays, its lock does not
    assert prepare_run_dir(tmp_path) == tmp_path and list(tmp_path.iterdir()) == []


def test_temp_files_of_other_pids_are_kept_on_windows_where_no_signal_can_ask(monkeypatch):
    def kill(pid, sig):
        raise AssertionError("os.kill terminates a process on Windows; it must not be called there")

    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(os, "name", "nt")
    running = _files._running(2**22 + 12345)
    monkeypatch.undo()
    assert running is True
    assert _files._running(2**22 + 12345) is False  # POSIX: no such process
