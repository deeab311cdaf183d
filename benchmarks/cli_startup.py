"""How fast the ``commae`` command answers when it has nothing heavy to do.

Times, in fresh interpreters (``python -m commae ...``, the PYTHONPATH and
environment of this process), ``--help``, ``--version``, ``train --help`` and
three usage errors, beside ``python -c pass`` (the interpreter alone) and
``python -c "import torch"`` (what every answer cost before the imports
became lazy). Prints the median wall time of each over ``--repeats`` runs,
the machine and its load, and each time as a multiple of the bare
interpreter's (a ratio that a busy machine moves less than the times).
Target: every answer well under a second on a quiet machine.

Run: ``python benchmarks/cli_startup.py``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _machine import describe

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "commae --help": [sys.executable, "-m", "commae", "--help"],
    "commae --version": [sys.executable, "-m", "commae", "--version"],
    "commae train --help": [sys.executable, "-m", "commae", "train", "--help"],
    "commae train --k 0": [sys.executable, "-m", "commae", "train", "--k", "0"],
    "commae train --device tpu": [sys.executable, "-m", "commae", "train", "--device", "tpu"],
    "commae ber-curve --baseline qam32": [sys.executable, "-m", "commae", "ber-curve", "--baseline", "qam32"],
}
FAST = [name for name in COMMANDS if name.startswith("commae")]
TORCH = "python -c 'import torch'"


def time_command(argv: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def measure(repeats: int) -> dict[str, float]:
    medians = {}
    for name, argv in COMMANDS.items():
        time_command(argv)  # warm the file cache
        runs = [time_command(argv) for _ in range(repeats)]
        medians[name] = statistics.median(t for t, _ in runs)
        expected = 2 if ("--k" in argv or "tpu" in argv or "qam32" in argv) else 0
        if any(code != expected for _, code in runs):
            raise SystemExit(f"{name}: exit status {runs[0][1]}, expected {expected}")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command (the median is printed)")
    args = parser.parse_args()
    print(describe())
    medians = measure(args.repeats)
    width = max(map(len, medians))
    bare = medians["python -c pass"]
    for name, seconds in medians.items():
        print(f"  {name:<{width}}  {seconds * 1000:7.0f} ms  {seconds / bare:5.1f}x the bare interpreter")
    slowest = max(medians[name] for name in FAST)
    print(f"slowest commae answer: {slowest * 1000:.0f} ms ({'under' if slowest < 1.0 else 'OVER'} one second); importing torch alone: {medians[TORCH] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
