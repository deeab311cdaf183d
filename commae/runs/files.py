"""Reading and writing the files of a run directory: config.json, history.csv, model.pt and the constellation figure.

Every write is atomic (:mod:`commae._files`: a temp file, then a rename), so an
interrupted run never leaves half a file. Every read is checked by the file's
schema (:mod:`commae.schemas`) and refused in one line (:class:`RunError`);
torch files are read with ``weights_only=True``, so a model file cannot run
code. The checkpoint has its own module, :mod:`commae.runs.checkpoint`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Any

import torch

from .. import __version__, schemas
from .._files import atomic_write, csv_text
from ..losses import make_loss
from ..models import Autoencoder, SystemConfig
from ..schemas import HISTORY_COLUMNS, SchemaError
from ..training import History, TrainConfig, make_step
from .failures import RunError
from .layout import CONFIG, CONSTELLATION, HISTORY, MODEL

__all__ = [
    "save_torch",
    "load_torch",
    "save_config",
    "load_config",
    "write_history",
    "load_history",
    "save_model",
    "load_model",
    "save_constellation",
]


def save_torch(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` into ``path``, atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())


def load_torch(path: Path, device: str | torch.device = "cpu") -> Any:
    """``torch.load`` with ``weights_only=True``: tensors and plain containers, never code (see :func:`commae.schemas.load_torch_file`)."""
    try:
        return schemas.load_torch_file(path, device)
    except SchemaError as exc:
        raise RunError(str(exc)) from None


def save_config(run_dir: Path, system: SystemConfig, train: TrainConfig, world: int = 1) -> None:
    """``config.json``: every option, the version, the seed, and how the batch was split over ``world`` processes."""
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
        system, train = schemas.read_config(path)
        system_cfg, train_cfg = SystemConfig(**system), TrainConfig(**train)
        try:  # what only the built objects know
            model = system_cfg.build()
            make_loss(train_cfg.loss, system_cfg.k)
            make_step(train_cfg.training, train_cfg.exploration).check(model)
        except ValueError as exc:
            raise SchemaError(f"{path}: {str(exc).splitlines()[0]}") from None
    except SchemaError as exc:
        raise RunError(str(exc)) from None
    return system_cfg, train_cfg


def write_history(run_dir: Path, history: History) -> None:
    """``history.csv``: one row per epoch, the columns :data:`~commae.schemas.HISTORY_COLUMNS`, floats as ``repr``."""
    atomic_write(run_dir / HISTORY, csv_text(HISTORY_COLUMNS, history.rows).encode())


def load_history(run_dir: str | os.PathLike) -> list[dict[str, float]]:
    """``history.csv`` of a run as a list of rows (numbers as floats, epoch as int)."""
    path = Path(run_dir) / HISTORY
    if not path.is_file():
        raise RunError(f"{run_dir} has no {HISTORY}")
    try:
        return schemas.read_history(path)
    except SchemaError as exc:
        raise RunError(str(exc)) from None


def save_model(run_dir: Path, model: Autoencoder) -> None:
    """``model.pt``: the weights only."""
    save_torch(model.state_dict(), run_dir / MODEL)


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


def save_constellation(run_dir: Path, model: Autoencoder) -> list[Path]:
    """``constellation.{pdf,png}``: the learned points with their bits (n = 1), or one 2-D projection of the codebook, titled with the SNR the run was trained at."""
    import matplotlib.pyplot as plt

    from ..plotting import plot_system_constellation, save_figure, style, trained_at

    _, train = schemas.read_config(run_dir / CONFIG)  # written when the run started
    with style("ieee"):
        axes = plot_system_constellation(model, bits=model.k <= (6 if model.n == 1 else 4), title=trained_at(train))  # labels that read at column width
        written = save_figure(axes[0].figure, run_dir / CONSTELLATION)
        plt.close(axes[0].figure)
    return written
