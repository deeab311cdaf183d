r"""The channel base class and the helpers every stage shares.

A channel is an ``nn.Module`` stage with ``forward(x, no, generator=None)``:
it takes channel symbols ``x`` ``[B, n]`` (complex64, or float32 on a real
channel), the linear noise density ``no`` (scalar or ``[B]``) and an explicit
``torch.Generator`` (or an ``int`` seed), and returns ``y``, or ``(y, h)``
when it hands channel state information to the receiver. Three class
attributes say what the rest of commae may assume of it:

* ``csi`` — ``forward`` returns ``(y, h)`` and the receiver is given ``h``;
* ``real`` — real channel uses instead of complex ones;
* ``differentiable`` — gradients flow from ``y`` back to ``x``. A channel
  without a gradient is trained through with model-free training
  (:class:`commae.training.ModelFree`).

Its :attr:`Channel.name` (parameters included) is what result files show.
Subclass :class:`Channel` for a channel of your own; see its docstring.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from ..snr import noise_std_per_real_dim

__all__ = ["Channel", "make_generator", "seed_from_text", "split_channel_output", "broadcast_no", "non_differentiable_stage"]


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


def _complex_normal(shape: torch.Size, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Samples of :math:`\\mathcal{CN}(0, 1)` of ``shape``, on ``like``'s device and precision."""
    parts = torch.randn((*shape, 2), dtype=like.real.dtype, device=like.device, generator=generator)
    return torch.view_as_complex(parts) * noise_std_per_real_dim(1.0)


def _check_flag(value: bool, name: str) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _check_input(x: torch.Tensor, real: bool) -> None:
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
    """

    csi: bool = False
    real: bool = False
    differentiable: bool = True

    @property
    def name(self) -> str:
        """How results name this channel, with its parameters (default: the class name, lower case)."""
        return type(self).__name__.lower()

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
