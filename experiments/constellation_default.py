"""The learned 16-point constellation at Eb/N0 = 7 dB beside Gray 16-QAM: bits, decision regions, received clouds.

Writes figures/constellation_default.{pdf,png} and the CSV of both constellations'
points, and prints the symbol error rates of both on the same 2^20 messages and noise.

Run: python experiments/constellation_default.py
"""

from __future__ import annotations

import csv

import matplotlib.pyplot as plt
import torch
from _common import FIGURES, default_run

from commae import Modem, qam
from commae.constellations import int_to_bits
from commae.plotting import new_figure, plot_system_constellation, save_figure, style
from commae.training import MessageBatches, evaluate_system


def main() -> None:
    model, run_dir = default_run()
    qam16 = Modem(qam(16))
    test = MessageBatches(4, 1, 1 << 16, 16, 7.0, seed=2024, fixed=True)
    learned, classic = evaluate_system(model, test), evaluate_system(qam16, test)
    print(f"Eb/N0 7 dB, {1 << 20} messages, the same noise for both ({run_dir.name}):")
    print(f"  learned  SER {learned['ser']:.4e}  BER {learned['ber']:.4e}")
    print(f"  16-QAM   SER {classic['ser']:.4e}  BER {classic['ber']:.4e}  MI {classic['mi_bits']:.3f} bit")
    print(f"  SER ratio learned / 16-QAM: {learned['ser'] / classic['ser']:.3f}")

    FIGURES.mkdir(exist_ok=True)
    with torch.no_grad():
        learned_points = model.transmitter.all_symbols()[:, 0].cpu()
    with open(FIGURES / "constellation_default.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["system", "message", "bits", "i", "q"])
        bits = int_to_bits(torch.arange(16), 4).to(torch.int64).tolist()
        for m, p in enumerate(learned_points.tolist()):
            writer.writerow(["learned", m, "".join(map(str, bits[m])), f"{p.real:.6f}", f"{p.imag:.6f}"])
        c = qam16.constellation
        for i, (p, b) in enumerate(zip(c.points.tolist(), c.bit_labels.to(torch.int64).tolist())):
            writer.writerow(["qam16", int(c.labels[i]), "".join(map(str, b)), f"{p.real:.6f}", f"{p.imag:.6f}"])

    with style("ieee-wide"):
        fig, axes = new_figure(1, 2, height=3.45)
        plot_system_constellation(model, regions=True, cloud_ebno_db=7.0, axes=[axes[0, 0]])
        plot_system_constellation(qam16, regions=True, cloud_ebno_db=7.0, axes=[axes[0, 1]])
        axes[0, 0].set_title(f"(a) learned, SER {learned['ser']:.2e}")
        axes[0, 1].set_title(f"(b) Gray 16-QAM, SER {classic['ser']:.2e}")
        for path in save_figure(fig, FIGURES / "constellation_default"):
            print(f"wrote {path.relative_to(FIGURES.parent)}")
        plt.close(fig)


if __name__ == "__main__":
    main()
