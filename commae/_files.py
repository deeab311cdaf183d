"""Atomic file writes: temp files beside the targets, then renames, so no reader ever sees half a file.

A temp file is ``.NAME.tmp-PID`` beside ``NAME``; a failed write removes it.
A process killed outright leaves it behind: the next write of ``NAME`` removes
it once no process of that pid runs here (POSIX only: Windows has no harmless
way to ask), and :func:`remove_stale_temps` removes them all where a lock says
no writer can be running.
A write that fails (a full disk, a read-only file system) raises
:class:`WriteError`, whose message is one line naming the file.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import math
import numbers
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from ._interrupts import deferred_sigint

__all__ = ["WriteError", "atomic_path", "atomic_paths", "atomic_write", "csv_text", "temp_path", "remove_stale_temps", "writing"]


class WriteError(OSError):
    """A file could not be written; ``str()`` is ``cannot write PATH: REASON``."""

    def __init__(self, path: str | os.PathLike, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def temp_path(path: str | os.PathLike) -> Path:
    """The hidden temp file that stands for ``path`` while it is written: ``.NAME.tmp-PID``."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def remove_stale_temps(directory: Path, names: Iterable[str]) -> list[Path]:
    """Remove the temp files of ``names`` in ``directory`` left by killed writers (any pid); return them.

    Call it only where no other process can be writing those files (under the directory's lock).
    """
    removed = []
    for name in names:
        for temp in directory.glob(f".{name}.tmp-*"):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
                removed.append(temp)
    return removed


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | os.PathLike]) -> Iterator[list[Path]]:
    """Yield a temp path for each of ``paths``; on a clean exit each is flushed and renamed over its target, in order.

    Until every temp is written and flushed no target changes, so a failure
    (an exception, a full disk) leaves all of them as they were; the renames
    are not interrupted by Ctrl-C. A process killed between two renames can
    leave the first target new and the later ones old: put the file that
    describes the others first. Any ``OSError``, or an error raised while
    handling one, becomes a :class:`WriteError` naming the file; the temps are
    removed.
    """
    paths = [Path(p) for p in paths]
    temps = [temp_path(p) for p in paths]
    for path in paths:
        _remove_dead_writers_temps(path)
    current = None
    try:
        with _naming(lambda cause: current if current is not None else _failed_target(paths, temps, cause)):
            yield temps
            for path, temp in zip(paths, temps):
                current = path
                _fsync(temp)
            with deferred_sigint():
                for path, temp in zip(paths, temps):
                    current = path
                    os.replace(temp, path)
    finally:
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink()


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Inside :func:`atomic_paths`, mark the block that writes ``path``'s temp file, so that its failure names ``path``."""
    with _naming(lambda cause: path):
        yield


@contextlib.contextmanager
def _naming(target: Callable[[OSError], str | os.PathLike]) -> Iterator[None]:
    """An ``OSError`` in the block (or one an error was raised while handling) becomes a :class:`WriteError` naming ``target(cause)``."""
    try:
        yield
    except WriteError:
        raise
    except Exception as exc:
        cause = _os_error(exc)
        if cause is None:
            raise
        raise WriteError(target(cause), cause) from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on a clean exit it replaces ``path``, otherwise it is removed (see :func:`atomic_paths`)."""
    with atomic_paths([path]) as (temp,):
        yield temp


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, flushed to disk before the rename."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)


def _remove_dead_writers_temps(path: Path) -> None:
    """Remove temps of ``path`` whose writer (the pid in the name) is no longer running on this machine: a killed writer's leftovers."""
    for temp in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        pid = temp.name.rpartition("-")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                temp.unlink()


def _running(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine; on Windows always True (a stranger's temp file is kept).

    POSIX asks with signal 0, which delivers nothing. Windows has no such
    probe: ``os.kill`` there terminates the process, so it is never called,
    and a killed writer's temp files stay until :func:`remove_stale_temps`
    (under the run directory's lock) or the user removes them.
    """
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def _os_error(exc: BaseException | None) -> OSError | None:
    """``exc`` if it is an ``OSError``, else the one it was raised from or while handling (a writer such as
    matplotlib's PDF backend may fail in its own clean-up after the disk filled); None when there is none."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _failed_target(paths: list[Path], temps: list[Path], exc: OSError) -> Path:
    """The target whose temp the caller was writing when ``exc`` came (when it did not say so with :func:`writing`): named by the error, else the last temp begun."""
    for path, temp in zip(paths, temps):
        if exc.filename is not None and Path(exc.filename) in (temp, path):
            return path
    begun = [path for path, temp in zip(paths, temps) if temp.exists()]
    return begun[-1] if begun else paths[0]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _csv_cell(value: object) -> str:
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return "" if math.isnan(value) else repr(float(value))
    return "" if value is None else str(value)


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, object] | Sequence[object]]) -> str:
    """The one CSV form of every table commae writes (results, history, gaps, info).

    A header of ``columns``, then a line a row (a mapping read by column, or
    a sequence in column order; a column a mapping lacks is empty), ``\n``
    line ends; a float as its ``repr`` (read back exactly), NaN or None as an
    empty cell, an integer (numpy's too) in decimal.

    >>> print(csv_text(["system", "errors", "ber", "theory"], [{"system": "qam16", "errors": 3, "ber": 0.1, "theory": float("nan")}]), end="")
    system,errors,ber,theory
    qam16,3,0.1,
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = [row.get(c, "") for c in columns] if isinstance(row, Mapping) else list(row)
        writer.writerow([_csv_cell(v) for v in cells])
    return text.getvalue()
