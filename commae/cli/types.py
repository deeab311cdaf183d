"""Click parameter types and callbacks: how the text of an option or argument becomes a checked value.

Each refusal is one line naming the value and what is accepted
(``click.BadParameter``, exit status 2). The limits come from
:mod:`commae.config` where an option is in its table (:func:`click_type`,
:func:`parsed`); the others are here.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import click

from .. import config
from ..config import MAX_BATCH_SIZE, MAX_BITS

__all__ = [
    "Finite",
    "IntLimits",
    "LimitedPath",
    "click_type",
    "parsed",
    "check_db",
    "ebno_points",
    "known_baselines",
    "run_names",
    "positive_count",
    "FORMATS",
    "figure_formats",
    "legend_labels",
    "axis_limits",
    "error_rates",
]

# Most Eb/N0 (or Es/N0) points one --ebno/--esno may give
_MAX_POINTS = 1000
# The longest file name (one path component, in bytes) and path Linux and macOS accept; beyond them os.stat fails.
_NAME_MAX, _PATH_MAX = 255, 4095


class Finite(click.FloatRange):
    """A float range that also refuses NaN and infinities."""

    name = "float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number is not None and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


# An upper bound from here on is a machine limit (int64 seeds, 2**31 - 1 counts), not a limit a user meets
_MACHINE_LIMIT = 2**31 - 1


class IntLimits(click.IntRange):
    """``click.IntRange`` whose ``--help`` shows a bound at a machine limit as none (``x>=0``, not ``0<=x<=9223372036854775807``).

    A value beyond it is still refused, naming the exact range.

    >>> IntLimits(0, 2**63 - 1)._describe_range(), IntLimits(1, 16)._describe_range()
    ('x>=0', '1<=x<=16')
    """

    def _describe_range(self) -> str:
        if self.max is not None and self.max >= _MACHINE_LIMIT and self.min is not None:
            return f"x>={self.min}"
        return super()._describe_range()

    def convert(self, value, param, ctx):
        number = click.types.IntParamType.convert(self, value, param, ctx)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            self.fail(f"{number} is not in the range {click.IntRange._describe_range(self)}.", param, ctx)
        return number


class LimitedPath(click.Path):
    """``click.Path`` that also refuses a name longer than NAME_MAX (255 bytes) or a path longer than PATH_MAX, in one line."""

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        text = os.fsencode(path)
        longest = max((len(os.fsencode(part)) for part in Path(os.fsdecode(text)).parts), default=0)
        shown = f"{os.fsdecode(text)[:40]}..." if len(text) > 48 else os.fsdecode(text)
        if longest > _NAME_MAX:
            self.fail(f"{shown!r} has a name of {longest} bytes; a file or directory name has at most {_NAME_MAX}", param, ctx)
        if len(text) > _PATH_MAX:
            self.fail(f"{shown!r} is {len(text)} bytes long; a path has at most {_PATH_MAX}", param, ctx)
        return path


# --- the checks of commae.config's table as click types and callbacks -------------------------------


def click_type(check):
    """The click type of a check of commae.config (None: text, read by the check's ``parse`` or taken as it is)."""
    if isinstance(check, config.Int):
        return IntLimits(check.lo, check.hi)
    if isinstance(check, config.Real):
        return Finite(check.lo, check.hi, min_open=check.lo_open, max_open=check.hi_open)
    if isinstance(check, config.OneOf):
        return click.Choice(list(check.choices))
    if isinstance(check, config.PathName):
        return LimitedPath(file_okay=check.file_okay, dir_okay=check.dir_okay)
    return None


def parsed(check):
    """A click callback reading an option's text with its check's ``parse`` (``--snr 5:10``, ``--device cuda:1``)."""

    def callback(ctx: click.Context, param: click.Parameter, value):
        if value is None:
            return None
        try:
            return check.parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def check_db(values: list[float], value: str) -> None:
    """commae.config's dB limit over ``values`` (read from the text ``value``), as a usage error."""
    try:
        config.check_db(values, value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


# --- callbacks of the options outside the table ---------------------------------------------------


def ebno_points(ctx: click.Context, param: click.Parameter, value: str) -> list[float]:
    """``START:STOP:STEP`` (STOP included) or a comma list, in dB."""
    text = value.strip()
    try:
        if ":" in text:
            start, stop, step = (float(p) for p in text.split(":"))
            if not step > 0 or start > stop:
                raise ValueError
            check_db([start, stop], value)
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            if count > _MAX_POINTS:
                raise click.BadParameter(f"{value!r} gives {count} points; at most {_MAX_POINTS}")
            points = [round(start + i * step, 10) for i in range(count)]
        else:
            points = [float(p) for p in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not START:STOP:STEP with START <= STOP and STEP > 0 (e.g. 0:12:1), nor a comma list (e.g. 0,3,6), in dB") from None
    if not points or not all(math.isfinite(p) for p in points):
        raise click.BadParameter(f"{value!r} must give finite SNR values in dB")
    check_db(points, value)
    return points


def known_baselines(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """``--baseline`` names, each one commae knows."""
    from .._names import is_known_baseline, unknown_baseline

    for name in value:
        if not is_known_baseline(name):
            raise click.BadParameter(unknown_baseline(name))
    return value


def run_names(run_dirs: tuple[str, ...], baselines: tuple[str, ...]) -> list[str]:
    """A system name per run: its directory's name, or the path as given where names would clash."""
    from .._names import is_baseline_name

    base = [Path(r).resolve().name for r in run_dirs]
    names = [b if base.count(b) == 1 and not is_baseline_name(b) else str(Path(r)) for b, r in zip(base, run_dirs)]
    if len(set(names)) != len(names):
        raise click.UsageError(f"the same run directory is given twice: {', '.join(run_dirs)}")
    return names


def positive_count(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A positive integer that may be written 1e8, at most the option's documented maximum."""
    limit = {"max_bits": (MAX_BITS, "2**62"), "batch_size": (MAX_BATCH_SIZE, "2**24")}[param.name]
    try:
        number = int(value) if re.fullmatch(r"\s*\d+\s*", value) else float(value)
        if number != int(number) or number < 1:
            raise ValueError
    except (ValueError, OverflowError):
        raise click.BadParameter(f"{value!r} is not a positive whole number (e.g. 1e8)") from None
    if number > limit[0]:
        raise click.BadParameter(f"{value!r} is above the maximum {limit[1]} = {limit[0]}")
    return int(number)


FORMATS = ("pdf", "png", "svg")


def figure_formats(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    """``--format``: a comma list of :data:`FORMATS`, each once."""
    chosen = list(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))  # pdf,pdf is one file
    bad = [f for f in chosen if f not in FORMATS]
    if not chosen or bad:
        raise click.BadParameter(f"{value!r}: give a comma list of {', '.join(FORMATS)}")
    return chosen


def legend_labels(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str]:
    """``--label SYSTEM=NAME``, repeated: legend names by system."""
    names = {}
    for item in value:
        system, sep, name = item.partition("=")
        if not sep or not system or not name:
            raise click.BadParameter(f"{item!r} is not SYSTEM=NAME (e.g. qam16=16-QAM)")
        names[system] = name
    return names


def axis_limits(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, float] | None:
    """``LOW:HIGH``, finite with LOW < HIGH (an axis range)."""
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value.split(":"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not LOW:HIGH (e.g. 0:12)") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise click.BadParameter(f"{value!r}: LOW and HIGH must be finite with LOW < HIGH")
    return low, high


def error_rates(ctx: click.Context, param: click.Parameter, value: str | None) -> list[float] | None:
    """A comma list of error rates in (0, 1)."""
    if value is None:
        return None
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        numbers = []
    if not numbers or not all(0 < r < 1 for r in numbers):
        raise click.BadParameter(f"{value!r} is not a comma list of error rates in (0, 1), e.g. 1e-2,1e-3")
    return numbers
