import math

import numpy as np
import pytest
import torch
from scipy.stats import beta, binom

from commae import AWGN, Autoencoder, Modem, Rayleigh, psk, qam
from commae.baselines import make_baseline
from commae.simulation import RESULT_COLUMNS, clopper_pearson, read_results, simulate, theory_rates, write_results

BASELINES = ["bpsk", "qpsk", "qam16", "qam64", "psk8", "psk16", "hamming74-hard", "uncoded-bpsk-1", "uncoded-bpsk-4"]
CHANNELS = {
    "awgn": (lambda: AWGN(), (0.0, 4.0, 8.0)),
    "rayleigh-fast": (lambda: Rayleigh("fast", csi=True), (5.0, 12.0, 20.0)),
    "rayleigh-block": (lambda: Rayleigh("block", csi=True), (5.0, 12.0, 20.0)),
}


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_every_baseline_lies_inside_its_999_interval_around_theory(channel):
    make_channel, points = CHANNELS[channel]
    systems = {name: make_baseline(name, make_channel()) for name in BASELINES}
    rows = simulate(systems, points, target_errors=400, max_bits=20_000_000, confidence=0.999, theory=True, seed=5, progress=False)
    assert len(rows) == len(systems) * len(points)
    checked = 0
    for r in rows:
        system = systems[r["system"]]
        units = ["ber", "ser", "bler"]
        if channel == "rayleigh-block" and system.n > 1:
            # one h for a whole message: its bits' (and symbols') errors are not independent
            # trials, so only the block count is binomial
            units = ["bler"]
        for unit in units:
            p = r[f"{unit}_theory"]
            assert not math.isnan(p), (r["system"], unit)
            assert r[f"{unit}_low"] <= p <= r[f"{unit}_high"], f"{r['system']} {unit} at {r['ebno_db']} dB: theory {p:.4e}, simulated {r[unit]:.4e} [{r[f'{unit}_low']:.4e}, {r[f'{unit}_high']:.4e}]"
            checked += 1
        assert r["bit_errors"] >= 400
    assert checked >= 3 * len(points) * 4


def test_clopper_pearson_is_scipys_beta_quantiles():
    for errors, trials, conf in [(0, 10, 0.95), (3, 10, 0.95), (10, 10, 0.95), (57, 10_000, 0.999), (1, 1, 0.9), (123456, 10**9, 0.95)]:
        low, high = clopper_pearson(errors, trials, conf)
        a = 1 - conf
        assert low == (0.0 if errors == 0 else beta.ppf(a / 2, errors, trials - errors + 1))
        assert high == (1.0 if errors == trials else beta.ppf(1 - a / 2, errors + 1, trials - errors))
    lows, highs = clopper_pearson(np.array([0, 5]), np.array([100, 100]))
    assert lows.shape == (2,) and lows[0] == 0.0 and highs[1] == beta.ppf(0.975, 6, 95)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.999])
def test_clopper_pearson_covers_at_least_the_nominal_rate(confidence):
    # exact coverage: sum of P(e) over the e whose interval contains p
    for trials in (10, 37, 200, 1000):
        errors = np.arange(trials + 1)
        low, high = clopper_pearson(errors, np.full_like(errors, trials), confidence)
        for p in np.linspace(0.001, 0.999, 97):
            covered = (low <= p) & (p <= high)
            assert binom.pmf(errors, trials, p)[covered].sum() >= confidence - 1e-9, (trials, p)
    # and a seeded simulation of the same thing
    rng = np.random.default_rng(0)
    e = rng.binomial(500, 0.03, size=4000)
    low, high = clopper_pearson(e, np.full_like(e, 500), confidence)
    assert ((low <= 0.03) & (0.03 <= high)).mean() >= confidence


def test_target_error_stopping_stops_at_the_first_batch_that_reaches_it():
    system = Modem(qam(4))
    (r,) = simulate([system], [2.0], target_errors=50, batch_size=500, seed=3, progress=False)
    assert r["bit_errors"] >= 50 and r["bits"] % 1000 == 0
    # the same stream, one batch shorter, has not reached the target
    (shorter,) = simulate([system], [2.0], target_errors=50, batch_size=500, max_bits=r["bits"] - 1000, seed=3, progress=False)
    assert shorter["bit_errors"] < 50 and shorter["bits"] == r["bits"] - 1000


def test_budget_and_curve_end_after_an_error_free_point():
    rows = simulate([Modem(qam(4))], [0.0, 20.0, 21.0], max_bits=100_000, batch_size=10_000, seed=1, progress=False)
    assert [r["ebno_db"] for r in rows] == [0.0, 20.0]  # no point after the error-free one
    free = rows[1]
    assert free["bits"] == 100_000 and free["bit_errors"] == 0 and free["ber"] == 0.0
    assert free["ber_high"] == pytest.approx(1 - 0.025 ** (1 / 100_000))


def test_systems_sharing_k_and_n_see_the_same_bits_and_noise():
    class Spy(Modem):
        def __init__(self, constellation, name):
            super().__init__(constellation, Rayleigh("fast", csi=True), name=name)
            self.seen = []

        def receive(self, y, no=None, h=None):
            self.seen.append((self._sent, y - h * self._x, h))
            return super().receive(y, no, h)

        def transmit(self, bits):
            self._sent = bits.clone()
            self._x = super().transmit(bits)
            return self._x

    a, b = Spy(qam(16), "a"), Spy(psk(16), "b")
    c = Spy(qam(4), "c")  # another shape: its own draws
    simulate([a, b, c], [3.0, 6.0], target_errors=1000, batch_size=4096, seed=9, progress=False, threads=1)  # one batch at a time: the spies record in batch order
    assert len(a.seen) == len(b.seen) >= 2
    for (bits_a, noise_a, h_a), (bits_b, noise_b, h_b) in zip(a.seen, b.seen):
        assert torch.equal(bits_a, bits_b) and torch.equal(h_a, h_b)
        assert torch.allclose(noise_a, noise_b, atol=1e-6)
    assert c.seen[0][0].shape == (4096, 2)


def test_same_seed_same_rows_new_seed_new_rows(tmp_path):
    systems = lambda: [make_baseline("qam16"), make_baseline("hamming74-soft")]  # noqa: E731
    runs = [simulate(systems(), [2.0, 5.0], target_errors=200, seed=s, progress=False) for s in (4, 4, 5)]
    paths = [write_results(rows, tmp_path / f"r{i}.csv", {"seed": i})[0] for i, rows in enumerate(runs)]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    back = read_results(paths[0])
    assert list(back[0]) == list(RESULT_COLUMNS) and back[0]["bits"] == runs[0][0]["bits"]
    assert math.isnan(back[0]["ber_theory"])


@pytest.mark.parametrize("fast", [True, False])
def test_rows_do_not_depend_on_how_many_batches_run_at_once(fast):
    # batches run ahead on other threads are taken in order and cut where one batch at a time stops:
    # target errors reached mid-point by some systems and not others, two shapes, a budget that is not
    # a whole number of batches, an error-free point that ends one curve, and the per-rank counts
    torch.manual_seed(0)
    learned = Autoencoder(2, 1, hidden=16).eval()  # untrained: a generic-path system of its own shape
    systems = lambda: {
        "qam16": make_baseline("qam16"),
        "psk16": make_baseline("psk16"),
        "ham": make_baseline("hamming74-hard"),
        "soft": make_baseline("hamming74-soft"),
        "bpsk4": make_baseline("uncoded-bpsk-4"),
        "ae": learned,
        "ray": make_baseline("qpsk", Rayleigh("fast", csi=True)),
    }  # noqa: E731
    runs = []
    before = torch.get_num_threads()
    for threads in (1, 2, 3, 5):
        per_rank: list = []
        rows = simulate(systems(), [0.0, 6.0, 12.0, 14.0], target_errors=700, max_bits=150_001, batch_size=3000, seed=21, progress=False, fast=fast, threads=threads, rank_counts=per_rank)
        runs.append((rows, per_rank))
    first_rows, first_ranks = runs[0]
    assert {r["system"] for r in first_rows if r["ebno_db"] == 14.0} < {"qam16", "psk16", "ham", "soft", "bpsk4", "ae", "ray"}  # some curve ended
    assert any(r["bit_errors"] >= 700 and r["bits"] < 150_001 for r in first_rows) and any(r["bits"] >= 150_001 for r in first_rows)
    for rows, per_rank in runs[1:]:
        assert repr(rows) == repr(first_rows)  # every float by repr: NaN theory columns compare equal
        assert per_rank == first_ranks
    assert torch.get_num_threads() == before  # the call set one intra-op thread while its batches ran, and put the count back


def test_batches_at_once_by_default_only_when_every_system_is_on_the_fast_path():
    from commae.simulation.runner import _workers

    cpu = torch.device("cpu")
    assert _workers(None, cpu, all_fast=True) == torch.get_num_threads()
    assert _workers(None, cpu, all_fast=False) == 1  # a learned receiver: one batch on torch's intra-op threads
    assert _workers(3, cpu, all_fast=False) == 3  # asked for: as asked
    assert _workers(3, torch.device("meta"), all_fast=True) == 1  # an accelerator: one batch at a time


def test_theory_rates_cover_the_baselines():
    assert theory_rates(make_baseline("qam16"), 8.0)["ber"] == pytest.approx(9.2472e-3, rel=1e-3)
    assert theory_rates(make_baseline("hamming74-soft"), 4.0) is None
    assert theory_rates(make_baseline("qpsk", Rayleigh("fast", csi=False)), 4.0) is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(target_errors=0), "target_errors must be a positive integer"),
        (dict(max_bits=0), "max_bits and batch_size must be positive"),
        (dict(confidence=1.0), r"confidence must be in \(0, 1\)"),
        (dict(threads=0), "threads must be a positive integer"),
        (dict(threads=float("inf")), "threads must be a positive integer"),
        (dict(threads=True), "threads must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate([Modem(qam(4))], [3.0], progress=False, **kwargs)
    with pytest.raises(ValueError, match="distinct names"):
        simulate([Modem(qam(4)), Modem(qam(4))], [3.0], progress=False)


def test_the_float32_noise_draw_never_passes_5_77_sigma():
    # torch.randn alone in float32 (Box-Muller on 24-bit uniforms) cannot draw |w| > sqrt(-2 ln 2**-24) = 5.768: why every
    # channel draws through commae.channels.noise.gaussian, which has no cap (tests/test_noise.py; docs/ber-curve.md, "Deep tails")
    cap = math.sqrt(-2 * math.log(2.0**-24))
    gen = torch.Generator().manual_seed(0)
    w = torch.empty(1 << 24)
    largest = 0.0
    for _ in range(16):  # 2**28 draws: a true normal passes 5.5 about 10 times and 5.768 about twice
        largest = max(largest, float(torch.randn(w.shape, generator=gen, out=w).abs().max()))
    assert 5.5 < largest <= cap
