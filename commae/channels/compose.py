r"""Stages in series: :class:`Cascade`.

A :class:`Cascade` applies its stages in order (e.g. PA → Rician → phase
noise → ADC), drawing every random number from one generator, and is a
:class:`~commae.channels.Channel` like any other: it is differentiable when
every stage is, gives CSI when a fading stage does (at most one may), fades
when a stage does, is :attr:`~commae.channels.Channel.coherent` when every
stage is, and names itself by its stages joined with ``+``. Its
:meth:`~commae.channels.Channel.log_likelihood` is the chain's (see
:mod:`commae.channels.likelihood`).

Examples
--------
>>> from commae.channels import AWGN, ADC, PhaseNoise
>>> ch = Cascade(AWGN(), PhaseNoise(0.1), ADC(bits=3))
>>> ch.name, ch.differentiable
('awgn+phase-noise-iid-0.1rad+adc-3bit-clip1.5', False)
>>> y = ch(torch.ones(4, 1, dtype=torch.complex64), no=0.1, generator=0)
>>> y.shape
torch.Size([4, 1])
"""

from __future__ import annotations

import torch

from .base import Channel, make_generator

__all__ = ["Cascade"]


class Cascade(Channel):
    r"""Channel stages applied in series: ``y = stage_L(… stage_1(x))``.

    Parameters
    ----------
    *stages : Channel
        At least one; all real or all complex; at most one with CSI.

    Notes
    -----
    ``forward(x, no, generator=None)``: each stage gets the previous stage's
    output, the same ``no`` and the same generator (an ``int`` seed makes one
    generator for the whole chain), in order. Returns ``y``, or ``(y, h)``
    with the ``h`` of the fading stage. ``Cascade(AWGN())`` gives exactly
    ``AWGN()``'s numbers.

    A cascade is not :attr:`~commae.channels.Channel.linear_gaussian` and has
    no :attr:`~commae.channels.Channel.closed_form`, whatever its stages: a
    modem detects on it with its likelihood.
    """

    def __init__(self, *stages: Channel) -> None:
        super().__init__()
        if len(stages) == 1 and isinstance(stages[0], (list, tuple)):
            stages = tuple(stages[0])
        if not stages:
            raise ValueError("a Cascade needs at least one stage")
        for stage in stages:
            if not isinstance(stage, Channel):
                raise ValueError(f"every stage must be a commae Channel, got {type(stage).__name__}")
        if len({bool(s.real) for s in stages}) > 1:
            raise ValueError("stages must all be real or all complex: " + ", ".join(f"{s.name} (real={s.real})" for s in stages))
        if sum(bool(s.csi) for s in stages) > 1:
            raise ValueError("at most one stage may hand CSI to the receiver, got " + ", ".join(s.name for s in stages if s.csi))
        self.chain = torch.nn.ModuleList(stages)
        self.real = bool(stages[0].real)
        self.csi = any(s.csi for s in stages)
        self.differentiable = all(getattr(s, "differentiable", True) for s in stages)
        fadings = {s.fading for s in self.stages}
        self.fading = "fast" if "fast" in fadings else "block" if "block" in fadings else None  # the fastest gain sets it

    @property
    def stages(self) -> tuple[Channel, ...]:
        return tuple(stage for s in self.chain for stage in s.stages)

    def forward(self, x: torch.Tensor, no: float | torch.Tensor, generator: torch.Generator | int | None = None):
        gen = make_generator(generator, x.device)
        h = None
        for stage in self.chain:
            out = stage(x, no, generator=gen)
            if stage.csi:
                x, h = out
            else:
                x = out
        return (x, h) if self.csi else x

    @property
    def coherent(self) -> bool:
        """Whether the receiver knows every stage's gain (each stage is coherent)."""
        return all(s.coherent for s in self.stages)

    @property
    def name(self) -> str:
        """The stages' names joined with ``+``."""
        return "+".join(s.name for s in self.chain)
