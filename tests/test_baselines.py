import math

import pytest
import torch
from _montecarlo import assert_inside, count_errors

from commae import AWGN, Constellation, Hamming74, Modem, Rayleigh, UncodedBPSK, pam, psk, qam, theory
from commae.snr import ebno_db_to_no, esno_db_to_no


def q(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2))


MODULATIONS = {
    "qpsk": (lambda: qam(4), lambda e, ch: theory.ber_qam(e, 4, channel=ch), lambda e, ch: theory.ser_qam(e, 4, channel=ch)),
    "qam16": (lambda: qam(16), lambda e, ch: theory.ber_qam(e, 16, channel=ch), lambda e, ch: theory.ser_qam(e, 16, channel=ch)),
    "qam64": (lambda: qam(64), lambda e, ch: theory.ber_qam(e, 64, channel=ch), lambda e, ch: theory.ser_qam(e, 64, channel=ch)),
    "psk8": (lambda: psk(8), lambda e, ch: theory.ber_psk(e, 8, channel=ch), lambda e, ch: theory.ser_psk(e, 8, channel=ch)),
    "bpsk": (lambda: psk(2), lambda e, ch: theory.ber_bpsk(e, channel=ch), lambda e, ch: theory.ser_bpsk(e, channel=ch)),
}


def _check_against_theory(system, name, ebno_db, channel_name, seed):
    _, ber, ser = MODULATIONS[name]
    c = count_errors(system, ebno_db, min_errors=200, unit="symbol", seed=seed)
    assert c.bit_errors >= 200 and c.symbol_errors >= 200
    assert_inside(c.bit_errors, c.bits, float(ber(ebno_db, channel_name)), f"{name} BER at {ebno_db} dB over {channel_name}")
    assert_inside(c.symbol_errors, c.symbols, float(ser(ebno_db, channel_name)), f"{name} SER at {ebno_db} dB over {channel_name}")


@pytest.mark.parametrize(
    "name, ebno_dbs",
    [("qpsk", (0, 4, 7)), ("qam16", (0, 5, 9)), ("qam64", (2, 7, 11)), ("psk8", (0, 5, 9))],
)
def test_awgn_ber_and_ser_match_theory(name, ebno_dbs):
    modem = Modem(MODULATIONS[name][0]())
    for seed, ebno_db in enumerate(ebno_dbs):
        _check_against_theory(modem, name, ebno_db, "awgn", seed)


@pytest.mark.parametrize("fading", ["fast", "block"])
@pytest.mark.parametrize("name", ["bpsk", "qpsk"])
def test_rayleigh_with_csi_ber_and_ser_match_theory(name, fading):
    modem = Modem(MODULATIONS[name][0](), channel=Rayleigh(fading, csi=True))
    for seed, ebno_db in enumerate((0, 10, 20)):
        _check_against_theory(modem, name, ebno_db, "rayleigh", 100 + seed)


@pytest.mark.parametrize("fading", ["fast", "block"])
def test_rayleigh_block_errors_of_uncoded_bpsk_blocks_match_theory(fading):
    # K = 4 BPSK bits per block: block fading puts one h on all four, so its errors cluster and its BLER is lower
    system = UncodedBPSK(4, channel=Rayleigh(fading, csi=True))
    for seed, ebno_db in enumerate((0.0, 10.0, 20.0)):
        c = count_errors(system, ebno_db, min_errors=300, unit="block", seed=300 + seed)
        bler = float(theory.bler_uncoded(ebno_db, 4, channel="rayleigh", fading=fading))
        assert_inside(c.block_errors, c.blocks, bler, f"uncoded BPSK x4 BLER, {fading} fading, {ebno_db} dB")
    assert theory.bler_uncoded(20.0, 4, channel="rayleigh", fading="block") < 0.85 * theory.bler_uncoded(20.0, 4, channel="rayleigh", fading="fast")


@pytest.mark.parametrize("real", [False, True])
def test_bpsk_ber_is_q_of_sqrt_two_ebno_on_complex_and_real_uses(real):
    for seed, ebno_db in enumerate((0.0, 4.0, 7.0)):
        p = q(math.sqrt(2 * 10 ** (ebno_db / 10)))
        for system in (UncodedBPSK(4, channel=AWGN(real=real)), Modem(psk(2), channel=AWGN(real=real))):
            c = count_errors(system, ebno_db, min_errors=400, seed=seed)
            assert_inside(c.bit_errors, c.bits, p, f"BPSK real={real} at {ebno_db} dB")


@pytest.mark.parametrize("channel, fading", [("awgn", "fast"), ("rayleigh", "fast"), ("rayleigh", "block")])
def test_hamming74_hard_bler_and_ber_match_theory(channel, fading):
    ch = AWGN() if channel == "awgn" else Rayleigh(fading, csi=True)
    code = Hamming74("hard", channel=ch)
    for seed, ebno_db in enumerate((0.0, 4.0, 7.0) if channel == "awgn" else (5.0, 12.0, 18.0)):
        c = count_errors(code, ebno_db, min_errors=200, unit="block", seed=200 + seed)
        bler = float(theory.bler_hamming74_hard(ebno_db, channel=channel, fading=fading))
        ber = float(theory.ber_hamming74_hard(ebno_db, channel=channel, fading=fading))
        assert_inside(c.block_errors, c.blocks, bler, f"Hamming hard BLER at {ebno_db} dB")
        assert_inside(c.bit_errors, c.bits, ber, f"Hamming hard BER at {ebno_db} dB")
        assert c.symbol_errors == c.block_errors  # a symbol is the whole message


def test_hamming74_soft_ml_bler_at_4db():
    c = count_errors(Hamming74("soft"), 4.0, min_errors=12_000, unit="block", seed=7)
    bler = c.block_errors / c.blocks
    assert bler == pytest.approx(1.185e-2, rel=0.05), bler
    hard = count_errors(Hamming74("hard"), 4.0, min_errors=2000, unit="block", seed=7)
    assert hard.block_errors / hard.blocks > 2 * bler  # soft decoding gains ~2 dB


def test_hamming74_code_structure():
    code = Hamming74()
    cw = code.codewords
    assert cw.shape == (16, 7)
    assert torch.equal(cw[:, :4], code.messages)  # systematic
    assert torch.all((cw @ code.check_matrix.T) % 2 == 0)
    weights = cw.sum(-1)
    assert sorted(weights.tolist()) == sorted([0] + [3] * 7 + [4] * 7 + [7])
    # every single error is corrected
    for pos in range(7):
        flipped = cw.clone()
        flipped[:, pos] = 1 - flipped[:, pos]
        assert torch.equal(code.syndrome_decode(flipped), code.messages)


@pytest.mark.parametrize("fading", ["fast", "block"])
def test_hamming74_soft_ml_uses_the_gains(fading):
    code = Hamming74("soft", channel=Rayleigh(fading, csi=True))
    bits = torch.randint(0, 2, (20_000, 4), generator=torch.Generator().manual_seed(0)).float()
    x = code.transmit(bits)
    y, h = code.channel(x, ebno_db_to_no(3.0, 4, 7), generator=1)
    decided = code.receive(y, None, h)
    # brute-force ML: the codeword closest to y after the known channel
    candidates = torch.complex(code.codeword_symbols, torch.zeros_like(code.codeword_symbols))  # [16, 7]
    dist = (y[:, None, :] - h[:, None, :] * candidates).abs().pow(2).sum(-1)  # [B, 16]
    assert torch.equal(decided, code.messages[dist.argmin(-1)])
    if fading == "fast":
        # zero-forcing first (y/h) and correlating is a different, worse rule
        zf = torch.argmax((y / h).real @ code.codeword_symbols.T, dim=-1)
        assert (code.messages[zf] != decided).any()


@pytest.mark.parametrize(
    "constellation",
    [qam(16), qam(64), psk(8), psk(4, phase_offset=math.pi / 4), pam(4), Constellation(torch.randn(16, 2, generator=torch.Generator().manual_seed(3)))],
    ids=["qam16", "qam64", "psk8", "qpsk-rot", "pam4", "custom16"],
)
@pytest.mark.parametrize("csi", [False, True])
def test_hard_decisions_are_maximum_likelihood(constellation, csi):
    modem = Modem(constellation)
    gen = torch.Generator().manual_seed(5)
    y = torch.complex(torch.randn(5000, 1, generator=gen), torch.randn(5000, 1, generator=gen)) * 1.5
    h = torch.complex(torch.randn(5000, 1, generator=gen), torch.randn(5000, 1, generator=gen)) if csi else None
    hh = torch.ones_like(y) if h is None else h
    brute = (y - hh * constellation.points).abs().argmin(-1)  # [B]
    assert torch.equal(modem.decide(y, h).flatten(), brute)


MODEMS = [qam(4), qam(16), qam(64), qam(256), psk(8), psk(16)]


@pytest.mark.parametrize("constellation", MODEMS, ids=lambda c: f"{c.kind}{c.num_points}")
def test_app_llr_sign_is_the_sent_bit_at_30db(constellation):
    modem = Modem(constellation)
    bits = torch.randint(0, 2, (20_000, modem.k), generator=torch.Generator().manual_seed(1)).float()
    no = ebno_db_to_no(30.0, modem.k)
    y = AWGN()(modem.transmit(bits), no, generator=2)
    llr = modem.llr(y, no, method="app")
    assert torch.isfinite(llr).all()
    assert torch.equal((llr > 0).float(), bits)


@pytest.mark.parametrize("constellation", MODEMS, ids=lambda c: f"{c.kind}{c.num_points}")
@pytest.mark.parametrize("channel", [AWGN(), Rayleigh("fast", csi=True)], ids=["awgn", "rayleigh"])
def test_llrs_are_finite_and_maxlog_agrees_in_sign(constellation, channel):
    modem = Modem(constellation, channel=channel)
    gen = torch.Generator().manual_seed(3)
    for esno_db in range(-10, 41, 5):
        bits = torch.randint(0, 2, (4000, modem.k), generator=gen).float()
        no = esno_db_to_no(float(esno_db))
        out = channel(modem.transmit(bits), no, generator=gen)
        y, h = out if isinstance(out, tuple) else (out, None)
        exact = modem.llr(y, no, h, method="app")
        maxlog = modem.llr(y, no, h, method="maxlog")
        assert torch.isfinite(exact).all() and torch.isfinite(maxlog).all(), esno_db
        assert exact.shape == bits.shape
        confident = (exact.abs() > 1) | (maxlog.abs() > 1)
        assert torch.equal(torch.sign(exact[confident]), torch.sign(maxlog[confident])), esno_db
        # each max-log term under-estimates its logsumexp by at most ln(M/2)
        assert float((exact - maxlog).abs().max()) <= math.log(modem.constellation.num_points / 2) + 1e-3


def test_exact_llr_is_the_bit_posterior():
    # 16-QAM at a low SNR, checked against a direct float64 posterior over the 16 points
    modem = Modem(qam(16))
    gen = torch.Generator().manual_seed(4)
    bits = torch.randint(0, 2, (2000, 4), generator=gen).float()
    no = esno_db_to_no(3.0)
    y = AWGN()(modem.transmit(bits), no, generator=gen)
    pts = modem.constellation.points.to(torch.complex128)
    post = torch.softmax(-(y.to(torch.complex128) - pts).abs().pow(2) / no, dim=-1)  # [B, 16]
    labels = modem.constellation.bit_labels.to(torch.float64)  # [16, 4]
    p1 = post @ labels
    direct = torch.log(p1) - torch.log1p(-p1)
    assert torch.allclose(modem.llr(y, no).double(), direct, atol=1e-3)


def test_coherent_llr_over_rayleigh_is_the_bit_posterior():
    modem = Modem(qam(16), channel=Rayleigh("fast", csi=True))
    gen = torch.Generator().manual_seed(6)
    bits = torch.randint(0, 2, (2000, 4), generator=gen).float()
    no = esno_db_to_no(8.0)
    y, h = modem.channel(modem.transmit(bits), no, generator=gen)
    pts = modem.constellation.points.to(torch.complex128)
    post = torch.softmax(-(y.to(torch.complex128) - h.to(torch.complex128) * pts).abs().pow(2) / no, dim=-1)
    p1 = (post @ modem.constellation.bit_labels.to(torch.float64)).clamp(1e-12, 1 - 1e-12)
    direct = torch.log(p1) - torch.log1p(-p1)
    close = direct.abs() < 20  # beyond that, float64 p1 saturates
    assert torch.allclose(modem.llr(y, no, h).double()[close], direct[close], atol=1e-3)


def test_bpsk_llr_matches_closed_form():
    modem = Modem(psk(2))
    y = torch.tensor([[0.3 + 0.2j], [-1.1 + 0j]], dtype=torch.complex64)
    no = 0.5
    assert torch.allclose(modem.llr(y, no), -4 * y.real / no, atol=1e-5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Modem(qam(16)).transmit(torch.zeros(3, 3)), r"bits must be a \[B, 4\] tensor"),
        (lambda: Modem(qam(16)).llr(torch.zeros(3, 1, dtype=torch.complex64), -1.0), "no must be a finite, non-negative"),
        (lambda: Modem(qam(16)).llr(torch.zeros(3, 1, dtype=torch.complex64), 0.0), "no must be positive"),
        (lambda: Modem(qam(16), demapping="exact"), "demapping must be 'app' or 'maxlog'"),
        (lambda: Modem("qam16"), "constellation must be a Constellation"),
        (lambda: Modem(qam(16), channel=AWGN(real=True)), "channel is real but the constellation has complex points"),
        (lambda: Hamming74("ml"), "decoder must be 'hard' or 'soft'"),
        (lambda: Hamming74().transmit(torch.zeros(2, 7)), r"bits must be a \[B, 4\] tensor"),
        (lambda: UncodedBPSK(0), "K must be a positive integer"),
        (lambda: Modem(qam(16)).transmit(torch.full((2, 4), 2.0)), "bits must be 0 or 1"),
        (lambda: Modem(qam(16)).receive(torch.zeros(2, 3, dtype=torch.complex64)), r"y must be a \[B, 1\] tensor"),
        (lambda: Hamming74().receive(torch.zeros(2, 5)), r"y must be a \[B, 7\] tensor"),
        (lambda: Modem(qam(16), channel="awgn"), "channel must be a commae Channel"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_baselines_run_on_the_input_device(device):
    for system in (Modem(qam(16)), Hamming74("soft"), UncodedBPSK(3)):
        system = system.to(device)
        bits = torch.randint(0, 2, (64, system.k), device=device).float()
        x = system.transmit(bits)
        assert x.device.type == device.type
        assert torch.equal(system.receive(x, 1e-3), bits)


def test_modem_with_several_symbols_per_message():
    modem = Modem(qam(16), symbols_per_message=3)
    assert (modem.k, modem.n, modem.bits_per_symbol) == (12, 3, 4)
    c = count_errors(modem, 6.0, min_errors=300, unit="symbol", seed=9)
    assert c.symbols == 3 * c.blocks
    assert_inside(c.symbol_errors, c.symbols, float(theory.ser_qam(6.0, 16)), "16-QAM SER, 3 symbols a message")
    assert_inside(c.bit_errors, c.bits, float(theory.ber_qam(6.0, 16)), "16-QAM BER, 3 symbols a message")
    llr = modem.llr(modem.transmit(torch.ones(2, 12)), 0.01)
    assert llr.shape == (2, 12) and bool((llr > 0).all())


# --- a baseline and its channel describe their closed form (issue 21) --------------------------


def test_each_baseline_names_its_closed_form_and_theory_evaluates_it_over_the_channels():
    from commae import PilotModem, Rician
    from commae.simulation import theory_rates

    qam16 = Modem(qam(16), Rician(2.0))
    assert qam16.closed_form == {"system": "modem", "kind": "qam", "M": 16, "m": 1}
    assert theory_rates(qam16, 8.0)["ber"] == float(theory.ber_qam(8.0, 16, "rician", 2.0))
    assert theory_rates(Modem(psk(8), Rician(2.0)), 8.0) is None  # no Rician PSK form
    assert theory_rates(Modem(psk(8), Rayleigh()), 8.0)["ser"] == float(theory.ser_psk(8.0, 8, "rayleigh"))
    assert theory_rates(Hamming74("hard", Rayleigh("block")), 6.0)["bler"] == float(theory.bler_hamming74_hard(6.0, "rayleigh", "block"))
    assert theory_rates(Hamming74("soft"), 6.0) is None and theory_rates(Hamming74("hard", Rician(2.0)), 6.0) is None
    assert theory_rates(UncodedBPSK(4, Rayleigh("block")), 6.0)["bler"] == float(theory.bler_uncoded(6.0, 4, "rayleigh", "block"))
    for no_model in (Rayleigh(csi=False), Rician(2.0, csi=False)):  # theory's fading rates are coherent
        assert theory_rates(Modem(qam(4), no_model), 6.0) is None and theory_rates(UncodedBPSK(1, no_model), 6.0) is None
    assert theory_rates(PilotModem(qam(4), Rician(2.0, "block", csi=False)), 6.0) is None
