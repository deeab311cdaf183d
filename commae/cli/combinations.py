"""Which options apply: commae.config's combination rules over what the user gave.

"Given" means on the command line, or in a ``--config`` file with another
value than the default; a refusal is one usage line naming the option (and
the file that set it).
"""

from __future__ import annotations

import click

from .. import config

__all__ = ["check_combinations", "impairments", "no_impairments"]


def no_impairments() -> dict:
    """The impairment keywords when no option is given (no impairment)."""
    return {name: config.default(name) for name in config.IMPAIRMENTS}


def impairments(ctx: click.Context, opts: dict) -> dict:
    """The impairment options as make_channel/SystemConfig keywords, once the command's options pass commae.config's rules."""
    check_combinations(ctx, {option.name: ctx.params[option.param] for option in _table_options(ctx)})
    return {name: opts[name] for name in config.IMPAIRMENTS}


def check_combinations(ctx: click.Context, values: dict) -> None:
    """commae.config's combination rules over the command's ``values`` (config.json keys); a refusal is one usage line naming the option."""
    given = _given(ctx)
    try:
        config.check_combinations(values, given)
    except config.ConfigError as exc:
        where = given.get(exc.option)
        raise click.UsageError(exc.message("option") + (f" (set in {where})" if where else "")) from None


def _given(ctx: click.Context) -> dict[str, str]:
    """The table's options the user gave, by name: on the command line, or with another value than the default in a --config file.

    Each maps to where it was given (``""``: the command line; else the --config file).
    """
    given = {}
    for option in _table_options(ctx):
        source = ctx.get_parameter_source(option.param)
        if source == click.core.ParameterSource.COMMANDLINE:
            given[option.name] = ""
        elif source == click.core.ParameterSource.DEFAULT_MAP and ctx.params[option.param] != option.unset_value:
            given[option.name] = ctx.meta.get("commae.config_file", "--config")
    return given


def _table_options(ctx: click.Context) -> list[config.Option]:
    """The options of the table this command took (those whose values are in ``ctx.params``)."""
    return [option for option in config.options(ctx.command.name or "") if option.param in ctx.params]
