"""BER-engine throughput of 1 process x 1 thread against N processes x 1 thread under torchrun.

    python benchmarks/scaling.py                 # 16-QAM and a trained (4,1) autoencoder, 1 vs 2 processes on CPU
    python benchmarks/scaling.py --repeats 5 --bits 4e7
    python benchmarks/scaling.py --device cuda   # 1 GPU, and every GPU of the machine when it has several

Every configuration is launched by torchrun (``python -m torch.distributed.run``)
as a real process group (gloo on CPU, NCCL on CUDA), one intra-op thread per
process (``OMP_NUM_THREADS=1``). Inside the workers only ``simulate`` is timed,
between two barriers, so start-up and the launcher are not counted; each
system spends a fixed budget of bits (no error target), so both
configurations do the same work. Configurations run interleaved, ``--repeats``
times; the table gives medians and the ratio of the medians. The load average
before the run says what else was running.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _worker(args: argparse.Namespace) -> None:
    import torch
    import torch.distributed as dist

    from commae import Modem, qam, simulate
    from commae.distributed import setup, teardown, world_size
    from commae.runs import load_model

    torch.set_num_threads(1)
    device = setup(args.device)
    system = Modem(qam(16)) if args.system == "qam16" else load_model(args.system, device)
    budget = int(float(args.bits))
    simulate([system], [4.0], target_errors=1 << 62, max_bits=budget // 8, seed=1, device=device, progress=False)  # warm-up
    if dist.is_initialized():
        dist.barrier()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    rows = simulate([system], [4.0], target_errors=1 << 62, max_bits=budget, seed=2, device=device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    if dist.is_initialized():
        dist.barrier()
    seconds = time.perf_counter() - start
    if not dist.is_initialized() or dist.get_rank() == 0:
        print(json.dumps({"world": world_size(), "bits": rows[0]["bits"], "seconds": seconds}), flush=True)
    teardown(barrier=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(system: str, nproc: int, bits: str, device: str) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--master-addr", "127.0.0.1",
           "--master-port", str(_free_port()), __file__, "--worker", "--system", system, "--bits", bits, "--device", device]  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"benchmark worker failed:\n{result.stderr[-3000:]}")
    data = json.loads(lines[-1])
    return data["bits"] / data["seconds"] / 1e6


def _trained_autoencoder(folder: Path) -> str:
    run = folder / "ae41"
    subprocess.run([sys.executable, "-m", "commae", "train", "--snr", "7", "--epochs", "5", "--out", str(run), "--quiet"],
                   env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True, capture_output=True)  # fmt: skip
    return str(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--system", default="qam16", help=argparse.SUPPRESS)
    parser.add_argument("--bits", default="3e7", help="bits per system and configuration (default 3e7)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats (default 5)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--procs", type=int, default=2, help="processes of the parallel configuration on CPU (default 2)")
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return

    import torch

    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: no GPU on this machine")
        counts = sorted({1, torch.cuda.device_count()})
    else:
        counts = [1, args.procs]
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, device {args.device}; load average before the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)")
    print(f"budget: {float(args.bits):.3g} bits per system and run, {args.repeats} interleaved repeats, medians; one thread per process\n")
    with tempfile.TemporaryDirectory() as tmp:
        systems = {"16-QAM (uncoded, Gray)": "qam16", "trained (4,1) autoencoder": _trained_autoencoder(Path(tmp))}
        print(f"{'system':<28}" + "".join(f"{f'{n} x 1 thr (Mbit/s)':>22}" for n in counts) + f"{'ratio':>9}")
        for label, system in systems.items():
            speeds: dict[int, list[float]] = {n: [] for n in counts}
            for _ in range(args.repeats):
                for n in counts:
                    speeds[n].append(_launch(system, n, args.bits, args.device))
            medians = [statistics.median(speeds[n]) for n in counts]
            ratio = medians[-1] / medians[0]
            print(f"{label:<28}" + "".join(f"{m:>22.1f}" for m in medians) + f"{ratio:>8.2f}x")
    print(f"\nload average after the run {os.getloadavg()[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
