"""The launcher's environment: what ``torchrun`` told this process, read in one place and without torch.

``torchrun`` (or any launcher that follows its conventions) starts each rank
with ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` set.
The command line needs these facts before it may import torch (``--help``
stays fast), and :mod:`commae.distributed` needs them to join the process
group; both read them here. A malformed value reads as its default, as
torch's own launcher utilities do.

Examples
--------
>>> env = {"WORLD_SIZE": "4", "RANK": "2", "LOCAL_WORLD_SIZE": "2"}
>>> under_launcher(env), launched(env), env_rank(env), ranks_per_node(env)
(True, True, 2, 2)
>>> under_launcher({}), launched({}), env_rank({}), ranks_per_node({})
(False, False, 0, 1)
>>> launched({"WORLD_SIZE": "1"}), env_rank({"RANK": "x"})
(False, 0)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["env_int", "under_launcher", "launched", "env_rank", "env_world_size", "ranks_per_node"]


def env_int(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """The launcher variable ``name`` as an ``int``; ``default`` when it is unset or not a number."""
    environ = os.environ if environ is None else environ
    try:
        return int(environ.get(name, default))
    except ValueError:
        return default


def under_launcher(environ: Mapping[str, str] | None = None) -> bool:
    """True when a launcher started this process (``WORLD_SIZE`` is set, even to 1)."""
    return "WORLD_SIZE" in (os.environ if environ is None else environ)


def env_world_size(environ: Mapping[str, str] | None = None) -> int:
    """The number of ranks the launcher started (``WORLD_SIZE``; 1 without a launcher)."""
    return env_int("WORLD_SIZE", 1, environ)


def launched(environ: Mapping[str, str] | None = None) -> bool:
    """True when the launcher started this process as one of several ranks (``WORLD_SIZE`` > 1)."""
    return env_world_size(environ) > 1


def env_rank(environ: Mapping[str, str] | None = None) -> int:
    """This process's rank as the launcher set it (``RANK``; 0 without one)."""
    return env_int("RANK", 0, environ)


def ranks_per_node(environ: Mapping[str, str] | None = None) -> int:
    """Processes the launcher started on this node (``LOCAL_WORLD_SIZE``, else ``WORLD_SIZE``; 1 without a launcher)."""
    return max(1, env_int("LOCAL_WORLD_SIZE", env_world_size(environ), environ))
