"""Codes: the alist reader and writer, LinearCode's systematic encoder, Hamming (7,4) through the BlockCode protocol."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from commae.baselines import Hamming74
from commae.codes import KNOWN_LLR, BlockCode, LinearCode, format_alist, hamming74, parse_alist, read_alist, write_alist

DATA = Path(__file__).parent / "data" / "ldpc"
ALISTS = sorted(DATA.glob("*.alist"))


def _gf2_rank(H: torch.Tensor) -> int:
    """Rank over GF(2) by inserting each row, as a Python integer, into an XOR basis (independent of the library's elimination)."""
    basis: dict[int, int] = {}  # leading bit -> basis vector
    for row in H.tolist():
        v = int("".join(str(b) for b in row), 2)
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = v
                break
            v ^= basis[top]
    return len(basis)


def _syndrome(H: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
    return torch.remainder(words.double() @ H.double().T, 2)


# --------------------------------------------------------------------------- alist


def test_the_shipped_matrices_read_with_their_stated_sizes():
    sizes = {p.name: tuple(read_alist(p).shape) for p in ALISTS}
    assert sizes["WIMAX_288_576.alist"] == (288, 576)
    assert sizes["CCSDS_64_128.alist"] == (64, 128)
    assert sizes["WIFI_540_648.alist"] == (108, 648)
    assert sizes["10GBPS-ETHERNET_1723_2048.alist"] == (384, 2048)
    assert sizes["DEBUG_6_3.alist"] == (3, 6)  # AFF3CT's layout with '#' comment lines


@pytest.mark.parametrize("path", ALISTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("pad", [True, False])
def test_alist_round_trip(path, pad, tmp_path):
    H = read_alist(path)
    out = tmp_path / "H.alist"
    write_alist(out, H, pad=pad)
    assert torch.equal(read_alist(out), H)


def test_random_matrices_round_trip_including_empty_rows_and_columns():
    gen = torch.Generator().manual_seed(1)
    for _ in range(20):
        m, n = torch.randint(1, 9, (2,), generator=gen).tolist()
        H = (torch.rand(m, n, generator=gen) < 0.4).to(torch.uint8)
        H[0, 0] = 1  # at least one 1
        for pad in (True, False):
            assert torch.equal(parse_alist(format_alist(H, pad=pad)), H)


def test_the_variants_found_in_the_wild_read_the_same_matrix():
    H = torch.tensor([[1, 1, 0, 1], [0, 1, 1, 1]], dtype=torch.uint8)
    plain = "4 2\n2 3\n1 2 1 2\n3 3\n1\n1 2\n2\n1 2\n1 2 4\n2 3 4\n"
    assert torch.equal(parse_alist(plain), H)
    variants = {
        "zero padded": "4 2\n2 3\n1 2 1 2\n3 3\n1 0\n1 2\n2 0\n1 2\n1 2 4\n2 3 4\n",
        "trailing whitespace, CRLF, blank lines": "4 2  \r\n2 3\t\r\n\r\n1 2 1 2 \r\n3 3   \r\n1 0 \r\n1 2\r\n2 0\r\n1 2 \r\n1 2 4   \r\n2 3 4\r\n\r\n",
        "comments": "# VN CN\n4 2\n# dmax\n2 3\n1 2 1 2\n3 3\n# VN to CN\n1\n1 2\n2\n1 2\n# CN to VN\n1 2 4\n2 3 4\n",
        "lists wrapped over lines": "4 2\n2 3\n1 2\n1 2\n3 3\n1 1\n2 2 1\n2 1 2\n4 2 3\n4\n",
        "row section omitted": "4 2\n2 3\n1 2 1 2\n3 3\n1\n1 2\n2\n1 2\n",
    }
    for what, text in variants.items():
        assert torch.equal(parse_alist(text), H), what


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("4 2\n2 3\n1 2 1 2\n3 3\n1\n1 2\n2\n1 x\n", 8, "not an integer"),
        ("4 2\n2 3\n1 2 1 2\n3 3\n1\n1 2\n2\n1 5\n", 8, "outside 1..2"),
        ("4 2\n2 3\n1 2 1 2\n3 3\n1\n1 1\n", 6, "twice"),
        ("4 2\n2 3\n1 2 1 2\n3 3\n1\n1 2\n2\n", 7, "ends before"),
        ("4 2\n2 3\n1 2 4 2\n3 3\n", 3, "outside [0, 2]"),
        ("4 2\n2 3\n1 2 1 1\n3 3\n", 4, "sum to"),
        ("4 2\n2 3\n1 2 1 2\n3 3\n1\n1 2\n2\n1 2\n1 2 3\n2 3 4\n", 9, "row 1 lists columns [1, 2, 3]"),
        ("4 2\n2 3\n1 2 1 2\n3 3\n1\n1 2\n2\n1 2\n1 2 4\n2 3 4\n7\n", 11, "unexpected 7"),
        ("0 2\n", 1, "must both be positive"),
    ],
)
def test_a_bad_alist_names_the_file_and_the_line(text, line, says, tmp_path):
    path = tmp_path / "bad.alist"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"bad\.alist, line {line}: .*{says}".replace("[", r"\[").replace("]", r"\]")) as info:
        read_alist(path)
    assert str(path) in str(info.value)


def test_a_binary_file_is_refused_by_name(tmp_path):
    path = tmp_path / "H.alist"
    path.write_bytes(b"4 2\n\xff\xfe")
    with pytest.raises(ValueError, match="H.alist: not an alist file"):
        read_alist(path)


# --------------------------------------------------------------------------- LinearCode


@pytest.mark.parametrize("path", ALISTS, ids=lambda p: p.stem)
def test_every_encoded_word_satisfies_H_and_carries_the_information_bits(path):
    code = LinearCode.from_alist(path)
    H = read_alist(path)
    assert isinstance(code, BlockCode)
    assert (code.n, code.n_graph) == (H.shape[1], H.shape[1])
    assert code.k == H.shape[1] - _gf2_rank(H)
    gen = torch.Generator().manual_seed(7)
    bits = torch.randint(0, 2, (300, code.k), generator=gen).float()
    words = code.encode(bits)
    assert words.dtype == torch.float32 and words.shape == (300, code.n)
    assert bool(((words == 0) | (words == 1)).all())
    assert not _syndrome(H, words).any()
    assert torch.equal(words[:, code.info_positions], bits)
    assert torch.equal(code.info_bits(words), bits)
    assert torch.equal(code.graph_word(bits), words)
    assert not _syndrome(H, code.generator).any()  # H G^T = 0 ...
    assert torch.equal(torch.remainder(bits.double() @ code.generator.double(), 2).float(), words)  # ... and c = uG


def test_the_standard_codes_put_the_information_bits_first():
    for name in ("WIMAX_288_576", "CCSDS_64_128", "WIFI_540_648"):
        code = LinearCode.from_alist(DATA / f"{name}.alist")
        assert code.info_positions.tolist() == list(range(code.k)), name


def test_a_rank_deficient_matrix_gives_k_equal_n_minus_rank():
    ethernet = read_alist(DATA / "10GBPS-ETHERNET_1723_2048.alist")
    assert ethernet.shape[0] == 384 and _gf2_rank(ethernet) == 325  # the 802.3an code: 384 checks of rank 325
    assert LinearCode(ethernet).k == 1723
    gen = torch.Generator().manual_seed(3)
    for _ in range(40):
        m, n = torch.randint(2, 9, (2,), generator=gen).tolist()
        n += 2
        H = (torch.rand(m, n, generator=gen) < 0.5).to(torch.uint8)
        H = torch.cat([H, H[:1] ^ H[-1:], torch.zeros(1, n, dtype=torch.uint8)])  # a dependent row and an empty one
        rank = _gf2_rank(H)
        if rank == n:
            continue
        code = LinearCode(H)
        assert code.k == n - rank
        # brute force: the code has exactly 2^k words, the encoder's
        words = torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)))
        codewords = words[~_syndrome(H, words).bool().any(1)]
        assert codewords.shape[0] == 2**code.k
        infos = torch.tensor(list(itertools.product([0.0, 1.0], repeat=code.k)))
        encoded = code.encode(infos)
        assert {tuple(w) for w in encoded.tolist()} == {tuple(w) for w in codewords.tolist()}


def test_hamming74_is_the_baseline_code_through_the_protocol():
    code = hamming74()
    assert (code.k, code.n) == (4, 7)
    messages = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)))
    assert torch.equal(code.encode(messages), Hamming74("hard").encode(messages))
    assert torch.equal(code.parity_check, torch.tensor([[1, 1, 0, 1, 1, 0, 0], [1, 0, 1, 1, 0, 1, 0], [0, 1, 1, 1, 0, 0, 1]], dtype=torch.uint8))


def test_the_encoder_follows_the_input_device_and_dtype(device):
    code = LinearCode.from_alist(DATA / "CCSDS_64_128.alist")
    bits = torch.randint(0, 2, (50, code.k), device=device).double()
    words = code.encode(bits)
    assert words.device.type == device.type and words.dtype == torch.float64
    assert not _syndrome(code.parity_check.to(device), words).any()
    llr = torch.randn(5, code.n, device=device)
    assert code.graph_llrs(llr) is llr
    assert KNOWN_LLR > 100


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="only 0 and 1"):
        LinearCode([[1, 2, 0]])
    with pytest.raises(ValueError, match=r"2-D \[M, N\]"):
        LinearCode([1, 0, 1])
    with pytest.raises(ValueError, match="k = 0"):
        LinearCode(torch.eye(3))
    code = hamming74()
    with pytest.raises(ValueError, match=r"bits must be a \[B, 4\]"):
        code.encode(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="float tensor"):
        code.encode(torch.zeros(2, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"llr must be a \[B, 7\]"):
        code.graph_llrs(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"word must be a \[B, 7\]"):
        code.info_bits(torch.zeros(7))
