"""Importance sampling in the engine (issue 25): closed forms at deep tails, agreement with plain Monte Carlo, the rows, the CLI."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy.optimize import brentq
from scipy.stats import norm

from commae import AWGN, Autoencoder, Hamming74, Modem, Rayleigh, UncodedBPSK, psk, qam
from commae.cli import cli
from commae.constellations import int_to_bits
from commae.losses import SymbolCrossEntropy
from commae.simulation import ImportanceSampling, read_results, simulate
from commae.snr import ebno_db_to_no
from commae.theory import ber_bpsk, ber_qam, bler_hamming74_hard, ser_qam
from commae.training import MessageBatches, fit, make_optimizer

Z95, Z999 = norm.ppf(0.975), norm.ppf(0.9995)
UNIT = {"bit": "ber", "symbol": "ser", "block": "bler"}


def ebno_at(rate_of, target: float) -> float:
    """The Eb/N0 (dB) at which the closed form ``rate_of`` equals ``target``."""
    return brentq(lambda e: math.log(float(rate_of(e))) - math.log(target), 0.0, 20.0, xtol=1e-12)


def estimate(system, ebno_db: float, metric: str, **kw):
    (row,) = simulate([system], [ebno_db], importance=ImportanceSampling(**kw.pop("settings", {})), target_metric=metric, seed=kw.pop("seed", 1), progress=False, **{"batch_size": 4096, **kw})
    unit = UNIT[metric]
    return row, row[unit], (row[f"{unit}_high"] - row[f"{unit}_low"]) / 2


def covers(value: float, est: float, half: float) -> bool:
    """The 99.9 % interval (the row's 95 % half-width scaled) holds ``value``: a fixed-seed test a 95 % interval would fail once in 20 seeds."""
    return abs(est - value) <= half * Z999 / Z95


@pytest.mark.parametrize(
    ("name", "make", "metric", "rate_of", "target"),
    [
        ("bpsk-ber-1e-9", lambda: Modem(psk(2)), "bit", ber_bpsk, 1e-9),
        ("bpsk-ber-1e-10", lambda: Modem(psk(2)), "bit", ber_bpsk, 1e-10),
        ("qpsk-ber-1e-12", lambda: Modem(qam(4)), "bit", ber_bpsk, 1e-12),
        ("qam16-ser-1e-9", lambda: Modem(qam(16)), "symbol", lambda e: ser_qam(e, 16), 1e-9),
        ("qam16-ber-1e-12", lambda: Modem(qam(16)), "bit", lambda e: ber_qam(e, 16), 1e-12),
    ],
)
def test_deep_tail_estimates_cover_the_closed_form(name, make, metric, rate_of, target):
    ebno = ebno_at(rate_of, target)
    row, est, half = estimate(make(), ebno, metric)
    assert row["estimator"] == "importance-sampling" and row["is_method"] == "shift"
    assert row["rel_half_width"] <= 0.1 and half / est <= 0.1
    assert covers(target, est, half), (name, est, half, target)
    assert row["events"] >= 100 and row["effective_events"] > 50


@pytest.mark.parametrize("ebno", [12.0, 13.0])
def test_hamming_hard_bler_against_its_closed_form(ebno):
    row, est, half = estimate(Hamming74("hard"), ebno, "block")
    truth = float(bler_hamming74_hard(ebno))
    assert truth < 3e-9 and half / est <= 0.1
    assert covers(truth, est, half), (est, half, truth)


def hamming_soft_reference(ebno_db: float) -> tuple[float, float]:
    """Soft-ML BLER of Hamming (7,4) with BPSK over AWGN, bracketed without simulation.

    From codeword c the pairwise error events toward the 15 others are half-spaces at distance d_j/2 with
    d_j^2 = 4 w_j (weights 3 x7, 4 x7, 7 x1). Union bound above; below, Bonferroni over the 7 nearest:
    sum P(A_j) - sum_{j<l} P(A_j and A_l), where two weight-3 differences share one position (correlation 1/3)
    and P(A_j and A_l) <= P(Z_j + Z_l > 2a) = Q(2a / sqrt(2 + 2/3)).
    """
    sigma = math.sqrt(ebno_db_to_no(ebno_db, 4, 7) / 2)
    a = {w: math.sqrt(4 * w) / 2 / sigma for w in (3, 4, 7)}
    upper = 7 * norm.sf(a[3]) + 7 * norm.sf(a[4]) + norm.sf(a[7])
    lower = 7 * norm.sf(a[3]) - 21 * norm.sf(2 * a[3] / math.sqrt(8 / 3))
    return float(lower), float(upper)


@pytest.mark.parametrize("ebno", [12.0, 13.0])
def test_hamming_soft_bler_against_an_independent_bracket(ebno):
    lower, upper = hamming_soft_reference(ebno)
    assert (upper - lower) / upper < 1e-3  # the bracket is tight: a reference, not a bound
    row, est, half = estimate(Hamming74("soft"), ebno, "block")
    assert half / est <= 0.1
    assert lower - half * Z999 / Z95 <= est <= upper + half * Z999 / Z95, (est, half, lower, upper)


@functools.lru_cache(maxsize=2)
def trained_receiver(seed: int = 0, batches: int = 60, epochs: int = 2) -> Autoencoder:
    """A (4, 1) autoencoder trained briefly: a learned transmitter and receiver (unbiasedness holds for any receiver); trained once a module run."""
    torch.manual_seed(seed)
    model = Autoencoder(4, 1, hidden=64)
    train = MessageBatches(4, 1, 512, batches, 8.0, seed=seed + 1)
    fit(model, SymbolCrossEntropy(4), train, MessageBatches(4, 1, 2048, 1, 8.0, seed=seed + 2, fixed=True), make_optimizer("adam", model.parameters(), 1e-2), epochs, progress=False, log=None)
    return model.eval()


def plain(system, ebno: float, metric: str, errors: int, max_bits: float) -> tuple[float, float]:
    """Plain Monte Carlo: the rate and its standard error."""
    (row,) = simulate([system], [ebno], target_errors=errors, target_metric=metric, max_bits=int(max_bits), seed=7, progress=False)
    unit = UNIT[metric]
    trials = row[{"ber": "bits", "ser": "symbols", "bler": "blocks"}[unit]]
    p = row[unit]
    return p, math.sqrt(max(p * (1 - p), 1e-300) / trials)


def agree(system, ebno: float, metric: str, errors: int, max_bits: float, **settings) -> None:
    mc, se_mc = plain(system, ebno, metric, errors, max_bits)
    row, est, half = estimate(system, ebno, metric, settings=settings, max_bits=int(max_bits))
    se_is = half / Z95
    assert abs(est - mc) <= Z999 * math.hypot(se_is, se_mc), (est, se_is, mc, se_mc)
    return mc


@pytest.mark.parametrize(
    ("make", "ebno", "metric"),
    [(lambda: Modem(qam(16)), 9.0, "bit"), (lambda: Hamming74("hard"), 7.0, "block"), (lambda: Hamming74("soft"), 6.0, "block")],
    ids=["qam16", "hamming-hard", "hamming-soft"],
)
def test_importance_sampling_agrees_with_plain_monte_carlo(make, ebno, metric):
    # where plain Monte Carlo reaches (1e-3..1e-4 here; 1e-4..1e-5 in the long test), the two estimates agree within their errors
    rate = agree(make(), ebno, metric, errors=1000, max_bits=2e7)
    assert 1e-5 < rate < 1e-2


def test_a_learned_receiver_agrees_with_plain_monte_carlo_under_both_biases():
    model = trained_receiver(batches=15, epochs=1)
    for method in ("shift", "scale"):
        rate = agree(model, 9.0, "symbol", errors=300, max_bits=2e7, method=method)
        assert 1e-5 < rate < 2e-1


class _BitMAP(torch.nn.Module):
    r"""The bit-wise MAP receiver of BPSK blocks for bits that are 1 with a prior LLR ``prior`` each; it takes N0 (``noise_input``).

    Its LLRs are :math:`-4 y_j / N_0 + \lambda_j` (each real use carries N0/2), so bit j is decided 1 below
    :math:`y_j = \lambda_j N_0 / 4`: the decision threshold moves with N0.
    """

    noise_input = True

    def __init__(self, prior: list[float]) -> None:
        super().__init__()
        self.register_buffer("prior", torch.tensor(prior))

    def forward(self, y: torch.Tensor, h: torch.Tensor | None = None, no: float | torch.Tensor | None = None) -> torch.Tensor:
        return -4 * y / torch.as_tensor(no).reshape(-1, 1) + self.prior


def test_mean_translation_asks_a_receiver_given_n0_at_the_points_own_n0():
    """A noise-input receiver whose thresholds move with N0: importance sampling covers its closed-form BER at 10 dB.

    BPSK blocks of k = 3 bits on 3 real uses, the bit-wise MAP receiver for bits 1 and 2 that are 1 with prior LLR
    0.02 (bit 3 without): the thresholds sit at 0.02 N0 / 4, 5e-4 at the point (N0 = 0.1), within the corner probes'
    1e-3 across zero, and 5e-3 at N0 = 1. Asked at N0 = 1 (before: a fixed N0 of 1), the messages whose bit 1 or 2 is
    1 did not err there, so their noise was never pushed across those thresholds: the estimate missed a third of the
    errors, 2.5e-6 to 2.7e-6 (intervals about ±8 %) against the closed form's 3.87e-6 for seeds 1 to 5; asked at the
    point's N0, 3.7e-6 to 4.1e-6, each interval holding it. (The closed form stands in for plain Monte Carlo, which
    would need some 1e8 bits for as tight a check.)
    """
    ae = Autoencoder(3, 3, real=True, output="bit", hidden=8, normalization="message", noise_input=True)
    with torch.no_grad():  # the transmitter sends message m's bits b, MSB first, as x = 1 - 2b on the 3 uses (energy 3 already)
        embedding, _, out = ae.transmitter.embedding
        embedding.weight.copy_(torch.eye(8))
        out.weight.copy_((1 - 2 * int_to_bits(torch.arange(8), 3).float()).T)
        out.bias.zero_()
    ae.receiver = _BitMAP([0.02, 0.02, 0.0])
    assert torch.equal(ae.transmit(int_to_bits(torch.arange(8), 3).float()), UncodedBPSK(3, AWGN(real=True)).transmit(int_to_bits(torch.arange(8), 3).float()))
    ebno, no = 10.0, ebno_db_to_no(10.0, 3, 3)
    assert ae.noise_input and not torch.equal(ae.receive(torch.full((1, 3), 0.002), 1.0), ae.receive(torch.full((1, 3), 0.002), no))
    sigma = math.sqrt(no / 2)
    thresholds = [0.02 * no / 4, 0.02 * no / 4, 0.0]
    ber = sum(norm.sf((1 - t) / sigma) + norm.sf((1 + t) / sigma) for t in thresholds) / 6  # each bit 0 or 1 half the time
    row, est, half = estimate(ae, ebno, "bit", settings={"method": "shift"})
    assert row["is_method"] == "shift"
    assert covers(ber, est, half), (est, half, ber)


@pytest.mark.long
@pytest.mark.parametrize(
    ("make", "ebno", "metric"),
    [
        (lambda: Modem(qam(16)), 11.0, "bit"),
        (lambda: Modem(qam(16)), 12.0, "symbol"),
        (lambda: Hamming74("hard"), 9.0, "block"),
        (lambda: Hamming74("soft"), 8.0, "block"),
        (lambda: UncodedBPSK(4, AWGN(real=True)), 9.0, "bit"),
        (trained_receiver, 11.0, "symbol"),
    ],
    ids=["qam16-ber", "qam16-ser", "hamming-hard", "hamming-soft", "uncoded-4-real", "learned"],
)
def test_importance_sampling_agrees_with_plain_monte_carlo_at_1e_4_to_1e_5(make, ebno, metric):
    system = make()
    if isinstance(system, Autoencoder):  # a learned receiver's rate is not known beforehand: the first point from 11 dB up where IS puts it below 2e-4
        while estimate(system, ebno, metric)[1] > 2e-4 and ebno < 24:
            ebno += 1.0
    rate = agree(system, ebno, metric, errors=2000, max_bits=2e9)
    assert 1e-6 < rate < 1e-3, (ebno, rate)


@pytest.mark.long
def test_auto_importance_sampling_covers_a_learned_receivers_rate():
    # issue 25: on this trained autoencoder, mean translation aimed at the midpoints of its points misses part of its
    # receiver's error region (its decision regions are not the Voronoi cells): at 11 dB its 95 % intervals covered a
    # long plain Monte-Carlo reference 45 times in 100 and its estimates averaged 0.916 of it (benchmarks/deep_tails.py
    # --learned 100) -- unbiased only over runs far longer than the stopping rule's; this test failed so ("auto" was
    # "shift"). "auto" now draws a learned system's noise by variance scaling, which reaches every direction: over 30
    # seeds the estimates average the reference within 3 standard errors, and the intervals (widened by the
    # reference's own error) cover it about 95 % of the time
    model = trained_receiver()
    (row,) = simulate([model], [11.0], target_errors=8000, target_metric="symbol", max_bits=10**10, seed=99, progress=False)
    reference, se_reference = row["ser"], (row["ser_high"] - row["ser_low"]) / (2 * Z95)
    estimates, hits = [], 0
    for seed in range(30):
        row, est, half = estimate(model, 11.0, "symbol", seed=500 + seed)
        assert row["is_method"] == "scale"
        estimates.append(est)
        hits += abs(est - reference) <= Z95 * math.hypot(half / Z95, se_reference)
    mean, se_mean = float(np.mean(estimates)), float(np.std(estimates, ddof=1)) / math.sqrt(len(estimates))
    assert abs(mean - reference) <= 3 * math.hypot(se_mean, se_reference), (mean, se_mean, reference, se_reference)
    assert hits >= 24, hits  # binomial(30, 0.95): 28.5 expected, sd 1.2


@pytest.mark.slow  # minutes (Hamming's alone about 12): not in CI's time budget; `python -m pytest -m slow tests/test_importance.py`
@pytest.mark.parametrize(
    ("make", "metric", "rate_of", "target"),
    [(lambda: Modem(qam(4)), "bit", ber_bpsk, 1e-10), (lambda: Modem(qam(16)), "symbol", lambda e: ser_qam(e, 16), 1e-12), (lambda: Hamming74("hard"), "block", bler_hamming74_hard, 1e-12)],
    ids=["qpsk", "qam16", "hamming-hard"],
)
def test_the_95_percent_intervals_cover_95_percent_of_the_time(make, metric, rate_of, target):
    # 200 independent estimates at 10 % relative precision: coverage of the closed form within binomial error of 0.95
    ebno, system = ebno_at(rate_of, target), make()
    hits = 0
    for seed in range(200):
        _, est, half = estimate(system, ebno, metric, seed=1000 + seed, batch_size=1024)
        hits += abs(est - target) <= half
    print(f"{metric} at {target:g}: {hits} of 200 intervals cover the closed form")
    assert hits >= 180, hits  # 0.95 x 200 = 190, sd 3.1; 180 is 3.2 sd below


def test_the_rows_say_they_are_importance_sampled_and_a_point_without_events_is_honest():
    row, est, half = estimate(Modem(qam(4)), 12.0, "bit")
    assert row["bit_errors"] > 0 and not math.isclose(row["ber"], row["bit_errors"] / row["bits"])  # a weighted estimate, not a count ratio
    # with no bias at all (scale 1) at 20 dB no error happens in 8192 messages: the estimate is 0, the upper bound the
    # Clopper-Pearson bound of the defensive (unbiased) draws
    (row,) = simulate([Modem(qam(4))], [20.0], importance=ImportanceSampling(method="scale", scale=1.0), max_bits=2 * 8192, batch_size=8192, progress=False)
    assert row["ber"] == 0 and row["events"] == 0 and 0 < row["ber_high"] < 1e-2


def test_importance_sampling_runs_on_one_thread_and_restores_the_count():
    # small batches: on a shared 2-core machine two intra-op threads made each deep-tail estimate 5-20x slower
    # (benchmarks/deep_tails.py); the caller's thread count comes back afterwards
    seen: set[int] = set()

    class Watched(Modem):
        def receive(self, y, no, h=None):
            seen.add(torch.get_num_threads())
            return super().receive(y, no, h)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        simulate([Watched(qam(4))], [10.0], importance=ImportanceSampling(), batch_size=1024, progress=False)
        assert seen == {1} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_bad_settings_and_channels_are_refused():
    for kwargs, match in [
        ({"method": "tilt"}, "method must be"),
        ({"relative_precision": 0.0}, "relative_precision"),
        ({"defensive": 1.0}, "defensive"),
        ({"scale": 0.5}, "scale must be"),
        ({"min_events": 1}, "min_events"),
    ]:
        with pytest.raises(ValueError, match=match):
            ImportanceSampling(**kwargs)
    with pytest.raises(ValueError, match="additive Gaussian channel"):
        simulate([Modem(qam(4), Rayleigh())], [10.0], importance=ImportanceSampling(), progress=False)
    with pytest.raises(ValueError, match="ImportanceSampling"):
        simulate([Modem(qam(4))], [10.0], importance=0.1, progress=False)


def test_ber_curve_importance_sampling_writes_marked_rows_and_refuses_misuse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(
        cli,
        [
            "ber-curve",
            "--baseline",
            "bpsk",
            "--baseline",
            "hamming74-hard",
            "--ebno",
            "12,14",
            "--importance-sampling",
            "--relative-precision",
            "0.1",
            "--target-metric",
            "block",
            "--batch-size",
            "8192",
            "--threads",
            "1",
            "--out",
            "r.csv",
        ],
    )
    assert done.exit_code == 0, done.output
    assert "importance-sampled" in done.output
    rows = read_results("r.csv")
    assert all(r["estimator"] == "importance-sampling" for r in rows) and len(rows) == 4
    for r in rows:
        assert r["bler_low"] <= r["bler_theory"] * (1 + 0.25) and r["bler_theory"] * (1 - 0.25) <= r["bler_high"]  # theory near the interval
    assert json.load(open("r.json"))["importance_sampling"]["relative_precision"] == 0.1
    header = open("r.csv").readline().strip().split(",")
    assert header[-5:] == ["estimator", "is_method", "events", "effective_events", "rel_half_width"]
    for args, text in [
        (["--baseline", "bpsk", "--relative-precision", "0.1"], "--relative-precision applies to --importance-sampling"),
        (["--baseline", "bpsk", "--importance-sampling", "--relative-precision", "1.5"], "--relative-precision"),
        (["--baseline", "bpsk", "--importance-sampling", "--channel", "rayleigh"], "additive Gaussian channel"),
    ]:
        refused = runner.invoke(cli, ["ber-curve", *args, "--ebno", "10", "--out", "x.csv", "--threads", "1"])
        assert refused.exit_code == 2, refused.output
        assert text in refused.output and "Traceback" not in refused.output
    assert np.isfinite([r["bler"] for r in rows]).all()
