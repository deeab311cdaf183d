"""Throughput of commae's Monte-Carlo engine, quiet and beside one busy process, against its floors.

One run prints, for each phase — *quiet*, then *busy* (the script starts one
process burning a core, and stops it) — interleaved medians of:

1. uncoded Gray 16-QAM over AWGN at Eb/N0 4 dB: :func:`commae.simulation.simulate`
   on ``Modem(qam(16))`` (the fast path of :mod:`commae.simulation.fastpath`) with the
   threads given, and with the threads :func:`commae.threads.choose_threads`
   picks for the load it sees (the CLI's default); the generic engine path
   (``fast=False``); a minimal hand-written torch loop (bits → Gray map → AWGN
   → slicing → errors); ``torch.randn`` of the same noise alone (the floor of
   any torch simulator), in one stream and in one stream per thread (the
   engine runs one batch per thread, each with its own generator); Sionna's
   Mapper/AWGN/Demapper when ``sionna`` is importable;
2. the Hamming (7,4) code with hard decoding (information bits), over a real
   AWGN channel (BPSK's own: one normal per code bit, as a C++ simulator
   such as AFF3CT draws it) and over the complex one (commae's default
   channel, which draws the unused quadrature noise too);
3. a trained (k=4, n=1) autoencoder: the engine, fp32 and bf16 receiver,
   against a bare loop of the same lookup, AWGN and receiver forward.

Targets (issue 15): engine ≥ 0.5× the ``torch.randn`` floor quiet; engine busy
≥ 0.5× its quiet figure; Hamming (7,4) ≥ 50 Mbit/s quiet; the autoencoder
engine ≥ 0.77× (1/1.3) the bare forward. The load average is printed before
each phase: the numbers mean little on a machine someone else is using.

Run: ``python benchmarks/ber_throughput.py [--bits 2e7] [--repeats 5] [--device cpu] [--threads N]``
(about 3 minutes on 2 idle cores).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import torch

from commae import AWGN, Autoencoder, Hamming74, Modem, qam
from commae.losses import SymbolCrossEntropy
from commae.simulation import Bf16Receiver, simulate
from commae.snr import ebno_db_to_no
from commae.threads import choose_threads
from commae.training import MessageBatches, fit, make_optimizer

EBNO_DB = 4.0  # the operating point
BATCH = 1 << 17  # messages per batch, the engine's default


def engine(system, bits: int, device, fast: bool = True) -> int:
    """Bit errors of the engine with ``max_bits=bits`` (the target is never reached)."""
    (row,) = simulate([system], [EBNO_DB], target_errors=1 << 62, max_bits=bits, batch_size=BATCH, seed=1, device=device, progress=False, fast=fast)
    return row["bit_errors"]


def with_threads(threads: int, fn):
    """``fn`` run with ``threads`` intra-op threads (the previous count restored after)."""

    def run(bits):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return fn(bits)
        finally:
            torch.set_num_threads(before)

    return run


def randn_floor(bits: int, device) -> int:
    """Only the noise of 16-QAM: one complex normal (two floats) per 4 bits."""
    gen = torch.Generator(device=device).manual_seed(1)
    for _ in range(math.ceil(bits / (4 * BATCH))):
        torch.randn((BATCH, 1, 2), device=device, generator=gen)
    return 0


def randn_floor_per_thread(bits: int, device, threads: int) -> int:
    """The same noise in ``threads`` streams at once, one generator and one Python thread each (intra-op threads 1)."""
    batches = math.ceil(bits / (4 * BATCH))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda i: randn_floor(bits * len(range(i, batches, threads)) // batches, device), range(threads)))
    finally:
        torch.set_num_threads(before)
    return 0


def hand_qam16(bits: int, device) -> int:
    """Random bits → Gray 16-QAM → AWGN → per-axis slicing → bit errors, written out by hand."""
    gen = torch.Generator(device=device).manual_seed(1)
    scale = 1 / math.sqrt(10)
    # per axis: 2 bits (b0 b1) -> level, Gray with bit 0 on the positive side: 00->+3, 01->+1, 11->-1, 10->-3
    level_of = torch.tensor([3.0, 1.0, -3.0, -1.0], device=device) * scale
    bits_of_level = torch.tensor([[1, 0], [1, 1], [0, 1], [0, 0]], device=device)  # levels -3, -1, 1, 3
    no = ebno_db_to_no(EBNO_DB, 4)
    errors = 0
    with torch.inference_mode():
        for _ in range(math.ceil(bits / (4 * BATCH))):
            b = torch.randint(0, 2, (BATCH, 4), device=device, generator=gen)
            x = torch.complex(level_of[b[:, 0] * 2 + b[:, 1]], level_of[b[:, 2] * 2 + b[:, 3]])
            noise = torch.randn(BATCH, 2, device=device, generator=gen) * math.sqrt(no / 2)
            y = x + torch.view_as_complex(noise)
            i = torch.clamp(torch.round((y.real / scale + 3) / 2), 0, 3).long()
            q = torch.clamp(torch.round((y.imag / scale + 3) / 2), 0, 3).long()
            decided = torch.cat([bits_of_level[i], bits_of_level[q]], dim=1)
            errors += int((decided != b).sum())
    return errors


def sionna_qam16(bits: int, device):  # pragma: no cover - only where sionna is installed
    try:
        from sionna.phy.channel import AWGN as SionnaAWGN
        from sionna.phy.mapping import BinarySource, Demapper, Mapper
    except Exception:
        return None
    source, mapper, demapper, channel = BinarySource(), Mapper("qam", 4), Demapper("app", "qam", 4, hard_out=True), SionnaAWGN()
    no = ebno_db_to_no(EBNO_DB, 4)
    errors = 0
    for _ in range(math.ceil(bits / (4 * BATCH))):
        b = source([BATCH, 4])
        errors += int((demapper(channel(mapper(b), no), no) != b).numpy().sum())
    return errors


def bare_autoencoder(model: Autoencoder, bits: int, device) -> int:
    """Messages → transmitter lookup → AWGN → receiver MLP → argmax → message errors, by hand."""
    gen = torch.Generator(device=device).manual_seed(1)
    no = ebno_db_to_no(EBNO_DB, 4)
    errors = 0
    with torch.inference_mode():
        symbols = model.transmitter.all_symbols()  # [16, 1]
        for _ in range(math.ceil(bits / (4 * BATCH))):
            m = torch.randint(0, 16, (BATCH,), device=device, generator=gen)
            noise = torch.view_as_complex(torch.randn(BATCH, 1, 2, device=device, generator=gen)) * math.sqrt(no / 2)
            logits = model.receiver(symbols[m] + noise)
            errors += int((logits.argmax(-1) != m).sum())
    return errors


def trained_autoencoder(device) -> Autoencoder:
    torch.manual_seed(0)
    model = Autoencoder(4, 1, hidden=128).to(device)
    batches = MessageBatches(4, 1, 1024, 100, 7.0, seed=1, device=device)
    fit(model, SymbolCrossEntropy(4), batches, MessageBatches(4, 1, 4096, 1, 7.0, seed=2, device=device, fixed=True), make_optimizer("adam", model.parameters(), 3e-3), 3, progress=False, log=None)
    return model.eval()


def race(contenders: dict, bits: int, repeats: int, sync) -> dict[str, float]:
    """Median Mbit/s of each contender, repeats interleaved."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():  # warm-up
        fn(min(bits, 4 * BATCH))
    for _ in range(repeats):
        for name, fn in contenders.items():
            sync()
            t = time.perf_counter()
            fn(bits)
            sync()
            times[name].append(time.perf_counter() - t)
    return {name: bits / statistics.median(ts) / 1e6 for name, ts in times.items()}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {len(os.sched_getaffinity(0))} cores"


def auto_threads(threads: int) -> int:
    """What ``commae ber-curve`` would pick now (see commae.threads), capped at ``threads``."""
    return choose_threads(None, torch_default=threads, cores=len(os.sched_getaffinity(0)), load=os.getloadavg()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=float, default=2e7, help="bits per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="intra-op threads of every contender")
    parser.add_argument("--phases", default="quiet,busy", help="quiet, busy (one process burning a core), or both")
    args = parser.parse_args()
    device = torch.device(args.device)
    bits = int(args.bits)
    threads = args.threads
    torch.set_num_threads(threads)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    print(f"torch {torch.__version__}, device {device}, {threads} threads, {bits:.2e} bits a run, median of {args.repeats} interleaved, Eb/N0 {EBNO_DB} dB")

    modem = Modem(qam(16)).to(device)
    code = Hamming74("hard").to(device)
    code_real = Hamming74("hard", AWGN(real=True)).to(device)
    model = trained_autoencoder(device)
    reduced = Bf16Receiver(model)
    have_sionna = sionna_qam16(4 * BATCH, device) is not None
    if not have_sionna:
        print("(sionna is not importable here: its row is left out)")
    results: dict[str, dict[str, float]] = {}
    for phase in [p.strip() for p in args.phases.split(",")]:
        busy = None
        if phase == "busy":
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(2.0)
        elif phase != "quiet":
            raise SystemExit(f"--phases takes quiet and busy, got {phase!r}")
        try:
            auto = auto_threads(threads) if device.type == "cpu" else threads
            print(f"\n=== {phase}: {load()}; auto threads {auto}")
            qam_contenders = {
                f"engine ({threads} thr)": lambda b: engine(modem, b, device),
                f"engine (auto: {auto} thr)": with_threads(auto, lambda b: engine(modem, b, device)),
                "engine, generic path": lambda b: engine(modem, b, device, fast=False),
                "hand-written torch": lambda b: hand_qam16(b, device),
                "torch.randn floor": lambda b: randn_floor(b, device),
            }
            if device.type == "cpu" and threads > 1:
                qam_contenders[f"torch.randn, {threads} streams"] = lambda b: randn_floor_per_thread(b, device, threads)
            if have_sionna:  # pragma: no cover
                qam_contenders["sionna"] = lambda b: sionna_qam16(b, device)
            speeds = race(qam_contenders, bits, args.repeats, sync)
            speeds.update(
                {
                    f"hamming74 hard, {k}": v
                    for k, v in race(
                        {
                            f"real AWGN, engine ({threads} thr)": lambda b: engine(code_real, b, device),
                            f"real AWGN, engine (auto: {auto} thr)": with_threads(auto, lambda b: engine(code_real, b, device)),
                            f"complex AWGN, engine ({threads} thr)": lambda b: engine(code, b, device),
                        },
                        bits,
                        args.repeats,
                        sync,
                    ).items()
                }
            )
            speeds.update(
                {
                    f"autoencoder (4,1), {k}": v
                    for k, v in race(
                        {
                            "engine fp32": lambda b: engine(model, b, device),
                            "engine bf16": lambda b: engine(reduced, b, device),
                            "bare receiver forward": lambda b: bare_autoencoder(model, b, device),
                        },
                        bits // 4,
                        args.repeats,
                        sync,
                    ).items()
                }
            )
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
        results[phase] = speeds
        print(f"uncoded Gray 16-QAM over AWGN; Hamming (7,4); trained autoencoder — Mbit/s ({phase})")
        for name, mbps in speeds.items():
            print(f"  {name:<44}{mbps:>9.1f}")
        floor = speeds["torch.randn floor"]
        print(f"  engine / randn floor: {speeds[f'engine ({threads} thr)'] / floor:.2f} (auto threads {speeds[f'engine (auto: {auto} thr)'] / floor:.2f}); target >= 0.5 quiet")
        if f"torch.randn, {threads} streams" in speeds:
            print(f"  engine / randn in {threads} streams: {speeds[f'engine ({threads} thr)'] / speeds[f'torch.randn, {threads} streams']:.2f}")
        print(f"  hamming74 hard, real AWGN: {speeds[f'hamming74 hard, real AWGN, engine ({threads} thr)']:.1f} Mbit/s; target >= 50 quiet")
        print(f"  autoencoder engine / bare forward: {speeds['autoencoder (4,1), engine fp32'] / speeds['autoencoder (4,1), bare receiver forward']:.2f}; target >= 0.77")
    if "quiet" in results and "busy" in results:
        q, b = results["quiet"], results["busy"]
        print("\nbusy / quiet (target >= 0.5 for the engine):")
        for name in q:
            if name in b and "engine (auto" not in name:
                print(f"  {name:<44}{b[name] / q[name]:>6.2f}")
        for label, prefix in (("engine (auto threads)", "engine (auto"), ("hamming74 hard, real AWGN (auto threads)", "hamming74 hard, real AWGN, engine (auto")):
            qa = next(v for k, v in q.items() if k.startswith(prefix))
            ba = next(v for k, v in b.items() if k.startswith(prefix))
            print(f"  {label:<44}{ba / qa:>6.2f}")


if __name__ == "__main__":
    main()
