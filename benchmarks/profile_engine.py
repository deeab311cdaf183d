"""Where the engine's time goes: torch.profiler shares by operator, fast path against the generic path.

Simulates ``--batches`` batches of 131072 messages of one baseline at Eb/N0 6 dB
with the fast path (:mod:`commae.simulation.fastpath`) and with ``fast=False``, and
prints wall and CPU seconds and the operators' shares of the profiled time.
CPU seconds of one thread are the least disturbed by other processes on a
shared machine; the load average is printed beside them.

Run: ``python benchmarks/profile_engine.py [--system qam16] [--threads 1] [--batches 8]``
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.profiler import profile

from commae.baselines import make_baseline
from commae.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="qam16", help="a baseline name (qam16, hamming74-hard, uncoded-bpsk-4, ...)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--top", type=int, default=8, help="operators listed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    system = make_baseline(args.system)
    bits = args.batches * (1 << 17) * system.k
    print(f"{args.system}, {bits / 1e6:.1f} Mbit, {args.threads} threads, load average {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} cores")
    for fast in (False, True):

        def run(fast=fast):
            return simulate([system], [6.0], fast=fast, target_errors=1 << 62, max_bits=bits, seed=1, progress=False)

        run()
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with profile() as prof:
            run()
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        print(f"  {'fast path' if fast else 'generic path'}: {wall:.3f} s wall, {cpu:.3f} s CPU ({bits / cpu / 1e6:.1f} Mbit per CPU second)")
        for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
            print(f"      {e.key:<24}{100 * e.self_cpu_time_total / total:5.1f} %  ({e.count} calls)")


if __name__ == "__main__":
    main()
