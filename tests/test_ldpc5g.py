"""5G NR LDPC codes (commae.codes.ldpc5g) against TS 38.212 and independent references.

* The base-graph tables: sizes, edge counts, shift ranges and the core /
  extension structure the standard's figures show.
* The selection rule (base graph, K_b, Z, i_LS, fillers) on cases derived by
  hand from TS 38.212 §5.2.2 / §7.2.2 / Table 5.3.2-1, and the errors outside
  the supported range.
* H c = 0 for random codewords of every class: both base graphs, all eight
  lifting-size sets, with and without filler bits, n within and beyond the
  circular buffer (every lifting size of the table in the long set).
* The encoder against generator matrices of Sionna's test suite
  (tests/data/ldpc5g/), an implementation independent of this one.
* Rate matching against the standard's bit-selection loop (§5.4.2.1) written
  out literally, and graph_llrs as its inverse (repetitions summed).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from commae.codes import KNOWN_LLR, BlockCode
from commae.codes.ldpc5g import LDPC5G, LIFTING_SIZES, _table
from commae.snr import ebno_db_to_no

DATA = Path(__file__).parent / "data" / "ldpc5g"
ALL_Z = sorted(z for sizes in LIFTING_SIZES for z in sizes)


def _syndrome(code: LDPC5G, word: torch.Tensor) -> torch.Tensor:
    """``H word mod 2`` from the code's dense parity-check matrix, ``[B, m]``."""
    rows, cols = code.parity_check.to(word.device).nonzero(as_tuple=True)
    return torch.zeros(word.shape[0], code.parity_check.shape[0], dtype=word.dtype, device=word.device).index_add_(1, rows, word[:, cols]) % 2


def _bit_selection(code: LDPC5G) -> list[int]:
    """TS 38.212 §5.4.2.1 bit selection (rv 0: k0 = 0, N_cb = N), literally, as graph positions.

    The buffer ``d`` is the mother codeword without its first 2Z bits (``d_j = c_{j + 2Z}``);
    filler bits are <NULL> and skipped.
    """
    z, big_k = code.lifting_size, code.k + code.num_fillers
    n_cb = (66 if code.base_graph == 1 else 50) * z
    e, k0 = [], 0
    kk = j = 0
    while kk < code.n:
        position = (k0 + j) % n_cb + 2 * z
        if not code.k <= position < big_k:  # d_{(k0 + j) mod Ncb} != <NULL>
            e.append(position)
            kk += 1
        j += 1
    return e


def _prev_z(z: int) -> int:
    return max([0] + [x for x in ALL_Z if x < z])


def _classes(every_z: bool) -> list[tuple[int, int, int, int, bool, bool]]:
    """(k, n, base graph, i_LS, with fillers, beyond the buffer) covering every class.

    ``every_z``: every lifting size of the table (where the selection rule can reach it);
    otherwise the smallest reachable one of each set.
    """
    out = []
    for s, sizes in enumerate(LIFTING_SIZES):
        # base graph 1 needs k > 292 (K_b = 22); within the buffer at rate > 0.67, beyond it only for k > 3824
        bg1 = [z for z in sizes if 22 * z > 292]
        for z in bg1 if every_z else bg1[:1]:
            for k in (22 * z, 22 * z - 3):
                out.append((k, math.ceil(k / 0.8), 1, s, k < 22 * z, False))
        rep = [z for z in sizes if 22 * z - 3 > 3824]
        for z in rep if every_z else []:
            for k in (22 * z, 22 * z - 3):
                out.append((k, 66 * z - (22 * z - k) + 29, 1, s, k < 22 * z, True))
        # base graph 2, K_b = 6 (k <= 192, always fillers): rate 1/2 within the buffer, beyond it by 11 bits
        bg2 = [z for z in sizes if 6 * z <= 192 and 6 * z - 2 > 6 * _prev_z(z)]
        for z in bg2 if every_z else bg2[1:2]:
            k = 6 * z - 2
            out += [(k, 2 * k, 2, s, True, False), (k, 50 * z - (10 * z - k) + 11, 2, s, True, True)]
        # base graph 2, K_b = 10 (k > 640): without fillers
        big = [z for z in sizes if 640 < 10 * z <= 3840]
        for z in big if every_z else []:
            out.append((10 * z, 50 * z + 5, 2, s, False, True))  # rate < 1/4: BG2 up to k = 3840
            if 10 * z <= 3824:  # rate 1/2: BG2 only up to k = 3824
                out.append((10 * z, 20 * z, 2, s, False, False))
    if not every_z:
        out += [(720, 1440, 2, 4, False, False), (720, 3605, 2, 4, False, True), (200, 400, 2, 6, True, False), (600, 1200, 2, 4, True, False)]
    return out


CLASSES = _classes(every_z=False)
CLASSES_EVERY_Z = [c for c in _classes(every_z=True) if c not in CLASSES]


# ---- the tables ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bg, rows, cols, edges", [(1, 46, 68, 316), (2, 42, 52, 197)])
def test_base_graph_tables_have_the_standards_size_and_structure(bg, rows, cols, edges):
    table = _table(bg)
    assert table.shape == (edges, 10)
    assert table[:, 0].max() + 1 == rows and table[:, 1].max() + 1 == cols
    assert len({(i, j) for i, j in table[:, :2]}) == edges  # no entry twice
    # each set's shifts are designed for its largest Z: 0 <= V < max Z of the set
    for s, sizes in enumerate(LIFTING_SIZES):
        assert 0 <= table[:, 2 + s].min() and table[:, 2 + s].max() < max(sizes)
    kb = {1: 22, 2: 10}[bg]
    # extension (rows >= 4): an identity (shift 0) on its own parity column, which nothing else touches
    extension = table[table[:, 1] >= kb + 4]
    np.testing.assert_array_equal(extension[:, 0], np.arange(4, rows))
    np.testing.assert_array_equal(extension[:, 1], kb + np.arange(4, rows))
    assert (extension[:, 2:] == 0).all()
    # core: the weight-3 first parity column, then a double diagonal of shift-0 identities (Richardson & Kudekar 2018)
    core = {(int(i), int(j) - kb): tuple(int(v) for v in t) for i, j, *t in table[(table[:, 0] < 4) & (table[:, 1] >= kb)]}
    expected_first = {1: {0: 1, 1: 0, 3: 1}, 2: {0: 0, 2: 1, 3: 0}}[bg]  # row: shift of the first parity column, most sets
    special = {1: {6: {0: 0, 1: 105, 3: 0}}, 2: {3: {0: 1, 2: 0, 3: 1}, 7: {0: 1, 2: 0, 3: 1}}}[bg]  # the sets that differ
    for s in range(8):
        assert {i: v[s] for (i, q), v in core.items() if q == 0} == special.get(s, expected_first)
    assert {key for key in core if key[1] > 0} == {(0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3)}
    assert all(v == (0,) * 8 for key, v in core.items() if key[1] > 0)


# ---- selection rule and range ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "k, n, bg, z, set_index, fillers",
    [
        (750, 1500, 2, 80, 2, 50),  # the tutorial's code: R = 0.5 <= 0.67, k <= 3824 -> BG2; k > 640 -> K_b = 10; 10 Z >= 750 -> Z = 80
        (8448, 16896, 1, 384, 1, 0),  # k > 3824, R > 1/4 -> BG1; 22 Z >= 8448 -> Z = 384
        (292, 320, 2, 40, 2, 108),  # k <= 292 -> BG2 at any rate; K_b = 8; 8 Z >= 292 -> 40 (36 < 36.5)
        (293, 400, 1, 14, 3, 15),  # R = 0.73 > 0.67 -> BG1; 22 Z >= 293 -> 14
        (3824, 5708, 2, 384, 1, 16),  # R = 0.66994 <= 0.67 -> BG2
        (3824, 5707, 1, 176, 5, 48),  # R = 0.67005 > 0.67 -> BG1
        (3825, 15300, 2, 384, 1, 15),  # k > 3824 but R = 1/4 -> BG2
        (3825, 15299, 1, 176, 5, 47),  # R just above 1/4 -> BG1
        (3840, 7680, 1, 176, 5, 32),
        (100, 300, 2, 18, 4, 80),  # K_b = 6 (k <= 192): 6 Z >= 100 -> 18
        (192, 400, 2, 32, 0, 128),  # K_b = 6 at the boundary
        (193, 400, 2, 26, 6, 67),  # K_b = 8: 8 Z >= 193 -> 26
        (560, 1000, 2, 72, 4, 160),  # K_b = 8: 8 Z >= 560 -> 72
        (561, 1200, 2, 64, 0, 79),  # K_b = 9: 9 Z >= 561 -> 64
        (641, 1300, 2, 72, 4, 79),  # K_b = 10: 10 Z >= 641 -> 72
        (80, 200, 2, 14, 3, 60),  # K_b = 6: 6 Z >= 80 -> 14
        (330, 400, 1, 15, 7, 0),  # 22 Z >= 330 -> 15
        (1, 2, 2, 2, 0, 19),  # the smallest code block
    ],
)
def test_selection_rule(k, n, bg, z, set_index, fillers):
    code = LDPC5G(k, n)
    assert (code.base_graph, code.lifting_size, code.set_index, code.num_fillers) == (bg, z, set_index, fillers)
    assert isinstance(code, BlockCode)
    assert code.parity_check.dtype == torch.uint8 and code.parity_check.shape[1] == code.n_graph


@pytest.mark.parametrize(
    "k, n, match",
    [
        (0, 10, r"k must be in \[1, 8448\].*k=0"),
        (8449, 20000, r"k must be in \[1, 8448\].*k=8449"),
        (95, 99, r"n must be at least 100 for k=95 \(rate k/n <= 0.95"),
        (3841, 15364, r"\(k, n\) = \(3841, 15364\).*base graph 2.*at most 3840"),
        (750.0, 1500, r"k must be an integer, got 750.0"),
        (750, "1500", r"n must be an integer"),
        (True, 1500, r"k must be an integer"),
    ],
)
def test_unsupported_k_n_raise_naming_the_range(k, n, match):
    with pytest.raises(ValueError, match=match):
        LDPC5G(k, n)


def test_range_boundaries_are_accepted():
    assert LDPC5G(95, 100).n == 100  # rate exactly 0.95
    assert LDPC5G(3841, 15363).base_graph == 1  # rate just above 1/4
    assert LDPC5G(3840, 15360).base_graph == 2  # rate 1/4 at BG2's largest block
    assert LDPC5G(8448, 8893).base_graph == 1


def test_inputs_of_the_wrong_shape_raise():
    code = LDPC5G(100, 300)
    with pytest.raises(ValueError, match=r"bits must have shape \[B, 100\]"):
        code.encode(torch.zeros(2, 99))
    with pytest.raises(ValueError, match=r"llr must have shape \[B, 300\]"):
        code.graph_llrs(torch.zeros(300))
    with pytest.raises(ValueError, match=r"word must have shape \[B, "):
        code.info_bits(torch.zeros(2, 300))


# ---- encoding -----------------------------------------------------------------------------------------------------------


def _check_codewords(k, n, bg, set_index, fillers, repeats, batch=16):
    code = LDPC5G(k, n)
    assert (code.base_graph, code.set_index, code.num_fillers > 0, n > code.buffer_size) == (bg, set_index, fillers, repeats)
    gen = torch.Generator().manual_seed(k * 100_003 + n)
    bits = torch.randint(0, 2, (batch, k), generator=gen).float()
    word = code.graph_word(bits)
    assert word.shape == (batch, code.n_graph) and word.dtype == torch.float32
    assert word.any(1).all() and not torch.equal(word[0], word[1])  # real codewords, not all zeros
    assert code._core_solve.shape[1] <= 6  # the core's inverse: at most six row sums per core parity bit (docs)
    assert (_syndrome(code, word) == 0).all()
    z = code.lifting_size
    torch.testing.assert_close(code.info_bits(word), bits, rtol=0, atol=0)
    assert (word[:, k : k + code.num_fillers] == 0).all()
    sent = code.encode(bits)
    assert sent.shape == (batch, n)
    # the systematic bits after the 2Z punctured ones lead the transmitted word
    torch.testing.assert_close(sent[:, : max(k - 2 * z, 0)], bits[:, 2 * z :], rtol=0, atol=0)


@pytest.mark.parametrize("k, n, bg, set_index, fillers, repeats", CLASSES)
def test_every_codeword_satisfies_the_parity_checks(k, n, bg, set_index, fillers, repeats):
    _check_codewords(k, n, bg, set_index, fillers, repeats)


def test_the_default_classes_cover_both_graphs_all_sets_fillers_and_repetition():
    seen = {(bg, s) for _, _, bg, s, _, _ in CLASSES}
    assert seen == {(bg, s) for bg in (1, 2) for s in range(8)}
    assert {(bg, f, r) for _, _, bg, _, f, r in CLASSES} == {(1, True, False), (1, False, False), (2, True, False), (2, True, True), (2, False, False), (2, False, True)}
    # BG1 beyond the buffer needs k > 3824 (else the rule picks BG2), so Z >= 176: in the long set
    assert any(bg == 1 and r for _, _, bg, _, _, r in CLASSES_EVERY_Z)


@pytest.mark.long
@pytest.mark.parametrize("k, n, bg, set_index, fillers, repeats", CLASSES_EVERY_Z)
def test_every_lifting_size_gives_codewords(k, n, bg, set_index, fillers, repeats):
    _check_codewords(k, n, bg, set_index, fillers, repeats, batch=4)


@pytest.mark.parametrize("key", sorted(np.load(DATA / "sionna_generators.npz").files))
def test_encoder_matches_reference_generator_matrices(key):
    """Sionna's reference matrices, an independent implementation of the same procedure (tests/data/ldpc5g/README.md)."""
    positions = np.load(DATA / "sionna_generators.npz")[key].astype(np.int64)
    k, n = (int(x) for x in key[1:].split("_n"))
    generator = torch.zeros(k, n)
    generator[positions[0] - 1, positions[1] - 1] = 1
    bits = torch.randint(0, 2, (32, k), generator=torch.Generator().manual_seed(k)).float()
    torch.testing.assert_close(LDPC5G(k, n).encode(bits), (bits @ generator) % 2, rtol=0, atol=0)


def test_encoding_is_linear_and_follows_dtype_and_device(device):
    code = LDPC5G(750, 1500)
    gen = torch.Generator().manual_seed(5)
    a, b = (torch.randint(0, 2, (8, 750), generator=gen).double().to(device) for _ in range(2))
    sent = code.encode(a)
    assert sent.dtype == torch.float64 and sent.device.type == device.type
    torch.testing.assert_close(code.encode((a + b) % 2), (sent + code.encode(b)) % 2, rtol=0, atol=0)
    assert (_syndrome(code, code.graph_word(a)) == 0).all()
    torch.testing.assert_close(code.encode(a).cpu(), code.encode(a.cpu()), rtol=0, atol=0)


# ---- rate matching ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k, n", [(750, 1500), (750, 4100), (1, 2), (1, 100), (64, 128), (3825, 15299), (8448, 8893), (100, 2500)])
def test_rate_matching_is_the_standards_bit_selection(k, n):
    code = LDPC5G(k, n)
    positions = _bit_selection(code)
    assert code.transmitted.tolist() == positions
    bits = torch.randint(0, 2, (6, k), generator=torch.Generator().manual_seed(n)).float()
    word = code.graph_word(bits)
    torch.testing.assert_close(code.encode(bits), word[:, positions], rtol=0, atol=0)
    # graph_llrs inverts it: +-1 LLRs (LLR > 0 means 1) come back on the graph, repeated bits summed
    llr = 2 * code.encode(bits) - 1
    back = code.graph_llrs(llr)
    times = torch.bincount(torch.tensor(positions), minlength=code.n_graph).float()
    expected = times * (2 * word - 1)
    expected[:, k : k + code.num_fillers] = -KNOWN_LLR
    torch.testing.assert_close(back, expected, rtol=0, atol=0)
    assert (times[: 2 * code.lifting_size] == 0).all() and (times[k : k + code.num_fillers] == 0).all()  # punctured, fillers
    assert times.max() == 1 if n <= code.buffer_size else times.max() >= 2


def test_graph_llrs_follow_dtype_and_device(device):
    code = LDPC5G(750, 1500)
    llr = torch.randn(3, 1500, dtype=torch.float64, device=device)
    out = code.graph_llrs(llr)
    assert out.dtype == torch.float64 and out.device.type == device.type and out.shape == (3, code.n_graph)


# ---- the pruned graph ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k, n", [(750, 1500), (100, 260), (293, 400)])
def test_pruned_graph_is_the_mother_codes_leading_block(k, n):
    pruned, full = LDPC5G(k, n), LDPC5G(k, n, prune=False)
    z, cols = pruned.lifting_size, {1: 68, 2: 52}[pruned.base_graph]
    assert full.n_graph == cols * z and full.parity_check.shape == ((cols - {1: 22, 2: 10}[pruned.base_graph]) * z, cols * z)
    m, n_graph = pruned.parity_check.shape
    assert n_graph < full.n_graph
    torch.testing.assert_close(full.parity_check[:m, :n_graph], pruned.parity_check, rtol=0, atol=0)
    assert not full.parity_check[:m, n_graph:].any()  # the kept checks touch no removed bit
    # every removed bit is an untransmitted parity bit of degree 1 in its own removed check
    assert (full.parity_check[:, n_graph:].sum(0) == 1).all()
    assert int(pruned.transmitted.max()) < n_graph and torch.equal(pruned.transmitted, full.transmitted)
    bits = torch.randint(0, 2, (5, k), generator=torch.Generator().manual_seed(3)).float()
    torch.testing.assert_close(pruned.encode(bits), full.encode(bits), rtol=0, atol=0)
    torch.testing.assert_close(full.graph_word(bits)[:, :n_graph], pruned.graph_word(bits), rtol=0, atol=0)


def test_the_tutorial_codes_graph_size():
    """(750, 1500), Z = 80: 1500 sent = 590 systematic (800 - 160 punctured - 50 fillers) + 910 parity, 320 of them core.

    So 590 extension bits: block rows 4-10 whole and 30 checks of row 11. Table 5.3.2-3 has 36 entries
    in rows 0-3, 36 in rows 4-10 and 5 in row 11: 80 (36 + 36) + 30 * 5 = 5910 edges, against the mother
    code's 197 * 80 = 15760.
    """
    code = LDPC5G(750, 1500)
    assert code.parity_check.shape == (4 * 80 + 590, 800 + 4 * 80 + 590)
    assert code.buffer_size == 50 * 80 - 50
    assert int(code.parity_check.sum()) == 5910
    assert int(LDPC5G(750, 1500, prune=False).parity_check.sum()) == 197 * 80


# ---- decoding (needs commae.codes.bp, the generic BP decoder of issue 24) ---------------------------------------------


def _bpsk_llrs(code: LDPC5G, bits: torch.Tensor, ebno_db: float, gen: torch.Generator) -> torch.Tensor:
    """BPSK ``x = 1 - 2c`` over real AWGN at Eb/N0 per information bit: LLR ``ln P(1)/P(0) = -4 y / N0``."""
    no = ebno_db_to_no(ebno_db, k=code.k, n=code.n)  # one coded bit per use: r = k / n information bits per use
    x = 1 - 2 * code.encode(bits)
    y = x + torch.randn(x.shape, generator=gen) * math.sqrt(no / 2)
    return -4 * y / no


def _decoder(code: LDPC5G, **kwargs):
    bp = pytest.importorskip("commae.codes.bp", reason="the BP decoder (commae.codes.bp) has not landed")
    return bp.BPDecoder(code, "sum-product", "flooding", 20, **kwargs)


def test_pruning_changes_no_message_of_belief_propagation():
    """Without early stop, BP on the pruned graph and on the mother code give the kept bits the same a-posteriori LLRs, bit for bit."""
    pruned, full = LDPC5G(750, 1500), LDPC5G(750, 1500, prune=False)
    gen = torch.Generator().manual_seed(11)
    bits = torch.randint(0, 2, (64, 750), generator=gen).float()
    llr = _bpsk_llrs(pruned, bits, 1.0, gen)  # in the waterfall (32 of the 64 fail here), all take many iterations
    a, b = _decoder(pruned, early_stop=False).decode(llr), _decoder(full, early_stop=False).decode(llr)
    torch.testing.assert_close(a.llr, b.llr[:, : pruned.n_graph], rtol=0, atol=0)
    assert 0 < int((a.bits != bits).any(1).sum()) < 64


def test_the_tutorial_code_decodes_without_error_at_high_snr():
    code = LDPC5G(750, 1500)
    gen = torch.Generator().manual_seed(12)
    bits = torch.randint(0, 2, (200, 750), generator=gen).float()
    llr = _bpsk_llrs(code, bits, 3.0, gen)
    assert ((llr > 0).float() != code.encode(bits)).any(1).all()  # every word arrives with bit errors
    result = _decoder(code).decode(llr)
    assert torch.equal(result.bits, bits) and bool(result.satisfied.all())


@pytest.mark.long
@pytest.mark.parametrize(
    "k, n, ebno_db, ref_errors, ref_blocks, blocks",
    [
        (64, 128, 2.0, 1547, 10000, 8000),  # Sionna "5G LDPC BP-20", k = 64, n = 128
        (500, 1000, 1.75, 509, 27000, 12000),  # Sionna "5G LDPC BP-20 (n=1000)"
    ],
)
def test_block_error_rate_matches_sionnas_published_curve(k, n, ebno_db, ref_errors, ref_blocks, blocks):
    """Against the block error counts Sionna's tutorial 5G_Channel_Coding_Polar_vs_LDPC_Codes.ipynb prints (release v1.2.1).

    There: LDPC5GEncoder/LDPC5GDecoder (sum-product, 20 iterations), Gray QPSK over AWGN (two BPSKs, the same
    per-bit channel as BPSK here). Two binomial proportions, pooled two-sided z test at level 0.001.
    """
    code = LDPC5G(k, n)
    decoder = _decoder(code)
    gen = torch.Generator().manual_seed(k + n)
    errors = 0
    for _ in range(blocks // 1000):
        bits = torch.randint(0, 2, (1000, k), generator=gen).float()
        errors += int((decoder(_bpsk_llrs(code, bits, ebno_db, gen)) != bits).any(1).sum())
    pooled = (errors + ref_errors) / (blocks + ref_blocks)
    z = (errors / blocks - ref_errors / ref_blocks) / math.sqrt(pooled * (1 - pooled) * (1 / blocks + 1 / ref_blocks))
    assert abs(z) < 3.29, f"commae {errors}/{blocks}, Sionna {ref_errors}/{ref_blocks}: z = {z:.2f}"
