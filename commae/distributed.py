r"""Several processes under ``torchrun``: the process group, the ranks, and the collectives commae uses.

commae scales with PyTorch's own launcher, never with a process pool of its
own: the same command under ``torchrun --nproc-per-node N -m commae ...``
starts N processes, :func:`setup` joins them into one process group (gloo on
CPU, NCCL on CUDA, chosen from the device), and

* :func:`~commae.simulation.simulate` gives every rank a disjoint seed stream
  and all-reduces the error counts once a round, so its stopping decisions
  are taken on the global counts;
* :func:`~commae.training.fit` wraps the model in
  ``DistributedDataParallel``: each rank draws its own messages and noise and
  the gradients are averaged over all ranks;
* rank 0 alone prints and writes files.

The launcher's environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``,
``LOCAL_WORLD_SIZE``) is read in :mod:`commae.launcher`, torch-free, which
the command line shares; the rendezvous variables are read by
``torch.distributed`` itself. Every function
works unchanged in a single process, where :func:`world_size` is 1 and the
collectives are skipped, so a run that is not launched by ``torchrun`` is
bit for bit what it was.

Examples
--------
In one process nothing is distributed and :func:`agree` just calls its function:

>>> is_distributed(), rank(), world_size()
(False, 0, 1)
>>> agree(lambda: 42)
42
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from .launcher import env_int, env_rank, launched, ranks_per_node

__all__ = [
    "setup",
    "teardown",
    "launched",
    "is_distributed",
    "rank",
    "world_size",
    "is_main",
    "all_reduce_sum",
    "all_gather_tensor",
    "agree",
    "DistributedError",
    "RankFailed",
    "TIMEOUT_SECONDS",
]

T = TypeVar("T")

#: How long a rank waits in a collective for the others before it gives up (seconds).
TIMEOUT_SECONDS = 600


class DistributedError(RuntimeError):
    """A launch that cannot work (more ranks than GPUs, no CUDA, ...); the message is one line."""


class RankFailed(RuntimeError):
    """A step that all ranks take together failed on ``rank``; ``usage`` tells a usage error from a failure."""

    def __init__(self, failed_rank: int, message: str, usage: bool) -> None:
        super().__init__(message if failed_rank == 0 else f"rank {failed_rank}: {message}")
        self.rank = failed_rank
        self.usage = usage


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank: from the process group, else from the launcher's ``RANK``, else 0."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return env_rank()


def world_size() -> int:
    """Number of ranks in the process group (1 without one)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def is_main() -> bool:
    """True on rank 0, the rank that prints and writes files."""
    return rank() == 0


def setup(device: str | torch.device = "cpu") -> torch.device:
    """Join the process group the launcher describes, and return the device this rank runs on.

    Without a launcher (``WORLD_SIZE`` unset or 1) nothing happens and
    ``device`` is returned as it is. Under ``torchrun``:

    * ``cpu``: the gloo backend; torchrun's default of one intra-op thread per
      process (``OMP_NUM_THREADS=1``) is kept.
    * ``cuda``: the NCCL backend and ``cuda:LOCAL_RANK``; refused when this node
      runs more processes than it has GPUs, or when the device names an index
      (each rank picks its own GPU).

    The collectives time out after :data:`TIMEOUT_SECONDS`, so a rank whose
    peer died stops instead of waiting for ever.

    Raises
    ------
    DistributedError
        A launch that cannot work, with a one-line reason.
    """
    device = torch.device(device)
    if not launched() or is_distributed():
        return _rank_device(device) if is_distributed() else device
    if not dist.is_available():
        raise DistributedError("this torch build has no torch.distributed; launch commae without torchrun")
    if device.type == "cuda":
        _check_gpus(device, ranks_per_node(), torch.cuda.is_available(), torch.cuda.device_count() if torch.cuda.is_available() else 0)
        device = torch.device("cuda", env_int("LOCAL_RANK", 0))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    timeout = datetime.timedelta(seconds=TIMEOUT_SECONDS)
    try:
        if backend == "nccl":
            dist.init_process_group(backend, timeout=timeout, device_id=device)
        else:
            dist.init_process_group(backend, timeout=timeout)
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(f"could not join the torchrun process group ({_first_line(exc)})") from None
    return device


def _rank_device(device: torch.device) -> torch.device:
    if device.type == "cuda":
        return torch.device("cuda", env_int("LOCAL_RANK", 0))
    return device


def _check_gpus(device: torch.device, local_world: int, available: bool, count: int) -> None:
    """Refuse a CUDA launch that cannot give every process on this node its own GPU."""
    if not available:
        raise DistributedError(f"--device {device}: CUDA is not available on this machine; use --device cpu (gloo)")
    if device.index is not None:
        raise DistributedError(f"--device {device}: under torchrun give --device cuda without an index; rank r on a node uses cuda:LOCAL_RANK")
    if local_world > count:
        raise DistributedError(f"--device cuda: {local_world} processes on this node but {count} GPU(s); launch with --nproc-per-node {count} or fewer")


def teardown(barrier: bool = False) -> None:
    """Leave the process group (a no-op without one).

    With ``barrier`` every rank first waits for the others, so that no rank
    tears its connections down while a peer still uses them (the clean end of
    a run; after a failure, leave it False: a dead peer would never arrive).
    """
    if dist.is_available() and dist.is_initialized():
        if barrier and dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


def _collective_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over all ranks (returned; ``tensor`` itself is unchanged). Identity in one process."""
    if not is_distributed():
        return tensor
    work = tensor.to(_collective_device(), copy=True)
    dist.all_reduce(work, op=dist.ReduceOp.SUM)
    return work.to(tensor.device)


def all_gather_tensor(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's ``tensor`` (same shape and dtype on every rank), in rank order. ``[tensor]`` in one process."""
    if not is_distributed():
        return [tensor]
    work = tensor.to(_collective_device())
    parts = [torch.empty_like(work) for _ in range(world_size())]
    dist.all_gather(parts, work)
    return [p.to(tensor.device) for p in parts]


def agree(fn: Callable[[], T], usage_errors: tuple[type[BaseException], ...] = ()) -> T:
    """Run ``fn`` on every rank and fail on all of them if it failed on any.

    A check that depends on the rank's file system (can ``--out`` be written,
    is the checkpoint there) may pass on one rank and fail on another; this
    turns it into one decision. In one process it is ``fn()``.

    Raises
    ------
    Exception
        On the rank where ``fn`` failed, its own exception.
    RankFailed
        On the other ranks, naming the lowest failing rank and its message;
        ``usage`` is True when that exception was one of ``usage_errors``.
    """
    if not is_distributed():
        return fn()
    result: Any = None
    failure: BaseException | None = None
    try:
        result = fn()
    except Exception as exc:  # every rank must reach the gather below
        failure = exc
    outcome = None if failure is None else (_first_line(failure), isinstance(failure, usage_errors))
    outcomes: list[Any] = [None] * world_size()
    dist.all_gather_object(outcomes, outcome)
    failed = [r for r, o in enumerate(outcomes) if o is not None]
    if not failed:
        return result
    if failure is not None and failed[0] == rank():
        raise failure
    message, usage = outcomes[failed[0]]
    raise RankFailed(failed[0], message, usage)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
