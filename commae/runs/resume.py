"""What ``--resume`` may change, and when a new run would only repeat an old one: the policy, in one place.

A resumed run takes its settings from its ``config.json``. An option given
again (on the command line or in a ``--config`` file) with its stored value
is fine; a run found in the default directory of the command's options must
have all of the command's settings (its options, its file and the
defaults), since they named the directory. Every setting that differs is
refused at once, each named with both values (:class:`ResumeRefused`),
except for the options :mod:`commae.config` marks
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

__all__ = ["ResumeRefused", "RunExists", "RESUMABLE", "training_ebno_db", "resumed_settings", "effective_settings", "setting_differences", "refuse_rerun"]

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


def resumed_settings(
    run_dir: str | os.PathLike,
    options: Mapping[str, Any],
    given: Collection[str],
    system: SystemConfig,
    train: TrainConfig,
    effective: tuple[SystemConfig, TrainConfig] | None = None,
) -> TrainConfig:
    """The training settings a ``--resume`` of ``run_dir`` continues with: the stored ones, with ``--epochs`` and ``--device`` where given.

    Parameters
    ----------
    run_dir : path
        The run, whose ``history.csv`` says how many epochs it has done.
    options : mapping
        ``commae train``'s options by parameter name, as parsed.
    given : collection of str
        The parameter names the user gave: on the command line or in a ``--config`` file.
    system, train : SystemConfig, TrainConfig
        The run's stored settings (its ``config.json``).
    effective : (SystemConfig, TrainConfig), optional
        The settings this command stands for, where they are all decided by
        it (a run found in the default directory of its options); default:
        the stored ones with the ``given`` options as given
        (:func:`effective_settings`).

    Raises
    ------
    ResumeRefused
        Settings that differ between the run and this command (other than
        :data:`RESUMABLE`), each named with both values; ``--epochs`` changed
        under a cosine or step schedule, or fewer than the epochs done.
    RunError
        ``history.csv`` cannot be read.
    """
    if effective is None:
        effective = effective_settings(options, given, system, train)
    differences = setting_differences((system, train), effective)
    if differences:
        flags = [flag for flag, _, _ in differences]
        names = flags[0] if len(flags) == 1 else f"{', '.join(flags[:-1])} and {flags[-1]}"
        stored = ", ".join(text for _, text, _ in differences)
        here = ", ".join(text for _, _, text in differences)
        raise ResumeRefused(
            f"{names} cannot change when resuming: the run in {run_dir} has {stored}; this command {here} "
            f"(commae train --out {run_dir} --resume alone continues it with its own settings; or train these into a new --out)"
        )
    epochs = options["epochs"] if "epochs" in given else train.epochs
    if epochs != train.epochs:
        if train.schedule in ("cosine", "step"):
            raise ResumeRefused(f"--epochs cannot change when resuming a run with --schedule {train.schedule}: the schedule is laid out over its {train.epochs} epochs")
        done = len(load_history(run_dir))
        if epochs < done:
            raise ResumeRefused(f"--epochs {epochs} is fewer than the {done} epochs this run has done")
    return dataclasses.replace(train, epochs=epochs, device=options["device"] if "device" in given else train.device)


def effective_settings(options: Mapping[str, Any], given: Collection[str], system: SystemConfig, train: TrainConfig) -> tuple[SystemConfig, TrainConfig]:
    """The stored settings ``(system, train)`` with the options in ``given`` (parameter names) as ``options`` has them.

    ``--loss`` sets the receiver's output with it; ``--snr`` or ``--esno``
    set the training range from both (``--snr 10`` alone is Eb/N0, as on a
    fresh run), with the effective k and n.
    """
    values = {opt.name: getattr(system if opt.section == "system" else train, opt.name) for opt in config.OPTIONS if opt.section != "run"}
    for name in given:
        option = config.by_param(name)
        if option is not None and option.section != "run" and not option.resumable and options[name] is not None:
            values[option.name] = options[name]
    if "loss" in given:
        values["output"] = config.OUTPUT_OF_LOSS[values["loss"]]
    if given and {"snr", "esno"} & set(given):
        values["ebno_db"] = training_ebno_db(options["snr"], options["esno"], values["k"], values["n"])
        values["esno_db"] = tuple(options["snr"]) if options["esno"] else None
    fields = {section: {o.name for o in config.fields(section)} for section in ("system", "train")}
    return (
        dataclasses.replace(system, **{k: v for k, v in values.items() if k in fields["system"]}),
        dataclasses.replace(train, **{k: v for k, v in values.items() if k in fields["train"]}),
    )


def setting_differences(stored: tuple[SystemConfig, TrainConfig], effective: tuple[SystemConfig, TrainConfig]) -> list[tuple[str, str, str]]:
    """``(option, the run's value, this command's value)`` for each setting that differs, other than :data:`RESUMABLE` ones; in the table's order.

    Values are spelt as on the command line (``--loss bce``, ``--no-csi``,
    ``--snr 5:10``, ``no --real``); the receiver's output is named through
    ``--loss``, the SNR range through ``--snr`` (with ``--esno``).
    """

    def value(configs: tuple[SystemConfig, TrainConfig], opt: config.Option) -> Any:
        return getattr(configs[0] if opt.section == "system" else configs[1], opt.name)

    out: list[tuple[str, str, str]] = []
    for opt in config.OPTIONS:
        if opt.section == "run" or opt.resumable or opt.name in ("output", "esno_db"):
            continue  # the output follows --loss; esno_db is compared with ebno_db, as --snr
        if opt.name == "ebno_db":
            a, b = stored[1], effective[1]
            same = all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(a.ebno_db, b.ebno_db)) and (getattr(a, "esno_db", None) is None) == (getattr(b, "esno_db", None) is None)
            if not same:
                out.append(("--snr", _snr_text(a), _snr_text(b)))
            continue
        a, b = value(stored, opt), value(effective, opt)
        if not _same(b, a):
            out.append((opt.flag or opt.hint, _option_text(opt, a), _option_text(opt, b)))
    return out


def _snr_text(train: TrainConfig) -> str:
    esno_db = getattr(train, "esno_db", None)
    low, high = esno_db if esno_db is not None else train.ebno_db
    text = f"--snr {low:g}" if low == high else f"--snr {low:g}:{high:g}"
    return text + " --esno" if esno_db is not None else text


def _option_text(opt: config.Option, value: Any) -> str:
    """``value`` of ``opt`` as the command line gives it: ``--lr 0.001``, ``--no-csi``, ``--real``, ``no --real``, ``no --clip``."""
    if isinstance(opt.check, config.Flag):
        if "/" in (opt.flags[0] if opt.flags else ""):
            return opt.flag_for(value)
        return opt.flag if value else f"no {opt.flag}"
    if value is None:
        return f"no {opt.flag}"
    return f"{opt.flag} {value:g}" if isinstance(value, float) else f"{opt.flag} {value}"


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


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b
