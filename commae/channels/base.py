r"""The channel base class and the helpers every stage shares.

A channel is an ``nn.Module`` stage with ``forward(x, no, generator=None)``:
it takes channel symbols ``x`` ``[B, n]`` (complex64, or float32 on a real
channel), the linear noise density ``no`` (scalar or ``[B]``) and an explicit
``torch.Generator`` (or an ``int`` seed), and returns ``y``, or ``(y, h)``
when it hands channel state information to the receiver. Its class
attributes say what the rest of commae may assume of it:

* ``csi`` — ``forward`` returns ``(y, h)`` and the receiver is given ``h``;
* ``real`` — real channel uses instead of complex ones;
* ``differentiable`` — gradients flow from ``y`` back to ``x``. A channel
  without a gradient is trained through with model-free training
  (:class:`commae.training.ModelFree`);
* ``fading`` — the stage multiplies by a random gain ``h``, drawn per use
  (``"fast"``) or per message (``"block"``); None (the default) when it does not;
* ``linear_gaussian`` — ``y = h x + w`` exactly, ``w`` Gaussian: given ``h``
  the nearest point is the ML decision.

Everything else commae decides about a channel is asked of it, never of its
class: whether the receiver knows every gain (:attr:`Channel.coherent`), the
transmitter's default power constraint (:attr:`Channel.default_normalization`),
its exact likelihood (:meth:`Channel.log_likelihood`) and the closed-form model
:mod:`commae.theory` has for it (:attr:`Channel.closed_form`). A subclass
inherits safe answers (coherent unless it declares fading without CSI, no
likelihood, no closed form) and overrides what it knows better.

Its :attr:`Channel.name` (parameters included) is what result files show.
Subclass :class:`Channel` for a channel of your own; see its docstring.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import torch
from torch import nn

from ..snr import noise_std_per_real_dim
from .noise import gaussian

__all__ = ["Channel", "Fading", "Normalization", "make_generator", "seed_from_text", "split_channel_output", "broadcast_no", "non_differentiable_stage", "check_flag", "check_input", "complex_normal"]

Fading = Literal["fast", "block"]
Normalization = Literal["batch", "message", "amplitude"]


def make_generator(generator: torch.Generator | int | None, device: torch.device | str) -> torch.Generator | None:
    """An explicit generator for ``device``: an ``int`` seeds a new one, a generator is checked.

    ``None`` stays ``None`` (torch's global generator is used).
    """
    device = torch.device(device)
    if generator is None:
        return None
    if isinstance(generator, torch.Generator):
        if generator.device.type != device.type:
            raise ValueError(f"generator is on {generator.device.type} but the input is on {device.type}; pass a generator created with torch.Generator(device=x.device) or an int seed")
        return generator
    if isinstance(generator, bool) or not isinstance(generator, int):
        raise ValueError(f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}")
    g = torch.Generator(device=device)
    g.manual_seed(generator)
    return g


def seed_from_text(text: str) -> int:
    """A 63-bit seed hashed from ``text`` (SHA-256): independent streams from readable labels such as ``"commae:0:train"``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & ((1 << 63) - 1)


def broadcast_no(no: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``no`` as a real tensor broadcastable to ``x``: a scalar, or ``[B]`` over trailing dims.

    Raises ``ValueError`` for a negative, complex or non-finite ``no``.
    """
    try:
        no = torch.as_tensor(no, device=x.device)
    except (TypeError, ValueError, RuntimeError):
        no = None
    if no is None or no.is_complex() or no.dtype == torch.bool or not bool((torch.isfinite(no) & (no >= 0)).all()):
        raise ValueError("no must be a finite, non-negative noise spectral density N0 (linear, not dB): a number or a [B] tensor")
    no = no.to(x.real.dtype)
    if no.ndim > 0 and (no.ndim > x.ndim or tuple(no.shape) != tuple(x.shape[: no.ndim])):
        raise ValueError(f"no must be a scalar or have the leading shape of x {tuple(x.shape)}, got {tuple(no.shape)}")
    return no.reshape(*no.shape, *([1] * (x.ndim - no.ndim)))


def complex_normal(shape: torch.Size, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Samples of :math:`\\mathcal{CN}(0, 1)` of ``shape``, on ``like``'s device and precision."""
    parts = gaussian((*shape, 2), generator, dtype=like.real.dtype, device=like.device)
    return torch.view_as_complex(parts) * noise_std_per_real_dim(1.0)


def check_flag(value: bool, name: str) -> None:
    """Refuse anything but ``True`` or ``False`` for the flag ``name``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_input(x: torch.Tensor, real: bool) -> None:
    """Refuse channel input that is not a batch-first tensor of the channel's kind (real or complex)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 1:
        raise ValueError("x must have shape [B, n] (batch first), got a scalar")
    if real and not x.is_floating_point():
        raise ValueError(f"x must be a real floating tensor for a real channel, got {x.dtype}")
    if not real and not x.is_complex():
        raise ValueError(f"x must be a complex tensor (complex64) for a complex channel, got {x.dtype}; use real=True for real channel uses")


class Channel(nn.Module):
    r"""Base class of every channel stage; subclass it for a channel of your own.

    A subclass sets the class attributes it changes and writes ``forward``;
    commae's training, simulator, information code and plots then use it like
    the built-in channels.

    Attributes
    ----------
    csi : bool
        ``forward`` returns ``(y, h)``, ``h`` ``[B, n]`` complex64, and the
        receiver is given ``h`` (default False: ``forward`` returns ``y``).
    real : bool
        Real channel uses: ``x`` and ``y`` are float32 (default False: complex64).
    differentiable : bool
        Whether gradients flow from ``y`` to ``x`` (default True). Set it to
        False for a black box (a quantiser, hardware, a simulator you cannot
        backpropagate through): training then refuses backpropagation and
        trains with ``training="model-free"``.
    fading : {"fast", "block"} or None
        The stage multiplies by a random gain ``h``: a new one per channel use
        (``"fast"``) or one per message (``"block"``). None (default): no
        fading. A fading stage without ``csi`` leaves the receiver a gain to
        learn or estimate: commae then defaults the transmitter to a
        per-message power constraint, compares with pilot-aided detection
        (block fading) or with nothing (fast fading), and computes no MI from
        a coherent metric (:attr:`coherent`).
    linear_gaussian : bool
        ``y = h x + w`` exactly, ``w`` circularly-symmetric Gaussian
        :math:`\mathcal{CN}(0, N_0)` (:math:`\mathcal{N}(0, N_0/2)` per real use)
        and ``h`` 1 or this stage's fading gain (default False). Given ``h`` the
        nearest point to :math:`h s` is then the ML decision: the modems
        detect with their slicers, and the engine's fast path may run them.
        False: they detect with :meth:`log_likelihood` where there is one.

    Notes
    -----
    ``forward(x, no, generator=None)``:

    * ``x`` : Tensor, [B, n], complex64 (float32 when ``real``) — unit average
      energy per channel use.
    * ``no`` : float or Tensor, [] or [B] — linear :math:`N_0`; broadcast it
      with :func:`broadcast_no`.
    * ``generator`` : torch.Generator, int seed or None — draw every random
      number from it (:func:`make_generator`), so the same seed gives the
      same output.
    * returns ``y`` [B, n] (``(y, h)`` when ``csi``).

    What commae asks of a channel, besides ``forward``, with the answers a
    subclass inherits:

    * :attr:`name` — the class name, lower case;
    * :attr:`coherent` — True unless ``fading`` is set without ``csi``;
    * :attr:`default_normalization` — ``"batch"``, or ``"message"`` where
      the channel is not :attr:`coherent`;
    * :meth:`log_likelihood` — :math:`\ln p(y \mid s)` for commae's own
      stages and their cascades, None for a channel it does not know
      (override it to give yours: the modems then detect with it, and
      :func:`commae.information.mi_over_channel` computes its MI);
    * :attr:`closed_form` — None: :mod:`commae.theory` has no formulas for it.

    Examples
    --------
    A clipping front end followed by AWGN, in a few lines:

    >>> from commae.channels import AWGN
    >>> class ClippedAWGN(Channel):
    ...     differentiable = False          # treat it as a black box
    ...     def __init__(self, level: float = 0.8):
    ...         super().__init__()
    ...         self.level = level
    ...     def forward(self, x, no, generator=None):
    ...         y = AWGN()(x, no, generator)
    ...         return (y * (self.level / y.abs().clamp_min(self.level))).detach()
    ...     @property
    ...     def name(self):
    ...         return f"clipped-awgn-{self.level:g}"
    >>> ch = ClippedAWGN()
    >>> y = ch(torch.ones(3, 2, dtype=torch.complex64), no=0.01, generator=0)
    >>> ch.name, bool((y.abs() <= 0.8 + 1e-6).all())
    ('clipped-awgn-0.8', True)
    >>> ch.coherent, ch.default_normalization, ch.closed_form, ch.has_likelihood
    (True, 'batch', None, False)

    A fading stage of your own says so, and commae treats it as fading:

    >>> class CarrierPhase(Channel):
    ...     fading = "block"                # one random gain per message, not given to the receiver
    ...     def forward(self, x, no, generator=None):
    ...         gen = make_generator(generator, x.device)
    ...         phase = 2 * torch.pi * torch.rand(x.shape[0], 1, generator=gen, device=x.device)
    ...         return torch.polar(torch.ones_like(phase), phase) * x + AWGN()(torch.zeros_like(x), no, gen)
    >>> CarrierPhase().coherent, CarrierPhase().default_normalization
    (False, 'message')
    """

    csi: bool = False
    real: bool = False
    differentiable: bool = True
    fading: Fading | None = None
    linear_gaussian: bool = False

    @property
    def name(self) -> str:
        """How results name this channel, with its parameters (default: the class name, lower case)."""
        return type(self).__name__.lower()

    @property
    def coherent(self) -> bool:
        """Whether the receiver knows every random gain: no fading stage, or one that gives CSI.

        When False, a detector must learn or estimate the gain: a coherent
        metric that takes ``h = 1`` is not this channel's.
        """
        return self.fading is None or bool(self.csi)

    @property
    def default_normalization(self) -> Normalization:
        """The transmitter's default power constraint over this channel.

        ``"message"`` (energy ``n`` for every message) where a gain is unknown
        to the receiver (not :attr:`coherent`): there an average constraint
        lets messages collapse towards ``x = 0``, which no receiver can tell
        apart without the gain. ``"batch"`` (average energy 1 per use) otherwise.
        """
        return "batch" if self.coherent else "message"

    @property
    def closed_form(self) -> dict[str, Any] | None:
        """The keywords of :mod:`commae.theory`'s closed forms for this channel, or None when it has none.

        E.g. ``{"channel": "rayleigh", "fading": "block"}``; None for a
        channel theory has no model of (impairments, fading without CSI, a
        channel of your own). A baseline passes them on to get its own rates.
        """
        return None

    def log_likelihood(self, y: torch.Tensor, points: torch.Tensor, no: float | torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor | None:
        r""":math:`\ln p(y_i \mid s)` up to a term common to all ``s``, for every use and candidate point, or None.

        The default evaluates the chains commae knows (see
        :func:`commae.channels.symbol_log_likelihood`) over :attr:`stages`,
        and gives None for any other channel. Override it to give the exact
        likelihood of a channel of your own.

        Parameters
        ----------
        y : Tensor, [B, n], complex64 (float32 on a real channel)
        points : Tensor, [M], complex — the candidate transmitted symbols
        no : float or Tensor, [] or [B] — linear N0, > 0
        h : Tensor, [B, n], complex, optional — the CSI this channel gave

        Returns
        -------
        Tensor, [B, n, M], float64, or None.
        """
        from .likelihood import chain_log_likelihood  # the chains of commae's own stages

        return chain_log_likelihood(self, y, points, no, h)

    @property
    def has_likelihood(self) -> bool:
        """Whether :meth:`log_likelihood` gives this channel's exact likelihood (it does not return None)."""
        if type(self).log_likelihood is not Channel.log_likelihood:
            return True
        from .likelihood import likelihood_chain

        return likelihood_chain(self) is not None

    @property
    def stages(self) -> tuple[Channel, ...]:
        """The stages this channel applies in order: itself, or a :class:`~commae.channels.Cascade`'s list."""
        return (self,)


def non_differentiable_stage(channel: Channel) -> Channel | None:
    """The first stage of ``channel`` without a gradient (``differentiable = False``), or None."""
    for stage in channel.stages:
        if not getattr(stage, "differentiable", True):
            return stage
    return None


def split_channel_output(channel: Channel, out: torch.Tensor | tuple[torch.Tensor, torch.Tensor]):
    """``(y, h)`` from a channel's output, with ``h = None`` when it gives no CSI."""
    if channel.csi:
        return out
    return out, None
