"""Time to each deep-tail estimate by importance sampling (issue 25), against the closed forms.

For BPSK and QPSK BER at 1e-9, 1e-10 and 1e-12, 16-QAM SER at 1e-9 and
1e-12, and Hamming (7,4) hard BLER at 1e-9 and 1e-12 (the Eb/N0 where the
closed form equals the rate), :func:`commae.simulation.simulate` with
``importance=ImportanceSampling(relative_precision=0.1)`` over AWGN: the
estimate, its 95 % interval, whether the interval covers the closed form, the
relative half-width, the messages simulated, the error events and their
effective number, and the wall-clock and CPU seconds from the call to the row
(``--batch-size`` messages a batch: the rule is checked after each batch, so a
smaller batch stops nearer the precision asked for). Target: each within 30 s
on 2 cores. The load is printed before and after. ``--threads`` is torch's
thread count before the call; importance sampling runs its batches on one
intra-op thread (:func:`~commae.simulation.importance.simulate_importance`).

``--learned N``: instead, a learned receiver — the (4, 1) autoencoder that
``tests/test_importance.py`` trains (``trained_receiver``: 60 batches of 512,
2 epochs, Eb/N0 8 dB, seed 0) — at ``--learned-ebno`` dB: a long plain
Monte-Carlo reference (``--learned-errors`` symbol errors), then N estimates
(seeds 500...) by mean translation (``shift``) and by variance scaling
(``scale``, what ``auto`` uses for it): their mean over the reference, how
many of their 95 % intervals (widened by the reference's own error) cover it,
and the seconds.

Run: ``python benchmarks/deep_tails.py [--batch-size 8192] [--threads 2] [--seed 1]``
     ``python benchmarks/deep_tails.py --learned 100 [--learned-ebno 11] [--learned-errors 20000]``
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch
from scipy.optimize import brentq

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import describe  # noqa: E402

from commae import Hamming74, ImportanceSampling, Modem, psk, qam, simulate  # noqa: E402
from commae.theory import ber_bpsk, bler_hamming74_hard, ser_qam  # noqa: E402

CASES = [
    ("BPSK BER", lambda: Modem(psk(2)), "bit", ber_bpsk, (1e-9, 1e-10, 1e-12)),
    ("QPSK BER", lambda: Modem(qam(4)), "bit", ber_bpsk, (1e-9, 1e-10, 1e-12)),
    ("16-QAM SER", lambda: Modem(qam(16)), "symbol", lambda e: ser_qam(e, 16), (1e-9, 1e-12)),
    ("Hamming (7,4) hard BLER", lambda: Hamming74("hard"), "block", bler_hamming74_hard, (1e-9, 1e-12)),
]


def ebno_at(rate_of, target: float) -> float:
    return brentq(lambda e: math.log(float(rate_of(e))) - math.log(target), 0.0, 20.0, xtol=1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--learned", type=int, default=0, help="estimates a method on the learned receiver (0: the closed-form table)")
    parser.add_argument("--learned-ebno", type=float, default=11.0)
    parser.add_argument("--learned-errors", type=int, default=20000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.learned:
        learned(args)
        return
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}, seed {args.seed}, relative precision 0.1, 95 % intervals")
    print(f"before: {describe()}")
    unit = {"bit": "ber", "symbol": "ser", "block": "bler"}
    print(f"  {'rate':<26}{'target':>8}{'Eb/N0':>8}{'estimate':>11}{'95% interval':>24}{'covers':>7}{'rel.hw':>7}{'messages':>9}{'events':>7}{'eff.':>6}{'wall s':>7}{'CPU s':>7}")
    for label, make, metric, rate_of, targets in CASES:
        for target in targets:
            ebno, system = ebno_at(rate_of, target), make()
            wall, cpu = time.perf_counter(), time.process_time()
            (row,) = simulate([system], [ebno], importance=ImportanceSampling(relative_precision=0.1), target_metric=metric, batch_size=args.batch_size, max_bits=10**9, seed=args.seed, progress=False)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            u = unit[metric]
            est, low, high = row[u], row[f"{u}_low"], row[f"{u}_high"]
            print(
                f"  {label:<26}{target:>8.0e}{ebno:>8.2f}{est:>11.3e}{f'[{low:.3e}, {high:.3e}]':>24}{'yes' if low <= target <= high else 'NO':>7}"
                f"{row['rel_half_width']:>7.3f}{row['blocks']:>9d}{row['events']:>7d}{row['effective_events']:>6.0f}{wall:>7.2f}{cpu:>7.2f}"
            )
    print(f"after:  {describe()}")


def learned(args) -> None:
    """Mean translation and variance scaling on a learned receiver, against a long plain Monte-Carlo reference."""
    from scipy.stats import norm

    from commae import Autoencoder
    from commae.losses import SymbolCrossEntropy
    from commae.training import MessageBatches, fit, make_optimizer

    z = float(norm.ppf(0.975))
    torch.manual_seed(0)  # tests/test_importance.py's trained_receiver()
    model = Autoencoder(4, 1, hidden=64)
    train = MessageBatches(4, 1, 512, 60, 8.0, seed=1)
    fit(model, SymbolCrossEntropy(4), train, MessageBatches(4, 1, 2048, 1, 8.0, seed=2, fixed=True), make_optimizer("adam", model.parameters(), 1e-2), 2, progress=False, log=None)
    model.eval()
    ebno = args.learned_ebno
    print(f"torch {torch.__version__}, {args.threads} threads; the (4, 1) autoencoder of tests/test_importance.py at Eb/N0 {ebno:g} dB, SER")
    print(f"before: {describe()}")
    wall = time.perf_counter()
    (row,) = simulate([model], [ebno], target_errors=args.learned_errors, target_metric="symbol", max_bits=10**11, seed=99, progress=False)
    reference, se_reference = row["ser"], (row["ser_high"] - row["ser_low"]) / (2 * z)
    print(f"  plain Monte Carlo: SER {reference:.4e} +- {z * se_reference / reference:.2%} (95 %), {row['symbol_errors']} errors, {time.perf_counter() - wall:.0f} s")
    for method in ("shift", "scale"):
        wall, estimates, hits = time.perf_counter(), [], 0
        for seed in range(args.learned):
            (row,) = simulate([model], [ebno], importance=ImportanceSampling(method=method), target_metric="symbol", batch_size=4096, max_bits=10**9, seed=500 + seed, progress=False)
            half = (row["ser_high"] - row["ser_low"]) / 2
            estimates.append(row["ser"])
            hits += abs(row["ser"] - reference) <= z * math.hypot(half / z, se_reference)
        mean = sum(estimates) / len(estimates)
        sd = math.sqrt(sum((e - mean) ** 2 for e in estimates) / (len(estimates) - 1))
        print(
            f"  {method:<6} {args.learned} estimates: mean {mean / reference:.3f} +- {sd / math.sqrt(len(estimates)) / reference:.3f} of the reference,"
            f" {hits} of {args.learned} intervals cover it, {(time.perf_counter() - wall) / args.learned:.2f} s each"
        )
    print(f"after:  {describe()}")


if __name__ == "__main__":
    main()
