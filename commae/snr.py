r"""SNR conventions: every conversion between dB, Eb/N0, Es/N0 and N0.

This is the only module that knows the convention; everything else calls it.

Convention
----------
* A transmitter emits unit average energy per channel use: :math:`E|x|^2 = 1`
  per complex use, :math:`E x^2 = 1` per real use. So :math:`E_s = 1`.
* ``no`` is the linear :math:`N_0`: complex AWGN is :math:`\mathcal{CN}(0, N_0)`,
  i.e. variance :math:`N_0/2` in each real dimension. A real channel use gets
  the noise of one real dimension, :math:`\mathcal{N}(0, N_0/2)`.
* A system sends ``k`` information bits in ``n`` channel uses (times the code
  rate for a coded modulation), i.e. :math:`r = R\,k/n` bits per use. Then

  .. math::

      E_b = \frac{E_s}{r}, \qquad
      N_0 = \frac{1}{r \, E_b/N_0}, \qquad
      \frac{E_s}{N_0} = r\,\frac{E_b}{N_0}.

  The formulas are the same for complex and real uses (O'Shea & Hoydis 2017
  use exactly this one for real uses: noise variance
  :math:`(2 R E_b/N_0)^{-1}` per real dimension). What differs is the SNR
  *per use*: a complex use carries signal energy 1 over noise power
  :math:`N_0`, a real use signal energy 1 over noise power :math:`N_0/2`
  (see :func:`esno_to_snr`). Uncoded BPSK on either gives
  :math:`Q(\sqrt{2E_b/N_0})`.

All functions accept Python floats, NumPy arrays or torch tensors and return
the same kind.

Examples
--------
>>> round(ebno_db_to_no(0.0, k=1), 6)
1.0
>>> round(ebno_db_to_no(10.0, k=4, n=7), 6)   # Hamming (7,4) with BPSK
0.175
>>> round(ebno_db_to_esno_db(7.0, k=4), 4)    # 16-QAM
13.0206
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import torch

__all__ = [
    "db_to_linear",
    "linear_to_db",
    "bits_per_use",
    "ebno_db_to_esno_db",
    "esno_db_to_ebno_db",
    "esno_db_to_no",
    "no_to_esno_db",
    "ebno_db_to_no",
    "no_to_ebno_db",
    "noise_std_per_real_dim",
    "esno_to_snr",
]

Value = TypeVar("Value", float, np.ndarray, torch.Tensor)


def _log10(x):
    if isinstance(x, torch.Tensor):
        return torch.log10(x)
    if isinstance(x, np.ndarray):
        return np.log10(x)
    return math.log10(x)


def _sqrt(x):
    if isinstance(x, torch.Tensor):
        return torch.sqrt(x)
    if isinstance(x, np.ndarray):
        return np.sqrt(x)
    return math.sqrt(x)


def db_to_linear(x_db: Value) -> Value:
    """``10 ** (x_db / 10)``: a power ratio in dB to linear.

    >>> db_to_linear(3.0)  # doctest: +ELLIPSIS
    1.99526...
    """
    return 10.0 ** (x_db / 10.0)


def linear_to_db(x: Value) -> Value:
    """``10 log10(x)``: a linear power ratio to dB. ``x`` must be positive.

    >>> linear_to_db(100.0)
    20.0
    """
    positive = x > 0
    if not (bool(positive.all()) if isinstance(x, (np.ndarray, torch.Tensor)) else positive):
        raise ValueError(f"a power ratio in linear scale must be positive to convert to dB, got {x}")
    return 10.0 * _log10(x)


def bits_per_use(k: int, n: int = 1, coderate: float = 1.0) -> float:
    """Information bits per channel use, :math:`r = R\\,k/n`.

    Parameters
    ----------
    k : int
        Bits per message (``log2`` of the number of messages), or bits per
        symbol of a modulation.
    n : int
        Channel uses per message (complex or real, see the module notes).
    coderate : float
        Rate of an outer code, in (0, 1].
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer (bits per message), got {k}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer (channel uses per message), got {n}")
    if not 0.0 < coderate <= 1.0:
        raise ValueError(f"coderate must be in (0, 1], got {coderate}")
    return coderate * k / n


def ebno_db_to_esno_db(ebno_db: Value, k: int, n: int = 1, coderate: float = 1.0) -> Value:
    """Eb/N0 in dB to Es/N0 in dB (Es = energy per channel use)."""
    return ebno_db + 10.0 * math.log10(bits_per_use(k, n, coderate))


def esno_db_to_ebno_db(esno_db: Value, k: int, n: int = 1, coderate: float = 1.0) -> Value:
    """Es/N0 in dB to Eb/N0 in dB; the inverse of :func:`ebno_db_to_esno_db`."""
    return esno_db - 10.0 * math.log10(bits_per_use(k, n, coderate))


def esno_db_to_no(esno_db: Value) -> Value:
    """Es/N0 in dB to the linear noise spectral density ``no`` (with Es = 1)."""
    return 10.0 ** (-esno_db / 10.0)


def no_to_esno_db(no: Value) -> Value:
    """Linear ``no`` to Es/N0 in dB (with Es = 1)."""
    return -linear_to_db(no)


def ebno_db_to_no(ebno_db: Value, k: int, n: int = 1, coderate: float = 1.0) -> Value:
    r"""Eb/N0 in dB to the linear ``no`` a channel needs, with Es = 1 per use.

    .. math:: N_0 = \left(R\,\tfrac{k}{n}\,10^{E_b/N_0\,[\mathrm{dB}]/10}\right)^{-1}

    Parameters
    ----------
    ebno_db : float, ndarray or Tensor
        Eb/N0 in dB.
    k, n, coderate
        As in :func:`bits_per_use`.

    Returns
    -------
    no : same kind as ``ebno_db``
        :math:`N_0`; complex noise is :math:`\mathcal{CN}(0, N_0)`.
    """
    return esno_db_to_no(ebno_db_to_esno_db(ebno_db, k, n, coderate))


def no_to_ebno_db(no: Value, k: int, n: int = 1, coderate: float = 1.0) -> Value:
    """Linear ``no`` to Eb/N0 in dB; the inverse of :func:`ebno_db_to_no`."""
    return esno_db_to_ebno_db(no_to_esno_db(no), k, n, coderate)


def noise_std_per_real_dim(no: Value) -> Value:
    r"""Standard deviation :math:`\sqrt{N_0/2}` of the noise in one real dimension."""
    return _sqrt(no / 2.0)


def esno_to_snr(esno: Value, real: bool = False) -> Value:
    r"""Linear Es/N0 to the SNR of one channel use (signal over noise power).

    A complex use has noise power :math:`N_0`, so SNR = Es/N0; a real use has
    noise power :math:`N_0/2`, so SNR = 2 Es/N0. Capacity per use is
    :math:`\log_2(1+\mathrm{SNR})` (complex) or
    :math:`\tfrac12\log_2(1+\mathrm{SNR})` (real).
    """
    return 2.0 * esno if real else esno
