r"""Monte-Carlo BER / SER / BLER curves with target-error stopping and Clopper–Pearson intervals.

:func:`simulate` sends random bits through any :class:`~commae.system.System`
— the learned autoencoder, a QAM/PSK modem, the Hamming (7,4) code, uncoded
BPSK blocks — at each Eb/N0 and counts bit, symbol and block errors.

* **Stopping.** A point ends when every system has ``target_errors`` bit
  errors (symbol or block errors with ``target_metric``) or has spent ``max_bits``. A system's curve ends after its first
  point without a single error at the full budget; that point reports 0 with
  the Clopper–Pearson upper bound.
* **Common random numbers.** Batch ``j`` of point ``i`` draws from a generator
  seeded by ``(seed, i, j)``: first the messages, 64 random bits a draw
  (:meth:`commae.fastpath.Messages.draw`), then each system's noise. Systems
  with the same ``(k, n)`` get the same messages and, through the generator
  state reset after the messages, the same noise and fading draws — on the
  fast path and the generic one alike — so the difference between two
  systems at a point is not noise. Systems of other shapes use the same seed
  stream. (Since issue 15 the messages are packed draws, not one draw per
  bit: a seed gives other counts than before, with the same statistics.)
* **Threads.** On a CPU, ``threads`` batches (default torch's thread count
  when every system is on the fast path) run at once, one intra-op thread
  each, and are taken in batch order: the noise draw runs on one core
  whatever the intra-op count, so this keeps every core drawing. The rows
  are the same for any ``threads``.
* **Intervals.** Exact two-sided Clopper–Pearson intervals from
  ``scipy.stats.beta`` at level ``confidence``, for each rate.
* **Several processes.** Under ``torchrun`` (an initialised process group,
  see :mod:`commae.distributed`) the ranks simulate in rounds: in round
  ``j`` rank ``r`` of ``N`` runs batch ``j·N + r`` of the point — a stream
  disjoint from every other rank's, derived from the seed, the point and the
  rank — and the round's counts are summed over the ranks before the
  stopping rule looks at them, so target errors, ``max_bits`` and the end of
  a curve are decided on the global counts, identically on every rank. In
  one process (``N = 1``) this is the single-process stream, unchanged.

Examples
--------
>>> from commae import Modem, qam
>>> rows = simulate([Modem(qam(4))], [4.0], target_errors=200, seed=1, progress=False)
>>> r = rows[0]
>>> r["system"], r["ebno_db"], r["bit_errors"] >= 200, r["ber_low"] < 0.0125 < r["ber_high"]
('qam4', 4.0, True, True)
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import queue
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import beta
from tqdm.auto import tqdm

from . import distributed as _dist
from . import theory as closed_form
from ._files import atomic_paths, writing
from .baselines import Hamming74, Modem, UncodedBPSK
from .channels import AWGN, Channel, Rayleigh, Rician, seed_from_text
from .fastpath import Counter, Messages, _Scratch, fast_counter
from .schemas import RESULT_COLUMNS
from .schemas import read_results as _read_results
from .snr import ebno_db_to_esno_db, ebno_db_to_no
from .system import System, errors

__all__ = [
    "simulate",
    "clopper_pearson",
    "theory_rates",
    "channel_name",
    "write_results",
    "read_results",
    "RESULT_COLUMNS",
]


def clopper_pearson(errors: int | np.ndarray, trials: int | np.ndarray, confidence: float = 0.95) -> tuple[Any, Any]:
    r"""Exact two-sided Clopper–Pearson interval of a binomial proportion ``errors / trials``.

    .. math::

        p_\mathrm{low} = B^{-1}\!\left(\tfrac{\alpha}{2};\, e,\, t-e+1\right), \qquad
        p_\mathrm{high} = B^{-1}\!\left(1-\tfrac{\alpha}{2};\, e+1,\, t-e\right),

    with :math:`\alpha = 1 -` ``confidence``, :math:`p_\mathrm{low} = 0` when
    :math:`e = 0` and :math:`p_\mathrm{high} = 1` when :math:`e = t`
    (Clopper & Pearson, Biometrika 1934).

    >>> low, high = clopper_pearson(0, 1000)
    >>> low, round(float(high), 6)
    (0.0, 0.003682)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    e = np.asarray(errors, dtype=float)
    t = np.asarray(trials, dtype=float)
    if np.any(t < 1) or np.any(e < 0) or np.any(e > t):
        raise ValueError("need 0 <= errors <= trials and trials >= 1")
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore"):
        low = np.where(e > 0, beta.ppf(alpha / 2, np.maximum(e, 1), t - e + 1), 0.0)
        high = np.where(e < t, beta.ppf(1 - alpha / 2, e + 1, np.maximum(t - e, 1)), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def channel_name(channel: Channel) -> str:
    """The channel's :attr:`~commae.channels.Channel.name`: every stage with its parameters.

    ``awgn``, ``awgn-real``, ``rayleigh-fast-csi``, ``rician-K3-block-csi``,
    ``rapp-p3-A1-ibo0dB+awgn+adc-3bit-clip1.5``, ...
    """
    return getattr(channel, "name", None) or type(channel).__name__.lower()


def theory_rates(system: System, ebno_db: float) -> dict[str, float] | None:
    """Closed-form BER/SER/BLER of a baseline where :mod:`commae.theory` has them, else None.

    Covered: Gray QAM/PSK modems (and BPSK as 2-PAM) over AWGN and over
    Rayleigh with CSI; Gray square QAM and BPSK over Rician with CSI (fast or block fading: one symbol per use, so the same
    per-symbol statistics; BLER only for one symbol per message), Hamming
    (7,4) with hard decisions, uncoded BPSK blocks. Entries without a closed
    form are NaN.
    """
    ch = system.channel
    k_factor = None
    if isinstance(ch, (Rayleigh, Rician)):
        if not ch.csi:
            return None
        kind, fading = ("rayleigh", ch.fading) if isinstance(ch, Rayleigh) else ("rician", ch.fading)
        if kind == "rician":
            k_factor = ch.k_factor
            if not (isinstance(system, Modem) and system.constellation.kind in ("qam", "pam", "psk")):
                return None
    elif isinstance(ch, AWGN):
        kind, fading = "awgn", "fast"
    else:  # impairments: no closed form
        return None
    if isinstance(system, Modem):
        c = system.constellation
        M, m = c.num_points, system.n
        if kind == "rician":  # Gray square QAM and BPSK have the MGF forms
            if c.kind == "qam":
                ber, ser = closed_form.ber_qam(ebno_db, M, "rician", k_factor), closed_form.ser_qam(ebno_db, M, "rician", k_factor)
            elif M == 2:
                ber = ser = closed_form.ber_bpsk(ebno_db, "rician", k_factor)
            else:
                return None
            bler = 1.0 - (1.0 - float(ser)) ** m if (m == 1 or fading == "fast") else float("nan")
            return {"ber": float(ber), "ser": float(ser), "bler": bler}
        if c.kind == "qam":
            ber, ser = closed_form.ber_qam(ebno_db, M, channel=kind), closed_form.ser_qam(ebno_db, M, channel=kind)
        elif c.kind == "psk":  # any rotation: the rates are rotation invariant
            ber, ser = closed_form.ber_psk(ebno_db, M, channel=kind), closed_form.ser_psk(ebno_db, M, channel=kind)
        elif c.kind == "pam" and M == 2:
            ber = ser = closed_form.ber_bpsk(ebno_db, channel=kind)
        else:
            return None
        if M == 2:
            bler = float(closed_form.bler_uncoded(ebno_db, m, channel=kind, fading=fading))
        elif m == 1 or fading == "fast":  # independent symbols
            bler = 1.0 - (1.0 - float(ser)) ** m
        else:
            bler = float("nan")
        return {"ber": float(ber), "ser": float(ser), "bler": bler}
    if isinstance(system, Hamming74) and system.decoder == "hard":
        bler = float(closed_form.bler_hamming74_hard(ebno_db, channel=kind, fading=fading))
        return {"ber": float(closed_form.ber_hamming74_hard(ebno_db, channel=kind, fading=fading)), "ser": bler, "bler": bler}
    if isinstance(system, UncodedBPSK):
        ber = float(closed_form.ber_bpsk(ebno_db, channel=kind))
        return {"ber": ber, "ser": ber, "bler": float(closed_form.bler_uncoded(ebno_db, system.k, channel=kind, fading=fading))}
    return None


_TARGET_COLUMN = {"bit": 1, "symbol": 3, "block": 5}  # the error count of each unit in a point's counts


def _batch_seed(seed: int, point: int, batch: int) -> int:
    return seed_from_text(f"commae-sim:{seed}:{point}:{batch}")


def _name(system: System, index: int) -> str:
    return getattr(system, "name", None) or f"system{index}"


def simulate(
    systems: Sequence[System] | Mapping[str, System],
    ebno_dbs: Iterable[float],
    *,
    target_errors: int = 100,
    max_bits: int = 100_000_000,
    batch_size: int = 1 << 17,
    seed: int = 0,
    device: str | torch.device = "cpu",
    confidence: float = 0.95,
    theory: bool = False,
    progress: bool = True,
    distributed: bool | None = None,
    rank_counts: list[dict[str, Any]] | None = None,
    target_metric: str = "bit",
    fast: bool = True,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Monte-Carlo error rates of ``systems`` at each Eb/N0 in ``ebno_dbs`` (dB).

    Parameters
    ----------
    systems : sequence or mapping of System
        A mapping gives the names; otherwise each system's ``name`` attribute.
        Modules are moved to ``device`` and put in eval mode.
    ebno_dbs : iterable of float
        Eb/N0 points in dB (``k/n`` information bits per channel use).
    target_errors : int
        Bit errors a system needs at a point before it stops there.
    max_bits : int
        Most bits a system spends at one point.
    batch_size : int
        Messages per vectorised batch.
    seed : int
        Seeds the per-(point, batch) generators: same seed, same counts.
    device : str or torch.device
    confidence : float
        Level of the Clopper–Pearson intervals.
    theory : bool
        Fill ``*_theory`` from :func:`theory_rates` where a closed form exists.
    progress : bool
        A tqdm bar per point on a terminal (errors so far, current BER); on rank 0 only.
    distributed : bool, optional
        Split the work over the ranks of the initialised process group
        (``torchrun``). None (default): whenever a group of more than one rank
        is initialised. True without such a group is an error.
    rank_counts : list, optional
        When given, receives one dict per (point, system, rank) with the counts
        that rank simulated (``rank``, ``system``, ``ebno_db``, ``bits``,
        ``bit_errors``, ``symbols``, ``symbol_errors``, ``blocks``,
        ``block_errors``); their sum over the ranks is the row's count.
    target_metric : {"bit", "symbol", "block"}
        Which errors ``target_errors`` counts, and which count ends a curve
        (a point with none of them at the full budget). ``"block"`` gives
        BLER curves ≥ ``target_errors`` block errors a point.
    fast : bool
        Count the classical baselines on the fast path of :mod:`commae.fastpath`
        (default); False runs every system through :func:`~commae.system.errors`.
        The counts are the same either way.
    threads : int, optional
        CPU threads: this many batches run at once, each on one intra-op
        thread (torch's thread count is 1 during the call, restored after).
        Default: ``torch.get_num_threads()`` when every system runs on the
        fast path, else one batch at a time on torch's intra-op threads
        (learned receivers use them well on one batch, and each batch in
        flight holds its activations); one batch at a time on an
        accelerator. The rows do not depend on it: batches run ahead are
        taken in order and the stopping rule drops what it would not have
        run (see :class:`_BatchRunner`). With more than one, a system is
        called from several threads at once, out of batch order and for
        batches whose counts are dropped: a system of your own that keeps
        state between calls, or reduces over the batch, needs ``threads=1``.

    Returns
    -------
    rows : list of dict
        One per (system, Eb/N0 point) it ran, in :data:`RESULT_COLUMNS` order
        and keys, point by point; the same (global) rows on every rank.

    Notes
    -----
    Across world sizes the results agree in distribution, not bit for bit: a
    round of ``N`` ranks may run up to ``N - 1`` batches more than one process
    would before the stopping rule sees the target. The same seed and world
    size give the same rows.

    Examples
    --------
    Under ``torchrun --nproc-per-node 2 script.py``, with ``script.py``::

        import torch.distributed as dist
        from commae import Modem, qam, simulate
        dist.init_process_group("gloo")
        rows = simulate([Modem(qam(16))], [4.0], target_errors=10_000)  # split over both ranks
        if dist.get_rank() == 0:
            print(rows[0]["bit_errors"], rows[0]["ber"])
        dist.destroy_process_group()
    """
    if isinstance(systems, Mapping):
        named = dict(systems)
    else:
        names = [_name(s, i) for i, s in enumerate(systems)]
        if len(set(names)) != len(names):
            raise ValueError(f"systems must have distinct names, got {names}; pass a dict to name them")
        named = dict(zip(names, systems))
    if not named:
        raise ValueError("systems must not be empty")
    ebno_dbs = [float(e) for e in ebno_dbs]
    if not ebno_dbs or not all(math.isfinite(e) for e in ebno_dbs):
        raise ValueError("ebno_dbs must be a non-empty list of finite Eb/N0 values in dB")
    if target_errors < 1:
        raise ValueError(f"target_errors must be a positive integer, got {target_errors}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if target_metric not in _TARGET_COLUMN:
        raise ValueError(f"target_metric must be one of {', '.join(_TARGET_COLUMN)}, got {target_metric!r}")
    target = _TARGET_COLUMN[target_metric]
    if max_bits < 1 or batch_size < 1:
        raise ValueError(f"max_bits and batch_size must be positive, got {max_bits} and {batch_size}")
    device = torch.device(device)
    if distributed is None:
        distributed = _dist.is_distributed()
    elif distributed and not _dist.is_distributed():
        raise ValueError("distributed=True needs an initialised torch.distributed process group of more than one rank (launch with torchrun)")
    rank, world = (_dist.rank(), _dist.world_size()) if distributed else (0, 1)
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    for system in named.values():
        if isinstance(system, torch.nn.Module):
            system.to(device).eval()
    groups: dict[tuple[int, int], list[str]] = {}
    for name, system in named.items():
        groups.setdefault((system.k, system.n), []).append(name)
    finished: set[str] = set()
    rows: list[dict[str, Any]] = []
    show = progress and rank == 0 and sys.stderr.isatty()
    with _BatchRunner(named, groups, threads, fast, seed, device, rank, world) as runner, torch.inference_mode():
        for point, ebno_db in enumerate(ebno_dbs):
            active = [name for name in named if name not in finished]
            if not active:
                break
            # bits, bit errors, symbols, symbol errors, blocks, block errors: global, and this rank's own
            counts = {name: np.zeros(6, dtype=np.int64) for name in active}
            own = {name: np.zeros(6, dtype=np.int64) for name in active}
            with tqdm(total=max_bits, desc=f"Eb/N0 {ebno_db:g} dB", unit="bit", unit_scale=True, leave=False, disable=not show) as bar:
                for running in runner.point(point, ebno_db, counts, target, target_errors, max_bits, batch_size):
                    for m, row_local, row_global in running:
                        own[m] += row_local
                        counts[m] += row_global
                    names_now = [m for m, _, _ in running]
                    lead = min(names_now, key=lambda m: counts[m][target])
                    bar.n = int(min(max_bits, min(counts[m][0] for m in names_now)))
                    bar.set_postfix_str(f"{lead}: {counts[lead][1]} errors, BER {counts[lead][1] / max(counts[lead][0], 1):.2e}", refresh=False)
                    bar.refresh()
            if rank_counts is not None:
                _gather_rank_counts(rank_counts, active, own, ebno_db, world)
            for name in active:
                system = named[name]
                c = counts[name]
                if c[target] == 0 and c[0] >= max_bits:
                    finished.add(name)
                rows.append(_row(name, system, ebno_db, c, confidence, theory))
    return rows


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


class _BatchRunner:
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

    Why: the noise draw (``torch.randn`` with a generator) runs on one core
    whatever the intra-op thread count, and on 2 cores it is about half of a
    baseline's batch; two batches at once keep both cores drawing noise,
    where two intra-op threads on one batch left one idle for that half
    (``benchmarks/ber_throughput.py``).
    """

    def __init__(self, named: dict[str, System], groups: dict[tuple[int, int], list[str]], threads: int | None, fast: bool, seed: int, device: torch.device, rank: int, world: int) -> None:
        self.named, self.groups, self.seed, self.device, self.rank, self.world = named, groups, seed, device, rank, world

        def state() -> tuple[dict[str, Counter | None], dict[tuple[int, int], _Scratch]]:
            return {name: (fast_counter(system) if fast else None) for name, system in named.items()}, {shape: _Scratch() for shape in groups}

        # each worker's own counters (they keep per-batch tensors) and message tensors, lent to one batch at a time
        first = state()
        self.workers = _workers(threads, device, all(counter is not None for counter in first[0].values()))
        self.states: queue.SimpleQueue[tuple[dict[str, Counter | None], dict[tuple[int, int], _Scratch]]] = queue.SimpleQueue()
        self.states.put(first)
        for _ in range(self.workers - 1):
            self.states.put(state())
        self.pool: ThreadPoolExecutor | None = None
        self.threads_before = torch.get_num_threads()

    def __enter__(self) -> _BatchRunner:
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
                    for (k, n), members in self.groups.items():
                        members = [m for m in members if m in running]
                        if not members or planned[(k, n)] >= max_bits:
                            continue
                        size = min(batch_size, max(1, math.ceil((max_bits - planned[(k, n)]) / (k * self.world))))
                        planned[(k, n)] += size * k * self.world
                        plan.append((k, n, members, size))
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

    def _batch(self, point: int, ebno_db: float, batch: int, plan: list[tuple[int, int, list[str], int]]) -> tuple[list[str], np.ndarray]:
        """Batch ``batch`` of a point: each group's messages, then each member's noise and errors; rows as :func:`_host_counts`."""
        counters, scratch = self.states.get()
        try:
            with torch.inference_mode():
                gen = torch.Generator(device=self.device)
                found: dict[str, tuple[list[int], torch.Tensor]] = {}
                for k, n, members, size in plan:
                    gen.manual_seed(_batch_seed(self.seed, point, batch * self.world + self.rank))
                    messages = Messages.draw(size, k, gen, self.device, scratch[(k, n)])
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

    The fast path (:mod:`commae.fastpath`) counts the messages when ``counter``
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


_COUNT_NAMES = ("bits", "bit_errors", "symbols", "symbol_errors", "blocks", "block_errors")


def _gather_rank_counts(out: list[dict[str, Any]], names: list[str], own: dict[str, np.ndarray], ebno_db: float, world: int) -> None:
    """Append every rank's own counts of this point to ``out`` (one all-gather; local in one process)."""
    mine = torch.from_numpy(np.stack([own[m] for m in names]))
    for r, part in enumerate(_dist.all_gather_tensor(mine) if world > 1 else [mine]):
        for m, values in zip(names, part.numpy()):
            out.append({"rank": r, "system": m, "ebno_db": ebno_db, **{c: int(v) for c, v in zip(_COUNT_NAMES, values)}})


def _row(name: str, system: System, ebno_db: float, c: np.ndarray, confidence: float, with_theory: bool) -> dict[str, Any]:
    bits, bit_errors, symbols, symbol_errors, blocks, block_errors = (int(v) for v in c)
    row: dict[str, Any] = {
        "system": name,
        "channel": channel_name(system.channel),
        "ebno_db": ebno_db,
        "esno_db": float(ebno_db_to_esno_db(ebno_db, system.k, system.n)),
    }
    for unit, count_name, trials, wrong in (("ber", "bit", bits, bit_errors), ("ser", "symbol", symbols, symbol_errors), ("bler", "block", blocks, block_errors)):
        low, high = clopper_pearson(wrong, trials, confidence)
        row[f"{count_name}s"] = trials
        row[f"{count_name}_errors"] = wrong
        row[unit], row[f"{unit}_low"], row[f"{unit}_high"] = wrong / trials, low, high
    rates = theory_rates(system, ebno_db) if with_theory else None
    for unit in ("ber", "ser", "bler"):
        value = rates.get(unit, float("nan")) if rates else float("nan")
        row[f"{unit}_theory"] = value
    return {key: row[key] for key in RESULT_COLUMNS}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_results(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike, settings: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``rows`` to ``path`` (CSV, :data:`RESULT_COLUMNS`) and ``settings`` to the JSON beside it, atomically.

    Both go to temp files first; only when both are on disk are they renamed,
    the JSON first, so a failure (a full disk: :class:`~commae._files.WriteError`)
    or Ctrl-C leaves the previous pair as it was, and a CSV never stands
    beside another run's JSON or none.
    """
    path = Path(path)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in RESULT_COLUMNS])
    json_path = path.with_suffix(".json")
    if json_path == path:
        raise ValueError(f"{path}: the CSV needs a name other than .json, its settings go to {json_path.name}")
    with atomic_paths([json_path, path]) as (json_temp, csv_temp):
        with writing(json_path):
            json_temp.write_bytes((json.dumps(settings, indent=2) + "\n").encode())
        with writing(path):
            csv_temp.write_bytes(text.getvalue().encode())
    return path, json_path


def read_results(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a ``ber-curve`` CSV: counts as int, numbers as float, empty theory cells as NaN.

    Every row is checked by :func:`commae.schemas.read_results` (counts, rates
    and bounds consistent and finite); a file that fails raises a
    ``ValueError`` (:class:`~commae.schemas.SchemaError`) whose one-line
    message names the file, the line and what is accepted.
    """
    return _read_results(path)
