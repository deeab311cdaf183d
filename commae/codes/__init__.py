"""Binary linear block codes for coded links: the :class:`BlockCode` protocol, codes, decoders, BICM."""

from __future__ import annotations

from .alist import format_alist, parse_alist, read_alist, write_alist
from .base import KNOWN_LLR, BlockCode
from .bp import ALGORITHMS, SCHEDULES, BPDecoder, BPResult
from .interleaver import Interleaver, Scrambler
from .ldpc5g import LDPC5G
from .linear import LinearCode, gf2_row_echelon, hamming74

__all__ = [
    "BlockCode",
    "KNOWN_LLR",
    "LinearCode",
    "LDPC5G",
    "Interleaver",
    "Scrambler",
    "hamming74",
    "gf2_row_echelon",
    "read_alist",
    "parse_alist",
    "write_alist",
    "format_alist",
    "BPDecoder",
    "BPResult",
    "ALGORITHMS",
    "SCHEDULES",
]
