"""Encoder throughput of :class:`commae.codes.LDPC5G`: codewords/s and information Mbit/s, batch 1000.

For each code, interleaved repeats of

* ``encode``: the structured encoder (core parity from the double-diagonal
  core, extension parity from one gather per check row, then rate matching);
* ``G matmul``: a dense generator matrix (the code's ``encode`` of the unit
  vectors, ``[k, n]`` float32), ``bits @ G mod 2`` — only where ``G`` fits in
  ``--max-generator-mb`` (the (8448, 16896) code's would take 571 MB);
* ``graph_llrs``: the rate-matching inverse on ``[B, n]`` float32 LLRs,

under each thread count of ``--threads``. Medians over ``--repeats``. The
machine's load is printed before and after: on a shared machine two threads
can lose to one (each small op waits at the thread pool's barrier).

Run: ``nice -n 10 python benchmarks/ldpc5g_encode.py [--batch 1000] [--repeats 9] [--threads 1,2]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _machine import describe  # noqa: E402

from commae.codes.ldpc5g import LDPC5G  # noqa: E402

CODES = ((750, 1500), (3840, 7680), (8448, 16896))


def _generator_encode(bits: torch.Tensor, generator: torch.Tensor) -> torch.Tensor:
    return (bits @ generator).remainder_(2)


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", default="1,2", help="comma-separated torch intra-op thread counts")
    parser.add_argument("--max-generator-mb", type=float, default=64.0)
    args = parser.parse_args()
    print(f"before: {describe()}, torch {torch.__version__}")
    gen = torch.Generator().manual_seed(0)
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for k, n in CODES:
            code = LDPC5G(k, n)
            bits = torch.randint(0, 2, (args.batch, k), generator=gen).float()
            llr = torch.randn(args.batch, n, generator=gen)
            runs = {"encode": partial(code.encode, bits), "graph_llrs": partial(code.graph_llrs, llr)}
            if k * n * 4 / 2**20 <= args.max_generator_mb:
                generator = code.encode(torch.eye(k))  # [k, n]
                assert torch.equal((bits @ generator) % 2, code.encode(bits))
                runs["G matmul"] = partial(_generator_encode, bits, generator)
            times: dict[str, list[float]] = {name: [] for name in runs}
            for fn in runs.values():
                fn()  # warm-up
            for _ in range(args.repeats):  # interleaved
                for name, fn in runs.items():
                    times[name].append(_seconds(fn))
            for name, ts in times.items():
                median = statistics.median(ts)
                rate = args.batch / median
                print(f"threads {threads}  {code!r:58s} {name:10s}  {median * 1e3:8.2f} ms  {rate:10.0f} codewords/s  {rate * k / 1e6:8.1f} info Mbit/s")
    print(f"after: {describe()}")


if __name__ == "__main__":
    main()
