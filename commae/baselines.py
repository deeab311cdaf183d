r"""Hand-designed baselines, each a :class:`~commae.system.System`.

* :class:`Modem` — QAM/PSK/PAM (any :class:`~commae.constellations.Constellation`):
  ML hard decisions and soft LLRs, exact APP or max-log.
* :class:`Hamming74` — the (7,4) Hamming code with BPSK: systematic encoder,
  syndrome (hard) decoding or soft maximum-likelihood decoding.
* :class:`UncodedBPSK` — blocks of ``K`` uncoded BPSK bits.
* :class:`MaxwellBoltzmannModem` — Gray square QAM sent with Maxwell–Boltzmann
  probabilities :math:`P(x) \propto e^{-\nu|x|^2}` at a fixed :math:`\nu`
  (``qamM-mb:NU``), and :class:`BestMaxwellBoltzmannModem`, whose
  :math:`\nu` is chosen for the MI (or the BMD rate) at each SNR it runs at
  (``qamM-mb``, ``qamM-mb-bmi``): it answers :meth:`~BestMaxwellBoltzmannModem.at_esno`
  with the modem of that SNR, which the engine and ``commae info`` ask
  (:func:`commae.system.at_esno`).

Over fading with CSI every receiver is coherent: it uses the known gains
``h`` in its metric. Without CSI a coherent receiver treats ``h`` as 1 (no
equaliser); :class:`PilotModem` estimates it from a pilot instead, and
:func:`matching_baseline` picks it wherever the channel is not
:attr:`~commae.channels.Channel.coherent`. Each baseline answers for itself
what the engine and the reports need: ``closed_form`` (the keywords of
:func:`commae.theory.system_rates` that describe it; with its channel's
:attr:`~commae.channels.Channel.closed_form` they give its closed-form
rates) and ``exact_posterior`` (whether its ``symbol_logits`` are the exact
posterior, so that k − CE/ln 2 estimates its MI). :func:`receiver_logits`
gives the posterior of the message given what the receiver decides from:
``symbol_logits`` (the received samples) for every baseline but Hamming
(7,4) with hard decisions, whose decoder sees only the 7 hard bits. LLRs follow the convention :math:`\mathrm{LLR} = \ln P(b{=}1|y)/P(b{=}0|y)`,
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
from typing import Literal

import torch
from torch import nn

from ._names import BASELINE_NAMES, is_baseline_name, maxwell_boltzmann_name, unknown_baseline
from .channels import AWGN, Channel, broadcast_no
from .constellations import Constellation, apsk, check_bits, int_to_bits, maxwell_boltzmann, pam, psk, qam

__all__ = [
    "Modem",
    "Hamming74",
    "UncodedBPSK",
    "PilotModem",
    "MaxwellBoltzmannModem",
    "BestMaxwellBoltzmannModem",
    "matching_baselines",
    "has_exact_posterior",
    "receiver_logits",
    "bpsk_metric",
    "matching_baseline",
    "make_baseline",
    "is_baseline_name",
    "BASELINE_NAMES",
]


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

    A shaped constellation (points with probabilities, e.g.
    :func:`~commae.constellations.maxwell_boltzmann`) makes a probabilistically
    shaped modem: its messages are drawn from those probabilities
    (:meth:`message_probabilities`, which the engine asks), and its receiver
    is the MAP detector: :meth:`symbol_logits` add :math:`\ln p(s)` to the
    log-likelihoods, decisions are :math:`\arg\max_s \ln p(s) - |y - hs|^2/N_0`
    (so :meth:`receive` needs ``no``), and the LLRs are the APP LLRs with that
    prior. Its Eb/N0 counts the ``log2 M`` label bits of a symbol, not the
    :math:`H(X)` it carries.

    On a channel that is not :attr:`~commae.channels.Channel.linear_gaussian`
    (a :class:`~commae.channels.Cascade` with a PA, phase noise or an ADC, a
    channel of your own) the modem knows the channel model: decisions and
    ``symbol_logits`` use the channel's
    :meth:`~commae.channels.Channel.log_likelihood`,
    :math:`\hat s = \arg\max_s p(y \mid s)`, the ML detector of that channel
    (the slicer above is ML only for AWGN and coherent fading). A channel
    without a likelihood falls back to the nearest point after equalisation.
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
        self._impaired = not self.channel.linear_gaussian  # the slicer is not this channel's ML detector
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

    @property
    def exact_posterior(self) -> bool:
        """Whether :meth:`symbol_logits` is the exact symbol posterior on its channel.

        True over a :attr:`~commae.channels.Channel.coherent` channel whose law
        the modem evaluates: the Euclidean metric of a linear-Gaussian one, or
        the channel's likelihood. False where a gain is unknown (the metric
        would take ``h = 1``) or the channel has no likelihood.
        """
        channel = self.channel
        return channel.coherent and (channel.linear_gaussian or channel.has_likelihood)

    @property
    def closed_form(self) -> dict[str, object] | None:
        """The keywords of :func:`commae.theory.system_rates` for this modem: ``system="modem"``, the constellation's kind and size, ``m``; None when shaped (theory has equiprobable points)."""
        if self.constellation.shaped:
            return None
        return {"system": "modem", "kind": self.constellation.kind, "M": self.constellation.num_points, "m": self.n}

    @property
    def fast_path(self) -> str | None:
        """The engine's fast error counter that computes exactly this system's errors (``"modem"``), or None.

        The counter runs Gray QAM, PAM and PSK over a :attr:`~commae.channels.Channel.linear_gaussian` channel. A subclass gets None: it may change what it sends or decides; so does a shaped modem (MAP, not the slicer).
        """
        return "modem" if type(self) is Modem and not self.constellation.shaped else None

    def message_probabilities(self) -> torch.Tensor | None:
        """How often each of the ``2**k`` messages is sent, ``[2**k]`` float64 by message label (bits MSB first); None when equiprobable.

        A message of ``m`` symbols is ``m`` independent symbols, so its
        probability is the product of theirs (the first symbol's label in the
        most significant bits).
        """
        if not self.constellation.shaped:
            return None
        if self.k > 24:
            raise ValueError(f"a shaped modem enumerates its 2**k message probabilities; k = {self.k} is too many (at most 24)")
        per_symbol = self.constellation.label_probabilities.detach()
        out = per_symbol
        for _ in range(self.n - 1):
            out = torch.outer(out, per_symbol).flatten()
        return out

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
        """Log-likelihoods ``-|y - h s|^2 / N0`` of every point (plus ``ln p(s)`` when shaped): received ``[B, m]`` to ``[B, m, M]``.

        Column ``j`` is the point whose bit label is the integer ``j``; their
        softmax is the exact symbol posterior (with the prior of a shaped
        constellation, which is why it is added).
        """
        c = self.constellation
        if self._impaired:
            ll = self.channel.log_likelihood(y, c.points, no, h)
            if ll is not None:
                return self._with_prior(ll[..., c.index_of_label].float())
        if not y.is_complex():
            y = torch.complex(y, torch.zeros_like(y))
        no = broadcast_no(no, y)
        hh = torch.ones_like(y) if h is None else h
        by_label = c.points[c.index_of_label]
        return self._with_prior(-(y[..., None] - hh[..., None] * by_label).abs().pow(2) / no[..., None])

    def _with_prior(self, log_likelihood: torch.Tensor) -> torch.Tensor:
        """``log_likelihood`` ``[..., M]`` (columns by label) plus ``ln p(s)`` when the constellation is shaped."""
        if not self.constellation.shaped:
            return log_likelihood
        return log_likelihood + torch.log(self.constellation.label_probabilities).to(log_likelihood.dtype)

    def receive(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        """ML (MAP when shaped) hard decisions: received ``[B, m]`` to bits ``[B, k]`` (``no`` is needed on an impaired channel and by a shaped modem only)."""
        _check_received(y, self.n)
        c = self.constellation
        if c.shaped:  # MAP: the prior moves the decision regions
            if no is None:
                raise ValueError("no must be given: a shaped modem decides by MAP, which weighs the prior against N0")
            label = self.symbol_logits(y, no, h).argmax(-1)  # [B, m], columns by label
            return c.indices_to_bits(c.index_of_label[label])
        if self._impaired and no is not None:
            ll = self.channel.log_likelihood(y, c.points, no, h)
            if ll is not None:
                return c.indices_to_bits(ll.argmax(-1))
        return c.indices_to_bits(self.decide(y, h))

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

    def bit_llrs(self, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """The demapper of a coded link (:class:`~commae.bicm.BICM`): :meth:`llr` ``[B, k]`` by :attr:`demapping` (exact APP or max-log)."""
        return self.llr(y, no, h)


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

    @property
    def exact_posterior(self) -> bool:
        """Whether :meth:`symbol_logits` is the exact codeword posterior: on a linear-Gaussian, coherent channel."""
        return self.channel.linear_gaussian and self.channel.coherent

    @property
    def closed_form(self) -> dict[str, object] | None:
        """The keywords of :func:`commae.theory.system_rates` for hard decoding (``system="hamming74_hard"``); None for soft decoding."""
        return {"system": "hamming74_hard"} if self.decoder == "hard" else None

    @property
    def fast_path(self) -> str | None:
        """The engine's fast error counter that computes exactly this system's errors (``"hamming74"``), or None.

        The counter runs hard and soft decoding over a :attr:`~commae.channels.Channel.linear_gaussian` channel. A subclass gets None: it may change what it sends or decides.
        """
        return "hamming74" if type(self) is Hamming74 else None

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
        r"""Codeword log-likelihoods up to a common constant, ``[B, 1, 16]``: ``2 Re(h* y)·x(c) / N0``.

        :math:`-|y_j - h_j x_j|^2/N_0 = 2\,\mathrm{Re}(h_j^* y_j)\,x_j/N_0` plus terms
        that do not depend on the codeword (:math:`x_j^2 = 1`); the same holds on a
        real channel, where each use has noise variance :math:`N_0/2`. Their softmax is
        the exact posterior of the 16 equiprobable messages (index = message bits, MSB first).
        """
        metric = bpsk_metric(y, h).to(self.codeword_symbols.dtype)  # [B, 7]
        no = broadcast_no(no, metric)
        return (2 * (metric / no) @ self.codeword_symbols.T).unsqueeze(1)

    def hard_decision_logits(self, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        r"""Codeword log-posteriors given only the 7 hard decisions (and the gains), up to a common constant, ``[B, 1, 16]``.

        What a hard-decision decoder knows: bit :math:`j` is decided wrong with
        probability :math:`p_j = Q(|h_j|\sqrt{2/N_0})` (BPSK, noise
        :math:`N_0/2` on the in-phase axis), independently, so with
        :math:`s_j = \pm 1` the hard decision and
        :math:`L_j = \ln\frac{1-p_j}{p_j}`,
        :math:`\ln P(r \mid c) = \sum_j \tfrac12 s_j x_j(c) L_j` plus terms common to all codewords.
        Their softmax is the exact posterior of the message given the hard
        decisions: k − CE/ln 2 with it estimates :math:`I(M; \hat r)`, the
        information a hard-decision decoder can use (below the soft one's).
        """
        metric = bpsk_metric(y, h).to(torch.float64)  # [B, 7]
        gain = torch.ones_like(metric) if h is None else h.abs().to(torch.float64)
        a = gain * torch.sqrt(2.0 / broadcast_no(no, metric))
        reliability = torch.special.log_ndtr(a) - torch.special.log_ndtr(-a)  # ln((1 - p) / p), >= 0
        signs = torch.where(metric < 0, -1.0, 1.0).to(torch.float64)  # the hard decision as a BPSK symbol (receive's: bit 1 where metric < 0)
        return ((signs * reliability / 2) @ self.codeword_symbols.T.to(torch.float64)).unsqueeze(1)

    def receiver_logits(self, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """The posterior of the message given what this decoder sees: :meth:`symbol_logits` (soft), :meth:`hard_decision_logits` (hard)."""
        return self.hard_decision_logits(y, no, h) if self.decoder == "hard" else self.symbol_logits(y, no, h)

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

    @property
    def exact_posterior(self) -> bool:
        """Whether :meth:`symbol_logits` is each bit's exact posterior: on a linear-Gaussian, coherent channel."""
        return self.channel.linear_gaussian and self.channel.coherent

    @property
    def closed_form(self) -> dict[str, object]:
        """The keywords of :func:`commae.theory.system_rates`: ``system="uncoded_bpsk"`` with ``K`` bits a block."""
        return {"system": "uncoded_bpsk", "K": self.k}

    @property
    def fast_path(self) -> str | None:
        """The engine's fast error counter that computes exactly this system's errors (``"uncoded_bpsk"``), or None.

        The counter runs it over a :attr:`~commae.channels.Channel.linear_gaussian` channel. A subclass gets None: it may change what it sends or decides.
        """
        return "uncoded_bpsk" if type(self) is UncodedBPSK else None

    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``[B, K]`` to BPSK symbols ``1 - 2b``, ``[B, K]``."""
        check_bits(bits, self.k)
        x = (1 - 2 * bits).to(torch.float32)
        return x if self.channel.real else torch.complex(x, torch.zeros_like(x))

    def symbol_logits(self, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """Log-likelihoods of each bit's two values, ``[B, K, 2]`` (column = the bit): ``±2 Re(h* y) / N0``.

        Up to a term common to both values; their softmax is the exact posterior of each bit.
        """
        metric = bpsk_metric(y, h).to(torch.float32)  # [B, K]
        half = metric / broadcast_no(no, metric)
        return torch.stack([2 * half, -2 * half], dim=-1)

    def receive(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        """Received ``[B, K]`` to hard bit decisions ``[B, K]``."""
        _check_received(y, self.n)
        return (bpsk_metric(y, h) < 0).to(torch.float32)


class PilotModem(nn.Module):
    r"""Pilot-aided coherent detection over block fading without CSI: one pilot, then data symbols.

    The first channel use of each message carries the known pilot
    :math:`p = 1`; the other ``n - 1`` carry symbols of ``constellation``.
    The receiver estimates the block's gain by least squares,
    :math:`\hat h = y_1 / p`, and decides each data symbol by
    :math:`\arg\min_s |y_j - \hat h s|^2` — what a receiver without CSI does
    in practice, and what a learned transmitter can rediscover. The pilot costs
    energy and one channel use, both counted in Eb/N0 (``k = (n-1) log2 M``
    bits in ``n`` uses, average energy 1 per use).

    Parameters
    ----------
    constellation : Constellation
        Data symbols, e.g. ``qam(16)``.
    channel : Channel
        Normally block fading without CSI (``Rayleigh("block", csi=False)``,
        ``Rician(K, "block", csi=False)``); over AWGN ``h = 1`` and the
        estimate only adds noise.
    data_symbols : int
        ``n - 1`` data symbols per message.

    It has no closed-form rates and no symbol posterior (``exact_posterior``
    is False): the estimate is not the channel's law.
    """

    exact_posterior = False

    def __init__(self, constellation: Constellation, channel: Channel | None = None, data_symbols: int = 1, name: str | None = None) -> None:
        super().__init__()
        self.data = Modem(constellation, channel=AWGN(), symbols_per_message=data_symbols)
        self.channel = _default_channel(channel)
        if self.channel.real:
            raise ValueError("a pilot modem needs complex channel uses")
        self.n = data_symbols + 1
        self.k = self.data.k
        self.bits_per_symbol = self.data.bits_per_symbol
        self.name = name or "pilot-" + {"qam4": "qpsk", "psk2": "bpsk"}.get(self.data.name, self.data.name)

    closed_form = None  # theory has no closed form of pilot-aided detection

    def transmit(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``[B, k]`` to ``[pilot, data symbols]`` ``[B, n]`` (complex64)."""
        x = self.data.transmit(bits)
        return torch.cat([torch.ones_like(x[:, :1]), x], dim=-1)

    def receive(self, y: torch.Tensor, no: float | torch.Tensor | None = None, h: torch.Tensor | None = None) -> torch.Tensor:
        """Received ``[B, n]`` to bits ``[B, k]``, with the gain estimated from the pilot (``h`` is ignored)."""
        _check_received(y, self.n)
        estimate = y[:, :1].expand(-1, self.n - 1)  # [B, n-1]: LS estimate of the block's gain
        return self.data.receive(y[:, 1:], no, estimate)


class MaxwellBoltzmannModem(Modem):
    r"""Gray square ``M``-QAM sent with Maxwell–Boltzmann probabilities :math:`P(x) \propto e^{-\nu|x|^2}` at a fixed :math:`\nu`.

    A :class:`Modem` of :func:`~commae.constellations.maxwell_boltzmann`
    ``(qam(M), nu)``: unit average energy under :math:`P`, messages drawn from
    :math:`P` (:meth:`~Modem.message_probabilities`), MAP decisions and APP
    LLRs with the prior. :math:`\nu` is measured on the equiprobable
    unit-energy grid, so it is scale-free; ``nu = 0`` is equiprobable QAM
    (whose MAP detector is the ML one). Its Eb/N0 counts the ``log2 M`` label
    bits of a symbol, not the :math:`H(X)` it carries. The baseline
    ``qamM-mb:NU``; :class:`BestMaxwellBoltzmannModem` chooses :math:`\nu` for
    the SNR.

    Parameters
    ----------
    M : int
        Points: a square power of two (16, 64, 256, ...).
    nu : float
        :math:`\nu \ge 0`.
    channel : Channel, optional
        Default complex :class:`AWGN`.
    symbols_per_message : int
        As :class:`Modem`'s.
    name : str, optional
        [default: ``qamM-mb:NU``]

    Examples
    --------
    >>> modem = MaxwellBoltzmannModem(16, 0.8)
    >>> modem.name, modem.nu, round(modem.constellation.entropy_bits, 4)
    ('qam16-mb:0.8', 0.8, 3.8595)
    >>> levels, p = modem.amplitude_probabilities()   # |x_I| (and |x_Q|) in units of half the grid spacing
    >>> levels.tolist(), [round(v, 4) for v in p.tolist()]
    ([1, 3], [0.6548, 0.3452])
    """

    def __init__(self, M: int, nu: float, channel: Channel | None = None, symbols_per_message: int = 1, name: str | None = None) -> None:
        grid = qam(M)  # refuses an M that is not a square power of two
        energy = grid.points.abs().double() ** 2
        if isinstance(nu, (int, float)) and not isinstance(nu, bool) and nu * float(energy.max() - energy.min()) > 700:
            raise ValueError(
                f"nu = {nu:g} is too large for {M}-QAM: its outer points would be sent with probability below exp(-700), at the end of float64's range; take nu below {700 / float(energy.max() - energy.min()):.0f}"
            )
        super().__init__(maxwell_boltzmann(grid, nu), channel, symbols_per_message=symbols_per_message, name=name or f"qam{M}-mb:{nu:g}")
        self.nu = float(nu)
        # |Re s| of each point on the equiprobable grid, in units of half its spacing: 1, 3, 5, ...
        re = grid.points.real.abs().double()
        self.register_buffer("_amplitude", torch.round(re / re.min()).to(torch.int64), persistent=False)

    def amplitude_probabilities(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The per-axis amplitudes and their probabilities, which make up :math:`P`.

        Square QAM's :math:`P(x) = P(x_I)\,P(x_Q)` with :math:`P(a) \propto
        e^{-\nu a^2}` on each axis, so the law is given by the probabilities of
        the amplitudes :math:`|x_I| = 1, 3, \dots, \sqrt M - 1` (half spacings of
        the grid), each sign half of it: what probabilistic amplitude shaping
        (Böcherer, Steiner & Schulte 2015) sends.

        Returns
        -------
        (Tensor, Tensor)
            The amplitudes ``[sqrt(M)/2]`` int64 and ``P(|x_I| = a)`` ``[sqrt(M)/2]`` float64, summing to 1.
        """
        levels = torch.unique(self._amplitude)
        p = self.constellation.probabilities.to(self._amplitude.device)
        per_level = torch.stack([p[self._amplitude == a].sum() for a in levels])
        return levels.cpu(), (per_level / per_level.sum()).cpu()


class BestMaxwellBoltzmannModem:
    r"""Maxwell–Boltzmann square QAM whose :math:`\nu` is chosen for the SNR it runs at: the one that maximises its MI (or BMD rate) there.

    The classical probabilistic-shaping baseline (``qamM-mb``, ``qamM-mb-bmi``).
    It is a family of modems, one per SNR: :meth:`at_esno` gives the
    :class:`MaxwellBoltzmannModem` at Es/N0 ``esno_db`` (dB per channel use),
    with the :math:`\nu` that ``search`` finds there, remembered per SNR. The
    engine (:func:`commae.simulation.simulate`, through
    :func:`commae.system.at_ebno`) and ``commae info`` ask it at each point, so
    each point of a curve or table has its own :math:`\nu` (its rows say which).
    Used as a modem without an SNR it refuses with a one-line error.

    Parameters
    ----------
    M : int
        Points: 16, 64, 256, ... (square Gray QAM).
    search : callable
        ``search(M, esno_db, metric=metric) -> (Constellation, nu)``: normally
        :func:`commae.information.best_maxwell_boltzmann` (MI or BMD rate by
        quadrature, bounded 1-D search; passed in because the MI is computed
        in :mod:`commae.information`, a layer above the baselines).
    metric : {"mi", "bmi"}
        What :math:`\nu` maximises: the MI (symbol-metric decoding) or the BMD
        rate :math:`H(X) - \sum_b H(C_b|Y)` (bit-metric decoding).
    channel : Channel, optional
        Complex AWGN (default): the search maximises the MI over AWGN, so on
        another channel its :math:`\nu` would not be the best one there; give
        a fixed :math:`\nu` (:class:`MaxwellBoltzmannModem`, ``qamM-mb:NU``) instead.
    name : str, optional
        [default: ``qamM-mb`` or ``qamM-mb-bmi``]

    Examples
    --------
    >>> from commae.information import best_maxwell_boltzmann
    >>> family = BestMaxwellBoltzmannModem(16, best_maxwell_boltzmann)
    >>> modem = family.at_esno(10.0)
    >>> modem.name, round(modem.nu, 3), round(modem.constellation.entropy_bits, 4)
    ('qam16-mb', 0.834, 3.8479)
    >>> family.at_esno(10.0) is modem
    True
    """

    n = 1
    closed_form = None  # theory has equiprobable points
    fast_path = None  # MAP with a prior: not the slicer's counter

    def __init__(self, M: int, search, metric: Literal["mi", "bmi"] = "mi", channel: Channel | None = None, name: str | None = None) -> None:
        qam(M)  # refuses an M that is not a square power of two
        if metric not in ("mi", "bmi"):
            raise ValueError(f"metric must be 'mi' or 'bmi', got {metric!r}")
        if not callable(search):
            raise ValueError(f"search must be a callable (M, esno_db, metric=...) -> (Constellation, nu), e.g. commae.information.best_maxwell_boltzmann, got {type(search).__name__}")
        self.channel = _default_channel(channel)
        self.name = name or (f"qam{M}-mb" if metric == "mi" else f"qam{M}-mb-bmi")
        if self.channel.real or not self.channel.linear_gaussian or self.channel.fading is not None:
            raise ValueError(f"{self.name} chooses nu for complex AWGN, not {self.channel.name}: give a fixed nu there, e.g. qam{M}-mb:0.5")
        self.num_points = int(M)
        self.k = self.bits_per_symbol = int(math.log2(M))
        self.metric: Literal["mi", "bmi"] = metric
        self.search = search
        self._modems: dict[float, MaxwellBoltzmannModem] = {}

    def at_esno(self, esno_db: float) -> MaxwellBoltzmannModem:
        """The modem at Es/N0 ``esno_db`` (dB per channel use): Maxwell–Boltzmann QAM with the :math:`\\nu` that ``search`` finds there (the same object for the same SNR)."""
        key = float(esno_db)
        if not math.isfinite(key):
            raise ValueError(f"esno_db must be a finite number of dB, got {esno_db!r}")
        modem = self._modems.get(key)
        if modem is None:
            _, nu = self.search(self.num_points, key, metric=self.metric)
            modem = self._modems[key] = MaxwellBoltzmannModem(self.num_points, float(nu), self.channel, name=self.name)
        return modem

    def _no_snr(self, *args: object, **kwargs: object) -> None:
        raise ValueError(f"{self.name} chooses nu at the SNR it runs at: ask at_esno(esno_db) for its modem there (simulate and commae info do), or use a fixed nu, qam{self.num_points}-mb:NU")

    transmit = receive = symbol_logits = message_probabilities = _no_snr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(M={self.num_points}, metric={self.metric!r}, channel={self.channel.name!r})"


def matching_baseline(k: int, n: int, channel: Channel | None = None) -> nn.Module | None:
    """The classic system with the same ``(k, n)`` and channel, to compare a learned one with.

    ``(4, 7)`` is the Hamming (7,4) code with soft-ML decoding. Otherwise, when
    ``n`` divides ``k``, a Gray modem with ``k/n`` bits per use: square QAM
    (even), BPSK (1), PSK (odd) on complex uses, PAM on real ones. None when
    there is no such match. Over a channel that is not
    :attr:`~commae.channels.Channel.coherent` (any fading stage without CSI:
    Rayleigh, Rician, a fading channel of your own), where a coherent receiver
    has no gain to use, a :class:`PilotModem` over block fading (one pilot,
    then ``n - 1`` data symbols) and None over fast fading (a pilot would not
    describe the other uses).

    >>> from commae.channels import Rician
    >>> matching_baseline(4, 2, Rician(2.0, "block", csi=False)).name
    'pilot-qam16'
    >>> matching_baseline(4, 1, Rician(2.0, "fast", csi=False)) is None
    True
    """
    channel = _default_channel(channel)
    if not channel.coherent:  # coherent detection needs a gain: learn it from a pilot
        if channel.fading != "block" or channel.real or n < 2 or k % (n - 1):
            return None
        per_use = k // (n - 1)
        constellation = psk(2) if per_use == 1 else (qam(1 << per_use) if per_use % 2 == 0 else psk(1 << per_use))
        return PilotModem(constellation, channel, data_symbols=n - 1)
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


def matching_baselines(k: int, n: int, channel: Channel | None = None) -> list[nn.Module]:
    """The classic systems to compare a learned ``(k, n)`` system with: :func:`matching_baseline` first.

    A (k=4, n=7) system gets the three of O'Shea & Hoydis's figure: Hamming
    (7,4) with soft-ML and with hard decisions, and uncoded BPSK (4,4).
    """
    first = matching_baseline(k, n, channel)
    if first is None:
        return []
    if (k, n) == (4, 7) and isinstance(first, Hamming74):
        return [first, Hamming74("hard", channel=first.channel), UncodedBPSK(4, channel=first.channel)]
    return [first]


def has_exact_posterior(system: object) -> bool:
    """Whether ``system.symbol_logits`` is its exact symbol posterior (so k − CE/ln 2 estimates its MI).

    Asks the system (``exact_posterior``, as every baseline here answers):
    True for the baselines over AWGN, over fading with CSI and, for a modem,
    over any channel with a likelihood; False over a channel that is not
    :attr:`~commae.channels.Channel.coherent`, where their metric would take
    ``h = 1``. A system that does not say is taken at its ``symbol_logits``
    unless its channel is not coherent.
    """
    own = getattr(system, "exact_posterior", None)
    if own is not None:
        return bool(own)
    channel = getattr(system, "channel", None)
    return hasattr(system, "symbol_logits") and bool(getattr(channel, "coherent", True))


def receiver_logits(system: object, y: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
    """The log-posterior of the message given what ``system``'s receiver decides from, per symbol ``[B, m, 2**b]``.

    ``symbol_logits`` (the received samples) for a modem, uncoded BPSK and
    soft decoding; for :class:`Hamming74` with hard decisions, the posterior
    given its 7 hard bits (:meth:`Hamming74.hard_decision_logits`). With
    exact posteriors (:func:`has_exact_posterior`), k − CE/ln 2 with these
    logits estimates the information the receiver can use.
    """
    own = getattr(system, "receiver_logits", None)  # a system whose receiver decides from less than y says so
    return own(y, no, h) if own is not None else system.symbol_logits(y, no, h)


def make_baseline(name: str, channel: Channel | None = None, *, search=None) -> nn.Module | BestMaxwellBoltzmannModem:
    """A baseline by name: one of :data:`BASELINE_NAMES`.

    ``uncoded-bpsk-K``: ``K`` bits a block; ``pilot-M``: one pilot and one
    symbol, for block fading without CSI; ``qamM-mb:NU``: M-QAM with
    Maxwell–Boltzmann probabilities at the fixed ν = NU
    (:class:`MaxwellBoltzmannModem`); ``qamM-mb`` and ``qamM-mb-bmi``: with
    the ν best for the MI or the BMD rate at each SNR it runs at
    (:class:`BestMaxwellBoltzmannModem`), which needs ``search``, normally
    :func:`commae.information.best_maxwell_boltzmann` (the command line passes it).

    >>> make_baseline("qam16").k, make_baseline("uncoded-bpsk-8").k, make_baseline("qam64-mb:0.05").nu
    (4, 8, 0.05)
    """
    fixed = {
        "bpsk": lambda: Modem(psk(2), channel, name="bpsk"),
        "qpsk": lambda: Modem(qam(4), channel, name="qpsk"),
        "qam16": lambda: Modem(qam(16), channel, name="qam16"),
        "qam64": lambda: Modem(qam(64), channel, name="qam64"),
        "qam256": lambda: Modem(qam(256), channel, name="qam256"),
        "psk8": lambda: Modem(psk(8), channel, name="psk8"),
        "psk16": lambda: Modem(psk(16), channel, name="psk16"),
        "apsk16": lambda: Modem(apsk(16), channel, name="apsk16"),
        "apsk32": lambda: Modem(apsk(32), channel, name="apsk32"),
        "hamming74-hard": lambda: Hamming74("hard", channel),
        "hamming74-soft": lambda: Hamming74("soft", channel),
        "pilot-qpsk": lambda: PilotModem(qam(4), channel, name="pilot-qpsk"),
        "pilot-qam16": lambda: PilotModem(qam(16), channel, name="pilot-qam16"),
    }
    if name in fixed:
        return fixed[name]()
    prefix = "uncoded-bpsk-"
    if name.startswith(prefix) and name[len(prefix) :].isdigit() and int(name[len(prefix) :]) >= 1:
        return UncodedBPSK(int(name[len(prefix) :]), channel)
    shaped = maxwell_boltzmann_name(name)
    if shaped is not None:
        M, metric, nu = shaped
        if nu is not None:
            return MaxwellBoltzmannModem(M, nu, channel, name=name)
        if search is None:
            raise ValueError(f"{name} chooses nu by its {metric.upper()} at each SNR: pass search=commae.information.best_maxwell_boltzmann, or give a fixed nu, qam{M}-mb:NU")
        return BestMaxwellBoltzmannModem(M, search, metric, channel, name=name)
    raise ValueError(unknown_baseline(name))
