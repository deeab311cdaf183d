r"""Channel stages: differentiable :class:`AWGN`, :class:`Rayleigh` and :class:`Rician` fading,
:class:`PhaseNoise`, the :class:`RappPA` amplifier, the non-differentiable :class:`ADC`, and
:class:`Cascade` to chain them; :class:`Channel` is the base class of your own.

One module per stage family: ``base`` (the base class and shared helpers),
``awgn``, ``fading``, ``phase_noise``, ``adc``, ``pa`` and ``compose``, and
``likelihood`` (the exact likelihood of the chains commae can evaluate).

Behaviour is asked of the channel object, never decided by its class:
``coherent`` (the receiver knows every gain), ``default_normalization``,
``log_likelihood``, ``closed_form`` (the model :mod:`commae.theory` has for
it), ``fading``, ``linear_gaussian``, ``differentiable``, ``csi``, ``real``.

Each stage is an ``nn.Module`` whose ``forward(x, no, generator=None)``
draws its randomness from an explicit ``torch.Generator`` (or an ``int``
seed), on the device and in the precision of ``x``. Noise follows
:mod:`commae.snr`: complex AWGN is :math:`\mathcal{CN}(0, N_0)`, i.e.
variance :math:`N_0/2` per real dimension; a real channel use gets
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
>>> Cascade(RappPA(backoff_db=3.0), Rician(k_factor=3.0), PhaseNoise(0.05), ADC(bits=4)).name
'rapp-p3-A1-ibo3dB+rician-K3-fast-csi+phase-noise-iid-0.05rad+adc-4bit-clip1.5'
>>> ch = Cascade(Rician(k_factor=3.0, fading="block", csi=False), PhaseNoise(0.05))
>>> ch.fading, ch.coherent, ch.default_normalization, ch.has_likelihood
('block', False, 'message', False)
"""

from __future__ import annotations

import torch  # noqa: F401  (doctest namespace)

from .adc import ADC
from .awgn import AWGN
from .base import Channel, broadcast_no, make_generator, non_differentiable_stage, seed_from_text, split_channel_output
from .compose import Cascade
from .fading import Rayleigh, Rician
from .likelihood import symbol_log_likelihood
from .pa import RappPA
from .phase_noise import PhaseNoise

__all__ = [
    "Channel",
    "AWGN",
    "Rayleigh",
    "Rician",
    "PhaseNoise",
    "ADC",
    "RappPA",
    "Cascade",
    "symbol_log_likelihood",
    "non_differentiable_stage",
    "make_generator",
    "seed_from_text",
    "split_channel_output",
    "broadcast_no",
]
