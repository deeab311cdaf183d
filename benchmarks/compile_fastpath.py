"""Does ``torch.compile`` (inductor, C++ on CPU) help the fast path's hot loop? Printed, not assumed.

Compiles the float and integer work of one 16-QAM batch over AWGN — labels,
point lookup, noise scaling, slicing, XOR, error tally; the draws stay outside
— and times it against the same code in eager mode, checking that both give
the same counts. The engine does not compile (see the README): the compile
time and the recompiles for each new batch shape outweigh the gain on
ordinary curves.

Run: ``python benchmarks/compile_fastpath.py [--threads 1] [--batches 3]``
"""

from __future__ import annotations

import argparse
import os
import time
import timeit

import torch

from commae import Modem, qam
from commae.channels import broadcast_no
from commae.fastpath import _SQRT_HALF, _labels, fast_counter

BATCH = 1 << 17


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, default=3, help="batches compared for equal counts")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    modem = Modem(qam(16))
    counter = fast_counter(modem)

    def core(bits, w, s):
        sent = _labels(bits.view(BATCH, 1, 4), 4)
        x = torch.view_as_real(counter.by_label.index_select(0, sent.view(-1))).view(BATCH, 1, 2)
        y = w.mul(_SQRT_HALF).mul(s).add(x)
        decided = modem.decide(torch.view_as_complex(y))
        wrong = sent.bitwise_xor(counter.labels.index_select(0, decided.view(-1)).view(BATCH, 1))
        return counter.tally.index_select(0, wrong.view(-1)).sum()

    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} cores")
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    compiled = torch.compile(core, dynamic=False)
    same = True
    for _ in range(args.batches):
        bits = torch.randint(0, 2, (BATCH, 4), generator=gen, dtype=torch.uint8)
        state = gen.get_state()
        w = torch.randn((BATCH, 1, 2), generator=gen)
        s = torch.sqrt(broadcast_no(0.3, w))
        total = int(compiled(bits, w, s))
        gen.set_state(state)
        bit_errors, symbol_errors, _ = counter(bits, 0.3, gen).tolist()
        same &= total == bit_errors + (symbol_errors << 32)
    print(f"compile and {args.batches} batches: {time.perf_counter() - start:.1f} s; counts equal to the fast path's: {same}")

    def best(fn):
        return min(timeit.repeat(fn, number=5, repeat=7)) / 5 * 1e3

    eager, fused = best(lambda: core(bits, w, s)), best(lambda: compiled(bits, w, s))
    floor = best(lambda: torch.randn((BATCH, 1, 2), generator=gen))
    draw = best(lambda: torch.randint(0, 2, (BATCH, 4), generator=gen, dtype=torch.uint8))
    print(f"one batch of {BATCH} symbols: eager {eager:.2f} ms, compiled {fused:.2f} ms ({eager / fused:.2f}x); outside it the bits draw {draw:.2f} ms and the noise draw {floor:.2f} ms")


if __name__ == "__main__":
    main()
