"""Geometric shaping gain: MI of learned 16- and 64-point constellations against square QAM and the AWGN capacity.

Each learned constellation is a trainable set of points (``--points``: started
from Gray QAM with message m on the point labelled m, normalised to unit
average energy) with a neural receiver, trained with symbol-wise cross-entropy
at ONE Es/N0 — each grid point of TRAIN_ESNO_DB gets its own training run —
and its mutual information is then computed by Gauss–Hermite quadrature on the
learned points (not by the receiver) at that Es/N0. QAM and capacity curves are drawn over 0–25 dB.

Writes figures/shaping_gain.{pdf,png}, figures/shaping_gain.csv (the learned
points' MI) and figures/shaping_gain_curves.csv (QAM and capacity), prints the table.

Run: python experiments/shaping_gain.py   (about 5 minutes on 2 cores)
"""

from __future__ import annotations

import csv

import matplotlib.pyplot as plt
import numpy as np
from _common import FIGURES, RUNS

from commae import information, qam
from commae.models import SystemConfig
from commae.plotting import MARKERS, new_figure, plot_constellation, save_figure, style
from commae.runs import train_run
from commae.snr import esno_db_to_ebno_db
from commae.theory import capacity_awgn
from commae.training import TrainConfig

TRAIN_ESNO_DB = {4: [0.0, 5.0, 10.0, 15.0, 20.0], 6: [5.0, 10.0, 15.0, 20.0, 25.0]}
SETTINGS = {4: dict(hidden=128, epochs=20, batch_size=2048), 6: dict(hidden=256, epochs=20, batch_size=4096)}
SHOWN = {4: 10.0, 6: 15.0}  # the constellations drawn


def train_points(k: int, esno_db: float):
    s = SETTINGS[k]
    ebno = esno_db_to_ebno_db(esno_db, k)
    result = train_run(
        SystemConfig(k=k, hidden=s["hidden"], constellation=True),
        TrainConfig(ebno_db=(ebno, ebno), epochs=s["epochs"], batch_size=s["batch_size"], val_size=50_000),
        RUNS / f"shaping-k{k}-{esno_db:g}dB",
        force=True,
        progress=False,
        log=None,
    )
    return result.model.constellation(), result.history.last["mi_bits"]


def main() -> None:
    grid = np.arange(0.0, 25.01, 0.5)
    curves = {"capacity": capacity_awgn(grid), "16-QAM": information.mi(qam(16), grid), "64-QAM": information.mi(qam(64), grid)}
    learned, shown, rows = {}, {}, []
    print(f"{'points':>6}{'Es/N0':>7}{'learned MI':>12}{'QAM MI':>9}{'gain':>8}{'CE bound':>10}")
    for k, points in TRAIN_ESNO_DB.items():
        for esno in points:
            constellation, bound = train_points(k, esno)
            mi_learned = float(information.mi(constellation, esno))
            mi_qam = float(information.mi(qam(2**k), esno))
            learned.setdefault(k, []).append((esno, mi_learned, mi_qam))
            if esno == SHOWN[k]:
                shown[k] = constellation
            rows.append({"points": 2**k, "esno_db": esno, "learned_mi": mi_learned, "qam_mi": mi_qam, "gain": mi_learned - mi_qam, "training_bound": bound, "capacity": float(capacity_awgn(esno))})
            print(f"{2**k:>6}{esno:>7g}{mi_learned:>12.4f}{mi_qam:>9.4f}{mi_learned - mi_qam:>+8.4f}{bound:>10.4f}")
    FIGURES.mkdir(exist_ok=True)
    with open(FIGURES / "shaping_gain.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with open(FIGURES / "shaping_gain_curves.csv", "w", newline="") as fh:  # the lines of panel (a)
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["esno_db", "capacity", "qam16_mi", "qam64_mi"])
        for row in zip(grid, curves["capacity"], curves["16-QAM"], curves["64-QAM"]):
            writer.writerow([repr(float(v)) for v in row])
    with style("ieee-wide"):
        fig, axes = new_figure(2, 2, height=5.6)
        ax = axes[0, 0]
        ax.plot(grid, curves["capacity"], color="black", linewidth=0.8, linestyle=(0, (1, 1)), label=r"capacity $\log_2(1+E_s/N_0)$")
        for name, style_ in (("16-QAM", "--"), ("64-QAM", "-.")):
            ax.plot(grid, curves[name], linestyle=style_, color="0.3", label=name)
        for i, (k, values) in enumerate(learned.items()):
            e, m, _ = zip(*values)
            ax.plot(e, m, marker=MARKERS[i], linestyle="none", color="C1" if k == 4 else "C2", label=f"learned {2**k} points")
        ax.set_xlabel(r"$E_s/N_0$ (dB)")
        ax.set_ylabel("MI (bit per channel use)")
        ax.set_title("(a) mutual information")
        ax.legend(loc="upper left")
        ax = axes[0, 1]
        for i, (k, values) in enumerate(learned.items()):
            e, m, q = zip(*values)
            ax.plot(e, np.array(m) - np.array(q), marker=MARKERS[i], color="C1" if k == 4 else "C2", label=f"{2**k} points − {2**k}-QAM")
        ax.axhline(0, color="0.5", linewidth=0.5)
        ax.set_xlabel(r"$E_s/N_0$ (dB)")
        ax.set_ylabel("MI gain (bit per channel use)")
        ax.set_title("(b) shaping gain over square QAM")
        ax.legend(loc="upper left")
        for ax, k in zip(axes[1], (4, 6)):
            plot_constellation(shown[k].points, shown[k].bit_labels if k == 4 else None, ax=ax)
            gain = dict((e, m - q) for e, m, q in learned[k])[SHOWN[k]]
            ax.set_title(f"({'c' if k == 4 else 'd'}) learned {2**k} points, $E_s/N_0$ = {SHOWN[k]:g} dB, +{gain:.3f} bit")
        for path in save_figure(fig, FIGURES / "shaping_gain"):
            print(f"wrote {path.relative_to(FIGURES.parent)}")
        plt.close(fig)


if __name__ == "__main__":
    main()
