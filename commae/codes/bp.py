r"""Belief-propagation decoding of binary linear codes: sum-product and min-sum, flooding and layered, batched.

:class:`BPDecoder` decodes any :class:`~commae.codes.BlockCode` on the Tanner
graph of its parity-check matrix, many codewords at once, on the device of
its input.

Conventions
-----------
Input: channel LLRs ``[B, n]`` in commae's convention,
:math:`L = \ln P(b{=}1|y) / P(b{=}0|y)` (a logit, :mod:`commae.snr`; BPSK
:math:`x = 1 - 2b` over real AWGN of variance :math:`N_0/2` gives
:math:`L = -4y/N_0`). The code turns them into the ``[B, n_graph]`` LLRs of
its graph (:meth:`~commae.codes.BlockCode.graph_llrs`). Inside, the decoder
works with :math:`\lambda = -L = \ln P(0)/P(1)`, the textbook sign, in
which the check rule has no degree-dependent sign; the a-posteriori LLRs it
returns are again commae's. A bit is decided 1 when its a-posteriori LLR is
> 0 (0 on a tie).

Check-node rules
----------------
With :math:`v_1 \dots v_d` the messages into a check (variable-to-check,
:math:`\lambda` sign), the message out on edge :math:`j`:

* ``"sum-product"`` (exact boxplus):
  :math:`c_j = 2 \operatorname{artanh} \prod_{i \ne j} \tanh(v_i/2)`,
  sign and magnitude apart: the sign is the product of the others' signs
  (a -0 counts as negative, as in min-sum), and the magnitude is evaluated
  in the *excess domain* :math:`y = \coth(|v|/2) - 1 = 2/\operatorname{expm1}(|v|)`
  (so :math:`\phi(|v|) = -\ln\tanh(|v|/2) = \operatorname{log1p}(y)`, Gallager's
  :math:`\phi`). The others' :math:`\prod\coth` is :math:`1 + Y_j` with
  :math:`Y_j` the others' :math:`y` combined by
  :math:`a \oplus b = a + b(1 + a)` (that is :math:`(1+a)(1+b) - 1`), and
  :math:`|c_j| = \phi(\operatorname{log1p} Y_j) = \operatorname{log1p}(2/Y_j)`.
  The exclusive combinations :math:`Y_j` come from a forward and a backward
  pass over the check's degree (:math:`3(d-2)` combinations), never from a
  total with the own term taken out. Every step adds or multiplies
  non-negative numbers (each with a condition number at most 1), so nothing
  cancels: the rule is exact to float rounding up to the cap below (relative
  error at most :math:`10^{-6}` in float32, measured on degrees 2 to 20 with
  inputs from :math:`10^{-3}` to 80 and zeros, against a float64 log-domain
  reference itself checked to 80 digits; tested to :math:`10^{-5}`), where a
  tanh rule (:math:`1 - \tanh` formed, as :math:`\sigma(v) - \tfrac12` and a
  logit did here before) saturates at :math:`\ln(2/\epsilon) = 16.6` in
  float32 (36.7 in float64) and resolves a message of magnitude :math:`|c|`
  only to :math:`\epsilon e^{|c|}`. One ``expm1`` and one ``log1p`` an edge,
  as the tanh rule's ``sigmoid`` and ``logit``, plus the passes over the
  degree.

  Limits (tested): input magnitudes are clamped to
  :math:`87` in float32 (700 in float64) first, where
  :math:`2e^{-|v|}` is still a normal number (:math:`2^{-126} = e^{-87.3}`),
  so no zero, subnormal or :math:`\infty \cdot 0` reaches the arithmetic; an
  input beyond (a known bit, ``KNOWN_LLR``) counts as 87, and a check of
  degree :math:`\ge 3` sends at most 87. An exact zero input (a punctured or
  erased bit) has :math:`y = \infty`: its own edge gets the others' boxplus
  and the others an exact 0. A check of degree 2 passes each edge the other
  message unchanged (exact at any magnitude, capped at :math:`10^6` as
  min-sum's), and one of degree 1 sends :math:`+87` (its bit is 0). Outputs
  below the smallest normal float (:math:`10^{-38}`) may be flushed to 0.
  No input but NaN gives NaN.
* ``"min-sum"``: :math:`c_j = \prod_{i \ne j} \operatorname{sgn} v_i \cdot \min_{i \ne j} |v_i|`,
  ties handled exactly (two inputs at the minimum give every edge that minimum).
* ``"normalized-min-sum"``: the min-sum magnitude times ``scale`` (default 0.75).
* ``"offset-min-sum"``: :math:`\max(\min_{i \ne j} |v_i| - \beta, 0)`, ``offset`` :math:`\beta` (default 0.5).

Schedules
---------
* ``"flooding"``: every check, then every variable, per iteration:
  :math:`T_v = \lambda_v + \sum_{c \ni v} c_{c \to v}`, :math:`v_{v \to c} = T_v - c_{c \to v}`.
* ``"layered"`` (row-layered, "horizontal"): checks are processed in their
  order in :math:`H`, and each check's output updates the a-posteriori
  :math:`T` at once (:math:`v = T - c_{\text{old}}`, :math:`T = v + c_{\text{new}}`).
  Runs of consecutive checks that share no variable form a layer and are
  processed together; that is exactly the row-by-row schedule. A lifted code
  (WiMAX, Wi-Fi, 5G) has one layer per block row.

Early stop
----------
With ``early_stop=True`` (default) the decoder checks :math:`H\hat c = 0`
before each iteration (so before the first, too) and a codeword whose
syndrome is satisfied stops there: its decision, a-posteriori LLRs and
iteration count are recorded and never touched again, while the others go
on. The torch path works on a batch of ``chunk_size`` columns; when an eighth
of them hold stopped codewords these are dropped and, while the input lasts,
the next codewords of the input join the batch, so the operations run on a
nearly full batch until the input runs out (the compiled kernel gives a
stopped codeword's lane to the next codeword at once: Backends). ``iterations`` counts the iterations a codeword ran (0 when the
channel's hard decisions already form a codeword).

Backends
--------
The min-sum rules run on a CPU through a compiled kernel when numba imports
(:mod:`commae.codes.bp_numba`, ``pip install commae[fast]``): 64 codewords
side by side in SIMD lanes, one contiguous share of the batch a thread
(``torch.get_num_threads()`` threads), each lane taking the next codeword as
soon as its own stops. It performs the torch rule's float operations in the
same order, so decisions, a-posteriori LLRs and iteration counts are the
torch path's bit for bit (tested). ``backend="auto"`` (default) takes it
where it applies (CPU input, a min-sum rule); ``"torch"`` never,
``"numba"`` always on a CPU (it refuses sum-product, and fails where numba is
missing). Other devices always run the torch path, and so does sum-product.

Layout
------
Messages are float tensors ``[E, B]``: one row per edge, the batch last, so
gathers copy whole rows (``index_select``), the variable sums are one
``index_add_`` and the check rules reduce over a ``[rows, degree, B]`` view
of each block of checks of equal degree; no Python loop over edges or
checks (the layered schedule loops over layers). Input LLRs may be float32
(the default) or float64; messages keep the input's dtype.

Examples
--------
>>> from commae.codes import hamming74
>>> code = hamming74()
>>> llr = torch.tensor([[-4., 3., -4., -4., -4., -4., -4.]])   # all-zero word, bit 1 received wrong
>>> BPDecoder(code, iterations=5)(llr)
tensor([[0., 0., 0., 0.]])
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import nn

from .base import BlockCode

__all__ = ["BPDecoder", "BPResult", "ALGORITHMS", "SCHEDULES", "BACKENDS"]

Algorithm = Literal["sum-product", "min-sum", "offset-min-sum", "normalized-min-sum"]
Schedule = Literal["flooding", "layered"]
Backend = Literal["auto", "torch", "numba"]
ALGORITHMS: tuple[str, ...] = ("sum-product", "min-sum", "normalized-min-sum", "offset-min-sum")
SCHEDULES: tuple[str, ...] = ("flooding", "layered")
BACKENDS: tuple[str, ...] = ("auto", "torch", "numba")
_DEFAULT_SCALE = 0.75
_DEFAULT_OFFSET = 0.5
# sum-product's largest input magnitude: 2 / expm1(cap) = 2 e^-cap stays a normal number (2^-126 = e^-87.3 in float32,
# 2^-1022 = e^-708.4 in float64), so no subnormal, no zero and no inf * 0 ever reaches the rule; it is also its largest output
_SUM_PRODUCT_CAP = {torch.float32: 87.0, torch.float64: 700.0}
_MIN_SUM_CAP = 1e6  # largest min-sum check message (and sum-product's at degree 2): their magnitudes grow without bound
_BIG = 1e30  # min-sum's "no other input" (a check of degree 1): finite, so no inf - inf ever


def _numba_kernel():
    """:mod:`commae.codes.bp_numba`, or None where numba does not import (imported on first use: numba takes 0.2 s to import)."""
    from . import bp_numba

    return bp_numba if bp_numba.AVAILABLE else None


class BPResult(NamedTuple):
    """What :meth:`BPDecoder.decode` returns for ``B`` codewords.

    Attributes
    ----------
    bits : torch.Tensor, [B, k], float {0, 1}
        Decoded information bits.
    word : torch.Tensor, [B, n_graph], float {0, 1}
        The decided graph word (all variable nodes).
    llr : torch.Tensor, [B, n_graph], float
        A-posteriori LLRs, commae's sign (:math:`\\ln P(1)/P(0)`).
    iterations : torch.Tensor, [B], int64
        Iterations each codeword ran.
    satisfied : torch.Tensor, [B], bool
        Whether ``word`` satisfies every parity check.
    """

    bits: torch.Tensor
    word: torch.Tensor
    llr: torch.Tensor
    iterations: torch.Tensor
    satisfied: torch.Tensor


class _Block(NamedTuple):
    """``rows`` checks of degree ``degree`` whose edges are rows ``start : start + rows * degree`` of the message tensor."""

    start: int
    rows: int
    degree: int


class _Graph:
    """The Tanner graph as index tensors on one device: edges grouped by layer, then by check degree."""

    def __init__(self, parity_check: torch.Tensor, layered: bool, device: torch.device) -> None:
        H = parity_check.to(torch.bool).cpu()
        H = H[H.any(1)]  # an empty check constrains nothing
        self.n = H.shape[1]
        row_vars = [torch.nonzero(row).flatten() for row in H]
        layers: list[list[int]] = []
        if layered:
            used = torch.zeros(self.n, dtype=torch.bool)
            for i, cols in enumerate(row_vars):
                if not layers or used[cols].any():
                    layers.append([])
                    used.zero_()
                layers[-1].append(i)
                used[cols] = True
        else:
            layers = [list(range(len(row_vars)))]
        edges: list[torch.Tensor] = []
        self.layers: list[tuple[int, int, list[_Block]]] = []  # (first edge, end edge, blocks)
        start = 0
        for rows in layers:
            layer_start = start
            blocks = []
            degrees = sorted({len(row_vars[i]) for i in rows})
            for d in degrees:
                members = [i for i in rows if len(row_vars[i]) == d]
                edges.extend(row_vars[i] for i in members)
                blocks.append(_Block(start, len(members), d))
                start += len(members) * d
            self.layers.append((layer_start, start, blocks))
        self.num_edges = start
        self.largest_layer = max(end - first for first, end, _ in self.layers)
        # where each check's edges start (and the end), checks in the schedule's order: the compiled kernel's layout
        self.check_start = torch.tensor([0] + [b.start + (r + 1) * b.degree for _, _, blocks in self.layers for b in blocks for r in range(b.rows)])
        self.var_of_edge = torch.cat(edges).to(device)
        # the syndrome's own layout: every check, grouped by degree only (few blocks, whatever the layers)
        self.check_blocks: list[_Block] = []
        check_edges: list[torch.Tensor] = []
        start = 0
        for d in sorted({len(cols) for cols in row_vars}):
            members = [cols for cols in row_vars if len(cols) == d]
            check_edges.extend(members)
            self.check_blocks.append(_Block(start, len(members), d))
            start += len(members) * d
        self.check_var_of_edge = torch.cat(check_edges).to(device)


def _signs(v: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The signs of ``v`` ``[rows, d, B]`` as +-1 into ``out`` (a -0 counts as negative), and their product over each check ``[rows, 1, B]``."""
    signs = torch.copysign(torch.ones((), dtype=v.dtype, device=v.device), v, out=out)
    return signs, signs.prod(1, keepdim=True)


def _check_sum_product(v: torch.Tensor, out: torch.Tensor, work: torch.Tensor) -> None:
    """Exact boxplus on ``v`` ``[rows, d, B]`` (lambda sign), written into ``out``; ``work`` is scratch of the same shape.

    In the excess domain ``y = coth(|v|/2) - 1 = 2 / expm1(|v|)`` (module notes): the others' ``y`` combine by
    ``a (+) b = a + b (1 + a)``, the exclusive combinations come from a forward and a backward pass over the degree
    (``5 (d - 2)`` operations on ``[rows, B]`` slices), and the magnitude out is ``log1p(2 / Y)``; nothing is subtracted.
    """
    d = v.shape[1]
    cap = _SUM_PRODUCT_CAP[v.dtype]
    if d == 1:  # the check alone forces its bit to 0: the most certain message
        out.fill_(cap)
        return
    if d == 2:  # each edge gets the other's message unchanged (exact at any magnitude), capped as min-sum's
        torch.clamp(v[:, 1], -_MIN_SUM_CAP, _MIN_SUM_CAP, out=out[:, 0])
        torch.clamp(v[:, 0], -_MIN_SUM_CAP, _MIN_SUM_CAP, out=out[:, 1])
        return
    y = torch.abs(v, out=work).clamp_max_(cap).expm1_()
    torch.div(2.0, y, out=y)  # y_i in [2 e^-cap, inf]: inf for an erased (0) input
    # a (+) b = a + b (1 + a): the product is at least b, never subnormal; 1 + a may round, it only scales
    tmp = out[:, 0]  # [rows, B] scratch until the end
    out[:, 1].copy_(y[:, 0])  # forward: out_j = y_0 (+) ... (+) y_(j-1)
    for j in range(2, d):
        torch.add(out[:, j - 1], 1.0, out=tmp)
        torch.addcmul(out[:, j - 1], y[:, j - 1], tmp, out=out[:, j])
    acc = y[:, d - 1]  # backward: acc = y_(d-1) (+) ... (+) y_(j+1), in the place of y_(d-1)
    for j in range(d - 2, 0, -1):
        torch.add(acc, 1.0, out=tmp)
        torch.addcmul(acc, out[:, j], tmp, out=out[:, j])  # out_j (+)= acc: every input but y_j
        acc.addcmul_(y[:, j], tmp)  # acc (+)= y_j
    out[:, 0].copy_(acc)
    torch.div(2.0, out, out=out).log1p_()  # |c_j| = log1p(2 / Y_j): Y_j = inf (an erased other) gives 0
    signs, parity = _signs(v, work)
    signs.mul_(parity)  # the product of the others' signs
    out.mul_(signs)


def _check_min_sum(v: torch.Tensor, out: torch.Tensor, work: torch.Tensor, scale: float, offset: float) -> None:
    """Min-sum on ``v`` ``[rows, d, B]``: sign product and the smallest other magnitude, scaled or offset, into ``out``."""
    a = torch.abs(v, out=work)
    mins = v.new_empty((2,) + a[:, :1].shape)  # the smallest and the second smallest magnitude, [2, rows, 1, B]
    m1, m2 = mins[0], mins[1]
    torch.amin(a, 1, keepdim=True, out=m1)
    at_min = torch.eq(a, m1, out=out)  # 1. where the minimum is (comparisons into a float tensor are fast)
    ties = at_min.sum(1, keepdim=True)  # how many inputs sit at the minimum
    torch.amin(a.add_(at_min, alpha=_BIG), 1, keepdim=True, out=m2)  # the smallest of the others
    m2.copy_(torch.where(ties > 1, m1, m2))  # two at the minimum give each other the minimum
    mins.clamp_max_(_MIN_SUM_CAP)
    if scale != 1.0:
        mins.mul_(scale)
    if offset != 0.0:
        mins.sub_(offset).clamp_min_(0.0)
    signs, parity = _signs(v, work)
    m2.sub_(m1).mul_(parity)
    m1.mul_(parity)
    torch.addcmul(m1, at_min, m2, out=out)  # parity * (m2 on the edge at the minimum, m1 elsewhere)
    out.mul_(signs)  # times the edge's own sign: the product of the others'


class _State:
    """The working columns of a chunk: LLRs, a-posteriori sums, messages and scratch, ``[rows, width]`` each."""

    def __init__(self, graph: _Graph, lam: torch.Tensor) -> None:
        self.graph = graph
        self.lam = lam  # [n, width], lambda sign
        self.T = lam.clone()  # a-posteriori sums
        self.C = lam.new_zeros(graph.num_edges, lam.shape[1])  # check-to-variable messages
        self._scratch()

    def _scratch(self) -> None:
        width = self.C.shape[1]
        E = self.graph.largest_layer  # flooding: every edge; layered: the largest layer's
        self.V = self.C.new_empty(E, width)  # variable-to-check messages
        self.W = self.C.new_empty(E, width)  # the check rules' scratch
        self.hard = torch.empty(self.T.shape, dtype=torch.bool, device=self.T.device)
        self.hard_edges = torch.empty(self.graph.check_var_of_edge.numel(), width, dtype=torch.uint8, device=self.T.device)
        # each layer's views, made once per allocation: (variables of its edges, its V, its C, (v, c, scratch) per block)
        self.layers = []
        for start, end, blocks in self.graph.layers:
            V, C = self.V[: end - start], self.C[start:end]
            views = []
            for b in blocks:
                local = slice(b.start - start, b.start - start + b.rows * b.degree)
                shape = (b.rows, b.degree, width)
                views.append((V[local].view(shape), C[local].view(shape), self.W[local].view(shape)))
            self.layers.append((self.graph.var_of_edge[start:end], V, C, views))

    def keep(self, columns: torch.Tensor, lam: torch.Tensor | None = None) -> None:
        """Keep only ``columns`` (drop the codewords that stopped), then start new codewords after them (``lam`` ``[n, new]``)."""
        self.lam = self.lam.index_select(1, columns)
        self.T = self.T.index_select(1, columns)
        self.C = self.C.index_select(1, columns)
        if lam is not None:  # their sums are their LLRs, their messages 0
            self.lam = torch.cat([self.lam, lam], 1)
            self.T = torch.cat([self.T, lam], 1)
            self.C = torch.cat([self.C, self.C.new_zeros(self.C.shape[0], lam.shape[1])], 1)
        self._scratch()

    def satisfied(self) -> torch.Tensor:
        """``[width]`` bool: the decisions of ``T`` (1 where T < 0, lambda sign) satisfy every check."""
        graph = self.graph
        torch.lt(self.T, 0, out=self.hard)
        hard = torch.index_select(self.hard.view(torch.uint8), 0, graph.check_var_of_edge, out=self.hard_edges)
        unsatisfied = None
        for b in graph.check_blocks:
            odd = hard[b.start : b.start + b.rows * b.degree].view(b.rows, b.degree, -1).sum(1, dtype=torch.uint8).bitwise_and_(1).amax(0)
            unsatisfied = odd if unsatisfied is None else unsatisfied.bitwise_or_(odd)
        return unsatisfied == 0


class BPDecoder(nn.Module):
    r"""Belief-propagation decoder of a block code, batched over codewords.

    Parameters
    ----------
    code : BlockCode
        The code (its ``parity_check`` gives the graph; ``graph_llrs`` and ``info_bits`` map in and out).
    algorithm : {"sum-product", "min-sum", "normalized-min-sum", "offset-min-sum"}
        Check-node rule (module notes).
    schedule : {"flooding", "layered"}
        Message-passing schedule (module notes).
    iterations : int
        Largest number of iterations (>= 1).
    scale : float, optional
        Normalisation factor of ``"normalized-min-sum"``, in (0, 1]; default 0.75.
    offset : float, optional
        Offset of ``"offset-min-sum"`` in LLR units, >= 0; default 0.5.
    early_stop : bool
        Stop each codeword as soon as its decision satisfies every check (module notes).
    backend : {"auto", "torch", "numba"}
        Who runs a min-sum rule on a CPU: the compiled kernel where numba
        imports (``"auto"``), the torch operators (``"torch"``), or the kernel
        without fallback (``"numba"``: sum-product refused, numba required).
        On any other device the torch operators run. The results are equal
        either way (module notes).
    chunk_size : int, optional
        Torch backend: codewords decoded together; a larger batch is decoded chunk by chunk.
        By default: on a CPU, flooding takes about :math:`2^{20}/E` codewords
        for ``E`` edges (its messages stay in the cache: 574 for WiMAX
        (576,288)) and layered 4096 (fewer, larger operations); on an
        accelerator 65536. Memory: about ``3 E`` numbers a codeword
        flooding, ``E`` layered.

    Notes
    -----
    :meth:`forward` returns the decoded information bits; :meth:`decode`
    returns them with the decided graph word, the a-posteriori LLRs, the
    iterations each codeword ran and whether its syndrome is satisfied
    (:class:`BPResult`). The decoder has no trainable parameters and keeps no
    state between calls; its index tensors are copied to a device the first
    time an input arrives there.
    """

    def __init__(
        self,
        code: BlockCode,
        algorithm: Algorithm = "sum-product",
        schedule: Schedule = "flooding",
        iterations: int = 20,
        *,
        scale: float | None = None,
        offset: float | None = None,
        early_stop: bool = True,
        backend: Backend = "auto",
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(code, BlockCode):
            raise ValueError(f"code must be a BlockCode (k, n, n_graph, parity_check, encode, graph_word, graph_llrs, info_bits), got {type(code).__name__}")
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}; got {algorithm!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
        if scale is not None and algorithm != "normalized-min-sum":
            raise ValueError(f"scale applies to algorithm 'normalized-min-sum' only, not {algorithm!r}")
        if offset is not None and algorithm != "offset-min-sum":
            raise ValueError(f"offset applies to algorithm 'offset-min-sum' only, not {algorithm!r}")
        scale = _DEFAULT_SCALE if scale is None and algorithm == "normalized-min-sum" else (1.0 if scale is None else scale)
        offset = _DEFAULT_OFFSET if offset is None and algorithm == "offset-min-sum" else (0.0 if offset is None else offset)
        if not 0.0 < float(scale) <= 1.0:
            raise ValueError(f"scale must lie in (0, 1], got {scale!r}")
        if not 0.0 <= float(offset) < float("inf"):
            raise ValueError(f"offset must be >= 0 and finite, got {offset!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
        if backend == "numba" and algorithm == "sum-product":
            raise ValueError("backend 'numba' runs the min-sum rules (min-sum, normalized-min-sum, offset-min-sum), not 'sum-product'; use backend 'auto' or 'torch'")
        if backend == "numba" and _numba_kernel() is None:
            raise ImportError("backend 'numba' needs numba: pip install 'commae[fast]' (or backend 'auto' falls back to torch)")
        if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
            raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
        H = code.parity_check
        if not isinstance(H, torch.Tensor) or H.ndim != 2 or H.shape[1] != code.n_graph:
            raise ValueError(f"code.parity_check must be a [m, n_graph = {code.n_graph}] tensor")
        if not bool(H.any()):
            raise ValueError("code.parity_check has no parity check (every row is empty): there is nothing to decode")
        self.code = code
        self.algorithm = algorithm
        self.schedule = schedule
        self.iterations = iterations
        self.scale = float(scale)
        self.offset = float(offset)
        self.early_stop = bool(early_stop)
        self.backend = backend
        self.chunk_size = chunk_size
        self._graphs: dict[torch.device, _Graph] = {}
        self._graph(torch.device("cpu"))  # build (and validate) once

    def extra_repr(self) -> str:
        extra = f", scale={self.scale}" if self.algorithm == "normalized-min-sum" else f", offset={self.offset}" if self.algorithm == "offset-min-sum" else ""
        return f"algorithm={self.algorithm!r}, schedule={self.schedule!r}, iterations={self.iterations}{extra}, early_stop={self.early_stop}, backend={self.backend!r}"

    def _graph(self, device: torch.device) -> _Graph:
        if device not in self._graphs:
            self._graphs[device] = _Graph(self.code.parity_check, self.schedule == "layered", device)
        return self._graphs[device]

    def forward(self, llr: torch.Tensor) -> torch.Tensor:
        """Decode channel LLRs.

        Parameters
        ----------
        llr : torch.Tensor, [B, n], float32 or float64
            Channel LLRs of the transmitted bits, :math:`\\ln P(b{=}1|y)/P(b{=}0|y)`.

        Returns
        -------
        torch.Tensor, [B, k], same dtype and device
            Decoded information bits in {0, 1}.
        """
        return self.decode(llr).bits

    @torch.no_grad()
    def decode(self, llr: torch.Tensor) -> BPResult:
        """Decode channel LLRs ``[B, n]`` and return bits, word, a-posteriori LLRs, iterations and syndrome flags (:class:`BPResult`)."""
        if not isinstance(llr, torch.Tensor) or llr.ndim != 2 or llr.shape[1] != self.code.n:
            shape = tuple(llr.shape) if isinstance(llr, torch.Tensor) else type(llr).__name__
            raise ValueError(f"llr must be a [B, {self.code.n}] tensor of channel LLRs, got {shape}")
        if llr.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"llr must be float32 or float64, got {llr.dtype}")
        graph_llr = self.code.graph_llrs(llr)
        graph = self._graph(llr.device)
        B = graph_llr.shape[0]
        kernel = self._kernel(llr.device)
        if kernel is not None and B:
            out, count, ok = kernel.decode(
                graph_llr.detach().numpy(),
                graph.var_of_edge.numpy(),
                graph.check_start.numpy(),
                layered=self.schedule == "layered",
                iterations=self.iterations,
                early_stop=self.early_stop,
                scale=self.scale,
                offset=self.offset,
                cap=_MIN_SUM_CAP,
                threads=torch.get_num_threads(),
            )
            app, iterations, satisfied = torch.from_numpy(out), torch.from_numpy(count), torch.from_numpy(ok)
        else:
            app = graph_llr.new_empty(B, self.code.n_graph)
            iterations = torch.full((B,), self.iterations, dtype=torch.int64, device=llr.device)
            satisfied = torch.zeros(B, dtype=torch.bool, device=llr.device)
            if B:
                self._decode_all(graph, graph_llr, app, iterations, satisfied)
        word = torch.gt(app, 0, out=torch.empty_like(app))  # 1 where the a-posteriori LLR is > 0
        return BPResult(self.code.info_bits(word), word, app, iterations, satisfied)

    def _kernel(self, device: torch.device):
        """The compiled min-sum kernel's module where it runs this decoder on ``device``, else None (module notes, Backends)."""
        if device.type != "cpu" or self.backend == "torch" or self.algorithm == "sum-product":
            return None
        return _numba_kernel()

    def _default_chunk(self, graph: _Graph, device: torch.device) -> int:
        if device.type != "cpu":
            return 1 << 16
        if self.schedule == "layered":
            return 4096
        return int(min(4096, max(128, 2**20 // graph.num_edges)))

    def _check(self, v: torch.Tensor, out: torch.Tensor, work: torch.Tensor) -> None:
        if self.algorithm == "sum-product":
            _check_sum_product(v, out, work)
        else:
            _check_min_sum(v, out, work, self.scale, self.offset)

    def _decode_all(self, graph: _Graph, llr: torch.Tensor, app: torch.Tensor, iterations: torch.Tensor, satisfied: torch.Tensor) -> None:
        """Decode ``[B, n_graph]`` graph LLRs into ``app`` ``[B, n_graph]`` (commae sign), ``iterations`` and ``satisfied`` ``[B]``.

        A working batch of ``chunk`` columns runs one iteration at a time. A
        codeword that stops (syndrome satisfied, or the last iteration) is
        recorded at once and its column idles; when an eighth of the columns
        idle they are dropped (one copy of the batch), and when fewer than
        half a batch remain the next codewords of the input join them, so the
        slow codewords of one batch decode beside the next batch instead of
        in a batch of their own.
        """
        B = llr.shape[0]
        device = llr.device
        width = min(B, self.chunk_size or self._default_chunk(graph, device))
        state = _State(graph, torch.sub(0.0, llr[:width].t()).contiguous())  # lambda = ln P(0)/P(1) [n, width]; 0 - x: never a -0
        origin = torch.arange(width, device=device)  # the input row each column decodes
        count = torch.zeros(width, dtype=torch.int64, device=device)  # iterations it has run
        alive = torch.ones(width, dtype=torch.bool, device=device)  # False once its codeword has stopped
        next_row = width
        iteration = self._layered_iteration if self.schedule == "layered" else self._flooding_iteration
        while True:
            at_limit = count >= self.iterations
            if self.early_stop or bool(at_limit.any()):
                ok = state.satisfied()
                finished = torch.nonzero(((ok | at_limit) if self.early_stop else at_limit) & alive).flatten()
                if finished.numel():
                    rows = origin[finished]
                    app.index_copy_(0, rows, state.T.index_select(1, finished).t().neg())  # commae's sign
                    iterations[rows] = count[finished]
                    satisfied[rows] = ok[finished]
                    alive[finished] = False
                    idle = int((~alive).sum())
                    if idle == alive.numel() and next_row == B:
                        break
                    if idle * 8 >= alive.numel():  # drop the idle columns; below half a batch, new codewords join
                        keep = torch.nonzero(alive).flatten()
                        fresh = min(width - keep.numel(), B - next_row) if keep.numel() * 2 < width else 0
                        new = torch.sub(0.0, llr[next_row : next_row + fresh].t()) if fresh else None
                        state.keep(keep, new)
                        origin = torch.cat([origin[keep], torch.arange(next_row, next_row + fresh, device=device)])
                        count = torch.cat([count[keep], count.new_zeros(fresh)])
                        alive = torch.ones(keep.numel() + fresh, dtype=torch.bool, device=device)
                        next_row += fresh
                        continue  # the new codewords' syndromes before their first iteration
            iteration(state)
            count += 1

    def _flooding_iteration(self, state: _State) -> None:
        ((edges_var, V, C, views),) = state.layers  # flooding: one layer, every check
        torch.index_select(state.T, 0, edges_var, out=V).sub_(C)  # variable-to-check [E, B]
        for v, c, work in views:
            self._check(v, c, work)
        state.T.copy_(state.lam).index_add_(0, edges_var, C)

    def _layered_iteration(self, state: _State) -> None:
        for edges_var, V, C, views in state.layers:
            torch.index_select(state.T, 0, edges_var, out=V).sub_(C)
            for v, c, work in views:
                self._check(v, c, work)
            state.T.index_copy_(0, edges_var, V.add_(C))
