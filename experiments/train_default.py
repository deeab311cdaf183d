"""The README's main job, `commae train --snr 7`, and the constellation it learns.

Trains the default autoencoder (k = 4 bits in n = 1 complex use, symbol-wise
cross-entropy, AWGN at Eb/N0 = 7 dB, Adam, seed 0) into runs/default, then
writes figures/train_default_constellation.{pdf,png} and the CSV of the
points it was drawn from, and prints the validation numbers beside 16-QAM's
on the same noise.

Run: python experiments/train_default.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from commae.constellations import int_to_bits
from commae.models import SystemConfig
from commae.plotting import plot_constellation, save_figure, style
from commae.runs import train_run
from commae.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures"


def main() -> None:
    result = train_run(SystemConfig(), TrainConfig(), ROOT / "runs" / "default", force=True, progress=False, log=None)
    last, base = result.history.last, result.baseline_metrics
    print(f"validation at Eb/N0 7 dB, {result.val_messages} messages, same noise for both:")
    print(f"  autoencoder  SER {last['val_ser']:.4e}  BER {last['val_ber']:.4e}  MI {last['mi_bits']:.3f} bit")
    print(f"  {result.baseline:<11}  SER {base['ser']:.4e}  BER {base['ber']:.4e}")
    print(f"  SER ratio autoencoder / {result.baseline}: {last['val_ser'] / base['ser']:.3f}")

    with torch.no_grad():
        points = result.model.transmitter.all_symbols()[:, 0].cpu()
    labels = int_to_bits(torch.arange(16), 4)
    FIGURES.mkdir(exist_ok=True)
    with open(FIGURES / "train_default_constellation.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["message", "bits", "i", "q"])
        for m, (p, bits) in enumerate(zip(points.tolist(), labels.to(torch.int64).tolist())):
            writer.writerow([m, "".join(map(str, bits)), f"{p.real:.6f}", f"{p.imag:.6f}"])
    with style("ieee"):
        fig, ax = plt.subplots(figsize=(3.5, 3.3))
        plot_constellation(points, labels, ax=ax)
        ax.set_title(r"Learned 16-point constellation, $E_b/N_0$ = 7 dB", fontsize="medium")
        for path in save_figure(fig, FIGURES / "train_default_constellation"):
            print(f"wrote {path.relative_to(ROOT)}")
        plt.close(fig)


if __name__ == "__main__":
    main()
