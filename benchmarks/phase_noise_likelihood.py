"""Speed of the likelihood under phase noise: 16-point symbols a second (CPU time, one thread), the best of three.

The ML detector of every baseline and `commae info` on a phase-noise channel spend
their time here (`Channel.log_likelihood`: all 16 candidates of each received value).
Rows: phase noise alone (0.2 and 0.02 rad); phase noise 0.2 rad then a 4-bit ADC over
AWGN (a quantised value takes at most 256 values, so the cost is per distinct cell:
shown for a batch of 2^15 and of 2^12 symbols) and over Rician fading with CSI (every
gain differs: the cost is per symbol).

Run: python benchmarks/phase_noise_likelihood.py
(Run it with PYTHONPATH pointing at another checkout to time that checkout's code.)
"""

from __future__ import annotations

import math
import time

import torch
from _machine import describe

from commae import qam
from commae.channels import split_channel_output
from commae.constellations import apsk
from commae.models import make_channel
from commae.snr import esno_db_to_no


def rate(channel, const, esno_db: float, symbols: int) -> float:
    """Thousands of symbols a second of ``channel.log_likelihood`` on ``symbols`` received values, the best of three."""
    no = float(esno_db_to_no(esno_db))
    gen = torch.Generator().manual_seed(0)
    x = const.points[torch.randint(0, 16, (symbols,), generator=gen)][:, None]
    y, h = split_channel_output(channel, channel(x, no, generator=gen))
    channel.log_likelihood(y[:64], const.points, no, None if h is None else h[:64])  # warm up
    best = math.inf
    for _ in range(3):
        start = time.process_time()
        channel.log_likelihood(y, const.points, no, h)
        best = min(best, time.process_time() - start)
    return symbols / best / 1e3


def main() -> None:
    torch.set_num_threads(1)
    print(describe())
    rows = [(f"phase noise {sigma:g} rad", make_channel("awgn", phase_noise=sigma), 1 << 15) for sigma in (0.2, 0.02)] + [
        ("phase noise 0.2 rad + 4-bit ADC, 2^15 symbols", make_channel("awgn", phase_noise=0.2, adc_bits=4), 1 << 15),
        ("phase noise 0.2 rad + 4-bit ADC, 2^12 symbols", make_channel("awgn", phase_noise=0.2, adc_bits=4), 1 << 12),
        ("Rician K 3 CSI + phase noise 0.2 rad + 4-bit ADC", make_channel("rician", k_factor=3.0, phase_noise=0.2, adc_bits=4), 1 << 11),
    ]
    for label, channel, symbols in rows:
        for name, const in (("16-QAM", qam(16)), ("16-APSK", apsk(16))):
            cells = " | ".join(f"{esno_db:.0f} dB {rate(channel, const, esno_db, symbols):6.1f}" for esno_db in (10.0, 30.0, 50.0))
            print(f"{label}, {name:<8} k symbols/s:", cells)


if __name__ == "__main__":
    main()
