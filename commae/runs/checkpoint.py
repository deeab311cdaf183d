"""``checkpoint.pt``: everything a run needs to continue exactly where it stopped.

:class:`Checkpoint` is the file. Its fields are the file's keys, in the
order they are stored, and nowhere else are they spelled: the schema that
checks a file read from disk (:func:`check_checkpoint`) is built from the
fields and their metadata, and other code reads a key as the field's name,
``KEY.epoch``. A checkpoint is a plain dict of tensors and containers, saved
with ``torch.save`` and read with ``weights_only=True``.

A process of a torchrun job of ``world_size`` > 1 ranks stores every rank's
data stream and RNG states (``train_generators``, ``rngs``), so that each
rank continues its own; a single process stores only its own
(``train_generator``, ``rng``) and leaves the three distributed keys out.

Examples
--------
>>> KEY.epoch
'epoch'
>>> [name for name in KEY.__dict__][:3]
['model', 'optimizer', 'scheduler']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from .. import distributed as _dist
from ..schemas import HISTORY_COLUMNS, SchemaError, check_history_value, check_model_state, tensor_problem
from ..training import EarlyStopping, History
from .failures import RunError
from .files import load_torch, save_torch
from .layout import CONFIG

__all__ = ["Checkpoint", "KEY", "check_checkpoint", "rng_state", "gather_rng_states"]


def _key(kind: type | tuple[type, ...], accepts: str, *, required: bool = False, distributed: bool = False, minimum: int | None = None) -> Any:
    """A field of :class:`Checkpoint`: the types its value may have, what it must be (for messages), and whether the file must have it.

    ``distributed``: stored only by a torchrun job of more than one process
    (left out of the file when None). ``minimum``: the least value of an int.
    """
    metadata = {"kind": kind, "accepts": accepts, "distributed": distributed, "minimum": minimum}
    return dataclasses.field(metadata=metadata) if required else dataclasses.field(default=None, metadata=metadata)


@dataclasses.dataclass(kw_only=True)
class Checkpoint:
    """The contents of ``checkpoint.pt``; its fields are the file's keys, in the file's order.

    Files of older versions lack some optional keys; they read as None.
    """

    model: dict[str, torch.Tensor] = _key(Mapping, "a state dict", required=True)
    optimizer: dict[str, Any] = _key(Mapping, "an optimizer state dict", required=True)
    scheduler: dict[str, Any] | None = _key((Mapping, type(None)), "a scheduler state dict or None")
    scaler: dict[str, Any] | None = _key((Mapping, type(None)), "a grad-scaler state dict or None")
    train_generator: torch.Tensor | None = _key(object, "a generator state")  # uint8, this process's training data stream
    rng: dict[str, torch.Tensor] | None = _key(Mapping, "a dict of RNG states")  # {"torch": CPU state, "cuda": its GPU's}
    world_size: int | None = _key(int, "an integer >= 1", distributed=True, minimum=1)
    train_generators: list[torch.Tensor] | None = _key(list, "a list of generator states", distributed=True)  # one per rank
    rngs: list[dict[str, torch.Tensor]] | None = _key(list, "a list of RNG states", distributed=True)  # one per rank
    epoch: int = _key(int, "an integer", required=True)  # the epochs trained; the run continues with epoch + 1
    history: list[dict[str, float]] = _key(list, "a list of history rows", required=True)  # one per epoch, as history.csv
    early_stopping: dict[str, Any] | None = _key((Mapping, type(None)), "an early-stopping state or None")
    config: dict[str, Any] | None = _key(Mapping, "the run's system and train tables")  # as config.json's

    def to_dict(self) -> dict[str, Any]:
        """The dict ``checkpoint.pt`` holds: every field in order, the distributed ones only when set."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not (f.metadata["distributed"] and getattr(self, f.name) is None)}

    def save(self, path: Path) -> None:
        """Write the checkpoint to ``path`` atomically."""
        save_torch(self.to_dict(), path)

    @classmethod
    def load(cls, path: Path, model: torch.nn.Module, system: Any, train: Any, device: str | torch.device = "cpu") -> Checkpoint:
        """Read ``path`` (weights only) and check it against the run of ``system``, ``train`` and its ``model``; a RunError otherwise."""
        state = load_torch(path, device)
        try:
            check_checkpoint(state, path, model, system, train)
        except SchemaError as exc:
            raise RunError(str(exc)) from None
        return cls(**state)

    def restore(
        self, path: Path, model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any, generator: torch.Generator, early: EarlyStopping | None, device: torch.device
    ) -> tuple[History, int, EarlyStopping | None]:
        """Put the saved states into the run's objects (this rank's stream and RNG); return the history, the epoch and the early stopping.

        A checkpoint of another number of processes than this job's, or one
        whose states do not fit the objects, is a RunError.
        """
        rank, world = _dist.rank(), _dist.world_size()
        saved_world = self.world_size if self.world_size is not None else 1
        if saved_world != world:
            raise RunError(f"{path.parent} was trained by {saved_world} process(es); resume it with the same number (torchrun --nproc-per-node {saved_world}), not {world}")
        try:
            model.load_state_dict(self.model)
            optimizer.load_state_dict(self.optimizer)
            if scheduler is not None and self.scheduler is not None:
                scheduler.load_state_dict(self.scheduler)
            if scaler is not None and self.scaler is not None:
                scaler.load_state_dict(self.scaler)
            generator.set_state((self.train_generators[rank] if self.train_generators is not None else self.train_generator).cpu())
            _set_rng_state(self.rngs[rank] if self.rngs is not None else self.rng, device)
            history = History([dict(row) for row in self.history])
            return history, int(self.epoch), EarlyStopping(**self.early_stopping) if early is not None and self.early_stopping else early
        except (KeyError, IndexError, RuntimeError, ValueError, TypeError, AttributeError) as exc:
            raise RunError(f"{path} does not match {CONFIG} ({str(exc).splitlines()[0][:120]})") from None


# The file's keys by their field names: KEY.epoch == "epoch"; a name that is no field is an AttributeError.
KEY = SimpleNamespace(**{f.name: f.name for f in dataclasses.fields(Checkpoint)})


# --- the RNG states a checkpoint holds ----------------------------------------------------


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """This process's global RNG states: CPU, and the GPU's when ``device`` is one."""
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


def gather_rng_states(device: torch.device) -> list[dict[str, torch.Tensor]]:
    """Every rank's global RNG states (CPU, and its GPU's), in rank order."""
    cpu = _dist.all_gather_tensor(torch.get_rng_state())
    cuda = _dist.all_gather_tensor(torch.cuda.get_rng_state(device)) if device.type == "cuda" else None
    return [{"torch": c, **({"cuda": cuda[r].cpu()} if cuda is not None else {})} for r, c in enumerate(cpu)]


# --- the schema of a checkpoint read from disk ------------------------------------------------


def check_checkpoint(state: Any, path: str | Path, model: Any, system: Any, train: Any) -> None:
    """A ``checkpoint.pt`` (loaded by :func:`~commae.schemas.load_torch_file`) that the run of ``system`` and ``train`` can resume.

    Each key as its :class:`Checkpoint` field says: present if required, of
    its types, no other keys; the generator and RNG states of one process or
    of every rank; the epoch an int in ``0..train.epochs``, equal to the
    number of history rows, whose epochs run 1..epoch with finite values; the
    model state as :func:`~commae.schemas.check_model_state`; every tensor
    finite; a stored ``config`` naming the same system as config.json. A
    refusal is a :class:`~commae.schemas.SchemaError`.
    """
    if not isinstance(state, Mapping):
        raise SchemaError(f"{path} is not a commae checkpoint: it holds a {type(state).__name__}, not a dict")
    fields = dataclasses.fields(Checkpoint)
    for f in fields:
        if f.name not in state:
            if f.default is dataclasses.MISSING:
                raise SchemaError(f"{path} is not a commae checkpoint: it lacks {f.name!r}")
            continue
        value, kind, minimum = state[f.name], f.metadata["kind"], f.metadata["minimum"]
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < (minimum if minimum is not None else -(2**63)))):
            shown = _short(value) if isinstance(value, (int, float, str, bool, type(None))) else f"a {type(value).__name__}"
            raise SchemaError(f"{path}: {f.name!r} is {shown}; it must be {f.metadata['accepts']}")
    unknown = [k for k in state if k not in KEY.__dict__]
    if unknown:
        raise SchemaError(f"{path}: unknown key {unknown[0]!r}; a commae checkpoint has {', '.join(KEY.__dict__)}")
    if not (KEY.train_generator in state or KEY.train_generators in state) or not (KEY.rng in state or KEY.rngs in state):
        raise SchemaError(f"{path} is not a commae checkpoint: it lacks the generator and RNG states")
    if KEY.train_generator in state and not (isinstance(state[KEY.train_generator], torch.Tensor) and state[KEY.train_generator].dtype == torch.uint8):
        raise SchemaError(f"{path}: {KEY.train_generator!r} must be a uint8 generator state")
    checkpoint = Checkpoint(**state)
    if not 0 <= checkpoint.epoch <= train.epochs:
        raise SchemaError(f"{path}: {KEY.epoch!r} is {checkpoint.epoch}; it must be from 0 to the run's {train.epochs} epochs (train.epochs in config.json)")
    if len(checkpoint.history) != checkpoint.epoch:
        raise SchemaError(f"{path}: {KEY.epoch!r} is {checkpoint.epoch} but {KEY.history!r} has {len(checkpoint.history)} rows; they must agree")
    for i, row in enumerate(checkpoint.history):
        where = f"{path}, {KEY.history!r} row {i + 1}"
        if not isinstance(row, Mapping) or "epoch" not in row:
            raise SchemaError(f"{where} is not a history row (a dict with 'epoch')")
        for key, value in row.items():
            check_history_value(key if key in HISTORY_COLUMNS else str(key), value, where)
        if row["epoch"] != i + 1:
            raise SchemaError(f"{where}: epoch {row['epoch']!r}; the epochs must run 1, 2, 3, ...")
    if checkpoint.config is not None:
        saved_system = checkpoint.config.get("system")
        now = dataclasses.asdict(system)
        if not isinstance(saved_system, Mapping):
            raise SchemaError(f"{path}: {KEY.config!r} lacks its 'system' table")
        differ = sorted(k for k in now if k in saved_system and saved_system[k] != now[k] and not (isinstance(now[k], tuple) and list(now[k]) == saved_system[k]))
        if differ:
            key = differ[0]
            raise SchemaError(f"{path} was written for another system than config.json: 'system.{key}' is {saved_system[key]!r} there and {now[key]!r} in config.json")
    check_model_state(checkpoint.model, model, path, what=f" ({KEY.model!r})")
    try:
        tensors = list(_walk_tensors({k: v for k, v in state.items() if k != KEY.model}, ""))
    except RecursionError:
        raise SchemaError(f"{path} is not a commae checkpoint: it nests deeper than commae writes") from None
    for where, tensor in tensors:
        problem = tensor_problem(tensor)
        if problem:
            raise SchemaError(f"{path} holds a non-finite tensor ({problem}) in {where}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _walk_tensors(obj: Any, where: str):
    """Every tensor inside nested dicts, lists and tuples, with a readable place."""
    if isinstance(obj, torch.Tensor):
        yield where, obj
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _walk_tensors(value, f"{where}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _walk_tensors(value, f"{where}[{i}]")
