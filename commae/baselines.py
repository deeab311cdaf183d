r"""Hand-designed baselines, each a :class:`~commae.system.System`.

* :class:`Modem` — QAM/PSK/PAM (any :class:`~commae.constellations.Constellation`):
  ML hard decisions and soft LLRs, exact APP or max-log.
* :class:`Hamming74` — the (7,4) Hamming code with BPSK: systematic encoder,
  syndrome (hard) decoding or soft maximum-likelihood decoding.
* :class:`UncodedBPSK` — blocks of ``K`` uncoded BPSK bits.

Over Rayleigh fading with CSI every receiver is coherent: it uses the known
gains ``h`` in its metric. Without CSI it treats ``h`` as 1 (no equaliser).
LLRs follow the convention :math:`\mathrm{LLR} = \ln P(b{=}1|y)/P(b{=}0|y)`,
a logit. BPSK maps bit ``b`` to :math:`1 - 2b`.

Everything is vectorised in torch, batch first, on the device of the input.

Examples
--------
>>> from commae import qam
>>> modem = Modem(qam(16))
>>> bits = torch.tensor([[1., 0., 1., 1.]])
>>> modem.receive(modem.transmit(bits), no=1e-3)
tensor([[1., 0., 1., 1.]])
>>> code = Hamming74("hard")
>>> code.encode(torch.tensor([[1., 0., 1., 1.]]))
tensor([[1., 0., 1., 1., 0., 1., 0.]])
"""

from __future__ import annotations

import math
import re
from typing import Literal

import torch
from torch import nn

from .channels import AWGN, Channel, broadcast_no
from .constellations import Constellation, check_bits, int_to_bits, pam, psk, qam

__all__ = ["Modem", "Hamming74", "UncodedBPSK", "bpsk_metric", "matching_baseline", "make_baseline", "is_baseline_name", "BASELINE_NAMES"]

BASELINE_NAMES = ("bpsk", "qpsk", "qam16", "qam64", "qam256", "psk8", "psk16", "hamming74-hard", "hamming74-soft", "uncoded-bpsk-K")

Demapping = Literal["app", "maxlog"]

# Largest number of (row, point) pairs held at once when a metric is evaluated
# against every constellation point.
_CHUNK = 1 << 22


def bpsk_metric(y: torch.Tensor, h: torch.Tensor | None) -> torch.Tensor:
    r"""Matched-filter output :math:`\mathrm{Re}(h^* y)` of BPSK (``y`` itself on a real channel).

    For BPSK :math:`x = 1-2b`, :math:`\ln P(b{=}1|y)/P(b{=}0|y) = -4\,\mathrm{Re}(h^* y)/N_0`.
    """
    if h is not None:
        y = torch.conj(h) * y
    return y.real if y.is_complex() else y


def _check_received(y: torch.Tensor, n: int) -> None:
    if not isinstance(y, torch.Tensor) or y.ndim != 2 or y.shape[-1] != n:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"y must be a [B, {n}] tensor of received samples, got {shape}")


def _default_channel(channel: Channel | None) -> Channel:
    if channel is None:
        return AWGN()
    if not isinstance(channel, Channel):
        raise ValueError(f"channel must be a commae Channel (AWGN(), Rayleigh(...)), got {type(channel).__name__}")
    return channel


class Modem(nn.Module):
    r"""Uncoded modulation with a labelled constellation, one symbol per channel use.

    Parameters
    ----------
    constellation : Constellation
        E.g. ``qam(16)``, ``psk(8)``; Gray-labelled for a Gray-mapped modem.
    channel : Channel, optional
        The channel it is simulated over (default complex :class:`AWGN`). A
        real channel needs real points (``pam(M)``, ``psk(2)``).
    demapping : {"app", "maxlog"}
        Default LLR computation of :meth:`llr`.
    symbols_per_message : int
        ``m`` symbols (channel uses) per message, so ``k = m log2 M`` and
        ``n = m``; a symbol is the SER unit, a message the BLER unit.
    name : str, optional
        Name in tables and plots.

    Notes
    -----
    Hard decisions are maximum likelihood, :math:`\hat s = \arg\min_s |y - h s|^2`,
    computed by exact per-axis slicing for square QAM and PAM and by angle for
    PSK (on :math:`z = y h^*/|h|^2`, which has the same minimiser), and by
    exhaustive search otherwise. Exact APP LLRs (Proakis, *Digital
    Communications*, 5th ed., §8.1):

    .. math::

        L_j = \ln \sum_{s: b_j(s)=1} e^{-|y-hs|^2/N_0} - \ln \sum_{s: b_j(s)=0} e^{-|y-hs|^2/N_0},

    evaluated with ``logsumexp`` (finite at any SNR); max-log replaces each sum
    by its largest term.
    """

    def __init__(
        self,
        constellation: Constellation,
        channel: Channel | None = None,
        demapping: Demapping = "app",
        symbols_per_message: int = 1,
        name: str | None = None,
    ) -> None:
        super().__init__()
        if isinstance(symbols_per_message, bool) or int(symbols_per_message) != symbols_per_message or symbols_per_message < 1:
            raise ValueError(f"symbols_per_message must be a positive integer, got {symbols_per_message!r}")
        if not isinstance(constellation, Constellation):
            raise ValueError(f"constellation must be a Constellation (qam(M), psk(M), pam(M), ...), got {type(constellation).__name__}")
        if demapping not in ("app", "maxlog"):
            raise ValueError(f"demapping must be 'app' or 'maxlog', got {demapping!r}")
        self.constellation = constellation
        self.channel = _default_channel(channel)
        if self.channel.real and bool((constellation.points.imag.abs() > 1e-6).any()):
            raise ValueError("channel is real but the constellation has complex points; use pam(M) or psk(2), or a complex channel")
        self.demapping: Demapping = demapping
        self.n = int(symbols_per_message)
        self.k = constellation.k * self.n
        self.bits_per_symbol = constellation.k
        self.name = name or f"{constellation.kind}{constellation.num_points}"
        # Slicer geometry of the fixed constellations (a trainable one is "custom").
        pts = constellation.points.detach()
        self._side = 1 << (constellation.k // 2) if constellation.kind == "qam" else constellation.num_points
        self._level_scale = float(pts.real.max()) / max(self._side - 1, 1)  # half the spacing of levels
        self._phase_offset = float(torch.angle(pts[0]))
        # bits of each label 0..M-1, the column order of symbol_logits
        bit_labels = int_to_bits(torch.arange(constellation.num_points), constellation.k).bool()  # [M, log2 M]
        positions = range(constellation.k)
        self.register_buffer("_ones", torch.stack([torch.nonzero(bit_labels[:, j]).flatten() for j in positions]))
        self.register_buffer("_zeros", torch.stack([torch.nonzero(~bit_labels[:, j]).flatten() for j in positions]))

    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``[B, k]`` to symbols ``[B, m]`` (complex64; float32 on a real channel)."""
        check_bits(bits, self.k, values=False)  # the constellation checks the values
        x = self.constellation.map(bits)
        return x.real.contiguous() if self.channel.real else x

    def _equalize(self, y: torch.Tensor, h: torch.Tensor | None) -> torch.Tensor:
        """``z = y h^* / |h|^2`` (``y`` when there is no CSI), complex."""
        if not y.is_complex():
            y = torch.complex(y, torch.zeros_like(y))
        if h is None:
            return y
        gain = (h.real**2 + h.imag**2).clamp_min(torch.finfo(h.real.dtype).tiny)
        return y * torch.conj(h) / gain

    def decide(self, y: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """ML symbol decisions: received ``[..., m]`` to point indices ``[..., m]`` (int64)."""
        c = self.constellation
        z = self._equalize(y, h)
        if c.kind in ("qam", "pam"):
            side, scale = self._side, self._level_scale

            def level(u: torch.Tensor) -> torch.Tensor:
                return torch.round((u / scale + (side - 1)) / 2).clamp_(0, side - 1).to(torch.int64)

            if c.kind == "pam":
                return level(z.real)
            return level(z.real) * side + level(z.imag)
        if c.kind == "psk":
            step = 2 * math.pi / c.num_points
            return torch.remainder(torch.round((torch.angle(z) - self._phase_offset) / step).to(torch.int64), c.num_points)
        pts = c.points
        flat = z.reshape(-1)
        rows = max(1, _CHUNK // c.num_points)
        out = [torch.argmin((part[:, None] - pts).abs(), dim=-1) for part in flat.split(rows)]
        return torch.cat(out).reshape(z.shape)

    def symbol_logits(self, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """Log-likelihoods ``-|y - h s|^2 / N0`` of every point: received ``[B, m]`` to ``[B, m, M]``.

        Column ``j`` is the point whose bit label is the integer ``j``; with
        equiprobable points their softmax is the exact symbol posterior.
        """
        if not y.is_complex():
            y = torch.complex(y, torch.zeros_like(y))
        no = broadcast_no(no, y)
        hh = torch.ones_like(y) if h is None else h
        by_label = self.constellation.points[self.constellation.index_of_label]
        return -(y[..., None] - hh[..., None] * by_label).abs().pow(2) / no[..., None]

    def receive(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        """ML hard decisions: received ``[B, m]`` to bits ``[B, k]`` (``no`` is not needed)."""
        _check_received(y, self.n)
        return self.constellation.indices_to_bits(self.decide(y, h))

    def llr(
        self,
        y: torch.Tensor,
        no: float | torch.Tensor,
        h: torch.Tensor | None = None,
        method: Demapping | None = None,
    ) -> torch.Tensor:
        """Bit LLRs ``ln P(b=1|y)/P(b=0|y)``: received ``[B, m]`` to ``[B, m log2 M]`` (float32).

        ``no`` is the linear N0, a scalar or ``[B]``; ``h`` the CSI, if any;
        ``method`` overrides :attr:`demapping`.
        """
        method = method or self.demapping
        if method not in ("app", "maxlog"):
            raise ValueError(f"method must be 'app' or 'maxlog', got {method!r}")
        if not y.is_complex():
            y = torch.complex(y, torch.zeros_like(y))
        no = broadcast_no(no, y)
        if bool((no <= 0).any()):
            raise ValueError("no must be positive to compute LLRs")
        reduce = torch.logsumexp if method == "app" else (lambda t, dim: t.amax(dim))
        hh = torch.ones_like(y) if h is None else h.expand_as(y)
        no = no.expand(y.shape)
        rows = max(1, _CHUNK // self.constellation.num_points)
        parts = []
        for y_c, h_c, no_c in zip(y.reshape(-1).split(rows), hh.reshape(-1).split(rows), no.reshape(-1).split(rows)):
            metric = self.symbol_logits(y_c, no_c, h_c)  # [rows, M], columns by label
            ones = reduce(metric[:, self._ones], dim=-1)  # [rows, k]
            zeros = reduce(metric[:, self._zeros], dim=-1)
            parts.append(ones - zeros)
        return torch.cat(parts).reshape(*y.shape[:-1], y.shape[-1] * self.bits_per_symbol)


class Hamming74(nn.Module):
    r"""The (7,4) Hamming code with BPSK: ``k = 4`` bits in ``n = 7`` channel uses.

    Parameters
    ----------
    decoder : {"hard", "soft"}
        ``"hard"``: sign decisions then syndrome decoding (corrects any single
        error). ``"soft"``: maximum-likelihood decoding by correlation with
        the 16 codewords.
    channel : Channel, optional
        Default complex :class:`AWGN`; BPSK rides on the in-phase axis (or on
        a real channel).

    Notes
    -----
    Systematic generator :math:`G = [I_4 \mid P]` and parity check
    :math:`H = [P^T \mid I_3]` with

    .. math:: P = \begin{pmatrix}1&1&0\\1&0&1\\0&1&1\\1&1&1\end{pmatrix}.

    Soft ML (Lin & Costello, *Error Control Coding*, §10): with BPSK
    :math:`x = 1-2c` and known gains,
    :math:`\hat c = \arg\max_{c} \sum_j x_j(c)\,\mathrm{Re}(h_j^* y_j)`, since
    :math:`|y_j - h_j x_j|^2` differs from it only by terms common to all
    codewords. The gains weight the metric; the samples are never divided by
    ``h`` (no zero-forcing).
    """

    k = 4
    n = 7
    bits_per_symbol = 4

    def __init__(self, decoder: Literal["hard", "soft"] = "hard", channel: Channel | None = None, name: str | None = None) -> None:
        super().__init__()
        if decoder not in ("hard", "soft"):
            raise ValueError(f"decoder must be 'hard' or 'soft', got {decoder!r}")
        self.decoder = decoder
        self.channel = _default_channel(channel)
        self.name = name or f"hamming74-{decoder}"
        parity = torch.tensor([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=torch.float32)
        generator = torch.cat([torch.eye(4), parity], dim=1)  # [4, 7]
        check = torch.cat([parity.T, torch.eye(3)], dim=1)  # [3, 7]
        messages = int_to_bits(torch.arange(16), 4)  # [16, 4]
        codewords = (messages @ generator) % 2  # [16, 7]
        # syndrome (as an integer, MSB first) -> position of the single error it points to, or 7 for none
        syndrome_of_position = (check.T.to(torch.int64) * torch.tensor([4, 2, 1])).sum(-1)  # [7]
        error_position = torch.full((8,), 7, dtype=torch.int64)
        error_position[syndrome_of_position] = torch.arange(7)
        self.register_buffer("generator_matrix", generator)
        self.register_buffer("check_matrix", check)
        self.register_buffer("codewords", codewords)
        self.register_buffer("codeword_symbols", 1 - 2 * codewords)  # [16, 7]
        self.register_buffer("messages", messages)
        self.register_buffer("_error_position", error_position)
        self.register_buffer("_flip", torch.cat([torch.eye(7), torch.zeros(1, 7)]))  # [8, 7]

    def encode(self, bits: torch.Tensor) -> torch.Tensor:
        """Message bits ``[B, 4]`` to codeword bits ``[B, 7]`` (systematic: message first)."""
        check_bits(bits, 4)
        return (bits.to(self.generator_matrix.dtype) @ self.generator_matrix) % 2

    def syndrome_decode(self, hard_bits: torch.Tensor) -> torch.Tensor:
        """Hard codeword decisions ``[B, 7]`` to corrected message bits ``[B, 4]``."""
        syndrome = ((hard_bits @ self.check_matrix.T) % 2).to(torch.int64)  # [B, 3]
        index = syndrome[:, 0] * 4 + syndrome[:, 1] * 2 + syndrome[:, 2]
        corrected = (hard_bits + self._flip[self._error_position[index]]) % 2
        return corrected[:, :4]

    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        """Message bits ``[B, 4]`` to BPSK symbols ``[B, 7]`` (complex64; float32 on a real channel)."""
        x = 1 - 2 * self.encode(bits)
        return x if self.channel.real else torch.complex(x, torch.zeros_like(x))

    def symbol_logits(self, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """Codeword log-likelihoods up to a common constant, ``[B, 1, 16]``: ``4 Re(h* y)·x(c) / N0``.

        Their softmax is the exact posterior of the 16 messages (index = message bits, MSB first).
        """
        metric = bpsk_metric(y, h).to(self.codeword_symbols.dtype)  # [B, 7]
        no = broadcast_no(no, metric)
        return (4 * (metric / no) @ self.codeword_symbols.T).unsqueeze(1)

    def receive(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        """Received ``[B, 7]`` (and CSI ``h``) to decoded message bits ``[B, 4]``."""
        _check_received(y, 7)
        metric = bpsk_metric(y, h).to(self.codeword_symbols.dtype)  # [B, 7]
        if self.decoder == "hard":
            return self.syndrome_decode((metric < 0).to(self.check_matrix.dtype))
        best = torch.argmax(metric @ self.codeword_symbols.T, dim=-1)  # [B]
        return self.messages[best]


class UncodedBPSK(nn.Module):
    """Blocks of ``K`` uncoded BPSK bits: ``k = n = K``; a symbol is one bit, a block is ``K``.

    Parameters
    ----------
    K : int
        Bits per block (the BLER unit).
    channel : Channel, optional
        Default complex :class:`AWGN`.
    """

    bits_per_symbol = 1

    def __init__(self, K: int = 1, channel: Channel | None = None, name: str | None = None) -> None:
        super().__init__()
        if isinstance(K, bool) or int(K) != K or K < 1:
            raise ValueError(f"K must be a positive integer (bits per block), got {K!r}")
        self.k = self.n = int(K)
        self.channel = _default_channel(channel)
        self.name = name or f"uncoded-bpsk-{self.k}"

    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``[B, K]`` to BPSK symbols ``1 - 2b``, ``[B, K]``."""
        check_bits(bits, self.k)
        x = (1 - 2 * bits).to(torch.float32)
        return x if self.channel.real else torch.complex(x, torch.zeros_like(x))

    def receive(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        """Received ``[B, K]`` to hard bit decisions ``[B, K]``."""
        _check_received(y, self.n)
        return (bpsk_metric(y, h) < 0).to(torch.float32)


def matching_baseline(k: int, n: int, channel: Channel | None = None) -> nn.Module | None:
    """The classic system with the same ``(k, n)`` and channel, to compare a learned one with.

    ``(4, 7)`` is the Hamming (7,4) code with soft-ML decoding. Otherwise, when
    ``n`` divides ``k``, a Gray modem with ``k/n`` bits per use: square QAM
    (even), BPSK (1), PSK (odd) on complex uses, PAM on real ones. None when
    there is no such match.
    """
    channel = _default_channel(channel)
    if (k, n) == (4, 7):
        return Hamming74("soft", channel=channel)
    if k % n:
        return None
    per_use = k // n
    if channel.real:
        constellation = pam(1 << per_use)
    elif per_use == 1:
        constellation = psk(2)
    else:
        constellation = qam(1 << per_use) if per_use % 2 == 0 else psk(1 << per_use)
    return Modem(constellation, channel=channel, symbols_per_message=n)


def make_baseline(name: str, channel: Channel | None = None) -> nn.Module:
    """A baseline by name: one of :data:`BASELINE_NAMES` (``uncoded-bpsk-K`` with ``K`` bits a block).

    >>> make_baseline("qam16").k, make_baseline("uncoded-bpsk-8").k
    (4, 8)
    """
    fixed = {
        "bpsk": lambda: Modem(psk(2), channel, name="bpsk"),
        "qpsk": lambda: Modem(qam(4), channel, name="qpsk"),
        "qam16": lambda: Modem(qam(16), channel, name="qam16"),
        "qam64": lambda: Modem(qam(64), channel, name="qam64"),
        "qam256": lambda: Modem(qam(256), channel, name="qam256"),
        "psk8": lambda: Modem(psk(8), channel, name="psk8"),
        "psk16": lambda: Modem(psk(16), channel, name="psk16"),
        "hamming74-hard": lambda: Hamming74("hard", channel),
        "hamming74-soft": lambda: Hamming74("soft", channel),
    }
    if name in fixed:
        return fixed[name]()
    prefix = "uncoded-bpsk-"
    if name.startswith(prefix) and name[len(prefix) :].isdigit() and int(name[len(prefix) :]) >= 1:
        return UncodedBPSK(int(name[len(prefix) :]), channel)
    raise ValueError(f"baseline must be one of {', '.join(BASELINE_NAMES)} (K a positive integer), got {name!r}")


_BASELINE_NAME = re.compile(r"^(bpsk|qpsk|qam\d+|psk\d+|pam\d+|hamming74-(hard|soft)|uncoded-bpsk-\d+)$")


def is_baseline_name(name: str) -> bool:
    """Whether ``name`` is the name of a baseline (one of :data:`BASELINE_NAMES`, or a modem's ``qamM``/``pskM``/``pamM``).

    >>> is_baseline_name("qam16"), is_baseline_name("k4-n1-awgn-7dB")
    (True, False)
    """
    return bool(_BASELINE_NAME.match(name))
