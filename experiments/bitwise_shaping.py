"""The bit-wise autoencoder: geometry and labelling learned together, against Gray QAM, in BMI and in uncoded BER.

A trainable constellation (16 or 64 points, started from Gray QAM, unit
average energy) with a bit-wise neural receiver (k LLRs), trained with BCE —
the BMI objective — over complex AWGN at one Es/N0 per size, in the waterfall
of each size where shaping pays (16 points at 10 dB, 64 at 15 dB: the MI gain
in shaping_gain.py is +0.044 and +0.144 bit there, the peak for 64 points; for
16 points +0.051 at 5 dB is a little more). Message m carries the bits of m; it starts
on the Gray-QAM point labelled m, and the points (with their labels) move
freely from there, so geometry and labelling are learned together.

Reported per size: the BMI of the learned labelled points and of Gray QAM by
Gauss–Hermite quadrature (bits per channel use) and their difference; the
uncoded BER at the training Es/N0 of (i) the autoencoder's own receiver,
(ii) exact-APP demapping on the learned points and labels, (iii) Gray QAM with
exact-APP demapping — all three on the same bits and noise.

Writes OUT/bitwise_shaping.{csv,pdf,png} and OUT/bitwise_shaping_points.csv.

Run: python experiments/bitwise_shaping.py          (full; OUT = figures/)
     python experiments/bitwise_shaping.py --quick  (CI: 16 points only, asserts directions)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from _common import experiment_args, report_checks, write_csv

from commae import Constellation, Modem, information, qam
from commae.losses import make_loss
from commae.models import SystemConfig
from commae.plotting import MARKERS, new_figure, plot_constellation, save_figure, style
from commae.simulation import simulate
from commae.snr import esno_db_to_ebno_db
from commae.training import MessageBatches, derive_seed, fit, make_optimizer, make_scheduler, message_metrics

TRAIN_ESNO_DB = {4: 10.0, 6: 15.0}
FULL = {4: dict(hidden=128, epochs=20, batch_size=2048), 6: dict(hidden=128, epochs=25, batch_size=4096)}
QUICK = {4: dict(hidden=64, epochs=6, batch_size=1024, batches_per_epoch=40)}


class APPDemapper(Modem):
    """A modem whose hard decisions are the signs of its exact-APP LLRs (bit-wise MAP), not ML symbol decisions."""

    def receive(self, y, no=None, h=None):
        return (self.llr(y, no, h, method="app") > 0).to(torch.float32)


def gray_fraction(constellation) -> float:
    """Fraction of nearest-neighbour pairs (within 1 % of each point's nearest distance) whose labels differ in one bit: 1 for Gray QAM."""
    pts = constellation.points
    distance = (pts[:, None] - pts[None]).abs()
    distance.fill_diagonal_(float("inf"))
    near = distance <= 1.01 * distance.min(-1, keepdim=True).values  # [M, M]
    labels = constellation.labels
    differing = torch.tensor([bin(int(a) ^ int(b)).count("1") for a in labels for b in labels]).reshape(len(labels), -1)
    return float((differing[near] == 1).float().mean())


def train(k: int, spec: dict):
    """Train the bit-wise autoencoder, its points started from Gray QAM with message m on the point labelled m.

    (The library's trainable constellation starts so; a start on QAM point
    *index* m, which is not label m, would make a bit-wise system undo that
    permutation first.) The loop is the library's ``fit`` with the
    ``commae train`` defaults: Adam 3e-3, cosine schedule.
    """
    spec = dict(spec)
    torch.manual_seed(0)
    model = SystemConfig(k=k, output="bit", constellation=True, hidden=spec.pop("hidden")).build()  # message m on the Gray point labelled m
    ebno = esno_db_to_ebno_db(TRAIN_ESNO_DB[k], k)
    loss_fn = make_loss("bce", k)
    train_batches = MessageBatches(k, 1, spec["batch_size"], spec.get("batches_per_epoch", 100), ebno, derive_seed(0, "train"))
    val_batches = MessageBatches(k, 1, 1 << 15, 2, ebno, derive_seed(0, "val"), fixed=True)
    optimizer = make_optimizer("adam", model.parameters(), 3e-3)
    history = fit(
        model,
        loss_fn,
        train_batches,
        val_batches,
        optimizer,
        spec["epochs"],
        scheduler=make_scheduler("cosine", optimizer, spec["epochs"]),
        metrics=message_metrics(model, k),
        progress=False,
        log=None,
    )
    last = history.last
    print(f"trained {2**k} points at Es/N0 {TRAIN_ESNO_DB[k]:g} dB ({spec}): BMI bound {last['mi_bits']:.4f} bit, val BER {last['val_ber']:.3e}")
    return model.eval(), last["mi_bits"]


def main() -> None:
    args = experiment_args(__doc__, from_csv=True)
    if args.from_csv:
        draw(*read_csv(args.out), args.out)
        return
    quick = args.quick
    specs = QUICK if quick else FULL
    rows, learned = [], {}
    for k, spec in specs.items():
        model, bound = train(k, spec)
        esno = TRAIN_ESNO_DB[k]
        points = model.constellation()  # labels = message index: the learned labelling
        learned[k] = points
        bmi_learned, bmi_gray = float(information.bmi(points, esno)), float(information.bmi(qam(2**k), esno))
        mi_learned, mi_gray = float(information.mi(points, esno)), float(information.mi(qam(2**k), esno))
        systems = {"autoencoder": model, "learned-app": APPDemapper(points, name="learned-app"), "gray-qam-app": APPDemapper(qam(2**k), name="gray-qam-app")}
        target = 1000 if not quick else 300
        ebno = esno_db_to_ebno_db(esno, k)
        sim = {r["system"]: r for r in simulate(systems, [ebno], target_errors=target, max_bits=50_000_000, seed=0, progress=False)}
        rows.append(
            {
                "points": 2**k,
                "neighbours_one_bit_apart": gray_fraction(points),
                "esno_db": esno,
                "bmi_learned": bmi_learned,
                "bmi_gray_qam": bmi_gray,
                "bmi_gain": bmi_learned - bmi_gray,
                "mi_learned": mi_learned,
                "mi_qam": mi_gray,
                "bmi_training_bound": float(bound),
                **{f"ber_{name}": r["ber"] for name, r in sim.items()},
                **{f"ber_{name}_low": r["ber_low"] for name, r in sim.items()},
                **{f"ber_{name}_high": r["ber_high"] for name, r in sim.items()},
                "bits": sim["autoencoder"]["bits"],
            }
        )
    print(f"\n{'points':>6}{'Es/N0':>7}{'BMI learned':>13}{'BMI Gray':>10}{'gain':>9}{'MI learned':>12}{'BER AE':>11}{'BER pts+APP':>13}{'BER Gray+APP':>14}{'Gray nbrs':>11}")
    for r in rows:
        print(
            f"{r['points']:>6}{r['esno_db']:>7g}{r['bmi_learned']:>13.4f}{r['bmi_gray_qam']:>10.4f}{r['bmi_gain']:>+9.4f}{r['mi_learned']:>12.4f}"
            f"{r['ber_autoencoder']:>11.3e}{r['ber_learned-app']:>13.3e}{r['ber_gray-qam-app']:>14.3e}{r['neighbours_one_bit_apart']:>11.0%}"
        )
    write_csv(args.out / "bitwise_shaping.csv", rows)
    write_csv(
        args.out / "bitwise_shaping_points.csv",
        [{"points": 2**k, "message": m, "bits": format(m, f"0{k}b"), "re": float(p.real), "im": float(p.imag)} for k, c in learned.items() for m, p in enumerate(c.points[c.index_of_label].tolist())],
    )
    checks = {}
    for r in rows:
        checks[f"{r['points']} points: learned BMI above Gray QAM's at {r['esno_db']:g} dB"] = r["bmi_gain"] > 0
        checks[f"{r['points']} points: the BMI bound of training is below the quadrature BMI (+0.01)"] = r["bmi_training_bound"] <= r["bmi_learned"] + 0.01
        checks[f"{r['points']} points: the neural receiver's BER within 15 % of exact APP on its own points"] = r["ber_autoencoder"] <= 1.15 * r["ber_learned-app"]

    draw(rows, learned, args.out)
    report_checks(checks)


def draw(rows: list[dict], learned: dict, out) -> None:
    """bitwise_shaping.{pdf,png}: (a) BMI against Gray QAM, then one panel per learned labelled constellation."""
    with style("ieee-wide"):
        fig, axes = new_figure(1, 1 + len(learned), height=2.9, gridspec_kw={"width_ratios": [1.25] + [1] * len(learned)})
        ax = axes[0, 0]
        grid = np.arange(0.0, 25.01, 0.5)
        for k in learned:
            ax.plot(grid, information.bmi(qam(2**k), grid), linestyle="--" if k == 4 else "-.", color="0.35", label=f"{2**k}-QAM (Gray)")
        for i, r in enumerate(rows):
            ax.plot([r["esno_db"]], [r["bmi_learned"]], marker=MARKERS[i], linestyle="none", color=f"C{i + 1}", label=f"learned {r['points']} ({r['bmi_gain']:+.3f} bit)")
        ax.set_xlabel(r"$E_s/N_0$ (dB)")
        ax.set_ylabel("BMI (bit per channel use)")
        ax.set_title("(a) BMI at the training SNR")
        ax.legend(loc="lower right")  # below the curves, which have saturated there
        for j, (ax, (k, c)) in enumerate(zip(axes[0, 1:], learned.items())):
            plot_constellation(c.points, c.bit_labels if k <= 4 else None, ax=ax)  # 64 six-bit labels do not fit a panel
            ax.set_title(f"({'bc'[j]}) {2**k} points, {TRAIN_ESNO_DB[k]:g} dB")  # 64 labels: in bitwise_shaping_points.csv
        for path in save_figure(fig, out / "bitwise_shaping"):
            print(f"wrote {path}")
        plt.close(fig)


def read_csv(out) -> tuple[list[dict], dict]:
    """The rows and the learned labelled points that bitwise_shaping.csv and bitwise_shaping_points.csv hold."""
    import csv

    with open(out / "bitwise_shaping.csv", newline="") as fh:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    for r in rows:
        r["points"] = int(r["points"])
    with open(out / "bitwise_shaping_points.csv", newline="") as fh:
        points = list(csv.DictReader(fh))
    learned = {}
    for r in rows:
        mine = sorted((p for p in points if int(p["points"]) == r["points"]), key=lambda p: int(p["message"]))  # message m carries label m
        k = r["points"].bit_length() - 1
        learned[k] = Constellation(torch.tensor([complex(float(p["re"]), float(p["im"])) for p in mine]))
    return rows, learned


if __name__ == "__main__":
    main()
