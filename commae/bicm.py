r"""Bit-interleaved coded modulation: a block code, a scrambler, an interleaver and a mapper as one :class:`~commae.system.System`.

:class:`BICM` ``(code, mapper, decoder)`` sends one codeword per message:

.. code-block:: text

    info bits u [B, k] -> code.encode -> c [B, n_code] -> pad to m·b bits (zeros)
      -> scramble (c XOR s) -> interleave (π) -> m labels of b bits -> mapper.transmit -> x [B, m·n_map]
    y -> mapper.bit_llrs -> LLRs [B, m·b] -> deinterleave -> descramble (signs) -> drop padding
      -> decoder -> û [B, k]

with ``b = mapper.k`` bits and ``n_map = mapper.n`` channel uses per mapper
message and ``m = ceil(n_code / b)`` mapper messages per codeword.

Conventions
-----------
* **LLR sign**: :math:`L = \ln P(b{=}1 \mid y) / P(b{=}0 \mid y)` everywhere
  (:mod:`commae.snr`): the mapper's ``bit_llrs``, the descrambled LLRs and
  the decoder's input. Gray QAM/PSK modems give exact-APP or max-log LLRs
  (:meth:`commae.baselines.Modem.bit_llrs`, by their ``demapping``); a learned
  system its bit-wise receiver's logits, or its symbol-wise posteriors
  marginalised over the bit labels (:meth:`commae.models.Autoencoder.bit_llrs`).
* **Rate**: as a System, ``k = code.k`` information bits per message (the
  codeword) in ``n = m · n_map`` channel uses, so the engine's Eb/N0 is per
  *information* bit — :math:`E_b = n / k` for unit energy per use, code rate
  and padding included (:func:`commae.snr.ebno_db_to_no` with ``k`` and
  ``n``). ``bits_per_symbol = k``: the SER of a coded row is its block
  (codeword) error rate.
* **Padding**: when ``n_code`` is not a multiple of ``b`` the word is padded
  with ``m·b - n_code`` zeros before scrambling (so they are sent as known
  pseudo-random bits); the receiver drops their LLRs. They cost energy, which
  the rate above counts. :attr:`BICM.padding` says how many.
* **Interleaver and scrambler**: :mod:`commae.codes.interleaver` (how they
  are seeded, and why the results do not depend on how the engine batches).
  ``interleave="random"`` (the default) is a seeded random permutation;
  ``interleave="nr"`` is 5G NR's row-column interleaver (TS 38.212
  §5.4.2.2) with its rows on the mapper's label positions from the most
  reliable to the least, as :func:`reliability_order` measures them at the
  link's ``design_ebno_db``. Any padding is the end of the word, so it sits
  at the end of the last row, on the least reliable position.

The all-zero-codeword shortcut is not used by :meth:`BICM.transmit`: the
engine's random information bits are really encoded. It exists as one
declared method, :meth:`BICM.all_zero_errors`, exact with a fresh scrambler
sequence per codeword (see there), and wrong without one over any
constellation whose bit channels are not symmetric (``tests/test_bicm.py``
shows both).

Examples
--------
>>> from commae import Modem, qam
>>> from commae.codes.ldpc5g import LDPC5G
>>> from commae.codes.bp import BPDecoder
>>> code = LDPC5G(100, 200)
>>> link = BICM(code, Modem(qam(16)), BPDecoder(code, iterations=10), name="qam16-ldpc")
>>> link.k, link.n, link.padding
(100, 50, 0)
>>> nr = BICM(code, Modem(qam(16)), BPDecoder(code, iterations=10), interleave="nr", design_ebno_db=4.0, reliability_samples=20_000)
>>> nr.label_order  # the two sign bits (I and Q) first
[0, 2, 1, 3]
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .channels import seed_from_text, split_channel_output
from .codes.base import BlockCode
from .codes.interleaver import Interleaver, Scrambler
from .constellations import int_to_bits
from .snr import ebno_db_to_no

__all__ = ["BICM", "AllZeroErrors", "INTERLEAVERS", "reliability_order"]

#: What ``BICM(interleave=...)`` takes by name (and ``commae ber-curve --interleaver``): a seeded random permutation, or 5G NR's row-column interleaver with its rows ranked by label reliability.
INTERLEAVERS = ("random", "nr")
#: Symbols :func:`reliability_order` draws unless told (the reliability order of a link with ``interleave="nr"``).
RELIABILITY_SAMPLES = 200_000


class AllZeroErrors(NamedTuple):
    """Errors of one batch of the all-zero shortcut: information bits ``[B, k]`` and blocks ``[B]`` (bool)."""

    bits: torch.Tensor
    blocks: torch.Tensor


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _on_cpu(mapper: nn.Module) -> nn.Module:
    """``mapper`` itself when its tensors are on the CPU, else a CPU copy (so that a seed gives one order on every device)."""
    if all(t.device.type == "cpu" for t in (*mapper.parameters(), *mapper.buffers())):
        return mapper
    return copy.deepcopy(mapper).cpu()


@torch.no_grad()
def reliability_order(mapper: nn.Module, no: float, *, samples: int = RELIABILITY_SAMPLES, seed: int = 0) -> list[int]:
    r"""``mapper``'s label positions from the most reliable to the least, by the BCE of its own bit LLRs.

    ``samples`` labels of ``mapper.k`` i.i.d. fair bits are sent through the
    mapper's channel at linear N0 ``no``; position :math:`j` is scored by
    the mean binary cross-entropy of its LLRs,
    :math:`\overline{\mathrm{BCE}}_j`, which estimates
    :math:`1 - I(C_j; Y)` in nats when the LLRs are exact (a Gray modem with
    APP demapping) and the loss of the mapper's own demapper otherwise (a
    learned receiver's logits): the bits its decoder will get. Positions
    are sorted by ascending BCE, ties by position.

    Parameters
    ----------
    mapper : nn.Module
        A System with ``bit_llrs(y, no, h)`` (a :class:`~commae.baselines.Modem`
        or an :class:`~commae.models.Autoencoder`), on its own channel.
    no : float
        Linear N0 of the design point (for a coded link's Eb/N0,
        :func:`commae.snr.ebno_db_to_no` with the link's ``k`` and ``n``).
    samples : int
        Labels drawn [default: 200,000].
    seed : int
        The draws come from a CPU generator seeded by
        ``seed_from_text(f"commae:{seed}:reliability")`` (labels, then the
        channel's noise), on a CPU copy of a mapper held elsewhere: the same
        seed gives the same order on every device.

    Returns
    -------
    list of int
        A permutation of ``range(mapper.k)``: what
        :meth:`Interleaver.row_column <commae.codes.interleaver.Interleaver.row_column>`
        takes as ``levels``.

    Examples
    --------
    >>> from commae import Modem, qam
    >>> reliability_order(Modem(qam(64)), no=0.05, samples=20_000)  # I bits 0-2, Q bits 3-5, the sign first
    [0, 3, 4, 1, 2, 5]
    """
    samples = _positive_int(samples, "samples")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if not math.isfinite(float(no)) or float(no) <= 0:
        raise ValueError(f"no must be a positive linear N0, got {no!r}")
    mapper = _on_cpu(mapper)
    bits = _positive_int(mapper.k, "mapper.k")
    gen = torch.Generator().manual_seed(seed_from_text(f"commae:{seed}:reliability"))
    labels = torch.randint(0, 2, (samples, bits), generator=gen).float()
    y, h = split_channel_output(mapper.channel, mapper.channel(mapper.transmit(labels), no, generator=gen))
    bce = F.binary_cross_entropy_with_logits(mapper.bit_llrs(y, no, h).float(), labels, reduction="none").mean(0)
    return [int(j) for j in torch.argsort(bce, stable=True)]


class BICM(nn.Module):
    r"""A coded link: ``code`` → scrambler → interleaver → ``mapper`` → channel → LLRs → ``decoder``; a :class:`~commae.system.System`.

    Parameters
    ----------
    code : BlockCode
        The code (:class:`~commae.codes.base.BlockCode`: ``k``, ``n``, ``encode``).
    mapper : System
        What sends the code bits: a :class:`~commae.baselines.Modem` or a
        trained :class:`~commae.models.Autoencoder` — any System with a
        ``bit_llrs(y, no, h)`` method giving LLRs ``[B, mapper.k]`` in
        commae's sign. Its ``channel`` is the link's.
    decoder : callable
        Channel LLRs ``[B, code.n]`` to information bits ``[B, code.k]``,
        e.g. :class:`~commae.codes.bp.BPDecoder` ``(code, ...)``. When it
        has a ``code`` attribute, that code's ``(k, n)`` must be ``code``'s.
    interleave : {"random", "nr"}, bool or Interleaver
        How the (padded) code bits are permuted: ``"random"`` (or True) with
        :class:`~commae.codes.interleaver.Interleaver` ``(code_bits, seed)``;
        ``"nr"`` with 5G NR's row-column interleaver
        (:meth:`Interleaver.row_column <commae.codes.interleaver.Interleaver.row_column>`,
        TS 38.212 §5.4.2.2), its rows (the word's consecutive ``1/b``-ths,
        the systematic bits of a 5G word first) on the mapper's label
        positions from the most reliable to the least, as
        :func:`reliability_order` ranks them at ``design_ebno_db``; False: not
        at all; an Interleaver (of ``code_bits`` positions): that one.
    design_ebno_db : float, optional
        With ``interleave="nr"`` (and only then; it is required there): the
        Eb/N0 in dB at which the label positions are ranked, per information
        bit of this link, as the engine counts it (N0 from
        :func:`commae.snr.ebno_db_to_no` with the link's ``k`` and ``n``).
    reliability_samples : int
        With ``interleave="nr"``: symbols the ranking draws [default: 200,000].
    scramble : bool
        XOR the (padded) code bits with :class:`~commae.codes.interleaver.Scrambler` ``(seed)``'s fixed sequence.
    seed : int
        Seeds the interleaver and the scrambler (independently of each other),
        and the ranking of ``interleave="nr"``.
    name : str, optional
        Name in tables and plots [default: the mapper's name + ``"-coded"``].

    Attributes
    ----------
    k, n, bits_per_symbol, channel
        The System protocol: ``code.k`` information bits per codeword in
        ``n`` channel uses; ``bits_per_symbol = k`` (SER = BLER).
    code_bits : int
        Bits per codeword after padding, ``m · mapper.k``.
    padding : int
        Known zero bits added to each codeword (module notes).
    mapper_messages : int
        ``m``, mapper messages per codeword.
    interleaving : str
        ``"random"``, ``"nr"``, ``"none"`` or ``"given"`` (an Interleaver passed in).
    label_order : list of int or None
        With ``"nr"``: the label position each row went to (row ``j`` to ``label_order[j]``).

    Raises
    ------
    ValueError
        If ``code`` is not a BlockCode, ``mapper`` has no ``bit_llrs``, the
        decoder's code does not match, or ``interleave`` and ``design_ebno_db``
        do not go together.
    """

    def __init__(
        self,
        code: BlockCode,
        mapper: nn.Module,
        decoder: Callable[[torch.Tensor], torch.Tensor],
        *,
        interleave: bool | Literal["random", "nr"] | Interleaver = True,
        design_ebno_db: float | None = None,
        reliability_samples: int = RELIABILITY_SAMPLES,
        scramble: bool = True,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(code, BlockCode):
            raise ValueError(f"code must be a BlockCode (k, n, n_graph, parity_check, encode, graph_word, graph_llrs, info_bits), got {type(code).__name__}")
        if not callable(getattr(mapper, "bit_llrs", None)) or not all(hasattr(mapper, a) for a in ("k", "n", "transmit", "channel")):
            raise ValueError(f"mapper must be a System with bit_llrs(y, no, h) (a Modem or an Autoencoder), got {type(mapper).__name__}")
        shaped = getattr(mapper, "message_probabilities", None)
        if callable(shaped) and shaped() is not None:  # scrambled code bits are equiprobable: its symbols would not follow its prior, and its LLRs would assume it
            raise ValueError(
                f"{getattr(mapper, 'name', 'mapper')} sends its points with probabilities of their own; a BICM link sends equiprobable code bits (shaping needs a distribution matcher): code an equiprobable modem"
            )
        if not callable(decoder):
            raise ValueError(f"decoder must map LLRs [B, {code.n}] to bits [B, {code.k}] (e.g. BPDecoder(code)), got {type(decoder).__name__}")
        own = getattr(decoder, "code", None)
        if own is not None and (own.k, own.n) != (code.k, code.n):
            raise ValueError(f"decoder decodes a ({own.n}, {own.k}) code, but code is ({code.n}, {code.k})")
        self.code = code
        self.mapper = mapper
        self.decoder = decoder
        bits = _positive_int(mapper.k, "mapper.k")
        self.mapper_messages = -(-code.n // bits)
        self.code_bits = self.mapper_messages * bits
        self.padding = self.code_bits - code.n
        self.scrambler = Scrambler(self.code_bits, seed)
        self.scramble = bool(scramble)
        self.seed = seed
        self.k = int(code.k)
        self.n = self.mapper_messages * _positive_int(mapper.n, "mapper.n")
        self.bits_per_symbol = self.k
        self.channel = mapper.channel
        self.name = name or f"{getattr(mapper, 'name', type(mapper).__name__.lower())}-coded"
        self.interleaving, self.interleaver, self.label_order = self._interleaver(interleave, design_ebno_db, reliability_samples)
        self.design_ebno_db = design_ebno_db
        self.reliability_samples = reliability_samples if self.interleaving == "nr" else None

    def _interleaver(self, interleave: Any, design_ebno_db: float | None, samples: int) -> tuple[str, Interleaver | None, list[int] | None]:
        """What ``interleave`` asks for: its kind, the Interleaver (or None) and, for ``"nr"``, the label order of its rows."""
        if not (isinstance(interleave, (bool, Interleaver)) or (isinstance(interleave, str) and interleave in INTERLEAVERS)):
            raise ValueError(f"interleave must be one of {', '.join(INTERLEAVERS)}, a bool or an Interleaver, got {interleave!r}")
        if (interleave == "nr") != (design_ebno_db is not None):
            raise ValueError(
                "interleave='nr' ranks the label positions at a design point: give design_ebno_db"
                if interleave == "nr"
                else f"design_ebno_db is the design point of interleave='nr', not of interleave={interleave!r}: leave it out"
            )
        if isinstance(interleave, Interleaver):
            if interleave.n != self.code_bits:
                raise ValueError(f"interleave permutes {interleave.n} bits, but a codeword takes {self.code_bits} ({self.code.n} code bits in {self.mapper_messages} labels of {self.mapper.k})")
            return "given", interleave, None
        if interleave == "nr":
            if isinstance(design_ebno_db, bool) or not isinstance(design_ebno_db, (int, float)) or not math.isfinite(design_ebno_db):
                raise ValueError(f"design_ebno_db must be a finite Eb/N0 in dB, got {design_ebno_db!r}")
            order = reliability_order(self.mapper, ebno_db_to_no(float(design_ebno_db), k=self.k, n=self.n), samples=samples, seed=self.seed)
            return "nr", Interleaver.row_column(self.code_bits, self.mapper.k, order), order
        if interleave is False:
            return "none", None, None
        return "random", Interleaver(self.code_bits, self.seed), None  # "random" or True

    def extra_repr(self) -> str:
        order = f", label_order={self.label_order}, design_ebno_db={self.design_ebno_db}" if self.label_order is not None else ""
        return f"name={self.name!r}, k={self.k}, n={self.n}, code_bits={self.code_bits}, padding={self.padding}, interleave={self.interleaving!r}{order}, scramble={self.scramble}, seed={self.seed}"

    # --- the System protocol -------------------------------------------------------------
    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits ``[B, k]`` (float {0, 1}) to channel symbols ``[B, n]``: encode, pad, scramble, interleave, map."""
        if not isinstance(bits, torch.Tensor) or bits.ndim != 2 or bits.shape[1] != self.k:
            shape = tuple(bits.shape) if isinstance(bits, torch.Tensor) else type(bits).__name__
            raise ValueError(f"bits must be a [B, {self.k}] tensor of information bits, got {shape}")
        word = self.code.encode(bits.float())
        return self._send(word, self.scrambler.sequence if self.scramble else None)

    def receive(self, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """Received ``[B, n]`` (and CSI) at linear ``no`` (scalar or ``[B]``) to decoded information bits ``[B, k]``."""
        return self.decoder(self.code_llrs(y, no, h))

    def code_llrs(self, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None, sequence: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's input: received ``[B, n]`` to LLRs ``[B, code.n]`` of the code bits: deinterleaved, descrambled, padding dropped.

        ``sequence`` (``[code_bits]`` or ``[B, code_bits]``) replaces the link's own scrambler sequence (none when built with ``scramble=False``).
        """
        if sequence is None and self.scramble:
            sequence = self.scrambler.sequence
        if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[1] != self.n:
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(f"y must be a [B, {self.n}] tensor of received symbols, got {shape}")
        size, m = y.shape[0], self.mapper_messages
        if isinstance(no, torch.Tensor) and no.ndim > 0:
            no = no.reshape(size, -1).expand(size, m).reshape(-1) if no.numel() in (size, size * m) else no
        llr = self.mapper.bit_llrs(y.reshape(size * m, -1), no, None if h is None else h.reshape(size * m, -1))
        llr = llr.reshape(size, self.code_bits).float()
        if self.interleaver is not None:
            llr = self.interleaver.deinterleave(llr)
        if sequence is not None:
            llr = self.scrambler.descramble_llrs(llr, sequence)
        return llr[:, : self.code.n]

    def signal_set(self) -> tuple[torch.Tensor, int]:
        """The points one block of the link's channel symbols is drawn from, and how many blocks a codeword takes.

        A codeword goes out as ``mapper_messages`` mapper messages side by
        side: channel symbols ``j * mapper.n`` to ``(j + 1) * mapper.n - 1``
        are one of the mapper's ``2**mapper.k`` points. Importance sampling
        (:mod:`commae.simulation.importance`) asks for them to find the noise
        directions that carry signal and the distance between points.

        Returns
        -------
        points : torch.Tensor, [2**mapper.k, mapper.n]
            The mapper's points (its ``transmit`` of every label).
        blocks : int
            ``mapper_messages``.
        """
        labels = int_to_bits(torch.arange(1 << self.mapper.k, device=self.scrambler.sequence.device), self.mapper.k)
        with torch.no_grad():
            return self.mapper.transmit(labels), self.mapper_messages

    def _send(self, word: torch.Tensor, sequence: torch.Tensor | None) -> torch.Tensor:
        """Code words ``[B, code.n]`` to symbols: pad, scramble with ``sequence`` (if any), interleave, map."""
        if self.padding:
            word = torch.nn.functional.pad(word, (0, self.padding))
        if sequence is not None:
            word = self.scrambler.scramble(word, sequence)
        if self.interleaver is not None:
            word = self.interleaver.interleave(word)
        x = self.mapper.transmit(word.reshape(-1, self.mapper.k))
        return x.reshape(word.shape[0], self.n)

    # --- the declared shortcut -----------------------------------------------------------
    @torch.no_grad()
    def all_zero_errors(self, size: int, no: float | torch.Tensor, generator: torch.Generator, *, scramble: bool = True) -> AllZeroErrors:
        r"""The all-zero-codeword shortcut: ``size`` zero codewords through the link, and their errors.

        With ``scramble=True`` (the exact form) each codeword gets its own
        i.i.d. uniform scrambler sequence :math:`s` from ``generator``
        (:meth:`~commae.codes.interleaver.Scrambler.draw`), the receiver
        descrambles with it, and the decoder must return zeros. This is
        exact — the same error statistics as :meth:`transmit` with real
        encoding — for a decoder that is symmetric under codeword sign flips
        (if it maps LLRs :math:`L` to :math:`\hat c`, it maps
        :math:`L \odot (1 - 2c)` to :math:`\hat c \oplus c` for every codeword
        :math:`c`; belief propagation is, up to ties at LLR 0): codeword
        :math:`c` sent with sequence :math:`s` puts :math:`t = c \oplus s` on
        the air, and fails exactly when the zero word sent with sequence
        :math:`t` fails; with :math:`s` uniform and independent of :math:`c`,
        :math:`t` is uniform either way. With ``scramble=False`` every
        codeword is sent as the all-zero word itself: every symbol is the
        mapper's label 0, and the rates are those of that one point — right
        only for a symmetric constellation (BPSK, QPSK), wrong otherwise.

        The information bits are never drawn, so this is cheaper than the
        System path only by the encoder. It needs a code with ``encode(0) = 0``
        (a linear code) and is not what :func:`~commae.simulation.simulate` runs.

        Parameters
        ----------
        size : int
            Codewords.
        no : float or torch.Tensor
            Linear N0 (:func:`commae.system.system_no` of the link at an Eb/N0).
        generator : torch.Generator
            Draws the sequences, then the channel's noise (seed it per batch for reproducible batches).
        scramble : bool
            Per-codeword scrambling (exact) or none (the forced shortcut, module notes).
        """
        size = _positive_int(size, "size")
        device = self.scrambler.sequence.device
        zeros = torch.zeros(size, self.code.n, device=device)
        sequence = self.scrambler.draw(size, generator, device) if scramble else torch.zeros(self.code_bits, device=device)
        x = self._send(zeros, sequence)
        y, h = split_channel_output(self.channel, self.channel(x, no, generator=generator))
        bits = self.decoder(self.code_llrs(y, no, h, sequence)) != 0
        return AllZeroErrors(bits, bits.any(-1))
