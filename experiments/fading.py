"""Rayleigh fading, with and without CSI: symbol-wise autoencoders (k = 4; n = 1 and 2 complex uses) against coherent 16-QAM and QPSK.

Every autoencoder is trained over its own channel at Eb/N0 drawn uniformly in
TRAIN_EBNO_DB per message. Baselines detect coherently (ML with the true h),
simulated on the same fading and noise as the autoencoder of the same (k, n),
with their closed forms where they exist: 16-QAM (n = 1) and two QPSK symbols
(n = 2; over block fading both symbols share one gain). Without CSI a
coherent receiver has no gain; the baseline a receiver would use there is a
pilot: one known symbol, then one 16-QAM symbol, the gain estimated from the
pilot (`pilot-qam16`, block fading). Over fast fading without CSI a pilot
tells nothing about the other uses, and there is no standard baseline.

Beside every autoencoder runs ML detection of its own learned points over
the same channel, on the same draws (`NAME-ml`: min_s sum_i |y_i - h_i s_i|^2
with CSI; without CSI over block Rayleigh the exact non-coherent ML,
y ~ CN(0, s s^H + N0 I)): the best any receiver can do with those points, so
the gap between the two curves is the receiver's alone.

Writes OUT/fading.{csv,json} (ber-curve results format), OUT/fading.{pdf,png}
and OUT/fading_points.csv (the learned points), and prints the Eb/N0 at BLER
1e-2 and 1e-3 of every system, each receiver's BLER against ML on its points,
and what the no-CSI autoencoder loses.

Run: python experiments/fading.py             (full; OUT = figures/)
     python experiments/fading.py --quick     (CI: small budgets, asserts directions)
     python experiments/fading.py --from-csv  (redraw the figure from OUT's fading.csv and fading_points.csv)
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from _common import experiment_args, report_checks, train_or_load, write_csv
from torch import nn

from commae import Modem, PilotModem, Rayleigh, broadcast_no, qam
from commae.constellations import int_to_bits
from commae.models import SystemConfig
from commae.plotting import plot_constellation, plot_error_rates, save_figure, style
from commae.simulation import ebno_at_rate, read_results, simulate, write_results
from commae.training import TrainConfig

TRAIN_EBNO_DB = (10.0, 30.0)
# name: (n, fading, csi)
AUTOENCODERS = {
    "ae-n1-csi": (1, "fast", True),
    "ae-n2-fast-csi": (2, "fast", True),
    "ae-n2-block-csi": (2, "block", True),
    "ae-n2-block-nocsi": (2, "block", False),
}
NAMES = {
    "ae-n1-csi": "Autoencoder (1,4), CSI", "qam16": "16-QAM, CSI",
    "ae-n2-fast-csi": "Autoencoder (2,4), CSI", "qpsk2-fast": "2×QPSK, CSI",
    "ae-n2-block-csi": "Autoencoder (2,4), CSI", "qpsk2-block": "2×QPSK, CSI",
    "ae-n2-block-nocsi": "Autoencoder (2,4), no CSI", "pilot-qam16": "pilot + 16-QAM, no CSI",
}  # fmt: skip


class LearnedPointsML(nn.Module):
    """ML detection of an autoencoder's learned codewords over its channel: the System the receiver is measured against.

    With CSI, min_s sum_i |y_i - h_i s_i|^2. Without CSI over block Rayleigh
    (one h ~ CN(0, 1) per message), y ~ CN(0, s s^H + N0 I), so
    ln p(y | s) = -ln(N0 + |s|^2) + |s^H y|^2 / (N0 (N0 + |s|^2)) + terms without s.
    """

    def __init__(self, model, name: str) -> None:
        super().__init__()
        channel = model.channel
        if not channel.csi and not (isinstance(channel, Rayleigh) and channel.fading == "block"):
            raise ValueError(f"ML on learned points needs CSI or block Rayleigh fading, got {channel.name}")
        self.model, self.channel, self.name = model, channel, name
        self.k, self.n, self.bits_per_symbol = model.k, model.n, model.k

    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        return self.model.transmit(bits)

    def receive(self, y: torch.Tensor, no=None, h: torch.Tensor | None = None) -> torch.Tensor:
        codebook = self.model.transmitter.all_symbols().detach()  # [M, n]
        if h is not None:
            score = -(y[:, None, :] - h[:, None, :] * codebook).abs().pow(2).sum(-1)  # [B, M]
        else:
            no = broadcast_no(no, y).double()  # a scalar, or [B, 1]
            energy = codebook.abs().pow(2).sum(-1).double()  # [M]
            match = (codebook.conj()[None] * y[:, None, :]).sum(-1).abs().pow(2).double()  # |s^H y|^2, [B, M]
            score = -torch.log(no + energy) + match / (no * (no + energy))
        return int_to_bits(score.argmax(-1), self.k)


def train(name: str, quick: bool, runs):
    n, fading, csi = AUTOENCODERS[name]
    system = SystemConfig(k=4, n=n, channel="rayleigh", fading=fading, csi=csi, normalization="batch" if csi else "message")
    budget = dict(epochs=15, batch_size=2048) if not quick else dict(epochs=6, batch_size=1024, batches_per_epoch=50)
    model, last = train_or_load(system, TrainConfig(ebno_db=TRAIN_EBNO_DB, val_size=50_000, **budget), runs / f"fading-{name}")
    collapsed = model.transmitter.collapsed_messages()
    print(f"trained {name}: n={n} {fading} csi={csi} {system.normalization}: val BLER {last['val_bler']:.3e}, collapsed messages {collapsed}")
    return model


def main() -> None:
    args = experiment_args(__doc__, from_csv=True)
    if args.from_csv:
        draw(read_results(args.out / "fading.csv"), read_points(args.out), args.out)
        return
    quick = args.quick
    models = {name: train(name, quick, args.runs) for name in AUTOENCODERS}
    systems = {
        "ae-n1-csi": models["ae-n1-csi"], "qam16": Modem(qam(16), Rayleigh("fast", csi=True), name="qam16"),
        "ae-n2-fast-csi": models["ae-n2-fast-csi"], "qpsk2-fast": Modem(qam(4), Rayleigh("fast", csi=True), symbols_per_message=2, name="qpsk2-fast"),
    }  # fmt: skip
    block = {
        "ae-n2-block-csi": models["ae-n2-block-csi"], "qpsk2-block": Modem(qam(4), Rayleigh("block", csi=True), symbols_per_message=2, name="qpsk2-block"),
        "ae-n2-block-nocsi": models["ae-n2-block-nocsi"], "pilot-qam16": PilotModem(qam(16), Rayleigh("block", csi=False)),
    }  # fmt: skip
    for group in (systems, block):  # each autoencoder's twin: ML on its points, on the same draws
        group.update({f"{name}-ml": LearnedPointsML(models[name], f"{name}-ml") for name in AUTOENCODERS if name in group})
    ebno = [float(e) for e in (np.arange(0, 41, 2.5) if not quick else (10, 20, 30))]
    target = 100 if not quick else 50
    settings = dict(ebno_db=ebno, target_errors=target, target_metric="block", max_bits=100_000_000, seed=0, train_ebno_db=list(TRAIN_EBNO_DB))
    # two calls: the same (k, n) shares draws, and fast and block fading must not be mixed in one group
    rows = simulate(systems, ebno, target_errors=target, target_metric="block", max_bits=settings["max_bits"], seed=0, theory=True, progress=False)
    rows += simulate(block, ebno, target_errors=target, target_metric="block", max_bits=settings["max_bits"], seed=1, theory=True, progress=False)
    write_results(rows, args.out / "fading.csv", settings)
    by = {(r["system"], r["ebno_db"]): r for r in rows}
    names = list(systems) + list(block)
    print(f"\n{'system':<20}" + "".join(f"{e:>9g}" for e in ebno) + "   (BLER; Eb/N0 in dB)")
    for name in names:
        print(f"{name:<20}" + "".join(f"{by[(name, e)]['bler']:>9.2e}" if (name, e) in by else f"{'':>9}" for e in ebno))
    theory = [r for r in rows if math.isfinite(r["bler_theory"])]
    if theory:
        print("closed forms (coherent):", ", ".join(f"{r['system']} {r['ebno_db']:g} dB {r['bler_theory']:.2e} (sim {r['bler']:.2e})" for r in theory if r["ebno_db"] in (20.0, 30.0)))
    at = {name: (ebno_at_rate(rows, name, 1e-2, "bler"), ebno_at_rate(rows, name, 1e-3, "bler")) for name in names}
    print("\nEb/N0 (dB) at BLER 1e-2 and 1e-3:")
    for name, (a, b) in at.items():
        print(f"  {name:<20}{a:>7.2f}{b:>7.2f}")
    print("\neach receiver's BLER / ML on its points' BLER, on the same draws (95 % Clopper-Pearson bounds in brackets), where ML counts errors:")
    ratios = {}
    for name in AUTOENCODERS:
        cells = []
        for e in ebno:
            learned, ml = by.get((name, e)), by.get((f"{name}-ml", e))
            if learned is None or ml is None or ml["block_errors"] == 0:
                continue
            ratios[(name, e)] = (learned["bler_low"] / ml["bler_high"], learned["bler"] / ml["bler"], learned["bler_high"] / ml["bler_low"])
            cells.append(f"{e:g} dB {ratios[(name, e)][1]:.2f} [{ratios[(name, e)][0]:.2f}, {ratios[(name, e)][2]:.2f}]")
        print(f"  {name:<20}" + "; ".join(cells))
    loss = at["ae-n2-block-nocsi"][0] - at["ae-n2-block-csi"][0]
    print(f"\nwithout CSI the n=2 autoencoder trails its CSI twin by {loss:.2f} dB at BLER 1e-2 (block fading); pilot + 16-QAM trails it by {at['pilot-qam16'][0] - at['ae-n2-block-csi'][0]:.2f} dB")

    # What the no-CSI transmitter learned: how much of each use's energy is common to all messages (a pilot would be 1 on one use).
    points = {}
    for name in ("ae-n1-csi", "ae-n2-fast-csi", "ae-n2-block-nocsi"):
        points[name] = models[name].transmitter.all_symbols().detach()  # [16, n] complex
    x = points["ae-n2-block-nocsi"]
    common = (x.mean(0).abs() ** 2 / (x.abs() ** 2).mean(0)).numpy()
    print("no-CSI transmitter, fraction of each use's energy common to all messages (1 = a pure pilot):", ", ".join(f"use {i + 1}: {c:.3f}" for i, c in enumerate(common)))
    write_csv(
        args.out / "fading_points.csv",
        [{"system": name, "message": m, "use": u + 1, "re": float(v.real), "im": float(v.imag)} for name, pts in points.items() for m, row in enumerate(pts.tolist()) for u, v in enumerate(row)],
    )

    ref = 20.0 if quick else 30.0
    checks = {
        "AE n=1 with CSI is no worse than coherent 16-QAM at BLER 1e-2 (within 0.5 dB)" if not quick else "AE n=1 with CSI within 2x of 16-QAM's BLER at 20 dB": (
            at["ae-n1-csi"][0] <= at["qam16"][0] + 0.5
        )
        if not quick
        else by[("ae-n1-csi", 20.0)]["bler"] <= 2 * by[("qam16", 20.0)]["bler"],
        "AE n=2 over fast fading beats 2xQPSK (it spreads each message over both gains: diversity)": by[("ae-n2-fast-csi", ref)]["bler"] < 0.5 * by[("qpsk2-fast", ref)]["bler"],
        "AE n=2 without CSI communicates over block fading (BLER < 0.1 at the top Eb/N0)": by[("ae-n2-block-nocsi", ebno[-1])]["bler"] < 0.1,
        "AE n=2 without CSI trails the CSI autoencoder (needs more Eb/N0)": by[("ae-n2-block-nocsi", ref)]["bler"] > by[("ae-n2-block-csi", ref)]["bler"],
    }
    factor = 1.5 if not quick else 4.0  # a quick run trains too briefly for the n = 2 receiver's rarest fades
    checks[
        f"no error floor of the receivers: each autoencoder's BLER is within {factor:g}x of ML on its own points at every Eb/N0 from 20 dB where ML counts errors (its lower 95 % bound <= {factor:g} x ML's upper bound)"
    ] = all(ratios[(name, e)][0] <= factor for name in AUTOENCODERS for e in ebno if e >= 20.0 and (name, e) in ratios)
    checks["ML on the learned points is the better detector (no receiver significantly below it)"] = all(r[2] >= 1.0 for r in ratios.values())
    if not quick:
        checks["AE n=2 without CSI needs no more Eb/N0 than pilot + 16-QAM at BLER 1e-2 (it learns what a pilot does, and more)"] = at["ae-n2-block-nocsi"][0] <= at["pilot-qam16"][0]
        checks["its first use carries a common (pilot-like) component: > 20 % of that use's energy is the same for all messages"] = float(common.max()) > 0.2

    draw(rows, read_points(args.out), args.out)  # the points as fading_points.csv holds them: a --from-csv redraw is this figure
    report_checks(checks)


FAST = ("ae-n1-csi", "qam16", "ae-n2-fast-csi", "qpsk2-fast")  # panel (a): fast fading, CSI
BLOCK = ("ae-n2-block-csi", "qpsk2-block", "ae-n2-block-nocsi", "pilot-qam16")  # panel (b): block fading, n = 2


def read_points(out) -> dict[str, torch.Tensor]:
    """The learned points, [16, n] complex per autoencoder, as fading_points.csv holds them."""
    import csv

    cells: dict[str, dict[tuple[int, int], complex]] = {}
    with open(out / "fading_points.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            cells.setdefault(r["system"], {})[(int(r["message"]), int(r["use"]) - 1)] = complex(float(r["re"]), float(r["im"]))
    points = {}
    for name, cell in cells.items():
        messages, uses = max(m for m, _ in cell) + 1, max(u for _, u in cell) + 1
        points[name] = torch.tensor([[cell[(m, u)] for u in range(uses)] for m in range(messages)], dtype=torch.complex64)
    return points


def add_ml_curves(ax, rows: list[dict], panel: tuple[str, ...]) -> None:
    """ML on each autoencoder's points (its `-ml` rows) as a thin dotted line over the autoencoder's curve, with one legend entry."""
    label = "ML on the learned points"
    for name in panel:
        ml = sorted((r["ebno_db"], r["bler"]) for r in rows if r["system"] == f"{name}-ml" and r["bler"] > 0)
        if ml:
            ax.plot(*zip(*ml), ":", color="0.1", linewidth=0.9, zorder=6, label=label)
            label = "_nolegend_"
    if label == "_nolegend_":  # the legend plot_error_rates drew, in its order, then this entry
        legend = ax.get_legend()
        drawn = dict(zip(*reversed(ax.get_legend_handles_labels())))
        texts = [t.get_text() for t in legend.texts]
        handles = [drawn.get(text, proxy) for text, proxy in zip(texts, legend.legend_handles)]  # the proxy only for "no errors: upper bound"
        ax.legend(handles=[*handles, drawn["ML on the learned points"]], labels=[*texts, "ML on the learned points"], loc="lower left")


def draw(rows: list[dict], points: dict[str, torch.Tensor], out) -> None:
    """fading.{pdf,png}: BLER over fast and block fading (a, b), and the learned points (c-f)."""
    with style("ieee-wide"):
        fig = plt.figure(figsize=(7.16, 5.4))
        grid = fig.add_gridspec(2, 4, height_ratios=[1.35, 1.0])
        ax_a, ax_b = fig.add_subplot(grid[0, :2]), fig.add_subplot(grid[0, 2:])
        plot_error_rates([r for r in rows if r["system"] in FAST], metric="bler", ax=ax_a, labels=NAMES)
        plot_error_rates([{**r, "channel": "rayleigh-block"} for r in rows if r["system"] in BLOCK], metric="bler", ax=ax_b, labels=NAMES)  # one channel: the names say CSI or not
        for ax, panel in ((ax_a, FAST), (ax_b, BLOCK)):
            add_ml_curves(ax, rows, panel)
            ax.set_ylim(max(1e-8, min(r["bler"] for r in rows if r["bler"] > 0 and r["system"].removesuffix("-ml") in panel) / 3), 1.0)
        ax_a.set_title("(a) fast fading, receiver knows h")
        ax_b.set_title("(b) block fading, n = 2, with and without CSI")
        panels = [
            ("ae-n1-csi", 0, "(c) n=1, CSI"),
            ("ae-n2-fast-csi", 0, "(d) n=2 fast, CSI: use 1"),
            ("ae-n2-block-nocsi", 0, "(e) n=2, no CSI: use 1"),
            ("ae-n2-block-nocsi", 1, "(f) n=2, no CSI: use 2"),
        ]
        for i, (name, use, title) in enumerate(panels):
            ax = fig.add_subplot(grid[1, i])
            plot_constellation(points[name][:, use], int_to_bits(torch.arange(16), 4) if name == "ae-n1-csi" else None, ax=ax, limit=2.2)
            ax.set_title(title)
        for path in save_figure(fig, out / "fading"):
            print(f"wrote {path}")
        plt.close(fig)


if __name__ == "__main__":
    main()
