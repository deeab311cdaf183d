"""The tables the commands print: train's summary, ber-curve's points, info's MI and gap's gaps.

Each takes the results the API returned and prints them with ``click.echo``
(rank 0 only: the commands call these where they alone print).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

__all__ = ["train_summary", "ber_table", "info_table", "gap_table"]


# --- commae train --------------------------------------------------------------------------------


def train_summary(result, system, train_cfg, dry_run: bool) -> None:
    """What a run wrote, and the validation table: the autoencoder beside its baselines, on the same messages.

    Every column counts the same thing in every row: messages of ``k`` bits
    decoded wrong (BLER, with its 95 % Clopper–Pearson interval), bits wrong
    (BER) and k − CE/ln 2 per message of each receiver's posterior (a bound
    on the MI; ``-`` where a receiver has no exact posterior). A baseline's
    value must lie in [0, k] (:func:`commae.information.check_information`),
    else the command ends with one line and exit status 1; the autoencoder's
    is a bound and may be negative before it has learned.
    """
    from ..information import ImpossibleInformation, check_information
    from ..simulation import clopper_pearson

    last = result.history.last
    if dry_run:
        click.echo(f"dry run: one batch trained, nothing written (val loss {last['val_loss']:.4f})")
    else:
        click.echo(f"run written to {result.run_dir}/: " + " ".join(p.name for p in result.files))
    ebno = _snr_text(*train_cfg.ebno_db)
    esno_db = getattr(train_cfg, "esno_db", None)
    at = f"Es/N0 {_snr_text(*esno_db)} (Eb/N0 {_snr_text(*(round(v, 2) for v in train_cfg.ebno_db))})" if esno_db else f"Eb/N0 {ebno}"
    k, messages = system.k, result.val_messages
    click.echo(f"validation at {at}, {messages} messages of k = {k} bits, the same messages and noise for every system:")
    # a bit-wise receiver's loss bounds the bit-wise MI (BMI), a symbol-wise one's the MI; the baselines report the same quantity
    bitwise = system.output == "bit"
    info, key = ("BMI bound (bit)", "bmi_bits") if bitwise else ("MI bound (bit)", "mi_bits")
    rows = [("autoencoder", round(last["val_bler"] * messages), messages, round(last["val_ber"] * messages * k), messages * k, last.get("mi_bits"))]
    baselines = ([(result.baseline, result.baseline_metrics)] if result.baseline_metrics is not None else []) + list(result.other_baselines.items())
    for name, b in baselines:  # e.g. Hamming hard and uncoded BPSK for a (7,4) run
        value = b.get(key)
        if value is not None:
            try:
                value = check_information(value, k, what="BMI" if bitwise else "MI", system=name, snr=at)
            except ImpossibleInformation as exc:
                raise click.ClickException(str(exc)) from None
        rows.append((f"{name} (baseline)", b["message_errors"], b["messages"], b["bit_errors"], b["bits"], value))
    width = max(len("system"), *(len(r[0]) for r in rows)) + 2
    bler = f"BLER ({k}-bit message)"
    click.echo(f"  {'system':<{width}}{'errors':>8}{bler:>22}{'95% interval':>24}{'bit errors':>12}{'BER':>11}{info:>17}")
    for name, errors, trials, bit_errors, bits, mi in rows:
        low, high = clopper_pearson(errors, trials)
        interval = f"[{low:.2e}, {high:.2e}]"
        mi_text = "-" if mi is None else f"{mi:.3f}"
        click.echo(f"  {name:<{width}}{errors:>8}{errors / trials:>22.3e}{interval:>24}{bit_errors:>12}{bit_errors / bits:>11.3e}{mi_text:>17}")
    what, loss = ("BMI", "sum of BCE") if bitwise else ("MI", "CE")
    click.echo(f"  (errors: {k}-bit messages decoded wrong, of {messages}, with the 95 % Clopper-Pearson interval of their rate; bit errors: of {messages * k} bits)")
    click.echo(f"  ({what} bound: k - {loss}/ln 2 per message with each receiver's posterior given what it decides from, the hard bits for a hard decoder)")
    click.echo(f"  (that is the {what} itself for an exact posterior, as the baselines' are, and a lower bound for the autoencoder; '-': no exact posterior)")
    if result.baseline_metrics is None:
        click.echo(f"  (no classic baseline with k={system.k} bits in n={system.n} channel uses)")
    _shaping_notes(result, system, train_cfg)
    _train_notes(result, system)


def _shaping_notes(result, system, train_cfg) -> None:
    """What a shaped run learned: H(X), the MI and BMD rate of its points and probabilities (n = 1, where an estimator applies), the training bound."""
    from ..constellations import entropy_bits
    from ..information import ImpossibleInformation, channel_mi, check_information
    from ..snr import ebno_db_to_esno_db

    p = result.model.message_probabilities()
    if p is None:
        return
    k, last = system.k, result.history.last
    entropy = entropy_bits(p)
    bound = last.get("mi_bits")
    what = "BMD-rate" if system.output == "bit" else "MI"
    click.echo(f"shaping ({system.shaping}): the transmitter sends message m with its learned probability p(m), in [{float(p.min()):.2e}, {float(p.max()):.2e}]")
    click.echo(f"  entropy H(X) = {entropy:.4f} bit per message (of k = {k}; the rate the distribution carries)")
    if bound is not None:
        click.echo(f"  training bound H(X) - E_p[loss]/ln 2 = {bound:.4f} bit ({what}, validation)")
    low, high = train_cfg.ebno_db
    both = None
    if system.n == 1 and not system.real and low == high:
        esno = float(ebno_db_to_esno_db(low, k, system.n))
        both = channel_mi(result.model.constellation(), system.make_channel(), esno)
    if both is not None:
        where = dict(system="the autoencoder", snr=f"Es/N0 {esno:g} dB")
        try:
            mi_value, bmd = (check_information(float(v), k, what=w, **where) for v, w in zip(both, ("MI", "BMD rate")))
        except ImpossibleInformation as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"  MI {mi_value:.4f} bit, BMD rate {bmd:.4f} bit per channel use at Es/N0 {esno:g} dB: the learned points and probabilities, with an exact receiver")
    click.echo(f"  (SER/BER/BLER and errors of the autoencoder: each validation message weighted by M p(m), its rates under its own distribution; 'errors' = rate x {result.val_messages})")


def _snr_text(low: float, high: float) -> str:
    return f"{low:g} dB" if low == high else f"{low:g} to {high:g} dB"


def _train_notes(result, system) -> None:
    """Notes under the table (other baselines' noise, no baseline without CSI) and a collapsed transmitter."""
    if result.other_baselines:
        click.echo("  (a baseline with another n sees the same messages at the same Eb/N0, with its own noise)")
    if result.baseline is None and not system.make_channel().coherent:
        why = "over fast fading" if system.fading == "fast" else f"in {system.n} channel use (pilot-aided detection, the baseline over block fading, needs n >= 2)"
        click.echo(f"  (no coherent baseline exists without CSI {why})")
    if result.collapsed:
        click.echo(
            f"warning: the transmitter collapsed: messages {', '.join(map(str, result.collapsed))} are sent with (almost) the same symbols and are decided by chance; {_collapse_remedy(system)}",
            err=True,
        )


def _collapse_remedy(system) -> str:
    """What to change after a collapse: never a setting already in effect."""
    import dataclasses

    from .. import config

    if system.make_channel().coherent:
        return "retrain with another --seed or more --epochs"
    if system.normalization != "message" and config.no_information({**dataclasses.asdict(system), "normalization": "message"}) is None:
        return "retrain with --normalization message (energy n for every message keeps them apart from x = 0)"
    return "without CSI the receiver cannot tell that many messages apart in these channel uses: retrain with a larger --n, a smaller --k, or --csi"


# --- commae ber-curve ----------------------------------------------------------------------------


_FLAG_MARKS = {"zero-below-theory": "0 errors below theory", "beyond-noise-generator": "beyond the noise generator", "short-noise-tail": "short noise tail"}


def ber_table(rows: Sequence[Mapping[str, Any]], confidence: float, flags: Sequence[Mapping[str, Any]] = (), esno_of: Mapping[float, float] | None = None) -> None:
    """One line per (system, Eb/N0 point): bits, errors, BER with its interval and theory, SER and BLER.

    ``esno_of`` (the points were given as Es/N0): each Eb/N0's Es/N0, shown first.

    A row in ``flags`` (:func:`commae.simulation.point_flags`) ends with ``!`` and what it is,
    and the notes follow the table: such a row is not a clean result.
    """
    marks: dict[tuple[str, float], list[str]] = {}
    for f in flags:
        marks.setdefault((f["system"], float(f["ebno_db"])), []).append(_FLAG_MARKS.get(f["flag"], f["flag"]))
    w = max([len("system"), *(len(r["system"]) for r in rows)]) + 2  # the longest name sets the column
    es_head, eb_width = (f"{'Es/N0':>6}", 9) if esno_of else ("", 6)  # Eb/N0 from Es/N0 is not round: 4 digits
    click.echo(f"{'system':<{w}}{es_head}{'Eb/N0':>{eb_width}}{'bits':>11}{'errors':>8}{'BER':>11}{'95% interval' if confidence == 0.95 else 'interval':>24}{'theory':>11}{'SER':>11}{'BLER':>11}")
    for r in rows:
        interval = f"[{r['ber_low']:.2e}, {r['ber_high']:.2e}]"
        th = "" if r["ber_theory"] != r["ber_theory"] else f"{r['ber_theory']:.2e}"
        mark = marks.get((r["system"], float(r["ebno_db"])))
        flag = f"  ! {', '.join(mark)}" if mark else ""
        es, eb = (f"{esno_of[float(r['ebno_db'])]:>6g}", f"{r['ebno_db']:>9.4g}") if esno_of else ("", f"{r['ebno_db']:>6g}")
        click.echo(f"{r['system']:<{w}}{es}{eb}{r['bits']:>11.3g}{r['bit_errors']:>8}{r['ber']:>11.2e}{interval:>24}{th:>11}{r['ser']:>11.2e}{r['bler']:>11.2e}{flag}")
    if flags:
        click.echo("! not a clean result (also under 'flags' in the JSON):")
        for f in flags:
            click.echo(f"  {f['system']} at {float(f['ebno_db']):g} dB: {f['note']}")


# --- commae info ---------------------------------------------------------------------------------


def info_table(rows: Sequence[Mapping[str, Any]], channel: str) -> None:
    r"""One line per (system, Es/N0 point): H(X), MI, BMI and capacity in bits per channel use (``-`` where there is none).

    A shaped constellation (points with probabilities) has ``H(X)`` below
    ``k``, and its BMI is the BMD rate :math:`H(X) - \sum_b H(C_b|Y)` (see
    :func:`commae.information.bmi`); a note under the table says so.
    """
    w = max([len("system"), *(len(r["system"]) for r in rows)]) + 2
    click.echo(f"{'system':<{w}}{'Es/N0':>7}{'H(X)':>9}{'MI':>9}{'BMI':>9}{'capacity':>10}   (bits per channel use)")
    for r in rows:
        name, e, m, b, c = r["system"], r["esno_db"], r["mi_bits_per_use"], r["bmi_bits_per_use"], r["capacity_bits_per_use"]
        h = f"{r['entropy_bits_per_use']:>9.4f}"
        mi_text = f"{m:>9.4f}{b:>9.4f}" if m == m else f"{'-':>9}{'-':>9}"
        click.echo(f"{name:<{w}}{e:>7g}{h}{mi_text}{c:>10.4f}" if c == c else f"{name:<{w}}{e:>7g}{h}{mi_text}{'-':>10}")
    shaped = sorted({r["system"] for r in rows if abs(r["entropy_bits_per_use"] - round(r["entropy_bits_per_use"])) > 1e-9})  # equiprobable: H(X) = k
    if shaped:
        click.echo(f"(shaped, points sent with probabilities of their own: {', '.join(shaped)}; H(X) < k, and their BMI is the BMD rate H(X) - sum_b H(C_b|Y))")
    if rows and rows[0]["mi_bits_per_use"] != rows[0]["mi_bits_per_use"]:
        click.echo(f"(no MI over {channel}: a receiver without the fading gain, or a channel without a likelihood commae can evaluate)")


# --- commae gap ----------------------------------------------------------------------------------


def gap_table(gaps: Sequence[Mapping[str, Any]], metric: str) -> None:
    """One line per (system, error rate): the Eb/N0 of both curves, the gap and its interval.

    Where a curve does not fall to the rate its Eb/N0 reads ``not reached``
    (the gap ``-``, an interval end ``open``) and the row ends with its note:
    which curve, and the range it covers.
    """
    click.echo(f"{'system':<18}{metric.upper():>10}{'Eb/N0':>13}{'reference':>13}{'gap (dB)':>10}   interval")
    for g in gaps:
        ebno, ref = (f"{'not reached':>13}" if v != v else f"{v:>13.2f}" for v in (g["ebno_db"], g["reference_ebno_db"]))
        gap = f"{'-':>10}" if g["gap_db"] != g["gap_db"] else f"{g['gap_db']:>+10.2f}"
        low, high = ("open" if v != v else f"{v:+.2f}" for v in (g["gap_low_db"], g["gap_high_db"]))
        note = f"   ({g['note']})" if g.get("note") else ""
        click.echo(f"{g['system']:<18}{g['rate']:>10.2e}{ebno}{ref}{gap}   [{low}, {high}]{note}")
