"""Sionna's end-to-end autoencoder tutorial in commae: a learned 64-point constellation and neural demapper against Gray 64-QAM, both feeding 5G LDPC.

The setting of Sionna's "End-to-end Learning with Autoencoders" tutorial:
64 points (k = 6 bits per complex channel use), learned geometry and labels
(a trainable constellation started on Gray 64-QAM, message m on the point
labelled m, :class:`~commae.models.Transmitter` with ``constellation=True``)
with a bit-wise neural demapper that takes the noise level as an input
(``noise_input=True``: y and log10 N0 in, two hidden layers of 128, six LLR
outputs), trained with BCE, the Eb/N0 of each example drawn uniformly from
the coded link's 4 to 8 dB — per information bit at code rate 1/2, so the
uncoded autoencoder (6 bits a use) trains at Eb/N0 = coded Eb/N0 + 10 log10(1/2),
i.e. 0.99 to 4.99 dB (the same Es/N0, 8.77 to 12.77 dB). Two learned
systems: conventional training (backpropagation through the channel) and
model-free training (Aoudia & Hoydis; the channel only run forward).

The coded link (:class:`commae.bicm.BICM`): random information bits, the 5G
NR LDPC code (k = 750, n = 1500; base graph 2, Z = 80), a seeded scrambler,
the 5G NR row-column bit interleaver (TS 38.212 §5.4.2.2, as the tutorial's
``LDPC5GEncoder(k, n, num_bits_per_symbol)``: the word's i-th sixth on label
position i of every symbol), 250 channel uses a codeword over complex AWGN,
bit LLRs (exact APP for Gray 64-QAM; the neural demapper's logits for the
learned systems), and belief propagation with the tutorial's decoder setting:
Sionna's ``LDPC5GDecoder`` defaults, sum-product ("boxplus-phi") on a flooding
schedule, 20 iterations (here with the per-codeword syndrome stop, which never
changes a decision). The interleaver's rows go to the label positions from the
most reliable to the least, measured for each system
(:func:`commae.bicm.reliability_order`: the per-position BCE of its own
demapper at coded Eb/N0 6.5 dB, seed 0): for Gray QAM the two sign bits, then
the middle and the last bits, which is what the standard's labelling and the
identity order give in the tutorial; the systematic bits of the 5G word, sent
first, land on the best positions. ``--interleaver random`` uses a seeded
random permutation instead (:class:`~commae.codes.interleaver.Interleaver`),
which costs Gray 64-QAM about 0.4 dB. All three systems have the same (k, n), so
they see the same information bits and the same noise (common random numbers).

Reported: information-bit BER and BLER with Clopper–Pearson intervals at
Eb/N0 5 to 8 dB (per information bit), and the Eb/N0 gain of each learned
system over Gray 64-QAM at BLER 1e-2 and 1e-3 with its interval
(:func:`commae.simulation.ebno_gaps`, as ``commae gap``). The goal: the learned
system at least 0.35 dB ahead of Gray 64-QAM at BLER 1e-3 (the tutorial
reports about 0.4 dB).

``--beyond``: past the tutorial, the gain at BLER 1e-2 (with its interval) of
the learned system (conventional training) over Gray QAM, each setting a pair
on the same bits and noise: the tutorial's setting; both constellations
demapped by max-log instead (the learned points with their labels); the
learned points demapped exactly (geometry alone, no neural demapper); a
normalised min-sum decoder (x0.75, flooding, 20 iterations) instead of
sum-product; and 16 and 256 points (each trained as the 64-point one, over
the tutorial's range moved by the Eb/N0 at which Gray QAM's BMI reaches the
rate, k R bits a use).

Writes OUT/coded_autoencoder.{csv,json} (the ber-curve results format; systems
qam64-ldpc, ae64-ldpc, ae64-ldpc-modelfree), OUT/coded_autoencoder_gaps.csv
and OUT/coded_autoencoder.{pdf,png} (BER and BLER panels); with --beyond,
OUT/coded_autoencoder_beyond.{csv,json} and OUT/coded_autoencoder_beyond_gaps.csv.

Run: python experiments/coded_autoencoder.py            (full; OUT = figures/; >= 100 block errors a point up to the budget)
     python experiments/coded_autoencoder.py --beyond   (the settings past the tutorial, BLER 1e-2)
     python experiments/coded_autoencoder.py --quick    (CI: short training, two points, a one-point --beyond; asserts directions)
     python experiments/coded_autoencoder.py --from-csv (redraw the figure from OUT's CSV)
"""

from __future__ import annotations

import math
import time

import matplotlib.pyplot as plt
import torch
from _common import experiment_args, report_checks

from commae import Modem, information, qam
from commae.bicm import BICM, reliability_order
from commae.codes.bp import BPDecoder
from commae.codes.interleaver import Interleaver
from commae.codes.ldpc5g import LDPC5G
from commae.losses import make_loss
from commae.models import Autoencoder
from commae.plotting import new_figure, plot_error_rates, save_figure, style
from commae.simulation import ebno_gaps, read_results, simulate, write_gaps, write_results
from commae.snr import ebno_db_to_no
from commae.training import MessageBatches, derive_seed, fit, make_optimizer, make_scheduler, make_step, message_metrics

CODE = (750, 1500)
RATE = CODE[0] / CODE[1]
CODED_TRAIN_EBNO_DB = (4.0, 8.0)  # the tutorial's range for 64 points, per information bit of the coded link
DESIGN_EBNO_DB = 6.5  # coded Eb/N0 (64 points) at which each system's label positions are ranked by reliability
DECODER = dict(algorithm="sum-product", schedule="flooding", iterations=20)  # Sionna's LDPC5GDecoder defaults
MIN_SUM = dict(algorithm="normalized-min-sum", schedule="flooding", iterations=20, scale=0.75)
# 30,000 Adam steps of 4096 symbols at the tutorial's constant learning rate 1e-3: 123 M symbols, 0.38 of the tutorial's
# 10,000 steps of 128 codewords (320 M); 4000 steps with a cosine schedule from 3e-3 (16 M) ended 0.035 bit a use lower
FULL = dict(hidden=128, epochs=300, batch_size=4096, batches_per_epoch=100, val_size=100_000, lr=1e-3, schedule="constant")
QUICK = dict(hidden=128, epochs=5, batch_size=1024, batches_per_epoch=60, val_size=16384)
GRID = (5.0, 5.5, 6.0, 6.25, 6.5, 6.75, 7.0, 7.25, 7.5, 8.0)  # coded Eb/N0 of the full run, dB


def max_codewords(ebno_db: float) -> int:
    """Codewords a system spends at most at one point of the full run.

    100 block errors are reached down to BLER 5e-4 up to 7 dB, where the gains
    at 1e-3 are read; beyond, the curves go on with fewer errors (their
    intervals say so): 100 errors at BLER 1e-5 would take 1e7 codewords.
    """
    return 200_000 if ebno_db <= 7.0 else 100_000 if ebno_db <= 7.25 else 20_000


NAMES = {"qam64-ldpc": "Gray 64-QAM, APP", "ae64-ldpc": "Learned, backprop", "ae64-ldpc-modelfree": "Learned, model-free"}
# the tutorial's published BLERs (Sionna, "End-to-end Learning with Autoencoders"), drawn as open markers
TUTORIAL = {"Gray 64-QAM (tutorial)": ((6.5, 9.1e-3), (7.0, 6.2e-4)), "Learned (tutorial)": ((6.5, 1.2e-3), (7.0, 1.25e-4))}
RATES = (1e-2, 1e-3)
GOAL_DB = 0.35
# --beyond: gains at BLER 1e-2; points 0.25 dB apart around each pair's crossing, at most BEYOND_CODEWORDS a point
BEYOND_RATE = 1e-2
BEYOND_CODEWORDS = 20_000
BEYOND_GRID_64 = (5.75, 6.0, 6.25, 6.5, 6.75, 7.0, 7.25)


def uncoded_range(coded: tuple[float, float]) -> tuple[float, float]:
    """The autoencoder's own Eb/N0 range (its ``bits`` a use) for a coded range: the same N0, so Eb/N0 + 10 log10 R."""
    return tuple(round(e + 10 * math.log10(RATE), 4) for e in coded)


# How far (dB) the operating range of 16 and 256 points lies from 64 points': the difference of the coded Eb/N0 at which
# Gray QAM's BMI reaches the link's rate (k R bits a use; quadrature BMI, bisection): 2.27, 4.67 and 7.23 dB, to 0.25 dB.
SHIFT_DB = {4: -2.5, 6: 0.0, 8: 2.5}


def train(bits: int, training: str, spec: dict, coded_range: tuple[float, float], runs) -> Autoencoder:
    """The bit-wise ``2**bits``-point autoencoder with an N0 input, its points started on Gray QAM with message m on the point labelled m.

    (The library's trainable constellation starts so, as the tutorial's starts
    on Gray QAM. A start with message m on QAM point *index* m, which is not
    Gray label m, makes a bit-wise system first undo that permutation, and
    from there training ended below Gray QAM's BMI.) The receiver takes log10 N0 as an input, as the tutorial's demapper does. The
    loop is the library's ``fit``: Adam with a cosine schedule, BCE, the
    Eb/N0 of each example uniform in ``coded_range`` (coded, per information
    bit); model-free training is :class:`~commae.training.ModelFree`
    (exploration variance 0.02). A model trained with the same settings is
    loaded from ``runs`` (training is deterministic for a seed).
    """
    spec = dict(spec)
    ebno = uncoded_range(coded_range)
    path = runs / f"coded-ae{1 << bits}-{training}.pt"
    key = {"bits": bits, "training": training, **spec, "ebno_db": ebno, "start": "gray", "noise_input": True}
    torch.manual_seed(0)
    model = Autoencoder(bits, 1, output="bit", constellation=True, hidden=spec.pop("hidden"), noise_input=True)  # message m on the Gray point labelled m
    if path.is_file():
        saved = torch.load(path, weights_only=True)
        if saved["key"] == key:
            model.load_state_dict(saved["state"])
            print(f"loaded ae{1 << bits} ({training}) from {path}")
            return model.eval()
    start = time.perf_counter()
    loss_fn = make_loss("bce", bits)
    train_batches = MessageBatches(bits, 1, spec["batch_size"], spec["batches_per_epoch"], ebno, derive_seed(0, "train"))
    val_batches = MessageBatches(bits, 1, 1 << 14, max(1, spec["val_size"] >> 14), ebno, derive_seed(0, "val"), fixed=True)
    optimizer = make_optimizer("adam", model.parameters(), spec.get("lr", 3e-3))
    history = fit(
        model,
        loss_fn,
        train_batches,
        val_batches,
        optimizer,
        spec["epochs"],
        scheduler=make_scheduler(spec.get("schedule", "cosine"), optimizer, spec["epochs"]),
        metrics=message_metrics(model, bits),
        progress=False,
        log=None,
        step=make_step(training),
    )
    last = history.last
    runs.mkdir(parents=True, exist_ok=True)
    torch.save({"key": key, "state": model.state_dict()}, path)
    print(
        f"trained ae{1 << bits} ({training}): {spec}, Eb/N0 {ebno} dB uncoded = {coded_range} dB coded: "
        f"val BMI bound {last['mi_bits']:.3f} bits, val BER {last['val_ber']:.2e} ({time.perf_counter() - start:.0f} s)"
    )
    return model.eval()


def link(mapper: torch.nn.Module, name: str, interleaver: str, decoder: dict = DECODER, design_db: float = DESIGN_EBNO_DB, samples: int = 200_000) -> tuple[BICM, list[int] | None]:
    """A coded link of ``mapper`` and, for the 5G NR interleaver, the label order its rows go to (measured on ``samples`` symbols)."""
    code = LDPC5G(*CODE)
    bits = mapper.k
    code_bits = -(-code.n // bits) * bits
    # the library's ranking (BICM(interleave="nr") ranks at the link's own N0, which counts padding: 256 points differ by 0.01 dB)
    order = reliability_order(mapper, ebno_db_to_no(design_db, k=bits, coderate=RATE), samples=samples) if interleaver == "nr" else None
    interleave = Interleaver.row_column(code_bits, bits, order) if order is not None else True
    return BICM(code, mapper, BPDecoder(code, **decoder), interleave=interleave, name=name), order


def sweep(systems: dict, grid, budget, *, target: int, batch_size: int, done_below: float | None = None) -> list[dict]:
    """Simulate ``systems`` point by point (``budget(ebno)`` codewords at most, ``target`` block errors), one seed per point.

    With ``done_below``, a system leaves after the first point where its BLER
    is below it (its curve then brackets any rate above).
    """
    rows, active = [], dict(systems)
    for index, ebno in enumerate(grid):
        if not active:
            break
        start = time.perf_counter()
        found = simulate(active, [ebno], theory=False, progress=False, target_errors=target, target_metric="block", max_bits=CODE[0] * budget(ebno), batch_size=batch_size, seed=index)
        rows += found
        print(f"  {ebno:g} dB: " + ", ".join(f"{r['system']} {r['block_errors']}/{r['blocks']}" for r in found) + f" ({time.perf_counter() - start:.0f} s)", flush=True)
        if done_below is not None:
            active = {name: s for name, s in active.items() if not any(r["system"] == name and r["bler"] < done_below for r in found)}
    return rows


def bmi_table(models: dict) -> None:
    """The BMI (bits per use, Gauss-Hermite quadrature) of each learned constellation (its points and labels) and of Gray 64-QAM at the Es/N0 of coded Eb/N0 5 to 8 dB."""
    coded = [5.0, 6.0, 7.0, 8.0]
    esno = [e + 10 * math.log10(RATE * 6) for e in coded]
    rows = {"Gray 64-QAM": qam(64), **{f"learned ({name})": model.constellation() for name, model in models.items()}}
    print(f"\nBMI in bits per use (the points with exact demapping), at coded Eb/N0 {coded} dB = Es/N0 {[round(e, 2) for e in esno]} dB:")
    gray = [float(information.bmi(qam(64), esno_db=e)) for e in esno]
    for name, points in rows.items():
        values = [float(information.bmi(points, esno_db=e)) for e in esno]
        print(f"  {name:<24}" + "".join(f"{v:>9.4f}" for v in values) + ("" if name == "Gray 64-QAM" else "   gain " + " ".join(f"{v - g:+.4f}" for v, g in zip(values, gray))))


def _gain_text(g: dict) -> str:
    if not math.isfinite(g["gap_db"]):
        return f"n/a ({g['note']})"
    low, high = -g["gap_high_db"], -g["gap_low_db"]
    interval = f"[{low:+.2f}, {high:+.2f}]" if math.isfinite(low) and math.isfinite(high) else "[interval not reached]"
    return f"{-g['gap_db']:+.2f} dB {interval}"


def main() -> None:
    def options(parser) -> None:
        parser.add_argument(
            "--interleaver", choices=("nr", "random"), default="nr", help="5G NR row-column interleaver, rows by label reliability (default, as the tutorial), or a seeded random permutation"
        )
        parser.add_argument("--beyond", action="store_true", help="only the settings past the tutorial (max-log, exact APP on the learned points, min-sum, 16 and 256 points) at BLER 1e-2")

    args = experiment_args(__doc__, from_csv=True, options=options)
    if args.from_csv:
        draw(read_results(args.out / "coded_autoencoder.csv"), args.out)
        return
    spec = QUICK if args.quick else FULL
    checks: dict[str, bool] = {}
    if not args.beyond:
        checks.update(tutorial(args, spec))
    if args.beyond or args.quick:
        checks.update(beyond(args, spec))
    report_checks(checks)


def tutorial(args, spec: dict) -> dict[str, bool]:
    """The tutorial's comparison: Gray 64-QAM against the two learned systems, Eb/N0 5 to 8 dB; returns the checks."""
    quick = args.quick
    models = {training: train(6, training, spec, CODED_TRAIN_EBNO_DB, args.runs) for training in ("backprop", "model-free")}
    bmi_table(models)
    mappers = {"qam64-ldpc": Modem(qam(64), demapping="app"), "ae64-ldpc": models["backprop"], "ae64-ldpc-modelfree": models["model-free"]}
    systems, orders = {}, {}
    for name, mapper in mappers.items():
        systems[name], orders[name] = link(mapper, name, args.interleaver, samples=20_000 if quick else 200_000)
    if args.interleaver == "nr":
        print("\n5G NR row-column interleaver: rows (the word's sixths, systematic first) to label positions " + "; ".join(f"{name} {orders[name]}" for name in systems))
    grid = [6.0, 6.5] if quick else list(GRID)
    target = 20 if quick else 100
    budget = (lambda e: 1000) if quick else max_codewords
    batch_size = 500 if quick else 2000
    start = time.perf_counter()
    print(f"\nsimulating {', '.join(systems)} at {grid} dB ({target} block errors a point, at most {budget(grid[0])} codewords)")
    rows = sweep(systems, grid, budget, target=target, batch_size=batch_size)
    elapsed = time.perf_counter() - start
    codewords = sum(r["blocks"] for r in rows)
    print(f"simulated {codewords} codewords in {elapsed:.0f} s ({1000 * elapsed / codewords:.2f} s per 1000 codewords and system, all systems together)")
    interleaver = (
        {name: f"5G NR row-column (TS 38.212 5.4.2.2), rows to label positions {orders[name]}" for name in systems}
        if args.interleaver == "nr"
        else {name: "random (Interleaver seed 0)" for name in systems}
    )
    write_results(
        rows,
        args.out / "coded_autoencoder.csv",
        {
            "ebno_db": grid,
            "target_errors": target,
            "target_metric": "block",
            "max_codewords": {f"{e:g}": budget(e) for e in grid},
            "batch_size": batch_size,
            "seed": "the point's index in ebno_db",
            "confidence": 0.95,
            "code": {"code": f"ldpc5g:{CODE[0]}:{CODE[1]}", **DECODER, "early_stop": True, "scrambler_seed": 0, "interleaver": interleaver},
            "demapper": {"qam64-ldpc": "app", "ae64-ldpc": "neural (bit-wise logits, N0 input)", "ae64-ldpc-modelfree": "neural (bit-wise logits, N0 input)"},
            "training": {**spec, "loss": "bce", "constellation": True, "start": "gray", "noise_input": True, "ebno_db": uncoded_range(CODED_TRAIN_EBNO_DB), "coded_ebno_db": CODED_TRAIN_EBNO_DB},
        },
    )
    by = {(r["system"], r["ebno_db"]): r for r in rows}
    print(f"\n{'system':<22}" + "".join(f"{e:>11g}" for e in grid) + "   (BLER, block errors/codewords; Eb/N0 per information bit, dB)")
    for name in systems:
        print(f"{name:<22}" + "".join(f"{by[(name, e)]['bler']:>11.2e}" for e in grid))
        print(f"{'':<22}" + "".join(f"{by[(name, e)]['block_errors']:>5d}/{by[(name, e)]['blocks']:<5.0e}" for e in grid))
    found = [g for name in ("ae64-ldpc", "ae64-ldpc-modelfree") for g in ebno_gaps(rows, name, "qam64-ldpc", "bler", rates=RATES)]
    write_gaps(found, args.out / "coded_autoencoder_gaps.csv")
    print(f"\nEb/N0 gain over Gray 64-QAM ({args.interleaver} interleaver; positive: the learned system needs less energy), 95% interval from the Clopper-Pearson curves:")
    for g in found:
        print(f"  {g['system']:<22} at BLER {g['rate']:.0e}: {_gain_text(g)}")
    draw(read_results(args.out / "coded_autoencoder.csv"), args.out)  # the rows as the CSV holds them: a --from-csv redraw is this figure

    checks = {f"{name}: BLER falls from {grid[0]:g} to {grid[1]:g} dB": by[(name, grid[0])]["bler"] > by[(name, grid[1])]["bler"] for name in systems}
    checks["the learned systems' bits are real information bits (750 a codeword)"] = all(r["bits"] == CODE[0] * r["blocks"] for r in rows)
    if args.interleaver == "nr":  # commae's 64-QAM labels: I bits 0-2, Q bits 3-5, MSB (the sign) first
        gray = orders["qam64-ldpc"]
        checks[f"Gray 64-QAM's label positions by reliability {gray}: the signs (0, 3), then 1, 4, then 2, 5"] = [sorted(gray[i : i + 2]) for i in (0, 2, 4)] == [[0, 3], [1, 4], [2, 5]]
    if quick:  # a short training is already near Gray QAM: within a factor 3 of its BLER at 6.5 dB
        checks["ae64-ldpc within a factor 3 of Gray 64-QAM's BLER at 6.5 dB after a short training"] = by[("ae64-ldpc", 6.5)]["bler"] <= 3 * by[("qam64-ldpc", 6.5)]["bler"]
    else:
        at = {g["system"]: g for g in found if g["rate"] == 1e-3}
        gain = -at["ae64-ldpc"]["gap_db"] if "ae64-ldpc" in at else float("nan")
        checks[f"ae64-ldpc at least {GOAL_DB} dB ahead of Gray 64-QAM at BLER 1e-3 (measured {gain:+.2f} dB)"] = gain >= GOAL_DB
    return checks


BEYOND_SETTINGS = (
    # (setting, reference system, learned system)
    ("tutorial: APP / neural demapper, sum-product", "qam64-ldpc", "ae64-ldpc"),
    ("max-log demapping of both constellations", "qam64-maxlog-ldpc", "ae64-points-maxlog-ldpc"),
    ("exact APP on the learned points (no neural demapper)", "qam64-ldpc", "ae64-points-app-ldpc"),
    ("normalised min-sum (x0.75), flooding, 20 it.", "qam64-nms-ldpc", "ae64-nms-ldpc"),
    ("16 points", "qam16-ldpc", "ae16-ldpc"),
    ("256 points", "qam256-ldpc", "ae256-ldpc"),
)


def beyond(args, spec: dict) -> dict[str, bool]:
    """The settings past the tutorial, each a (Gray QAM, learned) pair, gains at BLER 1e-2; returns the checks."""
    quick = args.quick
    started = time.perf_counter()
    shifts = SHIFT_DB
    print(f"\n--beyond: operating ranges moved by the BMI thresholds (Gray QAM's BMI = {RATE:g} k bits a use): " + ", ".join(f"{1 << b} points {s:+.2f} dB" for b, s in shifts.items()))
    models = {bits: train(bits, "backprop", spec, tuple(e + shifts[bits] for e in CODED_TRAIN_EBNO_DB), args.runs) for bits in (4, 6, 8)}
    learned64 = models[6].constellation()
    mappers = {  # name: (mapper, decoder, bits)
        "qam64-ldpc": (Modem(qam(64), demapping="app"), DECODER, 6),
        "ae64-ldpc": (models[6], DECODER, 6),
        "qam64-maxlog-ldpc": (Modem(qam(64), demapping="maxlog"), DECODER, 6),
        "ae64-points-maxlog-ldpc": (Modem(learned64, demapping="maxlog"), DECODER, 6),
        "ae64-points-app-ldpc": (Modem(learned64, demapping="app"), DECODER, 6),
        "qam64-nms-ldpc": (Modem(qam(64), demapping="app"), MIN_SUM, 6),
        "ae64-nms-ldpc": (models[6], MIN_SUM, 6),
        "qam16-ldpc": (Modem(qam(16), demapping="app"), DECODER, 4),
        "ae16-ldpc": (models[4], DECODER, 4),
        "qam256-ldpc": (Modem(qam(256), demapping="app"), DECODER, 8),
        "ae256-ldpc": (models[8], DECODER, 8),
    }
    systems, orders = {}, {}
    for name, (mapper, decoder, bits) in mappers.items():
        systems[name], orders[name] = link(mapper, name, args.interleaver, decoder, DESIGN_EBNO_DB + shifts[bits], 20_000 if quick else 200_000)
    target = 20 if quick else 100
    budget = (lambda e: 200) if quick else (lambda e: BEYOND_CODEWORDS)
    rows = []
    for bits in (6, 4, 8):
        group = {name: s for name, s in systems.items() if mappers[name][2] == bits}
        grid = [6.0 + shifts[bits]] if quick else [e + shifts[bits] for e in BEYOND_GRID_64]  # quick: one point, the code path
        print(f"\n{1 << bits} points: {', '.join(group)} at {grid} dB (at most {budget(grid[0])} codewords a point, until BLER < {BEYOND_RATE / 3:g})")
        rows += sweep(group, grid, budget, target=target, batch_size=200 if quick else 2000, done_below=BEYOND_RATE / 3)
    interleaver = {name: f"5G NR row-column, rows to label positions {orders[name]}" if orders[name] else "random (Interleaver seed 0)" for name in systems}
    write_results(
        rows,
        args.out / "coded_autoencoder_beyond.csv",
        {
            "settings": [{"setting": s, "reference": ref, "learned": own} for s, ref, own in BEYOND_SETTINGS],
            "target_errors": target,
            "target_metric": "block",
            "max_codewords": budget(0.0),
            "seed": "the point's index in its grid",
            "confidence": 0.95,
            "code": {"code": f"ldpc5g:{CODE[0]}:{CODE[1]}", "decoders": {"sum-product": DECODER, "normalized-min-sum": MIN_SUM}, "early_stop": True, "scrambler_seed": 0, "interleaver": interleaver},
            "training": {**spec, "training": "backprop", "loss": "bce", "noise_input": True, "coded_ebno_db": {1 << b: [e + shifts[b] for e in CODED_TRAIN_EBNO_DB] for b in shifts}},
        },
    )
    found = [g for _, reference, own in BEYOND_SETTINGS for g in ebno_gaps(rows, own, reference, "bler", rates=[BEYOND_RATE])]
    write_gaps(found, args.out / "coded_autoencoder_beyond_gaps.csv")
    print(f"\nEb/N0 gain of the learned system over Gray QAM at BLER {BEYOND_RATE:g} (95% interval), {time.perf_counter() - started:.0f} s in all:")
    for (setting, reference, own), g in zip(BEYOND_SETTINGS, found):
        print(f"  {setting:<54} {own} vs {reference}: {_gain_text(g)}")
    return {"--beyond: every system's bits are real information bits (750 a codeword)": all(r["bits"] == CODE[0] * r["blocks"] for r in rows)}


def draw(rows: list[dict], out) -> None:
    """coded_autoencoder.{pdf,png}: information-bit BER and BLER against Eb/N0 per information bit, one IEEE column, the tutorial's BLERs as open markers."""
    with style("ieee"):
        fig, axes = new_figure(2, 1, height=4.4, sharex=True)
        for ax, metric, title in ((axes[0, 0], "ber", "(a) information-bit BER"), (axes[1, 0], "bler", "(b) block (codeword) error rate")):
            plot_error_rates(rows, metric=metric, theory=False, ax=ax, labels=NAMES, legend=None)
            shown = [r[metric] for r in rows if r[metric] > 0]
            ax.set_ylim(min(shown) / 3, 1.0)
            ax.set_title(title)
        ax = axes[1, 0]
        handles, labels = ax.get_legend_handles_labels()
        colour = {label: (handle.lines[0] if hasattr(handle, "lines") else handle).get_color() for handle, label in zip(handles, labels)}  # error bars or a line
        for (label, points), system in zip(TUTORIAL.items(), ("qam64-ldpc", "ae64-ldpc")):
            (marker,) = ax.plot(*zip(*points), linestyle="none", marker="o", markerfacecolor="none", markersize=6, color=colour.get(NAMES[system], "0.4"))
            handles.append(marker)
            labels.append(label)
        axes[0, 0].set_xlabel("")
        ax.legend(handles, labels, loc="lower left", fontsize="small")
        for path in save_figure(fig, out / "coded_autoencoder"):
            print(f"wrote {path}")
        plt.close(fig)


if __name__ == "__main__":
    main()
