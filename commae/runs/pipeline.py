"""Training a system into a run directory, as a short pipeline.

:func:`train_run` holds the directory (:class:`~commae.runs.directory.RunDirectory`)
and runs these steps, each a function below:

1. :func:`_settle` - check the settings against each other and the machine; a dry run's budget.
2. ``run.open`` - lock, tidy and check the directory (rank 0 writes it; every rank agrees).
3. :func:`_build` - seed, model, loss, data, optimiser, scheduler: the objects the loop trains.
4. :func:`_resume` or :func:`_start` - the checkpoint's states put back, or a fresh ``config.json``.
5. :func:`_fit` - :func:`~commae.training.fit`, with a :class:`_Checkpointer` after every epoch.
6. :func:`_finish` - the baselines on the same validation set, ``model.pt`` and the figure.

What a failure says and keeps is :mod:`commae.runs.failures`; the CLI prints the report.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import distributed as _dist
from .._files import WriteError
from .._interrupts import deferred_sigint
from ..losses import ShapedObjective, make_loss
from ..models import Autoencoder, SystemConfig
from ..training import (
    EarlyStopping,
    History,
    MessageBatches,
    TrainConfig,
    TrainingDiverged,
    derive_seed,
    fit,
    make_optimizer,
    make_scheduler,
    make_step,
    message_metrics,
)
from .checkpoint import Checkpoint, gather_rng_states, rng_state
from .comparison import compare_with_baselines, validation_set
from .directory import RunDirectory
from .failures import RunError, RunInterrupted, diverged, failed_training, write_failed
from .files import save_config, save_constellation, save_model, write_history
from .layout import CHECKPOINT, CONFIG, HISTORY, MODEL

__all__ = ["RunResult", "train_run", "check_device"]


@dataclass
class RunResult:
    """What :func:`train_run` made: the directory, the trained model, its history, the baseline figures."""

    run_dir: Path
    model: Autoencoder
    history: History
    baseline: str | None
    baseline_metrics: dict[str, float] | None
    files: list[Path]
    val_messages: int
    other_baselines: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)  # name -> metrics, after the first
    collapsed: list[int] = dataclasses.field(default_factory=list)  # messages whose symbols coincide with another message's


def train_run(
    system: SystemConfig,
    train: TrainConfig,
    out: str | os.PathLike,
    *,
    force: bool = False,
    resume: bool = False,
    dry_run: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    stop_after: int | None = None,
    callbacks: Sequence[Callable[[int, History], None]] = (),
    tensorboard: str | os.PathLike | None = None,
) -> RunResult:
    """Train an autoencoder described by ``system`` and ``train`` into the directory ``out``.

    With ``resume`` the run continues from ``out/checkpoint.pt`` (model,
    optimiser, scheduler, RNG states, epoch, history) and ends at the weights
    an uninterrupted run reaches; ``system`` and ``train`` are then those the
    caller read with :func:`~commae.runs.load_config` (``train.epochs`` may grow).
    ``dry_run`` trains one batch of one epoch on a small validation set and
    writes nothing. ``stop_after`` ends the loop after that epoch as an
    interruption would (for tests). ``callbacks`` go to :func:`~commae.training.fit`
    (e.g. a :class:`~commae.callbacks.TensorBoardLogger`), after each epoch's checkpoint;
    ``tensorboard`` names a log directory for a TensorBoardLogger of this run's model.

    No run is lost on the way. The directory is locked for the whole call
    (another process writing it is refused with its pid). With ``force`` the
    previous run's files are moved into a hidden ``.previous-PID`` inside
    ``out`` and removed only once the new run has its first complete
    checkpoint; any failure before that (an exception, divergence, Ctrl-C)
    puts them back, and a process killed before that has them put back by the
    next command that opens ``out``. A new run into an empty directory that
    fails before its first checkpoint leaves it empty. A checkpoint and its
    ``history.csv`` are written together: Ctrl-C waits until both are on disk.

    Raises
    ------
    RunError
        One line for the user: bad settings, a locked or non-empty ``out``,
        divergence, a file that cannot be written (``cannot write PATH:
        REASON``, saying what the directory still holds).
    RunInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``), saying the last checkpointed epoch.
    """
    run = RunDirectory(out, force=force, resume=resume, log=log if _dist.rank() == 0 else None)
    options = _Options(resume, dry_run, progress, log, stop_after, callbacks, tensorboard)
    try:
        with run:
            return _train(system, train, run, options)
    except KeyboardInterrupt:
        raise RunInterrupted(Path(out), run.epoch, train.epochs, run.restored, dry_run) from None
    except WriteError as exc:
        raise write_failed(exc, run) from None


@dataclass
class _Options:
    """:func:`train_run`'s keywords that shape the steps (rank 0's; other ranks neither print nor log)."""

    resume: bool
    dry_run: bool
    progress: bool
    log: Callable[[str], None] | None
    stop_after: int | None
    callbacks: Sequence[Callable[[int, History], None]]
    tensorboard: str | os.PathLike | None


def _train(system: SystemConfig, train: TrainConfig, run: RunDirectory, options: _Options) -> RunResult:
    """:func:`train_run`'s steps inside its ``run`` directory."""
    train, device, step = _settle(system, train, options.dry_run)
    if _dist.rank() != 0:
        options = dataclasses.replace(options, progress=False, log=None)
    run_dir = _agree(lambda: run.open() if not options.dry_run and (_dist.rank() == 0 or options.resume) else run.out)
    parts = _build(system, train, device, step)
    if options.resume:
        history, start_epoch = _resume(parts, run, system, train, options.log)
    else:
        history, start_epoch = _start(parts, run_dir, system, train, options.dry_run)
    _fit(parts, run, system, train, history, start_epoch, options)
    return _finish(parts, run_dir, system, train, history, options.dry_run)


def check_device(name: str) -> torch.device:
    """A usable torch device from its name, or a RunError naming --device."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise RunError(f"--device {name!r} is not a torch device (cpu, cuda, cuda:0, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RunError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise RunError(f"--device {name}: only cpu and cuda are supported")
    return device


def _agree(fn: Callable[[], Any]) -> Any:
    """``fn()`` on every rank; a failure on any rank is a RunError on all of them (one process: ``fn()``)."""
    try:
        return _dist.agree(fn)
    except _dist.RankFailed as exc:
        raise RunError(str(exc)) from None


# --- 1. settle the settings -----------------------------------------------------------------


def _settle(system: SystemConfig, train: TrainConfig, dry_run: bool) -> tuple[TrainConfig, torch.device, Any]:
    """The settings checked against each other and this machine; a dry run's budget; this rank's device and training step."""
    device = check_device(train.device)
    if (train.loss == "ce") != (system.output == "symbol"):
        raise RunError(f"loss {train.loss!r} does not fit a {system.output!r}-wise receiver: use ce with symbol, bce with bit")
    try:
        step = make_step(train.training, train.exploration)
        step.check(system.build())
    except ValueError as exc:
        raise RunError(str(exc)) from None
    if dry_run:
        train = dataclasses.replace(train, epochs=1, batches_per_epoch=1, accumulate=1, val_size=min(train.val_size, 1024))
    if _dist.world_size() > 1 and device.type == "cuda":  # torchrun: this rank's own GPU (distributed.setup chose it)
        device = torch.device("cuda", torch.cuda.current_device())
    return train, device, step


# --- 3. build what the loop trains ------------------------------------------------------------


@dataclass
class _Parts:
    """The objects one run trains with, built from its settings by :func:`_build`."""

    model: Autoencoder
    loss_fn: torch.nn.Module
    step: Any
    train_batches: MessageBatches
    val_batches: MessageBatches
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler | None
    early: EarlyStopping | None
    device: torch.device


def _build(system: SystemConfig, train: TrainConfig, device: torch.device, step: Any) -> _Parts:
    """Seed, then build in a fixed order (the order draws from the seeded RNG): model, loss, data, optimiser, scheduler."""
    torch.manual_seed(train.seed)
    model = system.build().to(device)
    loss_fn = make_loss(train.loss, system.k)
    if model.transmitter.shaped:  # it learns its message distribution: CE - H(X), the MI bound
        loss_fn = ShapedObjective(loss_fn, model.transmitter.log_probabilities)
    train_batches = MessageBatches(system.k, system.n, train.batch_size, train.batches_per_epoch * train.accumulate, train.ebno_db, derive_seed(train.seed, "train", _dist.rank()), device)
    val_batches = validation_set(system, train, device)
    optimizer = make_optimizer(train.optimizer, model.parameters(), train.lr, train.momentum, train.nesterov, train.weight_decay)
    scheduler = make_scheduler(train.schedule, optimizer, train.epochs)
    scaler = torch.amp.GradScaler("cuda") if train.amp and device.type == "cuda" else None
    early = EarlyStopping(train.patience) if train.patience else None
    return _Parts(model, loss_fn, step, train_batches, val_batches, optimizer, scheduler, scaler, early, device)


# --- 4. resume or start ---------------------------------------------------------------------


def _resume(parts: _Parts, run: RunDirectory, system: SystemConfig, train: TrainConfig, log: Callable[[str], None] | None) -> tuple[History, int]:
    """Every rank reads the checkpoint and puts its states back; rank 0 rewrites config.json (``--epochs`` may have grown) and the history."""
    path = run.out / CHECKPOINT

    def restore() -> tuple[History, int, EarlyStopping | None]:
        checkpoint = Checkpoint.load(path, parts.model, system, train, parts.device)
        return checkpoint.restore(path, parts.model, parts.optimizer, parts.scheduler, parts.scaler, parts.train_batches.generator, parts.early, parts.device)

    history, start_epoch, parts.early = _agree(restore)
    run.epoch = start_epoch
    if log is not None:
        log(f"resuming {run.out} after epoch {start_epoch} of {train.epochs}")
    if _dist.rank() == 0:
        save_config(run.out, system, train, _dist.world_size())
        write_history(run.out, history)  # a process killed between a checkpoint and its history left the history an epoch short
    return history, start_epoch


def _start(parts: _Parts, run_dir: Path, system: SystemConfig, train: TrainConfig, dry_run: bool) -> tuple[History, int]:
    """A new run: rank 0 writes its config.json (a dry run writes nothing)."""
    if not dry_run and _dist.rank() == 0:
        save_config(run_dir, system, train, _dist.world_size())
    return History(), 0


# --- 5. fit, with a checkpoint after every epoch ----------------------------------------------


class _StopAfter(Exception):
    """Raised by the ``stop_after`` hook to end a run like an interruption."""


class _Checkpointer:
    """``fit``'s ``on_epoch_end``: the checkpoint and the history of each epoch, written together, then the directory's commit."""

    def __init__(self, parts: _Parts, run: RunDirectory, system: SystemConfig, train: TrainConfig, dry_run: bool, stop_after: int | None) -> None:
        self.parts, self.run, self.system, self.train, self.dry_run, self.stop_after = parts, run, system, train, dry_run, stop_after

    def __call__(self, epoch: int, history: History) -> None:
        if self.dry_run:
            return
        parts, world = self.parts, _dist.world_size()
        # every rank's data stream and RNG, so that a resumed distributed run continues each of them
        generators = _dist.all_gather_tensor(parts.train_batches.generator.get_state())
        rngs = gather_rng_states(parts.device) if world > 1 else None
        if _dist.rank() == 0:
            checkpoint = Checkpoint(
                model=parts.model.state_dict(),
                optimizer=parts.optimizer.state_dict(),
                scheduler=parts.scheduler.state_dict() if parts.scheduler is not None else None,
                scaler=parts.scaler.state_dict() if parts.scaler is not None else None,
                train_generator=generators[0],
                rng=rng_state(parts.device),
                world_size=world if world > 1 else None,
                train_generators=generators if world > 1 else None,
                rngs=rngs,
                epoch=epoch,
                history=history.rows,
                early_stopping=dataclasses.asdict(parts.early) if parts.early is not None else None,
                config={"system": dataclasses.asdict(self.system), "train": dataclasses.asdict(self.train)},
            )
            with deferred_sigint():  # a checkpoint, its history and the end of the previous run go together
                checkpoint.save(self.run.out / CHECKPOINT)
                write_history(self.run.out, history)
                self.run.saved(epoch)
        if self.stop_after is not None and epoch >= self.stop_after:
            raise _StopAfter


def _fit(parts: _Parts, run: RunDirectory, system: SystemConfig, train: TrainConfig, history: History, start_epoch: int, options: _Options) -> None:
    """Train from ``start_epoch`` to ``train.epochs`` (or early stopping); divergence is a RunError that keeps the last good checkpoint."""
    callbacks = list(options.callbacks)
    if options.tensorboard is not None and not options.dry_run:
        from ..callbacks import TensorBoardLogger

        callbacks.append(TensorBoardLogger(options.tensorboard, model=parts.model))
    try:
        fit(
            parts.model,
            parts.loss_fn,
            parts.train_batches,
            parts.val_batches,
            parts.optimizer,
            train.epochs,
            scheduler=parts.scheduler,
            accumulate=train.accumulate,
            clip=train.clip,
            amp=train.amp,
            early_stopping=parts.early,
            metrics=message_metrics(parts.model, system.k),
            start_epoch=start_epoch,
            history=history,
            scaler=parts.scaler,
            on_epoch_end=_Checkpointer(parts, run, system, train, options.dry_run, options.stop_after),
            progress=options.progress,
            log=options.log,
            callbacks=callbacks,
            step=parts.step,
        )
    except TrainingDiverged as exc:
        raise diverged(exc, run) from None
    except _StopAfter:
        pass
    finally:
        for callback in callbacks:
            if hasattr(callback, "close"):
                callback.close()


# --- 6. compare and write the outputs ---------------------------------------------------------


def _finish(parts: _Parts, run_dir: Path, system: SystemConfig, train: TrainConfig, history: History, dry_run: bool) -> RunResult:
    """Rank 0 measures the baselines on the same validation set and writes ``model.pt`` and the figure; a failed training is raised after."""
    model = parts.model
    model.eval()
    val_messages = parts.val_batches.batch_size * parts.val_batches.num_batches
    failed = failed_training(history, system, run_dir, dry_run)
    if _dist.rank() != 0:  # rank 0 reports and writes
        if failed:
            raise failed
        return RunResult(run_dir, model, history, None, None, [], val_messages)
    comparison = compare_with_baselines(system, train, parts.val_batches, parts.device)
    collapsed = model.transmitter.collapsed_messages()
    files: list[Path] = []
    if not dry_run:
        save_model(run_dir, model)
        files = [run_dir / name for name in (CONFIG, MODEL, CHECKPOINT, HISTORY)]
        files += save_constellation(run_dir, model)
    if failed:  # after the files are written, so that the run can be inspected
        raise failed
    return RunResult(run_dir, model, history, comparison.baseline, comparison.metrics, files, val_messages, comparison.others, collapsed)
