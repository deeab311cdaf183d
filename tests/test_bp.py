"""Belief-propagation decoders: exact MAP on a cycle-free graph, a textbook per-edge reference, early stop, conventions."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from commae.codes import KNOWN_LLR, BPDecoder, LinearCode, hamming74
from commae.codes.bp import _SUM_PRODUCT_CAP, ALGORITHMS, SCHEDULES, _check_min_sum, _check_sum_product

DATA = Path(__file__).parent / "data" / "ldpc"
WIMAX = DATA / "WIMAX_288_576.alist"
CCSDS = DATA / "CCSDS_64_128.alist"


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread for every test here


# --------------------------------------------------------------------------- references


def _tree_code(n_checks: int, seed: int) -> LinearCode:
    """A code whose Tanner graph is a tree: each new check joins one existing variable and 1-3 new ones."""
    rng = np.random.default_rng(seed)
    rows, n = [], 1
    for _ in range(n_checks):
        new = int(rng.integers(1, 4))
        rows.append([int(rng.integers(0, n))] + list(range(n, n + new)))
        n += new
    H = np.zeros((n_checks, n), dtype=np.uint8)
    for i, cols in enumerate(rows):
        H[i, cols] = 1
    return LinearCode(H[rng.permutation(n_checks)][:, rng.permutation(n)])


def _exact_app(code: LinearCode, llr: torch.Tensor, max_log: bool) -> torch.Tensor:
    """Bit-wise MAP LLRs (commae sign) by enumerating every codeword: P(c | y) ~ exp(sum_j c_j L_j)."""
    infos = torch.tensor(list(itertools.product([0.0, 1.0], repeat=code.k)), dtype=torch.float64)
    words = code.encode(infos)  # [2^k, n]
    score = llr.double() @ words.T  # [B, 2^k]
    out = torch.empty_like(llr, dtype=torch.float64)
    for j in range(code.n):
        ones, zeros = score[:, words[:, j] == 1], score[:, words[:, j] == 0]
        if max_log:
            out[:, j] = ones.amax(1) - zeros.amax(1)
        else:
            out[:, j] = torch.logsumexp(ones, 1) - torch.logsumexp(zeros, 1)
    return out


def _boxplus(v: np.ndarray) -> np.ndarray:
    r"""The exact check rule on ``v`` ``[N, d]`` in float64, out on every edge, by a route the decoder does not take.

    In the log domain: :math:`|c_j| = \phi(\sum_{i \ne j} \phi(|v_i|))` with
    :math:`\phi(x) = -\ln\tanh(x/2) = \operatorname{log1p}(2/\operatorname{expm1}(x))`, each sum over the others
    formed on its own (nothing subtracted), and the product of the others' signs (:func:`math.copysign`: -0 is negative).
    """
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(divide="ignore"):
        phi = np.log1p(2 / np.expm1(np.abs(v)))  # inf at 0
        out = np.empty_like(v)
        for j in range(v.shape[1]):
            others = np.delete(phi, j, axis=1).sum(1)
            out[:, j] = np.log1p(2 / np.expm1(others))  # 0 where an other is 0
    signs = np.copysign(1.0, v)
    return out * signs * signs.prod(1, keepdims=True)


def _boxplus_mpmath(v: list[float]) -> list[float]:
    """The same rule as 2 artanh of the product of tanh(v_i / 2), in 80-digit arithmetic (the reference's reference)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(80):
        t = [mpmath.tanh(mpmath.mpf(x) / 2) for x in v]
        return [float(2 * mpmath.atanh(mpmath.fprod(t[:j] + t[j + 1 :]))) for j in range(len(v))]


def _star(n: int) -> LinearCode:
    """The (n, 1) repetition code with checks c_0 + c_i = 0, a tree: every bit's MAP LLR is the sum of all n LLRs."""
    H = np.zeros((n - 1, n), dtype=np.uint8)
    H[:, 0] = 1
    H[np.arange(n - 1), np.arange(1, n)] = 1
    return LinearCode(H)


def _textbook_bp(H: torch.Tensor, llr: torch.Tensor, algorithm: str, schedule: str, iterations: int, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Per codeword, per check, per edge, in float64 and the textbook sign lambda = ln P(0)/P(1); a-posteriori LLRs in commae's sign."""
    checks = [np.flatnonzero(row) for row in H.numpy() if row.any()]

    def rule(v: np.ndarray) -> np.ndarray:
        out = np.empty_like(v)
        for j in range(len(v)):
            others = np.delete(v, j)
            if algorithm == "sum-product":
                out[j] = 2 * np.arctanh(np.prod(np.tanh(others / 2)))
            else:
                mag = np.min(np.abs(others)) if len(others) else np.inf
                mag = max(mag - offset, 0.0) if algorithm == "offset-min-sum" else mag * scale
                out[j] = np.prod(np.copysign(1.0, others)) * mag
        return out

    result = []
    for lam in (-llr.double()).numpy():
        C = [np.zeros(len(cols)) for cols in checks]
        T = lam.copy()
        for _ in range(iterations):
            if schedule == "flooding":
                C = [rule(T[cols] - c) for cols, c in zip(checks, C)]
                T = lam.copy()
                for cols, c in zip(checks, C):
                    T[cols] += c
            else:
                for i, cols in enumerate(checks):
                    v = T[cols] - C[i]
                    C[i] = rule(v)
                    T[cols] = v + C[i]
        result.append(-T)
    return np.array(result)


def _random_ldpc(seed: int, n: int = 24, m: int = 12) -> torch.Tensor:
    """A small irregular parity-check matrix with cycles, checks of several degrees and runs of rows that share variables."""
    gen = torch.Generator().manual_seed(seed)
    H = (torch.rand(m, n, generator=gen) < 0.22).to(torch.uint8)
    H[torch.arange(m), torch.arange(m) % n] = 1
    H[torch.arange(m), (torch.arange(m) + 1) % n] = 1  # consecutive rows overlap: layers of one row
    return H


def _awgn_llr(code: LinearCode, batch: int, ebno_db: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random information bits, their codewords over BPSK (x = 1 - 2c) and AWGN at Eb/N0 per information bit; commae LLRs."""
    gen = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (batch, code.k), generator=gen).float()
    no = 1.0 / (code.k / code.n * 10 ** (ebno_db / 10))
    y = 1 - 2 * code.encode(bits) + torch.randn(batch, code.n, generator=gen) * (no / 2) ** 0.5
    return bits, -4 * y / no


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_sum_product_on_a_cycle_free_graph_is_the_exact_bitwise_map(schedule):
    gen = torch.Generator().manual_seed(5)
    for seed in range(4):
        code = _tree_code(5, seed)
        llr = (torch.randn(64, code.n, generator=gen, dtype=torch.float64) * 2.5 + 1.0).clamp(-12, 12)
        exact = _exact_app(code, llr, max_log=False)
        app64 = BPDecoder(code, "sum-product", schedule, iterations=2 * code.n, early_stop=False).decode(llr).llr
        assert torch.allclose(app64, exact, rtol=0, atol=1e-8), (schedule, seed, (app64 - exact).abs().max())
    for seed in range(4):  # float32, every message to 86 (a tanh rule saturates at 16.6): exact to float32 rounding
        code = _tree_code(5, seed)
        llr = torch.rand(256, code.n, generator=gen, dtype=torch.float64) ** 4 * torch.randn(256, code.n, generator=gen).sign()
        llr = (llr * (20 + 66 * torch.rand(256, 1, generator=gen, dtype=torch.float64)) / llr.abs().sum(1, keepdim=True)).float()
        # a few large LLRs, sum |L| of a word in 20..86: no message on a tree exceeds that sum, so none reaches the cap (87)
        exact = _exact_app(code, llr.double(), max_log=False)
        app32 = BPDecoder(code, "sum-product", schedule, iterations=2 * code.n, early_stop=False).decode(llr).llr
        error = (app32.double() - exact).abs() / (1 + llr.double().abs().sum(1, keepdim=True))
        assert error.max() <= 1e-6, (schedule, seed, error.max())  # measured 2e-8
        llr = (torch.rand(256, code.n, generator=gen, dtype=torch.float64) * 2 - 1) * 300  # float64 to +-300 (a tanh rule: 36.7)
        app64 = BPDecoder(code, "sum-product", schedule, iterations=2 * code.n, early_stop=False).decode(llr).llr
        error = (app64 - _exact_app(code, llr, max_log=False)).abs() / (1 + llr.abs().sum(1, keepdim=True))
        assert error.max() <= 1e-14, (schedule, seed, error.max())


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_min_sum_on_a_cycle_free_graph_is_the_exact_max_log_map(schedule):
    gen = torch.Generator().manual_seed(6)
    for seed in range(4):
        code = _tree_code(5, seed)
        llr = torch.randn(64, code.n, generator=gen, dtype=torch.float64) * 3
        exact = _exact_app(code, llr, max_log=True)
        app = BPDecoder(code, "min-sum", schedule, iterations=2 * code.n, early_stop=False).decode(llr).llr
        assert torch.allclose(app, exact, rtol=0, atol=1e-9), (schedule, seed)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_batched_decoder_is_the_textbook_per_edge_decoder(algorithm, schedule):
    H = _random_ldpc(2)
    code = LinearCode(H)
    options = {"normalized-min-sum": {"scale": 0.8}, "offset-min-sum": {"offset": 0.3}}.get(algorithm, {})
    gen = torch.Generator().manual_seed(9)
    llr = torch.randn(6, code.n, generator=gen, dtype=torch.float64) * 2 - 1
    llr[0, :3] = 0.0  # erased (punctured) inputs: exact zeros reach the checks
    for iterations in (1, 4):
        reference = _textbook_bp(H, llr, algorithm, schedule, iterations, **options)
        app = BPDecoder(code, algorithm, schedule, iterations, early_stop=False, **options).decode(llr).llr
        assert np.allclose(app.numpy(), reference, rtol=1e-9, atol=1e-9), (iterations, np.abs(app.numpy() - reference).max())


def test_layers_are_the_row_by_row_schedule():
    code = LinearCode.from_alist(CCSDS)  # weight-2 circulants: consecutive rows often share a variable (41 layers of 64 checks)
    decoder = BPDecoder(code, "normalized-min-sum", "layered", 3, scale=0.75, early_stop=False)
    _, llr = _awgn_llr(code, 3, 2.0, seed=1)
    reference = _textbook_bp(code.parity_check, llr.double(), "normalized-min-sum", "layered", 3, scale=0.75)
    assert np.allclose(decoder.decode(llr.double()).llr.numpy(), reference, rtol=1e-9, atol=1e-9)
    wimax = BPDecoder(LinearCode.from_alist(WIMAX), schedule="layered")
    assert [sum(b.rows for b in blocks) for _, _, blocks in wimax._graph(torch.device("cpu")).layers] == [24] * 12  # one layer per block row


def test_the_check_rules_on_edge_cases():
    # min-sum: ties at the minimum, zeros, signs of -0
    v = torch.tensor([[2.0, -2.0, 5.0], [0.0, 0.0, -3.0], [-0.0, 4.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64).T.reshape(1, 3, 4)
    out = torch.empty_like(v)
    _check_min_sum(v, out, torch.empty_like(v), 1.0, 0.0)
    expect = torch.tensor([[-2.0, 2.0, -2.0], [0.0, 0.0, 0.0], [1.0, -0.0, -0.0], [1.0, 1.0, 1.0]], dtype=torch.float64).T.reshape(1, 3, 4)
    assert torch.equal(out, expect)

    def spa(*rows, dtype=torch.float32):
        v = torch.tensor(rows, dtype=dtype).T.reshape(1, len(rows[0]), len(rows))
        _check_sum_product(v, out := torch.empty_like(v), torch.empty_like(v))
        return out[0].T

    # sum-product: an exact zero (either sign) gives its own edge the boxplus of the others and the others an exact 0
    out = spa([0.0, 2.0, -3.0], [-0.0, 2.0, -3.0], dtype=torch.float64)
    expect = 2 * np.arctanh(np.tanh(1.0) * np.tanh(-1.5))
    assert out[:, 0].tolist() == pytest.approx([expect] * 2, abs=1e-14) and torch.equal(out[:, 1:].abs(), torch.zeros(2, 2, dtype=torch.float64))
    # no saturation: three others at 80 give 80 - ln 3 (a tanh rule gives ln(2^24) = 16.6 in float32), 100 is taken
    # as 87 (the cap: 2 e^-87 is still a normal float32), a known bit (KNOWN_LLR) too; float64's cap is 700
    cap32 = _SUM_PRODUCT_CAP[torch.float32]
    out = spa([80.0] * 4, [-KNOWN_LLR, 5.0, -7.0, 1.0], [100.0, 60.0, 60.0, 60.0], [KNOWN_LLR, -KNOWN_LLR, 30.0, 85.0])
    assert out[0].tolist() == pytest.approx([80 - np.log(3)] * 4, rel=1e-7)
    assert out[1].tolist() == pytest.approx(_boxplus([[-cap32, 5.0, -7.0, 1.0]])[0], rel=1e-6)
    assert out[2].tolist() == pytest.approx(_boxplus([[cap32, 60.0, 60.0, 60.0]])[0], rel=1e-7)
    assert out[3].tolist() == pytest.approx(_boxplus([[cap32, -cap32, 30.0, 85.0]])[0], rel=1e-7)
    assert spa([KNOWN_LLR, -KNOWN_LLR, 1.0])[0].tolist() == pytest.approx([-1.0, 1.0, -(cap32 - np.log(2))], rel=1e-7)
    assert spa([KNOWN_LLR, -KNOWN_LLR], [-2e6, 7e5]).tolist() == [[-KNOWN_LLR, KNOWN_LLR], [7e5, -1e6]]  # degree 2: passed on
    expect = [-(600 - np.log1p(np.exp(-50)))] * 2 + [600 - np.log(2)]
    assert spa([600.0, 600.0, -650.0], dtype=torch.float64)[0].tolist() == pytest.approx(expect, rel=1e-14)
    assert spa([KNOWN_LLR, 800.0, 1.0], dtype=torch.float64)[0, 2].item() == pytest.approx(700 - np.log(2), rel=1e-14)
    assert torch.equal(spa([3.0], [-0.0]), torch.full((2, 1), cap32))  # a check of one bit: that bit is 0, with certainty
    assert spa([2.0, -0.0]).tolist() == [[-0.0, 2.0]]  # an erased (-0) neighbour: 0 with the sign of -0 (negative)
    # never NaN, never above the cap, signs the product of the others' (-0 negative), whatever the input
    v = torch.tensor([0.0, -0.0, 1e-40, -1e-40, 1e-3, 16.0, 50.0, 87.0, 88.5, 1e4, float("inf")])
    v = torch.cat([v, -v])[torch.randint(0, 22, (1, 6, 4096), generator=torch.Generator().manual_seed(3))]
    _check_sum_product(v, out := torch.empty_like(v), torch.empty_like(v))
    signs = torch.copysign(torch.ones(()), v)
    assert not out.isnan().any() and out.abs().max() <= cap32
    assert torch.equal(torch.copysign(torch.ones(()), out), signs * signs.prod(1, keepdim=True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sum_product_is_the_exact_boxplus_to_the_float_precision(dtype):
    """The rule against the log-domain float64 reference (itself checked against 80 digits) on degrees 2..20, |v| from
    1e-3 to 80 with a share in 15..80 (where a tanh rule saturates), exact zeros and -0: relative error <= 1e-5 in float32
    (measured 4.4e-7) and 1e-12 in float64 (1.5e-14), down to the smallest normal float32 (below: subnormal or 0)."""
    rng = np.random.default_rng(7)
    reference_checked = 0
    for d in (2, 3, 4, 6, 7, 11, 20):
        mag = np.exp(rng.uniform(np.log(1e-3), np.log(80.0), (400, d)))
        large = rng.random((400, d)) < 0.4
        mag[large] = rng.uniform(15.0, 80.0, large.sum())
        mag[rng.random((400, d)) < 0.02] = 0.0
        v = (mag * rng.choice([-1.0, 1.0], mag.shape)).astype(np.float32).astype(np.float64)  # inputs exact in float32
        exact = _boxplus(v)
        for row in range(0, 400, 80):  # the reference against 80-digit arithmetic
            assert np.allclose(exact[row], _boxplus_mpmath(v[row].tolist()), rtol=1e-13, atol=0)
            reference_checked += 1
        x = torch.from_numpy(v).to(dtype).reshape(400, d, 1)  # [rows, d, B]: 400 checks of one codeword
        _check_sum_product(x, out := torch.empty_like(x), torch.empty_like(x))
        got = out[:, :, 0].double().numpy()
        floor = 1.2e-38 if dtype == torch.float32 else 0.0
        rtol = 1e-5 if dtype == torch.float32 else 1e-12
        assert (np.abs(got - exact) <= rtol * np.abs(exact) + floor).all(), (d, np.max(np.abs(got - exact) / np.maximum(np.abs(exact), 1e-300)))
        assert np.array_equal(np.signbit(got), np.signbit(exact)) and (np.abs(v).max(1) <= 80).all()
    assert reference_checked == 35


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_sum_product_on_the_star_codes_is_map_at_llrs_to_60(n, schedule):
    """On the (2,1) and (3,1) repetition stars every bit's MAP LLR is the sum of the LLRs: float32 sum-product gives it to
    float32 rounding with LLRs to +-60 (a tanh rule clips each check message at 16.6 and errs where that matters)."""
    gen = torch.Generator().manual_seed(n)
    llr = (torch.rand(20_000, n, generator=gen) * 2 - 1) * 60
    llr[:2000] = llr[:2000].sign() * (16 + 44 * torch.rand(2000, n, generator=gen))  # |L| in 16..60 only
    result = BPDecoder(_star(n), "sum-product", schedule, iterations=3, early_stop=False).decode(llr)
    total = llr.double().sum(1, keepdim=True)
    error = (result.llr.double() - total).abs() / llr.double().abs().sum(1, keepdim=True)
    assert error.max() <= 1e-6, error.max()  # measured 1e-7
    clear = total[:, 0].abs() > 1e-3
    assert torch.equal(result.bits[clear, 0], (total[clear, 0] > 0).float())
    assert int((total[:, 0].abs() > 1e-3).sum()) > 19_900


# --------------------------------------------------------------------------- early stop


@pytest.mark.parametrize(("algorithm", "schedule", "ebno_db"), [("sum-product", "flooding", 1.75), ("normalized-min-sum", "layered", 1.75), ("min-sum", "flooding", 2.5)])
def test_the_early_stop_never_changes_a_decoded_word(algorithm, schedule, ebno_db):
    """A codeword stopped after s iterations has the word the decoder without the stop gives after s iterations; the others are untouched."""
    code = LinearCode.from_alist(WIMAX)
    _, llr = _awgn_llr(code, 256, ebno_db, seed=11)
    early = BPDecoder(code, algorithm, schedule, 12, chunk_size=128).decode(llr)
    stopped = early.iterations < 12
    assert 0.5 < stopped.float().mean() < 1  # most stop early, some never do
    assert early.satisfied[stopped].all()
    assert not torch.remainder(early.word[stopped] @ code.parity_check.float().T, 2).any()  # the recorded word is a codeword
    for s in early.iterations.unique().tolist():
        rows = early.iterations == s
        if s == 0:
            truncated = (llr[rows] > 0).float()  # no iteration: the channel's hard decisions
        else:
            truncated = BPDecoder(code, algorithm, schedule, s, early_stop=False).decode(llr[rows]).word
        assert torch.equal(early.word[rows], truncated), s


def test_running_on_past_a_satisfied_syndrome_rarely_moves_the_word():
    """What the early stop saves: at 1.75 dB, 1 word in 560 that met its checks left them again by iteration 30 (flooding sum-product, WiMAX)."""
    code = LinearCode.from_alist(WIMAX)
    bits, llr = _awgn_llr(code, 600, 1.75, seed=11)
    early = BPDecoder(code, "sum-product", "flooding", 30).decode(llr)
    full = BPDecoder(code, "sum-product", "flooding", 30, early_stop=False).decode(llr)
    stopped = early.iterations < 30
    moved = stopped & (early.word != full.word).any(1)
    assert 540 <= stopped.sum() <= 580 and 1 <= moved.sum() <= 5  # 560 and 1 with torch 2.13 on x86
    assert (early.bits[moved] == bits[moved]).all() and not full.satisfied[moved].any()  # it had found the right word


def test_a_codeword_result_does_not_depend_on_its_batch():
    code = LinearCode.from_alist(WIMAX)
    _, llr = _awgn_llr(code, 300, 1.75, seed=12)
    decoder = BPDecoder(code, "sum-product", "flooding", 20, chunk_size=128)
    whole = decoder.decode(llr)
    perm = torch.randperm(300, generator=torch.Generator().manual_seed(0))
    shuffled = decoder.decode(llr[perm])
    assert torch.equal(shuffled.word, whole.word[perm]) and torch.equal(shuffled.iterations, whole.iterations[perm])
    alone = [decoder.decode(llr[i : i + 1]) for i in range(0, 300, 37)]
    assert all(torch.equal(a.word[0], whole.word[i]) for a, i in zip(alone, range(0, 300, 37)))
    # without the stop, batches of 128 (three of them, the last partial) against one batch of 300
    small, large = (BPDecoder(code, "normalized-min-sum", "layered", 8, early_stop=False, chunk_size=c).decode(llr) for c in (128, 300))
    assert torch.equal(small.word, large.word) and (small.iterations == 8).all()


def test_iterations_count_from_zero_and_the_channel_word_stops_at_once():
    code = LinearCode.from_alist(CCSDS)
    bits, _ = _awgn_llr(code, 8, 0.0, seed=3)
    llr = (2 * code.encode(bits) - 1) * 6.0  # noiseless, commae sign: positive means 1
    result = BPDecoder(code).decode(llr)
    assert torch.equal(result.bits, bits) and (result.iterations == 0).all() and result.satisfied.all()
    llr[:, 5] = -llr[:, 5]  # one wrong bit: one or two iterations
    result = BPDecoder(code).decode(llr)
    assert torch.equal(result.bits, bits) and (result.iterations >= 1).all() and (result.iterations <= 3).all()


# --------------------------------------------------------------------------- conventions and robustness


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_sign_convention_known_bits_and_erasures(algorithm, schedule, device):
    code = hamming74()
    decoder = BPDecoder(code, algorithm, schedule, 10)
    ones = torch.full((1, 7), 3.0, device=device)  # LLR > 0 means 1: the all-ones codeword
    assert torch.equal(decoder(ones), torch.ones(1, 4, device=device))
    llr = torch.tensor([[-KNOWN_LLR, 4.0, -4.0, 0.0, 0.0, -4.0, 0.0]], device=device)  # a known 0, three erasures
    result = decoder.decode(llr)
    word = torch.tensor([[0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0]], device=device)  # the codeword agreeing with the known bits
    assert torch.equal(result.word, word) and torch.isfinite(result.llr).all()
    assert result.llr.device.type == device.type and result.bits.dtype == torch.float32


@pytest.mark.parametrize("algorithm", ["min-sum", "sum-product"])
def test_many_iterations_without_a_stop_stay_finite(algorithm):
    code = LinearCode.from_alist(WIMAX)
    _, llr = _awgn_llr(code, 32, 4.0, seed=4)
    result = BPDecoder(code, algorithm, "layered", 150, early_stop=False).decode(llr)  # min-sum magnitudes grow every iteration
    assert torch.isfinite(result.llr).all() and result.satisfied.all()


def test_cpu_and_cuda_decide_the_same():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    code = LinearCode.from_alist(WIMAX)
    _, llr = _awgn_llr(code, 2000, 2.0, seed=13)
    for algorithm, schedule in [("sum-product", "flooding"), ("normalized-min-sum", "layered"), ("min-sum", "flooding")]:
        decoder = BPDecoder(code, algorithm, schedule, 20)
        cpu, gpu = decoder.decode(llr), decoder.decode(llr.cuda())
        converged = cpu.satisfied & gpu.satisfied.cpu()
        assert converged.float().mean() > 0.9
        assert torch.equal(cpu.word[converged], gpu.word.cpu()[converged])
        assert (cpu.bits != gpu.bits.cpu()).float().mean() < 1e-3


def test_bad_arguments_are_refused_by_name():
    code = hamming74()
    with pytest.raises(ValueError, match="algorithm must be one of sum-product, min-sum"):
        BPDecoder(code, "spa")
    with pytest.raises(ValueError, match="schedule must be one of flooding, layered"):
        BPDecoder(code, schedule="serial")
    with pytest.raises(ValueError, match="iterations must be an integer >= 1"):
        BPDecoder(code, iterations=0)
    with pytest.raises(ValueError, match="scale applies to algorithm 'normalized-min-sum' only"):
        BPDecoder(code, "min-sum", scale=0.8)
    with pytest.raises(ValueError, match="offset applies to algorithm 'offset-min-sum' only"):
        BPDecoder(code, "sum-product", offset=0.5)
    with pytest.raises(ValueError, match=r"scale must lie in \(0, 1\]"):
        BPDecoder(code, "normalized-min-sum", scale=1.5)
    with pytest.raises(ValueError, match="offset must be >= 0"):
        BPDecoder(code, "offset-min-sum", offset=-1.0)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        BPDecoder(code, chunk_size=0)
    with pytest.raises(ValueError, match="has no parity check"):
        BPDecoder(LinearCode([[0, 0, 0]]))
    with pytest.raises(ValueError, match="code must be a BlockCode"):
        BPDecoder(object())
    decoder = BPDecoder(code)
    with pytest.raises(ValueError, match=r"llr must be a \[B, 7\] tensor"):
        decoder(torch.zeros(2, 6))
    with pytest.raises(ValueError, match="llr must be float32 or float64"):
        decoder(torch.zeros(2, 7, dtype=torch.float16))
    assert decoder(torch.zeros(0, 7)).shape == (0, 4)
