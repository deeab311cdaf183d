"""A full disk during `train`, `ber-curve` and `plot`: one line naming the file, exit 1, the previous files intact, no temp file left.

The disk is a real 2 MiB tmpfs, filled by a file of this test, where the
process may mount one (root, as in the project's container); elsewhere
``os.fsync`` is patched to fail with ENOSPC for files larger than the space
left, which is where a full disk surfaces on file systems that allocate late.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from commae.cli import cli
from commae.models import SystemConfig
from commae.runs import RUN_FILES, train_run
from commae.training import TrainConfig

NO_SPACE = os.strerror(errno.ENOSPC)
PAGE = 4096


class _Disk:
    """A directory whose free space the test sets: ``fill(leave)`` leaves about ``leave`` bytes, ``free()`` gives the space back."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root, self._monkeypatch = root, monkeypatch
        root.mkdir()
        self.real = shutil.which("mount") is not None and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(root)], capture_output=True).returncode == 0
        self._filler = root / "filler"

    def fill(self, leave: int) -> None:
        if not self.real:
            fsync, limit = os.fsync, leave

            def full_disk_fsync(fd: int) -> None:
                if os.fstat(fd).st_size > limit:
                    raise OSError(errno.ENOSPC, NO_SPACE)
                fsync(fd)

            self._monkeypatch.setattr(os, "fsync", full_disk_fsync)
            return
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                os.write(fd, b"\0" * PAGE)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)
        os.truncate(self._filler, max(0, self._filler.stat().st_size - leave))
        assert shutil.disk_usage(self.root).free == leave

    def free(self) -> None:
        self._monkeypatch.undo()
        self._filler.unlink(missing_ok=True)

    def close(self) -> None:
        if self.real and subprocess.run(["umount", str(self.root)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(self.root)], capture_output=True)


@pytest.fixture
def disk(tmp_path, monkeypatch):
    d = _Disk(tmp_path / "disk", monkeypatch)
    yield d
    d.free()
    d.close()


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def _hashes(directory: Path) -> dict[str, str]:
    """Every entry (hidden ones too) with the SHA-256 of its bytes; the test's filler left out."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(directory.iterdir()) if p.name != "filler"}


def _one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


SMALL = ["--k", "2", "--hidden", "16", "--epochs", "4", "--batches-per-epoch", "4", "--batch-size", "256", "--val-size", "512", "--threads", "1", "--quiet"]


def test_train_force_on_a_full_disk_keeps_the_previous_run(disk, tmp_path):
    out = disk.root / "run"
    assert _invoke("train", "--out", str(out), *SMALL, "--seed", "5").exit_code == 0
    (out / "notes.txt").write_text("mine")
    before = _hashes(out)
    disk.fill(0)
    result = _invoke("train", "--out", str(out), "--force", *SMALL)
    assert result.exit_code == 1
    assert _one_line(result) == f"Error: cannot write {out}/config.json: {NO_SPACE}; {out} is left as it was"
    assert _hashes(out) == before  # every old file, no temp file, no .previous-*, no lock file


@pytest.mark.long
def test_a_disk_that_fills_mid_run_keeps_the_last_checkpoint_and_resume_finishes_it(disk, tmp_path):
    system, train = SystemConfig(k=2, hidden=16), TrainConfig(epochs=4, batches_per_epoch=4, batch_size=256, val_size=512, seed=2)
    whole = train_run(system, train, tmp_path / "whole", progress=False, log=None).model.state_dict()
    out = disk.root / "run"
    train_run(system, train, out, progress=False, log=None, stop_after=2)
    checkpoint = hashlib.sha256((out / "checkpoint.pt").read_bytes()).hexdigest()
    disk.fill(3 * PAGE)  # config.json, history.csv and the lock's pid fit; a checkpoint (about 30 kB) does not
    result = _invoke("train", "--out", str(out), "--resume", "--threads", "1", "--quiet")
    assert result.exit_code == 1
    assert _one_line(result) == f"Error: cannot write {out}/checkpoint.pt: {NO_SPACE}; the checkpoint of epoch 2 is kept in {out}/checkpoint.pt; continue with --resume"
    assert hashlib.sha256((out / "checkpoint.pt").read_bytes()).hexdigest() == checkpoint
    assert sorted(os.listdir(out)) == sorted(RUN_FILES)  # no temp file; stop_after wrote model.pt and the figures of epoch 2
    disk.free()
    assert _invoke("train", "--out", str(out), "--resume", "--threads", "1", "--quiet").exit_code == 0
    resumed = torch.load(out / "model.pt", weights_only=True)
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


@pytest.mark.long
def test_ber_curve_on_a_full_disk_keeps_the_csv_and_its_json_together(disk):
    out = disk.root / "res.csv"
    args = ["ber-curve", "--baseline", "qpsk", "--baseline", "bpsk", "--ebno", "0:20:0.5", "--max-bits", "2e4", "--out", str(out), "--quiet", "--threads", "1"]
    assert _invoke(*args).exit_code == 0
    before = _hashes(disk.root)
    assert out.stat().st_size > 2 * PAGE and out.with_suffix(".json").stat().st_size < PAGE
    for leave, failing in ((0, "res.json"), (2 * PAGE, "res.csv")):  # nothing fits; the JSON fits and the CSV does not
        disk.fill(leave)
        result = _invoke(*args, "--force", "--seed", "1")
        assert result.exit_code == 1 and _one_line(result) == f"Error: cannot write {disk.root}/{failing}: {NO_SPACE}"
        assert _hashes(disk.root) == before  # the JSON was not put in place without its CSV
        disk.free()


@pytest.mark.long
def test_plot_on_a_full_disk_keeps_the_previous_figures(disk, tmp_path):
    results = tmp_path / "res.csv"
    assert _invoke("ber-curve", "--baseline", "qpsk", "--ebno", "0:6:1", "--max-bits", "2e4", "--out", str(results), "--quiet").exit_code == 0
    base = disk.root / "ber"
    args = ["plot", "ber", str(results), "--out", str(base), "--format", "pdf,png"]
    assert _invoke(*args).exit_code == 0
    before = _hashes(disk.root)
    pdf, png = (base.with_suffix(s).stat().st_size for s in (".pdf", ".png"))
    assert png > pdf + 8 * PAGE
    pdf_fits = -(-pdf // PAGE) * PAGE + 4 * PAGE  # room for the new PDF (its title adds glyphs), not for the PNG
    for leave, failing in ((0, "ber.pdf"), (pdf_fits, "ber.png")):  # matplotlib's PDF writer fails; the PDF is written and the PNG fails
        disk.fill(leave)
        result = _invoke(*args, "--force", "--title", "new")
        assert result.exit_code == 1 and _one_line(result) == f"Error: cannot write {disk.root}/{failing}: {NO_SPACE}"
        assert _hashes(disk.root) == before
        disk.free()
