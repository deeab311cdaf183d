"""The rows of a ``ber-curve`` results table: one per (system, Eb/N0 point), made from its counts, written and read.

A row holds the counts, the rates with their Clopper–Pearson bounds
(:func:`~commae.simulation.statistics.clopper_pearson`) and, when asked, the
closed-form rates (:func:`~commae.simulation.theory_columns.theory_rates`), in
:data:`RESULT_COLUMNS` order. :func:`write_results` writes a table with the
JSON of its settings (:func:`result_settings`, the keys in one place) beside
it; :func:`read_results` reads one back, checked by :mod:`commae.schemas`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_paths, csv_text, writing
from ..channels import Channel
from ..schemas import IMPORTANCE_COLUMNS, RESULT_COLUMNS
from ..schemas import read_results as _read_results
from ..snr import ebno_db_to_esno_db
from ..system import System
from .statistics import clopper_pearson
from .theory_columns import theory_rates

__all__ = ["RESULT_COLUMNS", "channel_name", "result_row", "result_settings", "write_results", "read_results"]


def channel_name(channel: Channel) -> str:
    """The channel's :attr:`~commae.channels.Channel.name`: every stage with its parameters.

    ``awgn``, ``awgn-real``, ``rayleigh-fast-csi``, ``rician-K3-block-csi``,
    ``rapp-p3-A1-ibo0dB+awgn+adc-3bit-clip1.5``, ...
    """
    return getattr(channel, "name", None) or type(channel).__name__.lower()


def result_row(name: str, system: System, ebno_db: float, c: np.ndarray, confidence: float, with_theory: bool) -> dict[str, Any]:
    """The row of ``system`` (called ``name``) at ``ebno_db`` from its counts ``c``, in :data:`RESULT_COLUMNS` order.

    ``c`` holds (bits, bit errors, symbols, symbol errors, blocks, block
    errors); the rates get Clopper–Pearson bounds at level ``confidence`` and,
    with ``with_theory``, the closed-form rates (NaN where there are none).
    """
    bits, bit_errors, symbols, symbol_errors, blocks, block_errors = (int(v) for v in c)
    row: dict[str, Any] = {
        "system": name,
        "channel": channel_name(system.channel),
        "ebno_db": ebno_db,
        "esno_db": float(ebno_db_to_esno_db(ebno_db, system.k, system.n)),
    }
    for unit, count_name, trials, wrong in (("ber", "bit", bits, bit_errors), ("ser", "symbol", symbols, symbol_errors), ("bler", "block", blocks, block_errors)):
        low, high = clopper_pearson(wrong, trials, confidence)
        row[f"{count_name}s"] = trials
        row[f"{count_name}_errors"] = wrong
        row[unit], row[f"{unit}_low"], row[f"{unit}_high"] = wrong / trials, low, high
    rates = theory_rates(system, ebno_db) if with_theory else None
    for unit in ("ber", "ser", "bler"):
        value = rates.get(unit, float("nan")) if rates else float("nan")
        row[f"{unit}_theory"] = value
    return {key: row[key] for key in RESULT_COLUMNS}


def write_results(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike, settings: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``rows`` to ``path`` (CSV, :data:`RESULT_COLUMNS`) and ``settings`` to the JSON beside it, atomically.

    Both go to temp files first; only when both are on disk are they renamed,
    the JSON first, so a failure (a full disk: :class:`~commae._files.WriteError`)
    or Ctrl-C leaves the previous pair as it was, and a CSV never stands
    beside another run's JSON or none.
    """
    path = Path(path)
    columns = RESULT_COLUMNS + (IMPORTANCE_COLUMNS if any("estimator" in row for row in rows) else ())  # importance-sampled rows say so
    text = csv_text(columns, [[row.get(c, "") for c in columns] for row in rows])
    json_path = path.with_suffix(".json")
    if json_path == path:
        raise ValueError(f"{path}: the CSV needs a name other than .json, its settings go to {json_path.name}")
    with atomic_paths([json_path, path]) as (json_temp, csv_temp):
        with writing(json_path):
            json_temp.write_bytes((json.dumps(settings, indent=2) + "\n").encode())
        with writing(path):
            csv_temp.write_bytes(text.encode())
    return path, json_path


def read_results(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a ``ber-curve`` CSV: counts as int, numbers as float, empty theory cells as NaN.

    Every row is checked by :func:`commae.schemas.read_results` (counts, rates
    and bounds consistent and finite); a file that fails raises a
    ``ValueError`` (:class:`~commae.schemas.SchemaError`) whose one-line
    message names the file, the line and what is accepted.
    """
    return _read_results(path)


def result_settings(
    *,
    seed: int,
    runs: Sequence[str],
    baselines: Sequence[str],
    channel: str,
    fading: str,
    csi: bool,
    impairments: Mapping[str, Any],
    ebno_db: Sequence[float],
    target_errors: int,
    target_metric: str,
    max_bits: int,
    batch_size: int,
    confidence: float,
    theory: bool,
    device: str,
    rank_counts: Sequence[Mapping[str, Any]] = (),
    precision: str = "fp32",
    precision_checks: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings JSON written beside a ``ber-curve`` results CSV, its keys in this order.

    The package version, the seed, the runs and baselines simulated, the
    baselines' channel (``channel``, ``fading``, ``csi`` and the impairment
    keywords), the Eb/N0 points, the stopping rule, the batch size, the
    interval level, whether theory columns were asked for, the device and the
    number of processes (``world_size``, from ``rank_counts``: the per-rank
    counts of :func:`~commae.simulation.simulate`, recorded when there were
    several). A reduced ``precision`` adds its checks against fp32.
    """
    from .. import __version__

    world = max(r["rank"] for r in rank_counts) + 1 if rank_counts else 1
    settings = {
        "version": __version__,
        "seed": seed,
        "runs": list(runs),
        "baselines": list(baselines),
        "channel": channel,
        "fading": fading,
        "csi": csi,
        **impairments,
        "ebno_db": ebno_db,
        "target_errors": target_errors,
        "target_metric": target_metric,
        "max_bits": max_bits,
        "batch_size": batch_size,
        "confidence": confidence,
        "theory": theory,
        "device": device,
        "world_size": world,
    }
    if precision_checks is not None:
        settings["precision"] = {"learned": precision, "check": precision_checks}
    if world > 1:
        settings["rank_counts"] = list(rank_counts)
    return settings
