"""The uncapped Gaussian noise of commae.channels.noise (issue 25): exact tails, exact tail mass, the channels and the fast path drawing it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import erfc

from commae import AWGN, Hamming74, Modem, PhaseNoise, Rayleigh, UncodedBPSK, qam
from commae.channels import noise
from commae.channels.noise import NoiseBuffer, gaussian, normal_tail
from commae.simulation import fast_counter
from commae.system import errors


def q(x: float) -> float:
    return 0.5 * float(erfc(x / math.sqrt(2.0)))


def poisson_pvalue(count: int, mean: float) -> float:
    """Two-sided p-value of a Poisson count."""
    return float(min(1.0, 2.0 * min(stats.poisson.cdf(count, mean), stats.poisson.sf(count - 1, mean))))


def conditional_tail_cdf(x: np.ndarray, t: float) -> np.ndarray:
    """P(X <= x | X > t) for a standard normal X."""
    return 1.0 - 0.5 * erfc(x / math.sqrt(2.0)) / q(t)


@pytest.mark.parametrize("threshold", [4.0, 5.0, 6.5])
def test_the_tail_sampler_draws_the_exact_conditional_normal_tail(threshold):
    # KS against the exact conditional CDF, and Poisson counts beyond 5.5, 6 and 6.5 sigma: float32 randn has no draw beyond 5.77
    draws = normal_tail(1 << 20, threshold, torch.Generator().manual_seed(int(threshold * 10))).numpy()
    assert draws.dtype == np.float64 and draws.min() > threshold
    assert stats.kstest(draws, lambda x: conditional_tail_cdf(x, threshold)).pvalue > 1e-3
    for level in (5.5, 6.0, 6.5, 7.0):
        if level > threshold:
            mean = draws.size * q(level) / q(threshold)
            assert poisson_pvalue(int((draws > level).sum()), mean) > 1e-3, (threshold, level, int((draws > level).sum()), mean)
    assert np.unique(draws).size == draws.size  # not discretised: float64, no repeated values


def test_the_tail_sampler_is_not_discretised_between_5_and_7_sigma():
    # the draws in 5..7 sigma of the exact sampler fill the interval: every one of 200 bins is populated as the tail law says
    draws = normal_tail(1 << 20, 5.0, torch.Generator().manual_seed(7)).numpy()
    draws = draws[draws < 7.0]
    edges = np.linspace(5.0, 6.0, 201)  # bins of 0.005 sigma where there is mass enough to see gaps
    observed, _ = np.histogram(draws, edges)
    expected = draws.size * np.diff(conditional_tail_cdf(edges, 5.0)) / conditional_tail_cdf(np.array([7.0]), 5.0)[0]
    assert observed.min() > 0
    assert stats.chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-3


@pytest.mark.parametrize("budget", ["as drawn", "one at a time"])
def test_the_tail_positions_are_an_exact_bernoulli_process(monkeypatch, budget):
    # with the threshold lowered to 2 sigma the tail machinery runs at 4.6 % of the draws: the mass beyond 2 is
    # P(|Z| > 2) exactly, the law beyond it is the conditional normal tail, the body within it is randn's.
    # "one at a time": the uniforms drawn up front are one gap and one pair, so the rare branches (more gaps,
    # more tail pairs, signs drawn apart) run on every call, and the law is still exact
    t = 2.0
    monkeypatch.setattr(noise, "TAIL_THRESHOLD", t)
    monkeypatch.setattr(noise, "TAIL_PROBABILITY", math.erfc(t / math.sqrt(2.0)))
    if budget == "one at a time":
        monkeypatch.setattr(noise, "_budget", lambda mean, accept: (1, 1))
    z = gaussian((1 << 20,), torch.Generator().manual_seed(3)).numpy().astype(np.float64)
    a = np.abs(z)
    p = 2 * q(t)
    beyond = int((a > t).sum())
    assert abs(beyond - z.size * p) < 5 * math.sqrt(z.size * p * (1 - p)), (beyond, z.size * p)
    assert stats.kstest(a[a > t], lambda x: conditional_tail_cdf(x, t)).pvalue > 1e-3
    body = a[a <= t]
    assert stats.kstest(body, lambda x: (1 - 2 * (0.5 * erfc(x / math.sqrt(2.0)))) / (1 - p)).pvalue > 1e-3
    assert abs(float((z > 0).mean()) - 0.5) < 5 * 0.5 / math.sqrt(z.size)  # fair signs
    # positions: the gaps between tail draws are geometric(p) (chi-square over the first 40 gap lengths and the rest)
    gaps = np.diff(np.flatnonzero(a > t)) - 1
    counts = np.bincount(np.minimum(gaps, 40), minlength=41)
    probs = np.array([(1 - p) ** g * p for g in range(40)] + [(1 - p) ** 40])
    assert stats.chisquare(counts, probs * counts.sum()).pvalue > 1e-3


def test_gaussian_is_randn_within_the_threshold_and_a_function_of_the_seed():
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    z = gaussian((1 << 16, 2), gen())
    plain = torch.randn((1 << 16, 2), generator=gen())
    assert z.shape == (1 << 16, 2) and z.dtype == torch.float32
    assert torch.equal(z, gaussian((1 << 16, 2), gen()))  # same seed, same draws
    out = torch.empty(1 << 16, 2)
    assert gaussian((1 << 16, 2), gen(), out=out) is out and torch.equal(out, z)
    strided = torch.empty(2, 1 << 16).t()  # a non-contiguous out gets the same draws
    assert torch.equal(gaussian((1 << 16, 2), gen(), out=strided), z)
    changed = (z != plain).sum().item()
    assert 0 < changed < 40, changed  # ~2 x 8.3 of the 131072 draws expected: the tail positions and the redrawn body draws
    t = noise.TAIL_THRESHOLD
    changed_at = z != plain
    assert bool((changed_at <= ((plain.abs() > t) | (z.abs() > t))).all())  # only randn's draws beyond t and the tail positions change
    assert bool(changed_at[plain.abs() > t].all())  # and every randn draw beyond t is replaced
    assert gaussian((1 << 10,), gen(), dtype=torch.float64).dtype == torch.float64
    assert gaussian((0, 3), gen()).shape == (0, 3)


def reference_draws(shape: tuple[int, ...], seed: int, t: float) -> np.ndarray:
    """The module notes' steps 1-3, written again in vectorised numpy on the same generator: the draws gaussian must give."""
    p = 2 * q(t)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(shape, generator=gen).numpy().ravel().copy()
    body_beyond = np.flatnonzero(np.abs(z) > t)  # step 3: replaced by the next randn draws within t, in order
    fills, need = [], body_beyond.size
    while need:
        fresh = torch.randn(16 * (need // 16 + 2), generator=gen).numpy()
        fills.append(fresh[np.abs(fresh) <= t][:need])
        need -= fills[-1].size
    mean = z.size * p  # steps 1 and 2 from one draw of uniforms: gaps, then Marsaglia pairs, then signs
    accept = t * q(t) / (math.exp(-t * t / 2) / math.sqrt(2 * math.pi))
    gaps = int(mean + 6 * math.sqrt(mean) + 8)
    pairs = int(gaps / accept * 1.1) + 8
    u = torch.rand(gaps + 3 * pairs, dtype=torch.float64, generator=gen).numpy()
    where = np.cumsum(np.floor(np.log1p(-u[:gaps]) / math.log1p(-p)).astype(np.int64) + 1) - 1
    assert where[-1] >= z.size  # the up-front gaps pass the end (all but ~1e-9 of the calls)
    where = where[where < z.size]
    x = np.sqrt(t * t - 2 * np.log1p(-u[gaps : gaps + pairs]))
    tails = x[u[gaps + pairs : gaps + 2 * pairs] * x <= t]
    assert tails.size >= where.size
    signs = u[gaps + 2 * pairs : gaps + 2 * pairs + where.size]
    if fills:
        z[body_beyond] = np.concatenate(fills)
    z[where] = np.where(signs < 0.5, -tails[: where.size], tails[: where.size])
    return z.reshape(shape)


@pytest.mark.parametrize(("shape", "t"), [((1 << 17, 2), 4.0), ((131072, 7, 2), 4.0), ((3000,), 4.0), ((70001,), 4.0), ((1 << 16,), 2.0)])
def test_gaussian_is_the_notes_method_draw_for_draw(monkeypatch, shape, t):
    # the fast implementation (scalar Python on the few tail places) draws exactly what the method of the notes,
    # written again here in numpy, draws from the same generator: same places, same values, same stream after.
    # A change of these draws is a change of every seeded result: it must be deliberate and in the changelog
    monkeypatch.setattr(noise, "TAIL_THRESHOLD", t)
    monkeypatch.setattr(noise, "TAIL_PROBABILITY", 2 * q(t))
    for seed in range(3):
        z = gaussian(shape, torch.Generator().manual_seed(seed)).numpy()
        assert np.array_equal(z, reference_draws(shape, seed, t)), (shape, t, seed)


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((1 << 17, 1, 2), torch.float32), ((131072, 7, 2), torch.float32), ((3000,), torch.float32), ((70001,), torch.float32), ((1 << 13,), torch.float64), ((5000,), torch.bfloat16)],
    ids=["qam-batch", "hamming-batch", "short", "remainder", "float64", "bfloat16"],
)
def test_a_noise_buffer_draws_what_gaussian_draws_call_after_call(shape, dtype):
    # the views and small tensors a NoiseBuffer keeps from call to call change nothing: each draw is gaussian's draw
    # from the same generator state, into the same tensor, and leaves the generator where gaussian leaves it
    buffer = NoiseBuffer(shape, dtype)
    for seed in range(3):
        gen, ref = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        z = buffer.draw(gen)
        assert z is buffer.tensor and z.shape == shape and z.dtype == dtype
        assert torch.equal(z, gaussian(shape, ref, dtype=dtype)) and torch.equal(gen.get_state(), ref.get_state())


def test_gaussian_draws_the_same_with_several_intra_op_threads():
    # with several torch threads the correction's two reductions run in numpy on the calling thread (split over
    # OpenMP threads they stalled: part 6 of benchmarks/noise_tail.py), with one in torch: the same draws either way
    before = torch.get_num_threads()
    shapes = [(1 << 17, 1, 2), (70001,), (131072, 7, 2)]
    try:
        torch.set_num_threads(2)
        several = [gaussian(shape, torch.Generator().manual_seed(i)) for i, shape in enumerate(shapes)]
        torch.set_num_threads(1)
        one = [gaussian(shape, torch.Generator().manual_seed(i)) for i, shape in enumerate(shapes)]
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(a, b) for a, b in zip(several, one))
    plain = torch.randn(shapes[0], generator=torch.Generator().manual_seed(0))
    assert 0 < int((several[0] != plain).sum()) < 80  # the correction ran


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
def test_gaussian_in_other_floating_dtypes(monkeypatch, dtype):
    # the correction runs on every floating dtype (bfloat16 raised a TypeError in numpy before); with t = 2 the mass
    # beyond t is exact and the tail values are the exact tail, rounded to the dtype
    t = 2.0
    monkeypatch.setattr(noise, "TAIL_THRESHOLD", t)
    monkeypatch.setattr(noise, "TAIL_PROBABILITY", 2 * q(t))
    z = gaussian((1 << 16,), torch.Generator().manual_seed(8), dtype=dtype)
    assert z.dtype == dtype and z.shape == (1 << 16,)
    a = z.abs().double().numpy()
    p = 2 * q(t)
    assert abs(int((a > t).sum()) - a.size * p) < 5 * math.sqrt(a.size * p), int((a > t).sum())
    assert a.max() > 4.0


def test_the_channels_draw_the_uncapped_noise():
    # AWGN (real and complex), Rayleigh and phase noise draw through gaussian, not through torch.randn alone
    shape = (1 << 15, 4)
    x = torch.zeros(shape)
    y = AWGN(real=True)(x, no=2.0, generator=1)  # N0/2 = 1: the noise is the draw itself
    assert torch.equal(y, gaussian(shape, torch.Generator().manual_seed(1)))
    assert not torch.equal(y, torch.randn(shape, generator=torch.Generator().manual_seed(1)))
    xc = torch.zeros(shape, dtype=torch.complex64)
    yc = AWGN()(xc, no=1.0, generator=2)
    parts = gaussian((*shape, 2), torch.Generator().manual_seed(2))
    assert torch.equal(yc, torch.view_as_complex(parts) * math.sqrt(0.5))
    gen = torch.Generator().manual_seed(3)
    y, h = Rayleigh("fast", csi=True)(torch.ones(shape, dtype=torch.complex64), no=1.0, generator=gen)
    gen.manual_seed(3)
    h_expected = torch.view_as_complex(gaussian((*shape, 2), gen)) * math.sqrt(0.5)
    assert torch.equal(h, h_expected)
    theta = torch.angle(PhaseNoise(0.1)(torch.ones(shape, dtype=torch.complex64), generator=4))
    assert torch.allclose(theta, gaussian(shape, torch.Generator().manual_seed(4)) * 0.1, atol=1e-6)


@pytest.mark.parametrize(
    ("make", "no"),
    [
        (lambda: Modem(qam(16)), 2 * (1 / math.sqrt(10) / 4.3) ** 2),
        (lambda: UncodedBPSK(4), 2 / 4.3**2),
        (lambda: Hamming74("hard"), 2 / 4.3**2),
        (lambda: Hamming74("soft", AWGN(real=True)), 2 / 4.3**2),
    ],
    ids=["qam16", "uncoded-4", "hamming-hard", "hamming-soft-real"],
)
def test_the_fast_path_sees_the_generic_paths_noise_tail_draws_included(make, no):
    # half the minimum distance is 4.3 noise standard deviations: every channel error needs a draw beyond the
    # threshold, i.e. a tail draw; the fast path's counts equal the generic path's on the same draws
    system = make()
    count = fast_counter(system)
    gen = torch.Generator().manual_seed(9)
    bits = torch.randint(0, 2, (1 << 18, system.k), generator=gen, dtype=torch.uint8)
    state = gen.get_state()
    fast = count(bits, no, gen).tolist()
    gen.set_state(state)
    e = errors(system, bits.to(torch.float32), no, gen)
    assert fast == [int(e.bits.sum()), int(e.symbols.sum()), int(e.blocks.sum())]
    if system.n == system.k:  # uncoded: ~7 errors expected, all made by tail draws
        assert fast[0] > 0


@pytest.mark.long
def test_the_old_cap_is_gone_over_2_to_the_30_draws():
    # issue 25: over 2**30 draws the counts beyond 5.5, 6 and 6.5 sigma agree with the normal tail as Poisson counts,
    # and draws beyond 5.77 sigma (float32 randn's cap: none in 2**28 draws) occur as often as they should (8.5 expected)
    gen = torch.Generator().manual_seed(25)
    out = torch.empty(1 << 24)
    far: list[np.ndarray] = []
    for _ in range(64):
        z = gaussian(out.shape, gen, out=out)
        far.append(z[z.abs() > 5.0].numpy().astype(np.float64))
    draws = 1 << 30
    far_abs = np.abs(np.concatenate(far))
    for level in (5.0, 5.5, 5.77, 6.0, 6.5):
        mean = draws * 2 * q(level)
        count = int((far_abs > level).sum())
        assert poisson_pvalue(count, mean) > 1e-3, (level, count, mean)
    assert far_abs.max() > math.sqrt(-2 * math.log(2.0**-24))
    # the draws beyond 5 sigma follow the conditional tail (float32 randn's 62 radii beyond 5 would not)
    assert stats.kstest(far_abs, lambda x: conditional_tail_cdf(x, 5.0)).pvalue > 1e-3
