"""Impairments and model-free training: the issue-12 acceptance numbers, the constellations and the SER curves.

Trains (k=4, n=1) autoencoders, each seeded, and compares them with Gray 16-QAM and
DVB-S2 16-APSK (rate-3/4 ring ratio), each baseline with the ML detector of the channel,
on the same messages and noise:

  A. AWGN, Eb/N0 7 dB: backprop against model-free training, the same messages.
  B. a 3-bit ADC at Es/N0 10 dB (and 16 dB): model-free (backprop is refused), against 16-QAM.
  C. i.i.d. phase noise, sigma 0.2 rad, at Es/N0 20 dB.
  D. a Rapp PA (p 3, A 1) before AWGN: input back-off 3 dB at Es/N0 18 dB, and (seeds 0, 1, 2)
     back-off 0 dB at Es/N0 15 dB, where 16-APSK is the geometry to match.
  E. Rician fading with CSI, K = 0, 3, 10: QPSK Monte Carlo against the MGF closed form.

Writes figures/impairments_constellations.{pdf,png}, figures/impairments_curves.{pdf,png},
figures/impairments.csv (every number printed, the constellation panels' SERs among them),
figures/impairments_points.csv (the learned points drawn) and figures/impairments_curves.csv
(the simulate rows drawn); --from-csv redraws both figures from these three. --quick trains a few batches and simulates little (CI: it checks the
script runs, not the numbers) and writes into --out instead of figures/.

Run: python experiments/impairments.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from _common import FIGURES, RUNS, write_csv

from commae import Modem, qam
from commae.constellations import Constellation, apsk
from commae.models import SystemConfig
from commae.plotting import new_figure, plot_error_rates, plot_system_constellation, save_figure, style
from commae.runs import RunError, train_run
from commae.simulation import read_results, simulate, write_results
from commae.snr import esno_db_to_ebno_db
from commae.training import MessageBatches, TrainConfig, evaluate_system


def train(name: str, system: SystemConfig, ebno_db: float, training: str, budget: dict, out: Path, seed: int = 0):
    cfg = TrainConfig(ebno_db=(ebno_db, ebno_db), training=training, seed=seed, **budget)
    started = time.perf_counter()
    result = train_run(system, cfg, out / name, force=True, progress=False, log=None)
    messages = cfg.epochs * cfg.batches_per_epoch * cfg.batch_size
    print(f"  trained {name}: {training}, {messages} messages ({cfg.epochs} epochs x {cfg.batches_per_epoch} x {cfg.batch_size}), {time.perf_counter() - started:.0f} s")
    return result


def initial_ser(system: SystemConfig, test: MessageBatches, seed: int = 0) -> float:
    torch.manual_seed(seed)  # the initial weights train_run starts from
    return evaluate_system(system.build().eval(), test)["ser"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few batches only (CI)")
    parser.add_argument("--out", type=Path, default=None, help="output directory [default: figures/, or runs/impairments-quick with --quick]")
    parser.add_argument("--from-csv", action="store_true", help="redraw both figures from the CSVs in --out (impairments.csv, impairments_points.csv, impairments_curves.csv), without training")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = args.out or (RUNS / "impairments-quick" if args.quick else FIGURES)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_csv:
        draw_constellations(read_points(out), read_records(out), out)
        draw_curves(read_results(out / "impairments_curves.csv"), out)
        return
    runs = out / "runs" if args.quick else RUNS / "impairments"
    budget = dict(epochs=1, batches_per_epoch=10, batch_size=256, val_size=1024) if args.quick else dict(epochs=8, batches_per_epoch=100, val_size=100_000)
    test_size = (1 << 11, 1) if args.quick else (1 << 16, 8)  # messages per batch, batches: 2^19 test messages
    sim = dict(target_errors=20, max_bits=1 << 12, batch_size=1 << 10) if args.quick else dict(target_errors=1000, max_bits=1 << 24)
    records: list[tuple[str, str, float]] = []

    def record(experiment: str, quantity: str, value: float) -> None:
        records.append((experiment, quantity, value))
        print(f"  {quantity:<44} {value:.4e}" if isinstance(value, float) else f"  {quantity:<44} {value}")

    def test_set(ebno_db: float, seed: int) -> MessageBatches:
        return MessageBatches(4, 1, test_size[0], test_size[1], ebno_db, seed=seed, fixed=True)

    # A. AWGN: backprop and model-free on the same messages
    print("A. AWGN, Eb/N0 7 dB, (k=4, n=1)")
    awgn = SystemConfig(k=4, n=1)
    test = test_set(7.0, 11)
    bp = train("awgn-backprop", awgn, 7.0, "backprop", budget, runs)
    mf = train("awgn-model-free", awgn, 7.0, "model-free", budget, runs)
    ser_bp, ser_mf = bp.history.last["val_ser"], mf.history.last["val_ser"]
    record("A", "val SER backprop", ser_bp)
    record("A", "val SER model-free", ser_mf)
    record("A", "val SER ratio model-free / backprop", ser_mf / ser_bp)
    record("A", "test SER backprop", evaluate_system(bp.model, test)["ser"])
    record("A", "test SER model-free", evaluate_system(mf.model, test)["ser"])

    # B. 3-bit ADC at Es/N0 10 dB: model-free only
    print("B. 3-bit ADC (clip 1.5 x RMS), Es/N0 10 dB")
    ebno_adc = float(esno_db_to_ebno_db(10.0, 4, 1))
    adc = CONSTELLATION_ROWS["adc"][1]  # 3 bits, clip 1.5 x RMS
    try:
        train("adc-backprop", adc, ebno_adc, "backprop", budget, runs)
        record("B", "backprop refused", "NO (it trained)")
    except RunError as exc:
        record("B", "backprop refused with", str(exc))
    test = test_set(ebno_adc, 12)
    start = initial_ser(adc, test)
    adc_run = train("adc-model-free", adc, ebno_adc, "model-free", budget, runs)
    learned = evaluate_system(adc_run.model, test)["ser"]
    qam_adc = evaluate_system(Modem(qam(16), adc.make_channel()), test)["ser"]
    qam_clean = evaluate_system(Modem(qam(16)), test)["ser"]
    record("B", "test SER initial (untrained)", start)
    record("B", "test SER model-free", learned)
    record("B", "fall initial / trained", start / learned)
    record("B", "test SER 16-QAM, same ADC, ML detector", qam_adc)
    record("B", "test SER 16-QAM, no ADC", qam_clean)
    record("B", "test SER 16-APSK, same ADC, ML detector", evaluate_system(Modem(apsk(16), adc.make_channel()), test)["ser"])
    record("B", "ratio model-free / 16-QAM (ADC)", learned / qam_adc)

    print("B2. the same ADC at Es/N0 16 dB, where a 10x fall is possible")
    ebno_adc16 = float(esno_db_to_ebno_db(16.0, 4, 1))
    test = test_set(ebno_adc16, 16)
    start16 = initial_ser(adc, test)
    adc16 = train("adc-model-free-16dB", adc, ebno_adc16, "model-free", budget, runs).model
    learned16 = evaluate_system(adc16, test)["ser"]
    qam16_adc = evaluate_system(Modem(qam(16), adc.make_channel()), test)["ser"]
    record("B2", "test SER initial (untrained)", start16)
    record("B2", "test SER model-free", learned16)
    record("B2", "fall initial / trained", start16 / learned16)
    record("B2", "test SER 16-QAM, same ADC, ML detector", qam16_adc)
    record("B2", "ratio model-free / 16-QAM (ADC)", learned16 / qam16_adc)

    # C. phase noise
    print("C. i.i.d. phase noise 0.2 rad, Es/N0 20 dB")
    ebno_pn = float(esno_db_to_ebno_db(20.0, 4, 1))
    pn = CONSTELLATION_ROWS["phase-noise"][1]  # 0.2 rad
    pn_run = train("phase-noise", pn, ebno_pn, "backprop", budget, runs)
    test = test_set(ebno_pn, 13)
    pn_systems = {"learned": pn_run.model, "16-QAM": Modem(qam(16), pn.make_channel(), name="16-QAM"), "16-APSK": Modem(apsk(16), pn.make_channel(), name="16-APSK")}
    pn_ser = {name: evaluate_system(s, test)["ser"] for name, s in pn_systems.items()}
    for name, value in pn_ser.items():
        record("C", f"test SER {name}", value)
    record("C", "ratio learned / 16-QAM", pn_ser["learned"] / pn_ser["16-QAM"])
    record("C", "ratio learned / 16-APSK", pn_ser["learned"] / pn_ser["16-APSK"])

    # D. Rapp PA
    print("D. Rapp PA (p 3, A 1, IBO 3 dB) -> AWGN, Es/N0 18 dB")
    ebno_pa = float(esno_db_to_ebno_db(18.0, 4, 1))
    pa = CONSTELLATION_ROWS["pa"][1]  # Rapp, p 3, A 1, IBO 3 dB
    pa_run = train("rapp-pa-ibo3", pa, ebno_pa, "backprop", budget, runs)
    test = test_set(ebno_pa, 14)
    pa_systems = {"learned": pa_run.model, "16-QAM": Modem(qam(16), pa.make_channel(), name="16-QAM"), "16-APSK": Modem(apsk(16), pa.make_channel(), name="16-APSK")}
    pa_ser = {name: evaluate_system(s, test)["ser"] for name, s in pa_systems.items()}
    for name, value in pa_ser.items():
        record("D", f"test SER {name}", value)
    record("D", "ratio learned / 16-QAM", pa_ser["learned"] / pa_ser["16-QAM"])
    record("D", "ratio learned / 16-APSK", pa_ser["learned"] / pa_ser["16-APSK"])
    print("D2. Rapp PA, IBO 0 dB, Es/N0 15 dB, three seeds")
    ebno_pa0 = float(esno_db_to_ebno_db(15.0, 4, 1))
    pa0 = SystemConfig(k=4, n=1, pa="rapp", pa_smoothness=3.0, pa_saturation=1.0, pa_backoff=0.0)
    test = test_set(ebno_pa0, 14)
    for name, s in (("16-QAM", Modem(qam(16), pa0.make_channel())), ("16-APSK", Modem(apsk(16), pa0.make_channel()))):
        record("D2", f"test SER {name}", evaluate_system(s, test)["ser"])
    for seed in (0, 1, 2):
        model = train(f"rapp-pa-ibo0-seed{seed}", pa0, ebno_pa0, "backprop", budget, runs, seed=seed).model
        record("D2", f"test SER learned, seed {seed}", evaluate_system(model, test)["ser"])

    # E. SER curves (phase noise, PA) and Rician QPSK against theory
    print("E. curves")
    from commae.models import make_channel

    points = [14.0, 20.0] if args.quick else [12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0]
    ebnos = [float(esno_db_to_ebno_db(p, 4, 1)) for p in points]
    curves_pn = simulate(pn_systems, ebnos, seed=1, progress=False, **sim)
    curves_pa = simulate(pa_systems, ebnos, seed=1, progress=False, **sim)
    curves_rice = []
    for K in (0.0, 3.0, 10.0):
        qpsk = Modem(qam(4), make_channel("rician", k_factor=K), name=f"K = {K:g}")
        curves_rice += simulate([qpsk], [5.0] if args.quick else [0.0, 5.0, 10.0, 15.0], seed=2, theory=True, progress=False, **sim)
    curves = curves_pn + curves_pa + curves_rice
    write_results(curves, out / "impairments_curves.csv", {"experiment": "impairments", "quick": args.quick})

    with open(out / "impairments.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["experiment", "quantity", "value"])
        writer.writerows(records)

    learned = {"adc": adc_run.model, "phase-noise": pn_run.model, "pa": pa_run.model}
    write_csv(
        out / "impairments_points.csv",
        [{"row": row, "message": m, "re": float(v.real), "im": float(v.imag)} for row, model in learned.items() for m, v in enumerate(model.transmitter.all_symbols().detach()[:, 0].tolist())],
    )
    draw_constellations(read_points(out), read_records(out), out)  # as the CSVs hold them: a --from-csv redraw is this figure
    draw_curves(curves, out)
    print(f"wrote {out / 'impairments.csv'} and {out / 'impairments_curves.csv'}")


# row of impairments_constellations: (title, SystemConfig, Es/N0 in dB, impairments.csv experiment, learned system's name)
CONSTELLATION_ROWS = {
    "adc": (r"3-bit ADC, $E_s/N_0$ 10 dB", SystemConfig(k=4, n=1, adc_bits=3, adc_clip=1.5), 10.0, "B", "learned (model-free)"),
    "phase-noise": (r"phase noise 0.2 rad, $E_s/N_0$ 20 dB", SystemConfig(k=4, n=1, phase_noise=0.2), 20.0, "C", "learned"),
    "pa": (r"Rapp PA IBO 3 dB, $E_s/N_0$ 18 dB", SystemConfig(k=4, n=1, pa="rapp", pa_smoothness=3.0, pa_saturation=1.0, pa_backoff=3.0), 18.0, "D", "learned"),
}
# the impairments.csv quantity holding each panel's SER, by experiment and column
SER_QUANTITIES = {
    "B": ("test SER model-free", "test SER 16-QAM, same ADC, ML detector", "test SER 16-APSK, same ADC, ML detector"),
    "C": ("test SER learned", "test SER 16-QAM", "test SER 16-APSK"),
    "D": ("test SER learned", "test SER 16-QAM", "test SER 16-APSK"),
}


def read_points(out: Path) -> dict[str, torch.Tensor]:
    """The learned points of each constellation row, [16] complex, as impairments_points.csv holds them (message order)."""
    points: dict[str, list[complex]] = {}
    with open(out / "impairments_points.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            points.setdefault(r["row"], []).append(complex(float(r["re"]), float(r["im"])))
    return {row: torch.tensor(p, dtype=torch.complex64) for row, p in points.items()}


def read_records(out: Path) -> list[tuple[str, str, str]]:
    """The (experiment, quantity, value) rows of impairments.csv."""
    with open(out / "impairments.csv", newline="") as fh:
        return [(r["experiment"], r["quantity"], r["value"]) for r in csv.DictReader(fh)]


def draw_constellations(points: dict[str, torch.Tensor], records: list[tuple], out: Path) -> None:
    """figures/impairments_constellations.{pdf,png}: per impairment, the learned points, 16-QAM and 16-APSK with 2000 received samples and the SER of impairments.csv.

    The learned system is drawn as a modem of its learned points over its
    channel: the cloud is what the autoencoder's transmitter and channel give
    for the same messages and draws, so the figure needs no trained model.
    """
    ser = {(experiment, quantity): float(value) for experiment, quantity, value in records if quantity.startswith("test SER")}
    with style("ieee-wide"):
        fig, axes = new_figure(3, 3, height=7.0)
        for r, (row, (tag, system, esno, experiment, name)) in enumerate(CONSTELLATION_ROWS.items()):
            channel = system.make_channel
            systems = {name: Modem(Constellation(points[row]), channel()), "16-QAM": Modem(qam(16), channel()), "16-APSK": Modem(apsk(16), channel())}
            for c, ((label, modem), quantity) in enumerate(zip(systems.items(), SER_QUANTITIES[experiment])):
                ax = axes[r, c]
                plot_system_constellation(modem, bits=False, cloud_ebno_db=float(esno_db_to_ebno_db(esno, 4, 1)), cloud_size=2000, axes=[ax])
                ax.set_title(f"{label}: {tag}\nSER {ser[(experiment, quantity)]:.2e}", fontsize=6)
        span = max(ax.get_xlim()[1] for ax in axes.flat)  # one scale for all nine panels: the geometries compare directly
        for ax in axes.flat:
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
            if not ax.get_subplotspec().is_last_row():
                ax.set_xlabel("")  # the same axes throughout: the outer panels name them
            if not ax.get_subplotspec().is_first_col():
                ax.set_ylabel("")
        for path in save_figure(fig, out / "impairments_constellations"):
            print(f"wrote {path}")
        plt.close(fig)


def draw_curves(curves: list[dict], out: Path) -> None:
    """figures/impairments_curves.{pdf,png} from the simulate rows (as impairments_curves.csv holds them)."""
    panels = [
        ([r for r in curves if "phase-noise" in r["channel"]], "(a) phase noise 0.2 rad"),
        ([r for r in curves if r["channel"].startswith("rapp")], "(b) Rapp PA, IBO 3 dB"),
    ]
    rice = [{**r, "channel": "rician"} for r in curves if r["channel"].startswith("rician")]
    with style("ieee-wide"):
        fig, axes = new_figure(1, 3, height=2.6)
        for ax, (rows_, title) in zip(axes[0, :2], panels):
            plot_error_rates(rows_, metric="ser", esno=True, theory=False, ax=ax)
            ax.set_title(title)
        plot_error_rates(rice, metric="ber", esno=False, theory=True, ax=axes[0, 2])
        axes[0, 2].set_title("(c) QPSK, Rician, MGF theory")
        for path in save_figure(fig, out / "impairments_curves"):
            print(f"wrote {path}")
        plt.close(fig)


if __name__ == "__main__":
    main()
