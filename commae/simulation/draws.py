r"""The engine's message draws: random ``k``-bit messages, packed 64 random bits a draw.

:meth:`Messages.draw` draws a batch of ``k``-bit messages as random 64-bit
words — ``torch.Tensor.random_`` over the full int64 range, 64 random bits a
draw — and cuts each word into ``64 // k`` labels of ``k`` bits (a message of
more than 63 bits takes whole words). The engine
(:func:`commae.simulation.simulate`) draws its messages this way for every
system, on the fast path (:mod:`commae.simulation.fastpath`) and the generic
one alike (the generic path gets the same messages as float bits,
:meth:`Messages.float_bits`), so the two paths see the same messages and the
same noise. This replaced one ``torch.randint(0, 2)`` draw per bit (the
engine's stream before issue 15): the same seed gives other counts than it
did then, with the same statistics (``tests/test_fastpath.py`` tests the
draw's uniformity and independence).

A label is the message's bits, MSB first, as an integer;
:func:`bits_to_labels` packs bits into labels.

A system that sends its messages with probabilities of its own (a shaped
modem, a transmitter that learned its distribution, issue 26) says so by a
``message_probabilities()`` method returning ``[2**k]`` probabilities by
label, or None when its messages are equiprobable (:func:`message_probabilities`
asks it). The engine then draws that system's messages with
``Messages.draw(..., probabilities=p)``: one float64 uniform per message,
through the inverse of the distribution function
(:func:`~commae.constellations.draw_indices`). Equiprobable systems keep the
packed draw above, so their random streams are unchanged.
"""

from __future__ import annotations

import sys

import torch

from ..constellations import draw_indices
from ..system import tunes_to_snr
from .scratch import Scratch, fresh

__all__ = ["Messages", "as_messages", "bits_to_labels", "message_probabilities", "sends_own_distribution", "distribution_key"]

_MAX_LABEL_BITS = 63  # labels up to this many bits are non-negative int64


class Messages:
    """One batch of ``size`` random ``k``-bit messages: integer labels, and the bits they stand for.

    ``labels`` is int64 ``[size]``, the message's bits MSB first as an
    integer, for ``k <= 63``, and None for a longer message, which has only
    bits. Bits are made from the labels on demand, once: :meth:`bits`
    (uint8) and :meth:`float_bits` (float32), ``[size, k]``.

    Examples
    --------
    >>> gen = torch.Generator().manual_seed(0)
    >>> m = Messages.draw(5, 4, gen)
    >>> bits = m.bits()
    >>> bits.shape, bool(((bits[:, 0] * 8 + bits[:, 1] * 4 + bits[:, 2] * 2 + bits[:, 3]) == m.labels).all())
    (torch.Size([5, 4]), True)
    """

    def __init__(self, k: int, labels: torch.Tensor | None = None, bits: torch.Tensor | None = None) -> None:
        if labels is None and bits is None:
            raise ValueError("Messages needs labels or bits")
        self.k = int(k)
        self.labels = labels
        self._bits = bits
        self._float: torch.Tensor | None = None
        self.size = int(labels.shape[0] if labels is not None else bits.shape[0])

    @classmethod
    def draw(cls, size: int, k: int, generator: torch.Generator, device: str | torch.device = "cpu", scratch: Scratch | None = None, probabilities: torch.Tensor | None = None) -> Messages:
        """``size`` uniform, independent ``k``-bit messages from ``generator``, 64 random bits a draw.

        With ``probabilities`` (``[2**k]`` by label) the messages are drawn
        from them instead, one float64 uniform each, by the inverse of their
        distribution function (:func:`~commae.constellations.draw_indices`):
        the same generator state gives the same messages.

        One int64 ``random_`` over the full range gives 64 independent fair
        bits; each word holds ``64 // k`` labels (``k`` consecutive bits each,
        the first label in the lowest bits). A message of ``k > 63`` bits takes
        ``ceil(k / 64)`` whole words and has no label. Message ``i`` depends on
        ``size`` only through which words are drawn: the first ``size``
        messages of a larger batch are the same. ``scratch`` (the engine's)
        lends the tensors, so the labels live until its next draw.
        """
        if k < 1 or size < 0:
            raise ValueError(f"need k >= 1 and size >= 0, got k={k}, size={size}")
        device = torch.device(device)
        if probabilities is not None:
            if k > 24 or tuple(probabilities.shape) != (1 << k,):
                raise ValueError(f"probabilities must be [2**k] (one per message label, k <= 24), got {tuple(probabilities.shape)} for k = {k}")
            return cls(k, labels=draw_indices(probabilities.to(device), size, generator))
        if k > _MAX_LABEL_BITS:
            per = -(-k // 64)
            words = _words(size * per, generator, device).view(size, per, 1)
            bits = ((words >> torch.arange(64, device=device)) & 1).view(size, 64 * per)[:, :k].to(torch.uint8)
            return cls(k, bits=bits)
        take = scratch or fresh
        per = 64 // k
        count = -(-size // per)
        words = take("words", (count,), torch.int64, device).random_(-(1 << 63), None, generator=generator)
        mask = (1 << k) - 1
        if per == 1:
            labels = words.bitwise_and_(mask)
        else:
            shifts = torch.arange(0, per * k, k, device=device)
            labels = torch.bitwise_right_shift(words[:, None], shifts, out=take("fields", (count, per), torch.int64, device)).bitwise_and_(mask).view(-1)[:size]
        return cls(k, labels=labels)

    @classmethod
    def from_bits(cls, bits: torch.Tensor) -> Messages:
        """Messages of given bits ``[B, k]`` (uint8, bool or float in {0, 1})."""
        k = bits.shape[-1]
        as_bytes = bits.to(torch.uint8)
        labels = bits_to_labels(as_bytes, k).to(torch.int64) if k <= 8 else None
        if labels is None and k <= _MAX_LABEL_BITS:
            labels = as_bytes[:, 0].to(torch.int64)
            for j in range(1, k):
                labels = labels.mul_(2).add_(as_bytes[:, j])
        return cls(k, labels=labels, bits=as_bytes)

    def bits(self) -> torch.Tensor:
        """The bits, MSB of the label first: uint8 ``[size, k]``."""
        if self._bits is None:
            shifts = torch.arange(self.k - 1, -1, -1, device=self.labels.device, dtype=self.labels.dtype)
            self._bits = ((self.labels[:, None] >> shifts) & 1).to(torch.uint8)
        return self._bits

    def float_bits(self) -> torch.Tensor:
        """The bits as float32 ``[size, k]``, the input of :func:`commae.system.errors`."""
        if self._float is None:
            self._float = self.bits().to(torch.float32)
        return self._float

    def symbol_labels(self, width: int) -> torch.Tensor:
        """Labels of the ``k / width`` symbols of ``width`` bits each, in order: int64 ``[size, k / width]``."""
        m = self.k // width
        if self.labels is None:
            return bits_to_labels(self.bits().view(self.size, m, width), width).to(torch.int64)
        if m == 1:
            return self.labels.view(self.size, 1)
        shifts = torch.arange(width * (m - 1), -1, -width, device=self.labels.device, dtype=self.labels.dtype)
        return (self.labels[:, None] >> shifts).bitwise_and_((1 << width) - 1)


def _words(count: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``count`` random int64 words, every one of the 64 bits a fair coin."""
    return torch.empty(count, dtype=torch.int64, device=device).random_(-(1 << 63), None, generator=generator)


def as_messages(messages: Messages | torch.Tensor) -> Messages:
    """``messages`` as they are, or :meth:`Messages.from_bits` of a bits tensor ``[B, k]``."""
    return messages if isinstance(messages, Messages) else Messages.from_bits(messages)


def bits_to_labels(bits: torch.Tensor, width: int) -> torch.Tensor:
    """uint8 bits ``[..., width]`` (MSB first) to int32 labels ``[...]``.

    Up to 8 bits a label: the row's bytes, zero-padded to 2, 4 or 8, read as
    one little-endian integer and gathered by one multiply: byte ``j`` times
    ``2**(8(width-1) + width-1-9j)`` puts bit ``j`` at position
    ``8(width-1) + width-1-j``; every other product lands outside those
    ``width`` positions and no two share one, so nothing carries into them
    (products that overflow wrap, which leaves the low bits exact). Up to 4
    bits this runs in int32, whose multiply vectorises.

    Examples
    --------
    >>> bits_to_labels(torch.tensor([[1, 0, 1], [0, 1, 1]], dtype=torch.uint8), 3).tolist()
    [5, 3]
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


def message_probabilities(system: object) -> torch.Tensor | None:
    """The probabilities ``[2**k]`` (by label) with which ``system`` sends its messages, or None when they are equiprobable.

    Asks the system: its ``message_probabilities()`` (a shaped
    :class:`~commae.baselines.Modem`, a :class:`~commae.models.Autoencoder`
    that learned its distribution); a system without one sends equiprobable
    messages. The result is detached, float64.
    """
    ask = getattr(system, "message_probabilities", None)
    p = ask() if callable(ask) else None
    return None if p is None else p.detach().to(torch.float64)


def sends_own_distribution(system: object) -> bool:
    """Whether ``system`` draws its messages from a distribution of its own, now (:func:`message_probabilities`) or at the SNR it runs at (a system tuned to the SNR, :func:`~commae.system.tunes_to_snr`)."""
    return tunes_to_snr(system) or message_probabilities(system) is not None


def distribution_key(probabilities: torch.Tensor | None) -> bytes | None:
    """A hashable key of a message distribution: systems of one ``(k, n)`` share messages only when their keys are equal (None: equiprobable)."""
    return None if probabilities is None else probabilities.detach().cpu().to(torch.float64).numpy().tobytes()
