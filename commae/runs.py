"""A run directory on disk, and training a system into one.

``train_run(system, train, out)`` leaves exactly these files in ``out``:

================== ============================================================
``config.json``    every option (system and training), the package version, the seed
``model.pt``       the weights only: ``torch.load(path, weights_only=True)`` reads it
``checkpoint.pt``  model, optimiser, scheduler and RNG states and the epoch, for resuming
``history.csv``    one row per epoch: losses, val SER/BER/BLER, MI in bits, lr, seconds
``constellation.{pdf,png}``  the learned constellation (n = 1) or a 2-D projection of its codebook
================== ============================================================

Every file is written atomically (a temp file, then a rename), so an
interrupted run never leaves half a file. Everything is read back with
``weights_only=True``: a model file cannot run code.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import __version__, schemas
from . import distributed as _dist
from ._files import WriteError, atomic_write, remove_stale_temps
from ._interrupts import deferred_sigint
from .baselines import matching_baselines
from .lock import LOCK_NAME, DirectoryLocked, lock_dir
from .losses import make_loss
from .models import Autoencoder, SystemConfig
from .schemas import HISTORY_COLUMNS, SchemaError
from .training import (
    EarlyStopping,
    History,
    MessageBatches,
    TrainConfig,
    TrainingDiverged,
    derive_seed,
    evaluate_system,
    fit,
    make_optimizer,
    make_scheduler,
    make_step,
    message_metrics,
)

__all__ = [
    "RunError",
    "RunInterrupted",
    "RunResult",
    "train_run",
    "load_model",
    "load_config",
    "load_history",
    "prepare_run_dir",
    "check_device",
    "RUN_FILES",
    "HISTORY_COLUMNS",
]

CONFIG, MODEL, CHECKPOINT, HISTORY = "config.json", "model.pt", "checkpoint.pt", "history.csv"
RUN_FILES = (CONFIG, MODEL, CHECKPOINT, HISTORY, "constellation.pdf", "constellation.png")


class RunError(Exception):
    """A run cannot be created, resumed or loaded; the message is one line for the user."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`train_run`. ``epoch``: the last epoch with a complete checkpoint in ``run_dir`` (None: none);
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


# --- atomic files -------------------------------------------------------------------------


def _atomic_torch_save(obj: Any, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())


def _safe_load(path: Path, device: str | torch.device = "cpu") -> Any:
    """``torch.load`` with ``weights_only=True``: tensors and plain containers, never code (see :func:`commae.schemas.load_torch_file`)."""
    try:
        return schemas.load_torch_file(path, device)
    except SchemaError as exc:
        raise RunError(str(exc)) from None


# --- the directory ------------------------------------------------------------------------


def prepare_run_dir(out: str | os.PathLike, *, force: bool = False, resume: bool = False) -> Path:
    """Check that ``out`` can take a run: refuse a non-empty one unless ``force`` or ``resume``; ``resume`` needs a ``checkpoint.pt``.

    On rank 0 it holds the directory's lock (:mod:`commae.lock`) while it
    looks: a directory another process writes is refused with that process's
    pid. Under the lock it first tidies what a killed run left: the temp files
    of half-written run files, and a previous run that an interrupted
    ``--force`` had moved aside before its first checkpoint, which is put back.
    It creates ``out`` when it does not exist. It changes no run file:
    :func:`train_run` moves the old run aside itself.
    """
    run = _RunDirectory(out, force=force, resume=resume)
    with run:
        return run.open(move_aside=False)


class _RunDirectory:
    """One run's hold on its directory, from the checks to the end of :func:`train_run`.

    ``open`` takes the lock (rank 0), tidies, checks, and for a new run moves
    the files of the previous one (if any) into ``.previous-PID`` inside the
    directory. ``saved`` records each complete checkpoint; the first one
    makes the new run the directory's run and removes the previous one. Leaving
    the ``with`` block before that (an exception, divergence, Ctrl-C) removes
    the new run's files and puts the previous ones back; a killed process
    leaves ``.previous-PID`` for the next ``open`` to put back.
    """

    def __init__(self, out: str | os.PathLike, *, force: bool = False, resume: bool = False, log: Callable[[str], None] | None = None) -> None:
        self.out, self.force, self.resume, self.log = Path(out), force, resume, log
        self.aside: Path | None = None  # the previous run's files until the new run's first checkpoint
        self.epoch: int | None = None  # the epoch of the last complete checkpoint
        self.restored = False
        self._created = False
        self._lock = contextlib.ExitStack()

    def open(self, move_aside: bool = True) -> Path:
        out = self.out
        if out.exists() and not out.is_dir():
            raise RunError(f"--out {out} is a file, not a directory")
        locked = _dist.rank() == 0
        if not locked:  # another rank of a torchrun job: rank 0 holds the lock and writes
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
        """A complete checkpoint of ``epoch`` is on disk: from now on the directory holds the new run."""
        self.epoch = epoch
        if self.aside is not None:
            aside, self.aside = self.aside, None
            shutil.rmtree(aside, ignore_errors=True)

    def kept(self) -> str:
        """What the directory holds after a failure, as the end of a sentence ('' when nothing is to be said)."""
        if self.restored:
            return f"{self.out} is left as it was"
        if self.epoch is not None:
            return f"the checkpoint of epoch {self.epoch} is kept in {self.out / CHECKPOINT}; continue with --resume"
        return ""

    def __enter__(self) -> _RunDirectory:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if self.aside is not None:
                if kind is None:  # finished without a checkpoint (cannot happen with epochs >= 1): the new run stands
                    self.saved(self.epoch or 0)
                else:
                    with deferred_sigint():
                        _put_back(self.out, self.aside)
                        self.aside, self.restored = None, True
                        if self._created:
                            with contextlib.suppress(OSError):
                                self._lock.close()
                                self.out.rmdir()  # only if empty
        finally:
            self._lock.close()


_PREVIOUS = ".previous-"


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


def _save_config(run_dir: Path, system: SystemConfig, train: TrainConfig, world: int = 1) -> None:
    config = {
        "version": __version__, "seed": train.seed, "system": dataclasses.asdict(system), "train": dataclasses.asdict(train),
        "world_size": world,
        "effective_batch_size": world * train.accumulate * train.batch_size,
        "lr_scaling": "none: an optimiser step averages the gradient over world_size x accumulate x batch_size messages and lr applies to that mean",
    }  # fmt: skip
    atomic_write(run_dir / CONFIG, (json.dumps(config, indent=2) + "\n").encode())


def load_config(run_dir: str | os.PathLike) -> tuple[SystemConfig, TrainConfig]:
    """The system and training configs stored in ``run_dir/config.json``."""
    run_dir = Path(run_dir)
    path = run_dir / CONFIG
    if not run_dir.is_dir():
        raise RunError(f"{run_dir} is not a commae run directory: {'it does not exist' if not run_dir.exists() else 'it is a file'}")
    if not path.is_file():
        raise RunError(f"{run_dir} is not a commae run directory: {CONFIG} is missing")
    try:
        return schemas.read_config(path)
    except SchemaError as exc:
        raise RunError(str(exc)) from None


def _write_history(run_dir: Path, history: History) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history.rows:
        writer.writerow({name: _format(row.get(name, "")) for name in HISTORY_COLUMNS})
    atomic_write(run_dir / HISTORY, text.getvalue().encode())


def _format(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def load_history(run_dir: str | os.PathLike) -> list[dict[str, float]]:
    """``history.csv`` of a run as a list of rows (numbers as floats, epoch as int)."""
    path = Path(run_dir) / HISTORY
    if not path.is_file():
        raise RunError(f"{run_dir} has no {HISTORY}")
    try:
        return schemas.read_history(path)
    except SchemaError as exc:
        raise RunError(str(exc)) from None


def load_model(run_dir: str | os.PathLike, device: str | torch.device = "cpu") -> Autoencoder:
    """Rebuild a run's autoencoder from its config and ``model.pt`` (weights only), in eval mode."""
    run_dir = Path(run_dir)
    system, _ = load_config(run_dir)
    model = system.build()
    try:
        state = schemas.read_model_state(run_dir / MODEL, model, device)
    except SchemaError as exc:
        raise RunError(str(exc)) from None
    model.load_state_dict(state)
    return model.to(device).eval()


# --- training into a directory -----------------------------------------------------------


def _rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def _gather_rng_states(device: torch.device) -> list[dict[str, torch.Tensor]]:
    """Every rank's global RNG states (CPU, and its GPU's), in rank order."""
    cpu = _dist.all_gather_tensor(torch.get_rng_state())
    cuda = _dist.all_gather_tensor(torch.cuda.get_rng_state(device)) if device.type == "cuda" else None
    return [{"torch": c, **({"cuda": cuda[r].cpu()} if cuda is not None else {})} for r, c in enumerate(cpu)]


def _agree(fn: Callable[[], Any]) -> Any:
    """``fn()`` on every rank; a failure on any rank is a RunError on all of them (one process: ``fn()``)."""
    try:
        return _dist.agree(fn)
    except _dist.RankFailed as exc:
        raise RunError(str(exc)) from None


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
    caller read with :func:`load_config` (``train.epochs`` may grow).
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
    run = _RunDirectory(out, force=force, resume=resume, log=log if _dist.rank() == 0 else None)
    try:
        with run:
            return _train_run(system, train, out, force=force, resume=resume, dry_run=dry_run, progress=progress, log=log, stop_after=stop_after, callbacks=callbacks, tensorboard=tensorboard, run=run)
    except KeyboardInterrupt:
        raise RunInterrupted(Path(out), run.epoch, train.epochs, run.restored, dry_run) from None
    except WriteError as exc:
        kept = run.kept()
        raise RunError(f"{exc}; {kept}" if kept else str(exc)) from None


def _train_run(
    system: SystemConfig,
    train: TrainConfig,
    out: str | os.PathLike,
    *,
    force: bool,
    resume: bool,
    dry_run: bool,
    progress: bool,
    log: Callable[[str], None] | None,
    stop_after: int | None,
    callbacks: Sequence[Callable[[int, History], None]],
    tensorboard: str | os.PathLike | None,
    run: _RunDirectory,
) -> RunResult:
    """:func:`train_run`'s work inside its locked ``run`` directory (the defaults are train_run's alone)."""
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
    rank, world = _dist.rank(), _dist.world_size()
    main = rank == 0
    if not main:
        progress, log = False, None

    if world > 1 and device.type == "cuda":  # torchrun: this rank's own GPU (distributed.setup chose it)
        device = torch.device("cuda", torch.cuda.current_device())

    def prepare() -> Path:  # rank 0 writes the directory; every rank of a resumed run reads its checkpoint
        if dry_run or not (main or resume):
            return Path(out)
        return run.open()

    run_dir = _agree(prepare)

    torch.manual_seed(train.seed)
    model = system.build().to(device)
    loss_fn = make_loss(train.loss, system.k)
    train_batches = MessageBatches(system.k, system.n, train.batch_size, train.batches_per_epoch * train.accumulate, train.ebno_db, derive_seed(train.seed, "train", rank), device)
    val_batches = _validation_set(system, train, device)
    optimizer = make_optimizer(train.optimizer, model.parameters(), train.lr, train.momentum, train.nesterov, train.weight_decay)
    scheduler = make_scheduler(train.schedule, optimizer, train.epochs)
    scaler = torch.amp.GradScaler("cuda") if train.amp and device.type == "cuda" else None
    early = EarlyStopping(train.patience) if train.patience else None
    history, start_epoch = History(), 0

    if resume:

        def restore() -> tuple[History, int, EarlyStopping | None]:
            state = _safe_load(run_dir / CHECKPOINT, device)
            try:
                schemas.check_checkpoint(state, run_dir / CHECKPOINT, model, system, train)
            except SchemaError as exc:
                raise RunError(str(exc)) from None
            saved_world = int(state.get("world_size", 1)) if isinstance(state, dict) else 1
            if saved_world != world:
                raise RunError(f"{run_dir} was trained by {saved_world} process(es); resume it with the same number (torchrun --nproc-per-node {saved_world}), not {world}")
            try:
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                if scheduler is not None and state.get("scheduler") is not None:
                    scheduler.load_state_dict(state["scheduler"])
                if scaler is not None and state.get("scaler") is not None:
                    scaler.load_state_dict(state["scaler"])
                generators, rngs = state.get("train_generators"), state.get("rngs")
                train_batches.generator.set_state((generators[rank] if generators is not None else state["train_generator"]).cpu())
                _set_rng_state(rngs[rank] if rngs is not None else state["rng"], device)
                early_state = state.get("early_stopping")
                return History([dict(row) for row in state["history"]]), int(state["epoch"]), EarlyStopping(**early_state) if early is not None and early_state else early
            except (KeyError, IndexError, RuntimeError, ValueError, TypeError) as exc:
                raise RunError(f"{run_dir / CHECKPOINT} does not match {CONFIG} ({str(exc).splitlines()[0][:120]})") from None

        history, start_epoch, early = _agree(restore)
        run.epoch = start_epoch
        if log is not None:
            log(f"resuming {run_dir} after epoch {start_epoch} of {train.epochs}")
        if main:
            _save_config(run_dir, system, train, world)  # --epochs may have grown
            _write_history(run_dir, history)  # a process killed between a checkpoint and its history left the history an epoch short
    elif not dry_run and main:
        _save_config(run_dir, system, train, world)

    def on_epoch_end(epoch: int, hist: History) -> None:
        if dry_run:
            return
        # every rank's data stream and RNG, so that a resumed distributed run continues each of them
        generators = _dist.all_gather_tensor(train_batches.generator.get_state())
        rngs = _gather_rng_states(device) if world > 1 else None
        if main:
            checkpoint = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict() if scaler is not None else None,
                "train_generator": generators[0],
                "rng": _rng_state(device),
                **({"world_size": world, "train_generators": generators, "rngs": rngs} if world > 1 else {}),
                "epoch": epoch,
                "history": hist.rows,
                "early_stopping": dataclasses.asdict(early) if early is not None else None,
                "config": {"system": dataclasses.asdict(system), "train": dataclasses.asdict(train)},
            }
            with deferred_sigint():  # a checkpoint, its history and the end of the previous run go together
                _atomic_torch_save(checkpoint, run_dir / CHECKPOINT)
                _write_history(run_dir, hist)
                run.saved(epoch)
        if stop_after is not None and epoch >= stop_after:
            raise _Interrupted

    callbacks = list(callbacks)
    if tensorboard is not None and not dry_run:
        from .callbacks import TensorBoardLogger

        callbacks.append(TensorBoardLogger(tensorboard, model=model))
    try:
        fit(
            model,
            loss_fn,
            train_batches,
            val_batches,
            optimizer,
            train.epochs,
            scheduler=scheduler,
            accumulate=train.accumulate,
            clip=train.clip,
            amp=train.amp,
            early_stopping=early,
            metrics=message_metrics(model, system.k),
            start_epoch=start_epoch,
            history=history,
            scaler=scaler,
            on_epoch_end=on_epoch_end,
            progress=progress,
            log=log,
            callbacks=callbacks,
            step=step,
        )
    except TrainingDiverged as exc:
        if run.epoch is not None:
            kept = f"the last good checkpoint (epoch {run.epoch}) is in {run_dir / CHECKPOINT}"
        else:
            kept = f"no checkpoint was written and {run_dir} is left as it was" if run.aside is not None else "no checkpoint was written"
        raise RunError(f"training diverged: the loss became {exc.loss} in epoch {exc.epoch}; {kept}. Retry with --force and a lower --lr (e.g. a tenth) or --clip 1.0") from None
    except _Interrupted:
        pass
    finally:
        for callback in callbacks:
            if hasattr(callback, "close"):
                callback.close()

    model.eval()
    val_messages = val_batches.batch_size * val_batches.num_batches
    failed = _failed_training(history, system, run_dir, dry_run)
    if not main:  # rank 0 reports and writes
        if failed:
            raise RunError(failed)
        return RunResult(run_dir, model, history, None, None, [], val_messages)
    baselines = matching_baselines(system.k, system.n, system.make_channel())
    baseline = baselines[0] if baselines else None
    baseline_metrics = evaluate_system(baseline.to(device), val_batches) if baseline is not None else None
    other_baselines = {}
    for other in baselines[1:]:  # same messages; a system with another n gets its own noise at the same Eb/N0
        batches = val_batches if other.n == system.n else _validation_set(dataclasses.replace(system, n=other.n), train, device)
        other_baselines[other.name] = evaluate_system(other.to(device), batches)
    collapsed = model.transmitter.collapsed_messages()
    files: list[Path] = []
    if not dry_run:
        _atomic_torch_save(model.state_dict(), run_dir / MODEL)
        files = [run_dir / name for name in (CONFIG, MODEL, CHECKPOINT, HISTORY)]
        files += _plot_run_constellation(model, run_dir)
    if failed:  # after the files are written, so that the run can be inspected
        raise RunError(failed)
    return RunResult(run_dir, model, history, getattr(baseline, "name", None), baseline_metrics, files, val_messages, other_baselines, collapsed)


# A validation MI (BMI) bound below this ends a run as failed. An untrained receiver lies within
# 0.2 bit of 0 (k = 1..8, --hidden 8 and 128, four seeds each), so only a training that made the
# receiver clearly worse than guessing (val loss above log M nats) is caught, never a short run.
FAILED_MI_BITS = -0.5


def _failed_training(history: History, system: SystemConfig, run_dir: Path, dry_run: bool) -> str | None:
    """The one-line failure for a run that ended worse than guessing (see :data:`FAILED_MI_BITS`), else None."""
    last = history.rows[-1] if history.rows else {}
    mi = last.get("mi_bits")
    if mi is None or not mi < FAILED_MI_BITS:
        return None
    info = "BMI" if system.output == "bit" else "MI"
    kept = "nothing was written (dry run)" if dry_run else f"the files are kept in {run_dir} for inspection"
    return (
        f"training failed: the validation {info} bound ended at {mi:.4g} bit after epoch {last.get('epoch')}, worse than guessing "
        f"(a receiver that learnt nothing has 0); {kept}. Retry with{'' if dry_run else ' --force and'} a lower --lr (e.g. a tenth) or --clip 1.0"
    )


def _validation_set(system: SystemConfig, train: TrainConfig, device: torch.device) -> MessageBatches:
    """``train.val_size`` messages (rounded down to equal chunks of at most 2**15), fixed by the run's seed."""
    chunks = math.ceil(train.val_size / (1 << 15))
    return MessageBatches(system.k, system.n, train.val_size // chunks, chunks, train.ebno_db, derive_seed(train.seed, "val"), device, fixed=True)


class _Interrupted(Exception):
    """Raised by the ``stop_after`` hook to end a run like an interruption."""


def _plot_run_constellation(model: Autoencoder, run_dir: Path) -> list[Path]:
    """``constellation.{pdf,png}``: the learned points with their bits (n = 1), or one 2-D projection of the codebook."""
    import matplotlib.pyplot as plt

    from .plotting import plot_system_constellation, save_figure, style

    with style("ieee"):
        axes = plot_system_constellation(model, bits=model.k <= (6 if model.n == 1 else 4))  # labels that read at column width
        written = save_figure(axes[0].figure, run_dir / "constellation")
        plt.close(axes[0].figure)
    return written
