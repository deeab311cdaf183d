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

from collections.abc import Mapping
from typing import Literal

import torch
from torch import nn

from .channels import ADC, AWGN, Cascade, Channel, PhaseNoise, RappPA, Rayleigh, Rician, split_channel_output
from .config import dataclass_of, default
from .constellations import Constellation, bits_to_int, check_bits, int_to_bits, psk, qam

__all__ = ["Transmitter", "Receiver", "Autoencoder", "SystemConfig", "make_channel", "complex_to_features", "SHAPINGS"]

Normalization = Literal["batch", "message", "amplitude"]
Output = Literal["symbol", "bit"]
Shaping = Literal["geometric", "probabilistic", "joint"]
SHAPINGS = ("geometric", "probabilistic", "joint")


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
        ``"amplitude"``: the paper's amplitude constraint :math:`|x_i| \le 1`
        for every use, by :math:`x_i = \tanh(|z_i|)\, z_i / |z_i|` (``tanh``
        on real uses). Energy per use is then at most 1, and Eb/N0 is
        counted with the peak energy 1 (a peak-power SNR).
    constellation : bool
        ``n = 1`` only: learn the points directly (a trainable
        :class:`~commae.constellations.Constellation`) instead of an MLP,
        started from Gray square QAM (even ``k``) or Gray PSK (odd ``k``) with
        message ``m`` on the point labelled ``m``
        (:meth:`~commae.constellations.Constellation.by_label`), so a
        bit-wise system starts Gray-labelled. Incompatible with ``real``.
    shaping : {"geometric", "probabilistic", "joint"}
        What is learned: the points (``"geometric"``, the default: messages
        equiprobable), how often each message is sent with the points fixed
        to square QAM (``"probabilistic"``: ``n = 1`` complex, even ``k``),
        or both (``"joint"``). A shaped transmitter holds :attr:`logits`, an
        ``nn.Parameter`` ``[M]`` (zeros: uniform), and sends message ``m``
        with probability :math:`p_m = \mathrm{softmax}(\mathrm{logits})_m`
        (:meth:`probabilities`); its ``"batch"`` power constraint is then the
        average under :math:`p`, :math:`\sum_m p_m \|x_m\|^2 = n`, inside
        the graph, so the gradient reaches the logits through it too. Shaping
        needs the average constraint (``normalization="batch"``): under the
        other two every message has its energy whatever :math:`p` is.

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
        shaping: Shaping = "geometric",
    ) -> None:
        super().__init__()
        self.k = _check_positive_int(k, "k")
        self.n = _check_positive_int(n, "n")
        hidden = _check_positive_int(hidden, "hidden")
        if self.k > 16:
            raise ValueError(f"k must be at most 16 (2**k messages are enumerated), got {k}")
        if normalization not in ("batch", "message", "amplitude"):
            raise ValueError(f"normalization must be 'batch', 'message' or 'amplitude', got {normalization!r}")
        if constellation and (self.n != 1 or real):
            raise ValueError("constellation=True needs n=1 complex channel use")
        if shaping not in SHAPINGS:
            raise ValueError(f"shaping must be 'geometric', 'probabilistic' or 'joint', got {shaping!r}")
        if shaping != "geometric" and normalization != "batch":
            raise ValueError(f"shaping={shaping!r} needs normalization='batch' (the average power constraint, under the learned probabilities); got {normalization!r}")
        if shaping == "probabilistic" and (self.n != 1 or real or self.k % 2 or constellation):
            raise ValueError("shaping='probabilistic' keeps square QAM points: it needs n=1 complex channel use, an even k and constellation=False (the points are not learned)")
        self.num_messages = 1 << self.k
        self.real = bool(real)
        self.normalization: Normalization = normalization
        self.shaping: Shaping = shaping
        self.constellation: Constellation | None = None
        if constellation:  # start from the classic geometry, square QAM for even k and PSK for odd k, message m on the Gray point labelled m
            self.constellation = (qam if self.k % 2 == 0 else psk)(self.num_messages, trainable=True).by_label()
            self.constellation.register_load_state_dict_pre_hook(_points_labelled_by_message)
        dims = self.n if self.real else 2 * self.n
        fixed = shaping == "probabilistic"
        self.embedding = None if constellation or fixed else nn.Sequential(nn.Embedding(self.num_messages, hidden), nn.ReLU(), nn.Linear(hidden, dims))
        if fixed:  # the QAM grid, by message = Gray label; its scale follows the probabilities
            grid = qam(self.num_messages)
            self.register_buffer("grid", torch.view_as_real(grid.points[grid.index_of_label]).clone())  # [M, 2]
        self.logits = nn.Parameter(torch.zeros(self.num_messages)) if shaping != "geometric" else None

    def _raw(self, messages: torch.Tensor) -> torch.Tensor:
        """Unnormalised real features ``[B, dims]`` of ``messages``."""
        return self.embedding(messages).float()

    def forward(self, messages: torch.Tensor) -> torch.Tensor:
        if messages.dtype != torch.int64 or messages.ndim != 1:
            raise ValueError(f"messages must be a [B] int64 tensor of indices in [0, {self.num_messages}), got {messages.dtype} {tuple(messages.shape)}")
        return self.symbol_table()[messages]

    @property
    def shaped(self) -> bool:
        """Whether the transmitter learns how often each message is sent (``shaping`` is not ``"geometric"``)."""
        return self.logits is not None

    def log_probabilities(self) -> torch.Tensor | None:
        r""":math:`\ln p_m`, ``[M]`` float32 in the autograd graph (log-softmax of :attr:`logits`); None when not shaped."""
        return None if self.logits is None else torch.log_softmax(self.logits.float(), -1)

    def probabilities(self) -> torch.Tensor | None:
        """How often each message is sent, ``[M]`` float32 in the autograd graph (softmax of :attr:`logits`: exactly ``1/M`` at zeros); None when equiprobable."""
        return None if self.logits is None else torch.softmax(self.logits.float(), -1)

    def symbol_table(self) -> torch.Tensor:
        """The normalised symbols of all ``M`` messages, ``[M, n]``, in the autograd graph.

        :meth:`forward` gathers its rows: each message's symbol is computed
        once per call, not once per example, and the gradient reaches the
        weights through the gather. A shaped transmitter normalises the
        average energy under its probabilities.
        """
        p = self.probabilities()
        if self.constellation is not None:
            if p is None:
                return self.constellation().unsqueeze(-1)  # [M, 1]; normalised over its M points
            return _unit_energy_points(self.constellation.weight, p)  # raw points: as Constellation's mean when p = 1/M, to the last bit
        if self.shaping == "probabilistic":
            return _unit_energy_points(self.grid, p)
        table = self._raw(torch.arange(self.num_messages, device=self._device()))  # [M, n] or [M, 2n]
        if self.normalization == "message":
            table = table * (self.n / table.pow(2).sum(-1, keepdim=True).clamp_min(1e-12)).sqrt()
        elif self.normalization == "amplitude":
            if self.real:
                table = torch.tanh(table)
            else:  # scale each complex use z to tanh(|z|) z / |z|
                pairs = table.reshape(-1, self.n, 2)  # [M, n, 2]
                size = pairs.pow(2).sum(-1, keepdim=True).clamp_min(1e-24).sqrt()
                table = (pairs * torch.tanh(size) / size).reshape(table.shape)
        else:
            energy = table.pow(2).sum(-1)  # [M]
            energy = energy.mean() if p is None else (p * energy).sum()
            table = table / (energy / self.n).sqrt()
        if self.real:
            return table
        return torch.view_as_complex(table.reshape(-1, self.n, 2).contiguous())

    def collapsed_messages(self, fraction: float = 0.05) -> list[int]:
        """Messages whose symbols (almost) coincide with another message's: a collapsed transmitter.

        Two messages closer than ``fraction`` × √n (the RMS norm of a message)
        cannot be told apart by any receiver. An average-energy constraint lets
        training park several messages at ``x ≈ 0`` over fading without CSI,
        where amplitude carries little; they are then decided by chance. (One
        message alone at ``x = 0`` is a legitimate design and is not reported.)
        """
        with torch.no_grad():
            table = self.symbol_table()
            table = (table if self.real else torch.view_as_real(table)).reshape(self.num_messages, -1)  # [M, n or 2n]
            distance = torch.cdist(table, table)
            distance.fill_diagonal_(float("inf"))
        return [int(m) for m in torch.nonzero(distance.min(-1).values < fraction * self.n**0.5).flatten()]

    def all_symbols(self) -> torch.Tensor:
        """The symbols of every message, ``[M, n]``: the learned constellation."""
        return self.symbol_table()

    def _device(self) -> torch.device:
        return next(self.parameters()).device


def _points_labelled_by_message(module: Constellation, state_dict: dict, prefix: str, *args: object) -> None:
    """Load a transmitter's points with their messages as labels (point ``m`` is message ``m``, whose bits are ``m``).

    Runs saved before the Gray start (message ``m`` then started on QAM/PSK
    point *index* ``m``) stored that order's labels beside the points; their
    weights are the points of messages ``0 … M-1`` as now, and their labels
    are not what the transmitter sends, so they are not taken.
    """
    for name in ("labels", "index_of_label"):
        if prefix + name in state_dict:
            state_dict[prefix + name] = getattr(module, name).clone()


def _unit_energy_points(w: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Points ``w`` ``[M, 2]`` (real, imaginary) scaled to unit average energy under the probabilities ``p`` ``[M]``, as complex ``[M, 1]``."""
    w = w / (p * w.pow(2).sum(-1)).sum().sqrt()
    return torch.view_as_complex(w.contiguous()).unsqueeze(-1)


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
        Whether the channel gives ``h``. The receiver then sees, instead of
        ``y``, features that keep their information at every :math:`|h|`
        (:meth:`csi_features`): per use the matched-filter output and the gain
        divided by the message's total gain :math:`\sum_j |h_j|^2` (for
        ``n = 1`` the equalised :math:`y/h` and 1), and the phase of ``h``;
        and the mean gain, all bounded.
    fading : bool
        Whether a random gain multiplies the signal (fading without CSI).
        The receiver then sees the direction :math:`y/\|y\|` and the
        amplitude :math:`\|y\|/\sqrt n` (bounded) instead of ``y``
        (:meth:`gain_free_features`). Implied by ``csi``.
    hidden : int
        Width of the hidden layers.
    layers : int
        Hidden layers (2 by default; O'Shea & Hoydis use one of width ``M``).
    noise_input : bool
        Give the receiver the noise level: one more input feature,
        :math:`\log_{10} N_0` of each example (:meth:`noise_feature`), as the
        neural demapper of Sionna's end-to-end autoencoder tutorial takes it.
        Trained over a range of SNRs, a receiver without it sees only ``y``
        and learns outputs for an average noise level: its bit LLRs are then
        too small where the noise is weaker and too large where it is
        stronger. With it the LLRs can follow :math:`N_0`
        (``tests/test_receiver_noise_input.py``). ``forward`` then needs ``no``.

    Notes
    -----
    ``forward(y, h=None, no=None)``: ``y`` ``[B, n]`` complex64 (float32 when
    real), ``h`` ``[B, n]`` complex64 with CSI, ``no`` linear N0 (scalar or
    ``[B]``; read only with ``noise_input``); returns logits ``[B, M]`` or ``[B, k]``.
    """

    def __init__(
        self,
        k: int,
        n: int = 1,
        *,
        real: bool = False,
        output: Output = "symbol",
        csi: bool = False,
        fading: bool = False,
        hidden: int = 64,
        layers: int = 2,
        noise_input: bool = False,
    ) -> None:
        super().__init__()
        self.k = _check_positive_int(k, "k")
        self.n = _check_positive_int(n, "n")
        hidden = _check_positive_int(hidden, "hidden")
        layers = _check_positive_int(layers, "layers")
        if output not in ("symbol", "bit"):
            raise ValueError(f"output must be 'symbol' or 'bit', got {output!r}")
        if csi and real:
            raise ValueError("csi needs complex channel uses (the Rayleigh channel is complex)")
        self.output: Output = output
        if fading and real:
            raise ValueError("fading needs complex channel uses (the fading channels are complex)")
        self.csi = bool(csi)
        self.fading = bool(fading) or self.csi
        self.real = bool(real)
        per_use = 1 if real else 2
        in_features = 5 * self.n + 1 if self.csi else 2 * self.n + 1 if self.fading else self.n * per_use  # see csi_features, gain_free_features
        self.noise_input = bool(noise_input)
        in_features += self.noise_input  # log10 N0 (noise_feature)
        out_features = (1 << self.k) if output == "symbol" else self.k
        self.net = _mlp([in_features, *[hidden] * layers, out_features])

    #: :math:`R` of :meth:`csi_features`: the normalised matched-filter output is bounded by ``R`` (12 dB above the points' unit RMS).
    EQUALISED_BOUND = 4.0

    def forward(self, y: torch.Tensor, h: torch.Tensor | None = None, no: float | torch.Tensor | None = None) -> torch.Tensor:
        if self.csi:
            if h is None:
                raise ValueError("h must be given: this receiver was built for a channel with CSI")
            features = self.csi_features(y, h)
        elif self.fading:
            features = self.gain_free_features(y)
        else:
            features = complex_to_features(y).float()
        if self.noise_input:
            if no is None:
                raise ValueError("no must be given: this receiver takes the noise level as an input (noise_input=True)")
            features = torch.cat([features, self.noise_feature(no, features.shape[0], features.device)], dim=-1)
        return self.net(features)

    @staticmethod
    def noise_feature(no: float | torch.Tensor, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
        r""":math:`\log_{10} N_0` ``[size, 1]`` float32: the extra input of a receiver with ``noise_input``.

        ``no`` is linear N0, positive: a scalar or one value per example
        (``[size]`` or ``[size, 1]``). The logarithm keeps the feature of
        order one over any SNR range (Es/N0 from −10 to 30 dB gives 1 to −3),
        as in Sionna's demapper.
        """
        no = torch.as_tensor(no, dtype=torch.float32, device=device)
        if no.numel() not in (1, size):
            raise ValueError(f"no must be a scalar or one value per example ({size}), got shape {tuple(no.shape)}")
        if not bool((no > 0).all()):
            raise ValueError("no must be positive (linear N0)")
        return torch.log10(no).reshape(-1, 1).expand(size, 1)

    @staticmethod
    def gain_free_features(y: torch.Tensor) -> torch.Tensor:
        r"""The receiver's input over fading without CSI: ``y`` ``[B, n]`` complex to ``[B, 2n + 1]`` real.

        The direction :math:`y / \|y\|` (``2n``) and the RMS amplitude
        :math:`r = \|y\| / \sqrt n` as :math:`r / (1 + r)` (1, bounded as
        the gain of :meth:`csi_features`): one to one with ``y``, and a common
        gain :math:`h` (block fading) moves only the amplitude and a phase of
        the direction, so a deep fade keeps the information that ``y`` itself
        loses as it vanishes.
        """
        tiny = torch.finfo(y.real.dtype).tiny
        norm = torch.linalg.vector_norm(y, dim=-1, keepdim=True)
        direction = y / norm.clamp_min(tiny)
        amplitude = norm / y.shape[-1] ** 0.5
        return torch.cat([complex_to_features(direction), amplitude / (1 + amplitude)], dim=-1).float()

    @classmethod
    def csi_features(cls, y: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        r"""The receiver's input with CSI: ``y``, ``h`` ``[B, n]`` complex to ``[B, 5n + 1]`` real.

        With the message's total gain :math:`G = \sum_j |h_j|^2`, per use
        :math:`i`: the matched-filter output normalised by it,
        :math:`a_i = h_i^* y_i / G`, softly bounded (2 features, below); the
        share of the gain :math:`b_i = |h_i|^2 / G` (1); the phase
        :math:`h_i / |h_i|` (2); then the mean gain :math:`g = G / n` as
        :math:`g / (1 + g)` (1).

        Why these: over :math:`y = h x + w` the ML decision is
        :math:`\arg\max_s \sum_i 2\,\mathrm{Re}(s_i^* h_i^* y_i) - |s_i|^2 |h_i|^2`,
        and dividing by :math:`G > 0` leaves it unchanged:
        :math:`\arg\max_s \sum_i 2\,\mathrm{Re}(s_i^* a_i) - |s_i|^2 b_i`,
        linear in :math:`(a, b)`. Without the division these features
        (``h* y`` and ``|h|^2``, which the receiver had before) vanish as
        :math:`|h| \to 0`, and the MLP then answers one fixed message whatever
        was sent; divided, they do not change when all gains shrink together
        (noiseless, :math:`a_i = b_i x_i`; for ``n = 1``, :math:`a = y/h`, the
        zero-forcing output). A use in a deep fade beside a strong one gets
        :math:`a_i \approx 0`, :math:`b_i \approx 0`: it is ignored, as ML
        ignores it. :math:`g` (with the N0 the receiver does not know) only
        sets how sure the decision is.

        Every input is bounded, so that no fade takes the MLP where training
        never went. Where the whole message fades under noise, :math:`\|a\|`
        grows as :math:`\sqrt{N_0 / G}`; the receiver takes
        :math:`a / \sqrt{1 + \|a\|^2 / R^2}` with :math:`R` =
        :attr:`EQUALISED_BOUND` (4, 12 dB above the unit RMS of the points),
        which moves a point of amplitude 1.5 by 6 % and keeps
        :math:`\|a\| < 4`. The gain enters as :math:`g / (1 + g) < 1`:
        given as :math:`g`, a gain rarely seen in training (:math:`|h|^2 > 9`
        has probability :math:`10^{-4}`) misled the receiver, noiselessly
        wrong on 81 of 4096 messages at :math:`|h| = 3` and 3840 at 10 (the
        short n = 1 training of ``tests/test_deep_fade.py``). Each
        map is one to one, and with the phases and the gains the features
        give back ``y`` and ``h`` (which a PA, phase noise or an ADC may need).
        """
        tiny = torch.finfo(h.real.dtype).tiny
        size = h.abs()
        top = size.amax(-1, keepdim=True)  # scale by the strongest use first: nothing below underflows, at any |h| > 0
        unit = h / top.clamp_min(tiny)
        total = unit.abs().pow(2).sum(-1, keepdim=True).clamp_min(tiny)  # G / top^2, in [1, n] where h != 0
        matched = torch.conj(unit) * y  # h* y / top
        # a / sqrt(1 + |a|^2/R^2) with a = h* y / G = matched / (top total), written so that nothing overflows
        norm = torch.linalg.vector_norm(matched, dim=-1, keepdim=True)
        a = cls.EQUALISED_BOUND * matched / torch.hypot(cls.EQUALISED_BOUND * top * total, norm).clamp_min(tiny)
        share = unit.abs().pow(2) / total
        phase = h / size.clamp_min(tiny)
        gain = size.pow(2).mean(-1, keepdim=True)  # G / n
        return torch.cat([complex_to_features(a), share, complex_to_features(phase), gain / (1 + gain)], dim=-1).float()


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
    rx_layers : int
        Hidden layers of the receiver (the transmitter has one). O'Shea &
        Hoydis's architecture is ``hidden = M``, ``rx_layers = 1``.
    normalization : {"batch", "message", "amplitude"}, optional
        Power constraint, see :class:`Transmitter` [default: the channel's
        :attr:`~commae.channels.Channel.default_normalization`: ``"message"``
        where the receiver lacks a fading gain, ``"batch"`` otherwise, as
        ``commae train`` and :class:`SystemConfig` choose].
    constellation : bool
        Learn the ``n = 1`` constellation points directly, from Gray QAM or PSK (see :class:`Transmitter`).
    shaping : {"geometric", "probabilistic", "joint"}
        Learn the points, the message probabilities, or both (see
        :class:`Transmitter`); needs ``normalization="batch"``, which it
        selects when ``normalization`` is None.
    noise_input : bool
        The receiver takes the noise level :math:`\log_{10} N_0` as an input
        (:class:`Receiver`); the model then hands it ``no`` in :meth:`forward`,
        :meth:`receive` and :meth:`bit_llrs`, which must be given.

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
        normalization: Normalization | None = None,
        constellation: bool = False,
        rx_layers: int = 2,
        shaping: Shaping = "geometric",
        noise_input: bool = False,
    ) -> None:
        super().__init__()
        channel = AWGN(real=real) if channel is None else channel
        if not isinstance(channel, Channel):
            raise ValueError(f"channel must be a commae Channel (AWGN, Rayleigh, a Cascade, a Channel subclass), got {type(channel).__name__}")
        if normalization is None:
            normalization = channel.default_normalization if shaping == "geometric" else "batch"
        if channel.real != bool(real):
            raise ValueError(f"channel must match real={real}: use AWGN(real={real})" + ("; Rayleigh needs complex uses" if real else ""))
        self.transmitter = Transmitter(k, n, real=real, hidden=hidden, normalization=normalization, constellation=constellation, shaping=shaping)
        self.channel = channel
        self.receiver = Receiver(k, n, real=real, output=output, csi=channel.csi, fading=channel.fading is not None, hidden=hidden, layers=rx_layers, noise_input=noise_input)
        self.k, self.n = self.transmitter.k, self.transmitter.n
        self.bits_per_symbol = self.k
        self.num_messages = self.transmitter.num_messages
        self.output: Output = output
        self.real = bool(real)

    def state_problem(self, state: Mapping[str, torch.Tensor]) -> str | None:
        """Why ``state`` (a state dict read from disk) cannot be this model's, where the reason is known; else None.

        A receiver over fading saved before its features changed (issue 22:
        ``y``, ``h``, ``h* y``, ``|h|^2`` with CSI, ``y`` alone without, which
        fail in deep fades) has a first layer of that older width; it cannot
        be read into the present receiver, and the run must be trained again.
        """
        first = state.get("receiver.net.0.weight")
        rx = self.receiver
        if not rx.fading or not isinstance(first, torch.Tensor) or first.ndim != 2:
            return None
        older = 7 * rx.n if rx.csi else 2 * rx.n
        if first.shape[1] == older and older != rx.net[0].in_features:
            inputs = "y, h, h*y and |h|^2" if rx.csi else "y alone"
            return f"saved by an older commae, whose receiver over fading read {inputs} (which fail in deep fades); this receiver reads other inputs and cannot load it: train the run again"
        return None

    def message_probabilities(self) -> torch.Tensor | None:
        """How often each message (= its bit label) is sent, ``[M]`` float64, detached; None when equiprobable (geometric shaping).

        The engine (:func:`commae.simulation.simulate`) and the MI estimators draw the messages from it.
        """
        p = self.transmitter.probabilities()
        return None if p is None else p.detach().double()

    def forward(self, messages: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor:
        x = self.transmitter(messages)
        y, h = split_channel_output(self.channel, self.channel(x, no, generator=generator))
        return self.logits(y, h, no)

    @property
    def noise_input(self) -> bool:
        """Whether the receiver takes the noise level as an input (``noise_input``): its outputs, and so its decisions, then depend on N0."""
        return bool(getattr(self.receiver, "noise_input", False))

    def logits(self, y: torch.Tensor, h: torch.Tensor | None = None, no: float | torch.Tensor | None = None) -> torch.Tensor:
        """The receiver's logits for received ``y`` (and CSI ``h``): ``no`` goes to a receiver that takes the noise level (``noise_input``), not to one that does not (a receiver swapped in by the user keeps its ``forward(y, h)``)."""
        if self.noise_input:
            return self.receiver(y, h, no)
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
        """Received ``[B, n]`` (and CSI) at linear ``no`` (needed with ``noise_input``) to hard bit decisions ``[B, k]``."""
        logits = self.logits(y, h, no)
        if self.output == "bit":
            return (logits > 0).to(torch.float32)
        return int_to_bits(logits.argmax(-1), self.k)

    def constellation(self) -> Constellation:
        """The learned points as a fixed :class:`~commae.constellations.Constellation` (``n = 1`` complex only)."""
        if self.n != 1 or self.real:
            raise ValueError("constellation() needs n=1 complex channel use; use transmitter.all_symbols() for n > 1")
        with torch.no_grad():
            pts = self.transmitter.all_symbols()[:, 0].cpu()
            p = self.message_probabilities()
        return Constellation(pts, torch.arange(self.num_messages), probabilities=None if p is None else p.cpu())

    def extra_repr(self) -> str:
        shaping = "" if self.transmitter.shaping == "geometric" else f", shaping={self.transmitter.shaping!r}"
        noise = ", noise_input=True" if self.noise_input else ""
        return f"k={self.k}, n={self.n}, output={self.output!r}, real={self.real}{shaping}{noise}"

    def bit_llrs(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        r"""Bit LLRs ``ln P(b=1|y)/P(b=0|y)`` ``[B, k]`` for a coded link (:class:`~commae.bicm.BICM`); ``no`` is read only by a receiver with ``noise_input``.

        A bit-wise receiver's logits are these LLRs (BCE trains them so). A
        symbol-wise one's log-softmax is the log-posterior of each message;
        bit ``j`` gets :math:`\ln\sum_{m: b_j(m)=1} P(m|y) - \ln\sum_{m: b_j(m)=0} P(m|y)` (logsumexp).
        """
        logits = self.logits(y, h, no).float()
        if self.output == "bit":
            return logits
        labels = int_to_bits(torch.arange(self.num_messages, device=logits.device), self.k).bool().T  # [k, M]
        ones = torch.nonzero(labels)[:, 1].view(self.k, -1)  # [k, M/2]: the messages whose bit j is 1
        zeros = torch.nonzero(~labels)[:, 1].view(self.k, -1)
        log_p = logits.log_softmax(-1)
        return log_p[:, ones].logsumexp(-1) - log_p[:, zeros].logsumexp(-1)


CHANNELS = ("awgn", "rayleigh", "rician")


def make_channel(
    channel: str = default("channel"),
    *,
    real: bool = default("real"),
    fading: str = default("fading"),
    csi: bool = default("csi"),
    k_factor: float | None = default("k_factor"),
    phase_noise: float = default("phase_noise"),
    phase_noise_model: str = default("phase_noise_model"),
    adc_bits: int | None = default("adc_bits"),
    adc_clip: float = default("adc_clip"),
    pa: str | None = default("pa"),
    pa_smoothness: float = default("pa_smoothness"),
    pa_saturation: float = default("pa_saturation"),
    pa_backoff: float = default("pa_backoff"),
) -> Channel:
    """A channel by name, with optional impairments in the order PA → fading/noise → phase noise → ADC.

    ``channel``: ``"awgn"`` (complex, or real when ``real``), ``"rayleigh"`` or
    ``"rician"`` (with ``k_factor``, linear), each with ``fading`` and ``csi``.
    ``phase_noise`` (rad, > 0 adds :class:`~commae.channels.PhaseNoise` of
    ``phase_noise_model``), ``adc_bits`` (adds an :class:`~commae.channels.ADC`
    with ``adc_clip``), ``pa="rapp"`` (adds a :class:`~commae.channels.RappPA`
    with ``pa_smoothness``, ``pa_saturation``, ``pa_backoff`` in dB). Without
    impairments the channel is the bare stage, so its numbers and name are
    those of ``AWGN``/``Rayleigh``.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be 'awgn' or 'rayleigh', or 'rician' with k_factor, got {channel!r}")
    if channel == "rician" and k_factor is None:
        raise ValueError("channel must be 'awgn' or 'rayleigh', or 'rician' with k_factor (linear K >= 0); got 'rician' without k_factor")
    if channel != "awgn" and real:
        raise ValueError(f"channel {channel!r} needs complex channel uses (drop real)")
    if k_factor is not None and channel != "rician":
        raise ValueError(f"k_factor (linear) applies to channel 'rician' only, got channel {channel!r}")
    if channel == "awgn":
        base: Channel = AWGN(real=real)
    elif channel == "rayleigh":
        base = Rayleigh(fading=fading, csi=csi)  # type: ignore[arg-type]
    else:
        base = Rician(k_factor, fading=fading, csi=csi)  # type: ignore[arg-type]
    stages: list[Channel] = []
    if pa is not None:
        if pa != "rapp":
            raise ValueError(f"pa must be 'rapp' or None, got {pa!r}")
        stages.append(RappPA(pa_smoothness, pa_saturation, pa_backoff, real=real))
    stages.append(base)
    if phase_noise:
        if real:
            raise ValueError("phase noise needs complex channel uses (drop real)")
        stages.append(PhaseNoise(phase_noise, phase_noise_model))  # type: ignore[arg-type]
    if adc_bits is not None:
        stages.append(ADC(adc_bits, adc_clip, real=real))
    return base if len(stages) == 1 else Cascade(*stages)


@dataclass_of("system")
class SystemConfig:
    """What an autoencoder is: sizes, channel, receiver output and inputs (``noise_input``), widths, power constraint.

    ``build()`` makes the :class:`Autoencoder`; a run stores ``dataclasses.asdict``
    of it in ``config.json`` and rebuilds the model from it. Each field is an
    option of :mod:`commae.config` (``"system"``), which holds its default,
    limits, unit and meaning; the fields keep config.json's order.
    """

    k: int = default("k")
    n: int = default("n")
    real: bool = default("real")
    channel: str = default("channel")
    fading: str = default("fading")
    csi: bool = default("csi")
    output: str = default("output")
    hidden: int = default("hidden")
    normalization: str | None = default("normalization")  # None: the channel's default, set in __post_init__
    constellation: bool = default("constellation")
    # impairments (see make_channel); the defaults add none
    k_factor: float | None = default("k_factor")
    phase_noise: float = default("phase_noise")
    phase_noise_model: str = default("phase_noise_model")
    adc_bits: int | None = default("adc_bits")
    adc_clip: float = default("adc_clip")
    pa: str | None = default("pa")
    pa_smoothness: float = default("pa_smoothness")
    pa_saturation: float = default("pa_saturation")
    pa_backoff: float = default("pa_backoff")
    rx_layers: int = default("rx_layers")
    shaping: str = default("shaping")
    noise_input: bool = default("noise_input")

    def __post_init__(self) -> None:
        if self.normalization is None:  # as Autoencoder and commae train: per message where the receiver lacks a fading gain; the average under p when shaped
            self.normalization = self.make_channel().default_normalization if self.shaping == "geometric" else "batch"

    def make_channel(self) -> Channel:
        return make_channel(
            self.channel,
            real=self.real,
            fading=self.fading,
            csi=self.csi,
            k_factor=self.k_factor,
            phase_noise=self.phase_noise,
            phase_noise_model=self.phase_noise_model,
            adc_bits=self.adc_bits,
            adc_clip=self.adc_clip,
            pa=self.pa,
            pa_smoothness=self.pa_smoothness,
            pa_saturation=self.pa_saturation,
            pa_backoff=self.pa_backoff,
        )

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
            rx_layers=self.rx_layers,
            shaping=self.shaping,  # type: ignore[arg-type]
            noise_input=self.noise_input,
        )
