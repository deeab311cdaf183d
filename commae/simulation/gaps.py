r"""The Eb/N0 gap between two error-rate curves at equal error rate: the number reviewers quote.

A curve is the rows of one system in a ``ber-curve`` results table. The Eb/N0
at which it reaches an error rate :math:`r` is found by linear interpolation
of :math:`\log_{10}` (rate) against Eb/N0 (dB) between the two measured points
that bracket :math:`r` — the first crossing from above, as error rates fall
with SNR. Points with no error are skipped (their logarithm is undefined), so
a rate below the last measured error is not reached.

Where a curve (or one of its bound curves) does not reach :math:`r`, the
Eb/N0, the gap or an end of its interval is NaN, and the row's ``note`` says
which curve does not reach it and the range that curve covers, e.g.
``ae-7-4's BLER never crosses 1.00e-07: it covers 1.87e-01 down to 1.32e-05 over Eb/N0 0 to 8 dB``.

The gap of a system to a reference at rate :math:`r` is
:math:`\mathrm{Eb/N0}_\mathrm{system}(r) - \mathrm{Eb/N0}_\mathrm{reference}(r)`:
positive when the system needs more energy. Its interval comes from the
curves of the Clopper–Pearson bounds: the lower-bound curve reaches
:math:`r` earlier, the upper-bound curve later, and the gap's interval is
:math:`[x^\mathrm{low}_\mathrm{sys} - x^\mathrm{high}_\mathrm{ref},\; x^\mathrm{high}_\mathrm{sys} - x^\mathrm{low}_\mathrm{ref}]`.

Examples
--------
>>> rows = [{"system": "a", "ebno_db": e, "bler": r, "bler_low": r, "bler_high": r} for e, r in ((0, 1e-1), (1, 1e-2), (2, 1e-3))]
>>> rows += [{"system": "b", "ebno_db": e, "bler": r, "bler_low": r, "bler_high": r} for e, r in ((0, 1e-2), (1, 1e-3), (2, 1e-4))]
>>> round(ebno_at_rate(rows, "a", 3e-3, "bler"), 4)
1.5229
>>> [round(g["gap_db"], 3) for g in ebno_gaps(rows, "a", "b", "bler", rates=[1e-2, 1e-3])]
[1.0, 1.0]
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._files import atomic_write, csv_text

__all__ = ["ebno_at_rate", "ebno_gaps", "write_gaps", "coverage", "GAP_COLUMNS", "METRICS"]

METRICS = ("ber", "ser", "bler")
GAP_COLUMNS = ("system", "reference", "metric", "rate", "ebno_db", "reference_ebno_db", "gap_db", "gap_low_db", "gap_high_db", "note")


def _curve(rows: Iterable[Mapping[str, Any]], system: str, column: str) -> list[tuple[float, float]]:
    points = sorted((float(r["ebno_db"]), float(r[column])) for r in rows if r["system"] == system)
    return [(e, v) for e, v in points if v > 0 and math.isfinite(v)]


def coverage(rows: Iterable[Mapping[str, Any]], system: str, column: str) -> str:
    """The range a curve covers, for a note: ``1.87e-01 down to 1.32e-05 over Eb/N0 0 to 8 dB``, and the points where it counted no error.

    >>> coverage([{"system": "a", "ebno_db": e, "ber": r} for e, r in ((0, 0.1), (4, 3.1e-3), (8, 0.0))], "a", "ber")
    '1.00e-01 down to 3.10e-03 over Eb/N0 0 to 4 dB, no errors at 8 dB'
    """
    points = sorted((float(r["ebno_db"]), float(r[column])) for r in rows if r["system"] == system)
    measured = [(e, v) for e, v in points if v > 0 and math.isfinite(v)]
    zero = [e for e, v in points if v == 0]
    parts = []
    if measured:
        rates = [v for _, v in measured]
        span = f"over Eb/N0 {measured[0][0]:g} to {measured[-1][0]:g} dB" if len(measured) > 1 else f"at Eb/N0 {measured[0][0]:g} dB"
        parts.append(f"{max(rates):.2e} down to {min(rates):.2e} {span}" if len(measured) > 1 else f"{rates[0]:.2e} {span}")
    if zero:
        parts.append(f"no errors at {', '.join(f'{e:g}' for e in zero)} dB")
    return ", ".join(parts) or "no points"


def _not_reached(rows: Sequence[Mapping[str, Any]], rate: float, metric: str, missing: Sequence[tuple[str, str, str]]) -> str:
    """The note of a gap row: each curve that does not cross ``rate``, with the range it covers ('' when all do)."""
    notes = []
    for system, column, what in missing:
        curve = f"{system}'s {metric.upper()}" if column == metric else f"the {what} of {system}'s {metric.upper()}"
        notes.append(f"{curve} never crosses {rate:.2e}: it covers {coverage(rows, system, column)}")
    return "; ".join(notes)


def _check(rows: Sequence[Mapping[str, Any]], system: str, metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    names = sorted({r["system"] for r in rows})
    if system not in names:
        raise ValueError(f"system {system!r} is not in the results; they hold {', '.join(names)}")


def ebno_at_rate(rows: Sequence[Mapping[str, Any]], system: str, rate: float, metric: str = "bler", column: str | None = None) -> float:
    """Eb/N0 (dB) at which ``system``'s ``metric`` curve first falls to ``rate``; NaN where it does not.

    ``column`` reads another column of the rows (``"bler_low"``, ``"bler_high"``)
    instead of the metric itself.
    """
    _check(rows, system, metric)
    if not 0 < rate < 1:
        raise ValueError(f"rate must be in (0, 1), got {rate}")
    curve = _curve(rows, system, column or metric)
    target = math.log10(rate)
    for (e0, r0), (e1, r1) in zip(curve, curve[1:]):
        l0, l1 = math.log10(r0), math.log10(r1)
        if l0 >= target >= l1 and l0 != l1:
            return e0 + (e1 - e0) * (l0 - target) / (l0 - l1)
    if curve and curve[0][1] == rate:
        return curve[0][0]
    return float("nan")


def ebno_gaps(
    rows: Sequence[Mapping[str, Any]],
    system: str,
    reference: str,
    metric: str = "bler",
    rates: Iterable[float] | None = None,
) -> list[dict[str, Any]]:
    """Eb/N0 gaps (dB) of ``system`` to ``reference`` at equal ``metric``, one dict per rate (:data:`GAP_COLUMNS`).

    ``rates`` default to the rates ``system`` measured at its own points (every
    non-zero point below 1/2): a gap per point, as a reviewer reads a figure.
    A gap is NaN where either curve does not reach the rate, an end of its
    interval NaN where a bound curve does not; ``note`` then names each such
    curve and the range it covers (empty when every curve reaches the rate).
    """
    _check(rows, system, metric)
    _check(rows, reference, metric)
    if rates is None:
        rates = [r for _, r in _curve(rows, system, metric) if r < 0.5]
    out = []
    for rate in rates:
        x = ebno_at_rate(rows, system, rate, metric)
        x_ref = ebno_at_rate(rows, reference, rate, metric)
        lo, hi = ebno_at_rate(rows, system, rate, metric, f"{metric}_low"), ebno_at_rate(rows, system, rate, metric, f"{metric}_high")
        ref_lo, ref_hi = ebno_at_rate(rows, reference, rate, metric, f"{metric}_low"), ebno_at_rate(rows, reference, rate, metric, f"{metric}_high")
        curves = (
            (x, system, metric, ""),
            (x_ref, reference, metric, ""),
            (lo, system, f"{metric}_low", "lower bound"),
            (hi, system, f"{metric}_high", "upper bound"),
            (ref_lo, reference, f"{metric}_low", "lower bound"),
            (ref_hi, reference, f"{metric}_high", "upper bound"),
        )
        missing = [(name, column, what) for value, name, column, what in curves if math.isnan(value)]
        if any(column == metric for _, column, _ in missing):  # a curve itself not reached: its bounds add nothing
            missing = [m for m in missing if m[1] == metric]
        out.append(
            {
                "system": system,
                "reference": reference,
                "metric": metric,
                "rate": float(rate),
                "ebno_db": x,
                "reference_ebno_db": x_ref,
                "gap_db": x - x_ref,
                "gap_low_db": lo - ref_hi,
                "gap_high_db": hi - ref_lo,
                "note": _not_reached(rows, float(rate), metric, missing),
            }
        )
    return out


def write_gaps(gaps: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write ``gaps`` to a CSV with :data:`GAP_COLUMNS` (NaN as an empty cell, ``note`` saying why), atomically."""
    path = Path(path)
    atomic_write(path, csv_text(GAP_COLUMNS, gaps))
    return path
