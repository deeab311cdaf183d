r"""The learned system: :class:`Transmitter`, :class:`Receiver` and the :class:`Autoencoder` that wires them.

After O'Shea & Hoydis, "An introduction to deep learning for the physical
layer", IEEE TCCN 2017: a message :math:`m \in \{0, …, M-1\}`, :math:`M = 2^k`,
is mapped to ``n`` channel uses under a power constraint, sent through a
differentiable channel, and classified by the receiver.

Examples
--------
>>> from commae import AWGN
>>> ae = Autoencoder(k=4, n=1, channel=AWGN())
>>> logits = ae(torch.arange(16), no=0.1, generator=0)
>>> logits.shape
torch.Size([16, 16])
>>> x = ae.transmitter(torch.arange(16)).detach()
>>> round(float(x.abs().pow(2).mean()), 5)   # unit average energy per channel use
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from .channels import AWGN, Channel, Rayleigh, split_channel_output
from .constellations import Constellation, bits_to_int, check_bits, int_to_bits, psk, qam

__all__ = ["Transmitter", "Receiver", "Autoencoder", "SystemConfig", "make_channel", "complex_to_features"]

Normalization = Literal["batch", "message"]
Output = Literal["symbol", "bit"]


def complex_to_features(z: torch.Tensor) -> torch.Tensor:
    """Complex ``[B, n]`` to real features ``[B, 2n]`` (I and Q of each use, interleaved); real input passes through."""
    if not z.is_complex():
        return z
    return torch.view_as_real(z).flatten(-2)


def _check_positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Transmitter(nn.Module):
    r"""Message index to ``n`` channel uses, power-normalised inside the graph.

    Parameters
    ----------
    k : int
        Bits per message; ``M = 2**k`` messages.
    n : int
        Channel uses per message.
    real : bool
        Real channel uses (output float ``[B, n]``) instead of complex.
    hidden : int
        Width of the hidden layer of the embedding MLP.
    normalization : {"batch", "message"}
        ``"batch"``: average-energy constraint, :math:`\frac{1}{Mn}\sum_m \|x_m\|^2 = 1`;
        ``"message"``: energy constraint, :math:`\|x_m\|^2 = n` for every message
        (O'Shea & Hoydis 2017, §III-A). The average is taken over all ``M``
        equiprobable messages — the expectation that a mini-batch average
        estimates — so a message's symbol does not depend on which other
        messages share its mini-batch, and evaluation is deterministic.
    constellation : bool
        ``n = 1`` only: learn the points directly (a trainable
        :class:`~commae.constellations.Constellation`, started from QAM or
        PSK) instead of an MLP. Incompatible with ``real``.

    Notes
    -----
    ``forward(messages)``: ``messages`` ``[B]`` int64 in ``[0, M)``; returns
    ``x`` ``[B, n]`` complex64 (float32 when ``real``).
    """

    def __init__(
        self,
        k: int,
        n: int = 1,
        *,
        real: bool = False,
        hidden: int = 64,
        normalization: Normalization = "batch",
        constellation: bool = False,
    ) -> None:
        super().__init__()
        self.k = _check_positive_int(k, "k")
        self.n = _check_positive_int(n, "n")
        hidden = _check_positive_int(hidden, "hidden")
        if self.k > 16:
            raise ValueError(f"k must be at most 16 (2**k messages are enumerated), got {k}")
        if normalization not in ("batch", "message"):
            raise ValueError(f"normalization must be 'batch' or 'message', got {normalization!r}")
        if constellation and (self.n != 1 or real):
            raise ValueError("constellation=True needs n=1 complex channel use")
        self.num_messages = 1 << self.k
        self.real = bool(real)
        self.normalization: Normalization = normalization
        self.constellation: Constellation | None = None
        if constellation:  # start from the classic geometry: square QAM for even k, PSK for odd k
            self.constellation = (qam if self.k % 2 == 0 else psk)(self.num_messages, trainable=True)
        dims = self.n if self.real else 2 * self.n
        self.embedding = None if constellation else nn.Sequential(nn.Embedding(self.num_messages, hidden), nn.ReLU(), nn.Linear(hidden, dims))

    def _raw(self, messages: torch.Tensor) -> torch.Tensor:
        """Unnormalised real features ``[B, dims]`` of ``messages``."""
        return self.embedding(messages).float()

    def forward(self, messages: torch.Tensor) -> torch.Tensor:
        if messages.dtype != torch.int64 or messages.ndim != 1:
            raise ValueError(f"messages must be a [B] int64 tensor of indices in [0, {self.num_messages}), got {messages.dtype} {tuple(messages.shape)}")
        return self.symbol_table()[messages]

    def symbol_table(self) -> torch.Tensor:
        """The normalised symbols of all ``M`` messages, ``[M, n]``, in the autograd graph.

        :meth:`forward` gathers its rows: each message's symbol is computed
        once per call, not once per example, and the gradient reaches the
        weights through the gather.
        """
        if self.constellation is not None:
            return self.constellation().unsqueeze(-1)  # [M, 1]; normalised over its M points
        table = self._raw(torch.arange(self.num_messages, device=self._device()))  # [M, n] or [M, 2n]
        if self.normalization == "message":
            table = table * (self.n / table.pow(2).sum(-1, keepdim=True).clamp_min(1e-12)).sqrt()
        else:
            table = table / (table.pow(2).sum(-1).mean() / self.n).sqrt()
        if self.real:
            return table
        return torch.view_as_complex(table.reshape(-1, self.n, 2).contiguous())

    def all_symbols(self) -> torch.Tensor:
        """The symbols of every message, ``[M, n]``: the learned constellation."""
        return self.symbol_table()

    def _device(self) -> torch.device:
        return next(self.parameters()).device


class Receiver(nn.Module):
    r"""MLP from received symbols (and CSI) to symbol logits ``[B, M]`` or bit LLRs ``[B, k]``.

    Parameters
    ----------
    k, n, real
        As for :class:`Transmitter`.
    output : {"symbol", "bit"}
        Symbol-wise logits over the ``M`` messages, or ``k`` bit logits,
        LLR = ln P(b=1|y)/P(b=0|y).
    csi : bool
        Whether the channel gives ``h``. The receiver then also sees the
        matched-filter output :math:`h^* y` and the gain :math:`|h|^2` of each
        use besides ``y`` and ``h``: coherent features a small MLP would
        otherwise have to learn to multiply.
    hidden : int
        Width of the two hidden layers.

    Notes
    -----
    ``forward(y, h=None)``: ``y`` ``[B, n]`` complex64 (float32 when real),
    ``h`` ``[B, n]`` complex64 with CSI; returns logits ``[B, M]`` or ``[B, k]``.
    """

    def __init__(self, k: int, n: int = 1, *, real: bool = False, output: Output = "symbol", csi: bool = False, hidden: int = 64) -> None:
        super().__init__()
        self.k = _check_positive_int(k, "k")
        self.n = _check_positive_int(n, "n")
        hidden = _check_positive_int(hidden, "hidden")
        if output not in ("symbol", "bit"):
            raise ValueError(f"output must be 'symbol' or 'bit', got {output!r}")
        if csi and real:
            raise ValueError("csi needs complex channel uses (the Rayleigh channel is complex)")
        self.output: Output = output
        self.csi = bool(csi)
        self.real = bool(real)
        per_use = 1 if real else 2
        in_features = self.n * (per_use + (5 if csi else 0))  # y, plus Re/Im h, Re/Im h*y, |h|^2
        out_features = (1 << self.k) if output == "symbol" else self.k
        self.net = _mlp([in_features, hidden, hidden, out_features])

    def forward(self, y: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        feats = complex_to_features(y)
        if self.csi:
            if h is None:
                raise ValueError("h must be given: this receiver was built for a channel with CSI")
            matched = torch.conj(h) * y
            feats = torch.cat([feats, complex_to_features(h), complex_to_features(matched), h.abs().pow(2)], dim=-1)
        return self.net(feats.float())


class Autoencoder(nn.Module):
    r"""Transmitter → channel → receiver, trained end to end; a :class:`~commae.system.System`.

    Parameters
    ----------
    k : int
        Bits per message, ``M = 2**k``.
    n : int
        Channel uses per message (complex, or real when ``real``).
    channel : Channel, optional
        Default :class:`~commae.channels.AWGN` (real when ``real``). A
        Rayleigh channel needs complex uses; with CSI the receiver gets ``h``.
    output : {"symbol", "bit"}
        Symbol-wise receiver (train with cross-entropy) or bit-wise receiver
        (train with BCE, the BMI objective).
    real : bool
        Real channel uses, as in O'Shea & Hoydis 2017.
    hidden : int
        Hidden width of transmitter and receiver.
    normalization : {"batch", "message"}
        Power constraint, see :class:`Transmitter`.
    constellation : bool
        Learn the ``n = 1`` constellation points directly.

    Notes
    -----
    ``forward(messages, no, generator=None)``: messages ``[B]`` int64, ``no``
    linear N0 (scalar or ``[B]``); returns receiver logits ``[B, M]`` or
    ``[B, k]``. As a ``System``, :meth:`transmit` takes bits ``[B, k]``
    (message index = the bits read MSB first) and :meth:`receive` returns
    hard bit decisions; a message is both the symbol and the block.
    """

    def __init__(
        self,
        k: int,
        n: int = 1,
        channel: Channel | None = None,
        *,
        output: Output = "symbol",
        real: bool = False,
        hidden: int = 64,
        normalization: Normalization = "batch",
        constellation: bool = False,
    ) -> None:
        super().__init__()
        channel = AWGN(real=real) if channel is None else channel
        if not isinstance(channel, Channel):
            raise ValueError(f"channel must be a commae Channel (AWGN, Rayleigh), got {type(channel).__name__}")
        if channel.real != bool(real):
            raise ValueError(f"channel must match real={real}: use AWGN(real={real})" + ("; Rayleigh needs complex uses" if real else ""))
        self.transmitter = Transmitter(k, n, real=real, hidden=hidden, normalization=normalization, constellation=constellation)
        self.channel = channel
        self.receiver = Receiver(k, n, real=real, output=output, csi=channel.csi, hidden=hidden)
        self.k, self.n = self.transmitter.k, self.transmitter.n
        self.bits_per_symbol = self.k
        self.num_messages = self.transmitter.num_messages
        self.output: Output = output
        self.real = bool(real)

    def forward(self, messages: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor:
        x = self.transmitter(messages)
        y, h = split_channel_output(self.channel, self.channel(x, no, generator=generator))
        return self.receiver(y, h)

    def decide(self, logits: torch.Tensor) -> torch.Tensor:
        """Hard message decisions ``[B]`` from receiver logits."""
        if self.output == "symbol":
            return logits.argmax(-1)
        return bits_to_int((logits > 0).to(torch.int64))

    # --- the System protocol -------------------------------------------------------------
    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``[B, k]`` to channel symbols ``[B, n]``."""
        check_bits(bits, self.k)
        return self.transmitter(bits_to_int(bits))

    def receive(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        """Received ``[B, n]`` (and CSI) to hard bit decisions ``[B, k]``."""
        logits = self.receiver(y, h)
        if self.output == "bit":
            return (logits > 0).to(torch.float32)
        return int_to_bits(logits.argmax(-1), self.k)

    def constellation(self) -> Constellation:
        """The learned points as a fixed :class:`~commae.constellations.Constellation` (``n = 1`` complex only)."""
        if self.n != 1 or self.real:
            raise ValueError("constellation() needs n=1 complex channel use; use transmitter.all_symbols() for n > 1")
        with torch.no_grad():
            pts = self.transmitter.all_symbols()[:, 0].cpu()
        return Constellation(pts, torch.arange(self.num_messages))

    def extra_repr(self) -> str:
        return f"k={self.k}, n={self.n}, output={self.output!r}, real={self.real}"


def make_channel(channel: str = "awgn", *, real: bool = False, fading: str = "fast", csi: bool = True) -> Channel:
    """A channel by name: ``"awgn"`` (complex, or real when ``real``) or ``"rayleigh"`` (``fading``, ``csi``)."""
    if channel == "awgn":
        return AWGN(real=real)
    if channel == "rayleigh":
        if real:
            raise ValueError("channel 'rayleigh' needs complex channel uses (drop real)")
        return Rayleigh(fading=fading, csi=csi)  # type: ignore[arg-type]
    raise ValueError(f"channel must be 'awgn' or 'rayleigh', got {channel!r}")


@dataclass
class SystemConfig:
    """What an autoencoder is: sizes, channel, receiver output, widths, power constraint.

    ``build()`` makes the :class:`Autoencoder`; a run stores ``dataclasses.asdict``
    of it in ``config.json`` and rebuilds the model from it.
    """

    k: int = 4
    n: int = 1
    real: bool = False
    channel: str = "awgn"
    fading: str = "fast"
    csi: bool = True
    output: str = "symbol"
    hidden: int = 128
    normalization: str = "batch"
    constellation: bool = False

    def make_channel(self) -> Channel:
        return make_channel(self.channel, real=self.real, fading=self.fading, csi=self.csi)

    def build(self) -> Autoencoder:
        return Autoencoder(
            self.k,
            self.n,
            self.make_channel(),
            output=self.output,  # type: ignore[arg-type]
            real=self.real,
            hidden=self.hidden,
            normalization=self.normalization,  # type: ignore[arg-type]
            constellation=self.constellation,
        )
