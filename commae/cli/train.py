"""``commae train``: options -> SystemConfig and TrainConfig -> :func:`commae.runs.train_run` -> the summary table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from .. import config
from .combinations import check_combinations
from .launch import agreed, is_main, launch
from .options import SectionedCommand, table_options, threads_option
from .report import train_summary

__all__ = ["train"]

# train's options: every option of commae.config's table that train takes, in its order (--threads comes with threads_option)
_TRAIN = [option.param for option in config.options("train") if option.name != "threads"]


@click.command(cls=SectionedCommand, short_help="Train an autoencoder and compare it with its baseline.")
@table_options(*_TRAIN, command="train")
@click.pass_context
@threads_option
def train(ctx: click.Context, **opts) -> None:
    """Train an autoencoder end to end and compare it with the matching baseline.

    Writes config.json, model.pt, checkpoint.pt, history.csv and
    constellation.{pdf,png} into --out.
    """
    from ..runs import (
        CHECKPOINT,
        ResumeRefused,
        RunError,
        RunExists,
        default_run_dir,
        load_config,
        prepare_run_dir,
        refuse_rerun,
        resumed_settings,
        train_run,
        training_ebno_db,
    )

    launch(opts["device"])  # under torchrun: join the process group; the run keeps the device as given
    out = opts["out"] or default_run_dir(opts)
    if Path(out).exists() and not Path(out).is_dir():
        raise click.BadParameter(f"{out} is a file, not a run directory", param_hint="'--out'")
    try:
        if opts["resume"]:
            if opts["force"]:
                raise click.UsageError("--resume and --force exclude each other")
            if not opts["out"] and not (Path(out) / CHECKPOINT).is_file():
                raise click.ClickException(f"cannot resume: there is no run in {out}, the default directory for these options; name the run with --out")
            system, train_cfg = agreed(lambda: load_config(prepare_run_dir(out, resume=True)))
            # the run named by --out keeps its config.json where this command says nothing; the default
            # directory of these options must hold a run of exactly these options (the command line, the
            # --config file and the defaults)
            effective = None if opts["out"] else _configs(ctx, opts, training_ebno_db(opts["snr"], opts["esno"], opts["k"], opts["n"]))
            train_cfg = resumed_settings(out, opts, _given(ctx, opts), system, train_cfg, effective)
        else:
            system, train_cfg = _configs(ctx, opts, training_ebno_db(opts["snr"], opts["esno"], opts["k"], opts["n"]))
            if not opts["force"] and not opts["dry_run"]:
                refuse_rerun(out, system, train_cfg)
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
    except ResumeRefused as exc:
        raise click.UsageError(str(exc)) from None
    except (RunError, RunExists) as exc:
        raise click.ClickException(str(exc)) from None
    if is_main():
        train_summary(result, system, train_cfg, opts["dry_run"])


def _given(ctx: click.Context, opts: dict) -> set[str]:
    """The options the user gave (parameter names): on the command line, or in the ``--config`` file."""
    sources = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.DEFAULT_MAP)
    return {name for name in opts if ctx.get_parameter_source(name) in sources}


def _configs(ctx: click.Context, opts: dict, ebno_db: tuple[float, float]):
    """``(SystemConfig, TrainConfig)`` of train's options: each field from its option in commae.config, checked by its rules."""
    from ..models import SystemConfig
    from ..training import TrainConfig

    values = {option.name: opts[option.param] for option in config.OPTIONS if option.section != "run" and option.flags}
    values.update(
        output=config.OUTPUT_OF_LOSS[opts["loss"]],
        normalization=opts["normalization"],  # None: the channel's default (SystemConfig asks it)
        ebno_db=ebno_db,
        esno_db=opts["snr"] if opts["esno"] else None,
    )
    check_combinations(ctx, values)
    system = SystemConfig(**{o.name: values[o.name] for o in config.fields("system")})
    reason = config.no_information(dataclasses.asdict(system))  # before any training: a system that cannot learn anything
    if reason:
        raise click.UsageError(reason)
    return system, TrainConfig(**{o.name: values[o.name] for o in config.fields("train")})


def _tensorboard_dir(value: str | None, out: str) -> str | None:
    """``--tensorboard``'s directory (OUT/tensorboard when given without one); one line when tensorboard is missing."""
    if value is None:
        return None
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        raise click.UsageError("--tensorboard needs the tensorboard package: pip install 'commae[tensorboard]'") from None
    if value:
        from ..runs import RUN_FILES

        log_dir, run_dir = Path(value).resolve(), Path(out).resolve()
        if log_dir == run_dir:
            raise click.BadParameter(f"{value} is the run directory; give the logs a directory of their own  [default: {Path(out) / 'tensorboard'}]", param_hint="'--tensorboard'")
        if log_dir.exists() and not log_dir.is_dir() or (log_dir.parent == run_dir and log_dir.name in RUN_FILES):
            raise click.BadParameter(f"{value} is a file{' of the run' if log_dir.parent == run_dir else ''}, not a directory for the logs", param_hint="'--tensorboard'")
    return value or str(Path(out) / "tensorboard")
