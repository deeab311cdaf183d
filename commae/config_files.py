"""``commae train --config FILE``: options from a TOML file, or from a run's own ``config.json``.

A TOML file holds ``commae train`` options by name, flat, with ``-`` or
``_`` (``batch-size = 2048`` or ``batch_size = 2048``)::

    snr = "5:10"        # Eb/N0 in dB, or a range, as on the command line
    k = 4
    optimizer = "adamw"
    lr = 1e-3
    epochs = 40

A run's ``config.json`` (``{"system": {...}, "train": {...}, ...}``) is
translated back to the options that made it, so
``commae train --config runs/x/config.json --out runs/x2`` trains the same
experiment again (same seed: the same history). The command line wins over
the file. The keys, their types and the renames (``constellation`` is
``--points``) come from the table in :mod:`commae.config`: keys that no
option has, command-only options and values of the wrong type are refused
here, naming the key; the command then checks each value as if typed.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "exp.toml"
>>> _ = path.write_text('snr = "5:10"\\nbatch-size = 2048\\nlr = 1e-3\\n')
>>> read_train_options(path, {"snr", "batch_size", "lr", "k"})
{'snr': '5:10', 'batch_size': 2048, 'lr': 0.001}
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from . import config

__all__ = ["read_train_options", "ConfigFileError"]


class ConfigFileError(ValueError):
    """A config file that cannot be read or has a key no option takes; the message names the file and the key."""


def read_train_options(path: str | os.PathLike, options: Collection[str] | None = None) -> dict[str, Any]:
    """The ``commae train`` options a TOML file or a run's ``config.json`` sets, keyed by parameter name.

    Parameters
    ----------
    path : str or path
        ``*.json``: a run's config.json; anything else: TOML.
    options : collection of str, optional
        The parameter names the command has (``batch_size``, ...)
        [default: train's options in :mod:`commae.config`].

    Raises
    ------
    ConfigFileError
        Unreadable file, bad syntax, a key that is not an option, a
        command-only option (config, resume, force, dry-run), or a value that
        is not of the option's type (an integer, true or false).
    """
    if options is None:
        options = {option.param for option in config.options("train")}
    not_from_files = {option.param for option in config.OPTIONS if option.flags and not option.from_files}
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigFileError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        except RecursionError:
            raise ConfigFileError(f"{path}: nests deeper than Python's JSON parser goes") from None
        flat = _from_run_config(raw, path)
    else:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigFileError(f"{path}: not valid TOML ({str(exc).splitlines()[0]})") from None
        except RecursionError:
            raise ConfigFileError(f"{path}: nests deeper than Python's TOML parser goes") from None
        flat = {}
        for key, value in raw.items():
            if isinstance(value, dict):
                raise ConfigFileError(f"{path}: key {key!r} is a table; give the options flat (e.g. lr = 1e-3)")
            flat[key.replace("-", "_")] = value
    chosen: dict[str, Any] = {}
    for name, value in flat.items():
        key = name.replace("_", "-")
        if name in not_from_files:
            raise ConfigFileError(f"{path}: key {key!r} is not taken from a config file; give --{key} on the command line")
        if name not in options:
            valid = ", ".join(sorted(o.replace("_", "-") for o in options if o not in not_from_files))
            raise ConfigFileError(f"{path}: unknown key {key!r}; the keys are the options of commae train: {valid}")
        if value is None:  # an option left at its default (clip, patience)
            continue
        if isinstance(value, list):
            raise ConfigFileError(f"{path}: key {key!r} has a list; give one value as on the command line")
        kind = getattr(config.by_param(name), "type", None)
        if kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
            raise ConfigFileError(f"{path}: key {key!r} must be an integer, got {value!r}")
        if kind is bool and not isinstance(value, bool):
            raise ConfigFileError(f"{path}: key {key!r} must be true or false, got {value!r}")
        chosen[name] = value
    return chosen


def _from_run_config(raw: Any, path: Path) -> dict[str, Any]:
    """The options behind a run's config.json, first checked by its schema (:func:`commae.schemas.check_config`)."""
    from .schemas import SchemaError, check_config

    try:
        check_config(raw, path)
    except SchemaError as exc:
        raise ConfigFileError(str(exc)) from None
    flat: dict[str, Any] = {}
    for table in ("system", "train"):
        for key, value in raw[table].items():
            option = config.option(key)  # a key of the table: check_config refused others
            name = "snr" if key in ("ebno_db", "esno_db") else option.param if option.flags else None
            if name is None:  # set by another option (the receiver's output by --loss)
                continue
            if name == "snr":
                if key == "esno_db" and value is None:  # the SNR was given as Eb/N0
                    continue
                if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
                    raise ConfigFileError(f"{path}: key 'train.{key}' must be [low, high] in dB, got {value!r}")
                if key == "ebno_db" and raw["train"].get("esno_db") is not None:
                    continue  # the run was set in Es/N0: --snr is that range, read with --esno
                value = f"{value[0]!r}:{value[1]!r}"
                if key == "esno_db":
                    flat["esno"] = True
            flat[name] = value
    return flat
