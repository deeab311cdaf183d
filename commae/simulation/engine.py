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
  (:meth:`Messages.draw <commae.simulation.draws.Messages.draw>`), then each system's noise. Systems
  with the same ``(k, n)`` get the same messages and, through the generator
  state reset after the messages, the same noise and fading draws — on the
  fast path and the generic one alike — so the difference between two
  systems at a point is not noise. Systems of other shapes use the same seed
  stream. A system that sends its own message distribution (its
  ``message_probabilities()``, :mod:`commae.simulation.draws`) gets messages
  drawn from it, from the same generator, shared with the systems of its
  shape and distribution. (Since issue 15 the messages are packed draws, not one draw per
  bit: a seed gives other counts than before, with the same statistics.)
* **Systems tuned to the SNR.** A system with ``at_esno(esno_db)``
  (:func:`commae.system.at_ebno`; Maxwell–Boltzmann QAM whose :math:`\nu`
  is the best at each point) runs at each point as the system it gives there;
  its rows are that system's. A shaped system's rows (messages drawn from
  probabilities of their own) add :data:`~commae.schemas.SHAPING_COLUMNS`:
  the entropy it sends and, for Maxwell–Boltzmann QAM, its :math:`\nu`.
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

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import distributed as _dist
from ..system import System, at_ebno, tunes_to_snr
from .draws import distribution_key, message_probabilities
from .importance import ImportanceSampling, simulate_importance
from .results import result_row
from .runner import BatchRunner, _batch_seed

__all__ = ["simulate"]

_TARGET_COLUMN = {"bit": 1, "symbol": 3, "block": 5}  # the error count of each unit in a point's counts


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
    importance: ImportanceSampling | None = None,
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
        Fill ``*_theory`` from :func:`~commae.simulation.theory_columns.theory_rates` where a closed form exists.
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
        Count the classical baselines on the fast path of :mod:`commae.simulation.fastpath`
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
        run (see :class:`~commae.simulation.runner.BatchRunner`). With more than one, a system is
        called from several threads at once, out of batch order and for
        batches whose counts are dropped: a system of your own that keeps
        state between calls, or reduces over the batch, needs ``threads=1``.
    importance : ImportanceSampling, optional
        Estimate the rates by importance sampling
        (:mod:`commae.simulation.importance`) instead of counting errors: the
        noise comes from a biased density and every message is weighted by
        its likelihood ratio; a point stops at the settings' relative
        precision (after their ``min_events`` error events) or at
        ``max_bits``, and ``target_errors`` is not used. The rows' rates are
        the weighted estimates with normal intervals at ``confidence``, their
        counts the raw ones under the biased noise, and they add the
        :data:`~commae.simulation.importance.IMPORTANCE_COLUMNS`. Additive
        Gaussian channels only; one process, one batch at a time, the generic path.

    Returns
    -------
    rows : list of dict
        One per (system, Eb/N0 point) it ran, in :data:`~commae.schemas.RESULT_COLUMNS` order
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
    if importance is not None:
        if not isinstance(importance, ImportanceSampling):
            raise ValueError(f"importance must be an ImportanceSampling, got {type(importance).__name__}")
        if world > 1:
            raise ValueError("importance sampling runs in one process; launch it without torchrun")
        shaped = [name for name, system in named.items() if tunes_to_snr(system) or message_probabilities(system) is not None]
        if shaped:
            raise ValueError(f"importance sampling draws equiprobable messages; {', '.join(shaped)} sends its own distribution: simulate it without importance sampling")
        return simulate_importance(
            named, ebno_dbs, importance, target=target_metric, max_bits=max_bits, batch_size=batch_size, seed=seed, device=device, confidence=confidence, theory=theory, batch_seed=_batch_seed
        )
    tuned = any(tunes_to_snr(system) for system in named.values())  # a system whose parameters depend on the point
    current = _at_point(named, ebno_dbs[0], device) if tuned else named
    finished: set[str] = set()
    rows: list[dict[str, Any]] = []
    show = progress and rank == 0 and sys.stderr.isatty()
    groups, priors = _groups(current)
    with BatchRunner(current, groups, threads, fast, seed, device, rank, world, priors) as runner, torch.inference_mode():
        for point, ebno_db in enumerate(ebno_dbs):
            active = [name for name in named if name not in finished]
            if not active:
                break
            if tuned and point:
                current = _at_point(named, ebno_db, device)
                runner.use(current, *_groups(current))
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
                system = current[name]
                c = counts[name]
                if c[target] == 0 and c[0] >= max_bits:
                    finished.add(name)
                rows.append(result_row(name, system, ebno_db, c, confidence, theory))
    return rows


def _groups(named: Mapping[str, System]) -> tuple[dict[tuple[int, int, bytes | None], list[str]], dict[bytes | None, torch.Tensor | None]]:
    """The systems of each (k, n, message distribution), which share messages and noise, and each distribution's probabilities (None: equiprobable)."""
    groups: dict[tuple[int, int, bytes | None], list[str]] = {}
    priors: dict[bytes | None, torch.Tensor | None] = {}
    for name, system in named.items():
        prior = message_probabilities(system)
        priors.setdefault(distribution_key(prior), prior)
        groups.setdefault((system.k, system.n, distribution_key(prior)), []).append(name)
    return groups, priors


def _at_point(named: Mapping[str, System], ebno_db: float, device: torch.device) -> dict[str, System]:
    """Each system as it runs at ``ebno_db`` (:func:`~commae.system.at_ebno`), a module on ``device`` in eval mode."""
    out = {name: at_ebno(system, ebno_db) for name, system in named.items()}
    for system in out.values():
        if isinstance(system, torch.nn.Module):
            system.to(device).eval()
    return out


_COUNT_NAMES = ("bits", "bit_errors", "symbols", "symbol_errors", "blocks", "block_errors")


def _gather_rank_counts(out: list[dict[str, Any]], names: list[str], own: dict[str, np.ndarray], ebno_db: float, world: int) -> None:
    """Append every rank's own counts of this point to ``out`` (one all-gather; local in one process)."""
    mine = torch.from_numpy(np.stack([own[m] for m in names]))
    for r, part in enumerate(_dist.all_gather_tensor(mine) if world > 1 else [mine]):
        for m, values in zip(names, part.numpy()):
            out.append({"rank": r, "system": m, "ebno_db": ebno_db, **{c: int(v) for c, v in zip(_COUNT_NAMES, values)}})
