"""A run directory as a transaction: checked and locked on the way in, the previous run kept until the new one has a checkpoint.

:class:`RunDirectory` is one command's hold on its directory. ``open`` takes
the lock (:mod:`commae.runs.lock`, rank 0 only), finishes what a killed run
left, checks that the directory can take the run, and for a new run moves
the previous run's files into ``.previous-PID`` inside it. ``saved`` records
each complete checkpoint; the first one commits: the new run becomes the
directory's run and the previous one is removed. Leaving the ``with`` block
before that (an exception, divergence, Ctrl-C) rolls back: the new run's
files go and the previous ones come back. A process killed before its first
checkpoint leaves ``.previous-PID`` for the next ``open`` to put back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .. import distributed as _dist
from .._files import remove_stale_temps
from .._interrupts import deferred_sigint
from .failures import RunError
from .layout import CHECKPOINT, RUN_FILES
from .lock import LOCK_NAME, DirectoryLocked, lock_dir

__all__ = ["RunDirectory", "prepare_run_dir"]

_PREVIOUS = ".previous-"


def prepare_run_dir(out: str | os.PathLike, *, force: bool = False, resume: bool = False) -> Path:
    """Check that ``out`` can take a run: refuse a non-empty one unless ``force`` or ``resume``; ``resume`` needs a ``checkpoint.pt``.

    On rank 0 it holds the directory's lock (:mod:`commae.runs.lock`) while it
    looks: a directory another process writes is refused with that process's
    pid. Under the lock it first tidies what a killed run left: the temp files
    of half-written run files, and a previous run that an interrupted
    ``--force`` had moved aside before its first checkpoint, which is put back.
    It creates ``out`` when it does not exist. It changes no run file:
    :func:`~commae.runs.train_run` moves the old run aside itself.
    """
    run = RunDirectory(out, force=force, resume=resume)
    with run:
        return run.open(move_aside=False)


class RunDirectory:
    """One run's hold on its directory, from the checks to the end of :func:`~commae.runs.train_run` (see the module's docstring).

    ``epoch`` is the epoch of the last complete checkpoint (None: none yet);
    ``aside`` the previous run's files until the new run's first checkpoint;
    ``restored`` says that a failure put the directory back as it was.
    """

    def __init__(self, out: str | os.PathLike, *, force: bool = False, resume: bool = False, log: Callable[[str], None] | None = None) -> None:
        self.out, self.force, self.resume, self.log = Path(out), force, resume, log
        self.aside: Path | None = None
        self.epoch: int | None = None
        self.restored = False
        self._created = False
        self._lock = contextlib.ExitStack()

    def open(self, move_aside: bool = True) -> Path:
        """Lock (rank 0), tidy and check the directory; for a new run, move the previous run aside (``move_aside``)."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise RunError(f"--out {out} is a file, not a directory")
        if _dist.rank() != 0:  # another rank of a torchrun job: rank 0 holds the lock and writes
            if self.resume and not (out / CHECKPOINT).is_file():
                raise RunError(f"cannot resume: {out / CHECKPOINT} does not exist")
            return out
        if not self.resume and not out.is_dir():
            try:
                out.mkdir(parents=True)
            except OSError as exc:
                raise RunError(f"--out {out} cannot be created ({exc.strerror})") from None
            self._created = True
        if not out.is_dir():
            raise RunError(f"cannot resume: {out / CHECKPOINT} does not exist")
        try:
            self._lock.enter_context(lock_dir(out))
        except DirectoryLocked as exc:
            raise RunError(
                f"--out {out} is in use by another commae process (pid {exc.pid if exc.pid is not None else 'unknown'}); wait for it to end, or write elsewhere with another --out"
            ) from None
        except OSError as exc:
            raise RunError(f"--out {out} cannot be locked ({exc.strerror})") from None
        with deferred_sigint():
            _recover(out, self.log)
            remove_stale_temps(out, RUN_FILES)
        if self.resume:
            if not (out / CHECKPOINT).is_file():
                raise RunError(f"cannot resume: {out / CHECKPOINT} does not exist")
            return out
        if not self.force and _has_content(out):
            raise RunError(f"--out {out} exists and is not empty; pass --force to overwrite its run files or --resume to continue it")
        if move_aside:
            with deferred_sigint():
                self.aside = _move_aside(out)
        return out

    def saved(self, epoch: int) -> None:
        """A complete checkpoint of ``epoch`` is on disk: from now on the directory holds the new run (the commit)."""
        self.epoch = epoch
        if self.aside is not None:
            aside, self.aside = self.aside, None
            shutil.rmtree(aside, ignore_errors=True)

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if self.aside is not None:
                if kind is None:  # finished without a checkpoint (cannot happen with epochs >= 1): the new run stands
                    self.saved(self.epoch or 0)
                else:  # the rollback
                    with deferred_sigint():
                        _put_back(self.out, self.aside)
                        self.aside, self.restored = None, True
                        if self._created:
                            with contextlib.suppress(OSError):
                                self._lock.close()
                                self.out.rmdir()  # only if empty
        finally:
            self._lock.close()


def _has_content(out: Path) -> bool:
    return any(p.name != LOCK_NAME for p in out.iterdir())


def _events(directory: Path) -> list[Path]:
    return sorted((directory / "tensorboard").glob("events.out.tfevents.*"))  # --tensorboard's default place


def _move_aside(out: Path) -> Path:
    """Move the run files of ``out`` into ``out/.previous-PID`` (the checkpoint first); return that directory.

    They go into ``.previous-PID.moving`` first, renamed when all are in, so a
    run killed half-way is told apart from one whose files all moved.
    """
    aside = out / f"{_PREVIOUS}{os.getpid()}"
    moving = aside.with_name(aside.name + ".moving")
    try:
        moving.mkdir()
        for name in (CHECKPOINT, *(n for n in RUN_FILES if n != CHECKPOINT)):  # without checkpoint.pt out holds no run to resume
            if (out / name).exists():
                os.replace(out / name, moving / name)
        events = _events(out)
        if events:
            (moving / "tensorboard").mkdir()
            for event in events:
                os.replace(event, moving / "tensorboard" / event.name)
        os.replace(moving, aside)
    except OSError as exc:
        _put_back(out, moving, remove_new=False)
        raise RunError(f"--out {out}: cannot move the previous run aside ({exc.strerror})") from None
    return aside


def _put_back(out: Path, aside: Path, remove_new: bool = True) -> None:
    """Remove the new run's files from ``out`` (``remove_new``) and move the previous run's back from ``aside``."""
    if not aside.is_dir():
        return
    if remove_new:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        for event in _events(out):
            event.unlink()
    for item in aside.iterdir():
        if item.is_dir():  # tensorboard/
            (out / item.name).mkdir(exist_ok=True)
            for event in item.iterdir():
                os.replace(event, out / item.name / event.name)
            item.rmdir()
        else:
            os.replace(item, out / item.name)
    with contextlib.suppress(OSError):
        (out / "tensorboard").rmdir()  # only if empty: the new run made it
    aside.rmdir()


def _recover(out: Path, log: Callable[[str], None] | None) -> None:
    """Finish what a killed run left in ``out``: a previous run moved aside comes back unless the new one had a complete checkpoint."""
    for moving in sorted(out.glob(f"{_PREVIOUS}*.moving")):  # killed while moving: the new run wrote nothing yet
        _put_back(out, moving, remove_new=False)
    for aside in sorted(out.glob(f"{_PREVIOUS}*")):
        if not aside.is_dir():
            continue
        if (out / CHECKPOINT).is_file():  # the replacing run reached its first checkpoint: it is the run now
            shutil.rmtree(aside, ignore_errors=True)
        else:
            _put_back(out, aside)
            if log is not None:
                log(f"put back the run in {out} that an interrupted --force had moved aside before its first checkpoint")
