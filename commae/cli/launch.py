"""The command line under ``torchrun``: joining the process group, deciding together, refusing where one process is the rule.

The launcher's environment is read only through :mod:`commae.launcher`
(torch-free); :mod:`commae.distributed`, and with it torch, is imported only
when a launcher started this process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from .. import launcher

__all__ = ["launch", "agreed", "single_process", "is_main"]

T = TypeVar("T")


def is_main() -> bool:
    """True on the rank that prints and writes (rank 0; the only one without a launcher)."""
    return launcher.env_rank() == 0


def launch(device: str) -> str:
    """Join torchrun's process group when launched by it; the device this rank uses (``cuda:LOCAL_RANK`` on GPUs)."""
    if not launcher.under_launcher():
        return device
    from ..distributed import DistributedError, setup

    try:
        return str(setup(device))
    except DistributedError as exc:
        raise click.UsageError(str(exc)) from None


def agreed(fn: Callable[[], T]) -> T:
    """``fn()`` on every rank; if it fails on any rank, the same one-line error on all of them (see distributed.agree)."""
    if not launcher.under_launcher():
        return fn()
    from ..distributed import RankFailed, agree

    try:
        return agree(fn, usage_errors=(click.UsageError,))
    except RankFailed as exc:
        raise (click.UsageError(str(exc)) if exc.usage else click.ClickException(str(exc))) from None


def single_process(command: str) -> None:
    """Refuse a command that does not split its work when torchrun starts several ranks."""
    if launcher.launched():
        raise click.UsageError(f"commae {command} runs in one process; launch it without torchrun (train, ber-curve and info scale with torchrun)")
