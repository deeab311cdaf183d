"""Importance sampling on coded links (issue 25 on issue 24's BICM): variance scaling of the signal dimensions, a scale per
length and Eb/N0, closed forms and plain Monte Carlo as references, the CLI."""

from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from scipy import integrate
from scipy.stats import norm
from test_importance import Z95, Z999, covers, ebno_at, hamming_soft_reference

from commae import Modem, psk, qam
from commae.bicm import BICM
from commae.cli import cli
from commae.codes import LDPC5G, BPDecoder, LinearCode, hamming74
from commae.simulation import ImportanceSampling, read_results, simulate
from commae.simulation.importance import BiasedNoise, relative_variance, variance_scale
from commae.snr import ebno_db_to_no
from commae.theory import ber_bpsk

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: the decoders run on one intra-op thread
HAMMING = Path(__file__).parent / "data" / "ldpc" / "hamming74.alist"  # hamming74()'s H, as commae.codes.alist writes it


def star_repetition(n: int) -> LinearCode:
    """The (n, 1) repetition code with checks c_0 + c_i = 0: a star-shaped Tanner graph, a tree.

    Every check has degree 2, so a min-sum check message is the other bit's LLR unchanged and BP is the exact MAP: the
    sign of the summed LLRs (tested below). Over BPSK its BLER is then Q(sqrt(2 Eb/N0)) (Eb/N0 per information bit)
    whatever n: a closed form in n dimensions, whose error event is one half-space at a = sqrt(2 Eb/N0) noise standard
    deviations, the model variance scaling's scale is chosen by (commae.simulation.importance.relative_variance).
    """
    H = np.zeros((n - 1, n), dtype=np.uint8)
    H[:, 0] = 1
    H[np.arange(n - 1), np.arange(1, n)] = 1
    return LinearCode(H, name=f"repetition ({n},1)")


def tree_link(n: int, algorithm: str = "min-sum") -> BICM:
    code = star_repetition(n)
    return BICM(code, Modem(psk(2)), BPDecoder(code, algorithm, iterations=4), name=f"repetition-{n}")


def bpsk_link(code, decoder=None, iterations: int = 20) -> BICM:
    return BICM(code, Modem(psk(2)), decoder or BPDecoder(code, iterations=iterations), name="bpsk-coded")


def importance(link, ebno: float, precision: float, max_bits: float, seed: int = 1, batch_size: int = 4096) -> tuple[dict, float, float]:
    settings = ImportanceSampling(relative_precision=precision)
    (row,) = simulate([link], [ebno], importance=settings, target_metric="block", max_bits=int(max_bits), batch_size=batch_size, seed=seed, progress=False)
    return row, row["bler"], (row["bler_high"] - row["bler_low"]) / 2


def plain(link, ebno: float, errors: int, max_bits: float) -> tuple[float, float]:
    (row,) = simulate([link], [ebno], target_errors=errors, target_metric="block", max_bits=int(max_bits), batch_size=8192, seed=7, threads=1, progress=False)
    p = row["bler"]
    return p, math.sqrt(max(p * (1 - p), 1e-300) / row["blocks"])


def agree(link, ebno: float, errors: int, max_bits: float, precision: float = 0.1) -> float:
    """Plain Monte Carlo and importance sampling of the BLER at ``ebno`` agree within 3.3 combined standard errors."""
    mc, se_mc = plain(link, ebno, errors, max_bits)
    row, est, half = importance(link, ebno, precision, max_bits)
    assert row["estimator"] == "importance-sampling" and row["is_method"] == "scale"
    assert abs(est - mc) <= Z999 * math.hypot(half / Z95, se_mc), (ebno, est, half / Z95, mc, se_mc)
    return mc


def test_a_tree_code_reaches_1e_8_covers_its_closed_form_at_the_efficiency_the_model_predicts():
    # (5,1) repetition over BPSK on complex AWGN: 10 real noise dimensions, 5 carry signal and are scaled
    n, target = 5, 1e-8
    ebno = ebno_at(ber_bpsk, target)
    row, est, half = importance(tree_link(n), ebno, 0.2, 4e5)
    assert (row["is_scaled_dims"], row["is_dims"]) == (n, 2 * n)
    assert row["rel_half_width"] <= 0.2 and covers(target, est, half), (est, half)
    # the relative variance per codeword the run measured is the half-space model's at the scale it chose (a = sqrt(2 Eb/N0)),
    # times at most 1/(1 - defensive) for the defensive mixture, within the sample variance's own error
    a = math.sqrt(2 * 10 ** (ebno / 10))
    assert row["is_scale"] == pytest.approx(variance_scale(n, a))
    measured = row["blocks"] * (half / Z95 / est) ** 2
    predicted = relative_variance(row["is_scale"], n, a)
    assert 0.6 * predicted <= measured <= 1.5 * predicted / 0.9, (measured, predicted)
    assert measured < 1e-3 / target  # over a thousand times fewer codewords than plain Monte Carlo


def test_coded_importance_sampling_agrees_with_plain_monte_carlo():
    # Hamming (7,4) with sum-product BP over BPSK at 6 dB (BLER about 1.3e-3); 1e-4 to 1e-5 in the long test
    rate = agree(bpsk_link(hamming74()), 6.0, errors=300, max_bits=4e6)
    assert 5e-4 < rate < 3e-3


def test_variance_scaling_scales_the_signal_dimensions_only_and_weights_by_the_likelihood_ratio():
    # BPSK carries signal on the real parts only: those are scaled by s in the biased draws, the imaginary parts stay the
    # channel's own; E_q[p/q] = 1 checks the weights' normalisation, E_q[(p/q) w^2] = sigma^2 that they undo the scaling
    torch.manual_seed(0)
    sampler = BiasedNoise(bpsk_link(hamming74()), ImportanceSampling(method="scale", scale=2.0), torch.device("cpu"))
    assert sampler.scaled_dims(14) == 7
    size, no, alpha0 = 200_000, 0.5, 0.1
    gen = torch.Generator().manual_seed(3)
    noise, log_weight, defensive = sampler.draw(torch.zeros(size, dtype=torch.int64), no, gen, torch.zeros(size, 7, dtype=torch.complex64))
    sigma2, weight = no / 2, log_weight.exp()
    real, imag = noise.real.double(), noise.imag.double()
    tolerance = 5 / math.sqrt(size * 7)  # ~5 standard errors of a variance ratio estimated from size * 7 draws (x sqrt 2 margin)
    assert float(imag.pow(2).mean()) / sigma2 == pytest.approx(1.0, abs=2 * tolerance)
    assert float(real[~defensive].pow(2).mean()) / sigma2 == pytest.approx(4.0, rel=2 * tolerance)
    assert float(defensive.double().mean()) == pytest.approx(alpha0, abs=5 * math.sqrt(alpha0 * (1 - alpha0) / size))
    assert float(weight.mean()) == pytest.approx(1.0, abs=0.02)
    assert float((weight[:, None] * real.pow(2)).mean()) / sigma2 == pytest.approx(1.0, abs=0.05)
    # QPSK spans both parts of every channel use: all 80 dimensions of a (40, 80) 5G codeword in 40 uses
    qpsk = BICM(LDPC5G(40, 80), Modem(qam(4)), BPDecoder(LDPC5G(40, 80), iterations=5))
    assert BiasedNoise(qpsk, ImportanceSampling(method="scale"), torch.device("cpu")).scaled_dims(80) == 80


def test_the_scale_falls_toward_one_as_the_scaled_dimensions_grow():
    # the half-space model: about a at one dimension, toward 1 as D grows, and what it saves over plain Monte Carlo with it
    a = 5.0
    scales = [variance_scale(d, a) for d in (1, 2, 7, 14, 80, 1500)]
    assert scales[0] == pytest.approx(a, rel=0.05) and all(x > y > 1 for x, y in itertools.pairwise(scales))
    plain_relative_variance = 1 / norm.sf(a) - 1
    gains = [plain_relative_variance / relative_variance(s, d, a) for s, d in zip(scales, (1, 2, 7, 14, 80, 1500))]
    assert gains[0] > 1e4 and gains[2] > 500 and gains[4] < 5 and gains[5] < 1.2, gains
    assert variance_scale(80, 0.5) < 1.01 and variance_scale(80, 0.0) == 1.0  # at low SNR next to nothing to gain: about plain Monte Carlo


def test_ber_curve_code_with_importance_sampling_writes_marked_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert torch.equal(LinearCode.from_alist(HAMMING).parity_check, hamming74().parity_check)
    args = ["ber-curve", "--baseline", "bpsk", "--code", str(HAMMING), "--ebno", "6,8", "--importance-sampling", "--relative-precision", "0.2", "--threads", "1", "--out", "r.csv"]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0, done.output
    rows = read_results("r.csv")
    columns = list(csv.DictReader(open("r.csv")))
    assert [r["system"] for r in rows] == ["bpsk-hamming74"] * 2 and all(r["estimator"] == "importance-sampling" for r in rows)
    assert all(c["is_method"] == "scale" and float(c["rel_half_width"]) <= 0.2 for c in columns)
    assert all(r["bits"] == 4 * r["blocks"] for r in rows) and rows[0]["bler"] > 10 * rows[1]["bler"]
    recorded = json.load(open("r.json"))
    assert recorded["target_metric"] == "block" and recorded["code"]["code"] == str(HAMMING)
    assert [(p["scaled_dims"], p["dims"]) for p in recorded["importance_sampling"]["scales"]] == [(7, 14)] * 2
    assert "on 7 of 14 dims" in done.output and "normal interval from the weighted codewords" in done.output


# --------------------------------------------------------------------------- long


@pytest.mark.long
@pytest.mark.parametrize(("ebno", "errors"), [(7.5, 1000), (8.5, 200)])
def test_coded_importance_sampling_agrees_with_plain_monte_carlo_at_1e_4_to_1e_5(ebno, errors):
    rate = agree(bpsk_link(hamming74()), ebno, errors=errors, max_bits=4e8)
    assert 1e-6 < rate < 3e-4, rate


@pytest.mark.long
def test_a_5g_code_agrees_with_plain_monte_carlo_and_says_how_little_it_gains():
    # (40, 80) 5G LDPC over QPSK: 80 scaled dimensions, where variance scaling saves little (the docs' table)
    code = LDPC5G(40, 80)
    link = BICM(code, Modem(qam(4)), BPDecoder(code, iterations=20), name="qpsk-ldpc")
    rate = agree(link, 5.0, errors=300, max_bits=2e8, precision=0.15)
    assert 1e-5 < rate < 1e-2, rate


class ExhaustiveML(torch.nn.Module):
    """Block-wise maximum-likelihood decoding of a small code: the codeword with the largest sum of c_j L_j (LLR sign of commae.snr)."""

    def __init__(self, code: LinearCode) -> None:
        super().__init__()
        infos = torch.tensor(list(itertools.product([0.0, 1.0], repeat=code.k)))
        self.code, self.infos, self.words = code, infos, code.encode(infos)

    def forward(self, llr: torch.Tensor) -> torch.Tensor:
        return self.infos[(llr @ self.words.T).argmax(-1)]


@pytest.mark.long
@pytest.mark.parametrize("ebno", [11.0, 12.0])
def test_hamming_with_ml_decoding_matches_its_bracket_at_1e_9_to_1e_10(ebno):
    # soft ML over the coded link (scrambler, interleaver, APP demapper) is soft ML Hamming: tests/test_importance.py's
    # bracket (union bound above, Bonferroni below, 1e-3 apart) computed without simulation
    lower, upper = hamming_soft_reference(ebno)
    code = hamming74()
    row, est, half = importance(bpsk_link(code, ExhaustiveML(code)), ebno, 0.1, 4e7)
    assert upper < 3e-9 and row["rel_half_width"] <= 0.1
    assert lower - half * Z999 / Z95 <= est <= upper + half * Z999 / Z95, (est, half, lower, upper)


@pytest.mark.long
def test_the_intervals_cover_a_tree_codes_closed_form_about_95_percent_of_the_time():
    # (7,1) repetition at BLER 1e-6, 40 seeds at 10 % relative precision; measured 57 of 60 (mean ratio 0.991 +- 0.006)
    target = 1e-6
    link, ebno = tree_link(7), ebno_at(ber_bpsk, target)
    hits, ratios = 0, []
    for seed in range(40):
        _, est, half = importance(link, ebno, 0.1, 1e8, seed=100 + seed)
        hits += abs(est - target) <= half
        ratios.append(est / target)
    assert hits >= 34, hits  # binomial(40, 0.95): 38 expected, sd 1.4
    assert abs(np.mean(ratios) - 1) <= 3 * np.std(ratios, ddof=1) / math.sqrt(len(ratios)), ratios


def test_min_sum_on_the_tree_code_is_its_exact_map_decision():
    # the closed form above: min-sum BP on the star decides the information bit by the sign of the summed LLRs, however
    # large they are (LLRs to +-100 here)
    gen = torch.Generator().manual_seed(5)
    llr = 30 * torch.randn(20_000, 5, generator=gen)
    decided = BPDecoder(star_repetition(5), "min-sum", iterations=4)(llr)
    assert torch.equal(decided, (llr.sum(-1, keepdim=True) > 0).float())


@pytest.mark.long
def test_float32_sum_product_is_map_exact_at_1e_9_where_a_saturating_rule_was_not():
    # a tanh rule in float32 saturates a check message at |c| = ln(2 / eps) = 16.6 (commae's old sigmoid-logit rule did): on the
    # (2, 1) star the information bit is then decided by L_0 + clamp(L_1, 16.6), which errs where L_0 < -16.6 < ... <
    # L_0 + L_1 too; at the Eb/N0 where MAP's BLER is 1e-9 that makes 1.27e-9 (numerical integration), and importance
    # sampling measured it. Sum-product is exact now (commae.codes.bp): it covers Q(sqrt(2 Eb/N0)) as min-sum does,
    # and its interval leaves the saturated rate out
    target = 1e-9
    ebno = ebno_at(ber_bpsk, target)
    no = float(ebno_db_to_no(ebno, 1, 2))
    mean, sd, cap = 4 / no, math.sqrt(8 / no), math.log(2 / float(np.finfo(np.float32).eps))  # lambda = -L of a sent 0: N(4/N0, 8/N0)
    saturated = integrate.quad(lambda v: norm.pdf(v, mean, sd) * norm.cdf(-min(max(v, -cap), cap), mean, sd), mean - 15 * sd, mean + 15 * sd, points=[cap], limit=400)[0]
    assert saturated / target > 1.2
    for algorithm in ("min-sum", "sum-product"):
        row, est, half = importance(tree_link(2, algorithm), ebno, 0.05, 4e6)
        assert row["rel_half_width"] <= 0.05 and covers(target, est, half) and not covers(saturated, est, half), (algorithm, est, half, saturated)
