"""The options the commands share, each defined once.

:func:`click_option` turns an option of :mod:`commae.config`'s table into a
``click.option`` (flags, type, default, help), so ``--seed``, ``--device``,
``--force``, ``--quiet``, ``--threads`` and the impairment options read the
same wherever a command takes them; :func:`force_option` and
:func:`quiet_option` give the commands outside the table (``gap``, ``plot``)
the same flags. ``--out`` of a file-writing command, the plot options and
the checks that nothing of the user's is overwritten without ``--force``
are here too.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from .. import config, launcher
from ..threads import threads_here
from .errors import import_torch
from .types import LimitedPath, click_type, figure_formats, parsed

__all__ = [
    "SectionedCommand",
    "click_option",
    "table_options",
    "force_option",
    "quiet_option",
    "impairment_options",
    "out_file_option",
    "threads_option",
    "plot_options",
    "out_parent",
    "refuse_existing",
]


class SectionedCommand(click.Command):
    """A command whose ``--help`` lists the table's options in sections (:data:`commae.config.HELP_SECTIONS`, by ``Option.group``).

    Within a section the options keep the command's order; options outside
    the table (``--help``) follow under "Options".
    """

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {title: [] for title in [*config.HELP_SECTIONS.values(), "Options"]}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            option = config.by_param(param.name or "")
            sections[config.HELP_SECTIONS[option.group] if option is not None else "Options"].append(record)
        # one column of help text across the sections, as click lays out a single list (its first column is at most 30 wide)
        width = min(max((len(term) for records in sections.values() for term, _ in records), default=0), 30)
        for title, records in sections.items():
            if records:
                with formatter.section(title):
                    formatter.write_dl([(term.ljust(width), text) for term, text in records])


def click_option(option: config.Option, command: str = "train", **extra):
    """``option`` as a ``click.option`` decorator of ``command``: its flags, type, default and help from the table."""
    kwargs = {"default": option.cli_default, "help": option.help_for(command), **extra}
    if isinstance(option.check, config.Flag) and "/" not in option.flags[0]:
        kwargs["is_flag"] = True  # --csi/--no-csi is a boolean flag by its spelling
    if option.flag_value is not None:  # may be given without a value (--tensorboard alone)
        kwargs.update(is_flag=False, flag_value=option.flag_value)
    if click_type(option.check) is not None:
        kwargs["type"] = click_type(option.check)
    if hasattr(option.check, "parse"):
        kwargs["callback"] = parsed(option.check)
    if option.metavar is not None:
        kwargs["metavar"] = option.metavar
    return click.option(*option.flags, option.param, **kwargs)


def table_options(*params: str, command: str):
    """The table's options with these parameter names as decorators of ``command``, in that order."""

    def decorate(f):
        for param in reversed(params):
            option = config.by_param(param)
            f = click_option(option, command, **_EXTRA.get(param, {}))(f)
        return f

    return decorate


# gap writes one CSV, as info does: the same --force and --quiet
_SAME_HELP_AS = {"gap": "info"}
_FORCE_HELP = {"plot": "Overwrite existing output files."}


def force_option(command: str):
    """``--force``: overwrite what ``--out`` names (without it, :func:`refuse_existing` keeps the user's files)."""
    option = config.option("force")
    return click_option(option, command, help=_FORCE_HELP.get(command) or option.help_for(_SAME_HELP_AS.get(command, command)))


def quiet_option(command: str):
    """``--quiet``/``-q``: no progress and no table."""
    option = config.option("quiet")
    return click_option(option, command, help=option.help_for(_SAME_HELP_AS.get(command, command)))


def impairment_options(command: str):
    """The channel impairment options (:data:`commae.config.IMPAIRMENTS`), as ``command`` takes them."""
    return table_options(*config.IMPAIRMENTS, command=command)


def out_file_option(default: str, help: str = "CSV to write."):
    """``--out FILE`` of a command that writes one file (or one per format)."""
    return click.option("--out", type=LimitedPath(dir_okay=False), default=default, help=help)


def plot_options(default_out: str, title_default: str = "none, as journals prefer"):
    """The options every ``commae plot`` figure takes: style, formats, ``--out``, title (``title_default`` says what it is without one), ``--force``."""

    def decorate(f):
        f = force_option("plot")(f)
        f = click.option("--title", default=None, help=f"Axes title  [default: {title_default}]")(f)
        f = out_file_option(default_out, "Output path without extension; one file per format.")(f)
        f = click.option("--format", "formats", default="pdf,png", callback=figure_formats, help="Comma list of pdf, png, svg.")(f)
        f = click.option("--style", "style_name", type=click.Choice(["ieee", "ieee-wide", "presentation"]), default="ieee", help="Figure style (ieee: one 3.5-in column).")(f)
        return f

    return decorate


def threads_option(command):
    """Add ``--threads`` to a command; it sets torch's thread count before the command runs (:func:`commae.threads.threads_here`)."""

    @functools.wraps(command)
    def run(*args, threads=None, **kwargs):
        torch = import_torch()
        before = torch.get_num_threads()
        torch.set_num_threads(threads_here(threads, torch_default=before, ranks_per_node=launcher.ranks_per_node()))
        try:
            return command(*args, **kwargs)
        finally:  # a command invoked in-process leaves the caller's setting alone
            torch.set_num_threads(before)

    return click_option(config.option("threads"))(run)


# --- --config: a file's options become the command's defaults -----------------------------------


def _config_file(ctx: click.Context, value: str | None) -> None:
    """``--config``: the file's options become this command's defaults, so the command line wins."""
    if value is None:
        return
    from ..config_files import ConfigFileError, read_train_options

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


# click settings of options the table cannot hold: --config fills this command's defaults from a file, first
_EXTRA = {"config": {"is_eager": True, "expose_value": False, "callback": lambda ctx, param, value: _config_file(ctx, value)}}


# --- --out and --force: nothing of the user's is overwritten -------------------------------------


def out_parent(out: str, option: str = "--out") -> Path:
    """``out`` as a path whose directory exists (a usage error naming ``option`` otherwise)."""
    path = Path(out)
    if not path.parent.is_dir():
        raise click.BadParameter(f"{out}: the directory {path.parent} does not exist", param_hint=f"'{option}'")
    return path


def refuse_existing(paths: list[Path], force: bool) -> None:
    """A failure (exit 1) naming the files that exist, unless ``--force``: nothing of the user's is overwritten."""
    taken = [str(p) for p in paths if p.exists()]
    if taken and not force:
        names = taken[0] if len(taken) == 1 else f"{', '.join(taken[:-1])} and {taken[-1]}"
        raise click.ClickException(f"{names} {'exists' if len(taken) == 1 else 'exist'}; pass --force to overwrite, or write elsewhere with --out")
