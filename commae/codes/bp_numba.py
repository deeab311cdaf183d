r"""A compiled CPU kernel for min-sum belief propagation (numba): layered and flooding, SIMD across codewords.

:class:`~commae.codes.BPDecoder` runs its min-sum rules (``"min-sum"``,
``"normalized-min-sum"``, ``"offset-min-sum"``) through :func:`decode` on a
CPU when numba imports (``pip install commae[fast]``). Without numba this
module still imports (``AVAILABLE`` is False) and :func:`decode` refuses;
``commae.codes.bp`` imports it on first use (numba takes 0.2 s to import).

Layout
------
Each thread decodes ``LANES`` (64) codewords side by side: the a-posteriori
sums ``T`` ``[n, LANES]`` and the check-to-variable messages ``C``
``[E, LANES]`` hold one codeword a column, so every operation of the rule is
a loop over the 64 lanes of a contiguous row, which LLVM turns into 8-wide
AVX2 instructions (inter-frame SIMD). A codeword that stops (its syndrome
satisfied, or the iteration cap) writes its result at once and its lane takes
the next codeword of the thread's share of the input, so the lanes stay full
until the share runs out. A freshly started lane reads its old messages as 0
(a flag per lane, not a pass over ``C``). Threads take contiguous shares of
the batch and run :func:`_decode_share` without the GIL.

Exactness
---------
The kernel performs the torch rule's float operations in the same order and
precision (:func:`commae.codes.bp._check_min_sum`): ``v = T - c`` on each
edge; the two smallest magnitudes (ties give both the minimum) capped at
``1e6``, times ``scale``, less ``offset`` and floored at 0; ``p_1 = m_1 s``,
``p_2 = (m_2 - m_1) s`` with ``s`` the product of the signs (:math:`-0`
negative); out ``(p_1 + [|v| = m_1] p_2) \operatorname{sgn} v``; layered
``T = v + c`` check after check in the order of the torch layers, flooding
``T = \lambda + \sum c`` summed in edge order. Early stop is checked, as
there, on ``T < 0`` before every iteration. So its decisions, a-posteriori
LLRs and iteration counts equal the torch path's bit for bit (tested on
random batches of several codes, both schedules and every min-sum rule);
only NaN inputs may propagate differently.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:  # optional (the extra 'fast')
    import numba
except ImportError:
    numba = None

__all__ = ["AVAILABLE", "LANES", "decode"]

AVAILABLE = numba is not None
LANES = 64  # codewords a thread decodes side by side; below 64 LLVM leaves the lane loops partly scalar (measured: half the speed)


def _jit(function):
    """Compiled without the GIL, cached on disk (the first call of a float type compiles for about 3 s); as is without numba.

    Where numba finds no writable place for its cache (a read-only install and
    home), the function is compiled without one, in each process that calls it.
    """
    if not AVAILABLE:
        return function
    try:
        return numba.njit(nogil=True, cache=True, boundscheck=False)(function)
    except RuntimeError:  # numba's "cannot cache function ...: no locator available"
        return numba.njit(nogil=True, boundscheck=False)(function)


@_jit
def _start(llr, frame, lane, T, lam, flooding, hard, var, ptr):
    """Put codeword ``frame`` of ``llr`` into ``lane`` (lambda = 0 - L); whether its hard decisions satisfy every check."""
    zero = np.zeros(1, llr.dtype)[0]
    for i in range(llr.shape[1]):
        x = zero - llr[frame, i]  # 0 - L: never a -0, as the torch path
        T[i, lane] = x
        if flooding:
            lam[i, lane] = x
        hard[i] = x < zero
    for c in range(ptr.shape[0] - 1):
        odd = 0
        for e in range(ptr[c], ptr[c + 1]):
            odd ^= hard[var[e]]
        if odd:
            return False
    return True


@_jit
def _finish(T, lane, frame, count, ok, app, iterations, satisfied):
    """Write the result of the codeword in ``lane``: a-posteriori LLRs in commae's sign, its iterations, its syndrome flag."""
    for i in range(T.shape[0]):
        app[frame, i] = -T[i, lane]
    iterations[frame] = count
    satisfied[frame] = ok


@_jit
def _decode_share(llr, lo, hi, var, ptr, layered, max_iterations, early_stop, scale, offset, cap, app, iterations, satisfied):
    """Decode codewords ``lo`` to ``hi`` of ``llr`` ``[B, n]`` (commae sign) into ``app``, ``iterations`` and ``satisfied``.

    ``var`` ``[E]``: the variable of each edge, checks' edges consecutive; ``ptr`` ``[m + 1]``: where each check's
    edges start, checks in the order of the schedule (layered: the torch layers, one check after the other).
    """
    n = llr.shape[1]
    m = ptr.shape[0] - 1
    dtype = llr.dtype
    zero = np.zeros(1, dtype)[0]
    one = np.ones(1, dtype)[0]
    degree = 0
    for c in range(m):
        degree = max(degree, ptr[c + 1] - ptr[c])
    flooding = not layered
    T = np.zeros((n, LANES), dtype)  # a-posteriori sums, lambda sign
    lam = np.zeros((n if flooding else 1, LANES), dtype)  # channel LLRs (flooding sums from them)
    C = np.zeros((var.shape[0], LANES), dtype)  # check-to-variable messages
    V = np.empty((degree, LANES), dtype)  # one check's variable-to-check messages
    m1 = np.empty(LANES, dtype)  # smallest magnitude
    m2 = np.empty(LANES, dtype)  # second smallest (the smallest again on a tie)
    parity = np.empty(LANES, dtype)  # product of the signs
    p1 = np.empty(LANES, dtype)
    p2 = np.empty(LANES, dtype)
    fresh = np.zeros(LANES, np.bool_)  # started since the last iteration: its old messages are 0
    hard = np.empty(n, np.uint8)
    H = np.empty((n, LANES), np.uint8)  # hard decisions
    odd = np.empty(LANES, np.uint8)
    bad = np.empty(LANES, np.uint8)  # some check unsatisfied
    frame = np.full(LANES, -1, np.int64)  # the codeword in each lane (-1: none)
    count = np.zeros(LANES, np.int64)
    following = lo
    active = 0
    for lane in range(LANES):
        while following < hi:  # a codeword that is already one stops before its first iteration
            f = following
            following += 1
            ok = _start(llr, f, lane, T, lam, flooding, hard, var, ptr)
            if early_stop and ok:
                _finish(T, lane, f, 0, True, app, iterations, satisfied)
                continue
            frame[lane] = f
            count[lane] = 0
            fresh[lane] = True
            active += 1
            break
    while active > 0:
        for c in range(m):  # one iteration, check by check
            s = ptr[c]
            d = ptr[c + 1] - s
            for lane in range(LANES):
                m1[lane] = np.inf
                m2[lane] = np.inf
                parity[lane] = one
            for j in range(d):
                v = var[s + j]
                e = s + j
                for lane in range(LANES):
                    old = C[e, lane]
                    if fresh[lane]:
                        old = zero
                    x = T[v, lane] - old
                    V[j, lane] = x
                    a = abs(x)
                    o1 = m1[lane]
                    o2 = m2[lane]
                    high = a if o1 < a else o1
                    m1[lane] = a if a < o1 else o1
                    m2[lane] = high if high < o2 else o2
                    parity[lane] = parity[lane] * math.copysign(one, x)
            for lane in range(LANES):
                a1 = max(min(m1[lane], cap) * scale - offset, zero)
                a2 = max(min(m2[lane], cap) * scale - offset, zero)
                p2[lane] = (a2 - a1) * parity[lane]
                p1[lane] = a1 * parity[lane]
            for j in range(d):
                v = var[s + j]
                e = s + j
                for lane in range(LANES):
                    x = V[j, lane]
                    at = one if abs(x) == m1[lane] else zero
                    out = (p1[lane] + at * p2[lane]) * math.copysign(one, x)
                    C[e, lane] = out
                    if layered:
                        T[v, lane] = x + out
        if flooding:
            for i in range(n):
                for lane in range(LANES):
                    T[i, lane] = lam[i, lane]
            for e in range(var.shape[0]):
                v = var[e]
                for lane in range(LANES):
                    T[v, lane] += C[e, lane]
        stopping = early_stop
        for lane in range(LANES):
            count[lane] += 1
            fresh[lane] = False
            stopping = stopping or (frame[lane] >= 0 and count[lane] >= max_iterations)
        if not stopping:
            continue
        for i in range(n):  # the syndromes
            for lane in range(LANES):
                H[i, lane] = T[i, lane] < zero
        for lane in range(LANES):
            bad[lane] = 0
        for c in range(m):
            v = var[ptr[c]]
            for lane in range(LANES):
                odd[lane] = H[v, lane]
            for e in range(ptr[c] + 1, ptr[c + 1]):
                v = var[e]
                for lane in range(LANES):
                    odd[lane] ^= H[v, lane]
            for lane in range(LANES):
                bad[lane] |= odd[lane]
        for lane in range(LANES):
            f = frame[lane]
            if f < 0 or not ((early_stop and bad[lane] == 0) or count[lane] >= max_iterations):
                continue
            _finish(T, lane, f, count[lane], bad[lane] == 0, app, iterations, satisfied)
            frame[lane] = -1
            active -= 1
            while following < hi:
                f = following
                following += 1
                ok = _start(llr, f, lane, T, lam, flooding, hard, var, ptr)
                if early_stop and ok:
                    _finish(T, lane, f, 0, True, app, iterations, satisfied)
                    continue
                frame[lane] = f
                count[lane] = 0
                fresh[lane] = True
                active += 1
                break


_pool: ThreadPoolExecutor | None = None
_pool_owner = (0, 0)  # (pid, workers) of _pool: a forked child makes its own
_pool_lock = threading.Lock()


def _workers(count: int) -> ThreadPoolExecutor:
    """A pool of at least ``count`` threads, made once per process."""
    global _pool, _pool_owner
    with _pool_lock:
        if _pool is None or _pool_owner[0] != os.getpid() or _pool_owner[1] < count:
            if _pool is not None and _pool_owner[0] == os.getpid():
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(count, thread_name_prefix="commae-bp")
            _pool_owner = (os.getpid(), count)
        return _pool


def decode(
    llr: np.ndarray,
    var: np.ndarray,
    ptr: np.ndarray,
    *,
    layered: bool,
    iterations: int,
    early_stop: bool,
    scale: float,
    offset: float,
    cap: float,
    threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Min-sum decode a batch of graph LLRs on ``threads`` CPU threads.

    Parameters
    ----------
    llr : numpy.ndarray, [B, n], float32 or float64
        Graph LLRs, commae's sign (:math:`\ln P(1)/P(0)`).
    var : numpy.ndarray, [E], int64
        The variable of each edge, each check's edges consecutive.
    ptr : numpy.ndarray, [m + 1], int64
        Where each check's edges start in ``var`` (and the end), checks in the order of the schedule.
    layered : bool
        Row-layered schedule (checks in ``ptr``'s order, each updating the sums at once); else flooding.
    iterations : int
        Largest number of iterations (>= 1).
    early_stop : bool
        Stop each codeword when its hard decisions satisfy every check (tested before each iteration).
    scale, offset, cap : float
        The magnitude rule: ``max(min(m, cap) * scale - offset, 0)``.
    threads : int
        Threads; each takes a contiguous share of the batch (at most one per ``LANES`` codewords).

    Returns
    -------
    app : numpy.ndarray, [B, n], llr's dtype
        A-posteriori LLRs, commae's sign.
    iterations : numpy.ndarray, [B], int64
        Iterations each codeword ran.
    satisfied : numpy.ndarray, [B], bool
        Whether its decision satisfies every check.
    """
    if not AVAILABLE:
        raise ImportError("the min-sum kernel needs numba: pip install 'commae[fast]'")
    llr = np.ascontiguousarray(llr)
    B = llr.shape[0]
    dtype = llr.dtype.type
    app = np.empty_like(llr)
    count = np.empty(B, np.int64)
    satisfied = np.empty(B, np.bool_)
    var = np.ascontiguousarray(var, dtype=np.int64)
    ptr = np.ascontiguousarray(ptr, dtype=np.int64)
    args = (var, ptr, bool(layered), int(iterations), bool(early_stop), dtype(scale), dtype(offset), dtype(cap), app, count, satisfied)
    shares = max(1, min(int(threads), -(-B // LANES)))
    bounds = [B * i // shares for i in range(shares + 1)]
    if shares == 1:
        _decode_share(llr, 0, B, *args)
    else:
        pending = [_workers(shares - 1).submit(_decode_share, llr, lo, hi, *args) for lo, hi in zip(bounds[1:-1], bounds[2:])]
        _decode_share(llr, bounds[0], bounds[1], *args)
        for job in pending:
            job.result()
    return app, count, satisfied
