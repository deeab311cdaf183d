"""Ctrl-C at a safe moment: held back while files that belong together are put in place, or while torch imports.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be.
Two places cannot take it: between the renames of files that must change
together (a checkpoint and its history, a results CSV and its JSON), and
inside torch's C++ import, where an exception aborts the interpreter.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["deferred_sigint", "sigint_blocked"]


@contextlib.contextmanager
def deferred_sigint() -> Iterator[None]:
    """Hold a SIGINT that arrives inside the block, and raise it as ``KeyboardInterrupt`` when the block ends.

    Outside the main thread (where Python handles signals) or when SIGINT is
    not Python's default handler, the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Block SIGINT at the OS level for the block (threads started inside keep it blocked); a pending one is delivered after.

    For imports of C++ extensions (torch): a ``KeyboardInterrupt`` raised
    while their module initialisers run aborts the process with a C++
    exception instead of unwinding. No-op outside the main thread or where
    ``pthread_sigmask`` does not exist.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
