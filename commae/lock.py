"""The lock of a run directory: one commae process writes a run at a time.

:func:`lock_dir` takes an exclusive ``fcntl.flock`` on ``DIR/.commae.lock``
and writes its pid into the file, so that a second process is refused with
the holder's pid. The kernel releases the lock when the holder dies, so a
killed run never leaves its directory locked: the file may stay behind, and
the next process simply takes the lock on it. The lock file is not a run
file and not a user file: it is removed on release, and a leftover one is
ignored wherever a directory is checked for content.

Examples
--------
>>> import tempfile, pathlib
>>> run = pathlib.Path(tempfile.mkdtemp())
>>> with lock_dir(run):
...     (run / LOCK_NAME).is_file()
True
>>> (run / LOCK_NAME).exists()
False
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, the directory is not locked
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "DirectoryLocked", "lock_dir"]

LOCK_NAME = ".commae.lock"


class DirectoryLocked(Exception):
    """Another process holds the lock of ``path``; ``pid`` is its process id (None when it could not be read)."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is in use by another commae process (pid {pid if pid is not None else 'unknown'})")
        self.path, self.pid = path, pid


@contextlib.contextmanager
def lock_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of the existing directory ``path`` for the ``with`` block; raise :class:`DirectoryLocked` if another process has it.

    The lock is per open file, so a second ``lock_dir`` of the same directory
    fails in the same process too. It never waits.
    """
    path = Path(path)
    if fcntl is None:  # pragma: no cover
        yield path
        return
    lock_file = path / LOCK_NAME
    fd = _acquire(lock_file)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_file)  # while still holding it: a waiter that opened the old file sees it is gone and retries
        os.close(fd)


def _acquire(lock_file: Path) -> int:
    while True:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise DirectoryLocked(lock_file.parent, pid) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_file).st_ino
        except FileNotFoundError:  # the holder released it and removed the file between our open and our lock
            same = False
        if not same:
            os.close(fd)
            continue
        with contextlib.suppress(OSError):  # on a full disk the pid cannot be written; the lock holds all the same
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        return fd


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
