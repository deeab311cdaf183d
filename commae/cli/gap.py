"""``commae gap``: a ber-curve CSV -> :func:`commae.simulation.ebno_gaps` -> gaps CSV and table."""

from __future__ import annotations

import click

from .errors import import_torch
from .options import force_option, out_file_option, out_parent, quiet_option, refuse_existing
from .report import gap_table
from .types import LimitedPath, error_rates

__all__ = ["gap"]


@click.command("gap", short_help="Eb/N0 gap between curves at equal error rate.")
@click.argument("csv_file", type=LimitedPath(exists=True, dir_okay=False), metavar="RESULTS.csv")
@click.option("--reference", required=True, help="System of the CSV the others are measured against (e.g. hamming74-soft).")
@click.option("--system", "systems", multiple=True, help="System to compare, repeatable  [default: every other system in the CSV]")
@click.option("--metric", type=click.Choice(["ber", "ser", "bler"]), default="bler", help="Error rate the curves are matched on.")
@click.option("--rate", "rates", default=None, callback=error_rates, help="Comma list of error rates, e.g. 1e-2,1e-3  [default: the rate of each of the system's points]")
@out_file_option("gaps.csv")
@force_option("gap")
@quiet_option("gap")
def gap(csv_file, reference, systems, metric, rates, out, force, quiet) -> None:
    """Eb/N0 (dB) a system needs beyond the reference at equal error rate, from a ber-curve CSV.

    Interpolates log10(rate) linearly in Eb/N0 between the measured points;
    the interval comes from the curves of the Clopper-Pearson bounds. A
    positive gap means the system needs more energy.
    """
    import_torch()
    from ..simulation import ebno_gaps, read_results, write_gaps

    out_path = out_parent(out)
    refuse_existing([out_path], force)
    try:
        rows = read_results(csv_file)
    except (ValueError, KeyError, OSError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    names = list(dict.fromkeys(r["system"] for r in rows))
    for name, option in [(reference, "--reference")] + [(s, "--system") for s in systems]:
        if name not in names:
            raise click.BadParameter(f"{name!r} is not a system of {csv_file}: {', '.join(names)}", param_hint=f"'{option}'")
    compared = list(systems) or [n for n in names if n != reference]
    if not compared:
        raise click.UsageError(f"{csv_file} holds only {reference!r}; give a CSV with a second system")
    table = [g for name in compared for g in ebno_gaps(rows, name, reference, metric, rates)]
    write_gaps(table, out_path)
    if not quiet:
        gap_table(table, metric)
    click.echo(f"wrote {out_path}")
