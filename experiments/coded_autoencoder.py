"""Sionna's end-to-end autoencoder tutorial in commae: a learned 64-point constellation and neural demapper against Gray 64-QAM, both feeding 5G LDPC.

The setting of Sionna's "End-to-end Learning with Autoencoders" tutorial:
64 points (k = 6 bits per complex channel use), learned geometry and labels
(the points start on Gray 64-QAM and move freely, :class:`~commae.models.Transmitter`
with ``constellation=True``) with a bit-wise neural demapper (two hidden
layers of 128, six LLR outputs), trained with BCE, the Eb/N0 of each
example drawn uniformly from the coded link's 4 to 8 dB — per information
bit at code rate 1/2, so the uncoded autoencoder (6 bits a use) trains at
Eb/N0 = coded Eb/N0 + 10 log10(1/2), i.e. 0.99 to 4.99 dB (the same Es/N0,
8.77 to 12.77 dB). Two learned systems: conventional training
(backpropagation through the channel) and model-free training (Aoudia &
Hoydis; the channel only run forward).

The coded link (:class:`commae.bicm.BICM`): random information bits, the 5G
NR LDPC code (k = 750, n = 1500; base graph 2, Z = 80), a seeded scrambler
and interleaver, 250 channel uses a codeword over complex AWGN, bit LLRs
(exact APP for Gray 64-QAM; the neural demapper's logits for the learned
systems), and belief propagation with the tutorial's decoder setting: Sionna's
``LDPC5GDecoder`` defaults, sum-product ("boxplus-phi") on a flooding
schedule, 20 iterations (here with the per-codeword syndrome stop, which
never changes a decision). All three systems have the same (k, n), so they
see the same information bits and the same noise (common random numbers).

Reported: information-bit BER and BLER with Clopper–Pearson intervals at
Eb/N0 5 to 8 dB (per information bit), and the Eb/N0 gain of each learned
system over Gray 64-QAM at BLER 1e-2 and 1e-3 with its interval
(:func:`commae.simulation.ebno_gaps`, as ``commae gap``). The goal: the learned
system at least 0.35 dB ahead of Gray 64-QAM at BLER 1e-3 (the tutorial
reports about 0.4 dB).

Writes OUT/coded_autoencoder.{csv,json} (the ber-curve results format; systems
qam64-ldpc, ae64-ldpc, ae64-ldpc-modelfree), OUT/coded_autoencoder_gaps.csv
and OUT/coded_autoencoder.{pdf,png} (BER and BLER panels).

Run: python experiments/coded_autoencoder.py            (full; OUT = figures/; >= 100 block errors a point up to the budget)
     python experiments/coded_autoencoder.py --quick    (CI: short training, two points, asserts directions)
     python experiments/coded_autoencoder.py --from-csv (redraw the figure from OUT's CSV)
"""

from __future__ import annotations

import math
import time

import matplotlib.pyplot as plt
import torch
from _common import experiment_args, report_checks

from commae import Modem, information, qam
from commae.bicm import BICM
from commae.codes.bp import BPDecoder
from commae.codes.ldpc5g import LDPC5G
from commae.losses import make_loss
from commae.models import SystemConfig
from commae.plotting import new_figure, plot_error_rates, save_figure, style
from commae.simulation import ebno_gaps, read_results, simulate, write_gaps, write_results
from commae.training import MessageBatches, derive_seed, fit, make_optimizer, make_scheduler, make_step, message_metrics

CODE = (750, 1500)
RATE = CODE[0] / CODE[1]
BITS = 6
CODED_TRAIN_EBNO_DB = (4.0, 8.0)  # the tutorial's range, per information bit of the coded link
# the same noise for the uncoded autoencoder, per its own bit: Eb/N0_uncoded = Eb/N0_coded + 10 log10(R)
TRAIN_EBNO_DB = tuple(round(e + 10 * math.log10(RATE), 4) for e in CODED_TRAIN_EBNO_DB)
DECODER = dict(algorithm="sum-product", schedule="flooding", iterations=20)  # Sionna's LDPC5GDecoder defaults
FULL = dict(hidden=128, epochs=30, batch_size=1024, batches_per_epoch=100, val_size=100_000)
QUICK = dict(hidden=128, epochs=5, batch_size=1024, batches_per_epoch=60, val_size=16384)
# Codewords a system spends at most at one point of the full run: 100 block errors are reached down to BLER 2.5e-3; deeper
# points stop here with fewer (their intervals say so). 100 errors at BLER 1e-4 would take 1e6 codewords a point.
FULL_MAX_CODEWORDS = 40_000
NAMES = {"qam64-ldpc": "Gray 64-QAM, APP", "ae64-ldpc": "Learned, backprop", "ae64-ldpc-modelfree": "Learned, model-free"}
RATES = (1e-2, 1e-3)
GOAL_DB = 0.35


def train(training: str, spec: dict, runs) -> torch.nn.Module:
    """The bit-wise 64-point autoencoder, its points started on Gray 64-QAM with message m on the point labelled m, trained with ``training``.

    (The library starts a trainable constellation with message m on point
    *index* m, which is not Gray label m: a bit-wise system would first have
    to undo that permutation, and from there training ends below Gray QAM's
    BMI. The tutorial starts from Gray QAM, as bitwise_shaping.py does.) The
    loop is the library's ``fit``: Adam with a cosine schedule, BCE, the
    Eb/N0 of each example uniform in TRAIN_EBNO_DB; model-free training is
    :class:`~commae.training.ModelFree` (exploration variance 0.02). A model
    trained with the same settings is loaded from ``runs`` (training is
    deterministic for a seed).
    """
    spec = dict(spec)
    path = runs / f"coded-ae64-{training}.pt"
    key = {"training": training, **spec, "ebno_db": TRAIN_EBNO_DB, "start": "gray"}
    torch.manual_seed(0)
    model = SystemConfig(k=BITS, n=1, output="bit", constellation=True, hidden=spec.pop("hidden")).build()
    points = model.transmitter.constellation
    with torch.no_grad():
        points.weight.copy_(points.weight[points.index_of_label].clone())  # message m -> the point whose Gray label is m
    if path.is_file():
        saved = torch.load(path, weights_only=True)
        if saved["key"] == key:
            model.load_state_dict(saved["state"])
            print(f"loaded ae64 ({training}) from {path}")
            return model.eval()
    start = time.perf_counter()
    loss_fn = make_loss("bce", BITS)
    train_batches = MessageBatches(BITS, 1, spec["batch_size"], spec["batches_per_epoch"], TRAIN_EBNO_DB, derive_seed(0, "train"))
    val_batches = MessageBatches(BITS, 1, 1 << 14, max(1, spec["val_size"] >> 14), TRAIN_EBNO_DB, derive_seed(0, "val"), fixed=True)
    optimizer = make_optimizer("adam", model.parameters(), spec.get("lr", 3e-3))
    history = fit(
        model,
        loss_fn,
        train_batches,
        val_batches,
        optimizer,
        spec["epochs"],
        scheduler=make_scheduler("cosine", optimizer, spec["epochs"]),
        metrics=message_metrics(model, BITS),
        progress=False,
        log=None,
        step=make_step(training),
    )
    last = history.last
    runs.mkdir(parents=True, exist_ok=True)
    torch.save({"key": key, "state": model.state_dict()}, path)
    print(
        f"trained ae64 ({training}): {spec}, Eb/N0 {TRAIN_EBNO_DB} dB uncoded = {CODED_TRAIN_EBNO_DB} dB coded: "
        f"val BMI bound {last['mi_bits']:.3f} bits, val BER {last['val_ber']:.2e} ({time.perf_counter() - start:.0f} s)"
    )
    return model.eval()


def bmi_table(models: dict) -> None:
    """The BMI (bits per use, Gauss-Hermite quadrature) of each learned constellation (its points and labels) and of Gray 64-QAM at the Es/N0 of coded Eb/N0 5 to 8 dB."""
    coded = [5.0, 6.0, 7.0, 8.0]
    esno = [e + 10 * math.log10(RATE * BITS) for e in coded]
    rows = {"Gray 64-QAM": qam(64), **{f"learned ({name})": model.constellation() for name, model in models.items()}}
    print(f"\nBMI in bits per use (the points with exact demapping), at coded Eb/N0 {coded} dB = Es/N0 {[round(e, 2) for e in esno]} dB:")
    gray = [float(information.bmi(qam(64), esno_db=e)) for e in esno]
    for name, points in rows.items():
        values = [float(information.bmi(points, esno_db=e)) for e in esno]
        print(f"  {name:<24}" + "".join(f"{v:>9.4f}" for v in values) + ("" if name == "Gray 64-QAM" else "   gain " + " ".join(f"{v - g:+.4f}" for v, g in zip(values, gray))))


def link(mapper: torch.nn.Module, name: str) -> BICM:
    code = LDPC5G(*CODE)
    return BICM(code, mapper, BPDecoder(code, **DECODER), name=name)


def gains(rows: list[dict]) -> list[dict]:
    """Eb/N0 gaps of each learned system to Gray 64-QAM at the BLERs of RATES (negative: the learned system needs less)."""
    present = {r["system"] for r in rows}
    return [g for name in ("ae64-ldpc", "ae64-ldpc-modelfree") if name in present for g in ebno_gaps(rows, name, "qam64-ldpc", "bler", rates=RATES)]


def _gain_text(g: dict) -> str:
    if not math.isfinite(g["gap_db"]):
        return f"n/a ({g['note']})"
    low, high = -g["gap_high_db"], -g["gap_low_db"]
    interval = f"[{low:+.2f}, {high:+.2f}]" if math.isfinite(low) and math.isfinite(high) else "[interval not reached]"
    return f"{-g['gap_db']:+.2f} dB {interval}"


def main() -> None:
    args = experiment_args(__doc__, from_csv=True)
    if args.from_csv:
        draw(read_results(args.out / "coded_autoencoder.csv"), args.out)
        return
    quick = args.quick
    spec = QUICK if quick else FULL
    models = {training: train(training, spec, args.runs) for training in ("backprop", "model-free")}
    bmi_table(models)
    systems = {
        "qam64-ldpc": link(Modem(qam(64), demapping="app"), "qam64-ldpc"),
        "ae64-ldpc": link(models["backprop"], "ae64-ldpc"),
        "ae64-ldpc-modelfree": link(models["model-free"], "ae64-ldpc-modelfree"),
    }
    ebno = [6.0, 6.5] if quick else [5.0 + 0.5 * i for i in range(7)]
    target = 20 if quick else 100
    max_codewords = 1000 if quick else FULL_MAX_CODEWORDS
    settings = dict(
        ebno_db=ebno,
        target_errors=target,
        target_metric="block",
        max_bits=CODE[0] * max_codewords,
        batch_size=500 if quick else 2000,
        seed=0,
        confidence=0.95,
    )
    start = time.perf_counter()
    rows = simulate(systems, ebno, theory=False, progress=False, **{key: value for key, value in settings.items() if key != "ebno_db"})
    elapsed = time.perf_counter() - start
    codewords = sum(r["blocks"] for r in rows)
    print(f"simulated {codewords} codewords in {elapsed:.0f} s ({1000 * elapsed / codewords:.2f} s per 1000 codewords and system, all systems together)")
    write_results(
        rows,
        args.out / "coded_autoencoder.csv",
        {
            **settings,
            "code": {"code": f"ldpc5g:{CODE[0]}:{CODE[1]}", **DECODER, "early_stop": True, "interleaver_seed": 0, "scrambler_seed": 0},
            "demapper": {"qam64-ldpc": "app", "ae64-ldpc": "neural (bit-wise logits)", "ae64-ldpc-modelfree": "neural (bit-wise logits)"},
            "training": {**spec, "loss": "bce", "constellation": True, "ebno_db": TRAIN_EBNO_DB, "coded_ebno_db": CODED_TRAIN_EBNO_DB},
        },
    )
    by = {(r["system"], r["ebno_db"]): r for r in rows}
    print(f"\n{'system':<22}" + "".join(f"{e:>10g}" for e in ebno) + "   (BLER [95% CI]; Eb/N0 per information bit, dB)")
    for name in systems:
        print(f"{name:<22}" + "".join(f"{by[(name, e)]['bler']:>10.2e}" if (name, e) in by else f"{'':>10}" for e in ebno))
        print(f"{'':<22}" + "".join(f"{by[(name, e)]['block_errors']:>7d}/{by[(name, e)]['blocks']:<2.0e}" if (name, e) in by else f"{'':>10}" for e in ebno))
    found = gains(rows)
    write_gaps(found, args.out / "coded_autoencoder_gaps.csv")
    print("\nEb/N0 gain over Gray 64-QAM (positive: the learned system needs less energy), 95% interval from the Clopper-Pearson curves:")
    for g in found:
        print(f"  {g['system']:<22} at BLER {g['rate']:.0e}: {_gain_text(g)}")
    draw(read_results(args.out / "coded_autoencoder.csv"), args.out)  # the rows as the CSV holds them: a --from-csv redraw is this figure

    last = {name: [by[(name, e)] for e in ebno if (name, e) in by] for name in systems}
    checks = {f"{name}: BLER falls from {ebno[0]:g} to {ebno[1]:g} dB": last[name][0]["bler"] > last[name][1]["bler"] for name in systems}
    checks["the learned systems' bits are real information bits (750 a codeword)"] = all(r["bits"] == CODE[0] * r["blocks"] for r in rows)
    if quick:  # a short training is already near Gray QAM: within a factor 3 of its BLER at 6.5 dB
        checks["ae64-ldpc within a factor 3 of Gray 64-QAM's BLER at 6.5 dB after a short training"] = by[("ae64-ldpc", 6.5)]["bler"] <= 3 * by[("qam64-ldpc", 6.5)]["bler"]
    else:
        at = {g["system"]: g for g in found if g["rate"] == 1e-3}
        gain = -at["ae64-ldpc"]["gap_db"] if "ae64-ldpc" in at else float("nan")
        checks[f"ae64-ldpc at least {GOAL_DB} dB ahead of Gray 64-QAM at BLER 1e-3 (measured {gain:+.2f} dB)"] = gain >= GOAL_DB
    report_checks(checks)


def draw(rows: list[dict], out) -> None:
    """coded_autoencoder.{pdf,png}: information-bit BER and BLER against Eb/N0 per information bit."""
    with style("ieee-wide"):
        fig, axes = new_figure(1, 2, height=2.8)
        for ax, metric, title in ((axes[0, 0], "ber", "(a) information-bit BER"), (axes[0, 1], "bler", "(b) block (codeword) error rate")):
            plot_error_rates(rows, metric=metric, theory=False, ax=ax, labels=NAMES)
            shown = [r[metric] for r in rows if r[metric] > 0]
            ax.set_ylim(min(shown) / 3, 1.0)
            ax.set_title(title)
        for path in save_figure(fig, out / "coded_autoencoder"):
            print(f"wrote {path}")
        plt.close(fig)


if __name__ == "__main__":
    main()
