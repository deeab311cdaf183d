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
(:mod:`commae.simulation.fastpath`), which calls :func:`gaussian` with the
shape the channel would, sees the same draws as the generic one. Finding the
few draws beyond :math:`t` costs a row-wise ``amax``/``amin`` over rows of
256 draws and a look inside the rows that cross :math:`t`; the extra random
numbers are about :math:`4p` per draw. The engine's fast path keeps
0.8–0.9× of its throughput with ``randn`` alone (16-QAM 0.88× wall-clock,
0.80× CPU time with two threads at low load, 0.92× CPU time with one;
Hamming (7,4) hard 0.91×; ``benchmarks/noise_tail.py``, docs/ber-curve.md).

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

import math

import numpy as np
import torch

__all__ = ["gaussian", "normal_tail", "TAIL_THRESHOLD", "TAIL_PROBABILITY", "LARGEST_DRAW"]

TAIL_THRESHOLD = 4.0
"""Draws beyond this many standard deviations come from the exact tail sampler, with exact total probability."""

TAIL_PROBABILITY = math.erfc(TAIL_THRESHOLD / math.sqrt(2.0))
"""P(|Z| > TAIL_THRESHOLD) for a standard normal Z: the rate of the tail positions."""

LARGEST_DRAW = math.inf
"""The largest |draw| :func:`gaussian` can produce: none (float32 ``randn`` alone stops at 5.77)."""

_ROW = 256  # draws a row when looking for those beyond the threshold


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


def normal_tail(count: int, threshold: float, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""``count`` draws of a standard normal :math:`X` conditioned on :math:`X >` ``threshold`` (> 0): float64 ``[count]`` on the CPU.

    Marsaglia's tail method (see the module notes): exact, uncapped; the
    uniforms come from ``generator`` (on any device).
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.from_numpy(np.ascontiguousarray(_tail_values(count, float(threshold), generator, device)))


def _tail_values(count: int, t: float, generator: torch.Generator | None = None, device: torch.device | None = None, first: np.ndarray | None = None) -> np.ndarray:
    """``count`` exact draws of X given X > t, float64: Marsaglia's tail method on pairs of 53-bit uniforms, in vectors.

    ``first``: uniforms already drawn (an even number), used before new ones.
    """
    accept = _acceptance(t)
    parts, have = [np.empty(0)], 0
    while have < count:
        if first is not None:
            u, first = first.reshape(2, -1), None
        else:
            tries = math.ceil((count - have) / accept * 1.1) + 8
            u = torch.rand((2, tries), dtype=torch.float64, device=device, generator=generator).cpu().numpy()
        x = np.sqrt(t * t - 2.0 * np.log1p(-u[0]))  # 1 - u1 in (0, 1]: X has density x exp(-(x^2 - t^2)/2) on x > t
        kept = x[u[1] * x <= t]  # kept with probability t / x
        parts.append(kept)
        have += kept.size
    return (np.concatenate(parts) if len(parts) > 2 else parts[-1])[:count]


def _acceptance(t: float) -> float:
    """The acceptance rate of Marsaglia's tail method beyond ``t``: t Q(t) / phi(t) (0.947 at 4)."""
    q = 0.5 * math.erfc(t / math.sqrt(2.0))
    phi = math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    return max(min(1.0, t * q / phi), 1e-3) if phi > 0 else 1.0


def _exact_tails_(flat: torch.Tensor, generator: torch.Generator | None) -> None:
    """Steps 1–3 of the module notes, in place on the contiguous ``randn`` draws ``flat`` ``[N]``.

    The dense work is a row-wise max and min on the device; the sparse work
    (about ``2p`` of the positions) runs in numpy on the host, its uniforms
    from one ``torch.rand`` in all but rare calls.
    """
    size = flat.numel()
    if size == 0:
        return
    t, p = TAIL_THRESHOLD, TAIL_PROBABILITY
    host = flat.numpy() if flat.device.type == "cpu" and flat.dtype in (torch.float32, torch.float64) else None
    # step 3: body draws beyond t, replaced by fresh randn draws within t
    redrawn = _beyond(flat, host, t)
    fills = []
    need = redrawn.size
    while need:
        fresh = torch.randn(16 * (need // 16 + 2), dtype=flat.dtype, device=flat.device, generator=generator).cpu().numpy()
        fills.append(fresh[np.abs(fresh) <= t][:need])
        need -= fills[-1].size
    # steps 1 and 2: the tail positions (geometric gaps), each with an exact tail value (Marsaglia) and a fair sign
    mean = size * p
    gaps = int(mean + 6.0 * math.sqrt(mean) + 8)  # past the end in all but about 1e-9 of the calls
    pairs = int(gaps / _acceptance(t) * 1.1) + 8
    u = torch.rand(gaps + 3 * pairs, dtype=torch.float64, device=flat.device, generator=generator).cpu().numpy()
    log_q = math.log1p(-p)
    where = np.cumsum(np.floor(np.log1p(-u[:gaps]) / log_q).astype(np.int64) + 1) - 1  # steps G + 1, G = floor(ln U / ln(1 - p)), U = 1 - u in (0, 1]
    while where[-1] < size:  # not past the end yet: more gaps
        more = torch.rand(gaps, dtype=torch.float64, device=flat.device, generator=generator).cpu().numpy()
        where = np.concatenate([where, where[-1] + np.cumsum(np.floor(np.log1p(-more) / log_q).astype(np.int64) + 1)])
    where = where[: np.searchsorted(where, size)]
    tails = _tail_values(where.size, t, generator, flat.device, first=u[gaps : gaps + 2 * pairs])
    signs = u[gaps + 2 * pairs : gaps + 2 * pairs + where.size] if where.size <= pairs else torch.rand(where.size, dtype=torch.float64, device=flat.device, generator=generator).cpu().numpy()
    tails = np.where(signs < 0.5, -tails, tails)
    # the redraws first, then the tail values: a place in both takes its tail value
    for places, values in ((redrawn, np.concatenate(fills) if fills else None), (where, tails)):
        if places.size == 0:
            continue
        if host is not None:
            host[places] = values
        else:
            flat.index_copy_(0, torch.from_numpy(places).to(flat.device), torch.from_numpy(values).to(flat.device, flat.dtype))


def _beyond(flat: torch.Tensor, host: np.ndarray | None, t: float) -> np.ndarray:
    """Positions (int64, increasing) of the draws with ``|z| > t``: a row-wise max and min, then a look inside the rows that cross."""
    size = flat.numel()
    if host is not None and size <= 16 * _ROW:
        return np.flatnonzero(np.abs(host) > t)
    main = size - size % _ROW
    found = []
    if main:
        rows = (flat if main == size else flat[:main]).view(-1, _ROW)
        top, bottom = torch.amax(rows, dim=1), torch.amin(rows, dim=1)
        if host is None:
            top, bottom = top.float().cpu(), bottom.float().cpu()
        crossing = np.flatnonzero((top.numpy() > t) | (bottom.numpy() < -t))
        if crossing.size:
            inside = host.reshape(-1, _ROW)[crossing] if host is not None and main == size else rows.index_select(0, torch.from_numpy(crossing).to(flat.device)).float().cpu().numpy()
            r, c = np.nonzero(np.abs(inside) > t)
            found.append(crossing[r] * _ROW + c)
    if main < size:
        rest = host[main:] if host is not None else flat[main:].float().cpu().numpy()
        found.append(np.flatnonzero(np.abs(rest) > t) + main)
    return np.concatenate(found) if len(found) > 1 else found[0] if found else np.empty(0, dtype=np.int64)
