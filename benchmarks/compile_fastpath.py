"""Does ``torch.compile`` (inductor, C++ on CPU) help the fast path's hot loop? Printed, not assumed.

Compiles the float and integer work of one 16-QAM batch over AWGN — point
lookup, noise scaling, slicing, error tally; the message and noise draws stay
outside — and times it, with the noise draw, against the fast path's counter
(which draws the noise itself), checking that both give the same counts. The
engine does not compile (see docs/performance.md): the compiled work is no faster
than the fast path's, and it recompiles for each new batch shape.

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
from commae.simulation import Messages, fast_counter
from commae.simulation.fastpath import _SQRT_HALF

BATCH = 1 << 17


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, default=3, help="batches compared for equal counts")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    modem = Modem(qam(16))
    counter = fast_counter(modem)
    no = 0.3

    def core(sent, w, s):
        """The fast path's work on one batch after the draws: point lookup, noise scaling, slicing, error tally."""
        x = torch.view_as_real(counter.by_label.index_select(0, sent)).view(BATCH, 1, 2)
        y = w.mul(_SQRT_HALF).mul(s).add(x)
        decided = modem.decide(torch.view_as_complex(y)).view(-1)
        return counter.pairs.index_select(0, decided * 16 + sent).sum()

    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} cores")
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    compiled = torch.compile(core, dynamic=False)
    same = True
    for _ in range(args.batches):
        messages = Messages.draw(BATCH, 4, gen)
        state = gen.get_state()
        w = torch.randn((BATCH, 1, 2), generator=gen)
        s = torch.sqrt(broadcast_no(no, w))
        total = int(compiled(messages.labels, w, s))
        gen.set_state(state)
        bit_errors, symbol_errors, _ = counter(messages, no, gen).tolist()
        same &= total == bit_errors + (symbol_errors << 32)
    print(f"compile and {args.batches} batches: {time.perf_counter() - start:.1f} s; counts equal to the fast path's: {same}")

    def best(fn):
        return min(timeit.repeat(fn, number=5, repeat=7)) / 5 * 1e3

    sent = messages.labels.clone()
    draw = best(lambda: torch.randn((BATCH, 1, 2), generator=gen))
    fast = best(lambda: counter(messages, no, gen))  # the engine's counter: noise draw included
    fused = best(lambda: compiled(sent, torch.randn((BATCH, 1, 2), generator=gen), s))
    eager = best(lambda: core(sent, torch.randn((BATCH, 1, 2), generator=gen), s))
    print(f"one batch of {BATCH} symbols, noise draw included ({draw:.2f} ms of it): fast path {fast:.2f} ms, the same work compiled {fused:.2f} ms, written plainly in eager {eager:.2f} ms")
    print(f"  fast path / compiled: {fast / fused:.2f}x; outside the noise draw: {(fast - draw) / max(fused - draw, 1e-9):.2f}x")


if __name__ == "__main__":
    main()
