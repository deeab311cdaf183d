"""A whole BER sweep, one batch at a time on all intra-op threads against one batch per thread.

:func:`commae.simulation.simulate` runs ``threads`` batches at once, each on
one intra-op thread (:class:`commae.simulation.runner.BatchRunner`); with
``threads=1`` it runs one batch at a time on torch's intra-op threads, as it
did before. The rows are the same either way (the script checks it); this
measures the wall time of a sweep where the low-SNR points end after one or
two batches (where a batch on one thread is slower) and the high-SNR points
run many, with interleaved medians.

Run: ``python benchmarks/sweep_workers.py [--repeats 3] [--target 1000]`` (about 3 minutes on 2 idle cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from commae.baselines import make_baseline
from commae.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", type=int, default=1000, help="target bit errors a point")
    parser.add_argument("--max-bits", type=float, default=2e8)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    sweeps = {
        "16-QAM, 0-14 dB": (["qam16"], [float(e) for e in range(0, 15)]),
        "Hamming (7,4) hard + soft, 0-10 dB": (["hamming74-hard", "hamming74-soft"], [float(e) for e in range(0, 11)]),
    }
    print(f"torch {torch.__version__}, {threads} threads, target {args.target} errors, max {args.max_bits:.0e} bits a point, median of {args.repeats} interleaved")
    print(f"load average {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} cores")
    for label, (names, points) in sweeps.items():
        times: dict[str, list[float]] = {"one batch at a time": [], f"{threads} batches at once": []}
        rows: dict[str, list] = {}
        for _ in range(args.repeats):
            for mode, workers in zip(times, (1, threads)):
                t = time.perf_counter()
                rows[mode] = simulate([make_baseline(n) for n in names], points, target_errors=args.target, max_bits=int(args.max_bits), seed=3, progress=False, threads=workers)
                times[mode].append(time.perf_counter() - t)
        same = repr(rows["one batch at a time"]) == repr(rows[f"{threads} batches at once"])
        bits = sum(r["bits"] for r in rows["one batch at a time"])
        print(f"\n{label}: {bits / 1e6:.0f} Mbit simulated, rows identical: {same}")
        base = statistics.median(times["one batch at a time"])
        for mode, ts in times.items():
            print(f"  {mode:<24}{statistics.median(ts):7.2f} s  ({bits / statistics.median(ts) / 1e6:6.1f} Mbit/s, {base / statistics.median(ts):.2f}x)")


if __name__ == "__main__":
    main()
