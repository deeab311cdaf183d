"""Bit-interleaved coded modulation: interleaver and scrambler, the coded link as a System, its rate, and the all-zero shortcut.

Statistical comparisons are seeded: a rate against a closed form must lie in
its Clopper–Pearson interval; two block error rates are compared by the
two-proportion z-test (pooled), "the same" at two-sided level 0.001
(|z| < 3.29), "visibly different" at |z| > 6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from commae import Modem, information, qam
from commae.bicm import BICM, INTERLEAVERS, reliability_order
from commae.codes.bp import BPDecoder
from commae.codes.interleaver import Interleaver, Scrambler
from commae.codes.ldpc5g import LDPC5G
from commae.codes.linear import LinearCode, hamming74
from commae.constellations import int_to_bits
from commae.models import Autoencoder
from commae.simulation import simulate
from commae.simulation.draws import Messages
from commae.snr import ebno_db_to_no
from commae.system import system_no
from commae.theory import ber_qam


def two_proportion_z(errors_a: int, trials_a: int, errors_b: int, trials_b: int) -> float:
    pooled = (errors_a + errors_b) / (trials_a + trials_b)
    return (errors_a / trials_a - errors_b / trials_b) / math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))


def hard_decision(llr: torch.Tensor) -> torch.Tensor:
    """The MAP decoder of the identity code: each bit by the sign of its LLR."""
    return (llr > 0).float()


def identity_code(n: int) -> LinearCode:
    """The (n, n) code: one all-zero check, so k = n and every word is a codeword."""
    return LinearCode(torch.zeros(1, n, dtype=torch.uint8), name=f"identity ({n},{n})")


# --- interleaver and scrambler ----------------------------------------------------------------


def test_interleaver_is_a_permutation_and_deinterleave_undoes_it():
    pi = Interleaver(1500, seed=4)
    assert sorted(pi.permutation.tolist()) == list(range(1500))
    x = torch.randn(3, 1500)
    assert torch.equal(pi.deinterleave(pi.interleave(x)), x)
    assert torch.equal(pi.interleave(pi.deinterleave(x)), x)
    assert torch.equal(pi.interleave(torch.arange(1500.0)), pi.permutation.float())
    assert (pi.permutation != torch.arange(1500)).float().mean() > 0.99  # it moves (almost) everything


def test_interleaver_and_scrambler_are_reproducible_by_seed_and_independent_of_each_other():
    assert torch.equal(Interleaver(500, seed=1).permutation, Interleaver(500, seed=1).permutation)
    assert not torch.equal(Interleaver(500, seed=1).permutation, Interleaver(500, seed=2).permutation)
    assert torch.equal(Scrambler(500, seed=1).sequence, Scrambler(500, seed=1).sequence)
    assert not torch.equal(Scrambler(500, seed=1).sequence, Scrambler(500, seed=2).sequence)
    ones = int(Scrambler(10_000, seed=0).sequence.sum())
    assert abs(ones - 5000) < 3.29 * 50  # a fair coin: within 3.29 sigma


def test_scrambler_round_trip_on_bits_and_sign_flip_on_llrs():
    s = Scrambler(64, seed=7)
    bits = torch.randint(0, 2, (5, 64)).float()
    assert torch.equal(s.scramble(s.scramble(bits)), bits)
    # LLRs of the scrambled bits, descrambled, are the LLRs of the bits: exact APP over BPSK, L = -4y/N0
    no = 0.5
    y = (1 - 2 * s.scramble(bits)) + math.sqrt(no / 2) * torch.randn(5, 64)
    llr = s.descramble_llrs(-4 * y / no)
    direct = -4 * y * (1 - 2 * s.sequence) / no
    assert torch.allclose(llr, direct)
    # per-codeword sequences: reproducible from the generator state, and used in place of the fixed one
    seqs = s.draw(5, torch.Generator().manual_seed(3))
    assert torch.equal(seqs, s.draw(5, torch.Generator().manual_seed(3)))
    assert torch.equal(s.scramble(torch.zeros(5, 64), seqs), seqs)


def test_the_nr_row_column_interleaver_puts_row_j_on_label_position_levels_j():
    pi = Interleaver.row_column(12, 3, levels=[2, 0, 1])
    out = pi.interleave(torch.arange(12.0)).view(4, 3)  # [symbol, label position]
    assert out[:, 2].tolist() == [0, 1, 2, 3] and out[:, 0].tolist() == [4, 5, 6, 7] and out[:, 1].tolist() == [8, 9, 10, 11]
    x = torch.randn(2, 12)
    assert torch.equal(pi.deinterleave(pi.interleave(x)), x)
    with pytest.raises(ValueError, match="levels a permutation"):
        Interleaver.row_column(12, 3, levels=[0, 0, 1])
    with pytest.raises(ValueError, match="interleave permutes 12 bits, but a codeword takes 8"):
        BICM(hamming74(), Modem(qam(4)), hard_decision, interleave=pi)


def test_the_row_column_interleaver_is_ts_38_212_5_4_2_2():
    """TS 38.212 §5.4.2.2: for j < E/Qm, i < Qm: f[i + j·Qm] = e[i·E/Qm + j]. E = 12, Qm = 4 by hand:
    symbol j carries e[j], e[3 + j], e[6 + j], e[9 + j] on label positions 0..3."""
    pi = Interleaver.row_column(12, 4)
    assert pi.interleave(torch.arange(12)).tolist() == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]
    e, q = 1500, 6  # the definition, written out, at the tutorial's size; and a bijection for every order of the rows
    assert Interleaver.row_column(e, q).permutation.tolist() == [i * (e // q) + j for j in range(e // q) for i in range(q)]
    for levels in ([0, 3, 4, 1, 5, 2], [5, 4, 3, 2, 1, 0]):
        pi = Interleaver.row_column(e, q, levels)
        assert sorted(pi.permutation.tolist()) == list(range(e))
        assert torch.equal(pi.inverse[pi.permutation], torch.arange(e))


# --- the nr interleaver: label positions ranked by reliability ----------------------------------


def exact_bit_information(modem: Modem, no: float, nodes: int = 24) -> np.ndarray:
    """I(C_j; Y) in bits for every label position j of ``modem`` over complex AWGN of variance ``no``, exact bit posteriors,
    by Gauss-Hermite quadrature (``nodes`` per real dimension) around every point: brute force, independent of the library."""
    points = modem.constellation.points.detach().to(torch.complex128)
    bits = modem.constellation.bit_labels.bool()  # [M, k]
    t, w = (torch.from_numpy(a) for a in np.polynomial.hermite.hermgauss(nodes))
    z = math.sqrt(no) * torch.complex(t[:, None].expand(nodes, nodes), t[None, :].expand(nodes, nodes)).reshape(-1)  # CN(0, no)
    weight = (w[:, None] * w[None, :]).reshape(-1) / math.pi
    y = points[:, None] + z[None, :]  # [M, Q]
    log_p = -((y[:, :, None] - points[None, None, :]).abs() ** 2) / no  # [M sent, Q, M candidate]
    total = log_p.logsumexp(-1)
    info = []
    for j in range(bits.shape[1]):
        other = torch.where(bits[:, j][:, None] == bits[:, j][None, :], 0.0, -math.inf).to(log_p.dtype)  # the candidate has the sent bit
        own = (log_p + other[:, None, :]).logsumexp(-1)
        info.append(1 - float(((total - own) * weight).sum(-1).mean()) / math.log(2))
    return np.array(info)


@pytest.mark.parametrize(("points", "esno_db"), [(16, 8.0), (64, 12.0)])
def test_reliability_order_of_gray_qam_is_the_exact_per_position_information_sign_bits_first(points, esno_db):
    modem = Modem(qam(points))
    no = 10 ** (-esno_db / 10)
    order = reliability_order(modem, no, samples=20_000)
    exact = exact_bit_information(modem, no)
    k = modem.k
    assert sorted(order[:2]) == [0, k // 2]  # the I and Q sign bits (commae labels: I bits first, MSB = sign)
    ranked = exact[order]
    assert np.all(np.diff(ranked) <= 1e-9), (order, exact)  # most informative first; exactly tied positions (I and Q) in any order
    assert exact.sum() == pytest.approx(float(information.bmi(qam(points), esno_db)), abs=1e-4)  # the brute force adds up to the library's BMI


def test_reliability_order_is_reproducible_by_seed_and_device(device):
    modem = Modem(qam(16))
    first = reliability_order(modem, 0.1, samples=5000, seed=3)
    assert first == reliability_order(modem, 0.1, samples=5000, seed=3)
    assert first == reliability_order(Modem(qam(16)).to(device), 0.1, samples=5000, seed=3)  # drawn on the CPU, wherever the mapper is
    assert {tuple(sorted(reliability_order(modem, 0.1, samples=5000, seed=s)[:2])) for s in range(4)} == {(0, 2)}
    with pytest.raises(ValueError, match="no must be a positive linear N0"):
        reliability_order(modem, 0.0)


def test_nr_link_puts_the_words_first_rows_on_the_most_reliable_positions():
    code = LDPC5G(120, 240)
    link = BICM(code, Modem(qam(16)), BPDecoder(code, iterations=5), interleave="nr", design_ebno_db=5.0, reliability_samples=20_000, seed=2)
    order = reliability_order(Modem(qam(16)), system_no(link, 5.0), samples=20_000, seed=2)
    assert (link.interleaving, link.label_order, link.design_ebno_db) == ("nr", order, 5.0)
    assert torch.equal(link.interleaver.permutation, Interleaver.row_column(240, 4, order).permutation)
    position = link.interleaver.inverse.view(1, -1).remainder(4).view(-1)  # label position of each (padded) code bit
    assert position[:60].unique().tolist() == [order[0]] and position[180:].unique().tolist() == [order[3]]
    assert INTERLEAVERS == ("random", "nr")
    assert BICM(code, Modem(qam(16)), BPDecoder(code), interleave="random").interleaving == "random"
    assert torch.equal(BICM(code, Modem(qam(16)), BPDecoder(code), interleave="random", seed=4).interleaver.permutation, Interleaver(240, 4).permutation)


def test_nr_link_with_padding_sends_codewords_and_keeps_the_padding_on_the_last_row():
    code = LDPC5G(60, 124)  # 124 bits on 256-QAM: 16 symbols, 4 padding bits
    link = BICM(code, Modem(qam(256)), BPDecoder(code, iterations=5), interleave="nr", design_ebno_db=9.0, reliability_samples=2000)
    assert (link.code_bits, link.padding) == (128, 4)
    position = link.interleaver.inverse.remainder(8)
    assert position[124:].unique().tolist() == [link.label_order[-1]]  # the padding, at the end of the word: the least reliable row
    bits = Messages.draw(32, code.k, torch.Generator().manual_seed(1)).float_bits()
    x = link.transmit(bits)
    assert torch.equal((link.code_llrs(x, 1e-3) > 0).float(), code.encode(bits))  # noiseless: the code bits come back in order
    assert torch.equal(link.receive(x, 1e-3), bits)


def test_nr_interleaver_is_asked_for_with_its_design_point_or_refused():
    code = hamming74()
    with pytest.raises(ValueError, match="interleave='nr' ranks the label positions at a design point: give design_ebno_db"):
        BICM(code, Modem(qam(4)), hard_decision, interleave="nr")
    with pytest.raises(ValueError, match="design_ebno_db is the design point of interleave='nr', not of interleave='random'"):
        BICM(code, Modem(qam(4)), hard_decision, interleave="random", design_ebno_db=5.0)
    with pytest.raises(ValueError, match="interleave must be one of random, nr, a bool or an Interleaver, got 'row-column'"):
        BICM(code, Modem(qam(4)), hard_decision, interleave="row-column")
    with pytest.raises(ValueError, match="design_ebno_db must be a finite Eb/N0"):
        BICM(code, Modem(qam(4)), hard_decision, interleave="nr", design_ebno_db=float("nan"))


def test_nr_interleaver_beats_random_for_5g_ldpc_on_gray_64qam():
    """Same bits and noise (same (k, n)), 500 codewords each at 6.5 dB: the row-column interleaver, systematic bits on the
    sign bits, has fewer block errors than a random permutation (docs/coded.md: about 0.4 dB at the tutorial's size).
    Measured at this seed: 84 against 176 of 500; pooled two-proportion z > 3.29 asked."""
    code = LDPC5G(120, 240)
    decoder = BPDecoder(code, iterations=20)
    links = {
        "random": BICM(code, Modem(qam(64)), decoder, interleave="random", name="random"),
        "nr": BICM(code, Modem(qam(64)), decoder, interleave="nr", design_ebno_db=6.5, reliability_samples=20_000, name="nr"),
    }
    rows = {r["system"]: r for r in simulate(links, [6.5], theory=False, progress=False, target_errors=10**9, target_metric="block", max_bits=120 * 500, batch_size=500, seed=1)}
    random, nr = rows["random"], rows["nr"]
    assert random["blocks"] == nr["blocks"] == 500
    z = two_proportion_z(random["block_errors"], random["blocks"], nr["block_errors"], nr["blocks"])
    assert z > 3.29, (random["block_errors"], nr["block_errors"], z)


def test_bad_lengths_and_shapes_are_refused():
    with pytest.raises(ValueError, match="n must be a positive integer"):
        Interleaver(0)
    with pytest.raises(ValueError, match="seed must be an integer"):
        Scrambler(8, seed=1.5)
    with pytest.raises(ValueError, match=r"x must be a tensor \[\.\.\., 8\]"):
        Interleaver(8).interleave(torch.zeros(2, 7))


# --- the mappers' bit LLRs ----------------------------------------------------------------------


def test_modem_bit_llrs_are_its_llrs_by_its_demapping():
    y = torch.randn(7, 1, dtype=torch.complex64)
    for demapping in ("app", "maxlog"):
        modem = Modem(qam(16), demapping=demapping)
        assert torch.equal(modem.bit_llrs(y, 0.3), modem.llr(y, 0.3, method=demapping))


def test_symbol_wise_autoencoder_llrs_marginalise_its_posteriors_exactly():
    torch.manual_seed(0)
    ae = Autoencoder(3, 1, output="symbol", hidden=16).eval()
    y = torch.randn(9, 1, dtype=torch.complex64)
    with torch.no_grad():
        llr = ae.bit_llrs(y).double()
        p = ae.receiver(y).double().softmax(-1)  # [B, 8]
    labels = int_to_bits(torch.arange(8), 3).double()  # [8, 3]
    p1 = p @ labels
    expected = torch.log(p1) - torch.log(1 - p1)
    assert torch.allclose(llr, expected, atol=1e-4)


def test_bit_wise_autoencoder_llrs_are_its_logits():
    torch.manual_seed(0)
    ae = Autoencoder(4, 1, output="bit", hidden=16).eval()
    y = torch.randn(9, 1, dtype=torch.complex64)
    with torch.no_grad():
        assert torch.equal(ae.bit_llrs(y), ae.receiver(y))
        assert torch.equal((ae.bit_llrs(y) > 0).float(), ae.receive(y))


# --- the link -----------------------------------------------------------------------------------


def test_codewords_on_the_air_satisfy_every_check():
    """The engine's message draws through transmit: the bits the mapper sends, undone noiselessly, are codewords."""
    for code, modem in ((LDPC5G(120, 240), Modem(qam(16))), (hamming74(), Modem(qam(4)))):
        link = BICM(code, modem, BPDecoder(code, iterations=5), seed=3)
        bits = Messages.draw(64, code.k, torch.Generator().manual_seed(1)).float_bits()
        x = link.transmit(bits)
        assert x.shape == (64, link.n)
        sent = (link.code_llrs(x, 1e-3) > 0).float()  # noiseless: the sign of each LLR is the code bit
        assert torch.equal(sent, code.encode(bits))
        word = code.graph_word(bits)
        assert not bool(((code.parity_check.float() @ word.T) % 2).any())
        assert torch.equal(link.receive(x, 1e-3), bits)


def test_rate_and_padding_are_accounted_in_the_engines_ebno():
    code = LDPC5G(750, 1500)
    link = BICM(code, Modem(qam(64)), BPDecoder(code), name="qam64-ldpc")
    assert (link.k, link.n, link.bits_per_symbol, link.padding) == (750, 250, 750, 0)
    # Eb/N0 per information bit: N0 = n / (k Eb/N0) with unit energy per use, 3 information bits per 64-QAM symbol
    assert system_no(link, 6.0) == pytest.approx(1 / (3 * 10**0.6))
    padded = BICM(identity_code(5), Modem(qam(4)), hard_decision)
    assert (padded.k, padded.n, padded.code_bits, padded.padding) == (5, 3, 6, 1)


def test_identity_code_over_gray_qam_matches_the_uncoded_closed_form():
    """Max-log hard decisions are the nearest point's bits, so the identity-coded link is uncoded Gray QAM at the same Es/N0."""
    link = BICM(identity_code(12), Modem(qam(16), demapping="maxlog"), hard_decision, name="identity-qam16")
    rows = simulate([link], [4.0, 8.0], target_errors=3000, max_bits=2_000_000, batch_size=20_000, seed=5, progress=False, confidence=0.99)
    for row in rows:  # 12 info bits in 3 uses: 4 bits a use, as uncoded 16-QAM
        theory = float(ber_qam(row["ebno_db"], 16))
        assert row["ber_low"] <= theory <= row["ber_high"], (row["ebno_db"], row["ber"], theory)


def test_padding_costs_the_energy_the_rate_says():
    """5 bits in 3 QPSK uses (one padding bit): BER of QPSK at Es/N0 = Eb/N0 + 10 log10(5/3)."""
    link = BICM(identity_code(5), Modem(qam(4), demapping="maxlog"), hard_decision, name="identity-qpsk-padded")
    (row,) = simulate([link], [3.0], target_errors=4000, max_bits=3_000_000, batch_size=50_000, seed=2, progress=False, confidence=0.99)
    uncoded_ebno = 3.0 + 10 * math.log10(5 / 3) - 10 * math.log10(2)
    theory = float(ber_qam(uncoded_ebno, 4))
    assert row["ber_low"] <= theory <= row["ber_high"], (row["ber"], theory)
    assert not row["ber_low"] <= float(ber_qam(3.0, 4)) <= row["ber_high"]  # the padding's energy is visible


def test_coded_gray_qam_is_reproducible_by_seed_and_shares_noise_across_systems():
    code = LDPC5G(120, 240)

    def link(name: str) -> BICM:
        return BICM(code, Modem(qam(16)), BPDecoder(code, iterations=10), name=name)

    kwargs = dict(target_errors=40, target_metric="block", max_bits=120 * 4000, batch_size=500, progress=False)
    first = simulate([link("a"), link("b")], [5.0], seed=11, **kwargs)
    again = simulate([link("a")], [5.0], seed=11, threads=2, **kwargs)
    a, b = first
    assert 0.03 < a["bler"] < 0.5, a["bler"]  # in the waterfall
    assert (a["blocks"], a["block_errors"], a["bit_errors"]) == (b["blocks"], b["block_errors"], b["bit_errors"])  # same (k, n): same bits, same noise
    assert (again[0]["blocks"], again[0]["block_errors"], again[0]["bit_errors"]) == (a["blocks"], a["block_errors"], a["bit_errors"])


# --- the all-zero shortcut ------------------------------------------------------------------------


def _trained_bitwise_ae(seed: int = 0) -> Autoencoder:
    """A 16-point bit-wise autoencoder trained briefly (120 Adam steps) with BCE at Es/N0 10 dB: a learned constellation, not Gray QAM."""
    torch.manual_seed(seed)
    ae = Autoencoder(4, 1, output="bit", hidden=32)
    opt = torch.optim.Adam(ae.parameters(), lr=2e-2)
    gen = torch.Generator().manual_seed(seed)
    no = 10 ** (-10 / 10)
    for _ in range(120):
        messages = torch.randint(0, 16, (256,), generator=gen)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(ae(messages, no, gen), int_to_bits(messages, 4))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return ae.eval()


def _all_zero_blocks(link: BICM, ebno_db: float, batches: int, size: int, scramble: bool) -> tuple[int, int]:
    errors = 0
    for j in range(batches):
        gen = torch.Generator().manual_seed(1000 + j)
        errors += int(link.all_zero_errors(size, system_no(link, ebno_db), gen, scramble=scramble).blocks.sum())
    return errors, batches * size


@pytest.mark.long
def test_all_zero_shortcut_is_exact_with_the_scrambler_and_wrong_without_it():
    ae = _trained_bitwise_ae()
    with torch.no_grad():  # the learned bit channels are asymmetric: the label-0 point is not an average point
        points = ae.transmitter.all_symbols()[:, 0]
    code = LDPC5G(120, 240)
    link = BICM(code, ae, BPDecoder(code, iterations=10), name="ae16-ldpc")
    ebno = 5.0
    (real,) = simulate([link], [ebno], target_errors=10**9, target_metric="block", max_bits=120 * 1500, batch_size=500, seed=3, progress=False)
    scrambled = _all_zero_blocks(link, ebno, 3, 500, scramble=True)
    forced = _all_zero_blocks(link, ebno, 1, 500, scramble=False)
    assert 0.05 < real["bler"] < 0.6, real["bler"]
    z_same = two_proportion_z(real["block_errors"], real["blocks"], *scrambled)
    z_wrong = two_proportion_z(real["block_errors"], real["blocks"], *forced)
    assert abs(z_same) < 3.29, (real["bler"], scrambled, z_same)
    assert abs(z_wrong) > 6, (real["bler"], forced, z_wrong, points[0])


def test_bad_parts_are_refused():
    code = hamming74()
    with pytest.raises(ValueError, match="code must be a BlockCode"):
        BICM(object(), Modem(qam(4)), hard_decision)
    with pytest.raises(ValueError, match="mapper must be a System with bit_llrs"):
        BICM(code, object(), hard_decision)
    with pytest.raises(ValueError, match=r"decoder decodes a \(1500, 750\) code, but code is \(7, 4\)"):
        BICM(code, Modem(qam(4)), BPDecoder(LDPC5G(750, 1500)))
    link = BICM(code, Modem(qam(4)), BPDecoder(code))
    with pytest.raises(ValueError, match=r"bits must be a \[B, 4\] tensor"):
        link.transmit(torch.zeros(2, 7))


def test_noise_level_per_codeword_is_spread_over_its_symbols():
    """``no`` ``[B]`` (one per codeword) reaches every mapper message of that codeword."""
    code = hamming74()
    link = BICM(code, Modem(qam(4)), BPDecoder(code), interleave=False, scramble=False)
    y = torch.ones(2, link.n, dtype=torch.complex64)
    no = torch.tensor([0.1, 1.0])
    llr = link.code_llrs(y, no)
    assert torch.allclose(llr[0], link.code_llrs(y[:1], 0.1)[0]) and torch.allclose(llr[1], link.code_llrs(y[1:], 1.0)[0])
    assert ebno_db_to_no(0.0, 4, link.n) == pytest.approx(link.n / 4)
