"""How many intra-op threads a CPU run should use: not more than the cores that are free.

torch starts one intra-op thread per core it may run on. On a shared machine
(another process busy, several ``torchrun`` ranks on one node) those threads
wait for each other at every parallel operator, and a run with one busy core
beside it can lose most of its speed. :func:`choose_threads` picks the count
from numbers the caller gathers; :func:`threads_here` gathers this
machine's (the cores this process may run on and the load average) and is
what the command line calls for ``--threads`` (the launcher's ranks per node
it passes in, from :mod:`commae.launcher`).

>>> choose_threads(None, torch_default=8, cores=8, load=0.2)
8
>>> choose_threads(None, torch_default=8, cores=8, load=3.0)  # three cores busy elsewhere
5
>>> choose_threads(None, torch_default=8, cores=8, load=0.0, ranks_per_node=4)  # torchrun: one per rank
1
>>> choose_threads(3, torch_default=8, cores=8, load=9.0)  # asked for: as asked
3
"""

from __future__ import annotations

import math
import os

__all__ = ["choose_threads", "threads_here", "usable_cores", "load_average"]


def choose_threads(requested: int | None, *, torch_default: int, cores: int, load: float | None = None, ranks_per_node: int = 1) -> int:
    """Intra-op threads for this process.

    Parameters
    ----------
    requested : int or None
        An explicit count (``--threads``) wins; it must be positive.
    torch_default : int
        ``torch.get_num_threads()`` before any change (it follows ``OMP_NUM_THREADS``).
    cores : int
        Cores this process may run on (``len(os.sched_getaffinity(0))``).
    load : float, optional
        Runnable processes elsewhere on those cores (the 1-minute load
        average); each whole process of it (``floor(load)``) counts as one
        busy core, and at least one thread is kept. A load that includes
        this process's own recent work counts against it too: the choice
        errs towards fewer threads, which costs little on a quiet machine
        and saves much on a busy one (docs/performance.md, benchmarks/ber_throughput.py).
    ranks_per_node : int
        Processes of this job on the node (torchrun's ``LOCAL_WORLD_SIZE``):
        more than one gives one thread per rank.
    """
    if requested is not None:
        if isinstance(requested, bool) or int(requested) != requested or requested < 1:
            raise ValueError(f"threads must be a positive integer, got {requested!r}")
        return int(requested)
    if ranks_per_node > 1:
        return 1
    free = cores
    if load is not None and math.isfinite(load):
        free = cores - math.floor(load)
    return max(1, min(torch_default, cores, free))


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity on Linux, else every core)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_average() -> float | None:
    """The 1-minute load average, or None where the system does not tell."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def threads_here(requested: int | None, *, torch_default: int, ranks_per_node: int = 1) -> int:
    """:func:`choose_threads` for this process on this machine: its usable cores and the load average.

    Parameters are those of :func:`choose_threads`; ``ranks_per_node`` is the
    launcher's (:func:`commae.launcher.ranks_per_node`). torch is not imported:
    the caller passes ``torch.get_num_threads()`` and sets the result.
    """
    return choose_threads(requested, torch_default=torch_default, cores=usable_cores(), load=load_average(), ranks_per_node=ranks_per_node)
