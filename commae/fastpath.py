r"""The Monte-Carlo engine's fast path for the classical baselines.

:func:`fast_counter` gives, for a :class:`~commae.baselines.Modem` (Gray
QAM, PAM or PSK), a :class:`~commae.baselines.Hamming74` or an
:class:`~commae.baselines.UncodedBPSK` over :class:`~commae.channels.AWGN`
(complex or real) or :class:`~commae.channels.Rayleigh`, a function that
counts the bit, symbol and block errors of one batch — the numbers
:func:`commae.system.errors` would give — without building float bit
tensors:

* messages are integer labels (the bits, MSB first, as an integer);
* symbols come from a ``[M, 2]`` table of the points by label; the AWGN
  noise is added in place on the real ``[B, n, 2]`` draw, with no complex
  multiply;
* decisions are the system's own slicers (:meth:`Modem.decide`, the sign of
  the matched filter), and Hamming (7,4) hard decoding is one lookup of the
  7 hard bits, packed into an integer, in a 128-entry table built from
  :meth:`Hamming74.syndrome_decode`;
* errors are ``sent XOR decided`` of the labels: one lookup of each XOR in a
  table of ``popcount + 2**32 [XOR != 0]`` and one sum give the bit errors
  (low 32 bits) and the symbol errors (high bits) together.

The random stream is the generic path's: the channel draws the same
``torch.randn`` tensor from the same generator state, and every float the
decisions depend on is computed by the same operations in the same
precision, so the counts are identical to the generic path's for the same
draws (``tests/test_fastpath.py`` checks this on every supported system and
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

import sys
from collections.abc import Callable

import torch

from .baselines import Hamming74, Modem, UncodedBPSK, bpsk_metric
from .channels import AWGN, Rayleigh, broadcast_no, split_channel_output
from .snr import noise_std_per_real_dim

__all__ = ["Counter", "fast_counter"]

# bits [B, k] uint8 {0, 1}, linear N0, generator -> int64 [3]: bit, symbol and block errors
Counter = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]

_SQRT_HALF = noise_std_per_real_dim(1.0)  # the channels' CN(0, 1) scale per real dimension


def fast_counter(system: object) -> Counter | None:
    """The fast error counter of ``system``, or None when the generic path must run it.

    Exact classes only (a subclass may override what it sends or decides).
    """
    channel = getattr(system, "channel", None)
    if type(channel) not in (AWGN, Rayleigh):
        return None
    if type(system) is Modem:
        if system.constellation.trainable or system.constellation.kind not in ("qam", "pam", "psk"):
            return None
        return _ModemCounter(system)
    if type(system) is Hamming74:
        return _HammingCounter(system)
    if type(system) is UncodedBPSK:
        return _UncodedCounter(system)
    return None


def _popcounts(num: int, device: torch.device) -> torch.Tensor:
    values = torch.arange(num, device=device)
    return sum((values >> j) & 1 for j in range(max(1, (num - 1).bit_length())))


def _labels(bits: torch.Tensor, width: int) -> torch.Tensor:
    """uint8 bits ``[..., width]`` (MSB first) to int32 labels ``[...]``.

    Up to 8 bits a label: the row's bytes, zero-padded to 2, 4 or 8, read as
    one little-endian integer and gathered by one multiply: byte ``j`` times
    ``2**(8(width-1) + width-1-9j)`` puts bit ``j`` at position
    ``8(width-1) + width-1-j``; every other product lands outside those
    ``width`` positions and no two share one, so nothing carries into them
    (products that overflow wrap, which leaves the low bits exact). Up to 4
    bits this runs in int32, whose multiply vectorises.
    """
    if width == 1:
        return bits[..., 0].to(torch.int32)
    if width > 8 or sys.byteorder != "little":
        label = bits[..., 0].to(torch.int32)
        for j in range(1, width):
            label = label.mul_(2).add_(bits[..., j])
        return label
    padded = 1 << (width - 1).bit_length()
    rows = bits.reshape(-1, width)
    if padded != width:
        rows = torch.nn.functional.pad(rows, (0, padded - width))
    word = torch.int64 if padded == 8 else torch.int32
    as_int = rows.contiguous().view({2: torch.int16, 4: torch.int32, 8: torch.int64}[padded]).view(-1).to(word)
    low = 8 * (width - 1)
    multiplier = sum(1 << (low + width - 1 - 9 * j) for j in range(width))
    size = 64 if padded == 8 else 32
    multiplier %= 1 << size
    if multiplier >= 1 << (size - 1):  # as the signed integer it wraps to: the low bits of the product are the same
        multiplier -= 1 << size
    return ((as_int * multiplier) >> low).bitwise_and_((1 << width) - 1).to(torch.int32).view(bits.shape[:-1])


def _tally(num: int, device: torch.device) -> torch.Tensor:
    """``popcount(v) + 2**32 [v != 0]`` for each label XOR ``v``: one sum counts bit and symbol errors."""
    values = torch.arange(num, device=device)
    return _popcounts(num, device) + (values.ne(0).to(torch.int64) << 32)


def _split(total: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A sum of :func:`_tally` entries (fewer than ``2**32`` bits) to (bit errors, symbol errors)."""
    return total.bitwise_and((1 << 32) - 1), total >> 32


def _awgn_real_part(channel: AWGN, x: torch.Tensor, no: float, gen: torch.Generator, shape: tuple[int, ...]) -> torch.Tensor:
    """What ``channel(x, no, gen)`` gives, as float: ``[B, n, 2]`` (complex channel) or ``[B, n]`` (real).

    ``x`` holds the real parts ``[B, n]`` (BPSK) or the ``[B, n, 2]`` points;
    the same draw and the same float operations as :class:`AWGN`.
    """
    if channel.real:
        w = torch.randn(shape, dtype=torch.float32, device=x.device, generator=gen)
        return w.mul_(noise_std_per_real_dim(broadcast_no(no, w))).add_(x)
    w = torch.randn((*shape, 2), dtype=torch.float32, device=x.device, generator=gen)
    w.mul_(_SQRT_HALF).mul_(torch.sqrt(broadcast_no(no, w)))
    if x.ndim == w.ndim:
        return w.add_(x)
    w[..., 0].add_(x)
    return w


class _ModemCounter:
    def __init__(self, modem: Modem) -> None:
        c = modem.constellation
        self.modem, self.m, self.width = modem, modem.n, c.k
        points = c.points.detach()
        self.by_label = torch.view_as_real(points[c.index_of_label]).contiguous()  # [M, 2]
        if modem.channel.real:
            self.by_label = self.by_label[:, 0].contiguous()
        self.labels = c.labels.to(torch.int32)
        self.tally = _tally(c.num_points, points.device)

    def __call__(self, bits: torch.Tensor, no: float, gen: torch.Generator) -> torch.Tensor:
        modem, batch, m = self.modem, bits.shape[0], self.m
        sent = _labels(bits.view(batch, m, self.width), self.width)  # [B, m]
        x = self.by_label.index_select(0, sent.view(-1)).view(batch, m, -1)  # [B, m, 2], or [B, m, 1] on a real channel
        if modem.channel.real:
            x = x.view(batch, m)
        if type(modem.channel) is AWGN:
            y = _awgn_real_part(modem.channel, x, no, gen, (batch, m))
            decided = modem.decide(y if modem.channel.real else torch.view_as_complex(y))
        else:
            y, h = split_channel_output(modem.channel, modem.channel(torch.view_as_complex(x), no, generator=gen))
            decided = modem.decide(y, h)
        wrong = sent.bitwise_xor_(self.labels.index_select(0, decided.view(-1)).view(batch, m))  # [B, m]
        bit_errors, symbol_errors = _split(self.tally.index_select(0, wrong.view(-1)).sum())
        block_errors = symbol_errors if m == 1 else wrong.ne(0).any(-1).sum()
        return torch.stack([bit_errors, symbol_errors, block_errors])


class _HammingCounter:
    def __init__(self, code: Hamming74) -> None:
        self.code = code
        self.symbols = code.codeword_symbols  # [16, 7], row = message label
        words = torch.arange(128, device=self.symbols.device)
        hard = ((words[:, None] >> torch.arange(6, -1, -1, device=words.device)) & 1).to(code.check_matrix.dtype)  # [128, 7]
        self.decode = _labels(code.syndrome_decode(hard).to(torch.uint8), 4)  # int32 [128]: received word -> message label
        self.tally = _tally(16, words.device)

    def __call__(self, bits: torch.Tensor, no: float, gen: torch.Generator) -> torch.Tensor:
        code, batch = self.code, bits.shape[0]
        sent = _labels(bits, 4)  # [B]
        x = self.symbols.index_select(0, sent)  # [B, 7] of +-1
        if type(code.channel) is AWGN:
            y = _awgn_real_part(code.channel, x, no, gen, (batch, 7))
            metric = y if code.channel.real else y[..., 0]
        else:
            y, h = split_channel_output(code.channel, code.channel(torch.complex(x, torch.zeros_like(x)), no, generator=gen))
            metric = bpsk_metric(y, h)
        if code.decoder == "hard":
            decided = self.decode.index_select(0, _labels((metric < 0).to(torch.uint8), 7))
        else:
            decided = torch.argmax(metric @ self.symbols.T, dim=-1).to(torch.int32)
        bit_errors, block_errors = _split(self.tally.index_select(0, sent.bitwise_xor_(decided)).sum())
        return torch.stack([bit_errors, block_errors, block_errors])


class _UncodedCounter:
    def __init__(self, system: UncodedBPSK) -> None:
        self.system = system

    def __call__(self, bits: torch.Tensor, no: float, gen: torch.Generator) -> torch.Tensor:
        system = self.system
        x = bits.to(torch.float32).mul_(-2).add_(1)  # 1 - 2b
        if type(system.channel) is AWGN:
            y = _awgn_real_part(system.channel, x, no, gen, tuple(bits.shape))
            metric = y if system.channel.real else y[..., 0]
        else:
            y, h = split_channel_output(system.channel, system.channel(torch.complex(x, torch.zeros_like(x)), no, generator=gen))
            metric = bpsk_metric(y, h)
        wrong = (metric < 0).bitwise_xor_(bits.bool())  # [B, K]
        bit_errors = wrong.sum()
        return torch.stack([bit_errors, bit_errors, bit_errors if system.k == 1 else wrong.any(-1).sum()])
