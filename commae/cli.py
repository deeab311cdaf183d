"""The ``commae`` command: a thin ``click`` group over the Python API.

It parses options into the config dataclasses, calls the library and
reports; it holds no logic of its own. Usage errors exit with status 2,
failures with 1, each as one line without a traceback.
"""

from __future__ import annotations

import dataclasses

import click

from . import __version__

__all__ = ["cli"]


def _snr_range(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    """``"7"`` -> (7, 7); ``"5:10"`` -> (5, 10)."""
    try:
        parts = [float(p) for p in value.split(":")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] > parts[1] or any(p != p or abs(p) == float("inf") for p in parts):
        raise click.BadParameter(f"{value!r} is not an Eb/N0 in dB (e.g. 7) or a range LOW:HIGH with LOW <= HIGH (e.g. 5:10)")
    return parts[0], parts[1]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "--version", "-V", prog_name="commae", message="%(prog)s %(version)s")
def cli() -> None:
    """commae: train communication autoencoders and compare them with QAM, PSK and Hamming codes.

    SNRs are Eb/N0 in dB unless an option says otherwise.
    """


# Options of `train` that a resumed run takes from its config.json (others may be given freely).
_RESUMABLE = {"epochs", "device", "quiet", "out", "resume", "force", "dry_run"}


@cli.command()
@click.option("--snr", "snr", default="7", callback=_snr_range, help="Training Eb/N0 in dB: one value (7) or a range LOW:HIGH drawn uniformly per message (5:10).")
@click.option("--k", "k", type=click.IntRange(1, 12), default=4, help="Bits per message (M = 2**k messages).")
@click.option("--n", "n", type=click.IntRange(1, 256), default=1, help="Channel uses per message (complex, or real with --real).")
@click.option("--real", is_flag=True, help="Real channel uses (O'Shea & Hoydis), E x^2 = 1 per use; AWGN only.")
@click.option("--channel", type=click.Choice(["awgn", "rayleigh"]), default="awgn", help="Channel model.")
@click.option("--fading", type=click.Choice(["fast", "block"]), default="fast", help="Rayleigh: h per channel use (fast) or per message (block).")
@click.option("--csi/--no-csi", default=True, help="Rayleigh: the receiver is given h (perfect CSI).")
@click.option("--loss", type=click.Choice(["ce", "bce"]), default="ce", help="ce: symbol-wise cross-entropy (MI); bce: bit-wise BCE (BMI), bit-wise receiver.")
@click.option("--normalization", type=click.Choice(["batch", "message"]), default="batch", help="Power constraint: average energy 1 per use over the messages, or energy n for every message.")
@click.option("--hidden", type=click.IntRange(1, 4096), default=128, help="Hidden-layer width of transmitter and receiver (units).")
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), default="adam", help="Optimiser.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=3e-3, help="Initial learning rate.")
@click.option("--momentum", type=click.FloatRange(0, 1, max_open=True), default=0.0, help="SGD momentum (sgd only).")
@click.option("--nesterov", is_flag=True, help="Nesterov momentum (sgd with --momentum > 0).")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=0.0, help="Weight decay (decoupled for adamw).")
@click.option("--schedule", type=click.Choice(["constant", "cosine", "step", "plateau"]), default="cosine", help="Learning-rate schedule over the epochs.")
@click.option("--epochs", type=click.IntRange(min=1), default=30, help="Epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, help="Messages per micro-batch.")
@click.option("--batches-per-epoch", type=click.IntRange(min=1), default=100, help="Optimiser steps per epoch.")
@click.option("--accumulate", type=click.IntRange(min=1), default=1, help="Micro-batches per optimiser step (gradient accumulation).")
@click.option("--amp/--no-amp", default=False, help="Mixed precision: bf16 autocast on CPU, fp16 + grad scaler on CUDA.")
@click.option("--clip", type=click.FloatRange(min=0, min_open=True), default=None, help="Clip the gradient norm to this value  [default: no clipping]")
@click.option("--patience", type=click.IntRange(min=1), default=None, help="Stop early after this many epochs without a better validation loss  [default: off]")
@click.option("--val-size", type=click.IntRange(min=1), default=100_000, help="Validation messages (drawn once, from their own seed).")
@click.option("--device", default="cpu", help="Torch device: cpu, cuda, cuda:1, ...")
@click.option("--seed", type=int, default=0, help="Seed of the run (initial weights, training and validation draws).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory  [default: runs/k{k}-n{n}-{channel}-{snr}dB]")
@click.option("--force", is_flag=True, help="Overwrite the run files of an existing --out.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint (its config.json wins; --epochs may grow).")
@click.option("--dry-run", is_flag=True, help="Train one batch of one epoch and write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or per-epoch lines.")
@click.pass_context
def train(ctx: click.Context, **opts) -> None:
    """Train an autoencoder end to end and compare it with the matching baseline.

    Writes config.json, model.pt, checkpoint.pt, history.csv and
    constellation.{pdf,png} into --out.
    """
    from .models import SystemConfig
    from .runs import RunError, load_config, prepare_run_dir, train_run
    from .training import TrainConfig

    low, high = opts["snr"]
    out = opts["out"] or f"runs/k{opts['k']}-n{opts['n']}-{opts['channel']}-{low:g}{'' if low == high else f'to{high:g}'}dB"
    try:
        if opts["resume"]:
            if opts["force"]:
                raise click.UsageError("--resume and --force exclude each other")
            system, train_cfg = load_config(prepare_run_dir(out, resume=True))
            given = {name for name in opts if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
            for name in sorted(given - _RESUMABLE):
                raise click.UsageError(f"--{name.replace('_', '-')} cannot change when resuming; the run's config.json is used (drop the option, or start a new --out)")
            train_cfg = dataclasses.replace(train_cfg, epochs=max(opts["epochs"], 1) if "epochs" in given else train_cfg.epochs, device=opts["device"] if "device" in given else train_cfg.device)
        else:
            system = SystemConfig(
                k=opts["k"], n=opts["n"], real=opts["real"], channel=opts["channel"], fading=opts["fading"], csi=opts["csi"],
                output="symbol" if opts["loss"] == "ce" else "bit", hidden=opts["hidden"], normalization=opts["normalization"],
            )
            if opts["nesterov"] and not (opts["optimizer"] == "sgd" and opts["momentum"] > 0):
                raise click.UsageError("--nesterov needs --optimizer sgd and --momentum > 0")
            if opts["real"] and opts["channel"] != "awgn":
                raise click.UsageError("--real needs --channel awgn (Rayleigh fading acts on complex channel uses)")
            train_cfg = TrainConfig(
                ebno_db=(low, high), loss=opts["loss"], optimizer=opts["optimizer"], lr=opts["lr"], momentum=opts["momentum"],
                nesterov=opts["nesterov"], weight_decay=opts["weight_decay"], schedule=opts["schedule"], epochs=opts["epochs"],
                batch_size=opts["batch_size"], batches_per_epoch=opts["batches_per_epoch"], accumulate=opts["accumulate"],
                amp=opts["amp"], clip=opts["clip"], patience=opts["patience"], val_size=opts["val_size"], seed=opts["seed"], device=opts["device"],
            )
        quiet = opts["quiet"]
        result = train_run(
            system, train_cfg, out, force=opts["force"], resume=opts["resume"], dry_run=opts["dry_run"],
            progress=not quiet, log=None if quiet else click.echo,
        )
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    _report(result, system, train_cfg, opts["dry_run"])


def _report(result, system, train_cfg, dry_run: bool) -> None:
    last = result.history.last
    low, high = train_cfg.ebno_db
    snr = f"{low:g} dB" if low == high else f"{low:g} to {high:g} dB"
    if dry_run:
        click.echo(f"dry run: one batch trained, nothing written (val loss {last['val_loss']:.4f})")
    else:
        click.echo(f"run written to {result.run_dir}/: " + " ".join(p.name for p in result.files))
    click.echo(f"validation at Eb/N0 {snr}, {result.val_messages} messages, the same noise for every system:")
    click.echo(f"  {'system':<22}{'SER':>11}{'BER':>11}{'BLER':>11}{'MI (bit)':>10}")
    click.echo(f"  {'autoencoder':<22}{last['val_ser']:>11.3e}{last['val_ber']:>11.3e}{last['val_bler']:>11.3e}{last['mi_bits']:>10.3f}")
    if result.baseline_metrics is not None:
        b = result.baseline_metrics
        mi = f"{b['mi_bits']:>10.3f}" if "mi_bits" in b else f"{'':>10}"
        click.echo(f"  {result.baseline + ' (baseline)':<22}{b['ser']:>11.3e}{b['ber']:>11.3e}{b['bler']:>11.3e}{mi}")
    else:
        click.echo(f"  (no classic baseline with k={system.k} bits in n={system.n} channel uses)")
