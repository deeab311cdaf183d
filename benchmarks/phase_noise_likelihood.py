"""Speed of the likelihood under phase noise: 16-point symbols a second (CPU time, one thread), the best of three.

The ML detector of every baseline and `commae info` on a phase-noise channel spend
their time here (`Channel.log_likelihood`: all 16 candidates of each received value).

Run: python benchmarks/phase_noise_likelihood.py
"""

from __future__ import annotations

import math
import time

import torch
from _machine import describe

from commae import qam
from commae.constellations import apsk
from commae.models import make_channel
from commae.snr import esno_db_to_no


def main() -> None:
    torch.set_num_threads(1)
    print(describe())
    for sigma in (0.2, 0.02):
        channel = make_channel("awgn", phase_noise=sigma)
        for name, const in (("16-QAM", qam(16)), ("16-APSK", apsk(16))):
            row = []
            for esno_db in (10.0, 30.0, 50.0):
                no = float(esno_db_to_no(esno_db))
                gen = torch.Generator().manual_seed(0)
                x = const.points[torch.randint(0, 16, (1 << 15,), generator=gen)][:, None]
                y = channel(x, no, generator=gen)
                channel.log_likelihood(y[:1024], const.points, no)  # warm up
                best = math.inf
                for _ in range(3):
                    start = time.process_time()
                    channel.log_likelihood(y, const.points, no)
                    best = min(best, time.process_time() - start)
                row.append(f"{esno_db:.0f} dB {y.shape[0] / best / 1e3:5.1f}")
            print(f"phase noise {sigma:g} rad, {name:<8} k symbols/s:", " | ".join(row))


if __name__ == "__main__":
    main()
