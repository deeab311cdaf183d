r"""The Monte-Carlo engine's fast path for the classical baselines.

:func:`fast_counter` gives, for a :class:`~commae.baselines.Modem` (Gray
QAM, PAM or PSK), a :class:`~commae.baselines.Hamming74` or an
:class:`~commae.baselines.UncodedBPSK` over a
:attr:`~commae.channels.Channel.linear_gaussian` channel (AWGN, complex or
real, Rayleigh or Rician fading), a function that
counts the bit, symbol and block errors of one batch — the numbers
:func:`commae.system.errors` would give — without building float bit
tensors:

* messages are integer labels (the bits, MSB first, as an integer), drawn
  packed by :meth:`Messages.draw <commae.simulation.draws.Messages.draw>`;
* symbols come from a table of the points by label (complex, so one lookup
  per symbol); the AWGN noise is added in place on the real ``[B, n, 2]``
  draw, with no complex multiply;
* decisions are the system's own slicers — for QAM and PAM over AWGN the
  floats of :meth:`Modem.decide`, on both axes at once, with one division
  fewer (exact: ``_ModemCounter._slice``) and the two levels combined into
  the point index by one complex product;
  Hamming (7,4) hard decoding is one lookup of the 7 hard bits, packed into
  an integer, and over AWGN those bits (and uncoded BPSK's) come from
  comparing the raw noise draws with two exact thresholds
  (:class:`_HardThresholds`), without scaling the noise or adding the points;
* errors are one lookup per symbol, in a table indexed by (decision, sent
  label), of ``popcount(sent XOR decided) + 2**32 [sent != decided]``, and
  one sum: bit errors in the low 32 bits, symbol errors in the high ones;
* a counter reuses its tensors from batch to batch
  (:class:`~commae.simulation.scratch.Scratch`; QAM over complex AWGN keeps
  its tensors with their views, and it and Hamming (7,4) hard draw their
  noise into a :class:`~commae.channels.noise.NoiseBuffer`), and
  the engine gets each batch's counts of all its systems in one transfer.

The noise is the generic path's: the counter draws the same
:func:`~commae.channels.noise.gaussian` tensor (uncapped normal draws) from
the same generator state, with the shape the channel would, and every float the decisions depend
on is computed by the same operations in the same precision, or by ones
that give the same floats (the slicer's halving), or, for the
hard BPSK decisions over AWGN, compared with the thresholds at which those
floats change sign, so the counts are identical to the generic path's for
the same draws
(``tests/test_fastpath.py`` checks this on every supported system and
channel). Anything else — a learned system, a subclass, a trainable or
custom constellation, another channel — gets None and runs on the generic
path.

Examples
--------
>>> from commae import Modem, qam
>>> from commae.system import errors
>>> modem = Modem(qam(16))
>>> count = fast_counter(modem)
>>> gen = torch.Generator().manual_seed(0)
>>> bits = torch.randint(0, 2, (1000, 4), generator=gen, dtype=torch.uint8)
>>> state = gen.get_state()
>>> fast = count(bits, 0.1, gen).tolist()  # bit, symbol, block errors
>>> e = errors(modem, bits.float(), 0.1, gen.set_state(state))  # the generic path on the same draws
>>> fast == [int(e.bits.sum()), int(e.symbols.sum()), int(e.blocks.sum())], fast
(True, [239, 227, 227])
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable

import torch

from ..baselines import Hamming74, Modem, UncodedBPSK, bpsk_metric  # the counters' argument types; which counter runs a system is asked of it (fast_path)
from ..channels import Channel, broadcast_no, split_channel_output
from ..channels.noise import NoiseBuffer, gaussian
from ..snr import noise_std_per_real_dim
from .draws import Messages, as_messages, bits_to_labels
from .scratch import Scratch, fresh

__all__ = ["Counter", "fast_counter"]

# messages (or bits [B, k] uint8 {0, 1}), linear N0, generator -> int64 [3]: bit, symbol and block errors
Counter = Callable[["Messages | torch.Tensor", float, torch.Generator], torch.Tensor]

_SQRT_HALF = noise_std_per_real_dim(1.0)  # the channels' CN(0, 1) scale per real dimension


def fast_counter(system: object) -> Counter | None:
    """The fast error counter of ``system``, or None when the generic path must run it.

    The system says which counter computes exactly its errors
    (``system.fast_path``: the baselines name theirs; a subclass, which may
    override what it sends or decides, and a learned system name none). The
    counter takes a batch of :class:`Messages` (or their bits, uint8
    ``[B, k]``), the linear N0 and the generator of the noise.
    """
    channel = getattr(system, "channel", None)
    if not getattr(channel, "linear_gaussian", False):  # the systems' slicers are their receivers only there
        return None
    kind = getattr(system, "fast_path", None)
    if kind == "modem" and (system.constellation.trainable or system.constellation.kind not in ("qam", "pam", "psk")):
        return None
    counter = _COUNTERS.get(kind)
    return counter(system) if counter is not None else None


def _additive(channel: object) -> bool:
    """``y = x + w`` with ``w`` ~ CN(0, N0) (N(0, N0/2) per real use): the channel says it is linear Gaussian without a gain.

    The counters then draw ``w`` themselves, exactly as :class:`~commae.channels.AWGN` does.
    """
    return channel.linear_gaussian and channel.fading is None


def _popcounts(num: int, device: torch.device) -> torch.Tensor:
    values = torch.arange(num, device=device)
    return sum((values >> j) & 1 for j in range(max(1, (num - 1).bit_length())))


def _pack_bits(bits: torch.Tensor, width: int) -> torch.Tensor:
    """uint8 bits ``[..., width]`` (MSB first) to int64 words ``[...]``."""
    return bits_to_labels(bits, width).to(torch.int64)


def _tally(num: int, device: torch.device) -> torch.Tensor:
    """``popcount(v) + 2**32 [v != 0]`` for each label XOR ``v``: one sum counts bit and symbol errors."""
    values = torch.arange(num, device=device)
    return _popcounts(num, device) + (values.ne(0).to(torch.int64) << 32)


def _split(total: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A sum of :func:`_tally` entries (fewer than ``2**32`` bits) to (bit errors, symbol errors)."""
    return total.bitwise_and((1 << 32) - 1), total >> 32


def _split3(total: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """A sum of :func:`_tally` entries to int64 ``[3]``: bit errors, then symbol errors twice (the block errors of one-symbol blocks); ``shifts`` is ``[0, 32, 32]``, on the device."""
    return torch.bitwise_right_shift(total, shifts).bitwise_and_((1 << 32) - 1)


def _pair_tally(labels: torch.Tensor) -> torch.Tensor | None:
    """Table ``[M * M]``: entry ``i * M + s`` is the :func:`_tally` entry of ``s XOR labels[i]`` (None past 256 points)."""
    num = labels.shape[0]
    if num > 256:
        return None
    sent = torch.arange(num, device=labels.device)
    return _tally(num, labels.device)[(labels.to(torch.int64)[:, None] ^ sent[None, :]).view(-1)]


class _NoiseScale:
    """``sqrt(N0)`` as the channels compute it (``torch.sqrt`` of :func:`broadcast_no`), kept for the last float N0.

    The channels check N0 on every call (a host sync on an accelerator); the
    engine calls a counter with one float N0 for a whole point.
    """

    def __init__(self, real: bool) -> None:
        self.real = real
        self.key: tuple | None = None
        self.value: torch.Tensor | None = None

    def __call__(self, no: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        if isinstance(no, torch.Tensor):
            return self._compute(no, like)
        key = (float(no), like.device, like.ndim)
        if key != self.key:
            self.key, self.value = key, self._compute(no, like)
        return self.value

    def _compute(self, no: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        no = broadcast_no(no, like)
        return noise_std_per_real_dim(no) if self.real else torch.sqrt(no)


def _awgn_real_part(channel: Channel, scale: _NoiseScale, x: torch.Tensor, no: float, gen: torch.Generator, shape: tuple[int, ...], take=fresh) -> torch.Tensor:
    """What ``channel(x, no, gen)`` gives, as float: ``[B, n, 2]`` (complex channel) or ``[B, n]`` (real).

    ``x`` holds the real parts ``[B, n]`` (BPSK) or the ``[B, n, 2]`` points;
    the same draw and the same float operations as :class:`AWGN`.
    """
    if channel.real:
        w = gaussian(shape, gen, out=take("noise", shape, torch.float32, x.device))
        return w.mul_(scale(no, w)).add_(x)
    w = gaussian((*shape, 2), gen, out=take("noise", (*shape, 2), torch.float32, x.device))
    w.mul_(_SQRT_HALF).mul_(scale(no, w))
    if x.ndim == w.ndim:
        return w.add_(x)
    w[..., 0].add_(x)
    return w


def _bpsk_awgn_metric(channel: Channel, scale: _NoiseScale, x: torch.Tensor, no: float, gen: torch.Generator) -> torch.Tensor:
    """The matched filter ``Re(y)`` of BPSK points ``x`` (float ``[B, n]``) over ``channel``: the AWGN draw, the real part only.

    The imaginary part of a complex channel's noise is drawn (the stream is
    the generic path's) but never scaled: the real part is
    ``w * sqrt(1/2) * sqrt(N0) + x``, the same floats as the channel's.
    """
    if channel.real:
        return _awgn_real_part(channel, scale, x, no, gen, tuple(x.shape))
    w = gaussian((*x.shape, 2), gen, dtype=torch.float32, device=x.device)
    real = w[..., 0].mul(_SQRT_HALF)
    return real.mul_(scale(no, real)).add_(x)


class _HardThresholds:
    """The raw normal draws at which BPSK's hard decision over AWGN flips, exactly.

    Over :class:`AWGN` the matched filter of BPSK is ``a + x``, with
    ``x = 1 - 2b`` and ``a`` the scaled noise — ``fl(fl(w sqrt(1/2)) sqrt(N0))``
    on a complex channel, ``fl(w sqrt(N0/2))`` on a real one, the channel's
    own float operations on the draw ``w`` — and the hard bit is
    ``a + x < 0``. A float sum of two floats is negative exactly when the
    exact sum is, so the hard bit is ``a < -x``; and ``a`` is a monotone
    function of ``w`` (each rounded product is), so ``a < c`` exactly when
    ``w < T(c)``, the least float32 ``w`` with ``a(w) >= c`` (found by
    bisection over the ordered float32 values, with the channel's operations).
    One comparison of the raw draw per bit then gives the generic path's
    decision bit for bit, without scaling the noise or adding the points.
    ``(T(-1), T(+1))`` is kept for the last float N0.
    """

    def __init__(self, real: bool) -> None:
        self.real = real
        self.scale = _NoiseScale(real)
        self.key: tuple | None = None
        self.value: tuple[float, float] = (0.0, 0.0)

    def __call__(self, no: float, like: torch.Tensor) -> tuple[float, float]:
        key = (float(no), like.device)
        if key != self.key:
            scale = self.scale(no, like).reshape(1).to("cpu")

            def noise(w: float) -> float:
                t = torch.tensor([w], dtype=torch.float32)
                return float(t.mul_(scale) if self.real else t.mul_(_SQRT_HALF).mul_(scale))

            self.key, self.value = key, (_least_float_at(noise, -1.0), _least_float_at(noise, 1.0))
        return self.value


def _float_of_key(key: int) -> float:
    """The float32 of an ordered key (see :func:`_least_float_at`)."""
    bits = key if key >= 0 else (1 << 31) | -key
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _least_float_at(fn: Callable[[float], float], level: float) -> float:
    """The least finite float32 ``w`` with ``fn(w) >= level`` for a non-decreasing ``fn``; -inf or inf when every or no finite one is.

    Bisection over the float32 values in order: key ``bits`` for a
    non-negative float, ``-(bits & 0x7fffffff)`` for a negative one.
    """
    low, high = -0x7F7FFFFF, 0x7F7FFFFF  # the keys of -max and +max float32
    if fn(_float_of_key(low)) >= level:
        return -math.inf
    if fn(_float_of_key(high)) < level:
        return math.inf
    while high - low > 1:  # fn(low) < level <= fn(high)
        mid = (low + high) // 2
        if fn(_float_of_key(mid)) >= level:
            high = mid
        else:
            low = mid
    return _float_of_key(high)


class _QamPlan:
    """The tensors one batch shape of the complex-AWGN QAM counter reuses, with their views, made once (``_ModemCounter._qam_awgn``)."""

    __slots__ = ("key", "x", "points", "noise", "levels", "index", "decided", "key_flat", "per_symbol")

    def __init__(self, key: tuple, batch: int, m: int, device: torch.device) -> None:
        self.key = key
        self.x = torch.empty(batch * m, dtype=torch.complex64, device=device)  # the sent points
        self.points = torch.view_as_real(self.x).view(batch, m, 2)
        self.noise = NoiseBuffer((batch, m, 2), device=device)  # the noise, then y, then the two levels
        self.levels = torch.view_as_complex(self.noise.tensor)  # a symbol's two levels as one complex number
        self.index = torch.view_as_real(self.levels)[..., 0]  # the real part of its product with the index weights
        self.decided = torch.empty(batch, m, dtype=torch.int64, device=device)
        self.key_flat = self.decided.view(-1)
        self.per_symbol = torch.empty(batch * m, dtype=torch.int64, device=device)


class _ModemCounter:
    def __init__(self, modem: Modem) -> None:
        c = modem.constellation
        self.modem, self.m, self.width, self.num = modem, modem.n, c.k, c.num_points
        self.real = modem.channel.real
        points = c.points.detach()
        by_label = points[c.index_of_label]
        self.by_label = by_label.real.contiguous() if self.real else by_label.to(torch.complex64).contiguous()  # [M], one lookup a symbol
        self.labels = c.labels.to(torch.int64)  # point index -> label
        self.pairs = _pair_tally(self.labels)  # [M * M] by (decided index, sent label), or None
        self.tally = _tally(c.num_points, points.device)
        self.scale = _NoiseScale(self.real)
        self.additive = _additive(modem.channel)
        self.slice = self.additive and c.kind in ("qam", "pam")
        self.pam = c.kind == "pam"
        self.side, self.level_scale = modem._side, modem._level_scale
        self.shift = self.width if self.pairs is not None else 0  # the slicer's index times 2**shift: room for the sent label
        self.index_weights = complex(self.side << self.shift, -(1 << self.shift))  # see _slice
        self.qam_awgn = self.slice and not self.real and c.kind == "qam" and self.pairs is not None
        self.plan: _QamPlan | None = None
        self.shifts = torch.tensor([0, 32, 32], device=points.device)  # for _split3
        self.scratch = Scratch()

    def __call__(self, messages: Messages | torch.Tensor, no: float, gen: torch.Generator) -> torch.Tensor:
        modem, m = self.modem, self.m
        messages = as_messages(messages)
        if self.qam_awgn:
            return self._qam_awgn(messages, no, gen)
        batch = messages.size
        sent = messages.symbol_labels(self.width)  # [B, m] int64
        take, device = self.scratch, sent.device
        x = torch.index_select(self.by_label, 0, sent.view(-1), out=take("x", (batch * m,), self.by_label.dtype, device))  # [B m], complex (float on a real channel)
        if self.additive:
            x = x.view(batch, m) if self.real else torch.view_as_real(x).view(batch, m, 2)
            y = _awgn_real_part(modem.channel, self.scale, x, no, gen, (batch, m), take)
            decided = self._slice(y) if self.slice else modem.decide(y if self.real else torch.view_as_complex(y))
        else:
            y, h = split_channel_output(modem.channel, modem.channel(x.view(batch, m), no, generator=gen))
            decided = modem.decide(y, h)
        if self.pairs is not None:
            key = decided.view(-1) if self.slice else decided.view(-1).bitwise_left_shift_(self.width)  # the slicer shifted it already
            key.bitwise_or_(sent.view(-1))  # decided index * M + sent label
            per_symbol = torch.index_select(self.pairs, 0, key, out=take("per_symbol", (batch * m,), torch.int64, device))
        else:
            wrong = self.labels.index_select(0, decided.view(-1)).bitwise_xor_(sent.view(-1))
            per_symbol = self.tally.index_select(0, wrong)
        if m == 1:
            return _split3(per_symbol.sum(), self.shifts)
        bit_errors, symbol_errors = _split(per_symbol.sum())
        return torch.stack([bit_errors, symbol_errors, per_symbol.view(batch, m).ne(0).any(-1).sum()])

    def _qam_awgn(self, messages: Messages, no: float, gen: torch.Generator) -> torch.Tensor:
        """``__call__`` for QAM over complex AWGN (up to 256 points): the same operations, on tensors and views made once per batch shape.

        A batch of the engine is a couple of milliseconds, and the views,
        lookups and checks of the general path cost a noticeable part of it.
        """
        m, batch = self.m, messages.size
        sent = messages.labels if m == 1 and messages.labels is not None else messages.symbol_labels(self.width).view(-1)  # [B m] int64
        plan = self.plan
        if plan is None or plan.key != (batch, sent.device):
            plan = self.plan = _QamPlan((batch, sent.device), batch, m, sent.device)
        torch.index_select(self.by_label, 0, sent, out=plan.x)
        w = plan.noise.draw(gen)
        w.mul_(_SQRT_HALF).mul_(self.scale(no, w)).add_(plan.points)  # y, as AWGN computes it
        self._index(w, plan.levels, plan.index, plan.decided)
        key = plan.key_flat
        key.bitwise_or_(sent)  # decided index * M + sent label
        per_symbol = torch.index_select(self.pairs, 0, key, out=plan.per_symbol)
        if m == 1:
            return _split3(per_symbol.sum(), self.shifts)
        bit_errors, symbol_errors = _split(per_symbol.sum())
        return torch.stack([bit_errors, symbol_errors, per_symbol.view(batch, m).ne(0).any(-1).sum()])

    def _slice(self, y: torch.Tensor) -> torch.Tensor:
        """:meth:`Modem.decide` of QAM or PAM over AWGN, in place on the float ``[B, m, 2]`` (or real ``[B, m]``) received samples: the index times ``2**shift``, int64 ``[B, m]`` (``shift``: the label width when the pair table exists, else 0).

        The same floats as the modem's ``level``, ``round((u / scale +
        (side - 1)) / 2)`` clamped to the levels, on both axes in one pass,
        with one division fewer: ``round(u / (2 scale) + (side - 1) / 2)``.
        Halving is exact in binary floating point and commutes with rounding,
        so ``fl(u / (2 scale)) = fl(u / scale) / 2`` and
        ``fl(fl(u / (2 scale)) + (side - 1) / 2) = fl(fl(u / scale) + side - 1) / 2``
        for every float ``u`` (a quotient too small to halve exactly, below
        ``2**-125``, vanishes into the offset ``(side - 1) / 2 >= 1/2``
        either way): the same floats are rounded.

        On both axes the index times ``2**shift``,
        ``(level(re) side + level(im)) 2**shift``, is the real part of the two
        levels read as one complex number times ``side 2**shift - i 2**shift``;
        its products and difference are integers below ``2**24`` (``shift`` is
        nonzero only up to 256 points), exact in float32 however the complex
        product is evaluated, then converted once to int64.
        """
        if self.real or self.pam:  # PAM: the real axis alone
            level = self._levels(y)
            level = level if self.real else level[..., 0]
            return self.scratch("decided", level.shape, torch.int64, level.device).copy_(level).bitwise_left_shift_(self.shift)
        levels = torch.view_as_complex(y)
        return self._index(y, levels, torch.view_as_real(levels)[..., 0], self.scratch("decided", levels.shape, torch.int64, y.device))

    def _levels(self, y: torch.Tensor) -> torch.Tensor:
        """The levels of :meth:`_slice`, in place on ``y``: ``round(y / (2 scale) + (side - 1) / 2)`` clamped to ``[0, side - 1]``."""
        side = self.side
        return y.div_(2 * self.level_scale).add_((side - 1) / 2).round_().clamp_(0, side - 1)

    def _index(self, y: torch.Tensor, levels: torch.Tensor, index: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The point index times ``2**shift`` of the float ``[B, m, 2]`` received samples ``y`` into int64 ``out`` ``[B, m]`` (:meth:`_slice`).

        ``levels`` is ``y`` viewed as complex, ``index`` the real part of that view.
        """
        self._levels(y)
        levels.mul_(self.index_weights)
        return out.copy_(index)


class _HammingCounter:
    def __init__(self, code: Hamming74) -> None:
        self.code = code
        self.symbols = code.codeword_symbols  # [16, 7], row = message label
        words = torch.arange(128, device=self.symbols.device)
        hard = ((words[:, None] >> torch.arange(6, -1, -1, device=words.device)) & 1).to(code.check_matrix.dtype)  # [128, 7]
        decode = bits_to_labels(code.syndrome_decode(hard).to(torch.uint8), 4).to(torch.int64)  # [128]: received word -> message label
        tally = _tally(16, words.device)
        # (sent label, received hard word) -> tally of the decoding's errors: key sent * 128 + word
        self.decode_tally = tally[(torch.arange(16, device=words.device)[:, None] ^ decode[None, :]).view(-1)]
        self.tally = tally
        self.shifts = torch.tensor([0, 32, 32], device=words.device)  # for _split3
        self.scale = _NoiseScale(code.channel.real)
        self.thresholds = _HardThresholds(code.channel.real)
        self.codewords = _pack_bits(code.codewords.to(torch.uint8), 7)  # [16] by message label
        # the codewords as byte masks, bit j of the codeword in byte j of an int64 (little-endian): which of a word's two candidate bytes to keep
        self.codeword_bytes = torch.tensor([sum(bit << (8 * j) for j, bit in enumerate(c)) for c in code.codewords.to(torch.uint8).tolist()], dtype=torch.int64, device=words.device)
        self.scratch = Scratch()
        self.noise: NoiseBuffer | None = None  # the hard decoder's noise over AWGN, drawn into the same tensor batch after batch
        # hard bit j of a received word, LSB first of the packed bytes: weights of the 7 bytes read as one int64 (see bits_to_labels);
        # the eighth byte, whatever it holds, lands at bit 64 or above (its weights are 2**(118 - 9j)), so it is never written
        self.pack = sum(1 << (56 + 6 - 9 * j) for j in range(7)) % (1 << 64)
        if self.pack >= 1 << 63:
            self.pack -= 1 << 64

    def __call__(self, messages: Messages | torch.Tensor, no: float, gen: torch.Generator) -> torch.Tensor:
        code = self.code
        sent = as_messages(messages).labels
        if code.decoder == "hard" and _additive(code.channel):
            word = self._hard_word_awgn(sent, no, gen)
            per_message = torch.index_select(self.decode_tally, 0, word.add_(sent, alpha=128), out=self.scratch("per_message", word.shape, torch.int64, word.device))
            return _split3(per_message.sum(), self.shifts)
        x = self.symbols.index_select(0, sent)  # [B, 7] of +-1
        if _additive(code.channel):
            metric = _bpsk_awgn_metric(code.channel, self.scale, x, no, gen)
        else:
            y, h = split_channel_output(code.channel, code.channel(torch.complex(x, torch.zeros_like(x)), no, generator=gen))
            metric = bpsk_metric(y, h)
        if code.decoder == "hard":
            word = _pack_bits((metric < 0).to(torch.uint8), 7)
            per_message = self.decode_tally.index_select(0, word.add_(sent, alpha=128))
        else:
            decided = torch.argmax(metric @ self.symbols.T, dim=-1)
            per_message = self.tally.index_select(0, decided.bitwise_xor_(sent))
        return _split3(per_message.sum(), self.shifts)

    def _hard_word_awgn(self, sent: torch.Tensor, no: float, gen: torch.Generator) -> torch.Tensor:
        """The received hard word (7 bits, MSB first, int64 ``[B]``) of the codewords of ``sent`` over AWGN.

        Draws the channel's noise and compares the raw draws with the
        thresholds of :class:`_HardThresholds`: the word of hard bits a bit
        ``0`` would give (``w < T(-1)``) and a bit ``1`` would give
        (``w < T(+1)``), the codeword choosing between them bit by bit.
        """
        code, batch, take, device = self.code, sent.shape[0], self.scratch, sent.device
        shape = (batch, 7) if code.channel.real else (batch, 7, 2)
        if self.noise is None or self.noise.shape != shape or self.noise.tensor.device != device:
            self.noise = NoiseBuffer(shape, device=device)
        w = self.noise.draw(gen)
        draw = w if code.channel.real else w[..., 0]
        below_minus, below_plus = self.thresholds(no, w)
        rows = take("rows", (2, batch, 8), torch.bool, device)  # the 7 bits of each word, then a byte never written: see self.pack
        torch.lt(draw, below_minus, out=rows[0, :, :7])
        torch.lt(draw, below_plus, out=rows[1, :, :7])
        if sys.byteorder == "little":  # choose each bit's byte, then pack the 7 bytes: one word a message
            if_zero, if_one = rows.view(torch.int64).view(2, batch)
            mask = torch.index_select(self.codeword_bytes, 0, sent, out=take("mask", (batch,), torch.int64, device))
            chosen = torch.bitwise_xor(if_zero, if_one, out=take("chosen", (batch,), torch.int64, device)).bitwise_and_(mask).bitwise_xor_(if_zero)
            return chosen.mul_(self.pack).bitwise_right_shift_(56).bitwise_and_(127)
        if_zero, if_one = _pack_bits(rows[..., :7].to(torch.uint8), 7)
        codeword = torch.index_select(self.codewords, 0, sent, out=take("codeword", (batch,), torch.int64, device))  # [B] 7 bits, MSB first
        return codeword.bitwise_and_(if_zero ^ if_one).bitwise_xor_(if_zero)


class _UncodedCounter:
    def __init__(self, system: UncodedBPSK) -> None:
        self.system = system
        self.thresholds = _HardThresholds(system.channel.real)

    def __call__(self, messages: Messages | torch.Tensor, no: float, gen: torch.Generator) -> torch.Tensor:
        system = self.system
        bits = as_messages(messages).bits()
        if _additive(system.channel):  # a 0 is wrong below T(-1), a 1 at or above T(+1) (see _HardThresholds)
            shape = tuple(bits.shape) if system.channel.real else (*bits.shape, 2)
            w = gaussian(shape, gen, dtype=torch.float32, device=bits.device)
            draw = w if system.channel.real else w[..., 0]
            below_minus, below_plus = self.thresholds(no, w)
            wrong = torch.where(bits.bool(), draw.ge(below_plus), draw.lt(below_minus))  # [B, K]
        else:
            x = bits.to(torch.float32).mul_(-2).add_(1)  # 1 - 2b
            y, h = split_channel_output(system.channel, system.channel(torch.complex(x, torch.zeros_like(x)), no, generator=gen))
            wrong = (bpsk_metric(y, h) < 0).bitwise_xor_(bits.bool())  # [B, K]
        bit_errors = wrong.sum()
        return torch.stack([bit_errors, bit_errors, bit_errors if system.k == 1 else wrong.any(-1).sum()])


_COUNTERS: dict[str | None, Callable[[object], Counter]] = {"modem": _ModemCounter, "hamming74": _HammingCounter, "uncoded_bpsk": _UncodedCounter}
