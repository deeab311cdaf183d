r"""The training loop: :func:`fit`, :func:`train_one_epoch`, :func:`evaluate`, optimisers, schedules.

The loop is the seed's, line for line, and generic over any ``nn.Module`` and
loss::

    for epoch in range(epochs):
        model.train()
        for batch in train_batches:                 # micro-batches, grouped by `accumulate`
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), labels)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val = evaluate(model, loss_fn, val_batches)

Gradient accumulation, mixed precision (bf16 autocast on CPU; fp16 autocast
and a ``GradScaler`` on CUDA), gradient clipping, learning-rate schedules and
early stopping wrap those lines; they never fork the loop.

What "forward → loss" means is the *step strategy* (``step=``): :class:`Backprop`
(the default: one loss, gradients through the channel) or :class:`ModelFree`
(Aoudia & Hoydis 2019: a supervised loss for the receiver plus a
policy-gradient surrogate for the transmitter, so the channel is only ever
run forward). Either returns one scalar whose ``backward`` fills every
gradient, and the same ``optimizer.step`` applies it.

A batch is a pair ``(inputs, labels)``. ``model(inputs)`` is called as
``model(*inputs)`` when ``inputs`` is a tuple or list, ``model(**inputs)``
when it is a dict, else ``model(inputs)`` — so a ``DataLoader`` of
``(x, y)`` pairs works as it is, and :class:`MessageBatches` feeds an
:class:`~commae.models.Autoencoder` ``(messages, no, generator)``.

Examples
--------
>>> model = nn.Sequential(nn.Linear(3, 1))
>>> data = [(torch.randn(8, 3), torch.randn(8, 1)) for _ in range(4)]
>>> opt = make_optimizer("adam", model.parameters(), lr=1e-2)
>>> history = fit(model, nn.MSELoss(), data, data, opt, epochs=2, progress=False, log=None)
>>> [row["epoch"] for row in history.rows]
[1, 2]
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import distributed as _dist
from .baselines import has_exact_posterior, receiver_logits
from .channels import non_differentiable_stage, seed_from_text, split_channel_output
from .config import dataclass_of, default
from .constellations import bits_to_int, int_to_bits
from .snr import ebno_db_to_no
from .system import System, errors

__all__ = [
    "fit",
    "train_one_epoch",
    "evaluate",
    "make_optimizer",
    "make_scheduler",
    "MessageBatches",
    "History",
    "EarlyStopping",
    "TrainingDiverged",
    "message_metrics",
    "evaluate_system",
    "TrainConfig",
    "derive_seed",
    "OPTIMIZERS",
    "SCHEDULES",
    "Backprop",
    "ModelFree",
    "make_step",
    "TRAININGS",
]

OPTIMIZERS = ("sgd", "adam", "adamw")
TRAININGS = ("backprop", "model-free")
SCHEDULES = ("constant", "cosine", "step", "plateau")


@dataclass_of("train")
class TrainConfig:
    """How a system is trained. ``dataclasses.asdict`` of it goes into every run's ``config.json``.

    ``ebno_db`` is the training Eb/N0 range in dB (``low == high`` for one
    SNR); an optimiser step sees ``accumulate`` micro-batches of
    ``batch_size`` messages; an epoch is ``batches_per_epoch`` steps. The
    validation set (``val_size`` messages, with Eb/N0 drawn from the same
    range) is drawn once from its own seed. ``esno_db`` records the Es/N0
    range in dB when that is how the SNR was given (``commae train --esno``);
    ``ebno_db`` is then its Eb/N0 equivalent, which training uses.
    ``training`` is the step strategy (``"backprop"`` or ``"model-free"``, see
    :func:`make_step`) and ``exploration`` the model-free exploration variance.
    Each field is an option of :mod:`commae.config` (``"train"``), which holds
    its default, limits, unit and meaning; the fields keep config.json's order.
    """

    ebno_db: tuple[float, float] = default("ebno_db")
    loss: str = default("loss")
    optimizer: str = default("optimizer")
    lr: float = default("lr")
    momentum: float = default("momentum")
    nesterov: bool = default("nesterov")
    weight_decay: float = default("weight_decay")
    schedule: str = default("schedule")
    epochs: int = default("epochs")
    batch_size: int = default("batch_size")
    batches_per_epoch: int = default("batches_per_epoch")
    accumulate: int = default("accumulate")
    amp: bool = default("amp")
    clip: float | None = default("clip")
    patience: int | None = default("patience")
    val_size: int = default("val_size")
    seed: int = default("seed")
    device: str = default("device")
    training: str = default("training")
    exploration: float = default("exploration")
    esno_db: tuple[float, float] | None = default("esno_db")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; ``epoch`` is the (1-based) epoch where it happened."""

    def __init__(self, epoch: int, loss: float) -> None:
        super().__init__(f"the training loss became {loss} in epoch {epoch}")
        self.epoch = epoch
        self.loss = loss


def derive_seed(seed: int, purpose: str, rank: int = 0) -> int:
    """An independent 63-bit seed for ``purpose`` ("train", "val", ...) from a run's ``seed``.

    Rank ``r > 0`` of a distributed run gets its own stream; rank 0's is the
    single-process one, so a run launched without torchrun is unchanged.
    """
    return seed_from_text(f"commae:{seed}:{purpose}" if rank == 0 else f"commae:{seed}:{purpose}:rank{rank}")


# --- data: fresh messages and noise --------------------------------------------------------


class MessageBatches:
    """Mini-batches of random messages at a training Eb/N0, for an autoencoder.

    Each iteration yields ``num_batches`` pairs ``((messages, no, generator), messages)``:
    ``messages`` ``[B]`` uniform in ``[0, 2**k)``, ``no`` ``[B]`` the linear N0 of an
    Eb/N0 (dB) drawn uniformly per example from ``ebno_db`` (a number, or a
    ``(low, high)`` range), and the generator the channel draws its noise from.

    Parameters
    ----------
    k, n : int
        Bits and channel uses per message (Eb/N0 counts ``k/n`` bits per use).
    batch_size, num_batches : int
        Messages per batch and batches per iteration (an epoch).
    ebno_db : float or (float, float)
        Training Eb/N0 in dB, or the range it is drawn from.
    seed : int
        Seed of the generator. Training data continues its stream from one
        epoch to the next; with ``fixed=True`` every iteration restarts it,
        so a validation set is the same messages and the same noise each time.
    device : str or torch.device
    """

    def __init__(
        self,
        k: int,
        n: int,
        batch_size: int,
        num_batches: int,
        ebno_db: float | tuple[float, float],
        seed: int,
        device: str | torch.device = "cpu",
        fixed: bool = False,
    ) -> None:
        low, high = (ebno_db, ebno_db) if isinstance(ebno_db, (int, float)) else ebno_db
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ValueError(f"ebno_db must be a number or a (low, high) range with low <= high, got {ebno_db!r}")
        if batch_size < 1 or num_batches < 1:
            raise ValueError(f"batch_size and num_batches must be positive, got {batch_size} and {num_batches}")
        self.k, self.n = k, n
        self.batch_size, self.num_batches = batch_size, num_batches
        self.low, self.high = float(low), float(high)
        self.seed = seed
        self.device = torch.device(device)
        self.fixed = fixed
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[tuple[tuple[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]]:
        if self.fixed:
            self.generator.manual_seed(self.seed)
        gen = self.generator
        for _ in range(self.num_batches):
            messages = torch.randint(0, 1 << self.k, (self.batch_size,), device=self.device, generator=gen)
            ebno = (
                torch.empty(self.batch_size, device=self.device).uniform_(self.low, self.high, generator=gen) if self.high > self.low else torch.full((self.batch_size,), self.low, device=self.device)
            )
            yield (messages, ebno_db_to_no(ebno, self.k, self.n), gen), messages

    def bits(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Generator]]:
        """The same draws as bits: ``(bits [B, k], no [B], generator)``, for a baseline ``System``."""
        for (messages, no, gen), _ in self:
            yield int_to_bits(messages, self.k), no, gen


# --- bookkeeping ---------------------------------------------------------------------------


@dataclass
class History:
    """One row (a dict) per epoch: epoch, train_loss, val_loss, metrics, lr, seconds."""

    rows: list[dict[str, float]] = field(default_factory=list)

    def append(self, row: dict[str, float]) -> None:
        self.rows.append(row)

    def column(self, name: str) -> list[float]:
        return [row[name] for row in self.rows]

    @property
    def last(self) -> dict[str, float]:
        return self.rows[-1]


@dataclass
class EarlyStopping:
    """Stop when the validation loss has not improved by ``min_delta`` for ``patience`` epochs."""

    patience: int
    min_delta: float = 0.0
    best: float = math.inf
    bad_epochs: int = 0

    def update(self, val_loss: float) -> bool:
        """Record an epoch's validation loss; True when training should stop."""
        if val_loss < self.best - self.min_delta:
            self.best, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience


def message_metrics(model: nn.Module, k: int) -> Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
    """Per-message error indicators of an autoencoder's logits: ``ser``, ``ber``, ``bler``.

    A message is the symbol and the block, so ``ser`` and ``bler`` coincide.
    A model that sends its own message distribution (``message_probabilities()``
    not None: probabilistic or joint shaping) has each indicator weighted by
    :math:`M p_m`: on equiprobable messages their mean is then its error rate
    under its own distribution (the estimator of
    :class:`~commae.losses.ShapedObjective`).
    """
    inner = getattr(model, "module", model)
    ask = getattr(inner, "message_probabilities", None)

    def metrics(logits: torch.Tensor, messages: torch.Tensor) -> dict[str, torch.Tensor]:
        decided = model.decide(logits)
        wrong = (decided != messages).float()
        bit_errors = (int_to_bits(decided, k) != int_to_bits(messages, k)).float().mean(-1)
        p = ask() if callable(ask) else None
        if p is not None:
            weights = (p.numel() * p.to(messages.device)[messages]).float()
            wrong, bit_errors = wrong * weights, bit_errors * weights
        return {"ser": wrong, "ber": bit_errors, "bler": wrong}

    return metrics


def evaluate_system(system: System, batches: MessageBatches) -> dict[str, float]:
    """SER, BER and BLER of any :class:`~commae.system.System` on the draws of ``batches``, with the counts behind them.

    With a fixed (validation) :class:`MessageBatches`, a baseline sees the
    messages, noise and fading an autoencoder of the same ``(k, n)`` saw.
    Rates ``ser``, ``ber``, ``bler``; counts ``messages`` and
    ``message_errors`` (a message is a block), ``bits`` and ``bit_errors``.
    A system with exact symbol posteriors (as the modems and the Hamming code
    have, over AWGN or fading with CSI) also gets ``mi_bits``:
    :math:`k - \\mathrm{CE}/\\ln 2` per message with the posterior of the message
    given what its receiver decides from (:func:`~commae.baselines.receiver_logits`:
    the received samples, or Hamming hard decoding's 7 hard bits), and
    ``bmi_bits``: :math:`k - \\sum_b \\mathrm{BCE}_b/\\ln 2` with the bit posteriors that follow from it.
    """
    ask = getattr(system, "message_probabilities", None)
    if callable(ask) and ask() is not None:
        raise ValueError(f"evaluate_system draws equiprobable messages, and {getattr(system, 'name', type(system).__name__)} sends its own distribution: simulate it with commae.simulation.simulate")
    counts = torch.zeros(5, dtype=torch.float64)
    blocks = symbols = 0
    with_mi = has_exact_posterior(system)  # no MI from a metric that assumes h = 1 on a channel without CSI
    b = system.bits_per_symbol
    labels = int_to_bits(torch.arange(1 << b), b).bool()  # [2**b, b], the bits of each column of the logits
    with torch.inference_mode():
        for bits, no, gen in batches.bits():
            e = errors(system, bits, no, gen)
            ce = bce = torch.zeros((), dtype=torch.float64, device=bits.device)
            if with_mi:
                log_post = torch.log_softmax(receiver_logits(system, e.y, no, e.h).double(), -1)  # [B, m, M]
                sent_bits = bits.reshape(len(bits), -1, b).bool()  # [B, m, b]
                ce = -log_post.gather(-1, bits_to_int(sent_bits.float())[..., None]).sum()
                table = labels.to(bits.device)
                for j in range(b):  # -log P(bit j = its sent value | what the receiver sees)
                    same = table[:, j] == sent_bits[..., j : j + 1]  # [B, m, M]
                    bce = bce - torch.logsumexp(log_post.masked_fill(~same, -math.inf), -1).sum()
            counts += torch.stack([e.symbols.sum(), e.bits.sum(), e.blocks.sum(), ce, bce]).double().cpu()
            blocks += len(bits)
            symbols += e.symbols.numel()
    result = {"ser": float(counts[0]) / symbols, "ber": float(counts[1]) / (blocks * system.k), "bler": float(counts[2]) / blocks}
    result.update(messages=blocks, message_errors=int(counts[2]), bits=blocks * system.k, bit_errors=int(counts[1]))
    if with_mi:
        result["mi_bits"] = system.k - float(counts[3]) / blocks / math.log(2)
        result["bmi_bits"] = system.k - float(counts[4]) / blocks / math.log(2)
    return result


# --- optimisers and schedules -------------------------------------------------------------


def make_optimizer(
    name: str,
    params: Iterable[nn.Parameter],
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """``"sgd"`` (with ``momentum``, optionally Nesterov), ``"adam"`` or ``"adamw"`` (decoupled ``weight_decay``)."""
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if momentum < 0 or weight_decay < 0:
        raise ValueError(f"momentum and weight_decay must be >= 0, got {momentum} and {weight_decay}")
    if name == "sgd":
        if nesterov and momentum == 0:
            raise ValueError("nesterov needs momentum > 0")
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def make_scheduler(name: str, optimizer: torch.optim.Optimizer, epochs: int) -> Any | None:
    """An epoch-wise learning-rate schedule.

    ``"constant"`` (returns None: no scheduler); ``"cosine"`` (to 1 % of the initial lr at the last epoch);
    ``"step"`` (×0.1 at 50 % and 75 % of the epochs); ``"plateau"`` (×0.3
    after 3 epochs without a better validation loss).
    """
    if name == "constant":
        return None
    if name == "cosine":
        lr = optimizer.param_groups[0]["lr"]
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1), eta_min=0.01 * lr)
    if name == "step":
        milestones = sorted({max(1, epochs // 2), max(1, (3 * epochs) // 4)})
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.3, patience=3)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")


# --- the step: what forward and loss mean ---------------------------------------------------


class Backprop:
    """The default step: ``loss_fn(model(inputs), labels)``, differentiated through the channel.

    Transmitter and receiver both get the gradient of the one loss; the
    channel must be differentiable (:meth:`check` refuses one that is not).
    """

    name = "backprop"

    def check(self, model: nn.Module) -> None:
        """Refuse a model whose channel has a stage without a gradient, naming it."""
        channel = getattr(getattr(model, "module", model), "channel", None)
        stage = non_differentiable_stage(channel) if channel is not None and hasattr(channel, "stages") else None
        if stage is not None:
            raise ValueError(f"the channel stage {stage.name} has no gradient, so backpropagation cannot train through it; use training='model-free' (--training model-free)")

    def __call__(self, model: nn.Module, loss_fn: Callable, inputs: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss to backpropagate, loss to log)``: here the same tensor."""
        loss = loss_fn(_call(model, inputs), labels)
        return loss, loss


class ModelFree:
    r"""Model-free step (Aoudia & Hoydis, "Model-free training of end-to-end communication systems", IEEE JSAC 2019).

    Each mini-batch of messages is split in two halves, so a step spends the
    same messages as a :class:`Backprop` step:

    * **Receiver** (first half): the transmitter's symbols are detached, sent
      through the channel, and the receiver gets the gradient of its
      supervised loss (``loss_fn``) — the transmitter gets nothing from it.
    * **Transmitter** (second half): its symbols :math:`x` are perturbed by
      Gaussian exploration, :math:`\tilde x = \sqrt{1-\sigma^2}\,x + \sigma w`,
      :math:`w \sim \mathcal{CN}(0, 1)` per complex use (:math:`\mathcal{N}(0, 1)`
      per real use), which keeps unit average energy; :math:`\tilde x` is sent
      through the channel and the receiver's per-example loss :math:`l_i` (no
      gradient) is the cost. The policy gradient
      :math:`\nabla_\theta E[l] = E[l\,\nabla_\theta \ln \pi_\theta(\tilde x \mid m)]`
      is the gradient of the surrogate
      :math:`\frac1B\sum_i (l_i - \bar l)\ln \pi_\theta(\tilde x_i \mid m_i)`,
      with :math:`\ln \pi = -\|\tilde x - \sqrt{1-\sigma^2}x\|^2/\sigma^2` (complex;
      :math:`/2\sigma^2` real) up to a constant, and the batch mean
      :math:`\bar l` as a variance-reducing baseline. The receiver gets nothing
      from it.

    The loss to backpropagate is the sum of the two (they touch disjoint
    parameters), so the loop's ``zero_grad → forward → loss → backward → step``
    is unchanged; the loss logged is the receiver's. The channel is only ever
    called forward (under ``no_grad`` for the transmitter), so any channel
    works: a quantiser, a black box, a user's :class:`~commae.channels.Channel`.

    Parameters
    ----------
    exploration : float
        :math:`\sigma^2`, the exploration variance per channel use, in (0, 1).
    """

    name = "model-free"

    def __init__(self, exploration: float = 0.02) -> None:
        if isinstance(exploration, bool) or not isinstance(exploration, (int, float)) or not 0.0 < exploration < 1.0:
            raise ValueError(f"exploration must be a variance in (0, 1), got {exploration!r}")
        self.exploration = float(exploration)

    def check(self, model: nn.Module) -> None:
        """Model-free training needs an autoencoder (transmitter, channel, receiver)."""
        inner = getattr(model, "module", model)
        if not all(hasattr(inner, part) for part in ("transmitter", "channel", "receiver")):
            raise ValueError("model-free training needs an Autoencoder (transmitter, channel, receiver)")

    def __call__(self, model: nn.Module, loss_fn: Callable, inputs: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
        ae = getattr(model, "module", model)
        messages, no, generator = inputs
        if len(messages) < 2:
            raise ValueError("model-free training needs mini-batches of at least 2 messages")
        half = len(messages) // 2
        no = torch.as_tensor(no, device=messages.device)
        no_rx, no_tx = (no[:half], no[half:]) if no.ndim else (no, no)
        # receiver: supervised, the transmitter's symbols held fixed
        x = ae.transmitter(messages[:half]).detach()
        y, h = split_channel_output(ae.channel, ae.channel(x, no_rx, generator=generator))
        rx_loss = loss_fn(ae.logits(y, h, no_rx), labels[:half])
        # transmitter: Gaussian exploration, the receiver's per-example loss as the cost
        x = ae.transmitter(messages[half:])
        var = self.exploration
        w = torch.randn((*x.shape, 2) if x.is_complex() else x.shape, device=x.device, generator=generator, dtype=x.real.dtype)
        w = torch.view_as_complex(w) * math.sqrt(0.5) if x.is_complex() else w
        mean = math.sqrt(1.0 - var) * x
        explored = (mean + math.sqrt(var) * w).detach()
        with torch.no_grad():
            y, h = split_channel_output(ae.channel, ae.channel(explored, no_tx, generator=generator))
            cost = _per_example(loss_fn)(ae.logits(y, h, no_tx), labels[half:]).float()
        scale = var if x.is_complex() else 2 * var
        log_pi = -(explored - mean).abs().pow(2).flatten(1).sum(-1) / scale  # [B/2]
        tx_surrogate = ((cost - cost.mean()) * log_pi).mean()
        return rx_loss + tx_surrogate, rx_loss


def _per_example(loss_fn: Callable) -> Callable:
    """A copy of ``loss_fn`` with ``reduction="none"`` (per-example losses)."""
    if not hasattr(loss_fn, "reduction"):
        raise ValueError("model-free training needs a loss with a `reduction` attribute (per-example losses), e.g. commae's make_loss")
    per = copy.copy(loss_fn)
    per.reduction = "none"
    return per


def make_step(training: str = "backprop", exploration: float = 0.02) -> Backprop | ModelFree:
    """The step strategy by name: ``"backprop"`` or ``"model-free"`` (with ``exploration``, the variance)."""
    if training == "backprop":
        return Backprop()
    if training == "model-free":
        return ModelFree(exploration)
    raise ValueError(f"training must be one of {', '.join(TRAININGS)}, got {training!r}")


# --- the loop -----------------------------------------------------------------------------


def _call(model: nn.Module, inputs: Any) -> torch.Tensor:
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    if isinstance(inputs, dict):
        return model(**inputs)
    return model(inputs)


def _device_type(model: nn.Module) -> str:
    param = next(model.parameters(), None)
    return param.device.type if param is not None else "cpu"


def _autocast(model: nn.Module, amp: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on CPU, fp16 on CUDA; a no-op without ``amp``."""
    if not amp:
        return contextlib.nullcontext()
    device_type = _device_type(model)
    dtype = torch.float16 if device_type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device_type, dtype=dtype)


def train_one_epoch(
    model: nn.Module,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    batches: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    accumulate: int = 1,
    clip: float | None = None,
    amp: bool = False,
    scaler: torch.amp.GradScaler | None = None,
    progress: Any = None,
    step: Backprop | ModelFree | None = None,
) -> float:
    """One pass over ``batches``; an optimiser step every ``accumulate`` micro-batches.

    Each micro-batch's loss is divided by ``accumulate``, so ``accumulate``
    equal micro-batches give the gradient of their concatenation. A trailing
    incomplete group is stepped as it is. ``step`` is the step strategy
    (default :class:`Backprop`). Returns the mean training loss (NaN/inf when
    it diverged).
    """
    step = step if step is not None else Backprop()
    model.train()
    total, count = None, 0  # the running sum stays on the loss's device: no sync per step
    ddp = isinstance(model, nn.parallel.DistributedDataParallel)
    optimizer.zero_grad(set_to_none=True)
    for i, (inputs, labels) in enumerate(batches, start=1):
        # DDP averages gradients over the ranks in the backward of a step's last micro-batch only
        with model.no_sync() if ddp and i % accumulate else contextlib.nullcontext():
            with _autocast(model, amp):
                loss, shown = step(model, loss_fn, inputs, labels)
            (scaler.scale(loss / accumulate) if scaler else loss / accumulate).backward()
        total = shown.detach().float() if total is None else total + shown.detach().float()
        count += 1
        if i % accumulate == 0:
            _step(model, optimizer, clip, scaler)
        if progress is not None:
            progress.update(1)
            if i % 10 == 0:
                progress.set_postfix(loss=f"{float(total) / count:.4f}", refresh=False)
    if count % accumulate:
        _step(model, optimizer, clip, scaler)
    if total is None:
        raise ValueError("train_batches must yield at least one batch")
    if ddp:  # the mean over every rank's batches, the same number on every rank
        return float(_dist.all_reduce_sum(total.reshape(1))[0]) / (count * _dist.world_size())
    return float(total) / count


def _step(model: nn.Module, optimizer: torch.optim.Optimizer, clip: float | None, scaler: torch.amp.GradScaler | None) -> None:
    if clip is not None:
        if scaler:
            scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    if scaler:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def evaluate(
    model: nn.Module,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    batches: Iterable,
    metrics: Callable[[torch.Tensor, Any], dict[str, torch.Tensor]] | None = None,
) -> dict[str, float]:
    """Mean loss (weighted by batch size) and mean per-example ``metrics`` over ``batches``.

    Runs under ``model.eval()`` and ``torch.no_grad()`` and puts the model
    back in the mode it was in.
    """
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    loss_sum, examples = torch.zeros((), dtype=torch.float64), 0
    try:
        with torch.no_grad():
            for inputs, labels in batches:
                outputs = _call(model, inputs)
                size = len(labels)
                loss_sum += float(loss_fn(outputs, labels)) * size
                examples += size
                if metrics is not None:
                    for name, values in metrics(outputs, labels).items():
                        sums[name] = sums.get(name, 0.0) + values.double().sum().cpu()
    finally:
        model.train(was_training)
    if examples == 0:
        raise ValueError("val_batches must yield at least one batch")
    result = {"val_loss": float(loss_sum) / examples}
    result.update({f"val_{name}": float(value) / examples for name, value in sums.items()})
    return result


def fit(
    model: nn.Module,
    loss_fn: Callable[[Any, Any], torch.Tensor],
    train_batches: Iterable,
    val_batches: Iterable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    scheduler: Any = None,
    accumulate: int = 1,
    clip: float | None = None,
    amp: bool = False,
    early_stopping: EarlyStopping | None = None,
    metrics: Callable[[torch.Tensor, Any], dict[str, torch.Tensor]] | None = None,
    start_epoch: int = 0,
    history: History | None = None,
    scaler: torch.amp.GradScaler | None = None,
    on_epoch_end: Callable[[int, History], None] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = print,
    distributed: bool | None = None,
    callbacks: Sequence[Callable[[int, History], None]] = (),
    step: Backprop | ModelFree | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs; return the :class:`History`.

    Parameters
    ----------
    model : nn.Module
        Any module; ``model(inputs)`` must give what ``loss_fn`` takes.
    loss_fn : callable
        ``loss_fn(outputs, labels)`` → scalar loss. If it has ``mi_bits``
        (the commae losses do), the validation MI bound in bits is logged,
        named by its ``information`` attribute (``"BMI"`` for the bit-wise
        loss; default ``"MI"``).
    train_batches, val_batches : iterable of ``(inputs, labels)``
        Re-iterated every epoch (a ``DataLoader``, a list, :class:`MessageBatches`).
    optimizer : torch.optim.Optimizer
    epochs : int
        Total epochs (a resumed run counts the ones done in ``start_epoch``).
    scheduler : optional
        Stepped once an epoch (``ReduceLROnPlateau`` with the validation loss).
    accumulate : int
        Micro-batches per optimiser step.
    clip : float, optional
        Max gradient norm.
    amp : bool
        Mixed precision: bf16 autocast on CPU, fp16 autocast with a gradient
        scaler on CUDA.
    early_stopping : EarlyStopping, optional
    metrics : callable, optional
        ``metrics(outputs, labels)`` → dict of per-example values, averaged
        over the validation set (e.g. :func:`message_metrics`).
    start_epoch, history, scaler
        State of a resumed run.
    on_epoch_end : callable, optional
        ``on_epoch_end(epoch, history)`` after each epoch (checkpointing).
    callbacks : sequence of callables
        Each called as ``callback(epoch, history)`` after ``on_epoch_end``,
        e.g. :class:`~commae.callbacks.TensorBoardLogger`.
    progress : bool
        A tqdm bar per epoch (only when stderr is a terminal).
    log : callable or None
        Receives one summary line per epoch.
    distributed : bool, optional
        Data-parallel training over the ranks of the initialised process group
        (``torchrun``): the model is wrapped in ``DistributedDataParallel``,
        which starts every rank from rank 0's weights and averages the
        gradients over the ranks, so the parameters stay identical on every
        rank. Each rank must get its own ``train_batches`` (e.g.
        :class:`MessageBatches` seeded with ``derive_seed(seed, "train",
        rank)``, or a ``DistributedSampler``): a step then averages over
        ``world_size × accumulate`` micro-batches, and the learning rate
        applies to that mean — it is not rescaled. ``val_batches`` must be the
        same on every rank: every rank evaluates all of it, so the history is
        identical on every rank. The logged training loss is the mean over
        all ranks. Progress bars and ``log`` lines come from rank 0 only.
        None (default): whenever a group of more than one rank is initialised.
    step : Backprop or ModelFree, optional
        What forward and loss mean in each step (default :class:`Backprop`);
        see :func:`make_step`. Its ``check`` runs first: backpropagation
        through a channel stage without a gradient raises ``ValueError``.

    Raises
    ------
    TrainingDiverged
        When an epoch's training loss is NaN or infinite (before its
        ``on_epoch_end``, so the last good checkpoint stays).
    """
    if accumulate < 1:
        raise ValueError(f"accumulate must be a positive integer, got {accumulate}")
    step = step if step is not None else Backprop()
    step.check(model)
    history = history if history is not None else History()
    if amp and scaler is None and _device_type(model) == "cuda":
        scaler = torch.amp.GradScaler("cuda")
    if distributed is None:
        distributed = _dist.is_distributed()
    elif distributed and not _dist.is_distributed():
        raise ValueError("distributed=True needs an initialised torch.distributed process group of more than one rank (launch with torchrun)")
    trained = model
    if distributed:
        if not isinstance(step, Backprop):  # its steps call the transmitter and receiver past the DDP wrapper
            raise ValueError("model-free training runs in one process: launch it without torchrun")
        device = next(model.parameters()).device
        trained = nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
        if _dist.rank() != 0:
            log = None
    show_bar = progress and sys.stderr.isatty() and _dist.rank() == 0
    for epoch in range(start_epoch + 1, epochs + 1):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        total = len(train_batches) if hasattr(train_batches, "__len__") else None
        with tqdm(total=total, desc=f"epoch {epoch}/{epochs}", leave=False, disable=not show_bar, dynamic_ncols=True) as bar:
            train_loss = train_one_epoch(trained, loss_fn, train_batches, optimizer, accumulate=accumulate, clip=clip, amp=amp, scaler=scaler, progress=bar, step=step)
        if not math.isfinite(train_loss):
            raise TrainingDiverged(epoch, train_loss)
        row: dict[str, float] = {"epoch": epoch, "train_loss": train_loss}
        row.update(evaluate(model, loss_fn, val_batches, metrics))
        if hasattr(loss_fn, "mi_bits"):
            row["mi_bits"] = loss_fn.mi_bits(row["val_loss"])
        row["lr"] = lr
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(row["val_loss"])
            else:
                scheduler.step()
        row["seconds"] = time.perf_counter() - started
        history.append(row)
        if log is not None:
            log(_summary(row, epochs, getattr(loss_fn, "information", "MI")))
        stop = early_stopping is not None and early_stopping.update(row["val_loss"])
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        for callback in callbacks:
            callback(epoch, history)
        if stop:
            if log is not None:
                log(f"early stop: no better validation loss for {early_stopping.patience} epochs")
            break
    return history


def _summary(row: dict[str, float], epochs: int, information: str = "MI") -> str:
    """One epoch's log line; ``information`` names what ``mi_bits`` bounds (``"BMI"`` for a bit-wise loss)."""
    parts = [f"epoch {row['epoch']:>{len(str(epochs))}}/{epochs}", f"train {row['train_loss']:.4f}", f"val {row['val_loss']:.4f}"]
    for name in ("ser", "ber", "bler"):
        if f"val_{name}" in row:
            parts.append(f"{name.upper()} {row[f'val_{name}']:.3e}")
    if "mi_bits" in row:
        parts.append(f"{information} {row['mi_bits']:.3f} bit")
    parts += [f"lr {row['lr']:.2e}", f"{row['seconds']:.1f}s"]
    return "  ".join(parts)
