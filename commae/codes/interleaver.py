r"""The bit interleaver and the scrambler of a coded link (BICM), seeded.

A coded link (:class:`commae.bicm.BICM`) places both between the encoder and
the mapper: code bits :math:`c` (after any padding) are scrambled,
:math:`t = c \oplus s`, then permuted, :math:`u_i = t_{\pi(i)}`, and cut into
the mapper's labels; the receiver undoes both on the demapper's LLRs, in the
reverse order.

**Interleaver.** :class:`Interleaver` ``(n, seed)`` is one fixed permutation
:math:`\pi` of ``n`` positions, drawn once by ``torch.randperm`` on the CPU
from a generator seeded by a SHA-256 hash of ``seed`` and the purpose (so
the interleaver and the scrambler of the same seed are independent draws). Its job is to spread the bits of one
label (whose bit channels differ in reliability) over the whole codeword and
to keep the bits of one check apart.

**Scrambler.** :class:`Scrambler` ``(n, seed)`` XORs a pseudo-random sequence
:math:`s \in \{0, 1\}^n` onto the word; on LLRs (commae's sign,
:math:`L = \ln P(1)/P(0)`) the inverse is a sign flip where :math:`s_i = 1`
(:math:`t_i = c_i \oplus 1` means :math:`P(c_i = 1) = P(t_i = 0)`).

How the sequence is drawn, and why it is reproducible and independent of
how the engine cuts the simulation into batches:

* On the System path (:meth:`~commae.bicm.BICM.transmit` /
  :meth:`~commae.bicm.BICM.receive`) the sequence is **one fixed word per
  seed**, like the scrambler of a standard (5G NR scrambles with a Gold
  sequence from a fixed initial state): drawn once, on the CPU, from its own
  seeded generator, at construction, and the same for every codeword. It
  depends on nothing the engine decides — not the batch size, the thread
  count, the device or the order of the batches — so the same seed gives the
  same transmitted words, bit for bit, however the batches fall, and the
  receiver knows it without any state passed from the transmitter. With real
  encoding of uniform random information bits the sent word
  :math:`c \oplus s` is uniform over a coset of the code, which is the system
  being simulated, exactly.
* For the **all-zero-codeword shortcut** (:meth:`~commae.bicm.BICM.all_zero_errors`,
  declared there) a fixed sequence would send the same symbols every time;
  there every codeword gets its own i.i.d. uniform sequence
  (:meth:`Scrambler.draw`), drawn from the generator of that batch (which
  the caller seeds per batch, as the engine does with ``(seed, point,
  batch)``): the same generator state gives the same sequences, and a
  codeword's sequence never depends on another batch. The sent word is then
  uniform over all :math:`2^n` words whatever the codeword, which is what
  makes the shortcut exact for a decoder that is symmetric under sign flips
  of codewords (belief propagation is).

Both are :class:`torch.nn.Module` objects whose tables are buffers, so they
follow ``.to(device)``; they work on any trailing dimension of size ``n``.
"""

from __future__ import annotations

import hashlib
import operator

import torch
from torch import nn

__all__ = ["Interleaver", "Scrambler"]


def _length(n: object) -> int:
    try:
        if isinstance(n, bool):
            raise TypeError
        value = operator.index(n)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"n must be a positive integer, got {n!r}") from None
    if value < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return value


def _generator(purpose: str, seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    digest = hashlib.sha256(f"commae-{purpose}:{seed}".encode()).digest()  # independent streams for the two purposes
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))


def _check_last(x: torch.Tensor, n: int, what: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[-1] != n:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{what} must be a tensor [..., {n}], got {shape}")


class Interleaver(nn.Module):
    r"""A seeded permutation of ``n`` bit positions and its inverse.

    Parameters
    ----------
    n : int
        Positions permuted (the code bits of one codeword, padding included).
    seed : int
        Seeds the permutation (module notes); the same seed, the same permutation on every device.

    Attributes
    ----------
    permutation : torch.Tensor, [n], int64
        :math:`\pi`: position ``i`` of the output holds input bit ``permutation[i]``.
    inverse : torch.Tensor, [n], int64
        :math:`\pi^{-1}`.

    Examples
    --------
    >>> pi = Interleaver(6, seed=1)
    >>> x = torch.arange(6.0)
    >>> bool((pi.deinterleave(pi.interleave(x)) == x).all())
    True
    """

    def __init__(self, n: int, seed: int = 0) -> None:
        super().__init__()
        self.n = _length(n)
        self.seed = seed
        permutation = torch.randperm(self.n, generator=_generator("interleaver", seed))
        inverse = torch.empty_like(permutation)
        inverse[permutation] = torch.arange(self.n)
        self.register_buffer("permutation", permutation, persistent=False)
        self.register_buffer("inverse", inverse, persistent=False)

    def extra_repr(self) -> str:
        return f"n={self.n}, seed={self.seed}"

    @classmethod
    def row_column(cls, n: int, bits_per_symbol: int, levels: list[int] | None = None) -> Interleaver:
        r"""The 5G NR bit interleaver (TS 38.212 §5.4.2.2): bit ``j·n/Q + s`` of the word goes to label position ``levels[j]`` of symbol ``s``.

        The standard writes the rate-matched word row by row into ``Q =
        bits_per_symbol`` rows and reads it column by column, so the first
        ``n/Q`` bits (the systematic bits of a 5G LDPC word, which come first)
        all sit on the first bit of each label, the next ``n/Q`` on the second,
        and so on. ``levels`` (a permutation of ``range(Q)``, default the
        identity) says which label position each row goes to: list the
        mapper's positions from the most reliable to the least to put the
        systematic bits where the bit channels are best, as the standard's
        Gray QAM (whose first two label bits are the signs) does by its labels.
        """
        n, q = _length(n), _length(bits_per_symbol)
        levels = list(range(q)) if levels is None else [int(v) for v in levels]
        if n % q or sorted(levels) != list(range(q)):
            raise ValueError(f"row_column needs n a multiple of bits_per_symbol and levels a permutation of 0..{q - 1}, got n={n}, bits_per_symbol={q}, levels={levels}")
        rows = n // q
        permutation = torch.empty(n, dtype=torch.int64)
        for j, level in enumerate(levels):
            permutation[torch.arange(rows) * q + level] = j * rows + torch.arange(rows)
        interleaver = cls(n)
        interleaver.seed = f"row-column Q={q} levels={levels}"
        interleaver.permutation.copy_(permutation)
        interleaver.inverse[permutation] = torch.arange(n)
        return interleaver

    def interleave(self, x: torch.Tensor) -> torch.Tensor:
        """Permute the last dimension: ``out[..., i] = x[..., permutation[i]]`` (bits or LLRs, any dtype)."""
        _check_last(x, self.n, "x")
        return x.index_select(-1, self.permutation.to(x.device))

    def deinterleave(self, x: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`interleave` on the last dimension (on LLRs at the receiver)."""
        _check_last(x, self.n, "x")
        return x.index_select(-1, self.inverse.to(x.device))


class Scrambler(nn.Module):
    r"""XOR with a seeded pseudo-random bit sequence; on LLRs its inverse flips signs.

    Parameters
    ----------
    n : int
        Bits per word.
    seed : int
        Seeds the fixed sequence (module notes).

    Attributes
    ----------
    sequence : torch.Tensor, [n], float32 in {0, 1}
        The fixed sequence :math:`s`, i.i.d. fair bits drawn once from the seed.

    Examples
    --------
    >>> s = Scrambler(8, seed=3)
    >>> bits = torch.zeros(2, 8)
    >>> bool((s.scramble(bits) == s.sequence).all())
    True
    >>> llr = torch.full((1, 8), -2.0)           # every scrambled bit looks like a 0 ...
    >>> bool((s.descramble_llrs(llr) == 2.0 - 4.0 * (1 - s.sequence)).all())   # ... so where s = 1 the code bit is a 1
    True
    """

    def __init__(self, n: int, seed: int = 0) -> None:
        super().__init__()
        self.n = _length(n)
        self.seed = seed
        sequence = torch.randint(0, 2, (self.n,), generator=_generator("scrambler", seed)).to(torch.float32)
        self.register_buffer("sequence", sequence, persistent=False)

    def extra_repr(self) -> str:
        return f"n={self.n}, seed={self.seed}"

    def draw(self, count: int, generator: torch.Generator, device: str | torch.device = "cpu") -> torch.Tensor:
        """``count`` independent uniform sequences ``[count, n]`` (float32 {0, 1}) from ``generator``, one per codeword (the all-zero shortcut)."""
        return torch.randint(0, 2, (int(count), self.n), generator=generator, device=device).to(torch.float32)

    def _sequence(self, like: torch.Tensor, sequence: torch.Tensor | None) -> torch.Tensor:
        s = self.sequence if sequence is None else sequence
        _check_last(s, self.n, "sequence")
        return s.to(device=like.device, dtype=like.dtype)

    def scramble(self, bits: torch.Tensor, sequence: torch.Tensor | None = None) -> torch.Tensor:
        r"""``bits`` :math:`\oplus s` on the last dimension (float {0, 1}); ``sequence`` (``[n]`` or ``[B, n]``) replaces the fixed one.

        Its own inverse on bits.
        """
        _check_last(bits, self.n, "bits")
        s = self._sequence(bits, sequence)
        return (bits - s).abs()

    def descramble_llrs(self, llr: torch.Tensor, sequence: torch.Tensor | None = None) -> torch.Tensor:
        r"""LLRs of the scrambled bits to LLRs of the bits before scrambling: :math:`L_i (1 - 2 s_i)`."""
        _check_last(llr, self.n, "llr")
        s = self._sequence(llr, sequence)
        return llr * (1 - 2 * s)
