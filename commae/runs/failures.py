"""How a run fails: its errors, and the failure policy, each said once.

Every failure is one line for the user that says what the run directory
still holds and what to do next:

=========================== =================================================================
what happened               what is kept, what is said
=========================== =================================================================
the loss became NaN or inf  the last good checkpoint (or the directory as it was); retry with
                            ``--force`` and :data:`REMEDY` (:func:`diverged`)
the run ended worse than    every file, for inspection: the validation MI (BMI) bound fell
guessing                    below :data:`FAILED_MI_BITS`; the same remedy (:func:`failed_training`)
a file could not be written the last complete checkpoint, or the directory as it was
                            (:func:`write_failed`)
Ctrl-C                      the last complete checkpoint, or the directory as it was: a
                            :class:`RunInterrupted` naming the epoch
=========================== =================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .layout import CHECKPOINT

if TYPE_CHECKING:
    from .._files import WriteError
    from ..models import SystemConfig
    from ..training import History, TrainingDiverged
    from .directory import RunDirectory

__all__ = ["RunError", "RunInterrupted", "FAILED_MI_BITS", "REMEDY", "diverged", "failed_training", "write_failed"]

# A validation MI (BMI) bound below this ends a run as failed. An untrained receiver lies within
# 0.2 bit of 0 (k = 1..8, --hidden 8 and 128, four seeds each), so only a training that made the
# receiver clearly worse than guessing (val loss above log M nats) is caught, never a short run.
FAILED_MI_BITS = -0.5
REMEDY = "a lower --lr (e.g. a tenth) or --clip 1.0"  # what a diverged or failed training is retried with


class RunError(Exception):
    """A run cannot be created, resumed or loaded; the message is one line for the user."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`~commae.runs.train_run`. ``epoch``: the last epoch with a complete checkpoint in ``run_dir`` (None: none);
    ``restored``: the run stopped before its first checkpoint and ``run_dir`` is as it was before."""

    def __init__(self, run_dir: Path, epoch: int | None, epochs: int, restored: bool, dry_run: bool = False) -> None:
        if dry_run:
            message = "training interrupted; a dry run writes nothing"
        elif restored:
            message = f"training interrupted before its first epoch ended; {run_dir} is left as it was"
        elif epoch is not None:
            message = f"training interrupted after epoch {epoch} of {epochs}; its checkpoint is in {run_dir / CHECKPOINT}"
        else:
            message = "training interrupted"
        super().__init__(message)
        self.run_dir, self.epoch, self.epochs, self.restored, self.dry_run = run_dir, epoch, epochs, restored, dry_run


def diverged(exc: TrainingDiverged, run: RunDirectory) -> RunError:
    """The loss became NaN or inf: the last good checkpoint stays (and a previous run moved aside comes back)."""
    if run.epoch is not None:
        kept = f"the last good checkpoint (epoch {run.epoch}) is in {run.out / CHECKPOINT}"
    else:
        kept = f"no checkpoint was written and {run.out} is left as it was" if run.aside is not None else "no checkpoint was written"
    return RunError(f"training diverged: the loss became {exc.loss} in epoch {exc.epoch}; {kept}. Retry with --force and {REMEDY}")


def failed_training(history: History, system: SystemConfig, run_dir: Path, dry_run: bool) -> RunError | None:
    """A run that ended worse than guessing (see :data:`FAILED_MI_BITS`), else None; raised after the files are written."""
    last = history.rows[-1] if history.rows else {}
    mi = last.get("mi_bits")
    if mi is None or not mi < FAILED_MI_BITS:
        return None
    info = "BMI" if system.output == "bit" else "MI"
    kept = "nothing was written (dry run)" if dry_run else f"the files are kept in {run_dir} for inspection"
    return RunError(
        f"training failed: the validation {info} bound ended at {mi:.4g} bit after epoch {last.get('epoch')}, worse than guessing "
        f"(a receiver that learnt nothing has 0); {kept}. Retry with{'' if dry_run else ' --force and'} {REMEDY}"
    )


def write_failed(exc: WriteError, run: RunDirectory) -> RunError:
    """A file could not be written (``cannot write PATH: REASON``), and what the directory still holds."""
    if run.restored:
        kept = f"{run.out} is left as it was"
    elif run.epoch is not None:
        kept = f"the checkpoint of epoch {run.epoch} is kept in {run.out / CHECKPOINT}; continue with --resume"
    else:
        kept = ""
    return RunError(f"{exc}; {kept}" if kept else str(exc))
