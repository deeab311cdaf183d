"""Channel impairments: Rician fading, phase noise, the ADC, the Rapp PA, Cascade, user channels, APSK, ML detection."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _montecarlo import assert_inside, count_errors
from scipy import integrate, stats
from scipy.special import erfc

from commae import AWGN, Channel, Modem, Rayleigh, qam, simulate, theory
from commae.channels import ADC, Cascade, PhaseNoise, RappPA, Rician, make_generator, seed_from_text, symbol_log_likelihood
from commae.constellations import apsk
from commae.information import mi, mi_over_channel
from commae.models import make_channel
from commae.simulation import channel_name

N = 1 << 18


# --- the package keeps every old import path and number ---------------------------------------


def test_old_import_paths_and_names():
    from commae.channels import AWGN as A  # noqa: F401
    from commae.channels import seed_from_text as s

    assert channel_name(AWGN()) == "awgn" and channel_name(AWGN(real=True)) == "awgn-real"
    assert channel_name(Rayleigh("block", csi=False)) == "rayleigh-block-nocsi"
    assert s("x") == seed_from_text("x")


def test_cascade_of_one_stage_gives_the_same_numbers():
    x = torch.randn(1000, 3, dtype=torch.complex64)
    assert torch.equal(Cascade(AWGN())(x, 0.3, generator=5), AWGN()(x, 0.3, generator=5))
    y1, h1 = Cascade(Rayleigh("block"))(x, 0.3, generator=6)
    y2, h2 = Rayleigh("block")(x, 0.3, generator=6)
    assert torch.equal(y1, y2) and torch.equal(h1, h2)


@pytest.mark.parametrize("fading", ["fast", "block"])
def test_rician_k0_is_rayleigh_draw_for_draw(fading):
    x = torch.randn(500, 4, dtype=torch.complex64)
    y1, h1 = Rician(0.0, fading)(x, 0.2, generator=3)
    y2, h2 = Rayleigh(fading)(x, 0.2, generator=3)
    assert torch.equal(y1, y2) and torch.equal(h1, h2)


@pytest.mark.parametrize("K", [1.0, 3.0, 10.0])
def test_rician_gain_statistics(K):
    x = torch.ones(N, 1, dtype=torch.complex64)
    _, h = Rician(K)(x, 0.0, generator=7)
    h = h.flatten().to(torch.complex128)
    # E|h|^2 = 1 (rel. std of the mean of |h|^2 is < 0.002 here); LOS mean sqrt(K/(K+1)); scatter variance 1/(K+1)
    assert float(h.abs().pow(2).mean()) == pytest.approx(1.0, rel=0.01)
    assert float(h.real.mean()) == pytest.approx(math.sqrt(K / (K + 1)), abs=0.01)
    assert abs(float(h.imag.mean())) < 0.01
    assert float(h.imag.var()) == pytest.approx(0.5 / (K + 1), rel=0.02)
    # |h|^2 (K+1) * 2 is non-central chi-square with 2 dof and non-centrality 2K
    t = 0.5
    expected = stats.ncx2.cdf(2 * (K + 1) * t, 2, 2 * K)
    assert float((h.abs().pow(2) < t).double().mean()) == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize("model", ["iid", "wiener"])
def test_phase_noise_statistics(model):
    sigma, n = 0.2, 4
    x = torch.ones(N // n, n, dtype=torch.complex64)
    y = PhaseNoise(sigma, model)(x, 0.0, generator=8)
    assert torch.allclose(y.abs(), torch.ones_like(y.abs()), atol=1e-6)
    theta = torch.angle(y).double()
    expected = [sigma**2 * (i + 1 if model == "wiener" else 1) for i in range(n)]
    for i in range(n):  # sample variance with 65536 samples: rel. std 0.6 %
        assert float(theta[:, i].var()) == pytest.approx(expected[i], rel=0.04)
    if model == "wiener":  # increments are independent: corr(theta_1, theta_2) = 1/sqrt(2)
        c = np.corrcoef(theta[:, 0].numpy(), theta[:, 1].numpy())[0, 1]
        assert c == pytest.approx(1 / math.sqrt(2), abs=0.02)


def test_adc_levels_clipping_and_no_gradient():
    adc = ADC(bits=3, clip=1.5)
    no = 0.1
    c = 1.5 * math.sqrt((1 + no) / 2)
    x = torch.tensor([[0.0 + 0.01j, 5.0 - 5.0j, -0.3 + 0.2j]], requires_grad=False)
    y = adc(x, no)
    levels = adc.levels(no)
    assert levels.numel() == 8 and float(levels[-1]) == pytest.approx(c * 7 / 8)
    values = torch.cat([y.real.flatten(), y.imag.flatten()]).double()
    assert all(bool(torch.isclose(levels, v, atol=1e-6).any()) for v in values)  # every output is a level
    assert float(y[0, 1].real) == pytest.approx(c * 7 / 8, rel=1e-6) and float(y[0, 1].imag) == pytest.approx(-c * 7 / 8, rel=1e-6)
    # the error of an unclipped input is at most half a step
    u = torch.linspace(-c * 0.99, c * 0.99, 1001)
    q = adc(torch.complex(u, u)[None, :], no)
    assert float((q.real - u).abs().max()) <= c / 8 + 1e-6
    x = torch.randn(4, 1, dtype=torch.complex64, requires_grad=True)
    assert not adc(x, no).requires_grad and adc.differentiable is False


def test_rapp_pa_gain_and_saturation():
    pa = RappPA(smoothness=2.0, saturation=1.5, backoff_db=6.0)
    drive = 1.5 * 10 ** (-6 / 20)
    small = torch.tensor([[1e-3 + 0j]])
    assert float(pa(small).abs()) == pytest.approx(1e-3 * drive, rel=1e-5)  # unit small-signal gain after the drive
    assert float(pa(torch.tensor([[1e4 + 0j]])).abs()) == pytest.approx(1.5, rel=1e-4)  # saturates at A
    r = 1.0 * drive  # Rapp at |u| = A/2^(...) : |y| = |u| / (1 + (|u|/A)^{2p})^{1/2p}
    assert float(pa(torch.tensor([[1.0 + 0j]])).abs()) == pytest.approx(r / (1 + (r / 1.5) ** 4) ** 0.25, rel=1e-6)
    x = torch.polar(torch.ones(8), torch.linspace(0, 6, 8))[None]
    assert torch.allclose(torch.angle(pa(x)), torch.angle(x), atol=1e-6)  # no AM/PM
    x = torch.ones(1, 1, dtype=torch.complex64, requires_grad=True)
    pa(x).abs().sum().backward()
    assert x.grad is not None and bool(torch.isfinite(torch.view_as_real(x.grad)).all())


def test_cascade_names_flags_and_determinism():
    ch = make_channel("rician", k_factor=3.0, fading="block", phase_noise=0.1, phase_noise_model="wiener", adc_bits=4, adc_clip=2.0, pa="rapp", pa_backoff=3.0)
    assert ch.name == "rapp-p3-A1-ibo3dB+rician-K3-block-csi+phase-noise-wiener-0.1rad+adc-4bit-clip2"
    assert ch.csi and not ch.differentiable and not ch.real
    x = torch.randn(64, 4, dtype=torch.complex64)
    (y1, h1), (y2, h2) = ch(x, 0.1, generator=1), ch(x, 0.1, generator=1)
    assert torch.equal(y1, y2) and torch.equal(h1, h2)
    assert not torch.equal(ch(x, 0.1, generator=2)[0], y1)
    rows = simulate({"q": Modem(qam(16), make_channel("awgn", adc_bits=3))}, [6.0], target_errors=10, max_bits=4000, progress=False)
    assert rows[0]["channel"] == "awgn+adc-3bit-clip1.5"


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Rician(-1.0), "k_factor"),
        (lambda: Rician(3.0, fading="slow"), "fading"),
        (lambda: PhaseNoise(-0.1), "sigma"),
        (lambda: PhaseNoise(0.1, model="brownian"), "model"),
        (lambda: ADC(0), "bits"),
        (lambda: ADC(3, clip=0.0), "clip"),
        (lambda: RappPA(smoothness=0.0), "smoothness"),
        (lambda: RappPA(backoff_db=float("nan")), "backoff_db"),
        (lambda: Cascade(), "at least one"),
        (lambda: Cascade(AWGN(real=True), PhaseNoise(0.1)), "real or all complex"),
        (lambda: Cascade(Rayleigh(), Rician(1.0)), "at most one"),
        (lambda: make_channel("awgn", k_factor=3.0), "k_factor"),
        (lambda: make_channel("awgn", real=True, phase_noise=0.1), "complex"),
        (lambda: make_channel("rician", real=True, k_factor=1.0), "complex"),
        (lambda: PhaseNoise(0.1)(torch.ones(2, 1), 0.0), "complex"),
    ],
)
def test_bad_stage_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- a channel of the user's own -------------------------------------------------------------


class Saturating(Channel):
    """A user's black box: AWGN then a hard limiter on the amplitude, without a gradient."""

    differentiable = False

    def forward(self, x, no, generator=None):
        y = AWGN()(x, no, make_generator(generator, x.device))
        return (y * (1.2 / y.abs().clamp_min(1.2))).detach()

    @property
    def name(self):
        return "saturating-1.2"


def test_user_channel_trains_model_free_simulates_and_gives_mi():
    from commae import Autoencoder, MessageBatches, estimate_mi, fit, make_loss, make_optimizer, message_metrics
    from commae.training import ModelFree

    torch.manual_seed(1)
    model = Autoencoder(2, 1, Saturating(), hidden=32)
    loss = make_loss("ce", 2)
    opt = make_optimizer("adam", model.parameters(), lr=1e-2)
    train = MessageBatches(2, 1, 256, 60, 7.0, seed=1)
    val = MessageBatches(2, 1, 4096, 1, 7.0, seed=2, fixed=True)
    with pytest.raises(ValueError, match="saturating-1.2 has no gradient.*model-free"):
        fit(model, loss, train, val, opt, 1, progress=False, log=None)
    history = fit(model, loss, train, val, opt, 3, metrics=message_metrics(model, 2), progress=False, log=None, step=ModelFree(0.02))
    qpsk_ser = float(theory.ser_qam(7.0, 4))
    assert history.last["val_ser"] < 10 * qpsk_ser  # QPSK over AWGN: 1.5e-3 at 7 dB; a random system: 0.75
    rows = simulate({"learned": model, "qpsk": Modem(qam(4), Saturating())}, [7.0], target_errors=50, max_bits=1 << 17, progress=False)
    assert {r["channel"] for r in rows} == {"saturating-1.2"}
    info = estimate_mi(model, 7.0, num_messages=20_000)
    assert 1.8 < info["mi_bits_per_message"] <= 2.0


# --- APSK ------------------------------------------------------------------------------------


def _ring_neighbour_bit_flips(c):
    radii = c.points.abs()
    flips = {}
    for ring in sorted({round(float(r), 4) for r in radii}):
        idx = [i for i in range(c.num_points) if abs(float(radii[i]) - ring) < 1e-4]
        idx.sort(key=lambda i: float(torch.angle(c.points[i])) % (2 * math.pi))
        labels = [int(c.labels[i]) for i in idx]
        flips[len(idx)] = [bin(labels[j] ^ labels[(j + 1) % len(labels)]).count("1") for j in range(len(labels))]
    return flips


def test_apsk16_dvbs2_geometry_and_labels():
    c = apsk(16, "2/3")
    assert float(c.points.abs().pow(2).mean()) == pytest.approx(1.0, abs=1e-6)
    r = c.points.abs()
    assert float(r.max() / r.min()) == pytest.approx(3.15, rel=1e-5)
    flips = _ring_neighbour_bit_flips(c)
    assert flips == {4: [1] * 4, 12: [1] * 12}  # every ring neighbour differs in one bit
    # DVB-S2: the inner ring carries labels 11xx; label 0 sits on the outer ring at pi/4
    inner = {int(c.labels[i]) for i in range(16) if float(r[i]) < float(r.mean())}
    assert inner == {12, 13, 14, 15}
    assert float(torch.angle(c.points[int(c.index_of_label[0])])) == pytest.approx(math.pi / 4, abs=1e-6)


def test_apsk32_dvbs2_geometry():
    c = apsk(32, "9/10")
    r = c.points.abs()
    radii = sorted({round(float(v), 4) for v in r})
    assert len(radii) == 3 and float(c.points.abs().pow(2).mean()) == pytest.approx(1.0, abs=1e-6)
    assert radii[1] / radii[0] == pytest.approx(2.53, rel=1e-3) and radii[2] / radii[0] == pytest.approx(4.30, rel=1e-3)
    flips = _ring_neighbour_bit_flips(c)
    assert flips[4] == [1] * 4 and flips[12] == [1] * 12 and sorted(flips[16]) == [1] * 12 + [2] * 4
    with pytest.raises(ValueError, match="code_rate"):
        apsk(32, "2/3")


def test_apsk_baselines_by_name():
    from commae.baselines import is_baseline_name, make_baseline

    for name, k in (("apsk16", 4), ("apsk32", 5)):
        system = make_baseline(name)
        assert system.k == k and system.name == name and is_baseline_name(name)
        bits = torch.randint(0, 2, (1000, k), generator=torch.Generator().manual_seed(0)).float()
        assert torch.equal(system.receive(system.transmit(bits), 1e-4), bits)


# --- ML detection and information on impaired channels --------------------------------------


def test_likelihood_on_awgn_is_the_euclidean_metric():
    c = qam(16)
    y = torch.randn(50, 1, dtype=torch.complex64)
    ll = symbol_log_likelihood(AWGN(), y, c.points, 0.2)
    expected = -(y[..., None] - c.points).abs().pow(2).double() / 0.2
    assert ll.shape == (50, 1, 16) and torch.allclose(ll, expected, atol=1e-5)
    assert symbol_log_likelihood(Rayleigh(csi=False), y, c.points, 0.2) is None


def test_likelihood_with_fine_adc_approaches_the_unquantised_one():
    c = qam(16)
    y = AWGN()(c.points[torch.randint(0, 16, (2000,))][:, None], 0.05, generator=0)
    fine = Cascade(AWGN(), ADC(bits=12, clip=4.0))
    decided_fine = symbol_log_likelihood(fine, fine.chain[1](y, 0.05), c.points, 0.05).argmax(-1)
    decided = symbol_log_likelihood(AWGN(), y, c.points, 0.05).argmax(-1)
    assert float((decided_fine == decided).double().mean()) > 0.998


def test_likelihood_with_csi_and_negligible_phase_noise_is_the_coherent_slicer():
    ch = Cascade(Rician(3.0), PhaseNoise(1e-4))
    c = qam(16)
    x = c.points[torch.randint(0, 16, (20_000,), generator=torch.Generator().manual_seed(0))][:, None]
    y, h = ch(x, 0.05, generator=1)
    assert torch.equal(Modem(c, ch).receive(y, 0.05, h), Modem(c, Rician(3.0)).receive(y, 0.05, h))


def test_ml_detector_beats_nearest_point_under_phase_noise():
    """With phase noise the ML metric is not the Euclidean one: on the same noise it makes fewer symbol errors."""
    ch = make_channel("awgn", phase_noise=0.2)
    ml, euclid = Modem(qam(16), ch), Modem(qam(16), ch)
    euclid._impaired = False  # the AWGN slicer on the same channel
    ml_counts = count_errors(ml, 16.0 - 6.0206, min_errors=2000, unit="symbol", seed=3)
    eu_counts = count_errors(euclid, 16.0 - 6.0206, min_errors=2000, unit="symbol", seed=3)
    p_ml = ml_counts.symbol_errors / ml_counts.symbols
    p_eu = eu_counts.symbol_errors / eu_counts.symbols
    assert p_ml < 0.9 * p_eu, (p_ml, p_eu)


def test_mi_over_channel_matches_quadrature_on_awgn_and_drops_with_impairments():
    m, b = mi_over_channel(qam(16), AWGN(), [6.0, 12.0], num_samples=100_000, seed=1)
    exact = mi(qam(16), [6.0, 12.0])
    # the MC density has std < 1.5 bit per sample: 100k samples give std < 0.005 bit
    assert np.allclose(m, exact, atol=0.02) and np.all(b <= m + 0.02)
    m_adc, _ = mi_over_channel(qam(16), make_channel("awgn", adc_bits=2), [12.0], num_samples=50_000, seed=1)
    assert m_adc[0] < exact[1] - 0.1


def test_a_user_channel_gives_its_own_likelihood_to_the_modem_and_the_mi():
    """A channel of one's own that overrides log_likelihood is detected and measured with it (not by class)."""

    class Attenuated(Channel):
        gain = 0.5

        def forward(self, x, no, generator=None):
            return AWGN()(self.gain * x, no, generator)

        def log_likelihood(self, y, points, no, h=None):
            return symbol_log_likelihood(AWGN(), y, self.gain * points, no, h)

    ch = Attenuated()
    assert ch.has_likelihood and not ch.linear_gaussian and ch.coherent
    c = qam(16)
    y = ch(c.points[None, :], 1e-4, generator=0).T  # [16, 1]: each point, scaled and barely noisy
    assert torch.equal(Modem(c, ch).receive(y, 1e-4), c.indices_to_bits(torch.arange(16)[:, None]))  # an AWGN slicer would fail
    m, _ = mi_over_channel(c, ch, [30.0], num_samples=5000, seed=0)
    assert m[0] == pytest.approx(4.0, abs=1e-3)
    assert Modem(c, ch).exact_posterior


def test_the_likelihood_is_asked_of_the_channel():
    c, y = qam(4), torch.randn(8, 2, dtype=torch.complex64)
    for ch in (AWGN(), Cascade(AWGN(), PhaseNoise(0.1)), Cascade(RappPA(), Rician(2.0), ADC(3))):
        h = None if not ch.csi else torch.ones_like(y)
        assert torch.equal(symbol_log_likelihood(ch, y, c.points, 0.3, h), ch.log_likelihood(y, c.points, 0.3, h))
    assert Cascade(AWGN(), ADC(3), PhaseNoise(0.1)).log_likelihood(y, c.points, 0.3) is None  # the ADC must come last


# --- Rician closed forms ---------------------------------------------------------------------


def _rician_average(rate_of_esno, esno, K):
    """Average an AWGN rate over |h|^2 of Rician fading by adaptive quadrature (independent of the MGF path)."""
    pdf = lambda t: stats.ncx2.pdf(2 * (K + 1) * t, 2, 2 * K) * 2 * (K + 1)  # noqa: E731
    return integrate.quad(lambda t: rate_of_esno(esno * t) * pdf(t), 0, np.inf, limit=400, epsabs=0, epsrel=1e-11)[0]


@pytest.mark.parametrize("K", [0.0, 3.0, 10.0])
@pytest.mark.parametrize("ebno_db", [0.0, 8.0, 16.0])
def test_rician_mgf_matches_brute_force_average(K, ebno_db):
    g = 10 ** (ebno_db / 10)
    q = lambda x: 0.5 * erfc(x / math.sqrt(2))  # noqa: E731
    bpsk = _rician_average(lambda s: q(math.sqrt(2 * s)), g, K)
    assert float(theory.ber_bpsk(ebno_db, "rician", k_factor=K)) == pytest.approx(bpsk, rel=1e-8)
    es = 4 * g
    ser16 = _rician_average(lambda s: 3 * q(math.sqrt(s / 5)) - 2.25 * q(math.sqrt(s / 5)) ** 2, es, K)
    assert float(theory.ser_qam(ebno_db, 16, "rician", k_factor=K)) == pytest.approx(ser16, rel=1e-8)
    ber16 = _rician_average(lambda s: float(theory.ber_qam(10 * math.log10(s / 4), 16)) if s > 0 else 0.5, es, K)
    assert float(theory.ber_qam(ebno_db, 16, "rician", k_factor=K)) == pytest.approx(ber16, rel=1e-6)


def test_rician_limits():
    assert float(theory.ber_qam(8.0, 16, "rician", k_factor=0.0)) == pytest.approx(float(theory.ber_qam(8.0, 16, "rayleigh")), rel=1e-12)
    assert float(theory.ber_bpsk(8.0, "rician", k_factor=1e5)) == pytest.approx(float(theory.ber_bpsk(8.0)), rel=1e-3)
    with pytest.raises(ValueError, match="k_factor"):
        theory.ber_bpsk(3.0, "awgn", k_factor=2.0)


# (K, Eb/N0) points with BER between ~1e-3 and ~1e-1: >= 200 errors within a few batches
RICIAN_POINTS = [(K, e) for K, points in ((0.0, (4.0, 10.0, 16.0)), (3.0, (4.0, 8.0, 12.0)), (10.0, (4.0, 7.0, 10.0))) for e in points]


@pytest.mark.parametrize("K, ebno_db", RICIAN_POINTS)
def test_rician_monte_carlo_inside_clopper_pearson(K, ebno_db):
    ch = Rician(K, "fast", csi=True)
    qpsk, q16 = Modem(qam(4), ch), Modem(qam(16), ch)
    c = count_errors(qpsk, ebno_db, min_errors=200, seed=int(10 * K + ebno_db))
    assert_inside(c.bit_errors, c.bits, float(theory.ber_qam(ebno_db, 4, "rician", k_factor=K)), f"QPSK BER, K={K}, {ebno_db} dB")
    c = count_errors(q16, ebno_db, min_errors=200, unit="symbol", seed=int(10 * K + ebno_db) + 1)
    assert_inside(c.symbol_errors, c.symbols, float(theory.ser_qam(ebno_db, 16, "rician", k_factor=K)), f"16-QAM SER, K={K}, {ebno_db} dB")
    assert_inside(c.bit_errors, c.bits, float(theory.ber_qam(ebno_db, 16, "rician", k_factor=K)), f"16-QAM BER, K={K}, {ebno_db} dB")


def test_simulate_fills_rician_theory():
    rows = simulate([Modem(qam(16), Rician(3.0))], [8.0], target_errors=20, max_bits=1 << 14, theory=True, progress=False)
    assert rows[0]["channel"] == "rician-K3-fast-csi"
    assert rows[0]["ser_theory"] == pytest.approx(float(theory.ser_qam(8.0, 16, "rician", k_factor=3.0)))
    rows = simulate([Modem(qam(16), make_channel("awgn", phase_noise=0.1))], [8.0], target_errors=20, max_bits=1 << 14, theory=True, progress=False)
    assert math.isnan(rows[0]["ser_theory"])  # no closed form with impairments
