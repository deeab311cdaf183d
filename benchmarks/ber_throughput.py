"""Throughput of commae's Monte-Carlo engine against minimal hand-written torch pipelines, side by side.

Two comparisons, each timed in interleaved repeats on the same machine, medians printed:

1. Uncoded Gray 16-QAM over AWGN: :func:`commae.simulation.simulate` on
   ``Modem(qam(16))`` vs a hand-written pipeline (random bits → Gray map →
   AWGN → per-axis slicing → error count) — and Sionna's
   Mapper/AWGN/Demapper pipeline when ``sionna`` is importable. Target:
   commae ≥ 0.5× the hand-written pipeline.
2. A trained (k=4, n=1) autoencoder: the engine vs a bare loop of the same
   transmitter lookup, AWGN and receiver-MLP forward with an argmax.
   Target: ≥ 0.75× the bare forward.

Run: ``python benchmarks/ber_throughput.py [--bits 2e7] [--repeats 5] [--device cpu]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from commae import Autoencoder, Modem, qam
from commae.losses import SymbolCrossEntropy
from commae.simulation import simulate
from commae.snr import ebno_db_to_no
from commae.training import MessageBatches, fit, make_optimizer

EBNO_DB = 6.0
BATCH = 1 << 17  # messages per batch, the engine's default


def engine(system, bits: int, device) -> int:
    """Bits the engine simulates with ``max_bits=bits`` (the target is never reached)."""
    (row,) = simulate([system], [EBNO_DB], target_errors=1 << 62, max_bits=bits, batch_size=BATCH, seed=1, device=device, progress=False)
    return row["bit_errors"]


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
    for name, fn in contenders.items():  # warm-up
        fn(min(bits, 4 * BATCH))
    for _ in range(repeats):
        for name, fn in contenders.items():
            sync()
            t = time.perf_counter()
            fn(bits)
            sync()
            times[name].append(time.perf_counter() - t)
    return {name: bits / statistics.median(ts) / 1e6 for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=float, default=2e7, help="bits per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    bits = int(args.bits)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, {bits:.2e} bits a run, median of {args.repeats}, Eb/N0 {EBNO_DB} dB")

    modem = Modem(qam(16)).to(device)
    contenders = {"commae engine": lambda b: engine(modem, b, device), "hand-written torch": lambda b: hand_qam16(b, device)}
    if sionna_qam16(4 * BATCH, device) is not None:  # pragma: no cover
        contenders["sionna"] = lambda b: sionna_qam16(b, device)
    else:
        print("(sionna is not importable here: its column is left out)")
    speeds = race(contenders, bits, args.repeats, sync)
    print("\nuncoded Gray 16-QAM over AWGN")
    for name, mbps in speeds.items():
        print(f"  {name:<22}{mbps:>9.1f} Mbit/s")
    print(f"  ratio commae / hand-written: {speeds['commae engine'] / speeds['hand-written torch']:.2f}  (target >= 0.5)")

    model = trained_autoencoder(device)
    speeds = race({"commae engine": lambda b: engine(model, b, device), "bare receiver MLP": lambda b: bare_autoencoder(model, b, device)}, bits, args.repeats, sync)
    print("\ntrained (k=4, n=1) autoencoder over AWGN")
    for name, mbps in speeds.items():
        print(f"  {name:<22}{mbps:>9.1f} Mbit/s")
    print(f"  ratio commae / bare forward: {speeds['commae engine'] / speeds['bare receiver MLP']:.2f}  (target >= 0.75)")


if __name__ == "__main__":
    main()
