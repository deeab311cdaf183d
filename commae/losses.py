r"""Training objectives and the mutual information they imply, in bits.

* :class:`SymbolCrossEntropy` — categorical cross-entropy over the ``M``
  messages. Its expectation bounds the mutual information from below:
  :math:`I(X;Y) \ge k - \mathrm{CE}/\ln 2` (CE in nats per message).
* :class:`BitwiseBCE` — binary cross-entropy of ``k`` bit LLRs, the
  bit-metric decoding objective: :math:`\mathrm{BMI} \ge k - \sum_i \mathrm{BCE}_i/\ln 2`.

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

__all__ = ["SymbolCrossEntropy", "BitwiseBCE", "make_loss"]

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


def make_loss(name: str, k: int) -> SymbolCrossEntropy | BitwiseBCE:
    """``"ce"`` (symbol-wise) or ``"bce"`` (bit-wise) loss for ``k`` bits per message."""
    if name == "ce":
        return SymbolCrossEntropy(k)
    if name == "bce":
        return BitwiseBCE(k)
    raise ValueError(f"loss must be 'ce' or 'bce', got {name!r}")
