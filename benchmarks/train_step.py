"""Overhead of commae's training loop over a bare PyTorch step, measured side by side.

For batch sizes 1k, 8k and 32k it times, on the same (k=4, n=1) autoencoder:

* ``fit``  — one step of :func:`commae.training.train_one_epoch` fed by
  :class:`commae.training.MessageBatches` (fresh messages and SNR drawn per
  step, autocast context, accumulation bookkeeping, loss kept on device);
* ``bare`` — ``zero_grad → forward → loss → backward → step`` on a batch
  drawn once beforehand.

and prints the median seconds per step of each over several repeats and their
ratio (target: fit / bare <= 1.10). Run: ``python benchmarks/train_step.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from commae.losses import SymbolCrossEntropy
from commae.models import Autoencoder
from commae.snr import ebno_db_to_no
from commae.training import MessageBatches, make_optimizer, train_one_epoch


def bare_steps(model, loss_fn, optimizer, messages, no, generator, steps):
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(messages, no, generator), messages)
        loss.backward()
        optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats (the median is printed)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--hidden", type=int, default=128)
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, k=4 n=1 hidden={args.hidden}, {args.steps} steps x {args.repeats} repeats")
    print(f"{'batch':>7} {'fit ms/step':>12} {'bare ms/step':>13} {'fit/bare':>9}")
    for batch in (1024, 8192, 32768):
        torch.manual_seed(0)
        model = Autoencoder(4, 1, hidden=args.hidden).to(device)
        loss_fn = SymbolCrossEntropy(4)
        optimizer = make_optimizer("adam", model.parameters(), 1e-3)
        source = MessageBatches(4, 1, batch, args.steps, 7.0, seed=1, device=device)
        gen = torch.Generator(device=device).manual_seed(2)
        messages = torch.randint(0, 16, (batch,), device=device, generator=gen)
        no = torch.full((batch,), ebno_db_to_no(7.0, 4), device=device)
        # warm up both paths
        train_one_epoch(model, loss_fn, source, optimizer)
        bare_steps(model, loss_fn, optimizer, messages, no, gen, args.steps)
        fit_times, bare_times = [], []
        for _ in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
            sync()
            t = time.perf_counter()
            train_one_epoch(model, loss_fn, source, optimizer)
            sync()
            fit_times.append((time.perf_counter() - t) / args.steps)
            t = time.perf_counter()
            bare_steps(model, loss_fn, optimizer, messages, no, gen, args.steps)
            sync()
            bare_times.append((time.perf_counter() - t) / args.steps)
        f, b = statistics.median(fit_times), statistics.median(bare_times)
        print(f"{batch:>7} {1e3 * f:>12.3f} {1e3 * b:>13.3f} {f / b:>9.3f}")


if __name__ == "__main__":
    main()
