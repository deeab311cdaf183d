"""The lock of a run directory: one commae process writes a run at a time.

:func:`lock_dir` holds a :class:`filelock.FileLock` on ``DIR/.commae.lock``
without waiting, so a second process (or a second ``lock_dir`` in the same
process) is refused with :class:`DirectoryLocked` at once. The operating
system releases the lock when its holder dies (``flock`` on POSIX,
``LockFileEx`` on Windows), so a killed run never leaves its directory
locked: the file may stay behind, and the next process simply takes the lock
on it. The lock file is not a run file and not a user file: it is removed on
release, and a leftover one is ignored wherever a directory is checked for
content.

On POSIX the holder writes its pid into the file, and a refused process names
it. On Windows the locked byte cannot be read by another process, so the pid
is not written and a refusal says ``pid unknown``.

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

__all__ = ["LOCK_NAME", "DirectoryLocked", "lock_dir"]

LOCK_NAME = ".commae.lock"
_ATTEMPTS = 10  # a refusal because the holder released (and removed the file) just then is tried again


class DirectoryLocked(Exception):
    """Another process holds the lock of ``path``; ``pid`` is its process id (None when it could not be read)."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is in use by another commae process (pid {pid if pid is not None else 'unknown'})")
        self.path, self.pid = path, pid


@contextlib.contextmanager
def lock_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of the existing directory ``path`` for the ``with`` block; raise :class:`DirectoryLocked` if another holder has it.

    The lock is per lock object, so a second ``lock_dir`` of the same
    directory fails in the same process too. It never waits. Any other
    failure to take it (a file system without locks, no permission) is the
    ``OSError`` it raised.
    """
    from filelock import FileLock, Timeout  # imported here: the command line's start-up does not pay for it

    path = Path(path)
    lock_file = path / LOCK_NAME
    lock = FileLock(lock_file, timeout=0, on_acquired=_write_pid if os.name != "nt" else None)
    for attempt in range(_ATTEMPTS):
        try:
            lock.acquire()
            break
        except Timeout:  # an OSError: told apart before any other
            pid = _read_pid(lock_file)
            if lock_file.exists() or attempt == _ATTEMPTS - 1:
                raise DirectoryLocked(path, pid) from None
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_file)  # while still holding it (POSIX): a process that opened the old file finds it unlinked and is refused
        lock.release()


def _write_pid(fd: int) -> None:
    """Put this process's pid into the lock file just taken (``fd``), so that a refused process can name it."""
    with contextlib.suppress(OSError):  # on a full disk the pid cannot be written; the lock holds all the same
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())


def _read_pid(lock_file: Path) -> int | None:
    try:
        return int(lock_file.read_bytes()[:32].decode().strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
