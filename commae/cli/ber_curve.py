"""``commae ber-curve``: runs and baselines -> :func:`commae.simulation.simulate` on the same noise -> results CSV, settings JSON, table."""

from __future__ import annotations

from pathlib import Path

import click

from .. import config
from ..config import DB_LIMIT
from .combinations import impairments as checked_impairments
from .combinations import no_impairments
from .launch import agreed, is_main, launch
from .options import force_option, impairment_options, out_file_option, out_parent, quiet_option, refuse_existing, table_options, threads_option
from .report import ber_table
from .types import Finite, LimitedPath, ebno_points, known_baselines, positive_count, run_names

__all__ = ["ber_curve", "parse_code", "DECODERS", "INTERLEAVERS", "CODED_BATCH"]

#: The BP check-node rules --decoder takes (commae.codes.bp.ALGORITHMS, listed here so that --help needs no torch).
DECODERS = ("sum-product", "min-sum", "normalized-min-sum", "offset-min-sum")
#: The interleavers --interleaver takes (commae.bicm.INTERLEAVERS, listed here so that --help needs no torch).
INTERLEAVERS = ("random", "nr")
#: Codewords per batch of a coded run unless --batch-size says.
CODED_BATCH = 1000


@click.command("ber-curve", short_help="Monte-Carlo BER/SER/BLER curves of runs and baselines.")
@click.argument("run_dirs", nargs=-1, type=LimitedPath(file_okay=False), metavar="[RUN_DIR]...")
@click.option(
    "--baseline",
    "baselines",
    multiple=True,
    callback=known_baselines,
    help="Baseline to simulate, repeatable: bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16, apsk32, hamming74-hard, hamming74-soft, uncoded-bpsk-K, pilot-qpsk, pilot-qam16 (one pilot + one symbol, block fading without CSI), qamM-mb, qamM-mb-bmi (M 16, 64, 256: Maxwell-Boltzmann QAM, nu best for the MI or BMD rate at each point; AWGN), qamM-mb:NU (fixed nu)  [default: the runs' matching baselines]",
)
@table_options("channel", "fading", "csi", command="ber-curve")
@click.option("--ebno", "ebno", default="0:12:1", callback=ebno_points, help="Eb/N0 points in dB: START:STOP:STEP (STOP included) or a comma list.")
@click.option(
    "--esno",
    "esno",
    default=None,
    callback=lambda ctx, param, value: None if value is None else ebno_points(ctx, param, value),
    metavar="POINTS",
    help="Es/N0 points in dB per channel use instead of --ebno (the same forms); the systems must share one rate k/n, which converts them to Eb/N0  [default: --ebno]",
)
@click.option("--target-errors", type=click.IntRange(min=1), default=100, help="Errors (of --target-metric) per system before a point stops.")
@click.option("--target-metric", type=click.Choice(["bit", "symbol", "block"]), default="bit", help="Which errors --target-errors counts: block for BLER curves.")
@click.option("--max-bits", default="1e8", callback=positive_count, metavar="INTEGER", help="Most bits a system spends at one point (1e8 style allowed; at most 2**62).")
@click.option("--batch-size", default="131072", callback=positive_count, metavar="INTEGER", help="Messages per vectorised batch (per process under torchrun; at most 2**24).")
@click.option("--confidence", type=Finite(0, 1, min_open=True, max_open=True), default=0.95, help="Level of the Clopper-Pearson intervals.")
@click.option("--theory/--no-theory", default=True, help="Add closed-form columns where theory has them.")
@table_options("seed", "device", command="ber-curve")
@out_file_option("results.csv", "CSV to write; the settings go to the same name with .json.")
@force_option("ber-curve")
@quiet_option("ber-curve")
@impairment_options("ber-curve")
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    help="Learned receivers' inference: bf16 autocast, first checked against fp32 on the same draws at every point (refused if its BER leaves fp32's interval).",
)
@click.option(
    "--importance-sampling",
    "importance_sampling",
    is_flag=True,
    help="Estimate the rates by importance sampling (biased noise, likelihood-ratio weights; AWGN only): rates far below 1/--max-bits, with normal intervals; each point stops at --relative-precision instead of --target-errors.",
)
@click.option(
    "--relative-precision",
    type=Finite(0, 1, min_open=True, max_open=True),
    default=None,
    help="With --importance-sampling: stop a point when its interval's half-width over the estimate is at most this  [default: 0.1]",
)
@click.option(
    "--is-method",
    type=click.Choice(["auto", "shift", "scale"]),
    default=None,
    help="With --importance-sampling: mean translation toward the decision boundaries (shift), variance scaling (scale), or shift for the classical baselines and scale for learned systems and any of more than 2**12 messages (auto)  [default: auto]",
)
@click.option(
    "--code",
    "code_spec",
    default=None,
    metavar="FILE.alist|ldpc5g:K:N",
    help="Code every system (BICM: scrambler, interleaver, bit LLRs, BP decoder): a parity-check matrix in alist format, or the 5G NR LDPC code of K information bits rate-matched to N; rows then count information bits and codewords (BLER), Eb/N0 per information bit  [default: uncoded]",
)
@click.option("--decoder", "decoder_name", type=click.Choice(list(DECODERS)), default=None, help="With --code: the check-node rule of belief propagation  [default: sum-product]")
@click.option("--iterations", type=click.IntRange(min=1, max=10_000), default=None, help="With --code: most BP iterations per codeword (each stops early on a satisfied syndrome)  [default: 20]")
@click.option(
    "--schedule",
    "bp_schedule",
    type=click.Choice(["flooding", "layered"]),
    default=None,
    help="With --code: BP schedule, all checks then all bits (flooding) or check by check (layered)  [default: flooding]",
)
@click.option(
    "--demapper",
    type=click.Choice(["app", "max-log"]),
    default=None,
    help="With --code: the baselines' bit LLRs, exact a-posteriori (app) or max-log; a run's LLRs are its receiver's  [default: app]",
)
@click.option(
    "--interleaver",
    "interleaver",
    type=click.Choice(list(INTERLEAVERS)),
    default=None,
    help="With --code: the bit interleaver, a seeded random permutation (random) or 5G NR's row-column interleaver (TS 38.212 5.4.2.2) with its rows, the word's consecutive 1/b-ths (a 5G word's systematic bits first), on each system's b label positions from the most reliable to the least (nr)  [default: random]",
)
@click.option(
    "--interleaver-ebno",
    "interleaver_ebno",
    type=Finite(-DB_LIMIT, DB_LIMIT),
    default=None,
    metavar="DB",
    help="With --interleaver nr: the Eb/N0 in dB (per information bit) at which each system's label positions are ranked, by the BCE of its own bit LLRs  [default: the median of the points]",
)
@threads_option
@click.pass_context
def ber_curve(
    ctx,
    run_dirs,
    baselines,
    channel,
    fading,
    csi,
    ebno,
    esno,
    target_errors,
    target_metric,
    max_bits,
    batch_size,
    confidence,
    theory,
    seed,
    device,
    out,
    force,
    quiet,
    precision,
    importance_sampling,
    relative_precision,
    is_method,
    code_spec,
    decoder_name,
    iterations,
    bp_schedule,
    demapper,
    interleaver,
    interleaver_ebno,
    **impairment_opts,
) -> None:
    """Monte-Carlo BER/SER/BLER curves of trained runs and baselines, on the same noise.

    Writes one CSV row per (system, Eb/N0) with counts, rates and
    Clopper-Pearson bounds, and a JSON of the settings beside it. With
    --importance-sampling the rates are importance-sampling estimates with
    normal intervals, and the rows say so.

    With --code every system is coded: a row's bits are information bits,
    its blocks codewords (SER = BLER), its Eb/N0 per information bit; points
    stop on --target-errors block errors unless --target-metric says
    otherwise, and a batch holds 1000 codewords unless --batch-size says.
    """
    from ..baselines import make_baseline, matching_baselines
    from ..information import best_maxwell_boltzmann
    from ..models import make_channel
    from ..runs import RunError, check_device, load_model
    from ..simulation import point_flags, result_settings, simulate, write_results
    from ..simulation.importance import importance_settings

    if not run_dirs and not baselines:
        raise click.UsageError("give at least one RUN_DIR or --baseline")
    if esno is not None and ctx.get_parameter_source("ebno") == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("--ebno and --esno exclude each other: give the points as Eb/N0 or as Es/N0")
    impairments = checked_impairments(ctx, impairment_opts)
    _refuse_unused_channel(ctx, baselines, impairments)
    importance = _importance(importance_sampling, relative_precision, is_method, precision)
    coding = _coding(ctx, code_spec, decoder_name, iterations, bp_schedule, demapper, interleaver, interleaver_ebno, precision)
    if coding is not None:
        if ctx.get_parameter_source("target_metric") != click.core.ParameterSource.COMMANDLINE:
            target_metric = "block"
        if ctx.get_parameter_source("batch_size") != click.core.ParameterSource.COMMANDLINE:
            batch_size = CODED_BATCH
    out_path = Path(out)
    if out_path.suffix.lower() == ".json":  # the settings go beside the CSV under the same name with .json
        raise click.BadParameter(f"{out} would be both the CSV and its settings file {out_path.with_suffix('.json').name}; give the CSV a .csv name", param_hint="'--out'")
    device = launch(device)
    main = is_main()

    def prepare():  # on every rank; only rank 0 writes, so only its --out is checked
        if main:
            out_parent(out)
            refuse_existing([out_path, out_path.with_suffix(".json")], force)
        names = run_names(run_dirs, baselines)
        try:
            dev = check_device(device)
            return dev, {name: load_model(run_dir, dev) for name, run_dir in zip(names, run_dirs)}
        except RunError as exc:
            raise click.ClickException(str(exc)) from None

    dev, learned = agreed(prepare)
    compared = {}
    if baselines:  # on the channel the options describe
        base_channel = make_channel(channel, fading=fading, csi=csi, **impairments)
        try:
            compared = {name: make_baseline(name, base_channel, search=best_maxwell_boltzmann) for name in baselines}
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    else:  # each run's matching baseline, on that run's channel
        for model in learned.values():
            for base in matching_baselines(model.k, model.n, model.channel):
                compared.setdefault(base.name, base)
    if esno is not None:  # the coded links' rates convert them: links with the random interleaver say (they are cheap)
        ebno = _esno_to_ebno(esno, {**learned, **compared} if coding is None else {**coding.wrap(learned), **coding.wrap(compared)})
    if coding is not None:  # nr: each link ranks its label positions at the design point, which may be read from the points
        learned, compared = coding.wrap(learned, ebno), coding.wrap(compared, ebno)
    checks = _reduced_precision(learned, precision, ebno, batch_size, seed, dev, confidence, quiet or not main) if precision != "fp32" else None
    systems = {**learned, **compared}
    if importance is not None:
        from .. import distributed
        from ..simulation.draws import sends_own_distribution
        from ..simulation.importance import can_translate, supports_importance

        if distributed.is_distributed():
            raise click.UsageError("--importance-sampling runs in one process: launch it without torchrun")
        shaped = [name for name, system in systems.items() if sends_own_distribution(system)]
        if shaped:
            raise click.UsageError(f"--importance-sampling draws equiprobable messages and {', '.join(shaped)} sends its own distribution: simulate it without --importance-sampling")
        unfit = [f"{name} ({getattr(system.channel, 'name', '?')})" for name, system in systems.items() if not supports_importance(system)]
        if unfit:
            raise click.UsageError(f"--importance-sampling needs an additive Gaussian channel (--channel awgn or awgn-real, no fading or impairments); not: {', '.join(unfit)}")
        wide = [f"{name} (k={system.k})" for name, system in systems.items() if not can_translate(system)]
        if importance.method == "shift" and wide:
            raise click.UsageError(f"--is-method shift aims at every message's neighbours and needs at most 2**12 messages (k <= 12); not: {', '.join(wide)}: use --is-method scale or auto")
    per_rank: list = []
    rows = simulate(
        systems,
        ebno,
        target_errors=target_errors,
        max_bits=max_bits,
        batch_size=batch_size,
        seed=seed,
        device=dev,
        confidence=confidence,
        theory=theory,
        progress=not quiet,
        target_metric=target_metric,
        rank_counts=per_rank,
        **({"importance": importance} if importance is not None else {}),
    )
    if not main:
        return
    flags = point_flags(rows, systems, dev, confidence)  # zeros below theory, rates the noise generator cannot produce
    settings = result_settings(
        seed=seed,
        runs=[str(Path(r)) for r in run_dirs],
        baselines=list(compared),
        channel=channel,
        fading=fading,
        csi=csi,
        impairments=impairments,
        ebno_db=ebno,
        target_errors=target_errors,
        target_metric=target_metric,
        max_bits=max_bits,
        batch_size=batch_size,
        confidence=confidence,
        theory=theory,
        device=device,
        rank_counts=per_rank,
        precision=precision,
        precision_checks=checks,
        flags=flags,
    )
    if importance is not None:  # the estimator, recorded beside the stopping rule it replaces, and the scale variance scaling took at each point
        settings["importance_sampling"] = importance_settings(importance, rows)
    if coding is not None:
        settings["code"] = coding.settings(ebno)
    if esno is not None:  # the points as given, after their Eb/N0
        keys = list(settings)
        keys.insert(keys.index("ebno_db") + 1, "esno_db")
        settings = {key: esno if key == "esno_db" else settings[key] for key in keys}
    csv_path, json_path = write_results(rows, out_path, settings)
    if not quiet:
        ber_table(rows, confidence, flags, dict(zip(map(float, ebno), esno)) if esno is not None else None)
        if importance is not None:
            _importance_note(rows, confidence, target_metric)
        if coding is not None:
            _coded_note(rows, confidence, coding, ebno)
        _shaping_note(rows)
    flagged = f" ({len(flags)} flagged: see 'flags' in the JSON)" if flags else ""
    click.echo(f"wrote {csv_path} and {json_path}{flagged}")


class _Coding:
    """What --code and its options ask for: the code, the BP decoder's settings, the baselines' demapping, the interleaver; wraps systems into coded links."""

    def __init__(self, spec: str, code, decoder: str, iterations: int, schedule: str, demapper: str, interleaver: str, interleaver_ebno: float | None) -> None:
        self.spec, self.code, self.decoder, self.iterations, self.schedule, self.demapper = spec, code, decoder, iterations, schedule, demapper
        self.interleaver, self.interleaver_ebno = interleaver, interleaver_ebno
        self.tag = "ldpc" if spec.lower().startswith("ldpc5g:") else Path(spec).stem
        self.label_orders: dict[str, list[int]] = {}

    def design_ebno(self, ebno: list[float]) -> float:
        """The nr interleaver's design point: --interleaver-ebno, or the median of the Eb/N0 points."""
        import statistics

        return self.interleaver_ebno if self.interleaver_ebno is not None else float(statistics.median(ebno))

    def wrap(self, systems: dict, ebno: list[float] | None = None) -> dict:
        """Each system as a BICM link named ``NAME-TAG`` (``qam64-ldpc``); a system without bit LLRs is refused.

        With ``ebno`` (the points, in Eb/N0 dB) the links get the interleaver
        asked for, and :attr:`label_orders` records the nr interleaver's rows;
        without, the random one (for their rates alone).
        """
        from ..bicm import BICM
        from ..codes.bp import BPDecoder

        nr = ebno is not None and self.interleaver == "nr"
        interleave = {"interleave": "nr", "design_ebno_db": self.design_ebno(ebno)} if nr else {"interleave": "random"}
        coded = {}
        for name, system in systems.items():
            if not callable(getattr(system, "bit_llrs", None)):
                raise click.UsageError(f"{name} gives no bit LLRs and cannot carry --code: code a modem baseline (bpsk, qpsk, qam16, qam64, qam256, psk8, psk16, apsk16, apsk32) or a run")
            if hasattr(system, "demapping"):  # a modem: --demapper picks its LLRs
                system.demapping = "maxlog" if self.demapper == "max-log" else "app"
            decoder = BPDecoder(self.code, self.decoder, self.schedule, self.iterations)
            coded_name = f"{name}-{self.tag}"
            try:
                coded[coded_name] = link = BICM(self.code, system, decoder, name=coded_name, **interleave)
            except ValueError as exc:  # e.g. a shaped modem, whose distribution a BICM link cannot send
                raise click.UsageError(f"--code: {exc}") from None
            if nr:
                self.label_orders[coded_name] = link.label_order
        return coded

    def settings(self, ebno: list[float]) -> dict:
        """The ``code`` entry of the settings JSON: the interleaver and what made it (the random one's seed; the nr one's design point and rows)."""
        if self.interleaver == "nr":
            from ..bicm import RELIABILITY_SAMPLES

            interleaver = {
                "interleaver": "nr",
                "interleaver_ebno_db": self.design_ebno(ebno),
                "label_orders": dict(self.label_orders),
                "reliability_samples": RELIABILITY_SAMPLES,
                "reliability_seed": 0,
            }
        else:
            interleaver = {"interleaver": "random", "interleaver_seed": 0}
        return {
            "code": self.spec,
            "k": self.code.k,
            "n": self.code.n,
            "decoder": self.decoder,
            "iterations": self.iterations,
            "schedule": self.schedule,
            "early_stop": True,
            "demapper": self.demapper,
            **interleaver,
            "scrambler_seed": 0,
        }


def parse_code(spec: str):
    """The code ``--code`` names: ``ldpc5g:K:N`` or an alist file (a one-line ``click.BadParameter`` otherwise)."""
    if spec.lower().startswith("ldpc5g:"):
        from ..codes.ldpc5g import LDPC5G

        parts = spec.split(":")
        if len(parts) != 3 or not all(p.strip().isdigit() for p in parts[1:]):
            raise click.BadParameter(f"{spec!r}: write ldpc5g:K:N with whole numbers K (information bits) and N (transmitted bits), e.g. ldpc5g:750:1500", param_hint="'--code'")
        try:
            return LDPC5G(int(parts[1]), int(parts[2]))
        except ValueError as exc:
            raise click.BadParameter(f"{spec}: {exc}", param_hint="'--code'") from None
    from ..codes.linear import LinearCode

    path = Path(spec)
    if not path.is_file():
        raise click.BadParameter(f"{spec}: no such file; give an alist file (FILE.alist) or ldpc5g:K:N", param_hint="'--code'")
    try:
        return LinearCode.from_alist(path, name=path.stem)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{spec}: cannot be read ({exc.__class__.__name__}: {exc})", param_hint="'--code'") from None
    except ValueError as exc:
        raise click.BadParameter(str(exc) if spec in str(exc) else f"{spec}: {exc}", param_hint="'--code'") from None


def _coding(
    ctx: click.Context,
    spec: str | None,
    decoder: str | None,
    iterations: int | None,
    schedule: str | None,
    demapper: str | None,
    interleaver: str | None,
    interleaver_ebno: float | None,
    precision: str,
) -> _Coding | None:
    """The coded-link settings of --code, or None; its options without it, or beside what a coded link cannot do, are refused."""
    if interleaver_ebno is not None and interleaver != "nr":
        raise click.UsageError(f"--interleaver-ebno is the design point of --interleaver nr (valid: {', '.join(INTERLEAVERS)}; random has none): add --interleaver nr, or leave --interleaver-ebno out")
    if spec is None:
        for given, flag in ((decoder, "--decoder"), (iterations, "--iterations"), (schedule, "--schedule"), (demapper, "--demapper"), (interleaver, "--interleaver")):
            if given is not None:
                raise click.UsageError(f"{flag} applies to coded links: add --code FILE.alist or --code ldpc5g:K:N, or leave {flag} out")
        return None
    if precision != "fp32":
        raise click.UsageError("--code runs the receivers in fp32: leave --precision out")
    code = parse_code(spec)
    return _Coding(spec, code, decoder or "sum-product", iterations or 20, schedule or "flooding", demapper or "app", interleaver or "random", interleaver_ebno)


def _coded_note(rows: list, confidence: float, coding: _Coding, ebno: list[float]) -> None:
    """Under the table of a coded run: the interleaver, then block errors and the BLER interval of each row (the SER column is the BLER); importance-sampled rows say what their counts are."""
    if coding.interleaver == "nr":
        orders = "; ".join(f"{name} {order}" for name, order in coding.label_orders.items())
        click.echo(f"interleaver nr (5G NR row-column), rows to label positions ranked at Eb/N0 {coding.design_ebno(ebno):g} dB: {orders}")
    else:
        click.echo("interleaver random (seed 0)")
    weighted = any("estimator" in row for row in rows)
    interval = "normal interval from the weighted codewords" if weighted else "Clopper-Pearson interval"
    counted = "codewords in error / drawn, under the biased noise" if weighted else "codewords in error / simulated"
    click.echo(f"coded rows: bits are information bits, blocks codewords; {counted}; BLER with its {confidence:g} {interval}:")
    for row in rows:
        click.echo(f"  {row['system']} at {row['ebno_db']:g} dB: {row['block_errors']}/{row['blocks']} codewords, BLER {row['bler']:.2e} [{row['bler_low']:.2e}, {row['bler_high']:.2e}]")


def _shaping_note(rows: list) -> None:
    """Under the table: the entropy (and nu) of each row of a shaped system, whose messages are drawn from its probabilities."""
    shaped = [row for row in rows if "entropy_bits_per_use" in row]
    if not shaped:
        return
    click.echo("shaped systems (messages drawn from their probabilities, MAP receiver with the prior; Eb/N0 counts log2 M bits a symbol); per row H(X) in bits per channel use and nu:")
    for row in shaped:
        nu = "" if row["nu"] == "" else f", nu {row['nu']:.4f}"
        click.echo(f"  {row['system']} at {row['ebno_db']:g} dB (Es/N0 {row['esno_db']:g} dB): H(X) {row['entropy_bits_per_use']:.4f}{nu}")


def _importance(enabled: bool, relative_precision: float | None, method: str | None, precision: str):
    """The ImportanceSampling settings of --importance-sampling, or None; its options without it are refused."""
    from ..simulation import ImportanceSampling

    if not enabled:
        for given, flag in ((relative_precision, "--relative-precision"), (method, "--is-method")):
            if given is not None:
                raise click.UsageError(f"{flag} applies to --importance-sampling: add it, or leave {flag} out")
        return None
    if precision != "fp32":
        raise click.UsageError("--importance-sampling runs the receivers in fp32: leave --precision out")
    return ImportanceSampling(method=method or "auto", relative_precision=0.1 if relative_precision is None else relative_precision)


#: Below this many effective events (Kish's) an importance-sampled row's normal interval rests on too few weights to trust.
_FEW_EFFECTIVE = 30


def _importance_note(rows: list, confidence: float, target_metric: str) -> None:
    """Under the table: the rows are importance-sampled; per row the method (and variance scaling's scale), error events, effective events, relative half-width, and what plain Monte Carlo would have needed."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    rate, trials = {"bit": ("ber", "bits"), "symbol": ("ser", "symbols"), "block": ("bler", "blocks")}[target_metric]
    click.echo(
        f"importance-sampled rates (weighted estimates; {confidence:g} normal intervals); per row: method, error events, effective events, relative half-width, plain Monte Carlo's {trials} for that width"
    )
    for row in rows:
        method = f"scale {row['is_scale']:.3g} on {row['is_scaled_dims']} of {row['is_dims']} dims" if "is_scale" in row else row["is_method"]
        p, width = row[rate], row["rel_half_width"]
        plain = f"{(1 - p) * (z / width) ** 2 / p:.2g} against {row[trials]:.2g} drawn" if 0 < p < 1 and 0 < width < float("inf") else "-"
        few = f"; fewer than {_FEW_EFFECTIVE} effective events: the normal interval is not reliable, raise --max-bits" if row["events"] and row["effective_events"] < _FEW_EFFECTIVE else ""
        click.echo(f"  {row['system']} at {row['ebno_db']:g} dB: {method}, {row['events']} events, {row['effective_events']:.0f} effective, {width:.3f}, {plain}{few}")


def _refuse_unused_channel(ctx: click.Context, baselines: tuple[str, ...], impairments: dict) -> None:
    """ber-curve's channel options set the baselines' channel; a run uses its own, so without --baseline they apply to nothing."""
    if baselines:
        return
    if impairments != no_impairments():
        raise click.UsageError("the impairment options set the baselines' channel and a run uses its own: add --baseline NAME")
    for name in ("channel", "fading", "csi"):
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            flag = config.option(name).flag_for(ctx.params[name])
            raise click.UsageError(f"{flag} sets the baselines' channel and a run uses its own: add --baseline NAME")


def _esno_to_ebno(esno: list[float], systems: dict) -> list[float]:
    """``--esno``'s points as Eb/N0 in dB: one conversion, so every system must send the same k/n bits per channel use."""
    from fractions import Fraction

    from ..snr import esno_db_to_ebno_db

    rates = {name: Fraction(system.k, system.n) for name, system in systems.items()}
    if len(set(rates.values())) > 1:
        listed = ", ".join(f"{name} {rate.numerator}/{rate.denominator}" for name, rate in rates.items())
        raise click.UsageError(f"--esno needs systems of one rate k/n, so that one Eb/N0 axis holds them; these send {listed} bits per channel use: use --ebno")
    system = next(iter(systems.values()))
    return [float(esno_db_to_ebno_db(x, system.k, system.n)) for x in esno]


def _reduced_precision(learned: dict, precision: str, ebno: list[float], messages: int, seed: int, device, confidence: float, quiet: bool) -> dict:
    """Swap the learned systems for bf16 receivers after checking them against fp32; refuse the option when a BER moves out of fp32's interval."""
    from ..simulation import Bf16Receiver, check_bf16

    if not learned:
        raise click.UsageError("--precision bf16 applies to learned receivers: give a RUN_DIR (baselines always run exactly)")
    report = {}
    for name, model in list(learned.items()):
        checks = check_bf16(model, ebno, messages=messages, seed=seed, device=device, confidence=confidence)
        report[name] = [c.as_dict() for c in checks]
        for c in checks:
            if not quiet:
                click.echo(
                    f"bf16 check {name} at {c.ebno_db:g} dB: {c.changed:.2e} of decisions changed; bit errors fp32 {c.fp32_bit_errors} "
                    f"(BER interval [{c.fp32_ber_low:.2e}, {c.fp32_ber_high:.2e}]), bf16 {c.bf16_bit_errors}"
                )
            if not c.ok:
                raise click.ClickException(
                    f"--precision bf16 refused for this run: {name} at {c.ebno_db:g} dB has BER {c.bf16_bit_errors / c.bits:.3e} in bf16, "
                    f"outside fp32's {confidence:g} interval [{c.fp32_ber_low:.3e}, {c.fp32_ber_high:.3e}] on the same draws; run with --precision fp32"
                )
        learned[name] = Bf16Receiver(model)
    return report
