"""Real processes, real signals: `commae train` killed (SIGKILL) or interrupted (SIGINT) at random moments, two of them at once, and `ber-curve` cut short.

After every kill each file in the run directory is absent or complete, the
run the directory held is never lost, and ``--resume`` ends at exactly the
weights of an uninterrupted run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from commae.cli import cli
from commae.runs import RUN_FILES, load_history, prepare_run_dir
from commae.runs.lock import LOCK_NAME
from commae.simulation import read_results

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 12
# tiny epochs (about 0.05 s each), so that a run writes many checkpoints; one thread, so that every process computes the same bits
ARGS = ["--k", "2", "--hidden", "16", "--epochs", str(EPOCHS), "--batches-per-epoch", "5", "--batch-size", "256", "--val-size", "512", "--seed", "3", "--threads", "1", "--quiet"]
OLD_ARGS = [*ARGS[:4], "--epochs", "2", *ARGS[6:8], *ARGS[8:12], "--seed", "11", "--threads", "1", "--quiet"]  # the run --force replaces
TEMP = re.compile(r"^\.(?P<name>.+)\.tmp-\d+$")
PREVIOUS = re.compile(r"^\.previous-\d+(\.moving)?$")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "commae", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def _hashes(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(directory.iterdir())} if directory.is_dir() else {}


def _values(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in load_history(run_dir)]


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = (torch.load(d / "model.pt", weights_only=True) for d in (a, b))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _wait(condition, proc: subprocess.Popen, timeout: float = 120.0, poll: float = 0.005) -> bool:
    """Poll ``condition()`` until it holds (True) or the process ends or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            return True
        time.sleep(poll)
    return False


def _stamp(path: Path) -> tuple[int, int] | None:
    """Inode and modification time of ``path``: a file renamed into place has a new stamp (None: no file)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _check_file(path: Path) -> None:
    """``path`` is a complete file of its kind: it parses and loads in full."""
    name = path.name
    if name == "config.json":
        assert json.loads(path.read_text())["train"]["epochs"] >= 1
    elif name in ("checkpoint.pt", "model.pt"):
        state = torch.load(path, weights_only=True)
        assert ("epoch" in state) if name == "checkpoint.pt" else all(isinstance(v, torch.Tensor) for v in state.values())
    elif name == "history.csv":
        rows = load_history(path.parent)
        assert [r["epoch"] for r in rows] == list(range(1, len(rows) + 1))
    elif name.endswith(".png"):
        with Image.open(path) as image:
            image.load()  # decodes every row: a truncated PNG raises
    elif name.endswith(".pdf"):
        data = path.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), path
    else:
        raise AssertionError(f"unexpected file {path}")


def _check_after_kill(out: Path) -> dict:
    """Every entry of ``out`` is a complete run file, or one of the hidden files a killed run may leave; what was there."""
    seen = {"temps": [], "lock": False, "previous": False}
    if not out.exists():
        return seen
    for entry in out.iterdir():
        if entry.name in RUN_FILES:
            _check_file(entry)
        elif entry.name == LOCK_NAME:
            seen["lock"] = True
        elif entry.name == "notes.txt":  # the user's, never touched
            assert entry.read_text() == "mine"
        elif TEMP.match(entry.name) and TEMP.match(entry.name)["name"] in RUN_FILES:
            seen["temps"].append(entry.name)
        elif PREVIOUS.match(entry.name):
            seen["previous"] = True
            for moved in entry.iterdir():
                _check_file(moved)
        else:
            raise AssertionError(f"unexpected entry {entry} after a kill")
    seen["complete"] = all((out / name).is_file() for name in RUN_FILES) and not seen["previous"]  # the process was past train_run, which holds the lock
    if (out / "checkpoint.pt").is_file() and (out / "history.csv").is_file():  # written together: the history is at most one epoch behind
        epoch = torch.load(out / "checkpoint.pt", weights_only=True)["epoch"]
        assert len(load_history(out)) in (epoch - 1, epoch)
    return seen


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """An uninterrupted run of ARGS in its own process, and when (seconds after its start) its first checkpoint, its model.pt and its end came."""
    out = tmp_path_factory.mktemp("reference") / "run"
    start = time.monotonic()
    proc = _spawn("train", "--out", str(out), *ARGS)
    _wait(lambda: (out / "checkpoint.pt").exists(), proc)
    first = time.monotonic() - start
    _wait(lambda: (out / "model.pt").exists(), proc)
    model = time.monotonic() - start
    proc.communicate(timeout=300)
    assert proc.returncode == 0
    return out, {"first_checkpoint": first, "model": model, "end": time.monotonic() - start}


@pytest.fixture(scope="module")
def old_run(tmp_path_factory) -> Path:
    """A finished run of other settings (seed 11), beside a file of the user's: what --force replaces."""
    out = tmp_path_factory.mktemp("old") / "run"
    assert _invoke("train", "--out", str(out), *OLD_ARGS).exit_code == 0
    (out / "notes.txt").write_text("mine")
    return out


# stratified over the phases of a run: start-up and first epoch, the epochs, the last writes, and mid-way through writing a checkpoint
FAST_KILLS = ["start", "start", "epoch", "epoch", "epoch", "epoch", "finish", "write"]


def _kill_and_resume(seed: int, mode: str, reference, old_run, tmp_path) -> str:
    """SIGKILL `train --force` over an old run at a random moment; check the files; finish the run; compare with the reference."""
    ref, times = reference
    rng = random.Random(seed)
    out = tmp_path / "run"
    shutil.copytree(old_run, out)
    old = _hashes(out)
    old_stamp, old_model = _stamp(out / "checkpoint.pt"), _stamp(out / "model.pt")
    proc = _spawn("train", "--out", str(out), "--force", *ARGS)
    if mode == "start":  # start-up, or the first epoch: a random delay, cut short by the new run's first checkpoint
        _wait(lambda: _stamp(out / "checkpoint.pt") not in (None, old_stamp), proc, timeout=rng.uniform(0.1, 4.0), poll=0.002)
    elif mode == "epoch":  # within epoch K + 1: after the K-th new checkpoint, a fraction of an epoch
        for _ in range(rng.randint(1, EPOCHS - 1)):
            stamp = _stamp(out / "checkpoint.pt")
            _wait(lambda stamp=stamp: _stamp(out / "checkpoint.pt") not in (None, stamp, old_stamp), proc, poll=0.001)
        time.sleep(rng.uniform(0, 0.05))
    elif mode == "finish":  # the baseline, the figures and the report after the last epoch
        _wait(lambda: _stamp(out / "model.pt") not in (None, old_model), proc, poll=0.002)
        time.sleep(rng.uniform(0, 1.0))
    else:  # while a checkpoint's temp file is on disk
        _wait(lambda: any(n.startswith(".checkpoint.pt.tmp-") for n in os.listdir(out)), proc, poll=0)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    seen = _check_after_kill(out)
    finished = proc.returncode == 0
    new_model = _stamp(out / "model.pt") not in (None, old_model)

    prepare_run_dir(out, force=True)  # takes the lock the dead process held, puts back or finishes what it left
    assert not [n for n in os.listdir(out) if n.startswith(".")], os.listdir(out)
    config = json.loads((out / "config.json").read_text())
    if config["seed"] == 11:  # killed before the new run's first checkpoint: the old run is all there, byte for byte
        assert _hashes(out) == old
        result = _invoke("train", "--out", str(out), "--force", *ARGS)
        phase = "before the first checkpoint"
    else:
        epoch = torch.load(out / "checkpoint.pt", weights_only=True)["epoch"]
        result = _invoke("train", "--out", str(out), "--resume", "--threads", "1", "--quiet")
        phase = "finished" if finished else f"after epoch {epoch}{' (its model.pt written)' if new_model else ''}"
    assert result.exit_code == 0, result.output
    assert _values(out) == _values(ref) and _same_weights(out, ref)
    assert sorted(os.listdir(out)) == sorted([*RUN_FILES, "notes.txt"]) and (out / "notes.txt").read_text() == "mine"
    if mode == "epoch" and not seen["complete"]:
        assert seen["lock"]  # the dead holder's lock file stayed, and did not stop the resume
    return f"seed {seed} ({mode}): killed {phase}; temps left {seen['temps']}, lock file left {seen['lock']}, old run aside {seen['previous']}"


# one kill-and-resume (mid-epoch) in the default run, the other phases in the longer set
@pytest.mark.parametrize("seed, mode", [pytest.param(seed, mode, marks=() if seed == 2 else pytest.mark.long) for seed, mode in enumerate(FAST_KILLS)])
def test_sigkill_at_random_moments_loses_nothing_and_resume_is_bit_identical(seed, mode, reference, old_run, tmp_path):
    print(_kill_and_resume(seed, mode, reference, old_run, tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 116))
def test_sigkill_at_more_random_moments(seed, reference, old_run, tmp_path):
    print(_kill_and_resume(seed, random.Random(seed).choice(["start", "epoch", "epoch", "finish", "write"]), reference, old_run, tmp_path))


@pytest.mark.long
def test_sigint_mid_training_keeps_the_last_checkpoint_and_says_how_to_resume(reference, tmp_path):
    ref, _ = reference
    out = tmp_path / "run"
    proc = _spawn("train", "--out", str(out), *ARGS)
    assert _wait(lambda: (out / "checkpoint.pt").exists(), proc)
    time.sleep(random.Random(1).uniform(0, 0.1))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    epoch = torch.load(out / "checkpoint.pt", weights_only=True)["epoch"]
    assert err.strip().splitlines() == [f"Interrupted after epoch {epoch} of {EPOCHS}; continue with: commae train --out {out} --resume"]
    assert len(load_history(out)) == epoch and not [n for n in os.listdir(out) if n.startswith(".")]
    result = _invoke("train", "--out", str(out), "--resume", "--threads", "1", "--quiet")
    assert result.exit_code == 0 and _same_weights(out, ref) and _values(out) == _values(ref)


@pytest.mark.long
def test_sigint_while_a_checkpoint_is_written_finishes_it_and_its_history(tmp_path):
    out = tmp_path / "run"
    proc = _spawn("train", "--out", str(out), *ARGS)
    assert _wait(lambda: out.is_dir() and any(n.startswith(".checkpoint.pt.tmp-") for n in os.listdir(out)), proc, poll=0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    epoch = torch.load(out / "checkpoint.pt", weights_only=True)["epoch"]
    assert err.strip().splitlines() == [f"Interrupted after epoch {epoch} of {EPOCHS}; continue with: commae train --out {out} --resume"]
    assert len(load_history(out)) == epoch and not [n for n in os.listdir(out) if n.startswith(".")]  # the pair is complete, no temp is left


@pytest.mark.long
def test_sigint_before_the_first_checkpoint_of_a_force_run_leaves_the_old_run(old_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(old_run, out)
    old = _hashes(out)
    slow_epoch = [*ARGS[:4], "--epochs", "2", "--batches-per-epoch", "2000", *ARGS[8:]]  # epoch 1 takes seconds
    proc = _spawn("train", "--out", str(out), "--force", *slow_epoch)
    assert _wait(lambda: any(PREVIOUS.match(n) for n in os.listdir(out)), proc)  # the old run has just been moved aside
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().splitlines() == [f"Interrupted. No epoch had finished, so {out} is left as it was."], err
    assert _hashes(out) == old


@pytest.mark.long
@pytest.mark.parametrize("delay", [0.3, 0.9, 1.6])
def test_sigint_during_start_up_is_one_line(delay, tmp_path):
    out = tmp_path / "run"
    proc = _spawn("train", "--out", str(out), *ARGS)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if "init_import_site" in err:  # CPython itself was still starting: no code of ours had run
        pytest.skip("the signal came before Python ran any code of commae")
    assert "Traceback" not in err and "pybind11" not in err and proc.returncode == 130, (proc.returncode, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0] in ("Interrupted.", f"Interrupted. No epoch had finished, so {out} is left as it was."), err
    assert not out.exists() or os.listdir(out) == []


@pytest.mark.long
def test_a_second_train_into_a_locked_run_is_refused_and_the_first_finishes(tmp_path):
    out = tmp_path / "run"
    longer = [*ARGS[:4], "--epochs", "30", *ARGS[6:]]
    first = _spawn("train", "--out", str(out), *longer)
    assert _wait(lambda: (out / "checkpoint.pt").exists(), first)
    for args in (["--force", *ARGS], ["--resume", "--quiet"]):
        second = _invoke("train", "--out", str(out), *args)
        assert second.exit_code == 1, second.output
        assert second.output.strip().splitlines() == [f"Error: --out {out} is in use by another commae process (pid {first.pid}); wait for it to end, or write elsewhere with another --out"]
    assert first.poll() is None  # the refusal came while the first one held the directory
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert sorted(os.listdir(out)) == sorted(RUN_FILES) and len(load_history(out)) == 30
    for name in RUN_FILES:
        _check_file(out / name)


@pytest.fixture
def results(tmp_path) -> Path:
    """A ber-curve CSV and its JSON (seed 0) from this process."""
    out = tmp_path / "res.csv"
    assert _invoke("ber-curve", "--baseline", "qpsk", "--ebno", "0,2", "--max-bits", "1e5", "--out", str(out), "--quiet").exit_code == 0
    return out


@pytest.mark.long
def test_ber_curve_interrupted_keeps_the_previous_results(results):
    before = _hashes(results.parent)
    proc = _spawn("ber-curve", "--baseline", "qam16", "--ebno", "0:12:1", "--target-errors", "1000000000", "--max-bits", "1e13", "--out", str(results), "--force", "--quiet", "--threads", "1")
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().splitlines() == ["Interrupted."], err
    assert _hashes(results.parent) == before


@pytest.mark.long
def test_a_second_ctrl_c_while_leaving_keeps_status_130(results):
    """Ctrl-C, and again the moment "Interrupted." is printed: the shutdown is not cut short (exit 130, not death by SIGINT).

    Python restores SIGINT's default action (terminate) when the interpreter
    shuts down; a SIGINT that arrived then ended the process by the signal
    (status -2) after the line had been printed.
    """
    before = _hashes(results.parent)
    proc = _spawn("ber-curve", "--baseline", "qam16", "--ebno", "0:12:1", "--target-errors", "1000000000", "--max-bits", "1e13", "--out", str(results), "--force", "--quiet", "--threads", "1")
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    first = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130 and (first + rest).strip().splitlines() == ["Interrupted."], (proc.returncode, first + rest)
    assert _hashes(results.parent) == before


@pytest.mark.long
@pytest.mark.parametrize("seed", [0, 1])
def test_ber_curve_killed_leaves_the_old_pair_or_the_new_pair(seed, results):
    before = _hashes(results.parent)
    start = time.monotonic()
    proc = _spawn("ber-curve", "--baseline", "qpsk", "--baseline", "bpsk", "--ebno", "0:8:1", "--max-bits", "2e6", "--seed", "4", "--out", str(results), "--force", "--quiet", "--threads", "1")
    _wait(lambda: False, proc, timeout=random.Random(seed).uniform(1.0, 6.0))
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    after = {name: digest for name, digest in _hashes(results.parent).items() if not TEMP.match(name)}
    temps = sorted(set(os.listdir(results.parent)) - set(after))
    if after != before:  # the new results: both of them, each complete, and together
        assert sorted(after) == ["res.csv", "res.json"] and json.loads(results.with_suffix(".json").read_text())["seed"] == 4
        assert {r["system"] for r in read_results(results)} == {"qpsk", "bpsk"}
    with open(results) as fh:
        assert list(csv.reader(fh))  # parses either way
    if temps:  # killed while writing: the next write removes the dead process's temp files
        assert all(TEMP.match(t)["name"] in ("res.csv", "res.json") for t in temps)
        assert _invoke("ber-curve", "--baseline", "qpsk", "--ebno", "0", "--max-bits", "1e4", "--out", str(results), "--force", "--quiet").exit_code == 0
        assert sorted(os.listdir(results.parent)) == ["res.csv", "res.json"]
    print(f"seed {seed}: {'new' if after != before else 'old'} results, temps left {temps}, {time.monotonic() - start:.1f} s, exit {proc.returncode}")
