"""The ``commae`` command: a thin ``click`` group over the Python API.

It parses options into the config dataclasses, calls the library and
reports; it holds no logic of its own. Usage errors exit with status 2,
failures with 1, each as one line without a traceback.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from pathlib import Path

import click

from . import __version__, config
from .config import DB_LIMIT, MAX_BATCH_SIZE, MAX_BITS

__all__ = ["cli"]


# dB values beyond this are typos, and overflow the linear scale
_DB_LIMIT = DB_LIMIT
_MAX_POINTS = 1000


def _rank() -> int:
    """This process's rank as the launcher (torchrun) set it; 0 without one."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


class _OneLineErrors(click.Group):
    """A group whose usage errors are one line (``Error: ...``) with exit status 2, failures exit 1, Ctrl-C 130.

    Under torchrun only rank 0 prints an error; every rank exits with the same status.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # before click turns it into Abort (and prints an empty line)
            raise _Interrupted(_interrupted_text(exc)) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        speak = _rank() == 0
        try:
            super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            if "WORLD_SIZE" in os.environ:  # a clean end: every rank leaves the group together
                from .distributed import teardown

                teardown(barrier=True)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            if speak:
                click.echo(f"Error: {exc.format_message()}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if speak:
                exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort as exc:
            if not isinstance(exc.__cause__, KeyboardInterrupt):
                if speak:
                    click.echo("Aborted.", err=True)
                sys.exit(1)
            if speak:
                click.echo(_interrupted_text(exc.__cause__), err=True)
            sys.exit(130)
        except KeyboardInterrupt as exc:  # before click took over (start-up)
            if speak:
                click.echo(_interrupted_text(exc), err=True)
            sys.exit(130)
        except OSError as exc:
            line = _write_failure(exc)
            if line is None:
                raise
            if speak:  # a full disk, a read-only or vanished file system: the file and the reason, in one line
                click.echo(f"Error: {line}", err=True)
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


class _Interrupted(click.ClickException):
    """Ctrl-C: exit status 130 and one line saying what was kept and how to go on."""

    exit_code = 130

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def _interrupted_text(exc: BaseException | None) -> str:
    """``Interrupted.``, and for a training run the epoch it stopped after and the command that continues it."""
    from_run = type(exc).__name__ == "RunInterrupted"  # commae.runs is not imported just to tell
    if not from_run or exc.dry_run:
        return "Interrupted."
    if exc.restored:
        return f"Interrupted. No epoch had finished, so {exc.run_dir} is left as it was."
    if exc.epoch is None:
        return "Interrupted."
    return f"Interrupted after epoch {exc.epoch} of {exc.epochs}; continue with: commae train --out {_quote(str(exc.run_dir))} --resume"


def _write_failure(exc: OSError) -> str | None:
    """One line for an error writing a file (commae's own WriteError, or a full disk, quota, read-only or lost file system); None for others."""
    import errno

    if type(exc).__name__ == "WriteError":
        return str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
        return f"cannot write {exc.filename}: {exc.strerror}" if exc.filename else (exc.strerror or str(exc))
    return None


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


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


# The longest file name (one path component, in bytes) and path Linux and macOS accept; beyond them os.stat fails.
_NAME_MAX, _PATH_MAX = 255, 4095


class _Path(click.Path):
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


def _check_db(values: list[float], value: str) -> None:
    try:
        config.check_db(values, value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _out_parent(out: str, option: str = "--out") -> Path:
    path = Path(out)
    if not path.parent.is_dir():
        raise click.BadParameter(f"{out}: the directory {path.parent} does not exist", param_hint=f"'{option}'")
    return path


def _refuse_existing(paths: list[Path], force: bool) -> None:
    """A failure (exit 1) naming the files that exist, unless ``--force``: nothing of the user's is overwritten."""
    taken = [str(p) for p in paths if p.exists()]
    if taken and not force:
        names = taken[0] if len(taken) == 1 else f"{', '.join(taken[:-1])} and {taken[-1]}"
        raise click.ClickException(f"{names} {'exists' if len(taken) == 1 else 'exist'}; pass --force to overwrite, or write elsewhere with --out")


# --- options from commae.config's table: the same flag, type, default and help wherever a command takes them ---


def _parsed(check):
    """A click callback reading an option's text with its check's ``parse`` (``--snr 5:10``, ``--device cuda:1``)."""

    def callback(ctx: click.Context, param: click.Parameter, value):
        if value is None:
            return None
        try:
            return check.parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def _click_type(check):
    """The click type of a check of commae.config (None: text, read by the check's ``parse`` or taken as it is)."""
    if isinstance(check, config.Int):
        return click.IntRange(check.lo, check.hi)
    if isinstance(check, config.Real):
        return Finite(check.lo, check.hi, min_open=check.lo_open, max_open=check.hi_open)
    if isinstance(check, config.OneOf):
        return click.Choice(list(check.choices))
    if isinstance(check, config.PathName):
        return _Path(file_okay=check.file_okay, dir_okay=check.dir_okay)
    return None


def _click_option(option: config.Option, command: str = "train", **extra):
    """``option`` as a ``click.option`` decorator of ``command``: its flags, type, default and help from the table."""
    kwargs = {"default": option.cli_default, "help": option.help_for(command), **extra}
    if isinstance(option.check, config.Flag) and "/" not in option.flags[0]:
        kwargs["is_flag"] = True  # --csi/--no-csi is a boolean flag by its spelling
    if option.flag_value is not None:  # may be given without a value (--tensorboard alone)
        kwargs.update(is_flag=False, flag_value=option.flag_value)
    if _click_type(option.check) is not None:
        kwargs["type"] = _click_type(option.check)
    if hasattr(option.check, "parse"):
        kwargs["callback"] = _parsed(option.check)
    if option.metavar is not None:
        kwargs["metavar"] = option.metavar
    return click.option(*option.flags, option.param, **kwargs)


def _options(*params: str, command: str):
    """The table's options with these parameter names as decorators of ``command``, in that order."""

    def decorate(f):
        for param in reversed(params):
            option = config.by_param(param)
            f = _click_option(option, command, **_EXTRA.get(param, {}))(f)
        return f

    return decorate


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "--version", "-V", prog_name="commae", message="%(prog)s %(version)s")
def cli() -> None:
    """commae: train communication autoencoders and compare them with QAM, PSK and Hamming codes.

    SNRs are Eb/N0 in dB unless an option says otherwise.
    """


# --- which options apply: commae.config's rules, for what the user gave ---------------------------


def _impairments_default() -> dict:
    """The impairment keywords when no option is given (no impairment)."""
    return {name: config.default(name) for name in config.IMPAIRMENTS}


def _impairments(ctx: click.Context, opts: dict) -> dict:
    """The impairment options as make_channel/SystemConfig keywords, once the command's options pass commae.config's rules."""
    _check_combinations(ctx, {option.name: ctx.params[option.param] for option in _table_options(ctx)})
    return {name: opts[name] for name in config.IMPAIRMENTS}


def _given(ctx: click.Context) -> dict[str, str]:
    """The table's options the user gave, by name: on the command line, or with another value than the default in a --config file.

    Each maps to where it was given (``""``: the command line; else the --config file).
    """
    given = {}
    for option in _table_options(ctx):
        source = ctx.get_parameter_source(option.param)
        if source == click.core.ParameterSource.COMMANDLINE:
            given[option.name] = ""
        elif source == click.core.ParameterSource.DEFAULT_MAP and ctx.params[option.param] != _default_value(option):
            given[option.name] = ctx.meta.get("commae.config_file", "--config")
    return given


def _table_options(ctx: click.Context) -> list[config.Option]:
    """The options of the table this command took (those whose values are in ``ctx.params``)."""
    return [option for option in config.options(ctx.command.name or "") if option.param in ctx.params]


def _default_value(option: config.Option):
    """The value an option takes when not given, as its click callback leaves it."""
    text = option.cli_default
    return option.check.parse(text) if hasattr(option.check, "parse") and isinstance(text, str) else text


def _check_combinations(ctx: click.Context, values: dict) -> None:
    """commae.config's combination rules over the command's ``values`` (config.json keys); a refusal is one usage line naming the option."""
    given = _given(ctx)
    try:
        config.check_combinations(values, given)
    except config.ConfigError as exc:
        where = given.get(exc.option)
        raise click.UsageError(exc.message("option") + (f" (set in {where})" if where else "")) from None


# Options of `train` that a resumed run takes from its config.json (others may be given freely).
_RESUMABLE = frozenset(option.param for option in config.OPTIONS if option.resumable)


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


def _import_torch():
    """``import torch`` with Ctrl-C held back: a KeyboardInterrupt inside its C++ initialisers aborts the interpreter (pybind11).

    A Ctrl-C pressed meanwhile is delivered when the import is done, as a KeyboardInterrupt in commae's code.
    """
    from ._interrupts import sigint_blocked

    with sigint_blocked():
        import torch
    return torch


def _threads_option(command):
    """Add ``--threads`` to a command; it sets torch's thread count before the command runs."""
    import functools

    @functools.wraps(command)
    def run(*args, threads=None, **kwargs):
        torch = _import_torch()
        before = torch.get_num_threads()
        _set_threads(threads)
        try:
            return command(*args, **kwargs)
        finally:  # a command invoked in-process leaves the caller's setting alone
            torch.set_num_threads(before)

    return _click_option(config.option("threads"))(run)


# click settings of options the table cannot hold: --config fills this command's defaults from a file, first
_EXTRA = {"config": {"is_eager": True, "expose_value": False, "callback": lambda ctx, param, value: _config_file(ctx, value)}}
# train's options: every option of commae.config's table that train takes, in its order (--threads comes with _threads_option)
_TRAIN = [option.param for option in config.options("train") if option.name != "threads"]


@cli.command(short_help="Train an autoencoder and compare it with its baseline.")
@_options(*_TRAIN, command="train")
@click.pass_context
@_threads_option
def train(ctx: click.Context, **opts) -> None:
    """Train an autoencoder end to end and compare it with the matching baseline.

    Writes config.json, model.pt, checkpoint.pt, history.csv and
    constellation.{pdf,png} into --out.
    """
    from .runs import RunError, load_config, load_history, prepare_run_dir, train_run

    _launch(opts["device"])  # under torchrun: join the process group; the run keeps the device as given
    low, high = opts["snr"]
    out = opts["out"] or _default_run_dir(ctx, opts)
    if Path(out).exists() and not Path(out).is_dir():
        raise click.BadParameter(f"{out} is a file, not a run directory", param_hint="'--out'")
    low, high = _to_ebno(low, high, opts["esno"], opts["k"], opts["n"])
    try:
        if opts["resume"]:
            if opts["force"]:
                raise click.UsageError("--resume and --force exclude each other")
            if not opts["out"] and not (Path(out) / "checkpoint.pt").is_file():
                raise click.ClickException(f"cannot resume: there is no run in {out}, the default directory for these options; name the run with --out")
            system, train_cfg = _agreed(lambda: load_config(prepare_run_dir(out, resume=True)))
            given = {name for name in opts if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
            _refuse_changes(ctx, opts, given - _RESUMABLE, system, train_cfg)
            if "epochs" in given and opts["epochs"] != train_cfg.epochs:
                if train_cfg.schedule in ("cosine", "step"):
                    raise click.UsageError(f"--epochs cannot change when resuming a run with --schedule {train_cfg.schedule}: the schedule is laid out over its {train_cfg.epochs} epochs")
                done = len(load_history(out))
                if opts["epochs"] < done:
                    raise click.UsageError(f"--epochs {opts['epochs']} is fewer than the {done} epochs this run has done")
            train_cfg = dataclasses.replace(train_cfg, epochs=opts["epochs"] if "epochs" in given else train_cfg.epochs, device=opts["device"] if "device" in given else train_cfg.device)
        else:
            system, train_cfg = _configs(ctx, opts, (low, high))
            if not opts["force"] and not opts["dry_run"]:
                _refuse_rerun(out, system, train_cfg)
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


def _configs(ctx: click.Context, opts: dict, ebno_db: tuple[float, float]):
    """``(SystemConfig, TrainConfig)`` of train's options: each field from its option in commae.config, checked by its rules."""
    from .models import SystemConfig
    from .training import TrainConfig

    values = {option.name: opts[option.param] for option in config.OPTIONS if option.section != "run" and option.flags}
    values.update(
        output=config.OUTPUT_OF_LOSS[opts["loss"]],
        normalization=opts["normalization"] or "batch",  # None: the channel's default, below
        ebno_db=ebno_db,
        esno_db=opts["snr"] if opts["esno"] else None,
    )
    _check_combinations(ctx, values)
    system = SystemConfig(**{o.name: values[o.name] for o in config.fields("system")})
    if opts["normalization"] is None:  # per message where the receiver does not know a fading gain
        system = dataclasses.replace(system, normalization=system.make_channel().default_normalization)
    return system, TrainConfig(**{o.name: values[o.name] for o in config.fields("train")})


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
        try:
            params[name].type_cast_value(ctx, raw)
        except click.BadParameter as exc:
            raise click.BadParameter(f"{value}: key {name.replace('_', '-')!r}: {exc.message}", ctx=ctx, param_hint="'--config'") from None
    ctx.default_map = {**(ctx.default_map or {}), **options}
    ctx.meta["commae.config_file"] = value  # named when the file sets an option that does not apply


def _tensorboard_dir(value: str | None, out: str) -> str | None:
    """``--tensorboard``'s directory (OUT/tensorboard when given without one); one line when tensorboard is missing."""
    if value is None:
        return None
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        raise click.UsageError("--tensorboard needs the tensorboard package: pip install 'commae[tensorboard]'") from None
    if value:
        from .runs import RUN_FILES

        log_dir, run_dir = Path(value).resolve(), Path(out).resolve()
        if log_dir == run_dir:
            raise click.BadParameter(f"{value} is the run directory; give the logs a directory of their own  [default: {Path(out) / 'tensorboard'}]", param_hint="'--tensorboard'")
        if log_dir.exists() and not log_dir.is_dir() or (log_dir.parent == run_dir and log_dir.name in RUN_FILES):
            raise click.BadParameter(f"{value} is a file{' of the run' if log_dir.parent == run_dir else ''}, not a directory for the logs", param_hint="'--tensorboard'")
    return value or str(Path(out) / "tensorboard")


def _snr_text(low: float, high: float) -> str:
    return f"{low:g} dB" if low == high else f"{low:g} to {high:g} dB"


def _report_more(result, system) -> None:
    """Notes under the table (other baselines' noise, no baseline without CSI) and a collapsed transmitter."""
    if result.other_baselines:
        click.echo("  (a baseline with another n sees the same messages at the same Eb/N0, with its own noise)")
    if result.baseline is None and not system.make_channel().coherent:
        click.echo("  (no coherent baseline exists without CSI over fast fading; over block fading with n >= 2, pilot-aided detection is one)")
    if result.collapsed:
        click.echo(
            f"warning: the transmitter collapsed: messages {', '.join(map(str, result.collapsed))} are sent with (almost) the same symbols "
            "and are decided by chance; retrain with --normalization message",
            err=True,
        )


def _report(result, system, train_cfg, dry_run: bool) -> None:
    last = result.history.last
    if dry_run:
        click.echo(f"dry run: one batch trained, nothing written (val loss {last['val_loss']:.4f})")
    else:
        click.echo(f"run written to {result.run_dir}/: " + " ".join(p.name for p in result.files))
    ebno = _snr_text(*train_cfg.ebno_db)
    esno_db = getattr(train_cfg, "esno_db", None)
    at = f"Es/N0 {_snr_text(*esno_db)} (Eb/N0 {_snr_text(*(round(v, 2) for v in train_cfg.ebno_db))})" if esno_db else f"Eb/N0 {ebno}"
    click.echo(f"validation at {at}, {result.val_messages} messages, the same noise for every system:")
    # a bit-wise receiver's loss bounds the bit-wise MI (BMI), a symbol-wise one's the MI
    info = "BMI (bit)" if system.output == "bit" else "MI (bit)"
    rows = [("autoencoder", last["val_ser"], last["val_ber"], last["val_bler"], last.get("mi_bits"))]
    if result.baseline_metrics is not None:
        b = result.baseline_metrics
        rows.append((f"{result.baseline} (baseline)", b["ser"], b["ber"], b["bler"], b.get("mi_bits")))
    for name, b in result.other_baselines.items():  # e.g. Hamming hard and uncoded BPSK for a (7,4) run
        rows.append((f"{name} (baseline)", b["ser"], b["ber"], b["bler"], b.get("mi_bits")))
    width = max(len("system"), *(len(r[0]) for r in rows)) + 2
    click.echo(f"  {'system':<{width}}{'SER':>11}{'BER':>11}{'BLER':>11}{info:>11}")
    for name, ser, ber, bler, mi in rows:
        mi_text = "" if mi is None else f"{mi:.3f}"
        click.echo(f"  {name:<{width}}{ser:>11.3e}{ber:>11.3e}{bler:>11.3e}{mi_text:>11}")
    if result.baseline_metrics is None:
        click.echo(f"  (no classic baseline with k={system.k} bits in n={system.n} channel uses)")
    _report_more(result, system)


# --- run names and resuming ----------------------------------------------------------------

# Options that say how a run is carried out, not what it computes: they never name a run.
_OPERATIONAL = frozenset(option.param for option in config.OPTIONS if option.operational)
# Options spelled out in a run's name; every other option that differs from its default
# enters the name through a short hash of its value, so different experiments never share a name.
_NAMED = frozenset(option.param for option in config.OPTIONS if option.names_run)


def _default_run_dir(ctx: click.Context, opts: dict) -> str:
    """``runs/`` + a name that spells the main settings and hashes the rest.

    ``commae train --snr 7`` -> ``runs/k4-n1-awgn-7dB``; ``--loss bce`` -> ``runs/k4-n1-awgn-7dB-bce``;
    ``--k 4 --n 7 --real`` -> ``runs/k4-n7-real-awgn-7dB``; ``--batch-size 2048`` -> ``runs/k4-n1-awgn-7dB-x1f0c3a2e``.
    The same options give the same name, so a rerun finds its run.
    """
    import hashlib
    import json

    differ = {}
    for param in ctx.command.params:
        name = param.name
        if name in _OPERATIONAL or name not in opts:
            continue
        default = param.get_default(ctx, call=True)
        if param.callback is not None:
            default = param.callback(ctx, param, default) if default is not None else None
        else:
            default = param.type_cast_value(ctx, default) if default is not None else None
        if opts[name] != default:
            differ[name] = opts[name]
    low, high = opts["snr"]
    parts = [f"k{opts['k']}", f"n{opts['n']}"]
    parts += ["real"] if opts["real"] else []
    parts.append(opts["channel"])
    if opts["channel"] != "awgn":
        parts.append(opts["fading"])
        parts += [] if opts["csi"] else ["nocsi"]
    parts.append(f"{low:g}{'' if low == high else f'to{high:g}'}dB")
    parts += ["esno"] if opts["esno"] else []
    parts += [opts["loss"]] if "loss" in differ else []
    parts += ["points"] if opts["points"] else []
    parts += ["msgnorm"] if opts["normalization"] == "message" else []
    parts += [f"h{opts['hidden']}"] if "hidden" in differ else []
    parts += [opts["optimizer"]] if "optimizer" in differ else []
    parts += [f"lr{opts['lr']:g}"] if "lr" in differ else []
    parts += [f"seed{opts['seed']}"] if "seed" in differ else []
    rest = {name: value for name, value in differ.items() if name not in _NAMED}
    if opts["channel"] == "awgn":  # fading and CSI mean nothing on AWGN, but keep runs apart all the same
        rest.update({name: differ[name] for name in ("fading", "csi") if name in differ})
    if rest:
        text = json.dumps(sorted((k, list(v) if isinstance(v, tuple) else v) for k, v in rest.items()))
        parts.append("x" + hashlib.sha256(text.encode()).hexdigest()[:8])
    return "runs/" + "-".join(parts)


def _stored_value(name: str, system, train_cfg):
    """The value the option ``--name`` (a parameter name) had when the run was made, or a sentinel where the config does not say."""
    option = config.by_param(name)
    if option is None or option.section == "run":
        return _UNKNOWN
    return getattr(system if option.section == "system" else train_cfg, option.name)


_UNKNOWN = object()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _refuse_changes(ctx: click.Context, opts: dict, given: set[str], system, train_cfg) -> None:
    """--resume takes its settings from config.json: an option repeated with its stored value is fine, a change is refused."""
    stored_esno = getattr(train_cfg, "esno_db", None)
    for name in sorted(given):
        if name == "esno":
            same = opts["esno"] == (stored_esno is not None)
        elif name == "snr":
            low, high = _to_ebno(*opts["snr"], opts["esno"], system.k, system.n)
            same = all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip((low, high), train_cfg.ebno_db))
        else:
            stored = _stored_value(name, system, train_cfg)
            same = stored is not _UNKNOWN and _same(opts[name], stored)
        if not same:
            raise click.UsageError(f"--{name.replace('_', '-')} cannot change when resuming; the run's config.json is used (drop the option, or start a new --out)")


def _refuse_rerun(out: str, system, train_cfg) -> None:
    """A failure naming what to do when ``out`` already holds a run of exactly these settings."""
    from .runs import RunError, load_config

    if not (Path(out) / "checkpoint.pt").is_file():
        return
    try:
        stored = load_config(out)
    except RunError:
        return
    if stored[0] == system and dataclasses.replace(stored[1], device=train_cfg.device) == train_cfg:
        raise click.ClickException(f"{out} already holds a run with exactly these settings; pass --resume to continue it, or --force to train it again from scratch")


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
    from ._names import BASELINE_NAMES, is_known_baseline

    for name in value:
        if not is_known_baseline(name):
            raise click.BadParameter(f"{name!r} is not one of {', '.join(BASELINE_NAMES)} (K a positive integer)")
    return value


def _count(ctx: click.Context, param: click.Parameter, value: str) -> int:
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


@cli.command("ber-curve", short_help="Monte-Carlo BER/SER/BLER curves of runs and baselines.")
@click.argument("run_dirs", nargs=-1, type=_Path(file_okay=False), metavar="[RUN_DIR]...")
@click.option(
    "--baseline",
    "baselines",
    multiple=True,
    callback=_baselines,
    help="Baseline to simulate, repeatable: bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16, apsk32, hamming74-hard, hamming74-soft, uncoded-bpsk-K, pilot-qpsk, pilot-qam16 (one pilot + one symbol, block fading without CSI)  [default: the runs' matching baselines]",
)
@_options("channel", "fading", "csi", command="ber-curve")
@click.option("--ebno", "ebno", default="0:12:1", callback=_ebno_points, help="Eb/N0 points in dB: START:STOP:STEP (STOP included) or a comma list.")
@click.option("--target-errors", type=click.IntRange(min=1), default=100, help="Errors (of --target-metric) per system before a point stops.")
@click.option("--target-metric", type=click.Choice(["bit", "symbol", "block"]), default="bit", help="Which errors --target-errors counts: block for BLER curves.")
@click.option("--max-bits", default="1e8", callback=_count, metavar="INTEGER", help="Most bits a system spends at one point (1e8 style allowed; at most 2**62).")
@click.option("--batch-size", default="131072", callback=_count, metavar="INTEGER", help="Messages per vectorised batch (per process under torchrun; at most 2**24).")
@click.option("--confidence", type=Finite(0, 1, min_open=True, max_open=True), default=0.95, help="Level of the Clopper-Pearson intervals.")
@click.option("--theory/--no-theory", default=True, help="Add closed-form columns where theory has them.")
@_options("seed", "device", command="ber-curve")
@click.option("--out", type=_Path(dir_okay=False), default="results.csv", help="CSV to write; the settings go to the same name with .json.")
@_options("force", "quiet", *config.IMPAIRMENTS, command="ber-curve")
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    help="Learned receivers' inference: bf16 autocast, first checked against fp32 on the same draws at every point (refused if its BER leaves fp32's interval).",
)
@_threads_option
@click.pass_context
def ber_curve(
    ctx, run_dirs, baselines, channel, fading, csi, ebno, target_errors, target_metric, max_bits, batch_size, confidence, theory, seed, device, out, force, quiet, precision, **impairment_opts
) -> None:
    """Monte-Carlo BER/SER/BLER curves of trained runs and baselines, on the same noise.

    Writes one CSV row per (system, Eb/N0) with counts, rates and
    Clopper-Pearson bounds, and a JSON of the settings beside it.
    """
    from .baselines import make_baseline, matching_baselines
    from .models import make_channel
    from .runs import RunError, check_device, load_model
    from .simulation import simulate, write_results

    if not run_dirs and not baselines:
        raise click.UsageError("give at least one RUN_DIR or --baseline")
    impairments = _impairments(ctx, impairment_opts)
    _refuse_unused_channel(ctx, baselines, impairments)
    out_path = Path(out)
    if out_path.suffix.lower() == ".json":  # the settings go beside the CSV under the same name with .json
        raise click.BadParameter(f"{out} would be both the CSV and its settings file {out_path.with_suffix('.json').name}; give the CSV a .csv name", param_hint="'--out'")
    device = _launch(device)
    main = _rank() == 0

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
        base_channel = make_channel(channel, fading=fading, csi=csi, **impairments)
        try:
            compared = {name: make_baseline(name, base_channel) for name in baselines}
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    else:  # each run's matching baseline, on that run's channel
        for model in learned.values():
            for base in matching_baselines(model.k, model.n, model.channel):
                compared.setdefault(base.name, base)
    checks = _reduced_precision(learned, precision, ebno, batch_size, seed, dev, confidence, quiet or not main) if precision != "fp32" else None
    systems = {**learned, **compared}
    per_rank: list = []
    rows = simulate(
        systems,
        ebno,
        target_errors=target_errors,
        max_bits=max_bits,
        batch_size=batch_size,
        seed=seed,
        device=dev,
        confidence=confidence,
        theory=theory,
        progress=not quiet,
        target_metric=target_metric,
        rank_counts=per_rank,
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
        **impairments,
        "ebno_db": ebno,
        "target_errors": target_errors,
        "target_metric": target_metric,
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
        w = max([len("system"), *(len(r["system"]) for r in rows)]) + 2  # the longest name sets the column
        click.echo(f"{'system':<{w}}{'Eb/N0':>6}{'bits':>11}{'errors':>8}{'BER':>11}{'95% interval' if confidence == 0.95 else 'interval':>24}{'theory':>11}{'SER':>11}{'BLER':>11}")
        for r in rows:
            interval = f"[{r['ber_low']:.2e}, {r['ber_high']:.2e}]"
            th = "" if r["ber_theory"] != r["ber_theory"] else f"{r['ber_theory']:.2e}"
            click.echo(f"{r['system']:<{w}}{r['ebno_db']:>6g}{r['bits']:>11.3g}{r['bit_errors']:>8}{r['ber']:>11.2e}{interval:>24}{th:>11}{r['ser']:>11.2e}{r['bler']:>11.2e}")
    click.echo(f"wrote {csv_path} and {json_path}")


def _refuse_unused_channel(ctx: click.Context, baselines: tuple[str, ...], impairments: dict) -> None:
    """ber-curve's channel options set the baselines' channel; a run uses its own, so without --baseline they apply to nothing."""
    if baselines:
        return
    if impairments != _impairments_default():
        raise click.UsageError("the impairment options set the baselines' channel and a run uses its own: add --baseline NAME")
    for name in ("channel", "fading", "csi"):
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            flag = config.option(name).flag_for(ctx.params[name])
            raise click.UsageError(f"{flag} sets the baselines' channel and a run uses its own: add --baseline NAME")


def _reduced_precision(learned: dict, precision: str, ebno: list[float], messages: int, seed: int, device, confidence: float, quiet: bool) -> dict:
    """Swap the learned systems for bf16 receivers after checking them against fp32; refuse the option when a BER moves out of fp32's interval."""
    from .simulation import Bf16Receiver, check_bf16

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
    formats = list(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))  # pdf,pdf is one file
    bad = [f for f in formats if f not in _FORMATS]
    if not formats or bad:
        raise click.BadParameter(f"{value!r}: give a comma list of {', '.join(_FORMATS)}")
    return formats


def _plot_options(default_out: str):
    def decorate(f):
        f = click.option("--force", is_flag=True, help="Overwrite existing output files.")(f)
        f = click.option("--title", default=None, help="Axes title  [default: none, as journals prefer]")(f)
        f = click.option("--out", default=default_out, type=_Path(dir_okay=False), help="Output path without extension; one file per format.")(f)
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


def _labels(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for item in value:
        system, sep, name = item.partition("=")
        if not sep or not system or not name:
            raise click.BadParameter(f"{item!r} is not SYSTEM=NAME (e.g. qam16=16-QAM)")
        labels[system] = name
    return labels


def _limits(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value.split(":"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not LOW:HIGH (e.g. 0:12)") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise click.BadParameter(f"{value!r}: LOW and HIGH must be finite with LOW < HIGH")
    return low, high


@cli.group(short_help="Paper figures from runs and ber-curve CSVs.")
def plot() -> None:
    """Paper figures from runs and ber-curve CSV files (never re-simulates)."""
    _single_process("plot")


@plot.command("constellation")
@click.argument("run_dir", type=_Path(file_okay=False))
@click.option("--bits/--no-bits", default=True, help="Write each message's bits beside its point.")
@click.option("--regions", is_flag=True, help="Shade the receiver's decision regions (one panel per bit for a bit-wise receiver).")
@click.option("--cloud", type=Finite(-_DB_LIMIT, _DB_LIMIT), default=None, metavar="EBNO_DB", help="Add received samples at this Eb/N0 in dB  [default: none]")
@click.option(
    "--projection", type=click.Choice(["pca", "tsne"]), default="pca", help="How a codebook of more than 2 real coordinates (n > 1, or n > 2 real uses) is drawn in 2-D: principal axes, or t-SNE."
)
@_plot_options("constellation")
def plot_constellation_cmd(run_dir, bits, regions, cloud, projection, style_name, formats, out, title, force) -> None:
    """The learned constellation of RUN_DIR.

    One complex use: the I/Q plane. More coordinates: one panel with the
    codewords projected to 2-D (--projection), readable at column width.
    """
    _import_torch()
    from .plotting import plot_system_constellation, style
    from .runs import RunError, load_model

    base = _targets(out, formats, force)
    try:
        model = load_model(run_dir)
    except RunError as exc:
        raise click.ClickException(str(exc)) from None
    if regions and (model.n > 1 or model.real):
        raise click.UsageError("--regions needs a run with n=1 complex channel use (with several uses the receiver decides jointly)")
    if cloud is not None and projection == "tsne" and (model.n > 2 or (model.n > 1 and not model.real)):
        raise click.UsageError("--cloud cannot be drawn with --projection tsne (t-SNE places the codewords only); use --projection pca")
    with style(style_name):
        axes = plot_system_constellation(model, bits=bits, regions=regions, cloud_ebno_db=cloud, projection=projection)
        if title:
            axes[0].figure.suptitle(title)
        _save(axes[0].figure, base, formats)


@plot.command("ber")
@click.argument("csv_files", nargs=-1, required=True, type=_Path(exists=True, dir_okay=False), metavar="RESULTS.csv...")
@click.option("--metric", type=click.Choice(["ber", "ser", "bler"]), default="ber", help="Error rate on the y axis.")
@click.option("--esno", is_flag=True, help="Es/N0 (dB) on the x axis instead of Eb/N0.")
@click.option("--theory/--no-theory", default=True, help="Draw closed forms where the CSV has them.")
@click.option(
    "--label",
    "labels",
    multiple=True,
    callback=_labels,
    metavar="SYSTEM=NAME",
    help="Legend name of a system, repeatable (e.g. --label 'k4-n1-awgn-7dB=Autoencoder')  [default: as a paper names it: 16-QAM, Autoencoder (1,4)]",
)
@click.option("--xlim", default=None, callback=_limits, metavar="LOW:HIGH", help="x-axis range in dB  [default: the data's]")
@click.option("--ylim", default=None, callback=_limits, metavar="LOW:HIGH", help="y-axis range, error rates (e.g. 1e-6:1)  [default: the data's]")
@_plot_options("ber")
def plot_ber_cmd(csv_files, metric, esno, theory, labels, xlim, ylim, style_name, formats, out, title, force) -> None:
    """Error-rate curves from ber-curve CSV files, with Clopper-Pearson error bars."""
    _import_torch()
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
    unknown = sorted(set(labels) - {r["system"] for r in merged})
    if unknown:
        raise click.BadParameter(f"no system {unknown[0]!r} in the CSV; systems: {', '.join(dict.fromkeys(r['system'] for r in merged))}", param_hint="'--label'")
    if ylim is not None and ylim[0] <= 0:
        raise click.BadParameter(f"{ylim[0]:g}: error rates on a log axis must be > 0", param_hint="'--ylim'")
    with style(style_name):
        ax = plot_error_rates(merged, metric=metric, esno=esno, theory=theory, labels=labels, xlim=xlim, ylim=ylim)
        if title:
            ax.set_title(title)
        _save(ax.figure, base, formats)


@plot.command("curves")
@click.argument("run_dirs", nargs=-1, required=True, type=_Path(file_okay=False), metavar="RUN_DIR...")
@click.option("--metric", type=click.Choice(["loss", "ser", "mi"]), default="loss", help="loss: train (thin) and val loss; ser: val SER; mi: MI bound in bits.")
@_plot_options("curves")
def plot_curves_cmd(run_dirs, metric, style_name, formats, out, title, force) -> None:
    """Learning curves of one or several runs, labelled by optimiser and learning rate."""
    _import_torch()
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
@click.argument("run_dirs", nargs=-1, type=_Path(file_okay=False), metavar="[RUN_DIR]...")
@click.option("--baseline", "baselines", multiple=True, callback=_baselines, help="A modem whose constellation to evaluate, repeatable: bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16, apsk32.")
@click.option("--esno", "esno", default="0:25:1", callback=_ebno_points, help="Es/N0 points in dB per channel use: START:STOP:STEP or a comma list.")
@_options("channel", command="info")
@click.option("--samples", type=click.IntRange(min=1000), default=200_000, help="Monte-Carlo samples per point (rayleigh).")
@_options("seed", command="info")
@click.option("--out", type=_Path(dir_okay=False), default="info.csv", help="CSV to write.")
@_options("force", "quiet", *config.IMPAIRMENTS, command="info")
@_threads_option
@click.pass_context
def info(ctx, run_dirs, baselines, esno, channel, samples, seed, out, force, quiet, **impairment_opts) -> None:
    """Mutual information (MI) and bit-wise MI (BMI) of constellations, beside the capacity.

    For each run (n = 1 complex use) and each baseline modem, writes one CSV row
    per Es/N0 point: MI and BMI in bits per channel use (equiprobable points;
    the BMI with the constellation's bit labels — a learned symbol-wise system
    is labelled by its message index), Eb/N0, and the channel capacity.
    """
    import numpy as np

    from ._files import atomic_write
    from .baselines import make_baseline
    from .information import channel_capacity, channel_mi
    from .models import make_channel
    from .runs import RunError, load_model
    from .snr import esno_db_to_ebno_db

    if not run_dirs and not baselines:
        raise click.UsageError("give at least one RUN_DIR or --baseline")
    impairments = _impairments(ctx, impairment_opts)
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
            raise click.BadParameter(f"{name!r} is a code, not a constellation: use bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16 or apsk32", param_hint="'--baseline'")
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
    law = make_channel(channel, **impairments)  # the channel says which MI estimator and capacity apply
    capacity = channel_capacity(law, points)  # NaN where there is no closed form
    if impairments != _impairments_default():  # (rician's K is one) named with its parameters
        channel = law.name
    header = ["system", "channel", "esno_db", "ebno_db", "mi_bits_per_use", "bmi_bits_per_use", "capacity_bits_per_use"]
    lines = [",".join(header)]
    table = []
    for name, constellation in constellations.items():
        both = channel_mi(constellation, law, points, num_samples=samples, seed=seed)  # None: no valid MI over this channel
        mis, bmis = (np.full(points.shape, np.nan),) * 2 if both is None else (np.atleast_1d(v) for v in both)
        for e, m, b, c in zip(points, mis, bmis, np.atleast_1d(capacity)):
            ebno = float(esno_db_to_ebno_db(float(e), constellation.k))
            lines.append(",".join([name, channel, repr(float(e)), repr(ebno), *("" if v != v else repr(float(v)) for v in (m, b, c))]))
            table.append((name, float(e), float(m), float(b), float(c)))
    if not main:
        return
    atomic_write(out_path, "\n".join(lines) + "\n")
    if not quiet:
        w = max([len("system"), *(len(t[0]) for t in table)]) + 2
        click.echo(f"{'system':<{w}}{'Es/N0':>7}{'MI':>9}{'BMI':>9}{'capacity':>10}   (bits per channel use)")
        for name, e, m, b, c in table:
            mi_text = f"{m:>9.4f}{b:>9.4f}" if m == m else f"{'-':>9}{'-':>9}"
            click.echo(f"{name:<{w}}{e:>7g}{mi_text}{c:>10.4f}" if c == c else f"{name:<{w}}{e:>7g}{mi_text}{'-':>10}")
        if table and table[0][2] != table[0][2]:
            click.echo(f"(no MI over {law.name}: a receiver without the fading gain, or a channel without a likelihood commae can evaluate)")
    click.echo(f"wrote {out_path}")


# --- commae gap ---------------------------------------------------------------------------------


def _rates(ctx: click.Context, param: click.Parameter, value: str | None) -> list[float] | None:
    if value is None:
        return None
    try:
        rates = [float(v) for v in value.split(",")]
    except ValueError:
        rates = []
    if not rates or not all(0 < r < 1 for r in rates):
        raise click.BadParameter(f"{value!r} is not a comma list of error rates in (0, 1), e.g. 1e-2,1e-3")
    return rates


@cli.command("gap", short_help="Eb/N0 gap between curves at equal error rate.")
@click.argument("csv_file", type=_Path(exists=True, dir_okay=False), metavar="RESULTS.csv")
@click.option("--reference", required=True, help="System of the CSV the others are measured against (e.g. hamming74-soft).")
@click.option("--system", "systems", multiple=True, help="System to compare, repeatable  [default: every other system in the CSV]")
@click.option("--metric", type=click.Choice(["ber", "ser", "bler"]), default="bler", help="Error rate the curves are matched on.")
@click.option("--rate", "rates", default=None, callback=_rates, help="Comma list of error rates, e.g. 1e-2,1e-3  [default: the rate of each of the system's points]")
@click.option("--out", type=_Path(dir_okay=False), default="gaps.csv", help="CSV to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing --out.")
@click.option("--quiet", "-q", is_flag=True, help="No table.")
def gap(csv_file, reference, systems, metric, rates, out, force, quiet) -> None:
    """Eb/N0 (dB) a system needs beyond the reference at equal error rate, from a ber-curve CSV.

    Interpolates log10(rate) linearly in Eb/N0 between the measured points;
    the interval comes from the curves of the Clopper-Pearson bounds. A
    positive gap means the system needs more energy.
    """
    _import_torch()
    from .simulation import ebno_gaps, read_results, write_gaps

    out_path = _out_parent(out)
    _refuse_existing([out_path], force)
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
        click.echo(f"{'system':<18}{metric.upper():>10}{'Eb/N0':>8}{'reference':>11}{'gap (dB)':>10}   interval")
        for g in table:
            click.echo(f"{g['system']:<18}{g['rate']:>10.2e}{g['ebno_db']:>8.2f}{g['reference_ebno_db']:>11.2f}{g['gap_db']:>+10.2f}   [{g['gap_low_db']:+.2f}, {g['gap_high_db']:+.2f}]")
    click.echo(f"wrote {out_path}")
