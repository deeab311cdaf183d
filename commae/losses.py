r"""Training objectives and the mutual information they imply, in bits.

* :class:`SymbolCrossEntropy` — categorical cross-entropy over the ``M``
  messages. Its expectation bounds the mutual information from below:
  :math:`I(X;Y) \ge k - \mathrm{CE}/\ln 2` (CE in nats per message).
* :class:`BitwiseBCE` — binary cross-entropy of ``k`` bit LLRs, the
  bit-metric decoding objective: :math:`\mathrm{BMI} \ge k - \sum_i \mathrm{BCE}_i/\ln 2`.
* :class:`ShapedObjective` — either of them for a transmitter that learns how
  often to send each message (probabilistic or joint shaping): the expected
  loss under its distribution minus the entropy, :math:`\mathrm{CE} - H(X)`,
  whose negative bounds :math:`I(X;Y)` (the BMD rate for the bit-wise loss).

Both bounds are the mismatched-decoding bounds of the receiver's posterior
(see Cammerer et al., "Trainable communication systems: concepts and
prototype", IEEE Trans. Commun. 2020, §III). Labels are message indices
``[B]`` (int64); :class:`BitwiseBCE` also takes bits ``[B, k]``.

Examples
--------
>>> loss_fn = SymbolCrossEntropy(k=2)
>>> perfect = torch.tensor([[20.0, 0, 0, 0]])
>>> round(loss_fn.mi_bits(float(loss_fn(perfect, torch.tensor([0])))), 4)
2.0
>>> loss_fn.mi_bits(math.log(4))   # a receiver that guesses
0.0
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .constellations import int_to_bits

__all__ = ["SymbolCrossEntropy", "BitwiseBCE", "ShapedObjective", "make_loss"]

_LN2 = math.log(2.0)


class _MessageLoss(nn.Module):
    """A loss per message of ``k`` bits, averaged over the batch (``"mean"``) or not (``"none"``)."""

    def __init__(self, k: int, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "none"):
            raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
        self.k = k
        self.reduction = reduction


class SymbolCrossEntropy(_MessageLoss):
    """Cross-entropy of symbol logits ``[B, M]`` against messages ``[B]``, in nats per message.

    Parameters
    ----------
    k : int
        Bits per message (for :meth:`mi_bits`).
    reduction : {"mean", "none"}
        Mean over the batch, or the per-message losses ``[B]``.
    """

    information = "MI"  # what mi_bits bounds, as logs and tables name it

    def forward(self, logits: torch.Tensor, messages: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), messages, reduction=self.reduction)

    def mi_bits(self, loss: float) -> float:
        """The MI lower bound ``k - CE / ln 2`` (bits per message) of a mean loss in nats."""
        return self.k - loss / _LN2


class BitwiseBCE(_MessageLoss):
    """Binary cross-entropy of bit LLRs ``[B, k]`` (LLR = logit of b = 1), in nats per bit.

    Parameters
    ----------
    k : int
        Bits per message.
    reduction : {"mean", "none"}
        Mean over batch and bits, or the per-message sum over its ``k`` bits ``[B]``.
    """

    information = "BMI"  # mi_bits bounds the bit-wise MI

    def forward(self, llr: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        bits = int_to_bits(labels, self.k) if labels.ndim == 1 else labels.float()
        per_bit = F.binary_cross_entropy_with_logits(llr.float(), bits, reduction="none")
        return per_bit.mean() if self.reduction == "mean" else per_bit.sum(-1)

    def mi_bits(self, loss: float) -> float:
        """The BMI lower bound ``k - sum_i BCE_i / ln 2`` (bits per message) of a mean loss in nats per bit."""
        return self.k * (1.0 - loss / _LN2)


class ShapedObjective(nn.Module):
    r"""The training objective of a transmitter that learns its message distribution: :math:`\mathbb{E}_p[\ell] - H(X)`, in nats.

    For a symbol-wise receiver (:class:`SymbolCrossEntropy`) and messages sent
    with probabilities :math:`p_m` (Stark, Ait Aoudia & Hoydis, "Joint learning
    of geometric and probabilistic constellation shaping", IEEE Globecom
    Workshops 2019),

    .. math::

        L = \sum_m p_m\, \mathbb{E}_y\!\left[-\ln q(m \mid y)\right] - H(X), \qquad
        I(X;Y) \ge H(X) - \frac{\mathrm{CE}}{\ln 2} = -\frac{L}{\ln 2}\ \text{bits},

    the mismatched-decoding bound with the receiver's posterior :math:`q`;
    for a bit-wise receiver (:class:`BitwiseBCE`) :math:`\ell` is the sum of
    the ``k`` bit cross-entropies and :math:`-L/\ln 2` bounds the BMD rate
    :math:`H(X) - \sum_b H(C_b \mid Y)` (Böcherer 2018; the objective of
    Aoudia & Hoydis 2020 and Aref & Chagnon 2022 for bit-metric decoding).
    Maximising :math:`H(X)` alone would send every message equally often,
    minimising the CE alone would send one message: the difference is the
    trade the MI makes.

    **Estimator.** The batch's messages are drawn *uniformly* (as for every
    autoencoder) and each example's loss is weighted by :math:`M p_{m}`:

    .. math:: \hat L = \frac1B \sum_{i=1}^{B} M p_{m_i}\, \ell_i - H(p),

    an unbiased estimate of :math:`L` (importance sampling with the uniform
    proposal) whose gradient is an unbiased estimate of :math:`\nabla L`
    for every parameter: for the logits through :math:`p_{m_i}` (the
    :math:`\sum_m \nabla p_m\, \mathbb{E}[\ell_m]` term) and through the
    power normalisation of the points (which depends on :math:`p`), for the
    receiver and the points as the plain loss. It is argued here in place of
    the Gumbel-softmax straight-through sampler of Stark et al.: that one
    draws :math:`m \sim p` and replaces the one-hot's derivative by the
    softmax's, a biased gradient with a temperature to tune, whereas the
    weights give the exact expectation over the messages with no temperature;
    and with the logits frozen at zero the weights are exactly 1, so a
    shaped system trains on exactly the messages, noise and gradients of a
    geometric one (a test says so). Validation uses the same estimator on
    its fixed, equiprobable messages, so its numbers compare across epochs
    while :math:`p` moves.

    Parameters
    ----------
    loss : SymbolCrossEntropy or BitwiseBCE
        The receiver's loss; its ``reduction`` is that of this objective.
    log_probabilities : callable
        Returns :math:`\ln p_m` ``[M]`` in the autograd graph (the
        transmitter's :meth:`~commae.models.Transmitter.log_probabilities`).

    Notes
    -----
    ``forward(outputs, messages)``: ``messages`` ``[B]`` int64 (uniform
    draws). ``reduction="mean"``: the scalar :math:`\hat L`;
    ``"none"``: ``[B]`` of :math:`M p_{m_i} \ell_i - H(p)` (their mean is
    :math:`\hat L`), the per-example cost of model-free training.
    """

    def __init__(self, loss: SymbolCrossEntropy | BitwiseBCE, log_probabilities) -> None:
        super().__init__()
        if not isinstance(loss, _MessageLoss):
            raise ValueError(f"loss must be a SymbolCrossEntropy or a BitwiseBCE, got {type(loss).__name__}")
        if not callable(log_probabilities):
            raise ValueError("log_probabilities must be a callable returning ln p [M], e.g. a shaped transmitter's log_probabilities")
        self.k = loss.k
        self.reduction = loss.reduction
        self.information = "MI" if isinstance(loss, SymbolCrossEntropy) else "BMD rate"
        per_message = SymbolCrossEntropy(loss.k, "none") if isinstance(loss, SymbolCrossEntropy) else BitwiseBCE(loss.k, "none")
        self._per_message = per_message  # nats per message: CE, or the sum of the k BCEs
        self._log_probabilities = log_probabilities  # a plain attribute: the transmitter's parameters stay the model's

    def entropy(self) -> torch.Tensor:
        """:math:`H(p)` in nats, in the autograd graph."""
        log_p = self._log_probabilities()
        return -(torch.softmax(log_p, -1) * log_p).sum()

    def forward(self, outputs: torch.Tensor, messages: torch.Tensor) -> torch.Tensor:
        if messages.ndim != 1:
            raise ValueError(f"messages must be [B] int64 message indices for a shaped objective, got shape {tuple(messages.shape)}")
        log_p = self._log_probabilities()  # [M]
        p = torch.softmax(log_p, -1)  # exactly 1/M when uniform (exp of log-softmax is not)
        entropy = -(p * log_p).sum()
        weights = log_p.numel() * p[messages]  # [B]: M p_m, exactly 1 when uniform
        per = weights * self._per_message(outputs, messages) - entropy
        return per.mean() if self.reduction == "mean" else per

    def mi_bits(self, loss: float) -> float:
        """The MI (BMD-rate) lower bound ``H(X) - E_p[CE]/ln 2 = -loss/ln 2`` in bits per message of a mean objective in nats."""
        return -loss / _LN2


def make_loss(name: str, k: int) -> SymbolCrossEntropy | BitwiseBCE:
    """``"ce"`` (symbol-wise) or ``"bce"`` (bit-wise) loss for ``k`` bits per message (wrap it in :class:`ShapedObjective` for a shaped transmitter)."""
    if name == "ce":
        return SymbolCrossEntropy(k)
    if name == "bce":
        return BitwiseBCE(k)
    raise ValueError(f"loss must be 'ce' or 'bce', got {name!r}")
