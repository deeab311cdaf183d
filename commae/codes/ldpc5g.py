r"""5G NR LDPC codes (3GPP TS 38.212): base graphs 1 and 2, lifting, filler bits, puncturing and rate matching.

:class:`LDPC5G` ``(k, n)`` is one code block of the 5G NR shared-channel code:
``k`` information bits (the code block's :math:`K'`, CRC included if the user
has one) rate-matched to ``n`` transmitted bits (:math:`E`) with redundancy
version 0. It follows the :class:`~commae.codes.base.BlockCode` protocol, so
every decoder of :mod:`commae.codes` decodes it.

The procedure, step by step (section numbers of TS 38.212):

1. **Base graph** (§6.2.2 / §7.2.2), with :math:`R = k/n`: base graph 2 if
   :math:`k \le 292`, or :math:`k \le 3824` and :math:`R \le 0.67`, or
   :math:`R \le 0.25`; base graph 1 otherwise. The standard states the rule on
   the transport block size :math:`A`; here it is applied to ``k``, as Sionna's
   ``LDPC5GEncoder`` does (a single code block without CRC: :math:`A = K'`).
2. **Lifting size** (§5.2.2): :math:`K_b = 22` for BG1; for BG2
   :math:`K_b = 10, 9, 8, 6` for :math:`k > 640`, :math:`> 560`, :math:`> 192`,
   :math:`\le 192`. :math:`Z_c` is the smallest lifting size of Table 5.3.2-1
   with :math:`K_b Z_c \ge k`; its set index :math:`i_{LS}` picks the column
   of shift values :math:`V_{i,j}` in Table 5.3.2-2 (BG1, 46 x 68) or 5.3.2-3
   (BG2, 42 x 52), and :math:`P_{i,j} = V_{i,j} \bmod Z_c` (§5.3.2). Each
   non-empty entry of the base graph becomes the :math:`Z_c \times Z_c`
   identity cyclically shifted right :math:`P_{i,j}` times.
3. **Filler bits** (§5.2.2): the code block holds :math:`K = 22 Z_c` (BG1) or
   :math:`10 Z_c` (BG2) systematic bits; the :math:`F = K - k` after the
   information bits are known zeros, never transmitted.
4. **Encoding** (§5.3.2): parity bits :math:`w` with :math:`H [c; w] = 0`. The
   first four block rows are the core: the first parity block column has
   weight three, two of whose shifts are equal, and the next three form a
   double diagonal with shift 0. Adding the four block rows cancels all but
   one circulant of the core, which gives the first parity block, the others
   follow row by row; every further row (the extension) holds exactly one
   parity bit of its own (an identity on the diagonal) and depends only on
   the systematic and core parity bits. The encoder runs this as three
   batched gathers with sums mod 2 (no generator matrix): the core checks'
   sums over the systematic bits, the core parity bits from those sums (the
   core's inverse, at most six sums a bit), one extension bit per check row.
5. **Rate matching** (§5.4.2.1), with :math:`I_{LBRM} = 0` (circular buffer
   :math:`N_{cb} = N`) and :math:`rv_{id} = 0` (:math:`k_0 = 0`): the first
   :math:`2 Z_c` systematic bits are punctured, so the buffer is
   :math:`d = c_{2Z_c}, \ldots` of length :math:`N = 66 Z_c` (BG1) or
   :math:`50 Z_c` (BG2); bit selection reads it from the start, skipping the
   filler bits, wrapping around (repetition) while ``n`` exceeds the
   :math:`N - F` bits it holds. The bit interleaver of §5.4.2.2 is not applied:
   commae's BICM interleaves on its own.

**The graph the decoder runs on** (``prune=True``, the default). Every check
row of the extension holds one parity bit that appears nowhere else. A parity
bit that is never transmitted has LLR 0 and degree 1, so it sends 0 to its
check, and that check sends :math:`0 \boxplus \cdots = 0` (sum-product) or
:math:`\pm\min(0, \ldots) = 0` (min-sum, normalised or offset) to every other
bit at every iteration, whatever the schedule: removing the bit and its check
changes no other message, so no a-posteriori LLR of a kept bit. Only the
early stop can differ: on the pruned graph it asks whether the kept bits form
a codeword (the removed parity bits can always complete it), while on the
mother code a removed bit's decision follows its check's message, not the
others' decisions, and can hold the stop back. So only the core and the check
rows of the *transmitted* extension parity bits are built (bit by bit, not
whole block rows), as Sionna's ``LDPC5GDecoder`` does with ``prune_pcm=True``:
for (750, 1500) 1,710 variable nodes, 910 checks and 5,910 edges instead of
the mother code's 4,160, 3,360 and 15,760. The filler and punctured bits stay
in the graph (LLR ``-KNOWN_LLR`` and 0), so ``n_graph = K + 4 Z_c + n_ext``
and the graph word is :math:`[c_0 \ldots c_{K-1}, w_0 \ldots]` in the
standard's order. ``prune=False`` builds the whole mother code (``n_graph`` =
68 or 52 :math:`Z_c`).

Supported: :math:`1 \le k \le 8448` (BG1 carries :math:`22 \cdot 384 = 8448`,
BG2 :math:`10 \cdot 384 = 3840`, so a rate :math:`\le 1/4` allows at most 3840:
larger blocks would need code-block segmentation, §5.2.2, which is not done),
rate :math:`k/n \le 0.95` (the highest effective code rate a UE decodes,
TS 38.214 §5.1.3.1); any lower rate, through repetition.

The base-graph tables ship in ``commae/codes/data/`` (source and checks in its
README).

Examples
--------
>>> code = LDPC5G(750, 1500)
>>> code.base_graph, code.lifting_size, code.set_index, code.num_fillers
(2, 80, 2, 50)
>>> code.n_graph, tuple(code.parity_check.shape)
(1710, (910, 1710))
>>> bits = torch.randint(0, 2, (4, 750)).float()
>>> word = code.graph_word(bits)
>>> bool(((code.parity_check.float() @ word.T) % 2 == 0).all())
True
>>> code.encode(bits).shape
torch.Size([4, 1500])
"""

from __future__ import annotations

import operator
from importlib.resources import files

import numpy as np
import torch

from .base import KNOWN_LLR

__all__ = ["LDPC5G", "LIFTING_SIZES", "select_base_graph", "select_lifting_size", "systematic_columns"]

#: TS 38.212 Table 5.3.2-1: the lifting sizes :math:`Z = a \cdot 2^j` of each set :math:`i_{LS}` (0 to 7).
LIFTING_SIZES: tuple[tuple[int, ...], ...] = tuple(tuple(a << j for j in range(8) if a << j <= 384) for a in (2, 3, 5, 7, 9, 11, 13, 15))

_COLUMNS = {1: 68, 2: 52}  # base graph columns
_ROWS = {1: 46, 2: 42}  # base graph rows
_SYSTEMATIC = {1: 22, 2: 10}  # systematic columns K / Z (filler bits included)
_CORE = 4  # core block rows / parity columns (the double-diagonal part)
_K_MAX = {1: 22 * 384, 2: 10 * 384}  # the most information bits one code block of each base graph carries
_RATE_MAX = 0.95  # TS 38.214 5.1.3.1: the UE decodes no effective code rate above 0.95


def _load_base_graph(base_graph: int) -> np.ndarray:
    """The table of base graph 1 or 2: ``[edges, 10]`` int64 rows (i, j, V_ij for i_LS = 0..7)."""
    text = files(__package__).joinpath("data", f"ldpc5g_bg{base_graph}.txt").read_text(encoding="utf-8")
    return np.loadtxt(text.splitlines(), dtype=np.int64, comments="#", ndmin=2)


_TABLES: dict[int, np.ndarray] = {}


def _table(base_graph: int) -> np.ndarray:
    if base_graph not in _TABLES:
        _TABLES[base_graph] = _load_base_graph(base_graph)
    return _TABLES[base_graph]


def select_base_graph(k: int, rate: float) -> int:
    """The base graph (1 or 2) TS 38.212 §7.2.2 picks for ``k`` information bits at code rate ``rate``."""
    return 2 if k <= 292 or (k <= 3824 and rate <= 0.67) or rate <= 0.25 else 1


def systematic_columns(k: int, base_graph: int) -> int:
    r""":math:`K_b` of TS 38.212 §5.2.2: the base-graph columns that may hold information bits."""
    if base_graph == 1:
        return 22
    return 10 if k > 640 else 9 if k > 560 else 8 if k > 192 else 6


def select_lifting_size(k: int, base_graph: int) -> tuple[int, int]:
    r"""The smallest lifting size :math:`Z_c` of Table 5.3.2-1 with :math:`K_b Z_c \ge k`, and its set index :math:`i_{LS}`."""
    kb = systematic_columns(k, base_graph)
    z = min(z for sizes in LIFTING_SIZES for z in sizes if kb * z >= k)
    return z, next(i for i, sizes in enumerate(LIFTING_SIZES) if z in sizes)


def _as_int(value: object, name: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


class LDPC5G:
    r"""A 5G NR LDPC code block: ``k`` information bits rate-matched to ``n`` bits (TS 38.212, rv 0).

    Parameters
    ----------
    k : int
        Information bits per codeword, :math:`1 \le k \le 8448` (at most 3840
        when :math:`k/n \le 1/4`, base graph 2).
    n : int
        Transmitted bits per codeword, :math:`n \ge k / 0.95`; beyond the
        circular buffer (:math:`66 Z_c - F` or :math:`50 Z_c - F` bits) the
        buffer repeats.
    prune : bool
        Build only the core and the checks of the transmitted extension parity
        bits (exact for belief propagation, see the module notes); ``False``:
        the whole lifted mother code.

    Attributes
    ----------
    k, n, n_graph, parity_check
        The :class:`~commae.codes.base.BlockCode` protocol. ``parity_check``
        (``[m, n_graph]`` uint8, CPU) is built on first use.
    base_graph : int
        1 or 2.
    lifting_size : int
        :math:`Z_c`.
    set_index : int
        :math:`i_{LS}`, the set of Table 5.3.2-1 holding :math:`Z_c`.
    num_fillers : int
        :math:`F = K - k`, the known-zero filler bits.
    buffer_size : int
        Distinct bits the circular buffer sends before it repeats: its
        :math:`N` bits less the fillers among them (:math:`N - F` when
        :math:`k \ge 2 Z_c`).
    transmitted : torch.Tensor
        ``[n]`` int64: the graph position of each transmitted bit, in order.

    Raises
    ------
    ValueError
        If ``k`` or ``n`` is not an integer, or ``(k, n)`` is outside the range above.
    """

    def __init__(self, k: int, n: int, prune: bool = True) -> None:
        k = _as_int(k, "k")
        n = _as_int(n, "n")
        if not 1 <= k <= _K_MAX[1]:
            raise ValueError(f"k must be in [1, {_K_MAX[1]}] for a 5G NR LDPC code block, got k={k}")
        n_min = -(-k * 100 // 95)  # ceil(k / 0.95)
        if n < n_min:
            raise ValueError(f"n must be at least {n_min} for k={k} (rate k/n <= {_RATE_MAX}, TS 38.214 5.1.3.1), got n={n}")
        base_graph = select_base_graph(k, k / n)
        if k > _K_MAX[base_graph]:
            raise ValueError(
                f"(k, n) = ({k}, {n}): rate k/n <= 1/4 selects base graph 2, which carries at most {_K_MAX[2]} information bits; "
                f"use n < {4 * k} (base graph 1) or k <= {_K_MAX[2]} (longer blocks need code-block segmentation)"
            )
        self.k, self.n, self.prune = k, n, bool(prune)
        self.base_graph = base_graph
        self.lifting_size, self.set_index = select_lifting_size(k, base_graph)
        z = self.lifting_size
        self._systematic = _SYSTEMATIC[base_graph] * z  # K
        self.num_fillers = self._systematic - k

        # the base graph at this lifting: block row i, block column j, shift P_ij = V_ij mod Z
        table = _table(base_graph)
        rows, cols, shifts = table[:, 0], table[:, 1], table[:, 2 + self.set_index] % z
        self._check_structure(rows, cols, shifts)

        # rate matching: circular buffer d_j = c_{j + 2Z} over the mother code, filler positions skipped, repeated to n
        full = _COLUMNS[base_graph] * z
        buffer = np.arange(2 * z, full)
        buffer = buffer[(buffer < k) | (buffer >= self._systematic)]
        self.buffer_size = len(buffer)
        sent = buffer[np.arange(n) % len(buffer)]
        core_end = self._systematic + _CORE * z
        num_extension = (_ROWS[base_graph] - _CORE) * z
        if self.prune:
            num_extension = int(np.clip(sent.max() + 1 - core_end, 0, num_extension))
        self.n_graph = core_end + num_extension
        self._num_checks = _CORE * z + num_extension
        self.transmitted = torch.from_numpy(sent)

        # the lifted graph's edges (check, variable) of the checks kept: block entry (i, j, P) -> (iZ + t, jZ + (t + P) mod Z)
        t = np.arange(z)
        check = (rows[:, None] * z + t).ravel()
        variable = (cols[:, None] * z + (t + shifts[:, None]) % z).ravel()
        keep = check < self._num_checks
        self._edges = (check[keep], variable[keep])
        self._parity_check: torch.Tensor | None = None
        self._indices: dict[torch.device, tuple[torch.Tensor, ...]] = {}

        # encoding, three gathers, each row of a table the positions whose XOR is one bit (padded with the zero row n_graph):
        # 1. the core checks' sums over the systematic bits, s (written where the core parity will go);
        self._core_gather = self._gather_table(self._edges, range(_CORE * z), below=self._systematic, pad=self.n_graph)
        # 2. the core parity bits from s (the core's inverse, sparse: a few s bits each);
        solve = self._solve_core(rows, cols, shifts)  # [4Z, 4Z] over GF(2): core parity = solve @ s
        self._core_solve = self._gather_table(np.nonzero(solve), range(_CORE * z), below=_CORE * z, pad=self.n_graph - self._systematic) + self._systematic
        # 3. one extension parity bit per check row, the sum of the row's systematic and core bits.
        self._extension_gather = self._gather_table(self._edges, range(_CORE * z, self._num_checks), below=core_end, pad=self.n_graph)

    # ---- construction -----------------------------------------------------------------------------------

    def _check_structure(self, rows: np.ndarray, cols: np.ndarray, shifts: np.ndarray) -> None:
        """The structure the encoder relies on (TS 38.212 Tables 5.3.2-2/3): the extension's own parity columns, checked at this lifting."""
        bg, kb = self.base_graph, _SYSTEMATIC[self.base_graph]
        extension = rows >= _CORE
        own = cols == kb + rows  # an extension row's own parity column
        ok = (
            len(rows) == {1: 316, 2: 197}[bg]
            and rows.max() + 1 == _ROWS[bg]
            and cols.max() + 1 == _COLUMNS[bg]
            and not np.any((cols >= kb + _CORE) & ~(extension & own))  # extension columns: only the diagonal
            and np.array_equal(np.sort(rows[cols >= kb + _CORE]), np.arange(_CORE, _ROWS[bg]))
            and np.all(shifts[cols >= kb + _CORE] == 0)
        )
        if not ok:
            raise RuntimeError(f"the base graph {bg} table does not have the 5G NR structure; commae/codes/data is damaged")

    def _solve_core(self, rows: np.ndarray, cols: np.ndarray, shifts: np.ndarray) -> np.ndarray:
        r"""The core parity bits as sums of the core checks' systematic sums: ``[4Z, 4Z]`` uint8 ``M``, ``p = M s mod 2``.

        Block row :math:`i` of the core reads :math:`s_i + \sum_q P^{(i,q)} p_q = 0`, with
        :math:`(P^{(i,q)} x)_t = x_{(t + P_{i,q}) \bmod Z}`. Adding the four block rows cancels every
        circulant but one of the first parity block (two of its three shifts are equal; the double
        diagonal's come in pairs), so :math:`p_0 = P^{-x} \sum_i s_i`; then each block row with one
        unknown block left gives it. The steps run here on the identity (``s`` symbolically).
        """
        z, kb = self.lifting_size, _SYSTEMATIC[self.base_graph]
        core = (rows < _CORE) & (cols >= kb) & (cols < kb + _CORE)
        entries = {(int(i), int(j) - kb): int(p) for i, j, p in zip(rows[core], cols[core], shifts[core])}
        # adding the four block rows: a circulant cancels against an equal one in the same column
        left = {}
        for q in range(_CORE):
            counts: dict[int, int] = {}
            for (_, qq), p in entries.items():
                if qq == q:
                    counts[p] = counts.get(p, 0) ^ 1
            left[q] = [p for p, odd in counts.items() if odd]
        if len(left[0]) != 1 or any(left[q] for q in range(1, _CORE)):
            raise RuntimeError(f"the core of base graph {self.base_graph} at Z={z} is not invertible by row sums: {left}")
        sums = np.eye(_CORE * z, dtype=np.uint8).reshape(_CORE, z, _CORE * z)  # s_i, symbolically
        parity: dict[int, np.ndarray] = {0: np.roll(np.bitwise_xor.reduce(sums, axis=0), left[0][0], axis=0)}
        used: set[int] = set()
        while len(parity) < _CORE:
            for i in range(_CORE):
                unknown = [q for (ii, q) in entries if ii == i and q not in parity]
                if i not in used and len(unknown) == 1:
                    rest = sums[i].copy()
                    for (ii, q), p in entries.items():
                        if ii == i and q != unknown[0]:
                            rest ^= np.roll(parity[q], -p, axis=0)  # (P^p x)_t = x_{t + p}
                    parity[unknown[0]] = np.roll(rest, entries[(i, unknown[0])], axis=0)  # x_{t + p} = rest_t
                    used.add(i)
                    break
            else:
                raise RuntimeError(f"the core of base graph {self.base_graph} cannot be solved row by row")
        return np.concatenate([parity[q] for q in range(_CORE)])

    @staticmethod
    def _gather_table(edges: tuple[np.ndarray, np.ndarray], checks: range, below: int, pad: int) -> np.ndarray:
        """``[len(checks), degree]``: each check's variables below ``below``, padded with ``pad`` (a position that stays 0)."""
        check, variable = edges
        sel = (check >= checks.start) & (check < checks.stop) & (variable < below)
        check, variable = check[sel] - checks.start, variable[sel]
        order = np.lexsort((variable, check))
        check, variable = check[order], variable[order]
        degree = np.bincount(check, minlength=len(checks))
        table = np.full((len(checks), max(int(degree.max(initial=0)), 1)), pad, dtype=np.int64)
        slot = np.arange(len(check)) - np.repeat(np.cumsum(degree) - degree, degree)
        table[check, slot] = variable
        return table

    def _on(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        """The index tensors, on ``device`` (built once per device)."""
        if device not in self._indices:
            self._indices[device] = tuple(torch.as_tensor(a, device=device) for a in (self._core_gather, self._core_solve, self._extension_gather, self.transmitted))
        return self._indices[device]

    # ---- the BlockCode protocol ------------------------------------------------------------------------------

    @property
    def parity_check(self) -> torch.Tensor:
        """``[m, n_graph]`` torch.uint8: the lifted parity-check matrix (pruned unless ``prune=False``)."""
        if self._parity_check is None:
            h = torch.zeros(self._num_checks, self.n_graph, dtype=torch.uint8)
            h[torch.from_numpy(self._edges[0]), torch.from_numpy(self._edges[1])] = 1
            self._parity_check = h
        return self._parity_check

    def graph_word(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits to the graph word.

        Parameters
        ----------
        bits : Tensor, [B, k], float in {0, 1}

        Returns
        -------
        Tensor, [B, n_graph], same dtype and device
            ``[information bits, F filler zeros, core parity (4 Z), transmitted extension parity]``;
            ``parity_check @ word = 0 (mod 2)``.
        """
        return self._graph_word_t(bits)[:-1].T.contiguous().to(bits.dtype)  # transposing bytes, then widening, is the cheaper order

    def encode(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits ``[B, k]`` (float {0, 1}) to the ``n`` rate-matched bits ``[B, n]`` (same dtype and device)."""
        transmitted = self._on(bits.device)[3]
        return self._graph_word_t(bits).index_select(0, transmitted).T.contiguous().to(bits.dtype)

    def _graph_word_t(self, bits: torch.Tensor) -> torch.Tensor:
        """The graph word position-major, ``[n_graph + 1, B]`` uint8, the last row 0 (the gathers' padding).

        Position-major, each gather copies whole rows of ``B`` bytes: ``index_select`` on
        dim 0 runs about 100x faster than indexing dim 1 of ``[B, n_graph]`` uint8 on a CPU.
        """
        if bits.dim() != 2 or bits.shape[1] != self.k:
            raise ValueError(f"bits must have shape [B, {self.k}] (k={self.k}), got {list(bits.shape)}")
        core_gather, core_solve, extension_gather, _ = self._on(bits.device)
        core_end = self._systematic + _CORE * self.lifting_size
        word = torch.empty(self.n_graph + 1, bits.shape[0], dtype=torch.uint8, device=bits.device)
        word[: self.k] = bits.T
        word[self.k : self._systematic] = 0  # fillers
        word[-1] = 0  # padding
        word[self._systematic : core_end] = _xor_rows(word, core_gather)  # s: the core checks' systematic sums
        word[self._systematic : core_end] = _xor_rows(word, core_solve)  # the core parity bits
        if self.n_graph > core_end:
            word[core_end:-1] = _xor_rows(word, extension_gather)
        return word

    def graph_llrs(self, llr: torch.Tensor) -> torch.Tensor:
        r"""Channel LLRs of the transmitted bits to the decoder's input.

        Parameters
        ----------
        llr : Tensor, [B, n], float
            :math:`\ln P(b=1 \mid y) / P(b=0 \mid y)` of each transmitted bit.

        Returns
        -------
        Tensor, [B, n_graph], same dtype and device
            Filler bits ``-KNOWN_LLR``, punctured and untransmitted bits 0, a repeated bit the sum of its LLRs.
        """
        if llr.dim() != 2 or llr.shape[1] != self.n:
            raise ValueError(f"llr must have shape [B, {self.n}] (n={self.n}), got {list(llr.shape)}")
        transmitted = self._on(llr.device)[3]
        out = torch.zeros(llr.shape[0], self.n_graph, dtype=llr.dtype, device=llr.device)
        out[:, self.k : self._systematic] = -KNOWN_LLR
        return out.index_add_(1, transmitted, llr)

    def info_bits(self, word: torch.Tensor) -> torch.Tensor:
        """A graph word ``[B, n_graph]`` to its information bits ``[B, k]`` (the first ``k`` positions)."""
        if word.dim() != 2 or word.shape[1] != self.n_graph:
            raise ValueError(f"word must have shape [B, {self.n_graph}] (n_graph={self.n_graph}), got {list(word.shape)}")
        return word[:, : self.k]

    def __repr__(self) -> str:
        return f"LDPC5G(k={self.k}, n={self.n}{'' if self.prune else ', prune=False'}: BG{self.base_graph}, Z={self.lifting_size}, i_LS={self.set_index}, F={self.num_fillers})"


def _xor_rows(word: torch.Tensor, gather: torch.Tensor) -> torch.Tensor:
    """``[rows, B]``: the XOR over ``d`` of ``word[gather[r, d]]`` for each row ``r`` (``word``: ``[positions, B]`` uint8 bits).

    One gather and one sum (mod 256 keeps the parity), whatever the degree: few large ops,
    which keeps a thread pool beside a busy process from waiting at a barrier per op.
    """
    rows, degree = gather.shape
    return word.index_select(0, gather.reshape(-1)).view(rows, degree, -1).sum(1, dtype=torch.uint8).bitwise_and_(1)
