"""``commae plot``: paper figures from run directories and ber-curve CSVs (it never re-simulates)."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import DB_LIMIT
from .errors import import_torch
from .launch import single_process
from .options import out_parent, plot_options, refuse_existing
from .types import FORMATS, Finite, LimitedPath, axis_limits, legend_labels

__all__ = ["plot"]


@click.group(short_help="Paper figures from runs and ber-curve CSVs.")
def plot() -> None:
    """Paper figures from runs and ber-curve CSV files (never re-simulates)."""
    single_process("plot")


@plot.command("constellation")
@click.argument("run_dir", type=LimitedPath(file_okay=False))
@click.option("--bits/--no-bits", default=True, help="Write each message's bits beside its point.")
@click.option("--regions", is_flag=True, help="Shade the receiver's decision regions (one panel per bit for a bit-wise receiver).")
@click.option("--cloud", type=Finite(-DB_LIMIT, DB_LIMIT), default=None, metavar="EBNO_DB", help="Add received samples at this Eb/N0 in dB  [default: none]")
@click.option(
    "--projection", type=click.Choice(["pca", "tsne"]), default="pca", help="How a codebook of more than 2 real coordinates (n > 1, or n > 2 real uses) is drawn in 2-D: principal axes, or t-SNE."
)
@plot_options("constellation", title_default="the SNR the run was trained at; '' for none")
def plot_constellation_cmd(run_dir, bits, regions, cloud, projection, style_name, formats, out, title, force) -> None:
    """The learned constellation of RUN_DIR.

    One complex use: the I/Q plane. More coordinates: one panel with the
    codewords projected to 2-D (--projection), readable at column width.
    The title says the SNR the run was trained at (--title replaces it;
    --title '' leaves none).
    """
    import_torch()
    from ..plotting import plot_system_constellation, style, trained_at
    from ..runs import RunError, load_config, load_model

    base = _targets(out, formats, force)
    try:
        model = load_model(run_dir)
        _, train_cfg = load_config(run_dir)
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    if regions and (model.n > 1 or model.real):
        raise click.UsageError("--regions needs a run with n=1 complex channel use (with several uses the receiver decides jointly)")
    if cloud is not None and projection == "tsne" and (model.n > 2 or (model.n > 1 and not model.real)):
        raise click.UsageError("--cloud cannot be drawn with --projection tsne (t-SNE places the codewords only); use --projection pca")
    # the regions at --cloud's Eb/N0, else in the middle of the training range: a receiver given N0 decides by it, and the title says where
    regions_at = cloud if cloud is not None else round(sum(train_cfg.ebno_db) / 2, 2)
    if title is None:
        title = trained_at(train_cfg) + (f", regions at $E_b/N_0$ = {regions_at:g} dB" if regions and model.noise_input else "")
    with style(style_name):
        axes = plot_system_constellation(model, bits=bits, regions=regions, cloud_ebno_db=cloud, regions_ebno_db=regions_at, projection=projection, title=title)
        _save(axes[0].figure, base, formats)


@plot.command("ber")
@click.argument("csv_files", nargs=-1, required=True, type=LimitedPath(exists=True, dir_okay=False), metavar="RESULTS.csv...")
@click.option("--metric", type=click.Choice(["ber", "ser", "bler"]), default="ber", help="Error rate on the y axis.")
@click.option("--esno", is_flag=True, help="Es/N0 (dB) on the x axis instead of Eb/N0.")
@click.option("--theory/--no-theory", default=True, help="Draw closed forms where the CSV has them.")
@click.option(
    "--label",
    "labels",
    multiple=True,
    callback=legend_labels,
    metavar="SYSTEM=NAME",
    help="Legend name of a system, repeatable (e.g. --label 'k4-n1-awgn-7dB=Autoencoder')  [default: as a paper names it: 16-QAM, Autoencoder (1,4)]",
)
@click.option("--xlim", default=None, callback=axis_limits, metavar="LOW:HIGH", help="x-axis range in dB  [default: the data's]")
@click.option("--ylim", default=None, callback=axis_limits, metavar="LOW:HIGH", help="y-axis range, error rates (e.g. 1e-6:1)  [default: the data's]")
@plot_options("ber")
def plot_ber_cmd(csv_files, metric, esno, theory, labels, xlim, ylim, style_name, formats, out, title, force) -> None:
    """Error-rate curves from ber-curve CSV files, with Clopper-Pearson error bars.

    A system that several files hold (the same name and channel) is one
    curve where they agree on its counts (the same baseline simulated with
    the same seed); where they differ, each is named after its file:
    "16-QAM (baselines)". The legend goes where it covers no data: in a
    free corner, or below the axes.
    """
    import_torch()
    from ..plotting import canonical_name, merge_results, plot_error_rates, style
    from ..simulation import read_results

    base = _targets(out, formats, force)
    files = []
    for path in csv_files:
        try:
            files.append((path, read_results(path)))
        except (ValueError, KeyError, OSError) as exc:
            raise click.ClickException(str(exc).splitlines()[0]) from None
    stems = [Path(path).stem for path, _ in files]
    names = [stem if stems.count(stem) == 1 else str(path) for stem, (path, _) in zip(stems, files)]  # a file's stem, or its path where two stems are the same
    merged = merge_results([(name, file_rows) for name, (_, file_rows) in zip(names, files)])
    labels = {canonical_name(system): name for system, name in labels.items()}  # qam4 and qpsk are one system, named qpsk
    unknown = sorted(set(labels) - {r["system"] for r in merged})
    if unknown:
        raise click.BadParameter(f"no system {unknown[0]!r} in the CSV; systems: {', '.join(dict.fromkeys(r['system'] for r in merged))}", param_hint="'--label'")
    if ylim is not None and ylim[0] <= 0:
        raise click.BadParameter(f"{ylim[0]:g}: error rates on a log axis must be > 0", param_hint="'--ylim'")
    with style(style_name):
        ax = plot_error_rates(merged, metric=metric, esno=esno, theory=theory, labels=labels, xlim=xlim, ylim=ylim, title=title)
        _save(ax.figure, base, formats)


@plot.command("curves")
@click.argument("run_dirs", nargs=-1, required=True, type=LimitedPath(file_okay=False), metavar="RUN_DIR...")
@click.option("--metric", type=click.Choice(["loss", "ser", "mi"]), default="loss", help="loss: train (thin) and val loss; ser: val SER; mi: MI bound in bits.")
@plot_options("curves")
def plot_curves_cmd(run_dirs, metric, style_name, formats, out, title, force) -> None:
    """Learning curves of one or several runs, labelled by optimiser, learning rate and schedule ("Adam, lr 0.003, cosine")."""
    import_torch()
    from ..plotting import plot_learning_curves, style
    from ..runs import RunError, load_config, load_history

    base = _targets(out, formats, force)
    histories = {}
    try:
        for run_dir in run_dirs:
            _, train_cfg = load_config(run_dir)
            label = _run_label(train_cfg)
            if label in histories:
                label = f"{label} ({Path(run_dir).name})"
            histories[label] = load_history(run_dir)
    except (RunError, ValueError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    with style(style_name):
        try:
            ax = plot_learning_curves(histories, metric=metric)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if title:
            ax.set_title(title)
        _save(ax.figure, base, formats)


def _targets(out: str, formats: list[str], force: bool) -> Path:
    """The figure's path without extension; refused when one of its files exists, unless ``--force``."""
    base = out_parent(out)
    if base.suffix.lower().lstrip(".") in FORMATS:
        base = base.with_suffix("")
    paths = [base.with_name(f"{base.name}.{fmt}") for fmt in formats]
    refuse_existing(paths, force)
    return base


def _save(fig, base: Path, formats: list[str]) -> None:
    import matplotlib.pyplot as plt

    from ..plotting import save_figure

    for path in save_figure(fig, base, formats):
        click.echo(f"wrote {path}")
    plt.close(fig)


def _run_label(train_cfg) -> str:
    name = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}[train_cfg.optimizer]
    if train_cfg.optimizer == "sgd" and train_cfg.momentum > 0:
        name += f" (mom. {train_cfg.momentum:g}{', Nesterov' if train_cfg.nesterov else ''})"
    schedule = "" if train_cfg.schedule == "constant" else f", {train_cfg.schedule}"  # a constant rate is what "lr 0.003" says alone
    return f"{name}, lr {train_cfg.lr:g}{schedule}"
