"""Probabilistic and joint geometric–probabilistic shaping: learned distributions against Maxwell–Boltzmann QAM, QAM and the AWGN capacity.

For 16 points at Es/N0 = 10 dB, 64 at 15 dB and 256 at 20 dB (and, for the
figure, a sweep of Es/N0 around each), five systems over complex AWGN:

* ``qam``: square Gray QAM, equiprobable;
* ``qam-mb``: the same points with Maxwell–Boltzmann probabilities
  P(x) ∝ exp(−ν|x|²), ν maximising the MI at that Es/N0 (the BMI column: ν
  maximising the BMD rate, ``nu_bmi``), by a bounded 1-D search
  (:func:`commae.information.best_maxwell_boltzmann`);
* ``geometric``: learned points (``--points``, the ``n = 1`` trainable
  constellation started from Gray QAM), equiprobable messages;
* ``probabilistic``: the QAM points fixed, the message probabilities learned;
* ``joint``: points and probabilities learned together.

Each learned system is trained (CE, or CE − H(X) with a learned distribution:
:class:`commae.losses.ShapedObjective`) at the Es/N0 where it is evaluated,
with a symbol-wise MLP receiver. Its MI, BMD rate and entropy are then those
of its learned points and probabilities by Gauss–Hermite quadrature (an exact
receiver; within 2e-5 bit), not the receiver's bound: ``bound_bits`` (with
``bound_low``, ``bound_high``, its 99.9 % interval) is H(X) − CE/ln 2 of the
trained receiver on 200 000 messages drawn from the learned distribution
(:func:`commae.information.estimate_mi`), ``training_bound_bits`` the last
validation value of training (65 536 weighted messages: its standard error is
about 0.01 bit for 64 points). The gap to capacity is given in bits (C − I) and in dB (the Es/N0 at
which capacity equals the MI lies that far below).

Why the n = 1 learned-points transmitter: its parameters are the M points
themselves (2M numbers) and its symbol table costs nothing, where an MLP
transmitter with 256 messages learns an embedding of the same table through
a hidden layer; the receiver (hidden width 128, 256 for 256 points) is the
cost of training either way.

Writes OUT/joint_shaping.csv (one row per points, Es/N0, system),
OUT/joint_shaping_curves.csv (QAM and MB-QAM on a fine grid),
OUT/joint_shaping_points.csv (the learned points and probabilities drawn),
OUT/joint_shaping.{pdf,png} (MI and gap to capacity against Es/N0) and
OUT/joint_shaping_constellations.{pdf,png} (marker area ∝ probability).

The trained weights are kept in runs/joint_shaping/ (--quick: OUT/runs/), so a
rerun with the same settings loads them and recomputes only the numbers.

Run: python experiments/joint_shaping.py              (full; OUT = figures/; about 75 minutes on 2 busy cores)
     python experiments/joint_shaping.py --quick      (CI: 16 points at 10 dB; asserts the directions)
     python experiments/joint_shaping.py --from-csv   (redraw the figures from OUT's CSVs)
"""

from __future__ import annotations

import csv
import math
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import torch
from _common import experiment_args, report_checks, write_csv

from commae import information
from commae.constellations import Constellation, entropy_bits, qam
from commae.losses import ShapedObjective, make_loss
from commae.models import SystemConfig
from commae.plotting import new_figure, plot_constellation, plot_mi_curves, save_figure, style
from commae.snr import esno_db_to_ebno_db
from commae.theory import capacity_awgn
from commae.training import MessageBatches, derive_seed, fit, make_optimizer, make_scheduler

MAIN = {4: 10.0, 6: 15.0, 8: 20.0}  # the three settings of the issue
SWEEP = {4: [5.0, 10.0, 15.0, 20.0], 6: [10.0, 15.0, 20.0, 25.0], 8: [15.0, 20.0, 25.0]}
FULL = {4: dict(hidden=128, epochs=12, batch_size=2048), 6: dict(hidden=128, epochs=12, batch_size=2048), 8: dict(hidden=256, epochs=15, batch_size=4096)}
QUICK = {4: dict(hidden=64, epochs=8, batch_size=1024, batches_per_epoch=60)}
QUICK_SWEEP = {4: [10.0]}
GRID = {4: (0.0, 20.0), 6: (5.0, 25.0), 8: (10.0, 30.0)}  # Es/N0 range (dB) of the QAM and MB-QAM curves
SYSTEMS = ("qam", "qam-mb", "geometric", "probabilistic", "joint")
LEARNED = ("geometric", "probabilistic", "joint")
NAMES = {"qam": "QAM", "qam-mb": "MB-QAM", "geometric": "geometric (learned)", "probabilistic": "probabilistic (learned)", "joint": "joint (learned)"}
LR = 1e-2
SAMPLED = {False: 200_000, True: 50_000}  # messages of the receiver's bound (estimate_mi), full and --quick
TOLERANCE = 1e-4  # bit: two quadratures (each within 2e-5 bit of a 160-node rule) compared, with margin


def train(k: int, esno_db: float, shaping: str, spec: dict, runs, seed: int = 0):
    """A learned system of ``2**k`` messages trained at ``esno_db``; message m starts on the Gray-QAM point labelled m.

    Its weights and last validation bound are kept in ``runs/joint_shaping/``
    (keyed by every setting): training is deterministic for a seed, so a
    rerun loads what it would train and only recomputes the numbers.
    """
    torch.manual_seed(seed)
    model = SystemConfig(k=k, hidden=spec["hidden"], constellation=shaping != "probabilistic", shaping=shaping).build()
    key = "-".join(f"{name}{value}" for name, value in sorted(spec.items()))
    cache = runs / "joint_shaping" / f"{shaping}-{2**k}-{esno_db:g}dB-{key}-lr{LR:g}-seed{seed}.pt"
    if cache.is_file():
        saved = torch.load(cache, weights_only=True)
        model.load_state_dict(saved["state"])
        print(f"loaded {shaping} {2**k} points at Es/N0 {esno_db:g} dB from {cache}", flush=True)
        return model.eval(), float(saved["bound"])
    ebno = float(esno_db_to_ebno_db(esno_db, k))
    loss_fn = make_loss("ce", k)
    if model.transmitter.shaped:
        loss_fn = ShapedObjective(loss_fn, model.transmitter.log_probabilities)
    train_batches = MessageBatches(k, 1, spec["batch_size"], spec.get("batches_per_epoch", 100), ebno, derive_seed(seed, "train"))
    val_batches = MessageBatches(k, 1, 1 << 15, 2, ebno, derive_seed(seed, "val"), fixed=True)
    optimizer = make_optimizer("adam", model.parameters(), LR)
    history = fit(model, loss_fn, train_batches, val_batches, optimizer, spec["epochs"], scheduler=make_scheduler("cosine", optimizer, spec["epochs"]), progress=False, log=None)
    print(f"trained {shaping} {2**k} points at Es/N0 {esno_db:g} dB: bound {history.last['mi_bits']:.4f} bit", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": model.state_dict(), "bound": float(history.last["mi_bits"])}, cache)
    return model.eval(), history.last["mi_bits"]


def _row(points: int, esno: float, system: str, constellation: Constellation, bmi_value: float | None = None, **extra) -> dict:
    mi_value = float(information.mi(constellation, esno))
    bmi_value = float(information.bmi(constellation, esno)) if bmi_value is None else bmi_value
    capacity = float(capacity_awgn(esno))
    return {
        "points": points,
        "esno_db": esno,
        "system": system,
        "entropy_bits": constellation.entropy_bits,
        "mi_bits": mi_value,
        "bmi_bits": bmi_value,
        "capacity_bits": capacity,
        "gap_bits": capacity - mi_value,
        "gap_db": esno - 10 * math.log10(2**mi_value - 1),  # capacity reaches this MI that many dB lower
        **extra,
    }


def main() -> None:
    args = experiment_args(__doc__, from_csv=True)
    if args.from_csv:
        draw(*read_csvs(args.out), args.out)
        return
    specs, sweep = (QUICK, QUICK_SWEEP) if args.quick else (FULL, SWEEP)
    rows, drawn = [], {}
    for k, spec in specs.items():
        M = 2**k
        for esno in sweep[k]:
            rows.append(_row(M, esno, "qam", qam(M), nu=0.0))
            mb, nu = information.best_maxwell_boltzmann(M, esno)
            mb_bmi, nu_bmi = information.best_maxwell_boltzmann(M, esno, metric="bmi")
            rows.append(_row(M, esno, "qam-mb", mb, float(information.bmi(mb_bmi, esno)), nu=nu, nu_bmi=nu_bmi))
            for shaping in LEARNED:
                model, bound = train(k, esno, shaping, spec, args.runs)
                learned = model.constellation()  # message m = label m: Gray labels where it started from QAM
                # the receiver's bound H(X) - CE/ln 2 on messages drawn from the learned distribution, with its 99.9 % interval
                sampled = information.estimate_mi(model, float(esno_db_to_ebno_db(esno, k)), num_messages=SAMPLED[args.quick], seed=1, confidence=0.999)
                extra = dict(training_bound_bits=float(bound), bound_bits=sampled["mi_bits_per_message"], bound_low=sampled["low"], bound_high=sampled["high"])
                rows.append(_row(M, esno, shaping, learned, **extra))
                if esno == MAIN[k] and shaping in ("probabilistic", "joint"):
                    drawn[(M, shaping)] = learned
            if esno == MAIN[k]:
                drawn[(M, "qam-mb")] = mb
    curves = []
    for k in specs:
        M = 2**k
        for esno in np.arange(GRID[k][0], GRID[k][1] + 0.01, 1.0 if args.quick else 0.5):
            mb, nu = information.best_maxwell_boltzmann(M, float(esno))
            curves.append({"points": M, "esno_db": float(esno), "qam_mi_bits": float(information.mi(qam(M), esno)), "qam_mb_mi_bits": float(information.mi(mb, esno)), "nu": nu})
    write_csv(args.out / "joint_shaping.csv", rows)
    write_csv(args.out / "joint_shaping_curves.csv", curves)
    write_csv(
        args.out / "joint_shaping_points.csv",
        [
            {"points": M, "system": system, "message": m, "re": float(x.real), "im": float(x.imag), "probability": float(p)}
            for (M, system), c in drawn.items()
            for m, (x, p) in enumerate(zip(c.points[c.index_of_label].tolist(), c.label_probabilities.tolist()))
        ],
    )
    print(f"\n{'points':>6}{'Es/N0':>7}  {'system':<15}{'H(X)':>8}{'MI':>9}{'BMI':>9}{'C':>8}{'C-MI':>8}{'gap dB':>8}")
    for r in rows:
        print(
            f"{r['points']:>6}{r['esno_db']:>7g}  {r['system']:<15}{r['entropy_bits']:>8.4f}{r['mi_bits']:>9.4f}{r['bmi_bits']:>9.4f}{r['capacity_bits']:>8.4f}{r['gap_bits']:>8.4f}{r['gap_db']:>8.3f}"
        )
    checks = {}
    by = {(r["points"], r["esno_db"], r["system"]): r for r in rows}
    for k in specs:
        M, esno = 2**k, MAIN[k]
        mi_of = {s: by[(M, esno, s)]["mi_bits"] for s in SYSTEMS}
        checks[f"{M} points at {esno:g} dB: joint MI {mi_of['joint']:.4f} >= MB-QAM's {mi_of['qam-mb']:.4f} (within {TOLERANCE:g} bit)"] = mi_of["joint"] >= mi_of["qam-mb"] - TOLERANCE
        checks[f"{M} points at {esno:g} dB: joint MI {mi_of['joint']:.4f} >= geometric's {mi_of['geometric']:.4f} (within {TOLERANCE:g} bit)"] = mi_of["joint"] >= mi_of["geometric"] - TOLERANCE
        checks[f"{M} points at {esno:g} dB: MB-QAM above QAM ({mi_of['qam-mb'] - mi_of['qam']:+.4f} bit)"] = mi_of["qam-mb"] > mi_of["qam"]
        checks[f"{M} points at {esno:g} dB: learned probabilities on QAM above QAM ({mi_of['probabilistic'] - mi_of['qam']:+.4f} bit)"] = mi_of["probabilistic"] > mi_of["qam"]
    for r in rows:
        checks.setdefault("every MI <= H(X) and <= capacity, every BMD rate <= MI (+1e-6)", True)
        ok = r["mi_bits"] <= min(r["entropy_bits"], r["capacity_bits"]) + 1e-6 and r["bmi_bits"] <= r["mi_bits"] + 1e-6 if r["system"] != "qam-mb" else r["mi_bits"] <= r["capacity_bits"]
        checks["every MI <= H(X) and <= capacity, every BMD rate <= MI (+1e-6)"] &= bool(ok)
        if "bound_low" in r:  # a lower bound: its interval must reach below the MI of the points and probabilities
            claim = f"every learned receiver's bound H(X) - CE/ln 2 (99.9 % interval, {SAMPLED[args.quick]} messages drawn from p) reaches below the quadrature MI"
            checks[claim] = checks.get(claim, True) and r["bound_low"] <= r["mi_bits"] + TOLERANCE
    draw(*read_csvs(args.out), args.out)  # from the CSVs just written: --from-csv draws the same figures
    report_checks(checks)


def draw(rows: list[dict], curves: list[dict], drawn: dict, out) -> None:
    """joint_shaping.{pdf,png}: MI (top) and gap to capacity (bottom) against Es/N0 per size; joint_shaping_constellations: the learned distributions."""
    sizes = sorted({r["points"] for r in rows})
    with style("ieee-wide"):
        fig, axes = new_figure(2, len(sizes), height=4.6)
        for j, M in enumerate(sizes):
            grid = [c for c in curves if c["points"] == M]
            series = {
                "square QAM": ([c["esno_db"] for c in grid], [c["qam_mi_bits"] for c in grid]),
                "MB-QAM (best ν)": ([c["esno_db"] for c in grid], [c["qam_mb_mi_bits"] for c in grid]),
            }
            for system in LEARNED:
                mine = sorted((r for r in rows if r["points"] == M and r["system"] == system), key=lambda r: r["esno_db"])
                series[NAMES[system]] = ([r["esno_db"] for r in mine], [r["mi_bits"] for r in mine])
            learned = [NAMES[s] for s in LEARNED]
            top, bottom = axes[0, j], axes[1, j]
            plot_mi_curves(series, ax=top, capacity=[c["esno_db"] for c in grid], learned=learned)
            top.set_ylim(0, math.log2(M) + 0.6)
            top.set_title(f"({'abc'[j]}) {M} points: MI")
            plot_mi_curves(series, ax=bottom, learned=learned, gap=True)
            bottom.set_ylim(-0.02, 0.6)
            bottom.set_title(f"({'def'[j]}) {M} points: gap to capacity")
            if j:
                top.set_ylabel("")
                bottom.set_ylabel("")
        axes[0, -1].legend(loc="lower right", fontsize=6)  # below the curves of the largest constellation, where none run
        for path in save_figure(fig, out / "joint_shaping"):
            print(f"wrote {path}")
        plt.close(fig)
    joint = [key for key in sorted(drawn) if key[1] == "joint"]
    others = [key for key in sorted(drawn, key=lambda key: (-key[0], key[1])) if key[1] == "probabilistic"]
    panels = (joint + others)[:4]
    limit = 1.15 * max(float(drawn[key].points.abs().max()) for key in panels)
    with style("ieee"):
        ncols = 2
        nrows = math.ceil(len(panels) / ncols)
        fig, axes = new_figure(nrows, ncols, height=1.75 * nrows + 0.35)
        for i, (M, system) in enumerate(panels):
            ax = axes[i // ncols, i % ncols]
            c = drawn[(M, system)]
            plot_constellation(c.points, probabilities=c.probabilities, ax=ax, axis_lines=False, limit=limit)  # area of p = 1/M: 19.6 pt^2 x 16/M
            ax.set_title(f"({'abcd'[i]}) {system} {M}, {MAIN[M.bit_length() - 1]:g} dB")
            ax.text(0.03, 0.03, f"H = {c.entropy_bits:.2f} bit", transform=ax.transAxes, fontsize=6, ha="left", va="bottom", bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
            ax.set_xlabel("In-phase" if i + ncols >= len(panels) else "")
            ax.set_ylabel("Quadrature" if i % ncols == 0 else "")
        for i in range(len(panels), nrows * ncols):
            axes[i // ncols, i % ncols].set_visible(False)
        area = plt.rcParams["lines.markersize"] ** 2 * 1.6 * 16  # the area of p = 1, as plot_constellation draws it
        sizes = sorted({M for M, _ in panels})
        handles = [plt.scatter([], [], s=area / M, color="black", linewidths=0) for M in sizes]
        fig.legend(handles, [f"$p = 1/{M}$" for M in sizes], loc="outside lower center", ncols=len(sizes), title="marker area ∝ probability", fontsize=6, title_fontsize=6)
        for path in save_figure(fig, out / "joint_shaping_constellations"):
            print(f"wrote {path}")
        plt.close(fig)


def read_csvs(out) -> tuple[list[dict], list[dict], dict]:
    """The rows, curves and drawn constellations (points, probabilities, entropy) that the three CSVs hold."""

    def numbers(path):
        with open(path, newline="") as fh:
            return [{key: (value if key == "system" else float(value)) for key, value in r.items() if value != ""} for r in csv.DictReader(fh)]

    rows, curves = numbers(out / "joint_shaping.csv"), numbers(out / "joint_shaping_curves.csv")
    for r in rows + curves:
        r["points"] = int(r["points"])
    drawn: dict = {}
    for r in numbers(out / "joint_shaping_points.csv"):
        drawn.setdefault((int(r["points"]), r["system"]), []).append(r)
    constellations = {}
    for key, mine in drawn.items():
        mine.sort(key=lambda r: r["message"])
        p = torch.tensor([r["probability"] for r in mine], dtype=torch.float64)
        points = torch.tensor([complex(r["re"], r["im"]) for r in mine], dtype=torch.complex64)
        constellations[key] = SimpleNamespace(points=points, probabilities=p, entropy_bits=entropy_bits(p))  # as written, not renormalised
    return rows, curves, constellations


if __name__ == "__main__":
    main()
