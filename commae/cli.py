"""The ``commae`` command: a thin ``click`` group over the Python API.

It parses options into the config dataclasses, calls the library and
reports; it holds no logic of its own. Usage errors exit with status 2,
failures with 1, each as one line without a traceback.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from pathlib import Path

import click

from . import __version__

__all__ = ["cli"]


# dB values beyond this are typos, and overflow the linear scale
_DB_LIMIT = 100.0
_MAX_POINTS = 1000
SEED = click.IntRange(0, 2**63 - 1)


def _rank() -> int:
    """This process's rank as the launcher (torchrun) set it; 0 without one."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


class _OneLineErrors(click.Group):
    """A group whose usage errors are one line (``Error: ...``) with exit status 2, failures exit 1.

    Under torchrun only rank 0 prints an error; every rank exits with the same status.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        speak = _rank() == 0
        try:
            super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            if speak:
                click.echo(f"Error: {exc.format_message()}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if speak:
                exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            if speak:
                click.echo("Aborted.", err=True)
            sys.exit(1)
        except RuntimeError as exc:
            if not _collective_failure(exc):
                raise
            # a collective failed: a peer died or timed out; every surviving rank says so, in one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            click.echo(f"Error: rank {_rank()} lost contact with the other ranks (did one of them stop?): {first[:200]}", err=True)
            sys.exit(1)
        finally:
            if "WORLD_SIZE" in os.environ:
                from .distributed import teardown

                teardown()
        sys.exit(0)


def _collective_failure(exc: RuntimeError) -> bool:
    """True for the error a collective raises when a peer rank died or timed out (gloo, NCCL)."""
    if "WORLD_SIZE" not in os.environ:
        return False
    import torch.distributed as dist

    text = str(exc)
    return isinstance(exc, getattr(dist, "DistError", ())) or any(s in text for s in ("gloo", "NCCL", "Connection closed", "Connection reset", "Timed out", "timed out"))


def _launch(device: str) -> str:
    """Join torchrun's process group when launched by it; the device this rank uses (``cuda:LOCAL_RANK`` on GPUs)."""
    if "WORLD_SIZE" not in os.environ:
        return device
    from .distributed import DistributedError, setup

    try:
        return str(setup(device))
    except DistributedError as exc:
        raise click.UsageError(str(exc)) from None


def _agreed(fn):
    """``fn()`` on every rank; if it fails on any rank, the same one-line error on all of them (see distributed.agree)."""
    if "WORLD_SIZE" not in os.environ:
        return fn()
    from .distributed import RankFailed, agree

    try:
        return agree(fn, usage_errors=(click.UsageError,))
    except RankFailed as exc:
        raise (click.UsageError(str(exc)) if exc.usage else click.ClickException(str(exc))) from None


def _single_process(command: str) -> None:
    """Refuse a command that does not split its work when torchrun starts several ranks."""
    if "WORLD_SIZE" in os.environ and os.environ.get("WORLD_SIZE") not in ("", "1"):
        raise click.UsageError(f"commae {command} runs in one process; launch it without torchrun (train, ber-curve and info scale with torchrun)")


class Finite(click.FloatRange):
    """A float range that also refuses NaN and infinities."""

    name = "float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number is not None and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def _device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    import torch

    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise click.BadParameter(f"{value!r} is not a torch device: cpu, cuda, cuda:1, ...") from None
    if device.type not in ("cpu", "cuda"):
        raise click.BadParameter(f"{value!r}: only cpu and cuda devices are supported")
    return value


def _check_db(values: list[float], value: str) -> None:
    if not all(math.isfinite(v) and abs(v) <= _DB_LIMIT for v in values):
        raise click.BadParameter(f"{value!r}: SNRs must be finite and within ±{_DB_LIMIT:g} dB")


def _out_parent(out: str, option: str = "--out") -> Path:
    path = Path(out)
    if not path.parent.is_dir():
        raise click.BadParameter(f"{out}: the directory {path.parent} does not exist", param_hint=f"'{option}'")
    return path


def _refuse_existing(paths: list[Path], force: bool) -> None:
    """A failure (exit 1) naming the files that exist, unless ``--force``: nothing of the user's is overwritten."""
    taken = [str(p) for p in paths if p.exists()]
    if taken and not force:
        raise click.ClickException(f"{', '.join(taken)} exists; pass --force to overwrite")


def _snr_range(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    """``"7"`` -> (7, 7); ``"5:10"`` -> (5, 10)."""
    try:
        parts = [float(p) for p in value.split(":")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] > parts[1] or any(p != p for p in parts):
        raise click.BadParameter(f"{value!r} is not an Eb/N0 in dB (e.g. 7) or a range LOW:HIGH with LOW <= HIGH (e.g. 5:10)")
    _check_db(parts, value)
    return parts[0], parts[1]


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "--version", "-V", prog_name="commae", message="%(prog)s %(version)s")
def cli() -> None:
    """commae: train communication autoencoders and compare them with QAM, PSK and Hamming codes.

    SNRs are Eb/N0 in dB unless an option says otherwise.
    """


# Options of `train` that a resumed run takes from its config.json (others may be given freely).
_RESUMABLE = {"epochs", "device", "quiet", "out", "resume", "force", "dry_run", "tensorboard"}


def _to_ebno(low: float, high: float, esno: bool, k: int, n: int) -> tuple[float, float]:
    from .snr import esno_db_to_ebno_db

    if not esno:
        return low, high
    return round(esno_db_to_ebno_db(low, k, n), 10), round(esno_db_to_ebno_db(high, k, n), 10)


def _set_threads(requested: int | None) -> int:
    """Set torch's intra-op threads: ``--threads``, else no more than the free cores (one per torchrun rank)."""
    import torch

    from .threads import choose_threads

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = None
    from .distributed import ranks_per_node

    threads = choose_threads(requested, torch_default=torch.get_num_threads(), cores=cores, load=load, ranks_per_node=ranks_per_node())
    torch.set_num_threads(threads)
    return threads


def _threads_option(command):
    """Add ``--threads`` to a command; it sets torch's thread count before the command runs."""
    import functools

    @functools.wraps(command)
    def run(*args, threads=None, **kwargs):
        import torch

        before = torch.get_num_threads()
        _set_threads(threads)
        try:
            return command(*args, **kwargs)
        finally:  # a command invoked in-process leaves the caller's setting alone
            torch.set_num_threads(before)

    return click.option(
        "--threads", type=click.IntRange(min=1), default=None, help="Intra-op CPU threads  [default: torch's, but no more than the cores the load average leaves free; 1 per torchrun rank]"
    )(run)


@cli.command(short_help="Train an autoencoder and compare it with its baseline.")
@click.option("--snr", "snr", default="7", callback=_snr_range, help="Training Eb/N0 in dB (Es/N0 with --esno): one value (7) or a range LOW:HIGH drawn uniformly per message (5:10).")
@click.option("--esno", is_flag=True, help="Read --snr as Es/N0 in dB per channel use instead of Eb/N0.")
@click.option("--k", "k", type=click.IntRange(1, 12), default=4, help="Bits per message (M = 2**k messages).")
@click.option("--n", "n", type=click.IntRange(1, 256), default=1, help="Channel uses per message (complex, or real with --real).")
@click.option("--real", is_flag=True, help="Real channel uses (O'Shea & Hoydis), E x^2 = 1 per use; AWGN only.")
@click.option("--channel", type=click.Choice(["awgn", "rayleigh"]), default="awgn", help="Channel model.")
@click.option("--fading", type=click.Choice(["fast", "block"]), default="fast", help="Rayleigh: h per channel use (fast) or per message (block).")
@click.option("--csi/--no-csi", default=True, help="Rayleigh: the receiver is given h (perfect CSI).")
@click.option("--loss", type=click.Choice(["ce", "bce"]), default="ce", help="ce: symbol-wise cross-entropy (MI); bce: bit-wise BCE (BMI), bit-wise receiver.")
@click.option("--normalization", type=click.Choice(["batch", "message"]), default="batch", help="Power constraint: average energy 1 per use over the messages, or energy n for every message.")
@click.option("--hidden", type=click.IntRange(1, 4096), default=128, help="Hidden-layer width of transmitter and receiver (units).")
@click.option("--points", is_flag=True, help="Learn the constellation points directly (n=1 complex; starts from QAM or PSK) instead of a transmitter MLP.")
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw"]), default="adam", help="Optimiser.")
@click.option(
    "--lr",
    type=Finite(min=0, min_open=True),
    default=3e-3,
    help="Initial learning rate. It applies to the gradient averaged over the effective batch and is not rescaled with the number of torchrun processes (scale it yourself, e.g. linearly).",
)
@click.option("--momentum", type=Finite(0, 1, max_open=True), default=0.0, help="SGD momentum (sgd only).")
@click.option("--nesterov", is_flag=True, help="Nesterov momentum (sgd with --momentum > 0).")
@click.option("--weight-decay", type=Finite(min=0), default=0.0, help="Weight decay (decoupled for adamw).")
@click.option("--schedule", type=click.Choice(["constant", "cosine", "step", "plateau"]), default="cosine", help="Learning-rate schedule over the epochs.")
@click.option("--epochs", type=click.IntRange(min=1), default=30, help="Epochs.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=1024,
    help="Messages per micro-batch, per process: under torchrun with N processes an optimiser step averages the gradient over the effective batch N x --accumulate x --batch-size (stored in config.json).",
)
@click.option("--batches-per-epoch", type=click.IntRange(min=1), default=100, help="Optimiser steps per epoch.")
@click.option("--accumulate", type=click.IntRange(min=1), default=1, help="Micro-batches per optimiser step (gradient accumulation).")
@click.option("--amp/--no-amp", default=False, help="Mixed precision: bf16 autocast on CPU, fp16 + grad scaler on CUDA.")
@click.option("--clip", type=Finite(min=0, min_open=True), default=None, help="Clip the gradient norm to this value  [default: no clipping]")
@click.option("--patience", type=click.IntRange(min=1), default=None, help="Stop early after this many epochs without a better validation loss  [default: off]")
@click.option("--val-size", type=click.IntRange(min=1), default=100_000, help="Validation messages (drawn once, from their own seed; rounded down to equal chunks of at most 32768).")
@click.option("--device", default="cpu", callback=_device, help="Torch device: cpu, cuda, cuda:1, ...")
@click.option("--seed", type=SEED, default=0, help="Seed of the run (initial weights, training and validation draws).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory  [default: runs/k{k}-n{n}-{channel}-{snr}dB, e.g. runs/k4-n1-awgn-7dB, runs/k4-n1-awgn-5to10dB, runs/k4-n1-awgn-10dB-esno]",
)
@click.option("--force", is_flag=True, help="Overwrite the run files of an existing --out.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint; its config.json wins (--epochs may grow with a constant or plateau schedule).")
@click.option("--dry-run", is_flag=True, help="Train one batch of one epoch and write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or per-epoch lines.")
@click.option(
    "--tensorboard",
    "tensorboard",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[DIR]",
    help="Log every epoch's scalars (losses, SER/BER/BLER, MI, lr) and the constellation image for TensorBoard into DIR  [default DIR: OUT/tensorboard; needs pip install 'commae[tensorboard]']",
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, param, value: _config_file(ctx, value),
    help="Read options from a TOML file (keys are these options' names: lr = 1e-3, batch-size = 2048) or a run's config.json (re-runs that experiment); the command line wins.",
)
@click.pass_context
@_threads_option
def train(ctx: click.Context, **opts) -> None:
    """Train an autoencoder end to end and compare it with the matching baseline.

    Writes config.json, model.pt, checkpoint.pt, history.csv and
    constellation.{pdf,png} into --out.
    """
    from .models import SystemConfig
    from .runs import RunError, load_config, load_history, prepare_run_dir, train_run
    from .training import TrainConfig

    _launch(opts["device"])  # under torchrun: join the process group; the run keeps the device as given
    low, high = opts["snr"]
    unit = "dB-esno" if opts["esno"] else "dB"
    if opts["momentum"] > 0 and opts["optimizer"] != "sgd":
        raise click.UsageError("--momentum applies to --optimizer sgd only (Adam and AdamW keep their own moments)")
    out = opts["out"] or f"runs/k{opts['k']}-n{opts['n']}-{opts['channel']}-{low:g}{'' if low == high else f'to{high:g}'}{unit}"
    if Path(out).exists() and not Path(out).is_dir():
        raise click.BadParameter(f"{out} is a file, not a run directory", param_hint="'--out'")
    low, high = _to_ebno(low, high, opts["esno"], opts["k"], opts["n"])
    try:
        if opts["resume"]:
            if opts["force"]:
                raise click.UsageError("--resume and --force exclude each other")
            system, train_cfg = _agreed(lambda: load_config(prepare_run_dir(out, resume=True)))
            given = {name for name in opts if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
            for name in sorted(given - _RESUMABLE):
                raise click.UsageError(f"--{name.replace('_', '-')} cannot change when resuming; the run's config.json is used (drop the option, or start a new --out)")
            if "epochs" in given and opts["epochs"] != train_cfg.epochs:
                if train_cfg.schedule in ("cosine", "step"):
                    raise click.UsageError(f"--epochs cannot change when resuming a run with --schedule {train_cfg.schedule}: the schedule is laid out over its {train_cfg.epochs} epochs")
                done = len(load_history(out))
                if opts["epochs"] < done:
                    raise click.UsageError(f"--epochs {opts['epochs']} is fewer than the {done} epochs this run has done")
            train_cfg = dataclasses.replace(train_cfg, epochs=opts["epochs"] if "epochs" in given else train_cfg.epochs, device=opts["device"] if "device" in given else train_cfg.device)
        else:
            system = SystemConfig(
                k=opts["k"],
                n=opts["n"],
                real=opts["real"],
                channel=opts["channel"],
                fading=opts["fading"],
                csi=opts["csi"],
                output="symbol" if opts["loss"] == "ce" else "bit",
                hidden=opts["hidden"],
                normalization=opts["normalization"],
                constellation=opts["points"],
            )
            if opts["points"] and (opts["n"] != 1 or opts["real"]):
                raise click.UsageError("--points needs --n 1 and complex channel uses (no --real)")
            if opts["nesterov"] and not (opts["optimizer"] == "sgd" and opts["momentum"] > 0):
                raise click.UsageError("--nesterov needs --optimizer sgd and --momentum > 0")
            if opts["real"] and opts["channel"] != "awgn":
                raise click.UsageError("--real needs --channel awgn (Rayleigh fading acts on complex channel uses)")
            train_cfg = TrainConfig(
                ebno_db=(low, high),
                loss=opts["loss"],
                optimizer=opts["optimizer"],
                lr=opts["lr"],
                momentum=opts["momentum"],
                nesterov=opts["nesterov"],
                weight_decay=opts["weight_decay"],
                schedule=opts["schedule"],
                epochs=opts["epochs"],
                batch_size=opts["batch_size"],
                batches_per_epoch=opts["batches_per_epoch"],
                accumulate=opts["accumulate"],
                amp=opts["amp"],
                clip=opts["clip"],
                patience=opts["patience"],
                val_size=opts["val_size"],
                seed=opts["seed"],
                device=opts["device"],
            )
        quiet = opts["quiet"]
        result = train_run(
            system,
            train_cfg,
            out,
            force=opts["force"],
            resume=opts["resume"],
            dry_run=opts["dry_run"],
            progress=not quiet,
            log=None if quiet else click.echo,
            tensorboard=_tensorboard_dir(opts["tensorboard"], out),
        )
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    if _rank() == 0:
        _report(result, system, train_cfg, opts["dry_run"])


def _config_file(ctx: click.Context, value: str | None) -> None:
    """``--config``: the file's options become this command's defaults, so the command line wins."""
    if value is None:
        return
    from .config_files import ConfigFileError, read_train_options

    try:
        options = read_train_options(value, {p.name for p in ctx.command.params if p.name})
    except ConfigFileError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--config'") from None
    params = {p.name: p for p in ctx.command.params}
    for name, raw in options.items():  # each value as strictly as the option on the command line
        key = name.replace("_", "-")
        param = params[name]
        if isinstance(param.type, click.types.IntParamType) and not (isinstance(raw, int) and not isinstance(raw, bool)):
            raise click.BadParameter(f"{value}: key {key!r} must be an integer, got {raw!r}", ctx=ctx, param_hint="'--config'")
        if isinstance(param.type, click.types.BoolParamType) and not isinstance(raw, bool):
            raise click.BadParameter(f"{value}: key {key!r} must be true or false, got {raw!r}", ctx=ctx, param_hint="'--config'")
        try:
            param.type_cast_value(ctx, raw)
        except click.BadParameter as exc:
            raise click.BadParameter(f"{value}: key {key!r}: {exc.message}", ctx=ctx, param_hint="'--config'") from None
    ctx.default_map = {**(ctx.default_map or {}), **options}


def _tensorboard_dir(value: str | None, out: str) -> str | None:
    """``--tensorboard``'s directory (OUT/tensorboard when given without one); one line when tensorboard is missing."""
    if value is None:
        return None
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        raise click.UsageError("--tensorboard needs the tensorboard package: pip install 'commae[tensorboard]'") from None
    return value or str(Path(out) / "tensorboard")


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


def _ebno_points(ctx: click.Context, param: click.Parameter, value: str) -> list[float]:
    """``START:STOP:STEP`` (STOP included) or a comma list, in dB."""
    text = value.strip()
    try:
        if ":" in text:
            start, stop, step = (float(p) for p in text.split(":"))
            if not step > 0 or start > stop:
                raise ValueError
            _check_db([start, stop], value)
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
    _check_db(points, value)
    return points


def _run_names(run_dirs: tuple[str, ...], baselines: tuple[str, ...]) -> list[str]:
    """A system name per run: its directory's name, or the path as given where names would clash."""
    from .baselines import is_baseline_name

    base = [Path(r).resolve().name for r in run_dirs]
    names = [b if base.count(b) == 1 and not is_baseline_name(b) else str(Path(r)) for b, r in zip(base, run_dirs)]
    if len(set(names)) != len(names):
        raise click.UsageError(f"the same run directory is given twice: {', '.join(run_dirs)}")
    return names


def _baselines(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from .baselines import BASELINE_NAMES, make_baseline

    for name in value:
        try:
            make_baseline(name)
        except ValueError:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(BASELINE_NAMES)} (K a positive integer)") from None
    return value


def _count(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """An integer that may be written 1e8."""
    try:
        number = float(value)
        if number != int(number) or number < 1:
            raise ValueError
    except (ValueError, OverflowError):
        raise click.BadParameter(f"{value!r} is not a positive whole number (e.g. 1e8)") from None
    return int(number)


@cli.command("ber-curve", short_help="Monte-Carlo BER/SER/BLER curves of runs and baselines.")
@click.argument("run_dirs", nargs=-1, type=click.Path(file_okay=False), metavar="[RUN_DIR]...")
@click.option(
    "--baseline",
    "baselines",
    multiple=True,
    callback=_baselines,
    help="Baseline to simulate, repeatable: bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, hamming74-hard, hamming74-soft, uncoded-bpsk-K  [default: the runs' matching baselines]",
)
@click.option("--channel", type=click.Choice(["awgn", "rayleigh"]), default="awgn", help="Baselines' channel (a run uses its own).")
@click.option("--fading", type=click.Choice(["fast", "block"]), default="fast", help="Baselines' Rayleigh fading: h per channel use or per message.")
@click.option("--csi/--no-csi", default=True, help="Baselines' receivers know h (coherent detection).")
@click.option("--ebno", "ebno", default="0:12:1", callback=_ebno_points, help="Eb/N0 points in dB: START:STOP:STEP (STOP included) or a comma list.")
@click.option("--target-errors", type=click.IntRange(min=1), default=100, help="Bit errors per system before a point stops.")
@click.option("--max-bits", default="1e8", callback=_count, metavar="INTEGER", help="Most bits a system spends at one point (1e8 style allowed).")
@click.option("--batch-size", default="131072", callback=_count, metavar="INTEGER", help="Messages per vectorised batch (per process under torchrun).")
@click.option("--confidence", type=Finite(0, 1, min_open=True, max_open=True), default=0.95, help="Level of the Clopper-Pearson intervals.")
@click.option("--theory/--no-theory", default=True, help="Add closed-form columns where theory has them.")
@click.option("--seed", type=SEED, default=0, help="Seed of the noise: the same seed gives the same CSV.")
@click.option("--device", default="cpu", callback=_device, help="Torch device: cpu, cuda, ...")
@click.option("--out", type=click.Path(dir_okay=False), default="results.csv", help="CSV to write; the settings go to the same name with .json.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or table.")
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    help="Learned receivers' inference: bf16 autocast, first checked against fp32 on the same draws at every point (refused if its BER leaves fp32's interval).",
)
@_threads_option
def ber_curve(run_dirs, baselines, channel, fading, csi, ebno, target_errors, max_bits, batch_size, confidence, theory, seed, device, out, force, quiet, precision) -> None:
    """Monte-Carlo BER/SER/BLER curves of trained runs and baselines, on the same noise.

    Writes one CSV row per (system, Eb/N0) with counts, rates and
    Clopper-Pearson bounds, and a JSON of the settings beside it.
    """
    from .baselines import make_baseline, matching_baseline
    from .models import make_channel
    from .runs import RunError, check_device, load_model
    from .simulation import simulate, write_results

    if not run_dirs and not baselines:
        raise click.UsageError("give at least one RUN_DIR or --baseline")
    device = _launch(device)
    main = _rank() == 0
    out_path = Path(out)

    def prepare():  # on every rank; only rank 0 writes, so only its --out is checked
        if main:
            _out_parent(out)
            _refuse_existing([out_path, out_path.with_suffix(".json")], force)
        names = _run_names(run_dirs, baselines)
        try:
            dev = check_device(device)
            return dev, {name: load_model(run_dir, dev) for name, run_dir in zip(names, run_dirs)}
        except RunError as exc:
            raise click.ClickException(str(exc)) from None

    dev, learned = _agreed(prepare)
    compared = {}
    if baselines:  # on the channel the options describe
        base_channel = make_channel(channel, fading=fading, csi=csi)
        compared = {name: make_baseline(name, base_channel) for name in baselines}
    else:  # each run's matching baseline, on that run's channel
        for model in learned.values():
            base = matching_baseline(model.k, model.n, model.channel)
            if base is not None:
                compared.setdefault(base.name, base)
    checks = _reduced_precision(learned, precision, ebno, batch_size, seed, dev, confidence, quiet or not main) if precision != "fp32" else None
    systems = {**learned, **compared}
    per_rank: list = []
    rows = simulate(
        systems, ebno, target_errors=target_errors, max_bits=max_bits, batch_size=batch_size, seed=seed, device=dev, confidence=confidence, theory=theory, progress=not quiet, rank_counts=per_rank
    )
    if not main:
        return
    world = max(r["rank"] for r in per_rank) + 1 if per_rank else 1
    settings = {
        "version": __version__,
        "seed": seed,
        "runs": [str(Path(r)) for r in run_dirs],
        "baselines": list(compared),
        "channel": channel,
        "fading": fading,
        "csi": csi,
        "ebno_db": ebno,
        "target_errors": target_errors,
        "max_bits": max_bits,
        "batch_size": batch_size,
        "confidence": confidence,
        "theory": theory,
        "device": device,
        "world_size": world,
    }
    if checks is not None:
        settings["precision"] = {"learned": precision, "check": checks}
    if world > 1:
        settings["rank_counts"] = per_rank
    csv_path, json_path = write_results(rows, out_path, settings)
    if not quiet:
        click.echo(f"{'system':<18}{'Eb/N0':>6}{'bits':>11}{'errors':>8}{'BER':>11}{'95% interval' if confidence == 0.95 else 'interval':>24}{'theory':>11}{'SER':>11}{'BLER':>11}")
        for r in rows:
            interval = f"[{r['ber_low']:.2e}, {r['ber_high']:.2e}]"
            th = "" if r["ber_theory"] != r["ber_theory"] else f"{r['ber_theory']:.2e}"
            click.echo(f"{r['system']:<18}{r['ebno_db']:>6g}{r['bits']:>11.3g}{r['bit_errors']:>8}{r['ber']:>11.2e}{interval:>24}{th:>11}{r['ser']:>11.2e}{r['bler']:>11.2e}")
    click.echo(f"wrote {csv_path} and {json_path}")


def _reduced_precision(learned: dict, precision: str, ebno: list[float], messages: int, seed: int, device, confidence: float, quiet: bool) -> dict:
    """Swap the learned systems for bf16 receivers after checking them against fp32; refuse the option when a BER moves out of fp32's interval."""
    from .precision import Bf16Receiver, check_bf16

    if not learned:
        raise click.UsageError("--precision bf16 applies to learned receivers: give a RUN_DIR (baselines always run exactly)")
    report = {}
    for name, model in list(learned.items()):
        checks = check_bf16(model, ebno, messages=messages, seed=seed, device=device, confidence=confidence)
        report[name] = [c.as_dict() for c in checks]
        for c in checks:
            if not quiet:
                click.echo(
                    f"bf16 check {name} at {c.ebno_db:g} dB: {c.changed:.2e} of decisions changed; bit errors fp32 {c.fp32_bit_errors} "
                    f"(BER interval [{c.fp32_ber_low:.2e}, {c.fp32_ber_high:.2e}]), bf16 {c.bf16_bit_errors}"
                )
            if not c.ok:
                raise click.ClickException(
                    f"--precision bf16 refused for this run: {name} at {c.ebno_db:g} dB has BER {c.bf16_bit_errors / c.bits:.3e} in bf16, "
                    f"outside fp32's {confidence:g} interval [{c.fp32_ber_low:.3e}, {c.fp32_ber_high:.3e}] on the same draws; run with --precision fp32"
                )
        learned[name] = Bf16Receiver(model)
    return report


# --- commae plot -----------------------------------------------------------------------------

_FORMATS = ("pdf", "png", "svg")


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    bad = [f for f in formats if f not in _FORMATS]
    if not formats or bad:
        raise click.BadParameter(f"{value!r}: give a comma list of {', '.join(_FORMATS)}")
    return formats


def _plot_options(default_out: str):
    def decorate(f):
        f = click.option("--force", is_flag=True, help="Overwrite existing output files.")(f)
        f = click.option("--title", default=None, help="Axes title  [default: none, as journals prefer]")(f)
        f = click.option("--out", default=default_out, type=click.Path(dir_okay=False), help="Output path without extension; one file per format.")(f)
        f = click.option("--format", "formats", default="pdf,png", callback=_formats, help="Comma list of pdf, png, svg.")(f)
        f = click.option("--style", "style_name", type=click.Choice(["ieee", "ieee-wide", "presentation"]), default="ieee", help="Figure style (ieee: one 3.5-in column).")(f)
        return f

    return decorate


def _targets(out: str, formats: list[str], force: bool) -> list:
    base = _out_parent(out)
    if base.suffix.lower().lstrip(".") in _FORMATS:
        base = base.with_suffix("")
    paths = [base.with_name(f"{base.name}.{fmt}") for fmt in formats]
    _refuse_existing(paths, force)
    return base


def _save(fig, base, formats: list[str]) -> None:
    import matplotlib.pyplot as plt

    from .plotting import save_figure

    for path in save_figure(fig, base, formats):
        click.echo(f"wrote {path}")
    plt.close(fig)


@cli.group(short_help="Paper figures from runs and ber-curve CSVs.")
def plot() -> None:
    """Paper figures from runs and ber-curve CSV files (never re-simulates)."""
    _single_process("plot")


@plot.command("constellation")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--bits/--no-bits", default=True, help="Write each message's bits beside its point.")
@click.option("--regions", is_flag=True, help="Shade the receiver's decision regions (one panel per bit for a bit-wise receiver).")
@click.option("--cloud", type=Finite(-_DB_LIMIT, _DB_LIMIT), default=None, metavar="EBNO_DB", help="Add received samples at this Eb/N0 in dB  [default: none]")
@_plot_options("constellation")
def plot_constellation_cmd(run_dir, bits, regions, cloud, style_name, formats, out, title, force) -> None:
    """The learned constellation of RUN_DIR."""
    from .plotting import plot_system_constellation, style
    from .runs import RunError, load_model

    base = _targets(out, formats, force)
    try:
        model = load_model(run_dir)
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    if regions and model.n > 1:
        raise click.UsageError("--regions needs a run with n=1 (with several channel uses the receiver decides jointly)")
    with style(style_name):
        axes = plot_system_constellation(model, bits=bits, regions=regions, cloud_ebno_db=cloud)
        if title:
            axes[0].figure.suptitle(title)
        _save(axes[0].figure, base, formats)


@plot.command("ber")
@click.argument("csv_files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False), metavar="RESULTS.csv...")
@click.option("--metric", type=click.Choice(["ber", "ser", "bler"]), default="ber", help="Error rate on the y axis.")
@click.option("--esno", is_flag=True, help="Es/N0 (dB) on the x axis instead of Eb/N0.")
@click.option("--theory/--no-theory", default=True, help="Draw closed forms where the CSV has them.")
@_plot_options("ber")
def plot_ber_cmd(csv_files, metric, esno, theory, style_name, formats, out, title, force) -> None:
    """Error-rate curves from ber-curve CSV files, with Clopper-Pearson error bars."""
    from .plotting import plot_error_rates, style
    from .simulation import read_results

    base = _targets(out, formats, force)
    rows = []
    for path in csv_files:
        try:
            rows.append((Path(path).stem, read_results(path)))
        except (ValueError, KeyError, OSError) as exc:
            raise click.ClickException(str(exc).splitlines()[0]) from None
    merged = []
    for stem, file_rows in rows:
        for r in file_rows:
            clash = len(rows) > 1 and sum(1 for _, other in rows if any(o["system"] == r["system"] for o in other)) > 1
            merged.append({**r, "system": f"{r['system']} [{stem}]" if clash else r["system"]})
    with style(style_name):
        ax = plot_error_rates(merged, metric=metric, esno=esno, theory=theory)
        if title:
            ax.set_title(title)
        _save(ax.figure, base, formats)


@plot.command("curves")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False), metavar="RUN_DIR...")
@click.option("--metric", type=click.Choice(["loss", "ser", "mi"]), default="loss", help="loss: train (thin) and val loss; ser: val SER; mi: MI bound in bits.")
@_plot_options("curves")
def plot_curves_cmd(run_dirs, metric, style_name, formats, out, title, force) -> None:
    """Learning curves of one or several runs, labelled by optimiser and learning rate."""
    from .plotting import plot_learning_curves, style
    from .runs import RunError, load_config, load_history

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


def _run_label(train_cfg) -> str:
    name = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}[train_cfg.optimizer]
    if train_cfg.optimizer == "sgd" and train_cfg.momentum > 0:
        name += f" (mom. {train_cfg.momentum:g}{', Nesterov' if train_cfg.nesterov else ''})"
    return f"{name}, lr {train_cfg.lr:g}"


# --- commae info -------------------------------------------------------------------------------


@cli.command("info", short_help="MI and BMI of constellations beside the capacity.")
@click.argument("run_dirs", nargs=-1, type=click.Path(file_okay=False), metavar="[RUN_DIR]...")
@click.option("--baseline", "baselines", multiple=True, callback=_baselines, help="A modem whose constellation to evaluate, repeatable: bpsk, qpsk, qam16, qam64, qam256, psk8, psk16.")
@click.option("--esno", "esno", default="0:25:1", callback=_ebno_points, help="Es/N0 points in dB per channel use: START:STOP:STEP or a comma list.")
@click.option("--channel", type=click.Choice(["awgn", "rayleigh"]), default="awgn", help="awgn: Gauss-Hermite quadrature; rayleigh (CSI): Monte Carlo.")
@click.option("--samples", type=click.IntRange(min=1000), default=200_000, help="Monte-Carlo samples per point (rayleigh).")
@click.option("--seed", type=SEED, default=0, help="Seed of the Monte-Carlo draws.")
@click.option("--out", type=click.Path(dir_okay=False), default="info.csv", help="CSV to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out.")
@click.option("--quiet", "-q", is_flag=True, help="No table.")
@_threads_option
def info(run_dirs, baselines, esno, channel, samples, seed, out, force, quiet) -> None:
    """Mutual information (MI) and bit-wise MI (BMI) of constellations, beside the capacity.

    For each run (n = 1 complex use) and each baseline modem, writes one CSV row
    per Es/N0 point: MI and BMI in bits per channel use (equiprobable points;
    the BMI with the constellation's bit labels — a learned symbol-wise system
    is labelled by its message index), Eb/N0, and the channel capacity.
    """
    import numpy as np

    from ._files import atomic_write
    from .baselines import make_baseline
    from .information import bmi, capacity_rayleigh, mi
    from .runs import RunError, load_model
    from .snr import esno_db_to_ebno_db
    from .theory import capacity_awgn

    if not run_dirs and not baselines:
        raise click.UsageError("give at least one RUN_DIR or --baseline")
    _launch("cpu")  # under torchrun the Monte-Carlo draws (rayleigh) are split over the ranks
    main = _rank() == 0
    out_path = Path(out)
    if main:
        _agreed(lambda: (_out_parent(out), _refuse_existing([out_path], force)))
    else:
        _agreed(lambda: None)
    constellations = {}
    for name in baselines:
        system = make_baseline(name)
        if not hasattr(system, "constellation"):
            raise click.BadParameter(f"{name!r} is a code, not a constellation: use bpsk, qpsk, qam16, qam64, qam256, psk8 or psk16", param_hint="'--baseline'")
        constellations[name] = system.constellation

    def load_runs() -> None:
        try:
            for name, run_dir in zip(_run_names(run_dirs, baselines), run_dirs):
                model = load_model(run_dir)
                if model.n != 1 or model.real:
                    raise click.UsageError(f"{run_dir}: info needs a run with n=1 complex channel use (this one has n={model.n}{', real' if model.real else ''})")
                constellations[name] = model.constellation()
        except RunError as exc:
            raise click.ClickException(str(exc)) from None

    _agreed(load_runs)
    points = np.asarray(esno, dtype=float)
    method = "quadrature" if channel == "awgn" else "monte_carlo"
    capacity = capacity_awgn(points) if channel == "awgn" else capacity_rayleigh(points)
    header = ["system", "channel", "esno_db", "ebno_db", "mi_bits_per_use", "bmi_bits_per_use", "capacity_bits_per_use"]
    lines = [",".join(header)]
    table = []
    for name, constellation in constellations.items():
        kw = dict(channel=channel, method=method) if channel == "awgn" else dict(channel=channel, method=method, num_samples=samples, seed=seed)
        mis, bmis = np.atleast_1d(mi(constellation, points, **kw)), np.atleast_1d(bmi(constellation, points, **kw))
        for e, m, b, c in zip(points, mis, bmis, np.atleast_1d(capacity)):
            ebno = float(esno_db_to_ebno_db(float(e), constellation.k))
            lines.append(",".join([name, channel, repr(float(e)), repr(ebno), repr(float(m)), repr(float(b)), repr(float(c))]))
            table.append((name, float(e), float(m), float(b), float(c)))
    if not main:
        return
    atomic_write(out_path, "\n".join(lines) + "\n")
    if not quiet:
        click.echo(f"{'system':<22}{'Es/N0':>7}{'MI':>9}{'BMI':>9}{'capacity':>10}   (bits per channel use)")
        for name, e, m, b, c in table:
            click.echo(f"{name:<22}{e:>7g}{m:>9.4f}{b:>9.4f}{c:>10.4f}")
    click.echo(f"wrote {out_path}")
