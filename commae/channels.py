r"""Differentiable channel models: :class:`AWGN` and :class:`Rayleigh`.

Each channel is an ``nn.Module`` whose ``forward(x, no, generator=None)``
adds its randomness with an explicit ``torch.Generator`` (or an ``int`` seed),
on the device and in the precision of ``x``. The output is an affine function
of ``x`` (``y = h*x + w``) so gradients flow from ``y`` back to ``x``.

Noise follows :mod:`commae.snr`: complex AWGN is :math:`\mathcal{CN}(0, N_0)`,
i.e. variance :math:`N_0/2` per real dimension; a real channel use gets
:math:`\mathcal{N}(0, N_0/2)`.

Examples
--------
>>> x = torch.ones(4, 2, dtype=torch.complex64)
>>> y = AWGN()(x, no=0.1, generator=0)
>>> y.shape, y.dtype
(torch.Size([4, 2]), torch.complex64)
>>> y, h = Rayleigh(fading="block", csi=True)(x, no=0.1, generator=0)
>>> bool((h[:, 0] == h[:, 1]).all())
True
"""

from __future__ import annotations

import hashlib
from typing import Literal

import torch
from torch import nn

from .snr import noise_std_per_real_dim

__all__ = ["Channel", "AWGN", "Rayleigh", "make_generator", "seed_from_text", "split_channel_output", "broadcast_no"]

Fading = Literal["fast", "block"]


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
    """Base class of the channels: says whether the receiver gets CSI.

    ``forward(x, no, generator=None)`` returns ``y``, or ``(y, h)`` when
    :attr:`csi` is True.
    """

    csi: bool = False
    real: bool = False


def split_channel_output(channel: Channel, out: torch.Tensor | tuple[torch.Tensor, torch.Tensor]):
    """``(y, h)`` from a channel's output, with ``h = None`` when it gives no CSI."""
    if channel.csi:
        return out
    return out, None


class AWGN(Channel):
    r"""Additive white Gaussian noise, :math:`y = x + w`.

    Parameters
    ----------
    real : bool
        False (default): complex channel uses, :math:`w \sim \mathcal{CN}(0, N_0)`.
        True: real channel uses, :math:`w \sim \mathcal{N}(0, N_0/2)`, as in
        O'Shea & Hoydis (2017).

    Notes
    -----
    ``forward(x, no, generator=None)``:

    * ``x`` : Tensor, [B, n], complex64 (or float32 when ``real``) — channel input.
    * ``no`` : float or Tensor, [] or [B] — linear :math:`N_0` (see
      :func:`commae.snr.ebno_db_to_no`), broadcast over trailing dims.
    * ``generator`` : torch.Generator on ``x``'s device, an int seed, or None.
    * returns ``y`` : Tensor, same shape and dtype as ``x``.
    """

    def __init__(self, real: bool = False) -> None:
        super().__init__()
        _check_flag(real, "real")
        self.real = real

    def forward(self, x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor:
        _check_input(x, self.real)
        no = broadcast_no(no, x)
        gen = make_generator(generator, x.device)
        if self.real:
            noise = torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=gen)
            return x + noise * noise_std_per_real_dim(no)
        return x + _complex_normal(x.shape, x, gen) * torch.sqrt(no)

    def extra_repr(self) -> str:
        return f"real={self.real}"


class Rayleigh(Channel):
    r"""Flat Rayleigh fading, :math:`y = h x + w`, :math:`h \sim \mathcal{CN}(0, 1)`.

    Parameters
    ----------
    fading : {"fast", "block"}
        ``"fast"``: an independent :math:`h` per channel use;
        ``"block"``: one :math:`h` per message (row of ``x``), the same over its
        ``n`` uses.
    csi : bool
        With perfect CSI the receiver is given ``h``: ``forward`` returns
        ``(y, h)``; without it returns ``y`` only.

    Notes
    -----
    ``forward(x, no, generator=None)`` takes what :class:`AWGN` takes
    (complex ``x`` only) and returns ``y`` or ``(y, h)``, with ``h`` of ``x``'s
    shape (a block-fading ``h`` repeated along the last dim). :math:`E|h|^2 = 1`,
    so the SNR is the average SNR. The fading is drawn before the noise, from
    the same generator.
    """

    def __init__(self, fading: Fading = "fast", csi: bool = True) -> None:
        super().__init__()
        if fading not in ("fast", "block"):
            raise ValueError(f"fading must be 'fast' or 'block', got {fading!r}")
        _check_flag(csi, "csi")
        self.fading: Fading = fading
        self.csi = csi

    def forward(self, x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        _check_input(x, real=False)
        if self.fading == "block" and x.ndim < 2:
            raise ValueError(f"x must have shape [B, n] for block fading (one h per row), got {tuple(x.shape)}")
        no = broadcast_no(no, x)
        gen = make_generator(generator, x.device)
        if self.fading == "fast":
            h = _complex_normal(x.shape, x, gen)
        else:
            h = _complex_normal((*x.shape[:-1], 1), x, gen).expand(x.shape).contiguous()
        y = h * x + _complex_normal(x.shape, x, gen) * torch.sqrt(no)
        return (y, h) if self.csi else y

    def extra_repr(self) -> str:
        return f"fading={self.fading!r}, csi={self.csi}"
