"""The uncapped noise of :mod:`commae.channels.noise`: what float32 ``torch.randn`` gets wrong, and what the correction costs.

1. The exact tail law of CPU float32 ``torch.randn`` (Box–Muller on 24-bit
   uniforms: ``u1 = k 2**-24``, radius ``sqrt(-2 ln u1)``, angle uniform),
   ``P(Z > z) = 2**-24 sum_k arccos(z / R_k) / pi`` over the radii beyond
   ``z``, against ``Q(z)``: the relative error and the number of radii beyond
   ``z``, for z from 3 to 6 — the numbers the module notes quote.
2. Engine throughput on the fast path — :func:`commae.simulation.simulate`
   on uncoded Gray 16-QAM and on Hamming (7,4) hard, over complex AWGN at
   Eb/N0 4 dB, the engine's default batch and threads — side by side:

   * ``--baseline DIR`` (repeatable): today's code against other checkouts
     (the commit before the uncapped noise, ``git worktree add /tmp/before
     eb3e80a^``; the previous implementation of the correction,
     ``git worktree add /tmp/prev d4bd766``), each in its own long-lived worker process, runs interleaved;
   * always: the correction switched on and off in one process (off:
     :func:`~commae.channels.noise.gaussian` and ``NoiseBuffer.draw`` are ``torch.randn`` alone), which
     isolates its cost.

   Each line gives the median wall-clock Mbit/s and the median CPU seconds
   per 10⁸ bits (all threads), and the ratios; the issue's target is
   uncapped / before >= 0.9.
3. ``--draws`` (default 2**30) draws of :func:`~commae.channels.noise.gaussian`
   and of ``torch.randn`` alone (seed 25, as ``tests/test_noise.py``'s long
   test): the counts beyond 5, 5.5, 5.77, 6 and 6.5 sigma against the normal
   tail's expected counts, and the largest draw.
5. Where the correction's time goes, inside the engine (the same runs as
   part 2, in this process): the thread CPU time of each noise draw on the
   fast path (:meth:`~commae.channels.noise.NoiseBuffer.draw`), with the
   correction off (``torch.randn`` alone), with only its detection (the
   row-wise max and min and the look inside the rows that cross,
   ``noise._beyond``), and whole; the median and the 10th percentile (the
   calls the machine's other load disturbed least) over the calls of
   ``--repeats`` interleaved runs. The difference of the last two is the sparse work:
   redraws, uniforms, tail values and writes.
6. ``gaussian`` called with several intra-op threads (a training loop, the
   engine's generic path), 2**18 draws: the median time of a call and of
   the ``torch.randn`` call after it, with ``--threads`` threads and with
   one, and with the tail correction's two reductions forced onto torch's
   threads (how it ran before: split over OpenMP threads right after
   ``randn``) instead of the calling thread.
4. Plain Monte Carlo of uncoded BPSK over real AWGN at Eb/N0 = 12 dB (true
   BER Q(sqrt(2 * 10**1.2)) = 9.0e-9) with ``--mc-bits`` (default 1e10) bits,
   with the uncapped noise and with ``torch.randn`` alone: the errors, the
   Clopper–Pearson interval, and whether it covers the closed form.

The machine's load is printed before and after: on a shared machine the
wall-clock numbers move a lot, the interleaved medians and the CPU time less.

Run: ``python benchmarks/noise_tail.py [--parts 1,2,3,4,5,6] [--mc-bits 1e10] [--baseline DIR] [--bits 2e7] [--repeats 9] [--threads N] [--draws 2**30]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.special import erfc

sys.path.insert(0, os.path.dirname(__file__))
from _machine import describe  # noqa: E402

EBNO_DB = 4.0
BATCH = 1 << 17
SYSTEMS = ("qam16", "hamming74-hard")
ROOT = Path(__file__).resolve().parents[1]


def float32_randn_tail(z: float) -> tuple[float, int]:
    """``P(Z > z)`` under CPU float32 ``torch.randn``'s Box–Muller on 24-bit uniforms, and how many radii lie beyond ``z``."""
    k = np.arange(1, 1 << 22, dtype=np.float64)  # u1 = k 2**-24 (1 - a 24-bit uniform); a radius beyond 3 needs k < 2**22
    radius = np.sqrt(-2.0 * np.log(k * 2.0**-24))
    beyond = radius > z
    return float(np.sum(np.arccos(z / radius[beyond])) / math.pi * 2.0**-24), int(beyond.sum())


def make(name: str):
    from commae import Hamming74, Modem, qam

    return Modem(qam(16)) if name == "qam16" else Hamming74("hard")


def engine(system, bits: int) -> tuple[float, float]:
    """Wall and CPU seconds (all threads) of the engine spending ``bits`` on one point (the target is never reached)."""
    from commae.simulation import simulate

    wall, cpu = time.perf_counter(), time.process_time()
    simulate([system], [EBNO_DB], target_errors=1 << 62, max_bits=bits, batch_size=BATCH, seed=1, progress=False)
    return time.perf_counter() - wall, time.process_time() - cpu


@contextlib.contextmanager
def plain_randn():
    """The correction off in this process: :func:`gaussian` and :meth:`NoiseBuffer.draw` are then ``torch.randn`` alone, as before issue 25."""
    from commae.channels import noise

    saved = noise._exact_tails_
    noise._exact_tails_ = lambda flat, generator, views=None: None
    try:
        yield
    finally:
        noise._exact_tails_ = saved


def worker(threads: int) -> None:
    """Serve ``SYSTEM BITS [plain]`` lines from stdin with ``wall cpu`` JSON lines: the engine of whatever commae is importable here."""
    torch.set_num_threads(threads)
    systems = {name: make(name) for name in SYSTEMS}
    for name in SYSTEMS:
        engine(systems[name], 8 * BATCH)  # warm-up
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        name, bits, *mode = line.split()
        with plain_randn() if mode == ["plain"] else contextlib.nullcontext():
            wall, cpu = engine(systems[name], int(bits))
        print(json.dumps({"wall": wall, "cpu": cpu}), flush=True)


class Worker:
    """A worker process importing commae from ``tree``."""

    def __init__(self, tree: Path, threads: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", "--threads", str(threads)], env=env, cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert json.loads(self.proc.stdout.readline())["ready"]

    def run(self, name: str, bits: int, plain: bool = False) -> tuple[float, float]:
        self.proc.stdin.write(f"{name} {bits}{' plain' if plain else ''}\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return answer["wall"], answer["cpu"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=float, default=2e7, help="bits per timed run")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--baseline", type=Path, action="append", default=[], help="a checkout of commae to run side by side (repeatable); the first is 'before' in the ratios")
    parser.add_argument("--parts", default="1,2,3,5,6", help="which parts to run (4, an hour-scale run, only when asked)")
    parser.add_argument("--mc-bits", type=float, default=1e10, help="bits in part 4")
    parser.add_argument("--draws", type=float, default=2.0**30, help="draws in part 3")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # commae from PYTHONPATH, the tree the parent chose
        worker(args.threads)
        return
    sys.path.insert(0, str(ROOT))  # this checkout's commae
    bits = int(args.bits)

    parts = {int(p) for p in args.parts.split(",")}
    if 1 in parts:
        from commae.channels.noise import TAIL_PROBABILITY, TAIL_THRESHOLD

        print("1. CPU float32 torch.randn's tail against Q(z)")
        print(f"  {'z':>5}{'P(Z>z) randn':>15}{'Q(z)':>13}{'rel. error':>12}{'radii beyond':>14}")
        for z in (3.0, 3.5, 4.0, 4.5, 5.0, 5.25, 5.5, 5.75, 6.0):
            p, radii = float32_randn_tail(z)
            q = 0.5 * float(erfc(z / math.sqrt(2.0)))
            print(f"  {z:>5.2f}{p:>15.4e}{q:>13.4e}{p / q - 1:>+12.2e}{radii:>14d}")
        print(f"  the correction's threshold: t = {TAIL_THRESHOLD}, P(|Z| > t) = {TAIL_PROBABILITY:.3e}")

    if 2 in parts:
        throughput(args, bits)
    if 3 in parts:
        counts(int(args.draws))
    if 4 in parts:
        plain_bpsk(int(args.mc_bits), args.threads)
    if 5 in parts:
        stages(args, bits)
    if 6 in parts:
        caller_threads(args)


def caller_threads(args) -> None:
    """Part 6: ``gaussian`` of 2**18 draws with several intra-op threads, its reductions on the calling thread and on torch's threads."""
    from commae.channels import noise

    print(f"\n6. gaussian of 2**18 draws in a caller with intra-op threads, median of 300 calls (and of the torch.randn call after each); {describe()}")
    out = torch.empty(1 << 17, 1, 2)
    gen = torch.Generator().manual_seed(6)
    threads_before, real_get = torch.get_num_threads(), torch.get_num_threads
    try:
        for threads in sorted({args.threads, 1}, reverse=True):
            torch.set_num_threads(threads)
            for label, forced in (("reductions on the calling thread", False), ("reductions on torch's threads (before)", True)):
                if forced and threads == 1:
                    continue
                if forced:  # what _beyond did before: torch's amax and amin whatever the thread count
                    torch.get_num_threads = lambda: 1
                spent: dict[str, list[float]] = {"gaussian": [], "randn after it": []}
                try:
                    for _ in range(300):
                        start = time.perf_counter()
                        noise.gaussian(out.shape, gen, out=out)
                        middle = time.perf_counter()
                        torch.randn(out.shape, generator=gen, out=out)
                        spent["gaussian"].append(middle - start)
                        spent["randn after it"].append(time.perf_counter() - middle)
                finally:
                    torch.get_num_threads = real_get
                timing = ", ".join(f"{k} {statistics.median(v) * 1e3:.3f} ms" for k, v in spent.items())
                print(f"  {threads} thread{'s' if threads > 1 else ' '} {label:<40} {timing}")
    finally:
        torch.set_num_threads(threads_before)
    print(f"  after: {describe()}")


def stages(args, bits: int) -> None:
    """Part 5: thread CPU time a noise draw on the fast path (``NoiseBuffer.draw``), correction off, detection only, whole."""
    from commae.channels import noise

    torch.set_num_threads(args.threads)
    print(f"\n5. where the correction's time goes: thread CPU time a noise draw on the fast path, median over the calls of {args.repeats} interleaved runs of {bits:.1e} bits; {describe()}")
    real_tails, real_draw = noise._exact_tails_, noise.NoiseBuffer.draw
    modes = {
        "randn alone": lambda flat, generator, views=None: None,
        "randn + detection": lambda flat, generator, views=None: noise._beyond(views if views is not None else noise._Views(flat), noise.TAIL_THRESHOLD),
        "randn + whole correction": real_tails,
    }
    calls: dict[tuple[str, str], list[float]] = {}
    try:
        for name in SYSTEMS:
            system = make(name)
            engine(system, 8 * BATCH)  # warm-up
            for _ in range(args.repeats):
                for mode, tails in modes.items():
                    spent = calls.setdefault((name, mode), [])

                    def timed(self, *a, spent=spent, **k):
                        start = time.thread_time()
                        out = real_draw(self, *a, **k)
                        spent.append(time.thread_time() - start)
                        return out

                    noise._exact_tails_, noise.NoiseBuffer.draw = tails, timed
                    engine(system, bits)
    finally:
        noise._exact_tails_, noise.NoiseBuffer.draw = real_tails, real_draw
    print(f"  after: {describe()}")
    for name in SYSTEMS:
        for label, pick in (("median", statistics.median), ("10th percentile", lambda v: float(np.percentile(v, 10)))):
            ms = {mode: pick(calls[(name, mode)]) * 1e3 for mode in modes}
            base, detect, whole = ms["randn alone"], ms["randn + detection"], ms["randn + whole correction"]
            print(
                f"  {name:<16}{label:<16}randn {base:.3f} ms; detection {detect - base:+.3f} ms, sparse work {whole - detect:+.3f} ms:"
                f" the correction {whole - base:+.3f} ms a call ({(whole - base) / base:.0%} of randn's time)"
            )


def plain_bpsk(bits: int, threads: int) -> None:
    from commae import AWGN, UncodedBPSK, simulate
    from commae.theory import ber_bpsk

    truth = float(ber_bpsk(12.0))
    print(f"\n4. plain Monte Carlo, uncoded BPSK over real AWGN at Eb/N0 12 dB, {bits:.1e} bits, {threads} threads (closed form {truth:.3e}); {describe()}")
    torch.set_num_threads(threads)
    for label, plain in (("gaussian (uncapped)", False), ("torch.randn alone", True)):
        start = time.perf_counter()
        with plain_randn() if plain else contextlib.nullcontext():
            (row,) = simulate([UncodedBPSK(8, AWGN(real=True))], [12.0], target_errors=1 << 62, max_bits=bits, seed=12, progress=False)
        covers = row["ber_low"] <= truth <= row["ber_high"]
        print(
            f"  {label:<22}{row['bit_errors']:>6d} errors in {row['bits']:.3e} bits: BER {row['ber']:.3e} [{row['ber_low']:.3e}, {row['ber_high']:.3e}] {'covers' if covers else 'MISSES'} the closed form ({time.perf_counter() - start:.0f} s)"
        )


def counts(draws: int) -> None:
    from commae.channels.noise import gaussian

    print(f"\n3. {draws:.3e} standard normal draws (seed 25): counts beyond each level, expected from Q, and the largest")
    levels = (5.0, 5.5, math.sqrt(-2 * math.log(2.0**-24)), 6.0, 6.5)
    print(f"  {'generator':<24}" + "".join(f"{'>' + format(x, '.2f'):>10}" for x in levels) + f"{'largest':>10}")
    print(f"  {'expected (normal)':<24}" + "".join(f"{draws * float(erfc(x / math.sqrt(2.0))):>10.1f}" for x in levels))
    for label, plain in (("gaussian (uncapped)", False), ("torch.randn alone", True)):
        gen = torch.Generator().manual_seed(25)
        out = torch.empty(1 << 24)
        far = []
        with plain_randn() if plain else contextlib.nullcontext():
            for _ in range(math.ceil(draws / out.numel())):
                z = gaussian(out.shape, gen, out=out)
                far.append(z[z.abs() > 5.0].abs().numpy().astype(np.float64))
        far_abs = np.concatenate(far)
        print(f"  {label:<24}" + "".join(f"{int((far_abs > x).sum()):>10d}" for x in levels) + f"{far_abs.max():>10.3f}")


def throughput(args, bits: int) -> None:
    print(f"\n2. engine throughput: {bits:.2e} bits a run, median of {args.repeats} interleaved, {args.threads} threads, Eb/N0 {EBNO_DB} dB, batch {BATCH}")
    print(f"  before: {describe()}")
    workers = {"uncapped": Worker(ROOT, args.threads)}
    for tree in args.baseline:
        workers[f"checkout {tree}"] = Worker(tree.resolve(), args.threads)
    contenders = [(name, label, False) for name in SYSTEMS for label in workers] + [(name, "uncapped", True) for name in SYSTEMS]
    times: dict[tuple[str, str, bool], list[tuple[float, float]]] = {c: [] for c in contenders}
    try:
        for _ in range(args.repeats):
            for name, label, plain in contenders:
                times[(name, label, plain)].append(workers[label].run(name, bits, plain))
    finally:
        for w in workers.values():
            w.close()
    print(f"  after:  {describe()}")
    speed = {c: (bits / statistics.median(w for w, _ in ts) / 1e6, statistics.median(c_ for _, c_ in ts) * 1e8 / bits) for c, ts in times.items()}
    for (name, label, plain), (mbps, cpu) in speed.items():
        what = "today, correction off (randn alone)" if plain else label
        print(f"  {name:<16}{what:<40}{mbps:>8.1f} Mbit/s{cpu:>8.2f} CPU s / 1e8 bits")
    for name in SYSTEMS:
        on = speed[(name, "uncapped", False)]
        off = speed[(name, "uncapped", True)]
        print(f"  {name}: correction on / off: wall {on[0] / off[0]:.3f}, CPU {off[1] / on[1]:.3f}")
        for i, tree in enumerate(args.baseline):
            other = speed[(name, f"checkout {tree}", False)]
            target = "  (target >= 0.9)" if i == 0 else ""
            print(f"  {name}: uncapped / checkout {tree}: wall {on[0] / other[0]:.3f}, CPU {other[1] / on[1]:.3f}{target}")


if __name__ == "__main__":
    main()
