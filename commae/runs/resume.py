"""What ``--resume`` may change, and when a new run would only repeat an old one: the policy, in one place.

A resumed run takes its settings from its ``config.json``. An option given
again with its stored value is fine; a change is refused
(:class:`ResumeRefused`), except for the options :mod:`commae.config` marks
``resumable`` (how a run is carried out, and ``--epochs``, which may grow
where the learning-rate schedule is not laid out over the epochs). Training
again, without ``--resume`` or ``--force``, into a directory that holds a run
of exactly these settings is refused too (:class:`RunExists`): it would only
repeat it. Both are ``ValueError`` subclasses whose message is one line for
the user; the command line shows the first as a usage error, the second as a
failure.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from ..snr import esno_db_to_ebno_db
from .failures import RunError
from .files import load_config, load_history
from .layout import CHECKPOINT

if TYPE_CHECKING:
    from ..models import SystemConfig
    from ..training import TrainConfig

__all__ = ["ResumeRefused", "RunExists", "RESUMABLE", "training_ebno_db", "resumed_settings", "refuse_rerun"]

# Options of `train` that a resumed run takes from its config.json (others may be given freely).
RESUMABLE = frozenset(option.param for option in config.OPTIONS if option.resumable)


class ResumeRefused(ValueError):
    """An option that cannot change when resuming, or an ``--epochs`` the run cannot take; the message names it (a usage error)."""


class RunExists(ValueError):
    """The directory already holds a run with exactly these settings; the message says what to do instead."""


def training_ebno_db(snr_db: tuple[float, float], esno: bool, k: int, n: int) -> tuple[float, float]:
    """The training Eb/N0 range in dB of ``--snr`` (read as Es/N0 with ``--esno``), for k bits in n channel uses.

    >>> training_ebno_db((10.0, 10.0), True, 2, 1)
    (6.9897000434, 6.9897000434)
    """
    low, high = snr_db
    if not esno:
        return low, high
    return round(esno_db_to_ebno_db(low, k, n), 10), round(esno_db_to_ebno_db(high, k, n), 10)


def resumed_settings(run_dir: str | os.PathLike, options: Mapping[str, Any], given: Collection[str], system: SystemConfig, train: TrainConfig) -> TrainConfig:
    """The training settings a ``--resume`` of ``run_dir`` continues with: the stored ones, with ``--epochs`` and ``--device`` where given.

    Parameters
    ----------
    run_dir : path
        The run, whose ``history.csv`` says how many epochs it has done.
    options : mapping
        ``commae train``'s options by parameter name, as parsed.
    given : collection of str
        The parameter names given on the command line.
    system, train : SystemConfig, TrainConfig
        The run's stored settings (its ``config.json``).

    Raises
    ------
    ResumeRefused
        An option given with another value than the stored one (other than
        :data:`RESUMABLE`); ``--epochs`` changed under a cosine or step
        schedule, or fewer than the epochs done.
    RunError
        ``history.csv`` cannot be read.
    """
    _refuse_changes(options, set(given) - RESUMABLE, system, train)
    epochs = options["epochs"] if "epochs" in given else train.epochs
    if epochs != train.epochs:
        if train.schedule in ("cosine", "step"):
            raise ResumeRefused(f"--epochs cannot change when resuming a run with --schedule {train.schedule}: the schedule is laid out over its {train.epochs} epochs")
        done = len(load_history(run_dir))
        if epochs < done:
            raise ResumeRefused(f"--epochs {epochs} is fewer than the {done} epochs this run has done")
    return dataclasses.replace(train, epochs=epochs, device=options["device"] if "device" in given else train.device)


def refuse_rerun(run_dir: str | os.PathLike, system: SystemConfig, train: TrainConfig) -> None:
    """Raise :class:`RunExists` when ``run_dir`` already holds a run of exactly these settings (the device aside)."""
    if not (Path(run_dir) / CHECKPOINT).is_file():
        return
    try:
        stored = load_config(run_dir)
    except RunError:
        return
    if stored[0] == system and dataclasses.replace(stored[1], device=train.device) == train:
        raise RunExists(f"{run_dir} already holds a run with exactly these settings; pass --resume to continue it, or --force to train it again from scratch")


def _refuse_changes(options: Mapping[str, Any], given: Collection[str], system: SystemConfig, train: TrainConfig) -> None:
    """--resume takes its settings from config.json: an option repeated with its stored value is fine, a change is refused."""
    stored_esno = getattr(train, "esno_db", None)
    for name in sorted(given):
        if name == "esno":
            same = options["esno"] == (stored_esno is not None)
        elif name == "snr":
            low, high = training_ebno_db(options["snr"], options["esno"], system.k, system.n)
            same = all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip((low, high), train.ebno_db))
        else:
            stored = _stored_value(name, system, train)
            same = stored is not _UNKNOWN and _same(options[name], stored)
        if not same:
            raise ResumeRefused(f"--{name.replace('_', '-')} cannot change when resuming; the run's config.json is used (drop the option, or start a new --out)")


_UNKNOWN = object()


def _stored_value(name: str, system: SystemConfig, train: TrainConfig) -> Any:
    """The value the option ``--name`` (a parameter name) had when the run was made, or a sentinel where the config does not say."""
    option = config.by_param(name)
    if option is None or option.section == "run":
        return _UNKNOWN
    return getattr(system if option.section == "system" else train, option.name)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b
