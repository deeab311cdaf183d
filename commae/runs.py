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

import csv
import dataclasses
import io
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from . import __version__, schemas
from . import distributed as _dist
from ._files import atomic_write
from .baselines import matching_baselines
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
    """Make ``out`` ready for a run: refuse a non-empty one unless ``force`` or ``resume``.

    ``force`` removes the files a run writes (and nothing else of the
    user's); ``resume`` needs a ``checkpoint.pt``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out} is a file, not a directory")
    if resume:
        if not (out / CHECKPOINT).is_file():
            raise RunError(f"cannot resume: {out / CHECKPOINT} does not exist")
        return out
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise RunError(f"--out {out} exists and is not empty; pass --force to overwrite its run files or --resume to continue it")
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        for events in (out / "tensorboard").glob("events.out.tfevents.*"):  # --tensorboard's default place
            events.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"--out {out} cannot be created ({exc.strerror})") from None
    return out


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
    """
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
        return prepare_run_dir(out, force=force, resume=resume)

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
        if log is not None:
            log(f"resuming {run_dir} after epoch {start_epoch} of {train.epochs}")
        if main:
            _save_config(run_dir, system, train, world)  # --epochs may have grown
    elif not dry_run and main:
        _save_config(run_dir, system, train, world)

    def on_epoch_end(epoch: int, hist: History) -> None:
        if dry_run:
            return
        # every rank's data stream and RNG, so that a resumed distributed run continues each of them
        generators = _dist.all_gather_tensor(train_batches.generator.get_state())
        rngs = _gather_rng_states(device) if world > 1 else None
        if main:
            _atomic_torch_save(
                {
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
                },
                run_dir / CHECKPOINT,
            )
            _write_history(run_dir, hist)
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
        kept = f"the last good checkpoint (epoch {exc.epoch - 1}) is in {run_dir / CHECKPOINT}" if exc.epoch > 1 else "no checkpoint was written"
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
