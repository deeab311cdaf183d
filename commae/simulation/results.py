"""The rows of a ``ber-curve`` results table: one per (system, Eb/N0 point), made from its counts, written and read.

A row holds the counts, the rates with their Clopper–Pearson bounds
(:func:`~commae.simulation.statistics.clopper_pearson`) and, when asked, the
closed-form rates (:func:`~commae.simulation.theory_columns.theory_rates`), in
:data:`RESULT_COLUMNS` order. :func:`write_results` writes a table with the
JSON of its settings (:func:`result_settings`, the keys in one place) beside
it; :func:`read_results` reads one back, checked by :mod:`commae.schemas`.
:func:`point_flags` marks the rows no reviewer should read as clean results
(a zero whose bound lies below the closed form, a rate the noise generator
cannot produce); they go into the JSON (``flags``) and the printed table.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._files import atomic_paths, csv_text, writing
from ..channels import Channel
from ..constellations import entropy_bits, int_to_bits
from ..schemas import IMPORTANCE_COLUMNS, RESULT_COLUMNS, SHAPING_COLUMNS
from ..schemas import read_results as _read_results
from ..snr import ebno_db_to_esno_db
from ..system import System, at_ebno, system_no
from .draws import message_probabilities
from .statistics import clopper_pearson
from .theory_columns import theory_rates

__all__ = ["RESULT_COLUMNS", "channel_name", "result_row", "result_settings", "write_results", "read_results", "point_flags", "ml_reach", "SHORT_TAIL"]

#: A point is flagged when the noise generator draws less than this fraction of the normal tail at its nearest decision boundary.
SHORT_TAIL = 0.9
# Codebooks above this many messages are not searched for their nearest boundary (no generator flag for them).
_REACH_MESSAGES = 1 << 12


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
    return {key: row[key] for key in RESULT_COLUMNS} | _shaping(system)


def _shaping(system: System) -> dict[str, Any]:
    """The :data:`SHAPING_COLUMNS` of a system that draws its messages from probabilities of its own (none for an equiprobable one)."""
    prior = message_probabilities(system)
    if prior is None:
        return {}
    nu = getattr(system, "nu", None)  # a Maxwell-Boltzmann modem's
    return {"entropy_bits_per_use": entropy_bits(prior) / system.n, "nu": "" if nu is None else float(nu)}


def ml_reach(system: System, device: str | torch.device = "cpu") -> float | None:
    r"""The least noise, per real dimension, that takes a message of ``system`` over a decision boundary of an ML receiver of its points.

    The receiver errs from :math:`x_i` towards :math:`x_j` only when the noise's
    projection on :math:`\Delta = x_j - x_i` passes :math:`\|\Delta\|_2/2`; noise no
    larger than :math:`a` in every real dimension projects to at most
    :math:`a\|\Delta\|_1/\|\Delta\|_2`, so no error happens below

    .. math:: a^* = \min_{i \ne j} \frac{\|x_i - x_j\|_2^2}{2\,\|x_i - x_j\|_1}

    (BPSK and QAM: half the minimum distance; Hamming (7,4) with BPSK: 1,
    which is also where its hard decisions flip). Learned receivers are no
    better than ML, so where ML cannot err their true rate is still above
    0. None for codebooks of more than 4096 messages.
    """
    k = int(system.k)
    if (1 << k) > _REACH_MESSAGES:
        return None
    with torch.no_grad():
        x = system.transmit(int_to_bits(torch.arange(1 << k, device=device), k).float())  # [M, n]
    points = (torch.view_as_real(x).flatten(1) if x.is_complex() else x).detach().to("cpu", torch.float64)  # [M, D]
    best = math.inf
    for start in range(0, len(points), 256):
        delta = points[start : start + 256, None, :] - points[None, :, :]  # [c, M, D]
        l1, l2 = delta.abs().sum(-1), delta.pow(2).sum(-1)
        ratio = torch.where(l1 > 0, l2 / (2 * l1.clamp_min(1e-300)), torch.inf)
        rows = torch.arange(start, start + len(delta))
        ratio[torch.arange(len(delta)), rows] = torch.inf  # a message against itself
        best = min(best, float(ratio.min()))
    return 0.0 if best == math.inf else best


def point_flags(rows: Sequence[Mapping[str, Any]], systems: Mapping[str, System], device: str | torch.device = "cpu", confidence: float = 0.95) -> list[dict[str, Any]]:
    """The rows of ``rows`` that are not clean results, one dict each: ``system``, ``ebno_db``, ``flag`` and a one-line ``note``.

    * ``zero-below-theory``: no error at all, and the ``confidence`` upper
      bound of the rate (BER, SER or BLER) lies below the closed form beside
      it: the count contradicts the theory (the noise cap, usually).
    * ``beyond-noise-generator``: the channel's noise generator stops
      (:meth:`~commae.channels.AWGN.max_noise_sigma`) before the nearest
      decision boundary of an ML receiver of these points (:func:`ml_reach`):
      no such error can be drawn, so a simulated 0 there means nothing (the
      true rate is above 0).
    * ``short-noise-tail``: the generator draws less than :data:`SHORT_TAIL`
      of the normal tail at that boundary (:meth:`~commae.channels.AWGN.noise_tail`):
      the rate is biased low.

    The generator flags need a channel that knows its generator (plain AWGN
    on a CPU) and a codebook of at most 4096 messages.
    """
    flags: list[dict[str, Any]] = []
    reach: dict[int, float | None] = {}
    for row in rows:
        name = row["system"]
        system = at_ebno(systems[name], float(row["ebno_db"]))  # the system of this point (one tuned to the SNR differs from point to point)
        if id(system) not in reach:
            reach[id(system)] = _generator_reach(system, device)
        for kind, note in (*_zero_below_theory(row, confidence), *_beyond_generator(row, system, reach[id(system)], device)):
            flags.append({"system": name, "ebno_db": float(row["ebno_db"]), "flag": kind, "note": note})
    return flags


def _zero_below_theory(row: Mapping[str, Any], confidence: float) -> list[tuple[str, str]]:
    for unit, count in (("ber", "bit"), ("ser", "symbol"), ("bler", "block")):
        theory, high = row.get(f"{unit}_theory", math.nan), row[f"{unit}_high"]
        if row[f"{count}_errors"] == 0 and theory == theory and high < theory:
            note = f"0 errors in {row[f'{count}s']} {count}s: the {confidence * 100:g}% upper bound {high:.2e} of the {unit.upper()} lies below its closed form {theory:.2e}"
            return [("zero-below-theory", note)]
    return []


def _generator_reach(system: System, device: str | torch.device) -> float | None:
    """:func:`ml_reach` where the channel knows its noise generator's limit, else None."""
    limit = getattr(getattr(system, "channel", None), "max_noise_sigma", None)
    return ml_reach(system, device) if callable(limit) and limit(device) is not None else None


def _beyond_generator(row: Mapping[str, Any], system: System, reach: float | None, device: str | torch.device) -> list[tuple[str, str]]:
    if not reach:  # no known generator, or a codebook with two equal messages (always wrong half the time)
        return []
    channel = system.channel
    cap = channel.max_noise_sigma(device)
    t = reach / math.sqrt(float(system_no(system, float(row["ebno_db"]))) / 2)  # in noise standard deviations per real dimension
    if t >= cap:
        note = f"the noise never passes {cap:.2f} sigma per real dimension and an ML receiver of these points errs only beyond {t:.2f} sigma: no such error can be drawn, the true rate is above 0"
        return [("beyond-noise-generator", note)]
    drawn = channel.noise_tail(t, device) / (0.5 * math.erfc(t / math.sqrt(2)))
    if drawn < SHORT_TAIL:
        return [("short-noise-tail", f"the noise generator draws {drawn:.0%} of the normal tail at the nearest decision boundary ({t:.2f} sigma): the rate is biased low")]
    return []


def write_results(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike, settings: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``rows`` to ``path`` (CSV, :data:`RESULT_COLUMNS`) and ``settings`` to the JSON beside it, atomically.

    Both go to temp files first; only when both are on disk are they renamed,
    the JSON first, so a failure (a full disk: :class:`~commae._files.WriteError`)
    or Ctrl-C leaves the previous pair as it was, and a CSV never stands
    beside another run's JSON or none.
    """
    path = Path(path)
    columns = RESULT_COLUMNS + (IMPORTANCE_COLUMNS if any("estimator" in row for row in rows) else ())  # importance-sampled rows say so
    columns += SHAPING_COLUMNS if any(SHAPING_COLUMNS[0] in row for row in rows) else ()  # and so do shaped ones
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
    flags: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The settings JSON written beside a ``ber-curve`` results CSV, its keys in this order.

    The package version, the seed, the runs and baselines simulated, the
    baselines' channel (``channel``, ``fading``, ``csi`` and the impairment
    keywords), the Eb/N0 points, the stopping rule, the batch size, the
    interval level, whether theory columns were asked for, the device and the
    number of processes (``world_size``, from ``rank_counts``: the per-rank
    counts of :func:`~commae.simulation.simulate`, recorded when there were
    several). A reduced ``precision`` adds its checks against fp32, and
    ``flags`` (:func:`point_flags`), when there are any, the rows that are
    not clean results.
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
    if flags:
        settings["flags"] = [dict(f) for f in flags]
    return settings
