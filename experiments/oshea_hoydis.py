"""O'Shea & Hoydis (2017), the (n, k) autoencoders: BLER of AE (2,2), (7,4), (8,8) against uncoded BPSK and Hamming (7,4).

Real channel uses over AWGN, each autoencoder trained at Eb/N0 = 7 dB with the
paper's per-message energy constraint ||x||² = n. Notation as in the paper:
(n, k) = n real channel uses for k bits. BLER from −4 to 8 dB in 1-dB steps by
`simulate` (≥ 100 block errors a point in the full run, common random numbers
within each (k, n), 95 % Clopper–Pearson bars). Also the learned (2,2) and
(2,4) constellations (n = 2 real uses drawn as one complex point) with the
per-message and with the average energy constraint.

Writes OUT/oshea_hoydis.{csv,json,pdf,png} (ber-curve results format; systems
ae-2-2, uncoded-bpsk-2, ae-7-4, hamming74-hard, hamming74-soft, uncoded-bpsk-4,
ae-8-8, uncoded-bpsk-8), OUT/oshea_hoydis_gaps.csv (Eb/N0 gap of AE (7,4) to
Hamming soft-ML at each of its points), OUT/oshea_hoydis_constellations.{csv,pdf,png},
and prints every number docs/reproductions.md quotes, with a verdict per claim.

Run: python experiments/oshea_hoydis.py             (full; OUT = figures/)
     python experiments/oshea_hoydis.py --quick     (CI: small budgets, asserts directions)
     python experiments/oshea_hoydis.py --from-csv  (redraw both figures from OUT's oshea_hoydis.csv and oshea_hoydis_constellations.csv)
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from _common import experiment_args, report_checks, train_or_load, write_csv

from commae import AWGN, Hamming74, UncodedBPSK
from commae.constellations import int_to_bits
from commae.models import SystemConfig
from commae.plotting import new_figure, plot_constellation, plot_error_rates, save_figure, style
from commae.simulation import ebno_at_rate, ebno_gaps, read_results, simulate, write_gaps, write_results
from commae.training import TrainConfig

NAMES = {
    "ae-2-2": "Autoencoder (2,2)", "uncoded-bpsk-2": "Uncoded BPSK (2,2)",
    "ae-7-4": "Autoencoder (7,4)", "hamming74-hard": "Hamming (7,4) hard", "hamming74-soft": "Hamming (7,4) MLD",
    "uncoded-bpsk-4": "Uncoded BPSK (4,4)", "ae-8-8": "Autoencoder (8,8)", "uncoded-bpsk-8": "Uncoded BPSK (8,8)",
}  # fmt: skip
# (k, n) and training budget of each autoencoder; every one at 7 dB, per-message energy, Adam 3e-3 with a cosine schedule.
FULL = {
    "ae-2-2": dict(k=2, n=2, hidden=64, epochs=20, batch_size=1024),
    "ae-7-4": dict(k=4, n=7, hidden=128, epochs=40, batch_size=2048),
    "ae-8-8": dict(k=8, n=8, hidden=256, epochs=30, batch_size=2048),
}
QUICK = {
    "ae-2-2": dict(k=2, n=2, hidden=32, epochs=6, batch_size=512, batches_per_epoch=50, val_size=4096, lr=1e-2),
    "ae-7-4": dict(k=4, n=7, hidden=64, epochs=8, batch_size=1024, batches_per_epoch=50, val_size=4096),
    "ae-8-8": dict(k=8, n=8, hidden=128, epochs=4, batch_size=1024, batches_per_epoch=40, val_size=4096),
}
CONSTELLATIONS = [(2, "message"), (4, "message"), (2, "batch"), (4, "batch")]  # (k, normalization) with n = 2 real uses
# Independent reference BLER values (AWGN; computed outside commae): at 4 and 6 dB.
REFERENCE = {"uncoded-bpsk-4": (4.907e-2, 9.519e-3), "hamming74-hard": (3.671e-2, 5.386e-3), "hamming74-soft": (1.185e-2, 8.011e-4)}


def train(name: str, spec: dict, runs, normalization: str = "message", suffix: str = "") -> object:
    spec = dict(spec)
    k, n, hidden = spec.pop("k"), spec.pop("n"), spec.pop("hidden")
    system = SystemConfig(k=k, n=n, real=True, hidden=hidden, normalization=normalization)
    config = TrainConfig(ebno_db=(7.0, 7.0), **{"val_size": 50_000, **spec})
    model, last = train_or_load(system, config, runs / f"oshea-{name}{suffix}")
    print(f"trained {name}{suffix}: k={k} n={n} hidden={hidden} {normalization} {spec}: val BLER at 7 dB {last['val_bler']:.3e}")
    return model


def _db(value: float) -> str:
    return f"{value:+.2f}" if math.isfinite(value) else "n/a (beyond the measured range)"


def main() -> None:
    args = experiment_args(__doc__, from_csv=True)
    if args.from_csv:
        draw(read_results(args.out / "oshea_hoydis.csv"), read_points(args.out), args.out)
        return
    quick = args.quick
    specs = QUICK if quick else FULL
    models = {name: train(name, spec, args.runs) for name, spec in specs.items()}
    real = AWGN(real=True)
    systems = {
        "ae-2-2": models["ae-2-2"], "uncoded-bpsk-2": UncodedBPSK(2, real),
        "ae-7-4": models["ae-7-4"], "hamming74-hard": Hamming74("hard", real), "hamming74-soft": Hamming74("soft", real),
        "uncoded-bpsk-4": UncodedBPSK(4, real), "ae-8-8": models["ae-8-8"], "uncoded-bpsk-8": UncodedBPSK(8, real),
    }  # fmt: skip
    ebno = [float(e) for e in (range(-4, 9) if not quick else (0, 2, 4, 6))]
    target = 100 if not quick else 60
    settings = dict(ebno_db=ebno, target_errors=target, target_metric="block", max_bits=400_000_000, seed=0, confidence=0.95)
    rows = simulate(systems, ebno, target_errors=target, target_metric="block", max_bits=settings["max_bits"], batch_size=1 << (17 if not quick else 13), seed=0, theory=True, progress=False)
    write_results(rows, args.out / "oshea_hoydis.csv", {**settings, "training": {k: v for k, v in specs.items()}, "training_ebno_db": 7.0, "normalization": "message"})
    by = {(r["system"], r["ebno_db"]): r for r in rows}

    print(f"\n{'system':<16}" + "".join(f"{e:>9g}" for e in ebno) + "   (BLER; Eb/N0 in dB)")
    for name in systems:
        print(f"{name:<16}" + "".join(f"{by[(name, e)]['bler']:>9.2e}" if (name, e) in by else f"{'':>9}" for e in ebno))
    print(f"{'min block err.':<16}" + "".join(f"{min(by[(n, e)]['block_errors'] for n in systems if (n, e) in by):>9d}" for e in ebno))
    if not quick:
        print("\nreference values (independent), BLER at 4 and 6 dB:")
        for name, (at4, at6) in REFERENCE.items():
            print(f"  {name:<16} measured {by[(name, 4.0)]['bler']:.3e} / {by[(name, 6.0)]['bler']:.3e}   reference {at4:.3e} / {at6:.3e}")

    compared = [e for e in ebno if 0 <= e <= 8]  # the points where the paper compares (7,4) with Hamming: 0..8 dB in the full run, 0..6 in the quick one
    gaps = [g for g in ebno_gaps(rows, "ae-7-4", "hamming74-soft", "bler") if compared[0] <= g["ebno_db"] <= compared[-1] and math.isfinite(g["gap_db"])]
    write_gaps(gaps, args.out / "oshea_hoydis_gaps.csv")
    print("\nAE (7,4) against Hamming (7,4) soft-ML at equal BLER:")
    for g in gaps:
        print(f"  BLER {g['rate']:.2e}: AE at {g['ebno_db']:.2f} dB, Hamming soft at {g['reference_ebno_db']:.2f} dB, gap {g['gap_db']:+.2f} dB [{_db(g['gap_low_db'])}, {_db(g['gap_high_db'])}]")
    print("\nEb/N0 (dB) at BLER 1e-2 and 1e-3:")
    for name in systems:
        print(f"  {name:<16}{ebno_at_rate(rows, name, 1e-2, 'bler'):>7.2f}{ebno_at_rate(rows, name, 1e-3, 'bler'):>7.2f}")

    pair_gaps = [g for g in ebno_gaps(rows, "ae-2-2", "uncoded-bpsk-2", "bler") if math.isfinite(g["gap_db"])]
    inside = sum(by[("uncoded-bpsk-2", e)]["bler_low"] <= by[("ae-2-2", e)]["bler"] <= by[("uncoded-bpsk-2", e)]["bler_high"] for e in ebno)
    listed = ", ".join(f"{g['gap_db']:+.3f}" for g in pair_gaps)
    print(
        f"\nAE (2,2) against uncoded BPSK (2,2): gaps {listed} dB; its BLER inside uncoded's 95 % CI at {inside} of {len(ebno)} points"
        f" ({len(ebno)} independent 95 % intervals miss {0.05 * len(ebno):.2f} on average)"
    )

    # --- the claims ---------------------------------------------------------------------------
    limit = 0.3 if not quick else 1.0
    checks = {
        f"AE (7,4) within {limit} dB of Hamming soft-ML at every BLER it reaches ({compared[0]:g}..{compared[-1]:g} dB)": bool(gaps) and all(g["gap_db"] <= limit for g in gaps),
        "AE (7,4) below Hamming hard at every point >= 2 dB": all(by[("ae-7-4", e)]["bler"] < by[("hamming74-hard", e)]["bler"] for e in ebno if e >= 2 and ("ae-7-4", e) in by),
        "AE (2,2) and uncoded BPSK (2,2) not significantly different: their 95 % CIs overlap at every point": all(
            by[("ae-2-2", e)]["bler_low"] <= by[("uncoded-bpsk-2", e)]["bler_high"] and by[("uncoded-bpsk-2", e)]["bler_low"] <= by[("ae-2-2", e)]["bler_high"] for e in ebno
        ),
        "AE (2,2) within 0.1 dB of uncoded BPSK (2,2) at every BLER it reaches": all(abs(g["gap_db"]) <= 0.1 for g in pair_gaps),
        "AE (8,8) below uncoded BPSK (8,8) at every point >= 0 dB": all(by[("ae-8-8", e)]["bler"] < by[("uncoded-bpsk-8", e)]["bler"] for e in ebno if e >= 0 and ("ae-8-8", e) in by),
    }
    if quick:  # the directions a short training reliably shows
        checks = dict(list(checks.items())[:3])  # (7,4) against Hamming soft and hard; (2,2) against uncoded: CIs overlap
        checks["AE (8,8) below uncoded BPSK (8,8) at 4 and 6 dB"] = all(by[("ae-8-8", e)]["bler"] < by[("uncoded-bpsk-8", e)]["bler"] for e in (4.0, 6.0))

    # --- constellations ------------------------------------------------------------------------
    points = {}
    for k, normalization in CONSTELLATIONS:
        spec = dict(k=k, n=2, hidden=64, epochs=20, batch_size=1024) if not quick else dict(k=k, n=2, hidden=32, epochs=6, batch_size=256, batches_per_epoch=40, val_size=2048, lr=1e-2)
        model = train(f"const-{2}-{k}", spec, args.runs, normalization, suffix=f"-{normalization}")
        x = model.transmitter.all_symbols().detach()  # [M, 2] real
        points[(k, normalization)] = x[:, 0] + 1j * x[:, 1]
    write_csv(
        args.out / "oshea_hoydis_constellations.csv",
        [{"n": 2, "k": k, "normalization": norm, "message": m, "x1": float(p.real), "x2": float(p.imag)} for (k, norm), pts in points.items() for m, p in enumerate(pts.tolist())],
    )
    energy = {key: np.abs(pts.numpy()) ** 2 for key, pts in points.items()}
    for (k, norm), e in energy.items():
        print(f"constellation (2,{k}) {norm}: energy per message min {e.min():.3f} max {e.max():.3f} mean {e.mean():.3f}")
    checks["per-message constraint puts every (2,k) point on the circle |x|^2 = 2"] = all(np.allclose(energy[(k, "message")], 2.0, atol=1e-4) for k in (2, 4))
    checks["average constraint lets the (2,4) points leave the circle (energy spread > 0.2)"] = float(energy[(4, "batch")].max() - energy[(4, "batch")].min()) > 0.2

    draw(rows, read_points(args.out), args.out)  # the points as the CSV holds them: a --from-csv redraw is this figure
    report_checks(checks)


def read_points(out) -> dict[tuple[int, str], torch.Tensor]:
    """The learned (2,k) points, [2**k] complex (x1 + j x2) per (k, normalization), as oshea_hoydis_constellations.csv holds them."""
    import csv

    points: dict[tuple[int, str], list[complex]] = {}
    with open(out / "oshea_hoydis_constellations.csv", newline="") as fh:
        for r in sorted(csv.DictReader(fh), key=lambda r: int(r["message"])):
            points.setdefault((int(r["k"]), r["normalization"]), []).append(complex(float(r["x1"]), float(r["x2"])))
    return {key: torch.tensor(p, dtype=torch.complex64) for key, p in points.items()}


def draw(rows: list[dict], points: dict[tuple[int, str], torch.Tensor], out) -> None:
    """oshea_hoydis.{pdf,png} (BLER curves) and oshea_hoydis_constellations.{pdf,png} (the learned (2,k) points)."""
    with style("ieee-wide"):
        fig, axes = new_figure(1, 2, height=3.0)
        first = [r for r in rows if r["system"] in ("uncoded-bpsk-4", "hamming74-hard", "hamming74-soft", "ae-7-4")]
        # AE (2,2) after uncoded BPSK (2,2): its filled markers on top of the open ones it coincides with, both visible
        order = ("ae-8-8", "uncoded-bpsk-8", "uncoded-bpsk-2", "ae-2-2")
        second = sorted((r for r in rows if r["system"] in order), key=lambda r: order.index(r["system"]))
        for ax, part, title in ((axes[0, 0], first, "(a) (7,4): autoencoder, Hamming and uncoded BPSK"), (axes[0, 1], second, "(b) (2,2) and (8,8): autoencoder and uncoded BPSK")):
            plot_error_rates(part, metric="bler", theory=False, ax=ax, labels=NAMES)
            ax.set_xlim(-4.5, 8.5)
            ax.set_ylim(max(1e-6, min(r["bler"] for r in part if r["bler"] > 0) / 3), 1.0)
            ax.set_title(title)
        for path in save_figure(fig, out / "oshea_hoydis"):
            print(f"wrote {path}")
        plt.close(fig)
        fig, axes = new_figure(1, 4, height=2.05)
        for ax, (k, norm) in zip(axes[0], CONSTELLATIONS):
            plot_constellation(points[(k, norm)], int_to_bits(torch.arange(2**k), k), ax=ax, limit=2.2)
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
            constraint = r"energy $\|x\|^2=2$" if norm == "message" else "average power"
            ax.set_title(f"(2,{k}), {constraint}")
        for path in save_figure(fig, out / "oshea_hoydis_constellations"):
            print(f"wrote {path}")
        plt.close(fig)


if __name__ == "__main__":
    main()
