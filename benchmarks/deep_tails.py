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
on 2 cores. The load is printed before and after.

Run: ``python benchmarks/deep_tails.py [--batch-size 8192] [--threads 2] [--seed 1]``
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
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


if __name__ == "__main__":
    main()
