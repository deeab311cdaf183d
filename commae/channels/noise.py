r"""Standard normal draws without a cap: :func:`gaussian`, the one place commae draws Gaussian noise.

``torch.randn`` in float32 on a CPU is a Box–Muller transform of 24-bit
uniforms: the radius :math:`\sqrt{-2 \ln u_1}` with :math:`u_1 \ge 2^{-24}`
never passes :math:`\sqrt{48 \ln 2} \approx 5.77`, so no draw lies beyond
5.77σ, and the tail just below is coarse — the law of a draw beyond
:math:`z` is a sum over the few radii beyond :math:`z` (4 beyond 5.5σ, 62
beyond 5σ, 672 beyond 4.5σ). Its tail probability :math:`P(Z > z)` is
short by :math:`2.6\cdot10^{-4}` of itself at 4σ, :math:`2\%` at 5σ,
:math:`21\%` at 5.5σ and everything past 5.77σ (``benchmarks/noise_tail.py``
prints these from the generator's exact law). An error rate made by noise
beyond about 4.5σ — uncoded BPSK below BER :math:`10^{-6}`, every coded
error floor — is then wrong, and below about :math:`10^{-8.5}` it is zero.

The correction
--------------
:func:`gaussian` draws ``torch.randn`` as before and repairs the two places
where it is wrong, with a threshold :math:`t` = :data:`TAIL_THRESHOLD` = 4
and :math:`p = P(|Z| > t) = \operatorname{erfc}(t/\sqrt 2) \approx 6.3\cdot10^{-5}`:

1. **Which draws are tail draws** is decided by an independent Bernoulli
   process of rate :math:`p` over the positions of the tensor, drawn
   sparsely: the gaps between its points are geometric,
   :math:`G = \lfloor \ln U / \ln(1-p) \rfloor` with :math:`U \in (0, 1]` a
   53-bit uniform, so :math:`P(G \ge g) = (1-p)^g` and every position is a
   tail position with probability :math:`p`, independently of every other
   and of the ``randn`` values.
2. **A tail position** gets :math:`\pm X` with a fair sign and :math:`X`
   drawn exactly from the normal law conditioned on :math:`X > t`, in float64
   by Marsaglia's tail method (Marsaglia 1964; Devroye 1986, IX.1.2):
   :math:`X = \sqrt{t^2 - 2\ln U_1}` (density :math:`x e^{-(x^2-t^2)/2}` on
   :math:`x > t`), kept when :math:`U_2 X \le t` (probability :math:`t/x`),
   so the kept values have density proportional to :math:`e^{-x^2/2}` on
   :math:`x > t` — the conditional normal tail, with no table, no
   approximation of :math:`\Phi^{-1}` and no cap (acceptance
   :math:`t\,Q(t)/\varphi(t) \approx 0.95`).
3. **Every other position** keeps its ``randn`` draw if :math:`|z| \le t`;
   a draw beyond :math:`t` there (which ``randn`` makes with its own,
   slightly wrong, probability) is replaced by a fresh ``randn`` draw, until
   one lands within :math:`t`: rejection, so a body position holds a
   ``randn`` draw conditioned on :math:`|z| \le t`.

Every draw is therefore, independently, with probability exactly :math:`p`
an exact draw of :math:`Z` given :math:`|Z| > t`, and with probability
:math:`1 - p` a ``randn`` draw given :math:`|z| \le t`: its law is
:math:`(1-p)\,L_\mathrm{randn}(\cdot \mid |z| \le t) + p\,N(0,1)(\cdot \mid |Z| > t)`,
which is :math:`N(0, 1)` beyond :math:`t` exactly (to float64 rounding), and
within :math:`t` the float32 generator's own law renormalised — off from the
normal by at most the :math:`2.6\cdot10^{-4}` (relative, of a probability
near 4σ) that float32 Box–Muller is off there, far smaller below. Note the
``randn`` draws beyond :math:`t` are never kept: their mass is wrong (too
small, and zero beyond 5.77σ), so keeping them and correcting only their
values would keep the wrong mass; the Bernoulli process gives the tail its
exact mass :math:`p` whatever the generator does out there. A position chosen
by the process and also redrawn in step 3 simply takes its tail value.

The draws are a function of the generator's state alone (the process, the
tail values and the redraws come from the same generator, after the
``randn`` draw), so the same seed gives the same noise, and the fast path
(:mod:`commae.simulation.fastpath`), which draws with the shape the channel
would (into a :class:`NoiseBuffer`: the same draws), sees the same draws as
the generic one.

What it costs
-------------
Finding the few draws beyond :math:`t` costs a row-wise ``amax`` and
``amin`` over rows of 256 draws and a look inside the rows that cross
:math:`t` (about 17 of 1024 rows in a call of :math:`2^{18}` draws); the
sparse work is about :math:`2p` of the positions — 17 redraws and 17 tail
values in such a call — and about :math:`4p` extra random numbers a draw.
None of it is arithmetic-heavy: the time goes to the two reductions and to
a fixed number of library calls a call, which come cold right after
``randn`` has swept the caches. The sparse work therefore runs as scalar
Python on lists (``math.log1p``, ``math.sqrt``: the same IEEE operations,
in the same order, as a vectorised numpy version, so the same draws —
``tests/test_noise.py`` replays the method in numpy and compares draw for
draw), a few calls in all; nothing in it is approximate. A loop that draws
one shape again and again — the engine's fast path — keeps a
:class:`NoiseBuffer`, which makes the views and small tensors those calls
work with once instead of on every draw.
Measured inside the engine (thread CPU time a noise draw, part 5 of
``benchmarks/noise_tail.py``, load 5.8 on 2 cores, median / 10th
percentile): for 16-QAM's :math:`2^{18}` draws a batch the correction adds
0.16 / 0.15 ms to ``randn``'s 1.15 / 1.14 ms (detection 0.10 / 0.09, sparse
work 0.06 / 0.05); for Hamming (7,4)'s :math:`1.8\cdot10^6` it adds 1.00 /
0.79 ms to 8.0 / 8.0 ms, most of it the two reductions over 7 MB (0.78 /
0.55). Switched on and off in one engine, 16-QAM runs at 0.91–0.93× (wall)
and 0.89–0.92× (CPU time) with the correction, Hamming (7,4) hard at
0.93–0.99× and 0.93–0.96×; the fast path, made faster elsewhere at the same
time (its slicer, its fixed cost a batch and Hamming's packing,
:mod:`commae.simulation.fastpath`), keeps 0.97–1.00× (16-QAM) and
0.96–1.04× (Hamming (7,4) hard) of the wall-clock throughput of the engine
before issue 25, CPU time 0.97–0.99× for both (three runs of part 2 at load
4.7–5.8; docs/ber-curve.md).

A float64 or half-precision tensor gets the same treatment (its ``randn``
body, exact tails). On an accelerator ``torch.randn`` is another generator
with its own cap (CUDA's Philox with Box–Muller on 32-bit uniforms); the
correction is the same code, with the sparse work on the host (not measured
here: the tests run on a CPU).

Examples
--------
>>> gen = torch.Generator().manual_seed(0)
>>> z = gaussian((1000, 2), gen)
>>> z.shape, z.dtype
(torch.Size([1000, 2]), torch.float32)
>>> tail = normal_tail(100_000, 6.0, torch.Generator().manual_seed(1))
>>> bool(tail.min() > 6.0), round(float(tail.mean()), 2)  # E[Z | Z > 6] = phi(6)/Q(6) = 6.16
(True, 6.16)
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

__all__ = ["gaussian", "NoiseBuffer", "normal_tail", "TAIL_THRESHOLD", "TAIL_PROBABILITY", "LARGEST_DRAW"]

TAIL_THRESHOLD = 4.0
"""Draws beyond this many standard deviations come from the exact tail sampler, with exact total probability."""

TAIL_PROBABILITY = math.erfc(TAIL_THRESHOLD / math.sqrt(2.0))
"""P(|Z| > TAIL_THRESHOLD) for a standard normal Z: the rate of the tail positions."""

LARGEST_DRAW = math.inf
"""The largest |draw| :func:`gaussian` can produce: none (float32 ``randn`` alone stops at 5.77)."""

_ROW = 256  # draws a row when looking for those beyond the threshold
_HOST_DTYPES = (torch.float32, torch.float64)  # corrected in place through a numpy view on the CPU


def gaussian(
    shape: tuple[int, ...] | torch.Size, generator: torch.Generator | None = None, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None, out: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Independent standard normal draws of ``shape``, exact in the tails (see the module notes).

    Parameters
    ----------
    shape : tuple of int
    generator : torch.Generator, optional
        On ``device``; None uses torch's global generator.
    dtype : torch.dtype
        A floating dtype (float32 by default).
    device : torch.device or str, optional
        Default: the generator's device, else the CPU.
    out : Tensor, optional
        A tensor of ``shape`` to fill (a scratch buffer); its dtype and device win over ``dtype`` and ``device``.

    Returns
    -------
    Tensor, ``shape``, ``dtype`` — ``out`` when given.
    """
    if out is not None:
        dtype, device = out.dtype, out.device
    elif device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    draws = out if out is not None and out.is_contiguous() else torch.empty(tuple(shape), dtype=dtype, device=device)
    torch.randn(tuple(shape), generator=generator, out=draws)  # contiguous: torch's vectorised Box-Muller, the same stream whatever ``out``
    _exact_tails_(draws.view(-1), generator)
    if out is not None and draws is not out:
        out.copy_(draws)
        return out
    return draws


class NoiseBuffer:
    r"""A tensor that :meth:`draw` refills with :func:`gaussian` draws, call after call: for a loop that draws one shape many times.

    ``buffer.draw(generator)`` draws exactly what ``gaussian(shape,
    generator)`` draws from the same generator state, into the same tensor
    each time; the views and the small tensors the tail correction works
    with are made once, here, instead of on every call (the engine's fast
    path draws a batch of noise every couple of milliseconds, and those
    calls were a few percent of it).

    Parameters
    ----------
    shape : tuple of int
    dtype : torch.dtype
        A floating dtype (float32 by default).
    device : torch.device or str, optional
        The CPU by default; the generators passed to :meth:`draw` must be on it.

    Examples
    --------
    >>> buffer = NoiseBuffer((1000, 2))
    >>> z = buffer.draw(torch.Generator().manual_seed(0))
    >>> torch.equal(z, gaussian((1000, 2), torch.Generator().manual_seed(0))), z is buffer.draw(torch.Generator().manual_seed(1))
    (True, True)
    """

    def __init__(self, shape: tuple[int, ...] | torch.Size, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> None:
        self.shape = tuple(shape)
        self.tensor = torch.empty(self.shape, dtype=dtype, device=device)
        self._views = _Views(self.tensor.view(-1))

    def draw(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Fill :attr:`tensor` with fresh draws (those of ``gaussian(shape, generator)``) and return it."""
        torch.randn(self.shape, generator=generator, out=self.tensor)
        _exact_tails_(self._views.flat, generator, self._views)
        return self.tensor


def normal_tail(count: int, threshold: float, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""``count`` draws of a standard normal :math:`X` conditioned on :math:`X >` ``threshold`` (> 0): float64 ``[count]`` on the CPU.

    Marsaglia's tail method (see the module notes): exact, uncapped; the
    uniforms come from ``generator`` (on any device).
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.from_numpy(np.ascontiguousarray(_tail_values(count, float(threshold), generator, device)))


def _tail_values(count: int, t: float, generator: torch.Generator | None = None, device: torch.device | None = None) -> np.ndarray:
    """``count`` exact draws of X given X > t, float64: Marsaglia's tail method on pairs of 53-bit uniforms, in vectors."""
    accept = _acceptance(t)
    parts, have = [np.empty(0)], 0
    while have < count:
        tries = math.ceil((count - have) / accept * 1.1) + 8
        u = torch.rand((2, tries), dtype=torch.float64, device=device, generator=generator).cpu().numpy()
        x = np.sqrt(t * t - 2.0 * np.log1p(-u[0]))  # 1 - u1 in (0, 1]: X has density x exp(-(x^2 - t^2)/2) on x > t
        kept = x[u[1] * x <= t]  # kept with probability t / x
        parts.append(kept)
        have += kept.size
    return (np.concatenate(parts) if len(parts) > 2 else parts[-1])[:count]


@functools.lru_cache(maxsize=8)
def _acceptance(t: float) -> float:
    """The acceptance rate of Marsaglia's tail method beyond ``t``: t Q(t) / phi(t) (0.947 at 4)."""
    q = 0.5 * math.erfc(t / math.sqrt(2.0))
    phi = math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    return max(min(1.0, t * q / phi), 1e-3) if phi > 0 else 1.0


def _exact_tails_(flat: torch.Tensor, generator: torch.Generator | None, views: _Views | None = None) -> None:
    """Steps 1–3 of the module notes, in place on the contiguous ``randn`` draws ``flat`` ``[N]`` (``views``: its :class:`_Views`, made here when not given).

    The dense work is two row-wise reductions on the device (:func:`_beyond`);
    the sparse work — about ``2p`` of the positions, 17 + 17 in a call of
    2**18 draws — is scalar Python on lists (``math.log1p``, ``math.sqrt``:
    the same IEEE operations, in the same order, as the vectorised numpy of
    the first version, so the same draws), its uniforms from one
    ``torch.rand`` in all but rare calls. Nothing here is approximate: the
    speed comes from touching little code after ``randn`` has swept the
    caches (every torch or numpy call then costs tens of microseconds), not
    from a shortcut in the method.
    """
    views = views if views is not None else _Views(flat)
    size = views.size
    if size == 0:
        return
    t, p = TAIL_THRESHOLD, TAIL_PROBABILITY
    device, host = views.device, views.host
    # step 3: body draws beyond t, replaced by fresh randn draws within t (rejection), in order
    redrawn = _beyond(views, t)
    fills: list[float] = []
    need = len(redrawn)
    while need:
        fresh = torch.randn(16 * (need // 16 + 2), dtype=flat.dtype, device=device, generator=generator).tolist()
        kept = fresh[:need]
        if min(kept) < -t or max(kept) > t:  # rare: skip the fresh draws beyond t too
            kept = [z for z in fresh if -t <= z <= t][:need]
        fills += kept
        need -= len(kept)
    # steps 1 and 2: the tail positions (geometric gaps), each with an exact tail value (Marsaglia) and a fair sign
    accept = _acceptance(t)
    gaps, pairs = _budget(size * p, accept)
    u = torch.rand(gaps + 3 * pairs, dtype=torch.float64, device=device, generator=generator).tolist()
    log1p, floor, sqrt = math.log1p, math.floor, math.sqrt
    log_q = log1p(-p)
    where: list[int] = []
    position, steps = -1, u[:gaps]
    while True:
        for v in steps:  # a step is G + 1, G = floor(ln U / ln(1 - p)) with U = 1 - v in (0, 1]
            position += floor(log1p(-v) / log_q) + 1
            if position >= size:
                break
            where.append(position)
        else:  # not past the end yet: more gaps
            steps = torch.rand(gaps, dtype=torch.float64, device=device, generator=generator).tolist()
            continue
        break
    count = len(where)
    tails: list[float] = []
    tt = t * t
    first, second = u[gaps : gaps + pairs], u[gaps + pairs : gaps + 2 * pairs]
    while len(tails) < count:
        for u1, u2 in zip(first, second):
            x = sqrt(tt - 2.0 * log1p(-u1))  # 1 - u1 in (0, 1]: X has density x exp(-(x^2 - t^2)/2) on x > t
            if u2 * x <= t:  # kept with probability t / x
                tails.append(x)
                if len(tails) == count:
                    break
        else:  # rare: more pairs
            tries = math.ceil((count - len(tails)) / accept * 1.1) + 8
            first, second = torch.rand((2, tries), dtype=torch.float64, device=device, generator=generator).tolist()
    signs = u[gaps + 2 * pairs : gaps + 2 * pairs + count] if count <= pairs else torch.rand(count, dtype=torch.float64, device=device, generator=generator).tolist()
    # the redraws first, then the tail values: a place in both takes its tail value
    if host is not None:  # a few dozen scalar writes into the host array
        for i, z in zip(redrawn, fills):
            host[i] = z
        for i, x, s in zip(where, tails, signs):
            host[i] = -x if s < 0.5 else x
        return
    values = [-x if s < 0.5 else x for x, s in zip(tails, signs)]
    for places, new in ((redrawn, fills), (where, values)):
        if places:
            flat.index_copy_(0, torch.tensor(places, dtype=torch.int64, device=device), torch.tensor(new, dtype=torch.float64).to(device, flat.dtype))


def _budget(mean: float, accept: float) -> tuple[int, int]:
    """The uniforms drawn up front for ``mean`` expected tail positions: gaps (past the end in all but about 1e-9 of the calls) and tail pairs.

    More are drawn when these run out (the tests shrink them to exercise that).
    """
    gaps = int(mean + 6.0 * math.sqrt(mean) + 8)
    return gaps, int(gaps / accept * 1.1) + 8


class _Views:
    """What the tail correction of a contiguous tensor of draws works with besides the draws, made once: its host array, its rows, their max and min.

    ``flat`` ``[N]``; on the CPU (float32 or float64) ``host`` is its numpy
    view, written in place, else None. The first ``main`` draws (a multiple of
    :data:`_ROW`; 0 when a host array is short enough to look at whole) are
    looked at as ``rows``, whose max and min go to ``top`` and ``bottom``.

    On the CPU the two reductions run on the calling thread alone: torch's
    own (0.03 ms each for 2**18 draws) when torch runs one thread, as the
    engine's batches do, numpy's (about twice that) when it runs several.
    Split over two OpenMP threads right after ``randn``, they waited for the
    second thread, and its spinning afterwards slowed the single-threaded
    ``randn`` that followed: ``gaussian`` of 2**18 draws took 22.8 ms with 2
    threads beside a busy process against 1.3 ms on one (part 6 of
    ``benchmarks/noise_tail.py``).
    """

    __slots__ = ("flat", "size", "device", "host", "main", "rows", "top", "bottom", "top_host", "bottom_host", "host_rows")

    def __init__(self, flat: torch.Tensor) -> None:
        self.flat = flat
        self.size = size = flat.numel()
        self.device = flat.device
        self.host = host = flat.numpy() if self.device.type == "cpu" and flat.dtype in _HOST_DTYPES else None
        self.main = main = 0 if host is not None and size <= 16 * _ROW else size - size % _ROW
        self.rows = self.top = self.bottom = self.top_host = self.bottom_host = self.host_rows = None
        if main:
            self.rows = (flat if main == size else flat[:main]).view(-1, _ROW)
            self.top, self.bottom = torch.empty((2, main // _ROW), dtype=flat.dtype, device=self.device).unbind(0)
            if host is not None:
                self.top_host, self.bottom_host = self.top.numpy(), self.bottom.numpy()
                self.host_rows = host[:main].reshape(-1, _ROW)


def _beyond(views: _Views, t: float) -> list[int]:
    """Positions (increasing) of the draws with ``|z| > t``: a row-wise max and min, then a look inside the rows that cross."""
    host, main, size = views.host, views.main, views.size
    if not main:
        return (np.abs(host) > t).nonzero()[0].tolist() if host is not None else (views.flat.abs() > t).nonzero().view(-1).tolist()
    rows = views.rows
    if host is not None and torch.get_num_threads() > 1:  # numpy's reductions run on this thread alone (see _Views)
        np.maximum.reduce(views.host_rows, axis=1, out=views.top_host)
        np.minimum.reduce(views.host_rows, axis=1, out=views.bottom_host)
    else:
        torch.amax(rows, dim=1, out=views.top)
        torch.amin(rows, dim=1, out=views.bottom)
    if host is not None:
        crossing = ((views.top_host > t) | (views.bottom_host < -t)).nonzero()[0]
    else:
        crossing = ((views.top.float().cpu().numpy() > t) | (views.bottom.float().cpu().numpy() < -t)).nonzero()[0]
    found: list[int] = []
    if crossing.size:
        inside = views.host_rows[crossing] if host is not None else rows.index_select(0, torch.from_numpy(crossing).to(views.device)).float().cpu().numpy()
        at = crossing.tolist()
        found = [at[i // _ROW] * _ROW + i % _ROW for i in (np.abs(inside) > t).ravel().nonzero()[0].tolist()]
    if main < size:
        rest = host[main:] if host is not None else views.flat[main:].float().cpu().numpy()
        found += ((np.abs(rest) > t).nonzero()[0] + main).tolist()
    return found
