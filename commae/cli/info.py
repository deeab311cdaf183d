"""``commae info``: constellations of runs and modems -> MI, BMI and capacity per Es/N0 -> CSV and table."""

from __future__ import annotations

from pathlib import Path

import click

from .combinations import impairments as checked_impairments
from .combinations import no_impairments
from .launch import agreed, is_main, launch
from .options import force_option, impairment_options, out_file_option, out_parent, quiet_option, refuse_existing, table_options, threads_option
from .report import info_table
from .types import LimitedPath, ebno_points, known_baselines, run_names

__all__ = ["info"]


@click.command("info", short_help="MI and BMI of constellations beside the capacity.")
@click.argument("run_dirs", nargs=-1, type=LimitedPath(file_okay=False), metavar="[RUN_DIR]...")
@click.option(
    "--baseline", "baselines", multiple=True, callback=known_baselines, help="A modem whose constellation to evaluate, repeatable: bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16, apsk32."
)
@click.option("--esno", "esno", default="0:25:1", callback=ebno_points, help="Es/N0 points in dB per channel use: START:STOP:STEP or a comma list.")
@table_options("channel", command="info")
@click.option("--samples", type=click.IntRange(min=1000), default=200_000, help="Monte-Carlo samples per point (rayleigh).")
@table_options("seed", command="info")
@out_file_option("info.csv")
@force_option("info")
@quiet_option("info")
@impairment_options("info")
@threads_option
@click.pass_context
def info(ctx, run_dirs, baselines, esno, channel, samples, seed, out, force, quiet, **impairment_opts) -> None:
    """Mutual information (MI) and bit-wise MI (BMI) of constellations, beside the capacity.

    For each run (n = 1 complex use) and each baseline modem, writes one CSV row
    per Es/N0 point: MI and BMI in bits per channel use (equiprobable points;
    the BMI with the constellation's bit labels — a learned symbol-wise system
    is labelled by its message index), Eb/N0, and the channel capacity.
    """
    from .._files import atomic_write, csv_text
    from ..baselines import make_baseline
    from ..information import MI_TABLE_COLUMNS, ImpossibleInformation, mi_table
    from ..models import make_channel
    from ..runs import RunError, load_model

    if not run_dirs and not baselines:
        raise click.UsageError("give at least one RUN_DIR or --baseline")
    impairments = checked_impairments(ctx, impairment_opts)
    launch("cpu")  # under torchrun the Monte-Carlo draws (rayleigh) are split over the ranks
    main = is_main()
    out_path = Path(out)
    if main:
        agreed(lambda: (out_parent(out), refuse_existing([out_path], force)))
    else:
        agreed(lambda: None)
    constellations = {}
    for name in baselines:
        system = make_baseline(name)
        if not hasattr(system, "constellation"):
            raise click.BadParameter(f"{name!r} is a code, not a constellation: use bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16 or apsk32", param_hint="'--baseline'")
        constellations[name] = system.constellation

    def load_runs() -> None:
        try:
            for name, run_dir in zip(run_names(run_dirs, baselines), run_dirs):
                model = load_model(run_dir)
                if model.n != 1 or model.real:
                    raise click.UsageError(f"{run_dir}: info needs a run with n=1 complex channel use (this one has n={model.n}{', real' if model.real else ''})")
                constellations[name] = model.constellation()
        except RunError as exc:
            raise click.ClickException(str(exc)) from None

    agreed(load_runs)
    law = make_channel(channel, **impairments)  # the channel says which MI estimator and capacity apply
    # the CSV names a plain channel by its option, one with impairments (rician's K is one) with its parameters
    try:
        rows = mi_table(constellations, law, esno, num_samples=samples, seed=seed, channel_name=channel if impairments == no_impairments() else law.name)
    except ImpossibleInformation as exc:  # an MI outside [0, k]: no row is written or printed
        raise click.ClickException(str(exc)) from None
    if not main:
        return
    atomic_write(out_path, csv_text(MI_TABLE_COLUMNS, rows))
    if not quiet:
        info_table(rows, law.name)
    click.echo(f"wrote {out_path}")
