"""The wall times the README and docs/performance.md state, measured: the default training run, the baselines' error-rate
curve and (with --pytest) the test suite, each with the machine and its load beside it.

Each command runs once in a fresh interpreter, in a temporary directory (the test suite in the
repository), exactly as the README gives it. The load average is printed before and after: on a
shared machine the times grow with it, so quote them together.

Run: ``python benchmarks/readme_times.py [--pytest]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import describe

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "commae train --snr 7": ["train", "--snr", "7", "--quiet"],
    "commae ber-curve --baseline qam16 --baseline qpsk --ebno 0:12:1": ["ber-curve", "--baseline", "qam16", "--baseline", "qpsk", "--ebno", "0:12:1", "--quiet"],
}


def timed(argv: list[str], cwd: Path) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))  # the docstring's first paragraph, whole
    parser.add_argument("--pytest", action="store_true", help="also time `python -m pytest` (the default suite) in the repository")
    args = parser.parse_args()
    for name, argv in COMMANDS.items():
        with tempfile.TemporaryDirectory() as tmp:
            before = describe()
            seconds = timed([sys.executable, "-m", "commae", *argv], Path(tmp))
            print(f"{seconds:7.1f} s  {name}\n          before: {before}\n          after:  {describe()}")
    if args.pytest:
        before = describe()
        seconds = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], ROOT)
        print(f"{seconds:7.1f} s  python -m pytest\n          before: {before}\n          after:  {describe()}")


if __name__ == "__main__":
    main()
