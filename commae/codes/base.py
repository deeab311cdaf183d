r"""What a decoder and a coded link need of a block code: the :class:`BlockCode` protocol.

A code maps ``k`` information bits to ``n`` *transmitted* code bits. Its
decoder works on a Tanner graph of ``n_graph`` variable nodes (the parity-check
matrix :math:`H`, ``[m, n_graph]``), which may differ from the ``n``
transmitted bits: a 5G NR LDPC code has filler (known-zero) bits that are
never sent, punctures its first :math:`2Z` systematic bits and selects ``n``
bits of the circular buffer; a plain alist code has ``n_graph == n``. The
code, not the decoder, knows this mapping (:meth:`BlockCode.graph_llrs`,
:meth:`BlockCode.info_bits`), so one decoder serves every code.

Conventions (those of :mod:`commae.snr`): bits are float tensors in {0, 1},
batch first; an LLR is :math:`\ln P(b=1\mid y) / P(b=0\mid y)` (a logit), so a
bit known to be 0 has LLR :math:`-\infty`, represented by ``-KNOWN_LLR``, and a
bit never sent (punctured) has LLR 0.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

__all__ = ["BlockCode", "KNOWN_LLR"]

#: Magnitude of the LLR given to a bit whose value is known (filler / shortened bits); finite so sums stay finite in float32.
KNOWN_LLR = 1.0e4


@runtime_checkable
class BlockCode(Protocol):
    """A binary linear block code as the encoder, the decoders and BICM see it.

    Attributes
    ----------
    k : int
        Information bits per codeword.
    n : int
        Transmitted code bits per codeword (rate ``k / n``).
    n_graph : int
        Variable nodes of the Tanner graph the decoder runs on.
    parity_check : torch.Tensor
        ``[m, n_graph]`` ``torch.uint8`` in {0, 1}: every graph word ``c`` with
        ``H c = 0 (mod 2)`` is a codeword. Dense; decoders derive their edge lists from it.
    """

    k: int
    n: int
    n_graph: int
    parity_check: torch.Tensor

    def encode(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits ``[B, k]`` (float {0, 1}) to transmitted code bits ``[B, n]`` (float {0, 1}, same dtype/device)."""
        ...

    def graph_word(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits ``[B, k]`` to the full graph word ``[B, n_graph]`` (satisfies ``H c = 0``)."""
        ...

    def graph_llrs(self, llr: torch.Tensor) -> torch.Tensor:
        """Channel LLRs of the transmitted bits ``[B, n]`` to decoder input LLRs ``[B, n_graph]``.

        Known (filler) bits get ``-KNOWN_LLR``, punctured bits 0, repeated bits the sum of their LLRs.
        """
        ...

    def info_bits(self, word: torch.Tensor) -> torch.Tensor:
        """A graph word ``[B, n_graph]`` (hard bits, float {0, 1}) to its information bits ``[B, k]``."""
        ...
