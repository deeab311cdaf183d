"""Deep tails: BPSK, 16-QAM and Hamming (7,4) error rates from 0 dB down to 1e-12 — plain Monte Carlo where it is cheap, importance sampling beyond — against the closed forms.

Over complex AWGN, on the engine (:func:`commae.simulation.simulate`):
BPSK's BER, Gray 16-QAM's SER, and the BLER of Hamming (7,4) with BPSK,
hard-decision (syndrome) and soft-decision (ML) decoding. Every system runs
at integer Eb/N0 from 0 dB and at the Eb/N0 where its closed form (for soft
Hamming, which has none, its union bound) equals 1e-12, the deepest point.

* **Plain Monte Carlo** wherever the closed form is at least 1e-6 (at most
  a few 1e9 bits): until 200 errors of the unit, 95 % Clopper–Pearson
  intervals, the uncapped noise of :mod:`commae.channels.noise`.
* **Importance sampling** wherever it is at most 1e-3
  (:class:`~commae.simulation.ImportanceSampling`, mean translation, the
  defensive mixture; until the 95 % interval's half-width is 10 % of the
  estimate): 1e-3 to 1e-6 is run both ways, where they must agree.

Every estimate has its own seed (its place in the plan), so the intervals
are independent of each other, and the two estimates of a point too.

Closed forms (thin lines): Q(sqrt(2 Eb/N0)) for BPSK, the exact 16-QAM SER,
the exact hard-decision Hamming BLER (more than one of 7 coded bits wrong);
for soft Hamming the union bound over the 15 other codewords, which is
within 1e-3 of the exact BLER below 1e-6 (a Bonferroni lower bound over the
7 nearest brackets it there: printed).

Writes the rows in the ber-curve results format, one file an estimator as
``ber-curve`` writes them: OUT/deep_tails.{csv,json} (plain Monte Carlo) and
OUT/deep_tails_is.{csv,json} (importance sampling: its rows say so in
``estimator``); each JSON holds the settings and the seconds every estimate
took. Draws OUT/deep_tails.{pdf,png} (one IEEE column; filled markers plain
Monte Carlo, open markers importance sampling), and prints every point
against its closed form with the seconds it took.

Run: python experiments/deep_tails.py             (full; OUT = figures/)
     python experiments/deep_tails.py --quick     (CI: down to 1e-9, looser precision)
     python experiments/deep_tails.py --from-csv  (redraw the figure from OUT's deep_tails.csv and deep_tails_is.csv)
"""

from __future__ import annotations

import math
import time

import matplotlib.pyplot as plt
import numpy as np
from _common import experiment_args, report_checks
from matplotlib.lines import Line2D
from matplotlib.ticker import MultipleLocator
from scipy.optimize import brentq
from scipy.stats import norm

from commae import Hamming74, ImportanceSampling, Modem, psk, qam
from commae.plotting import MARKERS, new_figure, readable_log_axis, save_figure, style
from commae.simulation import read_results, simulate, write_results
from commae.snr import ebno_db_to_no
from commae.theory import ber_bpsk, bler_hamming74_hard, ser_qam

Z95 = float(norm.ppf(0.975))


def soft_hamming_bracket(ebno_db: float) -> tuple[float, float]:
    """Soft-ML BLER of Hamming (7,4) with BPSK over AWGN, bracketed without simulation (as tests/test_importance.py).

    The pairwise error events toward the 15 other codewords are half-spaces at
    distance sqrt(w) (weights 3 x7, 4 x7, 7 x1, unit-energy coded bits at
    Eb = 7/4): the union bound above; below, Bonferroni over the 7 nearest,
    whose pairs share one position (correlation 1/3): P(A and B) <= Q(2a / sqrt(8/3)).
    """
    sigma = math.sqrt(ebno_db_to_no(ebno_db, 4, 7) / 2)
    a = {w: math.sqrt(w) / sigma for w in (3, 4, 7)}
    upper = 7 * norm.sf(a[3]) + 7 * norm.sf(a[4]) + norm.sf(a[7])
    lower = 7 * norm.sf(a[3]) - 21 * norm.sf(2 * a[3] / math.sqrt(8 / 3))
    return float(lower), float(upper)


# name: (system, metric, unit, legend label, the closed form (the union bound for soft Hamming))
SYSTEMS = {
    "psk2": (lambda: Modem(psk(2)), "bit", "ber", "BPSK, BER", lambda e: float(ber_bpsk(e))),
    "qam16": (lambda: Modem(qam(16)), "symbol", "ser", "16-QAM, SER", lambda e: float(ser_qam(e, 16))),
    "hamming74-hard": (lambda: Hamming74("hard"), "block", "bler", "Hamming (7,4) hard, BLER", lambda e: float(bler_hamming74_hard(e))),
    "hamming74-soft": (lambda: Hamming74("soft"), "block", "bler", "Hamming (7,4) soft ML, BLER", lambda e: soft_hamming_bracket(e)[1]),
}
PLAIN_DOWN_TO, IS_FROM = 1e-6, 1e-3
PLAIN_ERRORS, PLAIN_MAX_BITS = 200, 5 * 10**9
IS_MAX_BITS, BATCH = 10**9, 8192
LINE_WITHIN = 0.05  # soft Hamming's union bound is drawn where the Bonferroni bound is within this of it (from 7.7 dB)
OPEN = 1.75  # importance sampling's open markers, this much larger than plain Monte Carlo's filled ones: where both ran, one rings the other
ESTIMATOR = {"": "plain Monte Carlo", "importance-sampling": "importance sampling"}


def ebno_at(rate_of, target: float) -> float:
    """The Eb/N0 (dB) where ``rate_of`` equals ``target``."""
    return brentq(lambda e: math.log(rate_of(e)) - math.log(target), -2.0, 25.0, xtol=1e-9)


def plan(quick: bool) -> list[tuple[str, float, str]]:
    """(system, Eb/N0, "plain" or "is") of every estimate."""
    deepest = 1e-9 if quick else 1e-12
    jobs = []
    for name, (_, _, _, _, rate_of) in SYSTEMS.items():
        end = round(ebno_at(rate_of, deepest), 2)
        grid = [float(e) for e in range(0, math.ceil(end - 0.25))] + [end]  # no integer within 0.25 dB of the deepest point: two markers would sit on each other
        if quick:  # two plain points, the deepest by importance sampling, and one point run both ways
            both = next(e for e in grid if rate_of(e) <= 3e-3)
            jobs += [(name, 0.0, "plain"), (name, both, "plain"), (name, both, "is"), (name, end, "is")]
            continue
        jobs += [(name, e, "plain") for e in grid if rate_of(e) >= PLAIN_DOWN_TO]
        jobs += [(name, e, "is") for e in grid if rate_of(e) <= IS_FROM]
    return jobs


def main() -> None:
    args = experiment_args(__doc__, from_csv=True)
    if args.from_csv:
        draw(read_rows(args.out), args.out)
        return
    quick = args.quick
    precision = 0.2 if quick else 0.1
    plain_errors = 50 if quick else PLAIN_ERRORS
    rows, seconds = [], []
    print(f"{'system':<16}{'Eb/N0':>7}  {'estimator':<20}{'estimate':>11}{'95 % interval':>26}{'closed form':>13}{'z':>7}{'messages':>12}{'wall s':>8}{'CPU s':>7}")
    for seed, (name, ebno, how) in enumerate(plan(quick)):  # a seed an estimate: independent intervals, and the two estimators of a point independent
        make, metric, unit, _, rate_of = SYSTEMS[name]
        wall, cpu = time.perf_counter(), time.process_time()
        if how == "plain":
            (row,) = simulate({name: make()}, [ebno], target_errors=plain_errors, target_metric=metric, max_bits=PLAIN_MAX_BITS, seed=seed, theory=True, progress=False)
        else:
            (row,) = simulate(
                {name: make()},
                [ebno],
                importance=ImportanceSampling(relative_precision=precision),
                target_metric=metric,
                max_bits=IS_MAX_BITS,
                batch_size=BATCH,
                seed=seed,
                theory=True,
                progress=False,
            )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append(row)
        seconds.append({"system": name, "ebno_db": ebno, "estimator": row.get("estimator") or "plain", "seed": seed, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)})
        truth = rate_of(ebno)
        z = (row[unit] - truth) / standard_error(row, unit) if exact(name, ebno) else math.nan
        interval = f"[{row[unit + '_low']:.3e}, {row[unit + '_high']:.3e}]"
        print(
            f"{name:<16}{ebno:>7.2f}  {ESTIMATOR[row.get('estimator', '')]:<20}{row[unit]:>11.3e}{interval:>26}"
            f"{truth:>13.3e}{f'{z:+.2f}' if math.isfinite(z) else '':>7}{row['blocks']:>12d}{wall:>8.2f}{cpu:>7.2f}"
        )
    common = {"deepest_rate": 1e-9 if quick else 1e-12, "seed": "one an estimate (in estimates)", "channel": "awgn (complex)"}
    for file, importance in (("deep_tails.csv", False), ("deep_tails_is.csv", True)):
        mine = [i for i, r in enumerate(rows) if bool(r.get("estimator")) == importance]
        how = (
            {"importance_sampling": {"where_closed_form_at_most": IS_FROM, "relative_precision": precision, "max_bits": IS_MAX_BITS, "batch_size": BATCH, "method": "auto (mean translation)"}}
            if importance
            else {"plain": {"where_closed_form_at_least": PLAIN_DOWN_TO, "target_errors": plain_errors, "max_bits": PLAIN_MAX_BITS}}
        )
        points = sorted({rows[i]["ebno_db"] for i in mine})  # integers from 0 dB and, per system, the Eb/N0 where its closed form is the deepest rate
        write_results([rows[i] for i in mine], args.out / file, {"ebno_db": points, **common, **how, "estimates": [seconds[i] for i in mine]})
        print(f"wrote {args.out / file} and its settings, with the seconds of every estimate")
    checks = check(rows, quick)
    summary(rows, seconds)
    draw(read_rows(args.out), args.out)  # the rows as the CSVs hold them: a --from-csv redraw is this figure
    report_checks(checks)


def read_rows(out) -> list[dict]:
    """The rows of both CSVs, plain Monte Carlo first."""
    return read_results(out / "deep_tails.csv") + read_results(out / "deep_tails_is.csv")


def exact(name: str, ebno_db: float, within: float = 0.01) -> bool:
    """Whether the system's line at ``ebno_db`` is its rate: the closed forms everywhere, soft Hamming's union bound where its bracket is ``within`` of it."""
    if name != "hamming74-soft":
        return True
    lower, upper = soft_hamming_bracket(ebno_db)
    return lower >= (1 - within) * upper


def standard_error(row: dict, unit: int | str) -> float:
    """The estimate's standard error, from its 95 % interval (Clopper–Pearson for plain Monte Carlo, Wald for importance sampling)."""
    return max((row[f"{unit}_high"] - row[f"{unit}_low"]) / (2 * Z95), 1e-300)


def check(rows: list[dict], quick: bool) -> dict[str, bool]:
    """The claims the figure makes, each checked on the rows."""
    z_limit = 4.0  # a 4-sigma miss happens once in 16 000 estimates: a failure here is a bias, not bad luck
    zs, covered, deepest, agree = [], 0, {}, []
    by = {(r["system"], r["ebno_db"], r.get("estimator") or ""): r for r in rows}
    for r in rows:
        name = r["system"]
        _, _, unit, _, rate_of = SYSTEMS[name]
        if name != "hamming74-soft":  # the closed forms are exact; soft Hamming's bracket is checked below
            zs.append(abs(r[unit] - rate_of(r["ebno_db"])) / standard_error(r, unit))
            covered += r[f"{unit}_low"] <= rate_of(r["ebno_db"]) <= r[f"{unit}_high"]
        if r.get("estimator"):
            deepest[name] = min(deepest.get(name, (1.0, 1.0)), (r[unit], r["rel_half_width"]))
            other = by.get((name, r["ebno_db"], ""))
            if other is not None:
                agree.append(abs(r[unit] - other[unit]) / math.hypot(standard_error(r, unit), standard_error(other, unit)))
    print(f"\n{covered} of {len(zs)} 95 % intervals cover their closed form (95 % expected); largest |estimate - closed form| {max(zs):.2f} standard errors")
    print(f"importance sampling against plain Monte Carlo where both ran: {len(agree)} points, largest difference {max(agree):.2f} combined standard errors")
    soft = []
    for r in rows:
        if r["system"] == "hamming74-soft":  # the bracket holds at every Eb/N0 (below 5 dB its lower end is below 0)
            lower, upper = soft_hamming_bracket(r["ebno_db"])
            se = standard_error(r, "bler")
            soft.append(lower - z_limit * se <= r["bler"] <= upper + z_limit * se)
            if exact("hamming74-soft", r["ebno_db"]):
                print(f"soft Hamming at {r['ebno_db']:.2f} dB: {r['bler']:.3e} +- {Z95 * se:.1e}, the bracket [{lower:.4e}, {upper:.4e}]")
    target = 1e-9 if quick else 1e-12
    precision = 0.2 if quick else 0.1
    hard_soft = [r["bler_high"] < float(bler_hamming74_hard(r["ebno_db"])) for r in rows if r["system"] == "hamming74-soft" and r["ebno_db"] >= 4.0]
    return {
        f"every estimate with a closed form lies within {z_limit:g} standard errors of it ({len(zs)} estimates, plain and importance-sampled)": max(zs) <= z_limit,
        f"importance sampling and plain Monte Carlo agree within {z_limit:g} combined standard errors where both ran ({len(agree)} points)": bool(agree) and max(agree) <= z_limit,
        f"every system's deepest estimate reaches {target:g} (at most 1.5x) with a 95 % interval of at most {precision:.0%} relative half-width": len(deepest) == len(SYSTEMS)
        and all(value <= 1.5 * target and width <= precision for value, width in deepest.values()),
        "soft-decision Hamming's estimates lie between its Bonferroni lower bound and its union bound (4 standard errors)": bool(soft) and all(soft),
        "soft decoding beats hard at every Eb/N0 from 4 dB (soft's 95 % upper bound below hard decoding's closed form)": bool(hard_soft) and all(hard_soft),
    }


def summary(rows: list[dict], seconds: list[dict]) -> None:
    """Seconds to each importance-sampled estimate below 1e-8, and what plain Monte Carlo would need there."""
    print("\ntime to each deep-tail estimate (importance sampling; wall-clock, one thread):")
    for r, s in zip(rows, seconds):
        unit = SYSTEMS[r["system"]][2]
        if r.get("estimator") and r[unit] < 1e-8:
            needed = (Z95 / r["rel_half_width"]) ** 2 / r[unit]  # units plain Monte Carlo needs for the same relative half-width
            what = {"ber": "bits", "ser": "symbols", "bler": "blocks"}[unit]
            print(
                f"  {r['system']:<16}{r['ebno_db']:>6.2f} dB {unit.upper()} {r[unit]:.2e} +- {r['rel_half_width']:.1%}: {s['wall_s']:6.2f} s, {r['blocks']:.2e} messages"
                f" (plain Monte Carlo: ~{needed:.0e} {what} for the same precision)"
            )


def draw(rows: list[dict], out) -> None:
    """deep_tails.{pdf,png}: every system's rate against Eb/N0, plain (filled) and importance-sampled (open) with 95 % intervals, the closed forms as thin lines."""
    with style("ieee"):
        fig, axes = new_figure(height=3.6)
        ax = axes[0, 0]
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        handles = []
        for i, (name, (_, _, unit, label, rate_of)) in enumerate(SYSTEMS.items()):
            color, marker = colors[i % len(colors)], MARKERS[i]
            mine = [r for r in rows if r["system"] == name]
            if not mine:
                continue
            grid = np.array([e for e in np.linspace(0.0, max(r["ebno_db"] for r in mine), 200) if exact(name, e, LINE_WITHIN)])  # soft Hamming's union bound where it is its rate
            dots = name == "hamming74-soft"
            ax.plot(grid, [rate_of(e) for e in grid], color=color, linewidth=0.7, linestyle=(0, (1, 1)) if dots else "-", zorder=2)
            for estimator, filled, size in (("", True, 1.0), ("importance-sampling", False, OPEN)):
                points = sorted((r for r in mine if (r.get("estimator") or "") == estimator and r[unit] > 0), key=lambda r: r["ebno_db"])
                if not points:
                    continue
                x = np.array([r["ebno_db"] for r in points])
                y = np.array([r[unit] for r in points])
                yerr = [y - np.array([r[f"{unit}_low"] for r in points]), np.array([r[f"{unit}_high"] for r in points]) - y]
                ax.errorbar(
                    x, y, yerr=yerr, marker=marker, linestyle="none", color=color, markerfacecolor=color if filled else "white",
                    markersize=plt.rcParams["lines.markersize"] * size, elinewidth=0.6, zorder=4 if filled else 3,
                )  # fmt: skip
            handles.append(Line2D([], [], color=color, marker=marker, linewidth=0.7, linestyle=(0, (1, 1)) if dots else "-", markerfacecolor=color, label=label))
        grey = "0.35"
        handles += [
            Line2D([], [], color=grey, marker="o", linestyle="none", markerfacecolor=grey, label="plain Monte Carlo"),
            Line2D([], [], color=grey, marker="o", linestyle="none", markerfacecolor="white", markersize=plt.rcParams["lines.markersize"] * OPEN, label="importance sampling"),
            Line2D([], [], color=grey, linewidth=0.7, label="closed form"),
            Line2D([], [], color=grey, linewidth=0.7, linestyle=(0, (1, 1)), label=f"union bound (within {LINE_WITHIN:.0%} of the rate)"),
        ]
        ax.set_yscale("log")
        ax.set_ylim(3e-14, 1.0)
        ax.set_xlim(-0.5, max(r["ebno_db"] for r in rows) + 0.5)
        readable_log_axis(ax.yaxis)
        ax.set_xlabel(r"$E_b/N_0$ (dB)")
        ax.set_ylabel("Error rate (BER, SER or BLER)")
        ax.xaxis.set_major_locator(MultipleLocator(2))
        fig.legend(handles=handles, loc="outside lower center", ncol=2)  # below the axes: inside, it would hide points
        for path in save_figure(fig, out / "deep_tails"):
            print(f"wrote {path}")
        plt.close(fig)


if __name__ == "__main__":
    main()
