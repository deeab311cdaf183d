"""How a ``commae`` command ends: one line per error, its exit status, and the process group left cleanly.

Usage errors print ``Error: ... (see 'commae train --help')`` and exit with
status 2; failures (:class:`click.ClickException`, a file that cannot be
written, a lost torchrun peer) exit 1; Ctrl-C exits 130 with a line saying
what was kept and, for a training run, the command that continues it. No
traceback reaches the user. Under ``torchrun`` only rank 0 prints, except a
lost peer, which every surviving rank reports; every rank exits with the same
status.
"""

from __future__ import annotations

import sys

import click

from .. import launcher

__all__ = ["OneLineErrors", "import_torch"]


class OneLineErrors(click.Group):
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
        speak = launcher.env_rank() == 0
        try:
            super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            if launcher.under_launcher():  # a clean end: every rank leaves the group together
                from ..distributed import teardown

                teardown(barrier=True)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            if speak:
                click.echo(f"Error: {exc.format_message()}{where}", err=True)
            _leave(exc.exit_code, speak)
        except click.ClickException as exc:
            if speak:
                exc.show()
            _leave(exc.exit_code, speak)
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
            click.echo(f"Error: rank {launcher.env_rank()} lost contact with the other ranks (did one of them stop?): {first[:200]}", err=True)
            sys.exit(1)
        finally:
            if launcher.under_launcher():
                from ..distributed import teardown

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
    if not launcher.under_launcher():
        return False
    import torch.distributed as dist

    text = str(exc)
    return isinstance(exc, getattr(dist, "DistError", ())) or any(s in text for s in ("gloo", "NCCL", "Connection closed", "Connection reset", "Timed out", "timed out"))


def import_torch():
    """``import torch`` with Ctrl-C held back: a KeyboardInterrupt inside its C++ initialisers aborts the interpreter (pybind11).

    A Ctrl-C pressed meanwhile is delivered when the import is done, as a KeyboardInterrupt in commae's code.
    """
    from .._interrupts import sigint_blocked

    with sigint_blocked():
        import torch
    return torch


#: How long a silent rank waits before leaving on an error that every rank found, so that torchrun,
#: which stops the other workers when the first one exits, does not stop rank 0 before it has printed the line.
_SILENT_RANK_DELAY_S = 2.0


def _leave(code: int, speak: bool) -> None:
    """Exit with ``code``; under torchrun a rank that does not print waits first (rank 0 prints the error)."""
    if not speak and launcher.under_launcher():
        import time

        time.sleep(_SILENT_RANK_DELAY_S)
    sys.exit(code)
