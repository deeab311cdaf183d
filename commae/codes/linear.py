r"""A binary linear block code given by its parity-check matrix, with systematic encoding derived from it.

:class:`LinearCode` takes any :math:`H` (``[m, n]``, over GF(2)), for example
one read from an alist file (:meth:`LinearCode.from_alist`), and implements
the :class:`~commae.codes.BlockCode` protocol with ``n_graph == n``: the
decoder runs on :math:`H` itself and every code bit is sent.

Encoding
--------
Gauss–Jordan elimination over GF(2) brings :math:`H` to reduced row echelon
form :math:`R` (same null space). Pivots are searched from the *last* column
towards the first, so the parity bits take the rightmost independent columns
and the information bits the leftmost others; for the usual
:math:`H = [H_s \mid H_p]` with :math:`H_p` invertible (WiMAX, Wi-Fi,
CCSDS, 5G) the information bits are exactly the first ``k`` code bits. With
:math:`r = \operatorname{rank} H` pivots :math:`p_1 \dots p_r` and the
``k = n - r`` other positions :math:`\mathcal I` (the *information
positions*), every codeword satisfies, row by row of :math:`R`,

.. math:: c_{p_i} = \sum_{j \in \mathcal I} R_{ij}\, c_j \pmod 2,

so the encoder writes the information bits at :math:`\mathcal I` and
computes the parity bits as one matrix product ``u @ A.T`` of the batch
``[B, k]`` with :math:`A = R_{:, \mathcal I}` (``[r, k]``), reduced mod 2
(float32 sums are exact up to :math:`2^{24}` ones). Rows of :math:`H` that
depend on others are allowed: ``k = n - rank H``, not ``n - m``.
The dense ``[r, k]`` matrix bounds the size: codes up to a few thousand bits
(a 2048-bit code's is 1.3 MB).

Examples
--------
>>> code = hamming74()
>>> code.k, code.n, code.info_positions.tolist()
(4, 7, [0, 1, 2, 3])
>>> code.encode(torch.tensor([[1., 0., 1., 1.]]))   # the codeword baselines.Hamming74 sends
tensor([[1., 0., 1., 1., 0., 1., 0.]])
>>> LinearCode([[1, 1, 0], [0, 1, 1], [1, 0, 1]]).k   # rank 2: one row is the sum of the others
1
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ..constellations import check_bits
from .alist import _check_matrix, read_alist

__all__ = ["LinearCode", "hamming74", "gf2_row_echelon"]


def gf2_row_echelon(parity_check) -> tuple[np.ndarray, np.ndarray]:
    """Reduced row echelon form of a binary matrix over GF(2), pivots from the last column.

    Parameters
    ----------
    parity_check : array-like, [m, n], {0, 1}

    Returns
    -------
    rows : numpy.ndarray, [r, n], uint8
        The ``r = rank`` non-zero rows of the reduced form; row ``i`` has a 1
        in column ``pivots[i]`` and 0 in every other pivot column.
    pivots : numpy.ndarray, [r], int64
        The pivot columns (the rightmost linearly independent columns, found from the right).

    Notes
    -----
    Rows are packed 64 columns to a word, so one elimination step is an XOR
    of whole words: about ``rank * m * n / 64`` word operations.
    """
    H = _check_matrix(parity_check).numpy().astype(bool)
    m, n = H.shape
    reversed_cols = np.ascontiguousarray(H[:, ::-1])  # pivots from the right = standard elimination on reversed columns
    words = (n + 63) // 64
    packed = np.zeros((m, words * 8), dtype=np.uint8)
    packed[:, : (n + 7) // 8] = np.packbits(reversed_cols, axis=1, bitorder="little")
    packed = packed.view(np.uint64)  # [m, words]; column c is bit c % 64 of word c // 64
    row = 0
    pivots = []
    for col in range(n):
        if row == m:
            break
        word, bit = divmod(col, 64)
        has = ((packed[:, word] >> np.uint64(bit)) & np.uint64(1)).astype(bool)
        below = np.flatnonzero(has[row:])
        if below.size == 0:
            continue
        pivot_row = row + below[0]
        if pivot_row != row:
            packed[[row, pivot_row]] = packed[[pivot_row, row]]
            has[[row, pivot_row]] = has[[pivot_row, row]]
        has[row] = False
        others = np.flatnonzero(has)
        if others.size:
            packed[others] ^= packed[row]
        pivots.append(col)
        row += 1
    unpacked = np.unpackbits(packed[:row].view(np.uint8), axis=1, count=n, bitorder="little")
    rows = np.ascontiguousarray(unpacked[:, ::-1])
    return rows, n - 1 - np.asarray(pivots, dtype=np.int64)


class LinearCode:
    r"""A binary linear block code from its parity-check matrix (the :class:`~commae.codes.BlockCode` protocol).

    Parameters
    ----------
    parity_check : array-like, [m, n], {0, 1}
        :math:`H`; rows may be linearly dependent (``k = n - rank H``).
    name : str, optional
        Name in tables and plots (default ``"linear (n,k)"``).

    Attributes
    ----------
    k, n, n_graph : int
        Information bits, code bits (``n_graph == n``).
    parity_check : torch.Tensor, [m, n], uint8
        :math:`H` as given.
    info_positions : torch.Tensor, [k], int64
        Where the information bits sit in a codeword (ascending).
    parity_positions : torch.Tensor, [n - k], int64
        The other positions (the pivots of the elimination, ascending).
    generator : torch.Tensor, [k, n], uint8
        A systematic generator :math:`G` (:math:`c = uG`, :math:`G_{:, \mathcal I} = I_k`, :math:`HG^T = 0`).

    Notes
    -----
    See the module notes for how the encoder is derived. Every method
    follows the input's device and float dtype; the matrices are copied to a
    device on first use there.
    """

    def __init__(self, parity_check, *, name: str | None = None) -> None:
        H = _check_matrix(parity_check)
        rows, pivots = gf2_row_echelon(H)
        m, n = H.shape
        order = np.argsort(pivots)
        rows, pivots = rows[order], pivots[order]
        is_pivot = np.zeros(n, dtype=bool)
        is_pivot[pivots] = True
        info = np.flatnonzero(~is_pivot)
        if info.size == 0:
            raise ValueError(f"parity_check has full column rank {n}: its only codeword is all-zero (k = 0)")
        self.parity_check = H
        self.n = int(n)
        self.n_graph = int(n)
        self.k = int(info.size)
        self.info_positions = torch.from_numpy(info.astype(np.int64))
        self.parity_positions = torch.from_numpy(pivots.astype(np.int64))
        self._parity_map = torch.from_numpy(rows[:, info].T.astype(np.float32)).contiguous()  # [k, r]: parity = u @ this (mod 2)
        G = np.zeros((self.k, n), dtype=np.uint8)
        G[np.arange(self.k), info] = 1
        G[:, pivots] = rows[:, info].T
        self.generator = torch.from_numpy(G)
        self.name = name or f"linear ({self.n},{self.k})"
        self._cache: dict[tuple[torch.device, str], torch.Tensor] = {}

    @classmethod
    def from_alist(cls, path: str | os.PathLike, *, name: str | None = None) -> LinearCode:
        """The code whose parity-check matrix an alist file holds (:func:`~commae.codes.read_alist`)."""
        return cls(read_alist(path), name=name)

    def __repr__(self) -> str:
        return f"LinearCode(n={self.n}, k={self.k}, m={self.parity_check.shape[0]}, name={self.name!r})"

    @property
    def rate(self) -> float:
        """Code rate ``k / n``."""
        return self.k / self.n

    def _on(self, name: str, device: torch.device) -> torch.Tensor:
        key = (device, name)
        if key not in self._cache:
            source = {"parity_map": self._parity_map, "info": self.info_positions, "parity": self.parity_positions}[name]
            self._cache[key] = source.to(device)
        return self._cache[key]

    def encode(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits to codewords.

        Parameters
        ----------
        bits : torch.Tensor, [B, k], float in {0, 1}

        Returns
        -------
        torch.Tensor, [B, n], same dtype and device
            Codewords: ``bits`` at :attr:`info_positions`, parity bits at :attr:`parity_positions`.
        """
        check_bits(bits, self.k, values=False)
        if not bits.is_floating_point():
            raise ValueError(f"bits must be a float tensor of 0/1, got dtype {bits.dtype}")
        device = bits.device
        parity = torch.remainder(bits.to(torch.float32) @ self._on("parity_map", device), 2.0)  # [B, r], exact integers
        word = bits.new_empty(bits.shape[0], self.n)
        word[:, self._on("info", device)] = bits
        word[:, self._on("parity", device)] = parity.to(bits.dtype)
        return word

    def graph_word(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits ``[B, k]`` to the graph word ``[B, n]``: the codeword itself."""
        return self.encode(bits)

    def graph_llrs(self, llr: torch.Tensor) -> torch.Tensor:
        """Channel LLRs ``[B, n]`` to decoder LLRs: the same tensor (every code bit is sent once)."""
        if not isinstance(llr, torch.Tensor) or llr.ndim != 2 or llr.shape[-1] != self.n:
            shape = tuple(llr.shape) if isinstance(llr, torch.Tensor) else type(llr).__name__
            raise ValueError(f"llr must be a [B, {self.n}] tensor of channel LLRs, got {shape}")
        return llr

    def info_bits(self, word: torch.Tensor) -> torch.Tensor:
        """A codeword ``[B, n]`` (hard bits) to its information bits ``[B, k]``."""
        if not isinstance(word, torch.Tensor) or word.ndim != 2 or word.shape[-1] != self.n:
            shape = tuple(word.shape) if isinstance(word, torch.Tensor) else type(word).__name__
            raise ValueError(f"word must be a [B, {self.n}] tensor of code bits, got {shape}")
        return word[:, self._on("info", word.device)]


def hamming74() -> LinearCode:
    r"""The (7,4) Hamming code in :class:`commae.baselines.Hamming74`'s bit order.

    :math:`H = [P^T \mid I_3]` with
    :math:`P = \begin{pmatrix}1&1&0\\1&0&1\\0&1&1\\1&1&1\end{pmatrix}`, so the
    information bits are the first four code bits and :meth:`LinearCode.encode`
    gives the codewords of ``Hamming74.encode``.
    """
    P = torch.tensor([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=torch.uint8)
    return LinearCode(torch.cat([P.T, torch.eye(3, dtype=torch.uint8)], dim=1), name="Hamming (7,4)")
