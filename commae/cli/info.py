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
    "--baseline",
    "baselines",
    multiple=True,
    callback=known_baselines,
    help="A modem whose constellation to evaluate, repeatable: bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16, apsk32; qamM-mb, qamM-mb-bmi (M 16, 64, 256: Maxwell-Boltzmann QAM, nu best for the MI or BMD rate at each Es/N0; awgn), qamM-mb:NU (fixed nu).",
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
    per Es/N0 point: the entropy H(X), MI and BMI in bits per channel use (the
    BMI with the constellation's bit labels — a learned symbol-wise system is
    labelled by its message index; for shaped points the BMD rate), Eb/N0, and
    the channel capacity. Maxwell-Boltzmann QAM (qamM-mb) has its own nu at
    each Es/N0, which the CSV (column nu) and the table give, with the
    probabilities of its amplitudes.
    """
    from .._files import atomic_write, csv_text
    from ..baselines import make_baseline
    from ..information import MI_TABLE_COLUMNS, ImpossibleInformation, best_maxwell_boltzmann, mi_table
    from ..models import make_channel
    from ..runs import RunError, load_model
    from ..system import at_esno, tunes_to_snr

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
    law = make_channel(channel, **impairments)  # the channel says which MI estimator and capacity apply
    systems = {}  # name -> a baseline modem (or one tuned to the SNR) or a run's constellation
    for name in baselines:
        try:
            system = make_baseline(name, law, search=best_maxwell_boltzmann)
        except ValueError as exc:  # e.g. a nu chosen for AWGN asked over another channel
            raise click.BadParameter(str(exc), param_hint="'--baseline'") from None
        if not (tunes_to_snr(system) or hasattr(system, "constellation")):
            raise click.BadParameter(f"{name!r} is a code, not a constellation: use bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16, apsk32 or qamM-mb", param_hint="'--baseline'")
        systems[name] = system

    def load_runs() -> None:
        try:
            for name, run_dir in zip(run_names(run_dirs, baselines), run_dirs):
                model = load_model(run_dir)
                if model.n != 1 or model.real:
                    raise click.UsageError(f"{run_dir}: info needs a run with n=1 complex channel use (this one has n={model.n}{', real' if model.real else ''})")
                systems[name] = model.constellation()
        except RunError as exc:
            raise click.ClickException(str(exc)) from None

    agreed(load_runs)
    # the CSV names a plain channel by its option, one with impairments (rician's K is one) with its parameters
    channel_name = channel if impairments == no_impairments() else law.name
    rows, shaped = [], []
    try:
        for name, system in systems.items():
            # a system tuned to the SNR (Maxwell-Boltzmann QAM with its best nu) is evaluated at each point as the modem it gives there
            points = [[e] for e in esno] if tunes_to_snr(system) else [esno]
            for part in points:
                modem = at_esno(system, part[0])
                constellation = getattr(modem, "constellation", modem)
                found = mi_table({name: constellation}, law, part, num_samples=samples, seed=seed, channel_name=channel_name)
                nu = getattr(modem, "nu", None)
                if nu is not None:
                    for row in found:
                        row["nu"] = nu
                        shaped.append((row, modem, getattr(system, "metric", "fixed")))
                rows += found
    except ImpossibleInformation as exc:  # an MI outside [0, k]: no row is written or printed
        raise click.ClickException(str(exc)) from None
    if not main:
        return
    columns = MI_TABLE_COLUMNS + (("nu",) if shaped else ())
    atomic_write(out_path, csv_text(columns, rows))
    if not quiet:
        info_table(rows, law.name)
        _amplitude_note(shaped)
    click.echo(f"wrote {out_path}")


def _amplitude_note(shaped: list) -> None:
    """Under the table: each Maxwell-Boltzmann row's nu (and what chose it) and the probabilities of its per-axis amplitudes, which make up P(x)."""
    if not shaped:
        return
    click.echo("Maxwell-Boltzmann QAM, P(x) ~ exp(-nu |x|^2) = P(x_I) P(x_Q): nu (chosen for), then P(|x_I| = a) for a = 1, 3, 5, ... (half grid spacings; each sign half of it):")
    chosen = {"mi": "best MI", "bmi": "best BMD rate", "fixed": "fixed"}
    for row, modem, metric in shaped:
        levels, p = modem.amplitude_probabilities()
        amplitudes = " ".join(f"{a}:{q:.4f}" for a, q in zip(levels.tolist(), p.tolist()))
        click.echo(f"  {row['system']} at Es/N0 {row['esno_db']:g} dB: nu {row['nu']:.4f} ({chosen[metric]}), {amplitudes}")
