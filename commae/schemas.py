"""One schema per file commae reads from disk, checked as strictly as the command line.

=================== =================================== =========================================================
file                reader                              what is refused
=================== =================================== =========================================================
``config.json``     :func:`read_config`                 unknown keys; any value its ``commae train`` option would
                                                        refuse (type, range, finiteness, choice), and combinations
                                                        the command refuses (``--momentum`` without sgd, ...)
``model.pt``        :func:`read_model_state`            not a weights-only torch file; keys, shapes or dtypes
                                                        other than the config's architecture; NaN or inf weights
``checkpoint.pt``   :func:`commae.runs.checkpoint.      missing or mistyped keys; an epoch outside
                    check_checkpoint` (its keys are     0..``train.epochs`` or other than its history's length;
                    the fields of ``Checkpoint``)       non-finite history values or tensors; a model state as above
``history.csv``     :func:`read_history`                a header other than :data:`HISTORY_COLUMNS`; non-numbers,
                                                        NaN or inf; epochs other than 1, 2, ..., N; rates outside [0, 1]
results CSV         :func:`read_results`                missing columns; counts that are not integers >= 0, errors
                                                        above trials; rates outside [0, 1] or other than
                                                        errors / trials; bounds not ``low <= rate <= high``; a
                                                        non-finite Eb/N0; two rows for one (system, channel, Eb/N0) point (an empty
                                                        theory cell is NaN)
=================== =================================== =========================================================

Every refusal is a :class:`SchemaError` (a ``ValueError``) whose message is
one line: the file, the line or key, what it holds and what is accepted.
config.json's keys, their limits (:data:`SYSTEM_FIELDS`, :data:`TRAIN_FIELDS`)
and the combinations refused are those of ``commae train``'s options, all
read from the one table in :mod:`commae.config` (which also holds the checks
:class:`Int`, :class:`Real`, ... and the limits :data:`DB_LIMIT`,
:data:`MAX_BATCH_SIZE`, :data:`MAX_BITS`, :data:`MAX_COUNT`, re-exported
here). This module imports torch only inside the functions that need it.

Examples
--------
>>> Int(1, 12).check(4)
4
>>> Real(0, None, lo_open=True).accepts()
'a finite number > 0'
>>> Real(0, None, lo_open=True).check(-0.1)
Traceback (most recent call last):
...
ValueError: a finite number > 0
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import config
from .config import DB_LIMIT, MAX_BATCH_SIZE, MAX_BITS, MAX_COUNT, DbRange, Device, Flag, Int, OneOf, Real

__all__ = [
    "SchemaError",
    "Int",
    "Real",
    "OneOf",
    "Flag",
    "DbRange",
    "Device",
    "SYSTEM_FIELDS",
    "TRAIN_FIELDS",
    "HISTORY_COLUMNS",
    "RESULT_COLUMNS",
    "IMPORTANCE_COLUMNS",
    "IMPORTANCE_ESTIMATOR",
    "SHAPING_COLUMNS",
    "DB_LIMIT",
    "MAX_BATCH_SIZE",
    "MAX_BITS",
    "MAX_COUNT",
    "check_config",
    "read_config",
    "read_history",
    "load_torch_file",
    "check_model_state",
    "read_model_state",
    "tensor_problem",
    "check_history_value",
    "read_results",
]

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "val_ser", "val_ber", "val_bler", "mi_bits", "lr", "seconds")
RESULT_COLUMNS = (
    "system", "channel", "ebno_db", "esno_db",
    "bits", "bit_errors", "ber", "ber_low", "ber_high",
    "symbols", "symbol_errors", "ser", "ser_low", "ser_high",
    "blocks", "block_errors", "bler", "bler_low", "bler_high",
    "ber_theory", "ser_theory", "bler_theory",
)  # fmt: skip
IMPORTANCE_COLUMNS = ("estimator", "is_method", "events", "effective_events", "rel_half_width")
"""Columns an importance-sampled results table adds (commae.simulation.importance): its rates are weighted estimates, not errors / trials."""
IMPORTANCE_ESTIMATOR = "importance-sampling"
SHAPING_COLUMNS = ("entropy_bits_per_use", "nu")
"""Columns a results table with a shaped system adds (commae.simulation.results): H(X) per channel use of its messages, and nu of Maxwell-Boltzmann QAM (empty otherwise; both empty for an equiprobable system)."""


class SchemaError(ValueError):
    """A file that does not hold what commae wrote; the message is one line naming the file, the key or line, and what is accepted."""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# config.json's "system" and "train" tables: key -> (check, the option that sets it), from commae.config's table
SYSTEM_FIELDS: dict[str, tuple[Any, str]] = {option.name: (option.check, option.hint) for option in config.fields("system")}
TRAIN_FIELDS: dict[str, tuple[Any, str]] = {option.name: (option.check, option.hint) for option in config.fields("train")}
_TOP_LEVEL = {"version": str, "seed": int, "system": dict, "train": dict, "world_size": int, "effective_batch_size": int, "lr_scaling": str}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_config(raw: Any, path: str | os.PathLike = "config.json") -> tuple[dict[str, Any], dict[str, Any]]:
    """The checked ``system`` and ``train`` tables of a run's config.json (as parsed JSON), without torch.

    Keys a table lacks keep the dataclass default (files of older versions);
    a key no option has, a value its option would refuse, or a combination
    ``commae train`` refuses is a :class:`SchemaError`.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("system"), dict) or not isinstance(raw.get("train"), dict):
        raise SchemaError(f"{path} is not a commae run config: it needs the tables 'system' and 'train'")
    for key, value in raw.items():
        if key not in _TOP_LEVEL:
            raise SchemaError(f"{path}: unknown key {key!r} at the top level; the keys are {', '.join(_TOP_LEVEL)}")
        kind = _TOP_LEVEL[key]
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < (1 if key != "seed" else 0))):
            raise SchemaError(f"{path}: key {key!r} must be {'a positive integer' if kind is int else 'a ' + kind.__name__}, got {_short(value)}")
    tables = {}
    for table, fields in (("system", SYSTEM_FIELDS), ("train", TRAIN_FIELDS)):
        checked = {}
        for key, value in raw[table].items():
            if key not in fields:
                raise SchemaError(f"{path}: unknown key {key!r} in the table '{table}'; its keys are {', '.join(fields)}")
            spec, option = fields[key]
            try:
                checked[key] = spec.check(value)
            except ValueError as exc:
                raise SchemaError(f"{path}: '{table}.{key}' is {_short(value)}; it must be {exc} (as {option})") from None
        tables[table] = checked
    _check_combinations(tables["system"], tables["train"], path)
    return tables["system"], tables["train"]


def _check_combinations(system: dict[str, Any], train: dict[str, Any], path: str | os.PathLike) -> None:
    """The combinations ``commae train`` refuses (:func:`commae.config.check_combinations`), refused in the file too."""
    try:
        config.check_combinations({**system, **train})
    except config.ConfigError as exc:
        raise SchemaError(f"{path}: {exc}") from None


def read_config(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """The checked ``system`` and ``train`` tables of a run's config.json (:func:`check_config`), without torch.

    What only the built objects know (the model's architecture, the loss, the
    training strategy) is checked where they are built:
    :func:`commae.runs.load_config`.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SchemaError(f"{path} is not a commae run config: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise SchemaError(f"{path} is not a commae run config: it nests deeper than Python's parser goes") from None
    except OSError as exc:
        raise SchemaError(f"{path} cannot be read ({exc.strerror})") from None
    return check_config(raw, path)


# --- history.csv --------------------------------------------------------------------------------

_RATES = {"val_ser", "val_ber", "val_bler"}
_NON_NEGATIVE = {"train_loss", "val_loss", "lr", "seconds"}


def check_history_value(key: str, value: Any, where: str) -> float | int:
    """One value of a history row (``history.csv`` or a checkpoint's ``history``): an int epoch, else a finite number in its column's range."""
    if key == "epoch":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise SchemaError(f"{where}: 'epoch' is {_short(value)}; it must be an integer")
    if not (_number(value) and math.isfinite(value)):
        raise SchemaError(f"{where}: {key!r} is {_short(value)}; it must be a finite number")
    if key in _RATES and not 0 <= value <= 1:
        raise SchemaError(f"{where}: {key!r} is {value!r}; it must be an error rate in [0, 1]")
    if key in _NON_NEGATIVE and value < 0:
        raise SchemaError(f"{where}: {key!r} is {value!r}; it must be >= 0")
    return float(value)


def _read_csv(path: Path, what: str) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """The header (None for an empty file) and the ``(line number, cells)`` of every later row of the CSV ``path`` (``what`` it should be, for the messages)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            return header, [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError:
        raise SchemaError(f"{path} is not {what}: it is not UTF-8 text") from None
    except csv.Error as exc:
        raise SchemaError(f"{path} is not a readable CSV ({exc})") from None
    except OSError as exc:
        raise SchemaError(f"{path} cannot be read ({exc.strerror})") from None


def read_history(path: str | os.PathLike) -> list[dict[str, float]]:
    """``history.csv`` as rows (epoch an int, the rest floats; an empty cell is left out of its row)."""
    path = Path(path)
    header, lines = _read_csv(path, "a history")
    if header is None:
        raise SchemaError(f"{path} is empty; a history starts with the header {','.join(HISTORY_COLUMNS)}")
    if tuple(header) != HISTORY_COLUMNS:
        raise SchemaError(f"{path}, line 1: the header must be {','.join(HISTORY_COLUMNS)}")
    rows = []
    for line, cells in lines:
        where = f"{path}, line {line}"
        if len(cells) != len(HISTORY_COLUMNS):
            raise SchemaError(f"{where}: the row has {len(cells)} fields; the header has {len(HISTORY_COLUMNS)}")
        row: dict[str, float] = {}
        for key, cell in zip(HISTORY_COLUMNS, cells):
            if cell == "" and key != "epoch":
                continue
            try:
                value = int(cell) if key == "epoch" else float(cell)
            except ValueError:
                raise SchemaError(f"{where}: {key!r} is {cell!r}; it must be {'an integer' if key == 'epoch' else 'a finite number'}") from None
            row[key] = check_history_value(key, value, where)
        if row["epoch"] != len(rows) + 1:
            raise SchemaError(f"{where}: epoch {row['epoch']}; the epochs must run 1, 2, 3, ... (this row should be epoch {len(rows) + 1})")
        rows.append(row)
    if not rows:
        raise SchemaError(f"{path} has a header but no rows; commae writes it after the first epoch")
    return rows


# --- torch files: model.pt and checkpoint.pt -----------------------------------------------------


def load_torch_file(path: str | os.PathLike, device: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers, never code; one line for any other file."""
    import pickle

    import torch

    path = Path(path)
    if not path.exists():
        raise SchemaError(f"{path} does not exist")
    if not path.is_file():
        raise SchemaError(f"{path} is not a file")
    not_torch = f"{path} is truncated or not a torch file (torch.save writes a zip archive)"
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise SchemaError(f"{path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    if magic != b"PK\x03\x04":
        raise SchemaError(not_torch)
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError:  # a zip archive whose pickle names something other than tensors and containers
        raise SchemaError(f"{path} is refused: it holds Python objects other than tensors and plain containers (weights_only=True), which commae never executes") from None
    except Exception:  # noqa: BLE001 - torch raises RuntimeError, EOFError, ValueError, ... for a damaged file
        raise SchemaError(not_torch) from None


def tensor_problem(tensor: Any) -> str | None:
    """``"NaN"`` or ``"inf"`` when a float or complex ``tensor`` holds one, else None."""
    import torch

    if (tensor.is_floating_point() or tensor.is_complex()) and not bool(torch.isfinite(tensor).all()):
        return "NaN" if bool(torch.isnan(tensor).any()) else "inf"
    return None


def check_model_state(state: Any, model: Any, path: str | os.PathLike, what: str = "") -> None:
    """``state`` must be ``model``'s state dict in kind: the same keys, shapes and dtypes, and finite weights.

    ``what`` names where the state sits in the file (``" ('model')"`` for a checkpoint).
    """
    path = f"{path}{what}"
    import torch

    expected = model.state_dict()
    if not isinstance(state, Mapping) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise SchemaError(f"{path} is not a state dict (a mapping of names to tensors)")
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        said = f"lacks {missing[0]!r}" if missing else f"has {extra[0]!r}, which"
        tail = "" if missing else " the model does not have"
        raise SchemaError(f"{path} {said}{tail}: it was saved for another architecture than its config.json describes ({len(missing)} missing, {len(extra)} unexpected tensors)")
    explain = getattr(model, "state_problem", None)  # a model that knows why an older layout cannot be its own says so
    problem = explain(state) if explain is not None else None
    if problem:
        raise SchemaError(f"{path}: {problem}")
    for key, want in expected.items():
        got = state[key]
        if got.dtype != want.dtype:
            raise SchemaError(f"{path} holds {str(got.dtype).removeprefix('torch.')} tensors ({key!r}); commae models are {str(want.dtype).removeprefix('torch.')}")
        if tuple(got.shape) != tuple(want.shape):
            raise SchemaError(f"{path}: {key!r} has shape {tuple(got.shape)}, the config.json architecture needs {tuple(want.shape)}")
        problem = tensor_problem(got)
        if problem:
            raise SchemaError(f"{path} holds non-finite weights ({problem}) in {key!r}")


def read_model_state(path: str | os.PathLike, model: Any, device: Any = "cpu") -> dict[str, Any]:
    """``model.pt`` loaded weights-only and checked against ``model`` (built from the run's config.json)."""
    state = load_torch_file(path, device)
    check_model_state(state, model, path)
    return state


# --- the ber-curve results CSV -----------------------------------------------------------------

_COUNTS = (("bits", "bit_errors", "ber"), ("symbols", "symbol_errors", "ser"), ("blocks", "block_errors", "bler"))


def read_results(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a ``ber-curve`` CSV: counts as int, numbers as float, empty theory cells as NaN.

    Each row is checked: counts integers >= 0 with errors <= trials and
    trials >= 1; rates finite in [0, 1] and equal to errors / trials;
    ``low <= rate <= high`` within [0, 1]; Eb/N0 and Es/N0 finite; theory
    empty (NaN) or in [0, 1]; one row per system and Eb/N0.
    """
    path = Path(path)
    header, lines = _read_csv(path, "a ber-curve CSV")
    if header is None:
        raise SchemaError(f"{path} is empty; a ber-curve CSV starts with the header {','.join(RESULT_COLUMNS)}")
    missing = [c for c in RESULT_COLUMNS if c not in header]
    if missing:
        raise SchemaError(f"{path} is not a ber-curve CSV: missing columns {', '.join(missing)}")
    rows = []
    for line, cells in lines:
        if not cells:  # a blank line, as csv.DictReader skips it
            continue
        row: dict[Any, Any] = dict(zip(header, cells))
        if len(cells) > len(header):
            row[None] = cells[len(header) :]  # csv.DictReader's restkey
        row.update((name, None) for name in header[len(cells) :])  # and its restval
        rows.append((line, row))
    if not rows:
        raise SchemaError(f"{path} has no rows")
    parsed, seen = [], {}
    for line, row in rows:
        parsed.append(_result_row(row, f"{path}, line {line}"))
        point = (parsed[-1]["system"], parsed[-1]["ebno_db"], parsed[-1]["channel"])  # one system name may run on several channels
        if point in seen:
            raise SchemaError(f"{path}, line {line}: a second row for {point[0]!r} on {point[2]!r} at Eb/N0 {point[1]:g} dB (the first is on line {seen[point]}); ber-curve writes one per point")
        seen[point] = line
    return parsed


def _result_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    if None in row or any(v is None for v in row.values()):
        raise SchemaError(f"{where}: the row has {'more' if None in row else 'fewer'} fields than the header")
    parsed: dict[str, Any] = {}
    weighted = (row.get("estimator") or "").strip() == IMPORTANCE_ESTIMATOR  # rates are importance-sampling estimates, not errors / trials
    for key in ("system", "channel"):
        if not row[key].strip():
            raise SchemaError(f"{where}: {key!r} is empty; it must name the {key}")
        parsed[key] = row[key]
    for key in ("ebno_db", "esno_db"):
        parsed[key] = _cell_number(row[key], key, where)
    for trials_key, errors_key, rate in _COUNTS:
        counts = {}
        for key in (trials_key, errors_key):
            text = row[key].strip()
            if not re.fullmatch(r"\d+", text):
                raise SchemaError(f"{where}: {key!r} is {row[key]!r}; it must be an integer >= 0")
            counts[key] = int(text)
        trials, wrong = counts[trials_key], counts[errors_key]
        if trials < 1 or wrong > trials:
            raise SchemaError(f"{where}: {wrong} {errors_key} in {trials} {trials_key}; the errors must be between 0 and the {trials_key} (>= 1)")
        parsed.update(counts)
        value, low, high = (_cell_number(row[k], k, where) for k in (rate, f"{rate}_low", f"{rate}_high"))
        if not 0 <= value <= 1:
            raise SchemaError(f"{where}: {rate!r} is {value!r}; it must be an error rate in [0, 1]")
        if not weighted and not math.isclose(value, wrong / trials, rel_tol=1e-9, abs_tol=1e-15):
            raise SchemaError(f"{where}: {rate!r} is {value!r} but {errors_key} / {trials_key} is {wrong / trials!r}; they must agree")
        if not (0 <= low <= value + 1e-12 and value - 1e-12 <= high <= 1):
            raise SchemaError(f"{where}: the interval [{rate}_low, {rate}_high] = [{low!r}, {high!r}] must lie in [0, 1] around {rate} = {value!r}")
        parsed.update({rate: value, f"{rate}_low": low, f"{rate}_high": high})
    for key in ("ber_theory", "ser_theory", "bler_theory"):
        if row[key].strip() == "":
            parsed[key] = float("nan")
            continue
        value = _cell_number(row[key], key, where)
        if not 0 <= value <= 1:
            raise SchemaError(f"{where}: {key!r} is {value!r}; it must be an error rate in [0, 1] or empty")
        parsed[key] = value
    result = {key: parsed[key] for key in RESULT_COLUMNS}
    if weighted:
        result["estimator"] = IMPORTANCE_ESTIMATOR
    return result


def _cell_number(text: str, key: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):
        raise SchemaError(f"{where}: {key!r} is {text!r}; it must be a finite number")
    return value
