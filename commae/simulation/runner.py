"""The batch runner: the batches of a Monte-Carlo point, several at once, handed back in batch order.

Batch ``j`` of point ``i`` draws from a generator seeded by ``(seed, i, j)``
(``j·N + r`` on rank ``r`` of ``N``): first each ``(k, n)`` group's messages
(:meth:`~commae.simulation.draws.Messages.draw`), then, from the generator
state after the messages, each system's noise — on the fast path
(:mod:`commae.simulation.fastpath`) or through :func:`~commae.system.errors`.
"""

from __future__ import annotations

import math
import queue
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from .. import distributed as _dist
from ..channels import seed_from_text
from ..snr import ebno_db_to_no
from ..system import System, errors
from .draws import Messages
from .fastpath import Counter, fast_counter
from .scratch import Scratch

__all__ = ["BatchRunner"]


def _batch_seed(seed: int, point: int, batch: int) -> int:
    return seed_from_text(f"commae-sim:{seed}:{point}:{batch}")


def _workers(threads: int | None, device: torch.device, all_fast: bool) -> int:
    """Batches in flight at once: ``threads`` on a CPU (by default torch's thread count when every system is on the fast path, else 1); 1 on an accelerator.

    A learned receiver is mostly matrix products, which use torch's intra-op
    threads well on one batch; split into one thread a batch, a point that
    ends after one batch took 1.7× longer (an (8, 4) autoencoder, 2 cores),
    and every batch in flight holds its activations. So systems off the fast
    path run one batch at a time unless ``threads`` is given.
    """
    if device.type != "cpu":
        return 1
    if threads is None:
        return torch.get_num_threads() if all_fast else 1
    return int(threads)


class BatchRunner:
    """Runs the batches of a point ``workers`` at a time, and hands their counts back in batch order.

    Batch ``j`` of a point is a pure function of ``(seed, point, j)``, the
    systems and the batch's size, and its size depends only on the bits spent
    before it (every running system of a ``(k, n)`` group has run every batch
    of the point so far, so they have all spent the same bits). The runner
    therefore starts batches ahead of the stopping rule — each on its own
    thread, with its own generator, counters and message tensors, and one
    intra-op thread — and the point's loop takes them in order and applies the
    rule exactly as one batch at a time would: a system that has reached its
    target by batch ``j`` drops the counts of the later batches it was run in
    ahead of time. The rows are therefore the same for every ``workers``
    (``tests/test_simulation.py`` checks it); the price is at most
    ``workers - 1`` batches a point computed and thrown away.

    Why: the noise draw (``torch.randn`` with a generator, under
    :func:`~commae.channels.noise.gaussian`) runs on one core
    whatever the intra-op thread count, and on 2 cores it is about half of a
    baseline's batch; two batches at once keep both cores drawing noise,
    where two intra-op threads on one batch left one idle for that half
    (``benchmarks/ber_throughput.py``).

    Parameters
    ----------
    named : dict of str to System
        The systems by name.
    groups : dict of (k, n) or (k, n, key) to list of str
        The names of the systems of each shape (and message distribution,
        ``key``: None when equiprobable): they share messages and noise.
    threads : int, optional
        As :func:`~commae.simulation.simulate`'s ``threads``.
    fast : bool
        Count on the fast path (:func:`~commae.simulation.fastpath.fast_counter`) where a system has one.
    seed : int
        The seed of the per-(point, batch) generators.
    device : torch.device
    rank, world : int
        This process's rank and the number of ranks (0 and 1 in one process).
    priors : dict of key to Tensor, optional
        The message probabilities of each distribution ``key`` of ``groups``.

    Use it as a context manager (it sets torch's thread count while batches
    run ahead) and call :meth:`point` once per Eb/N0 point.
    """

    def __init__(
        self,
        named: dict[str, System],
        groups: dict[tuple, list[str]],
        threads: int | None,
        fast: bool,
        seed: int,
        device: torch.device,
        rank: int,
        world: int,
        priors: dict[bytes | None, torch.Tensor | None] | None = None,
    ) -> None:
        self.named, self.groups, self.seed, self.device, self.rank, self.world, self.fast = named, groups, seed, device, rank, world, fast
        self.priors = {key: (None if p is None else p.to(device)) for key, p in (priors or {}).items()}
        # each worker's own counters (they keep per-batch tensors) and message tensors, lent to one batch at a time
        first = self._state()
        self.workers = _workers(threads, device, all(counter is not None for counter in first[0].values()))
        self.states: queue.SimpleQueue[tuple[dict[str, Counter | None], dict[tuple[int, int], Scratch]]] = queue.SimpleQueue()
        self.states.put(first)
        for _ in range(self.workers - 1):
            self.states.put(self._state())
        self.pool: ThreadPoolExecutor | None = None
        self.threads_before = torch.get_num_threads()

    def _state(self) -> tuple[dict[str, Counter | None], dict[tuple, Scratch]]:
        return {name: (fast_counter(system) if self.fast else None) for name, system in self.named.items()}, {shape: Scratch() for shape in self.groups}

    def use(self, named: dict[str, System], groups: dict[tuple, list[str]], priors: dict[bytes | None, torch.Tensor | None]) -> None:
        """Run these systems, groups and message distributions from the next point on (systems tuned to the SNR change from point to point).

        Called between points, when no batch is in flight and every worker's state is back.
        """
        self.named, self.groups = named, groups
        self.priors = {key: (None if p is None else p.to(self.device)) for key, p in priors.items()}
        for _ in range(self.workers):
            self.states.get_nowait()
        for _ in range(self.workers):
            self.states.put(self._state())

    def __enter__(self) -> BatchRunner:
        if self.workers > 1:
            torch.set_num_threads(1)  # before the pool's threads start: they take the count of their first operation
            self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="commae-batch")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            torch.set_num_threads(self.threads_before)

    def point(self, point: int, ebno_db: float, counts: dict[str, np.ndarray], target: int, target_errors: int, max_bits: int, batch_size: int) -> Iterator[list[tuple[str, np.ndarray, np.ndarray]]]:
        """Yield, batch by batch, ``(name, this rank's counts, global counts)`` of the systems still running at that batch.

        ``counts`` (global, updated by the caller between batches) decide who
        runs, as the stopping rule says: a system runs until it has
        ``target_errors`` errors in column ``target`` or ``max_bits`` bits.
        """
        planned = {shape: 0 for shape in self.groups}  # global bits each running member of a group will have spent before the next batch started
        inflight: deque[Future] = deque()
        batch = 0
        try:
            while True:
                running = [n for n in counts if counts[n][target] < target_errors and counts[n][0] < max_bits]
                if not running:
                    return
                while len(inflight) < self.workers:
                    plan = []
                    for shape, members in self.groups.items():
                        k = shape[0]
                        members = [m for m in members if m in running]
                        if not members or planned[shape] >= max_bits:
                            continue
                        size = min(batch_size, max(1, math.ceil((max_bits - planned[shape]) / (k * self.world))))
                        planned[shape] += size * k * self.world
                        plan.append((shape, members, size))
                    if not plan:
                        break
                    inflight.append(self._start(point, ebno_db, batch, plan))
                    batch += 1
                names, local = inflight.popleft().result()
                keep = [i for i, m in enumerate(names) if m in running]  # the rest stopped before this batch
                names, local = [names[i] for i in keep], local[keep]
                merged = _dist.all_reduce_sum(torch.from_numpy(local)).numpy() if self.world > 1 else local
                yield list(zip(names, local, merged))
        finally:
            for done in inflight:  # batches run ahead of a point that has ended: wait for them, keep nothing
                if not done.cancel():
                    done.exception()

    def _start(self, *args: Any) -> Future:
        """Batch ``args`` on the pool, or (one worker) run here and now: a future either way."""
        if self.pool is not None:
            return self.pool.submit(self._batch, *args)
        done: Future = Future()
        done.set_result(self._batch(*args))
        return done

    def _batch(self, point: int, ebno_db: float, batch: int, plan: list[tuple[tuple, list[str], int]]) -> tuple[list[str], np.ndarray]:
        """Batch ``batch`` of a point: each group's messages, then each member's noise and errors; rows as :func:`_host_counts`."""
        counters, scratch = self.states.get()
        try:
            with torch.inference_mode():
                gen = torch.Generator(device=self.device)
                found: dict[str, tuple[list[int], torch.Tensor]] = {}
                for shape, members, size in plan:
                    k, n = shape[0], shape[1]
                    prior = self.priors.get(shape[2]) if len(shape) > 2 else None  # the group's message distribution (None: equiprobable)
                    gen.manual_seed(_batch_seed(self.seed, point, batch * self.world + self.rank))
                    messages = Messages.draw(size, k, gen, self.device, scratch[shape], probabilities=prior)
                    after_messages = gen.get_state()
                    no = ebno_db_to_no(ebno_db, k, n)
                    for m in members:
                        gen.set_state(after_messages)
                        found[m] = _count(self.named[m], counters[m], messages, no, gen)
                return list(found), _host_counts(list(found.values()))
        finally:
            self.states.put((counters, scratch))


def _count(system: System, counter: Counter | None, messages: Messages, no: float, gen: torch.Generator) -> tuple[list[int], torch.Tensor]:
    """One batch of ``system``: its trials (bits, symbols, blocks) and its errors of each, int64 ``[3]`` on the device.

    The fast path (:mod:`commae.simulation.fastpath`) counts the messages when ``counter``
    is given, the generic :func:`~commae.system.errors` otherwise (on their
    float bits, made once per batch and shared). Both give the same counts
    for the same draws.
    """
    size, k = messages.size, messages.k
    trials = [size * k, size * (k // system.bits_per_symbol), size]
    if counter is not None and size * k < 1 << 32:  # the fast tally holds fewer than 2**32 bit errors
        return trials, counter(messages, no, gen)
    e = errors(system, messages.float_bits(), no, gen)
    return trials, torch.stack([e.bits.sum(), e.symbols.sum(), e.blocks.sum()]).to(torch.int64)


def _host_counts(found: list[tuple[list[int], torch.Tensor]]) -> np.ndarray:
    """Rows (bits, bit errors, symbols, symbol errors, blocks, block errors) of the systems of one round.

    The error counts of every system come to the host in one transfer (one
    sync with an accelerator); the trials are known on the host.
    """
    wrong = torch.stack([w for _, w in found]).cpu().numpy()
    trials = np.array([t for t, _ in found], dtype=np.int64)
    return np.stack([trials[:, 0], wrong[:, 0], trials[:, 1], wrong[:, 1], trials[:, 2], wrong[:, 2]], axis=1).astype(np.int64)
