r"""Mutual information of constellations and of trained systems, in bits.

What this module computes, for :math:`M = 2^k` equiprobable points
:math:`s_1, \dots, s_M` of unit average energy:

* :func:`mi` — the mutual information :math:`I(X;Y)` of the constellation
  over complex AWGN (or real AWGN, or Rayleigh fading with perfect CSI): the
  rate of the best (symbol-metric) receiver, the *coded-modulation* limit.
* :func:`bmi` — the bit-wise mutual information :math:`\sum_i I(B_i;Y)` of
  a labelled constellation, the rate of a bit-metric decoder (BICM); the GMI
  with the exact bit metrics.
* :func:`mi_with_interval` — either of the two by Monte Carlo, with a
  normal-approximation confidence interval.
* :func:`capacity_rayleigh` — the ergodic capacity of Rayleigh fading with
  CSI; :func:`capacity_awgn` (from :mod:`commae.theory`) is re-exported.
* :func:`mi_from_losses` and :func:`estimate_mi` — the MI lower bound that a
  trained receiver's cross-entropy implies, with its interval.
* :func:`mi_over_channel` — MI and BMI by Monte Carlo over any channel with
  a likelihood (:meth:`~commae.channels.Channel.log_likelihood`).
* :func:`channel_mi` and :func:`channel_capacity` — for a channel object, the
  estimator that applies to it (quadrature over AWGN, Monte Carlo over
  Rayleigh with CSI or over the channel's exact likelihood) and its
  closed-form capacity; None (no MI) where no valid estimate exists, e.g.
  fading without CSI.
* :func:`mi_table` — both, for several constellations over one channel: the
  rows of ``commae info`` (:data:`MI_TABLE_COLUMNS`).
* :func:`check_information` — the one range check of a printed MI or BMI: a
  value outside :math:`[0, k]` by more than :data:`INFORMATION_TOLERANCE_BITS`
  is an error of the estimator or of the channel model, and raises
  :class:`ImpossibleInformation` instead of being reported.

Units
-----
SNR inputs are :math:`E_s/N_0` in dB **per channel use** (``esno_db``), with
:math:`E_s = 1` and the noise of :mod:`commae.snr`: :math:`\mathcal{CN}(0,
N_0)` per complex use, :math:`\mathcal{N}(0, N_0/2)` per real use. Outputs
are bits **per channel use**; a message of ``n`` uses carries ``n`` times
that. :func:`mi` and :func:`bmi` also take ``ebno_db=`` instead, converted by
:func:`commae.snr.ebno_db_to_esno_db` with ``k = log2 M`` bits per use; for
a system of ``k`` bits in ``n`` uses the conversion is
``esno_db = ebno_db_to_esno_db(ebno_db, k, n)``.

Method
------
With :math:`y = s_i + w` and :math:`w = \sqrt{N_0}\,z`, the likelihood ratio
of point :math:`s_j` to the sent one depends on :math:`a_{ij} = (s_i -
s_j)/\sqrt{N_0}` and :math:`z` only,

.. math::

    \ln\frac{p(y \mid s_j)}{p(y \mid s_i)} = -\left(|a_{ij} + z|^2 - |z|^2\right)
        = -|a_{ij}|^2 - 2\,\mathrm{Re}(a_{ij} z^*) \le |z|^2 ,

so that (Ungerboeck 1982; Caire, Taricco & Biglieri 1998)

.. math::

    I(X;Y) = \log_2 M - \frac1M \sum_{i=1}^{M}
        \mathbb{E}_z\!\left[\log_2 \sum_{j=1}^{M}
        e^{-|a_{ij}|^2 - 2\,\mathrm{Re}(a_{ij} z^*)}\right],

    \mathrm{BMI} = k - \frac1M \sum_{i=1}^{M} \sum_{b=1}^{k}
        \mathbb{E}_z\!\left[\log_2 \frac{\sum_{j} e^{\cdots}}
        {\sum_{j:\, c_b(j) = c_b(i)} e^{\cdots}}\right],

with :math:`c_b(j)` bit :math:`b` of the label of :math:`s_j`. Both sums
contain :math:`j = i` (a term :math:`e^0 = 1`), so each logarithm is
non-negative and no exponent exceeds :math:`|z|^2`: no overflow, and no
log-sum-exp shift is needed.

* ``method="quadrature"`` evaluates :math:`\mathbb{E}_z` with a tensor-product
  Gauss–Hermite rule (Abramowitz & Stegun 1964, 25.4.46): :math:`\mathrm{Re}\,z`
  and :math:`\mathrm{Im}\,z` are :math:`\mathcal{N}(0, \tfrac12)`, i.e. weight
  :math:`e^{-x^2}/\sqrt\pi` each. Product nodes whose weight is below
  :math:`10^{-16}` of the largest are dropped (they change nothing and keep
  :math:`|z|^2 < 37`). A real channel use takes the 1-D rule.
* ``method="monte_carlo"`` averages the same information density over
  sampled points and noise (and fading), drawn from a seeded
  ``torch.Generator``; :func:`mi_with_interval` returns the interval too.

Over Rayleigh fading, :math:`y = h x + w`, :math:`h \sim \mathcal{CN}(0,1)`
per channel use (fast fading), and the receiver knows :math:`h` (perfect
CSI); the result is :math:`I(X; Y \mid H)`, Monte Carlo only.

References
----------
G. Ungerboeck, "Channel coding with multilevel/phase signals", IEEE Trans.
Inf. Theory 28(1), 1982.

G. Caire, G. Taricco and E. Biglieri, "Bit-interleaved coded modulation",
IEEE Trans. Inf. Theory 44(3), 1998.

A. Guillén i Fàbregas, A. Martinez and G. Caire, *Bit-Interleaved Coded
Modulation*, Foundations and Trends in Communications and Information
Theory 5(1–2), 2008.

A. Goldsmith, *Wireless Communications*, Cambridge University Press, 2005,
Sec. 4.2 (ergodic capacity of fading channels).

M. Abramowitz and I. A. Stegun, *Handbook of Mathematical Functions*, 1964.

Examples
--------
>>> from commae.constellations import qam
>>> mi(qam(16), [0.0, 10.0]).round(4)           # Es/N0 in dB -> bits per complex use
array([0.9897, 3.1639])
>>> round(float(bmi(qam(16), 0.0)), 4)          # Gray labels, bit-metric decoding
0.8993
>>> round(float(mi(qam(16), ebno_db=6.0)), 4)   # same as esno_db = 6 + 10 log10(4)
3.5831
>>> round(float(capacity_rayleigh(10.0)), 4)    # ergodic, CSI at the receiver
2.9065
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from numpy.polynomial.hermite import hermgauss
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar
from scipy.special import exp1, ndtri

from . import distributed as _dist
from .channels import Channel, make_generator, seed_from_text, split_channel_output
from .constellations import Constellation, draw_indices, entropy_bits, int_to_bits, maxwell_boltzmann, pam, qam
from .losses import BitwiseBCE, SymbolCrossEntropy
from .snr import db_to_linear, ebno_db_to_esno_db, ebno_db_to_no, esno_db_to_ebno_db, esno_db_to_no
from .theory import capacity_awgn

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "mi",
    "bmi",
    "mi_with_interval",
    "capacity_rayleigh",
    "capacity_awgn",
    "mi_from_losses",
    "estimate_mi",
    "mi_over_channel",
    "channel_mi",
    "channel_capacity",
    "mi_table",
    "MI_TABLE_COLUMNS",
    "best_maxwell_boltzmann",
    "check_information",
    "ImpossibleInformation",
    "INFORMATION_TOLERANCE_BITS",
]

ChannelName = Literal["awgn", "rayleigh"]
Method = Literal["quadrature", "monte_carlo"]
ConstellationLike = Constellation | torch.Tensor | np.ndarray

_CHANNELS = ("awgn", "rayleigh")
_FADES = {"awgn": False, "rayleigh": True}  # the model draws h ~ CN(0, 1) per use
_METHODS = ("quadrature", "monte_carlo")
_LN2 = math.log(2.0)

# Gauss-Hermite nodes per real dimension. The integrand is smooth but, at high
# SNR, bends sharply where z crosses a decision boundary. Against a 160-node
# rule, on Es/N0 = -10 ... 40 dB, 48 nodes are within 2e-5 bit (MI and BMI) for
# QPSK, 8-PSK and 16/64/256-QAM (worst near 64-QAM at 21.5 dB); 32 nodes reach
# 1e-4, 64 nodes 4e-6 at 1.4x the cost.
_GH_NODES = 48
# Product nodes lighter than this fraction of the heaviest are dropped.
_GH_PRUNE = 1e-16
# Elements of the [chunk, M] (Monte Carlo) or [chunk, K, M] (quadrature) arrays.
_CHUNK_ELEMENTS = 1 << 20

_DEFAULT_SAMPLES = 100_000

#: How far (bits) an MI or BMI estimate may leave [0, k] and still be reported (clamped into it).
#: The quadrature is within 2e-5 bit of a 160-node rule and never exceeds k; a Monte Carlo
#: estimate never exceeds k either (every sum of likelihoods holds the sent point's) and falls
#: below 0 only by its noise where the MI is ~0. Measured (16-QAM, Rayleigh with CSI, Es/N0
#: -30 dB, MI 1.5e-3 bit, 200 seeds): its standard error is 1.9e-3 bit with 1000 samples, so
#: about 1.4e-4 bit with the default 200 000: 1e-3 bit is 7 of them. With very few samples a
#: point whose MI is ~1e-3 bit can fall out; the error then suggests more samples.
INFORMATION_TOLERANCE_BITS = 1e-3


class ImpossibleInformation(ValueError):
    """An MI or BMI estimate outside [0, k]: the estimator or the channel model is wrong. ``str()`` is one line naming the system and SNR."""


def check_information(value: float, k: float, *, what: str, system: str, snr: str, tolerance: float = INFORMATION_TOLERANCE_BITS) -> float:
    """``value`` (bits) if it is an MI or BMI of ``k`` bits: clamped into ``[0, k]`` within ``tolerance``, else :class:`ImpossibleInformation`.

    The one range check of every MI a command prints (``commae info``'s MI and
    BMI, the baselines' MI in ``commae train``'s report). A value beyond the
    tolerance is no result: an information between ``k`` input bits and the
    output cannot be negative or exceed ``k``. NaN (no MI there) passes as NaN.
    A cross-entropy *bound* (an untrained receiver's can be negative) is not
    checked here: it is printed as a bound.

    >>> check_information(3.99999, 4, what="MI", system="qam16", snr="Es/N0 40 dB")
    3.99999
    >>> check_information(-2e-4, 4, what="MI", system="qam16", snr="Es/N0 -30 dB")
    0.0
    >>> check_information(-13.8, 4, what="MI", system="apsk16", snr="Es/N0 42 dB")
    Traceback (most recent call last):
    ...
    commae.information.ImpossibleInformation: MI of apsk16 at Es/N0 42 dB is -13.8000 bit, outside [0, 4] bit by more than 0.001 bit: the estimator or the channel model is wrong, so it is not reported
    """
    value = float(value)
    if math.isnan(value):
        return value
    if -tolerance <= value <= k + tolerance:
        return min(max(value, 0.0), float(k))
    hint = " (a Monte Carlo estimate this near 0 may need more samples)" if -0.05 < value < 0 else ""
    raise ImpossibleInformation(
        f"{what} of {system} at {snr} is {value:.4f} bit, outside [0, {k:g}] bit by more than {tolerance:g} bit: the estimator or the channel model is wrong, so it is not reported{hint}"
    )


# --------------------------------------------------------------------------- checks
def _check_channel(channel: str) -> None:
    if channel not in _CHANNELS:
        raise ValueError(f"channel must be 'awgn' or 'rayleigh', got {channel!r}")


def _check_method(method: str, channel: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"method must be 'quadrature' or 'monte_carlo', got {method!r}")
    if method == "quadrature" and channel != "awgn":
        raise ValueError(f"method='quadrature' supports channel='awgn' only; use method='monte_carlo' for channel={channel!r}")


def _check_flag(value: bool, name: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _check_samples(num_samples: int, name: str = "num_samples") -> int:
    if not isinstance(num_samples, numbers.Integral) or isinstance(num_samples, bool) or num_samples < 1:
        raise ValueError(f"{name} must be a positive integer (>= 1), got {num_samples!r}")
    return int(num_samples)


def _check_confidence(confidence: float) -> float:
    try:
        value = float(confidence)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise ValueError(f"confidence must be a probability in (0, 1) such as 0.95, got {confidence!r}")
    return value


def _check_seed(seed: int) -> int:
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def _numpy(value: object, dtype: type, refusal: str) -> np.ndarray:
    """``value`` (a tensor, array or sequence) as a numpy array of ``dtype``, or a ``ValueError``: ``refusal`` and the type given."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{refusal}, got {type(value).__name__}") from None


def _db_array(value: ArrayLike, name: str) -> np.ndarray:
    """An SNR in dB as a finite float array, or a ``ValueError`` naming ``name``."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number or array of numbers in dB, got {value!r}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite (an SNR in dB), got {value!r}")
    return array


def _snr_array(esno_db: ArrayLike | None, ebno_db: ArrayLike | None, k: int) -> np.ndarray:
    """Es/N0 in dB as a float array, from exactly one of ``esno_db`` and ``ebno_db`` (``k`` bits per use)."""
    if (esno_db is None) == (ebno_db is None):
        raise ValueError("give exactly one of esno_db (Es/N0 in dB per channel use) and ebno_db (Eb/N0 in dB)")
    if ebno_db is None:
        return _db_array(esno_db, "esno_db")
    return np.asarray(ebno_db_to_esno_db(_db_array(ebno_db, "ebno_db"), k), dtype=float)


def _points_and_labels(constellation: ConstellationLike, real: bool, probabilities: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    r"""Unit-energy points ``[M]`` complex128, bit labels ``[M, k]`` float64 and the point probabilities ``[M]`` (None: equiprobable).

    A bare array of points gets the natural labels (point ``i`` carries the
    bits of ``i``, MSB first), as :class:`~commae.constellations.Constellation` does.
    The probabilities are ``probabilities`` when given, else a shaped
    constellation's own; the points are then scaled to unit energy under them
    (:math:`\sum_i p_i |s_i|^2 = 1`) unless they are so within 1e-6 (a
    constellation's float32 points: kept as they are, so that uniform
    ``probabilities`` give the equiprobable MI to rounding).
    """
    if isinstance(constellation, Constellation):
        points = constellation.points.detach().cpu().numpy().astype(np.complex128)
        labels = constellation.bit_labels.cpu().numpy().astype(np.float64)
        if probabilities is None and constellation.shaped:
            probabilities = constellation.probabilities.detach().cpu().numpy()
    else:
        points = _numpy(constellation, np.complex128, "constellation must be a Constellation or a 1-D array of complex points")
        if points.ndim != 1:
            raise ValueError(f"constellation must be a Constellation or a 1-D array of complex points, got shape {points.shape}")
        num_points = points.shape[0]
        if num_points < 2 or num_points & (num_points - 1):
            raise ValueError(f"constellation must have a power of two >= 2 of points (2, 4, 8, 16, ...), got {num_points}")
        if not np.isfinite(points).all():
            raise ValueError("constellation points must be finite")
        energy = float(np.mean(np.abs(points) ** 2))
        if energy <= 0.0:
            raise ValueError("constellation points must not all be zero")
        # Es = 1, as commae.snr assumes: the SNR is that of the normalised points.
        points = points / math.sqrt(energy)
        k = num_points.bit_length() - 1
        labels = int_to_bits(torch.arange(num_points), k).numpy().astype(np.float64)
    prior = None
    if probabilities is not None:
        prior = _numpy(probabilities, np.float64, f"probabilities must be an array of {points.shape[0]} positive numbers summing to 1")
        if prior.shape != points.shape or not np.isfinite(prior).all() or (prior <= 0).any() or abs(prior.sum() - 1.0) > 1e-6:
            raise ValueError(f"probabilities must be an array of {points.shape[0]} positive numbers summing to 1 (one per point), got shape {prior.shape} and sum {prior.sum():.6g}")
        prior = prior / prior.sum()
        energy = float(prior @ np.abs(points) ** 2)
        if abs(energy - 1.0) > 1e-6:  # unit energy under the probabilities (points already so, within float32 rounding, are kept)
            points = points / math.sqrt(energy)
    if real and np.abs(points.imag).max() > 1e-6:
        raise ValueError("real=True needs real constellation points (zero imaginary parts, e.g. pam(M)); use real=False for complex points")
    return points, labels, prior


# ------------------------------------------------------------------- the one density
def _densities(e: torch.Tensor, own_bits: torch.Tensor | None, labels: torch.Tensor, bitwise: bool, log_prior: torch.Tensor | None = None, entropy: float | None = None) -> torch.Tensor:
    r"""Information density in bits of each sample, from its log-likelihood ratios.

    Parameters
    ----------
    e : Tensor, [..., M], float64
        :math:`\ln p(y \mid s_j) - \ln p(y \mid s_i)` for the sent point
        :math:`s_i` of each sample; at most :math:`|z|^2`, and 0 at :math:`j = i`.
        Overwritten (exponentiated in place).
    own_bits : Tensor, [..., k], float64, or None
        Bit label of the sent point (needed when ``bitwise``).
    labels : Tensor, [M, k], float64
        Bit labels of all points.
    bitwise : bool
        BMI density :math:`k - \sum_b \log_2(\sum_j / \sum_{j: c_b(j)=c_b(i)})`
        instead of the MI density :math:`\log_2 M - \log_2 \sum_j`.
    log_prior : Tensor, [M], float64, optional
        :math:`\ln p_j` of non-equiprobable points: each term is then weighted
        by :math:`p_j`, the MI density is :math:`-\log_2 \sum_j p_j e^{e_j}`
        and the bit-wise one :math:`H(X) - \sum_b \log_2(\sum_j / \sum_{j:
        c_b(j)=c_b(i)})` (``entropy`` = :math:`H(X)` in bits). The sums hold
        the sent point's :math:`p_i > 0`: finite logarithms.

    Returns
    -------
    Tensor, [...], float64
    """
    if log_prior is not None:
        e.add_(log_prior)  # ln p_j p(y|s_j) / p(y|s_i) <= |z|^2
    terms = e.exp_()  # [..., M] in place, each <= exp(|z|^2), the j = i term is 1 (p_i when shaped)
    total = terms.sum(-1)  # [...] >= 1 (>= p_i when shaped)
    num_points, k = labels.shape
    if not bitwise:
        if log_prior is not None:
            return -torch.log(total) / _LN2
        return (math.log(num_points) - torch.log(total)) / _LN2
    ones = terms @ labels  # [..., k]: points whose bit b is 1
    zeros = terms @ (1.0 - labels)  # [..., k]: points whose bit b is 0
    same = torch.where(own_bits > 0.5, ones, zeros)  # [..., k] >= 1 (>= p_i): contains j = i
    return (k if log_prior is None else entropy) - (torch.log(total).unsqueeze(-1) - torch.log(same)).sum(-1) / _LN2


def _quadrature_rule(real: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Gauss–Hermite nodes ``z`` ``[K]`` complex128 and weights ``[K]`` (summing to 1) of ``z`` ~ CN(0, 1) or N(0, 1/2)."""
    x, w = hermgauss(_GH_NODES)
    w = w / math.sqrt(math.pi)  # weights of N(0, 1/2) at nodes x
    if real:
        z, weights = x.astype(np.complex128), w
    else:
        z = (x[:, None] + 1j * x[None, :]).ravel()  # tensor product, [N*N]
        weights = np.outer(w, w).ravel()
    keep = weights > _GH_PRUNE * weights.max()
    weights = weights[keep] / weights[keep].sum()
    return torch.from_numpy(z[keep]), torch.from_numpy(weights)


def _mi_quadrature(points: np.ndarray, labels: np.ndarray, no: float, real: bool, bitwise: bool, prior: np.ndarray | None = None) -> float:
    """MI or BMI (bits per use) over AWGN by Gauss–Hermite quadrature; ``prior``: the points' probabilities (None: equiprobable)."""
    z, weights = _quadrature_rule(real)
    log_prior, entropy, prior_t = _prior_terms(prior)
    pts = torch.from_numpy(points)
    lab = torch.from_numpy(labels)
    num_points, num_nodes = pts.shape[0], z.shape[0]
    nodes = -2.0 * torch.stack([z.real, z.imag], -1)  # [K, 2]
    chunk = max(1, _CHUNK_ELEMENTS // (num_points * num_nodes))
    scale = math.sqrt(no)
    total = 0.0
    for start in range(0, num_points, chunk):
        a = (pts[start : start + chunk, None] - pts[None, :]) / scale  # [c, M]
        parts = torch.stack([a.real, a.imag], 1)  # [c, 2, M]
        # -|a|^2 - 2 Re(a z*) at every node, one batched matmul: [c, K, M]
        e = torch.baddbmm(-(a.abs() ** 2)[:, None, :], nodes.expand(a.shape[0], -1, -1), parts)
        own = lab[start : start + chunk, None, :].expand(-1, num_nodes, -1)  # [c, K, k]
        density = _densities(e, own, lab, bitwise, log_prior, entropy)  # [c, K]
        per_point = density @ weights  # [c]: E_z of the density of each sent point
        total += float(per_point.sum()) if prior_t is None else float(per_point @ prior_t[start : start + chunk])
    return total / num_points if prior_t is None else total


def _prior_terms(prior: np.ndarray | None) -> tuple[torch.Tensor | None, float | None, torch.Tensor | None]:
    """``(ln p, H(X) in bits, p)`` as float64 tensors of the points' probabilities; Nones for equiprobable points."""
    if prior is None:
        return None, None, None
    p = torch.from_numpy(np.asarray(prior, dtype=np.float64))
    return torch.log(p), entropy_bits(p), p


def _mc_densities(
    points: np.ndarray,
    labels: np.ndarray,
    no: float,
    channel: str,
    real: bool,
    bitwise: bool,
    num_samples: int,
    seed: int,
    prior: np.ndarray | None = None,
) -> torch.Tensor:
    """Per-sample information densities ``[num_samples]`` (bits) of points, noise and fading drawn from ``seed``.

    Draws, per chunk and in this order from one generator: point indices
    (uniform, or from ``prior`` by :func:`~commae.constellations.draw_indices`),
    fading :math:`h` (Rayleigh), noise :math:`z`.
    """
    gen = make_generator(seed, "cpu")
    log_prior, entropy, prior_t = _prior_terms(prior)
    pts = torch.from_numpy(points)
    lab = torch.from_numpy(labels)
    num_points = pts.shape[0]
    scale = math.sqrt(no)
    chunk = max(1, _CHUNK_ELEMENTS // num_points)
    out = []
    for start in range(0, num_samples, chunk):
        size = min(chunk, num_samples - start)
        index = torch.randint(num_points, (size,), generator=gen) if prior_t is None else draw_indices(prior_t, size, gen)
        if _FADES[channel]:
            h = torch.view_as_complex(torch.randn(size, 2, dtype=torch.float64, generator=gen)) / math.sqrt(2.0)
        else:
            h = torch.ones(size, dtype=torch.complex128)
        if real:
            z = torch.randn(size, dtype=torch.float64, generator=gen).to(torch.complex128) / math.sqrt(2.0)
        else:
            z = torch.view_as_complex(torch.randn(size, 2, dtype=torch.float64, generator=gen)) / math.sqrt(2.0)
        a = h[:, None] * (pts[index, None] - pts[None, :]) / scale  # [B, M]
        e = -(a.abs() ** 2) - 2.0 * (a.real * z.real[:, None] + a.imag * z.imag[:, None])
        out.append(_densities(e, lab[index], lab, bitwise, log_prior, entropy))
    return torch.cat(out)


def _interval(values: torch.Tensor | np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean and its normal-approximation interval, from the sample standard deviation."""
    values = torch.as_tensor(values, dtype=torch.float64)
    mean = float(values.mean())
    half = 0.0
    if values.numel() > 1:
        half = float(ndtri(0.5 + 0.5 * confidence)) * float(values.std(unbiased=True)) / math.sqrt(values.numel())
    return mean, mean - half, mean + half


def _information(
    constellation: ConstellationLike,
    esno_db: ArrayLike | None,
    ebno_db: ArrayLike | None,
    channel: str,
    real: bool,
    method: str,
    num_samples: int,
    seed: int,
    bitwise: bool,
    probabilities: ArrayLike | None = None,
) -> np.ndarray:
    _check_channel(channel)
    _check_method(method, channel)
    _check_flag(real, "real")
    if real and channel != "awgn":
        raise ValueError("channel='rayleigh' needs complex channel uses: use real=False")
    num_samples = _check_samples(num_samples)
    seed = _check_seed(seed)
    points, labels, prior = _points_and_labels(constellation, real, probabilities)
    esno = _snr_array(esno_db, ebno_db, labels.shape[1])
    result = np.empty(esno.shape)
    for idx, value in np.ndenumerate(esno):
        no = float(esno_db_to_no(value))
        if method == "quadrature":
            result[idx] = _mi_quadrature(points, labels, no, real, bitwise, prior)
        elif _dist.is_distributed():  # torchrun: each rank draws its share from its own stream
            result[idx] = _interval_over_ranks(points, labels, no, channel, real, bitwise, num_samples, seed, 0.95, prior)[0]
        else:  # the same seed at every SNR: common random numbers, smooth curves
            result[idx] = float(_mc_densities(points, labels, no, channel, real, bitwise, num_samples, seed, prior).mean())
    return result


def _interval_over_ranks(
    points: np.ndarray, labels: np.ndarray, no: float, channel: str, real: bool, bitwise: bool, num_samples: int, seed: int, confidence: float, prior: np.ndarray | None = None
) -> tuple[float, float, float]:
    """:func:`_interval` of ``num_samples`` densities split over the ranks of a process group.

    Rank ``r`` of ``N`` draws ``num_samples // N`` (one more for the first
    ``num_samples % N`` ranks) from a seed derived from ``(seed, r)``; the
    sums of the densities and of their squares are all-reduced.
    """
    r, world = _dist.rank(), _dist.world_size()
    share = num_samples // world + (1 if r < num_samples % world else 0)
    local = torch.zeros(3, dtype=torch.float64)
    if share:
        d = _mc_densities(points, labels, no, channel, real, bitwise, share, seed_from_text(f"commae-mi:{seed}:rank{r}"), prior)
        local = torch.stack([d.sum(), (d * d).sum(), torch.tensor(float(share), dtype=torch.float64)])
    total, total_sq, count = (float(v) for v in _dist.all_reduce_sum(local))
    mean = total / count
    half = 0.0
    if count > 1:
        std = math.sqrt(max(total_sq - count * mean * mean, 0.0) / (count - 1))
        half = float(ndtri(0.5 + 0.5 * confidence)) * std / math.sqrt(count)
    return mean, mean - half, mean + half


# ----------------------------------------------------------------------- public API
def mi(
    constellation: ConstellationLike,
    esno_db: ArrayLike | None = None,
    *,
    ebno_db: ArrayLike | None = None,
    channel: ChannelName = "awgn",
    real: bool = False,
    method: Method = "quadrature",
    num_samples: int = _DEFAULT_SAMPLES,
    seed: int = 0,
    probabilities: ArrayLike | None = None,
) -> np.ndarray:
    r"""Mutual information :math:`I(X;Y)` of constellation points, in bits per channel use.

    .. math::

        I(X;Y) = \log_2 M - \frac1M \sum_{i=1}^{M} \mathbb{E}_w\!\left[
            \log_2 \sum_{j=1}^{M} \exp\!\left(-\frac{|s_i - s_j + w|^2 - |w|^2}{N_0}\right)\right]

    (Ungerboeck 1982; Cover & Thomas, *Elements of Information Theory*, 2nd
    ed., 2006, Ch. 9), with :math:`w \sim \mathcal{CN}(0, N_0)`, or
    :math:`\mathcal{N}(0, N_0/2)` for a real channel use. See the module notes
    for the quadrature. Points sent with probabilities :math:`p_i` (a shaped
    constellation, or ``probabilities``) give

    .. math::

        I(X;Y) = \sum_{i} p_i\, \mathbb{E}_w\!\left[-\log_2 \sum_{j} p_j
            \exp\!\left(-\frac{|s_i - s_j + w|^2 - |w|^2}{N_0}\right)\right]
        = \sum_i p_i \int p(y|s_i) \log_2 \frac{p(y|s_i)}{\sum_j p_j\, p(y|s_j)}\,dy,

    which is the first form when :math:`p_i = 1/M`; :math:`I(X;Y) \le H(X)`.

    Parameters
    ----------
    constellation : Constellation, or Tensor / ndarray, [M], complex
        The points, ``M`` a power of two. They are scaled to unit average
        energy (:math:`E_s = 1`), so ``esno_db`` is the SNR of the scaled points.
    esno_db : array-like
        :math:`E_s/N_0` in dB per channel use, any shape.
    ebno_db : array-like, optional
        :math:`E_b/N_0` in dB instead of ``esno_db``, with :math:`k = \log_2 M`
        bits per channel use (:func:`commae.snr.ebno_db_to_esno_db`).
    channel : {"awgn", "rayleigh"}
        ``"rayleigh"``: :math:`y = h x + w`, :math:`h \sim \mathcal{CN}(0, 1)`
        per use, known to the receiver; gives :math:`I(X; Y \mid H)`, average
        SNR. Needs ``method="monte_carlo"``.
    real : bool
        Real channel uses (points must be real, e.g. :func:`~commae.constellations.pam`).
    method : {"quadrature", "monte_carlo"}
        Gauss–Hermite quadrature (AWGN; within 2e-5 bit up to 256-QAM) or a Monte Carlo
        average of ``num_samples`` draws (see :func:`mi_with_interval` for its interval).
    num_samples : int
        Monte Carlo draws per SNR point.
    seed : int
        Monte Carlo seed; the same at every SNR point (common random numbers).
    probabilities : array-like, [M], optional
        How often each point is sent (positive, summing to 1) [default: a
        shaped constellation's own, else equiprobable]. The points are scaled
        to unit average energy under them; Monte Carlo draws the points from them.

    Returns
    -------
    ndarray, float, shape of ``esno_db``
        Bits per channel use (0-d for a scalar); times ``n`` per message of ``n`` uses.

    Examples
    --------
    >>> from commae.constellations import pam, psk
    >>> mi(psk(4), [0.0, 15.0]).round(4)
    array([0.9719, 2.    ])
    >>> round(float(mi(pam(2), 0.0, real=True)), 4)    # BPSK, one real use
    0.7215
    >>> round(float(mi(psk(4), 10.0, channel="rayleigh", method="monte_carlo", num_samples=20_000)), 2)
    1.73
    """
    return _information(constellation, esno_db, ebno_db, channel, real, method, num_samples, seed, bitwise=False, probabilities=probabilities)


def bmi(
    constellation: ConstellationLike,
    esno_db: ArrayLike | None = None,
    *,
    ebno_db: ArrayLike | None = None,
    channel: ChannelName = "awgn",
    real: bool = False,
    method: Method = "quadrature",
    num_samples: int = _DEFAULT_SAMPLES,
    seed: int = 0,
    probabilities: ArrayLike | None = None,
) -> np.ndarray:
    r"""Bit-wise mutual information (BMI, the GMI of bit-metric decoding), in bits per channel use.

    .. math::

        \mathrm{BMI} = \sum_{b=1}^{k} I(C_b; Y)
        = k - \sum_{b=1}^{k} \mathbb{E}\!\left[\log_2
            \frac{\sum_{x} p(y \mid x)}{\sum_{x:\, c_b(x) = c_b} p(y \mid x)}\right]

    with :math:`c_b` bit :math:`b` of the sent label (Caire, Taricco &
    Biglieri 1998; Guillén i Fàbregas, Martinez & Caire 2008, Sec. 3.2).
    :math:`0 \le \mathrm{BMI} \le I(X;Y)`; Gray labels bring it close to the MI.

    **Shaped points.** With probabilities :math:`p_i` the value reported is
    the rate of bit-metric decoding (BMD) of Böcherer ("Achievable rates for
    probabilistic shaping", arXiv:1707.01134, 2017/2018, Sec. 4),

    .. math::

        R_\mathrm{BMD} = H(X) - \sum_{b=1}^{k} H(C_b \mid Y)
        = H(X) - \sum_{b} \mathbb{E}\!\left[\log_2
            \frac{\sum_{x} p_x\, p(y \mid x)}{\sum_{x:\, c_b(x) = c_b} p_x\, p(y \mid x)}\right],

    the expectation over :math:`x \sim p` and the channel, and the bit
    posteriors those of a demapper that knows the prior. Why this and not
    :math:`\sum_b I(C_b;Y)`: shaped bits are not independent (the amplitude
    bits of MB 64-QAM are correlated), and then :math:`\sum_b I(C_b;Y)`
    exceeds what a bit-metric decoder achieves by :math:`\sum_b H(C_b) -
    H(X) \ge 0`; :math:`R_\mathrm{BMD}` is the achievable rate of
    probabilistic amplitude shaping with a binary code, and the quantity the
    bit-wise training objective bounds (:class:`~commae.losses.ShapedObjective`).
    For equiprobable points :math:`H(X) = k = \sum_b H(C_b)` and the two coincide.
    It can be negative at very low SNR (then no rate is achievable this way).

    Parameters
    ----------
    constellation : Constellation, or Tensor / ndarray, [M], complex
        A :class:`~commae.constellations.Constellation` brings its bit labels;
        bare points get the natural ones (point ``i`` carries the bits of ``i``,
        MSB first). Points are scaled to unit average energy.
    esno_db, ebno_db, channel, real, method, num_samples, seed, probabilities
        As in :func:`mi`.

    Returns
    -------
    ndarray, float, shape of ``esno_db``
        Bits per channel use.

    Examples
    --------
    >>> from commae.constellations import qam
    >>> bmi(qam(16), [5.0, 15.0]).round(4)
    array([1.9316, 3.9285])
    """
    return _information(constellation, esno_db, ebno_db, channel, real, method, num_samples, seed, bitwise=True, probabilities=probabilities)


def mi_with_interval(
    constellation: ConstellationLike,
    esno_db: float,
    *,
    channel: ChannelName = "awgn",
    real: bool = False,
    bitwise: bool = False,
    num_samples: int = _DEFAULT_SAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
    probabilities: ArrayLike | None = None,
) -> tuple[float, float, float]:
    r"""Monte Carlo MI (or BMI) at one SNR, with a confidence interval.

    Averages the information density :math:`\imath(x; y) = \log_2
    p(y \mid x)/p(y)` (or its bit-wise sum) over ``num_samples`` uniform points,
    noise draws (and fades), drawn in that order from
    ``torch.Generator().manual_seed(seed)``. The density's mean is exactly
    :math:`I(X;Y)`, and the interval is the normal approximation

    .. math:: \bar\imath \pm z_{(1+c)/2}\, \frac{\hat\sigma}{\sqrt{N}}

    with :math:`\hat\sigma` the sample standard deviation of the densities
    (e.g. Robert & Casella, *Monte Carlo Statistical Methods*, 2nd ed., 2004, Sec. 3.2).

    Parameters
    ----------
    constellation : Constellation, or Tensor / ndarray, [M], complex
        As in :func:`mi`.
    esno_db : float
        :math:`E_s/N_0` in dB per channel use (a scalar).
    channel, real
        As in :func:`mi`.
    bitwise : bool
        BMI (:func:`bmi`) instead of MI.
    num_samples : int
        Draws (>= 1; the interval needs >= 2 to have a width).
    seed : int
        Seed of the generator.
    confidence : float
        Two-sided coverage of the interval, in (0, 1).
    probabilities : array-like, [M], optional
        As in :func:`mi`: the points are drawn from them.

    Returns
    -------
    estimate, low, high : float
        Bits per channel use.

    Examples
    --------
    >>> from commae.constellations import qam
    >>> est, low, high = mi_with_interval(qam(16), 10.0, num_samples=50_000)
    >>> low < 3.1639 < high, round(high - low, 3)
    (True, 0.022)
    """
    _check_channel(channel)
    _check_flag(real, "real")
    _check_flag(bitwise, "bitwise")
    if real and channel != "awgn":
        raise ValueError("channel='rayleigh' needs complex channel uses: use real=False")
    num_samples = _check_samples(num_samples)
    seed = _check_seed(seed)
    confidence = _check_confidence(confidence)
    points, labels, prior = _points_and_labels(constellation, real, probabilities)
    esno = _db_array(esno_db, "esno_db")
    if esno.ndim != 0:
        raise ValueError(f"esno_db must be a scalar for mi_with_interval (use mi for curves), got shape {esno.shape}")
    no = float(esno_db_to_no(float(esno)))
    if _dist.is_distributed():
        return _interval_over_ranks(points, labels, no, channel, real, bitwise, num_samples, seed, confidence, prior)
    densities = _mc_densities(points, labels, no, channel, real, bitwise, num_samples, seed, prior)
    return _interval(densities, confidence)


def capacity_rayleigh(esno_db: ArrayLike) -> np.ndarray:
    r"""Ergodic capacity of Rayleigh fading with CSI at the receiver, in bits per complex use.

    With :math:`|h|^2 \sim \mathrm{Exp}(1)` and average SNR
    :math:`\rho = E_s/N_0` (Goldsmith 2005, Sec. 4.2.4; Lee, "Estimate of
    channel capacity in Rayleigh fading environment", IEEE Trans. Veh.
    Technol. 39(3), 1990):

    .. math::

        C = \mathbb{E}\!\left[\log_2(1 + |h|^2 \rho)\right]
          = \frac{e^{1/\rho}\, E_1(1/\rho)}{\ln 2},

    :math:`E_1` the exponential integral. For :math:`1/\rho > 50` the product
    :math:`e^{x}E_1(x)` (whose factors over- and underflow) is summed from its
    asymptotic series :math:`\sum_m (-1)^m m!/x^{m+1}` (Abramowitz & Stegun
    5.1.51), accurate there to 1e-18.

    Parameters
    ----------
    esno_db : array-like
        Average :math:`E_s/N_0` in dB, any shape.

    Returns
    -------
    ndarray, float, shape of ``esno_db``

    Examples
    --------
    >>> capacity_rayleigh([0.0, 20.0]).round(4)
    array([0.8603, 5.884 ])
    """
    esno = _db_array(esno_db, "esno_db")
    x = 1.0 / db_to_linear(esno)
    small = x <= 50.0
    scaled = np.empty_like(x)
    scaled[small] = np.exp(x[small]) * exp1(x[small])
    large = x[~small]
    term = 1.0 / large  # m = 0
    series = term.copy()
    for m in range(1, 31):
        term = -term * m / large
        series += term
    scaled[~small] = series
    return np.asarray(scaled / _LN2, dtype=float)


def mi_from_losses(
    per_sample_losses: torch.Tensor | ArrayLike,
    k: int,
    bitwise: bool = False,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    r"""The MI (or BMI) lower bound of a receiver's per-message losses, with its interval.

    For per-message cross-entropies :math:`\ell_m` in nats (symbol-wise; or
    the sum of the ``k`` bit-wise BCEs of message ``m``, ``bitwise=True``)
    the mismatched-decoding bound (Cammerer et al., IEEE Trans. Commun. 2020,
    Sec. III) is

    .. math::

        I(X;Y) \ge k - \frac{\bar\ell}{\ln 2}, \qquad
        \mathrm{BMI} \ge k - \frac{\bar\ell}{\ln 2},

    estimated by the sample mean, with the interval
    :math:`\pm z_{(1+c)/2}\,\hat\sigma_\ell / (\sqrt{N}\ln 2)` from the
    sample standard deviation (normal approximation).

    Parameters
    ----------
    per_sample_losses : Tensor or array-like, [N], float
        Losses in nats per message, e.g. ``SymbolCrossEntropy(k, reduction="none")``
        or ``BitwiseBCE(k, reduction="none")`` outputs.
    k : int
        Bits per message.
    bitwise : bool
        Whether the losses are bit-wise sums (the bound is then on the BMI);
        the arithmetic is the same.
    confidence : float
        Two-sided coverage, in (0, 1).

    Returns
    -------
    estimate, low, high : float
        Bits per message.

    Examples
    --------
    >>> import math
    >>> mi_from_losses([0.0, 0.0], k=2)                       # a perfect receiver
    (2.0, 2.0, 2.0)
    >>> [round(v, 4) for v in mi_from_losses([math.log(4)] * 3, k=2)]   # a guess
    [0.0, 0.0, 0.0]
    """
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer (bits per message), got {k!r}")
    _check_flag(bitwise, "bitwise")
    confidence = _check_confidence(confidence)
    if isinstance(per_sample_losses, torch.Tensor):
        losses = per_sample_losses.detach().to("cpu", torch.float64)
    else:
        try:
            losses = torch.as_tensor(np.asarray(per_sample_losses, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValueError("per_sample_losses must be a 1-D array of per-message losses in nats") from None
    if losses.ndim != 1 or losses.numel() < 1:
        raise ValueError(f"per_sample_losses must be a non-empty 1-D array of per-message losses in nats, got shape {tuple(losses.shape)}")
    if not bool(torch.isfinite(losses).all()):
        raise ValueError("per_sample_losses must be finite")
    mean, low, high = _interval(losses, confidence)
    # larger loss, smaller MI: the bounds swap
    return k - mean / _LN2, k - high / _LN2, k - low / _LN2


def estimate_mi(
    model: nn.Module,
    ebno_db: float,
    *,
    num_messages: int = 100_000,
    seed: int = 0,
    batch_size: int = 10_000,
    confidence: float = 0.95,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    r"""The MI lower bound of a trained :class:`~commae.models.Autoencoder` at one :math:`E_b/N_0`.

    Draws ``num_messages`` uniform messages and their channel noise from one
    generator seeded with ``seed`` (on ``device``), with
    :math:`N_0` = :func:`commae.snr.ebno_db_to_no` ``(ebno_db, model.k, model.n)``,
    runs ``model`` under ``torch.inference_mode()`` in eval mode (its mode is
    restored), and turns the per-message losses into bits with
    :func:`mi_from_losses`: symbol cross-entropy for ``output="symbol"``
    (a bound on :math:`I(X;Y)`), summed bit-wise BCE for ``output="bit"``
    (a bound on the BMI):

    .. math:: I \ge k - \frac{1}{N\ln 2}\sum_{m=1}^{N} \ell_m .

    A model that sends its own distribution (``message_probabilities()``,
    probabilistic or joint shaping) has its messages drawn from it
    (:func:`~commae.constellations.draw_indices`) and the bound is
    :math:`H(X) - \bar\ell/\ln 2` (the BMD rate's for ``output="bit"``).

    Parameters
    ----------
    model : Autoencoder
        Anything with ``k``, ``n``, ``output`` and ``forward(messages, no, generator)``.
    ebno_db : float
        :math:`E_b/N_0` in dB.
    num_messages : int
        Messages drawn (>= 1).
    seed : int
        Seed of the generator of messages and noise.
    batch_size : int
        Messages per forward pass.
    confidence : float
        Two-sided coverage of the interval, in (0, 1).
    device : torch.device or str, optional
        Where to draw and run: the device of the model's parameters (the
        default); the model is not moved.

    Returns
    -------
    dict
        ``mi_bits_per_message``, its interval ``low`` and ``high`` (bits per
        message), ``mi_bits_per_use`` (per message / ``n``), ``esno_db``
        (:math:`E_s/N_0` per use) and ``ebno_db``.

    Examples
    --------
    >>> from commae.models import Autoencoder
    >>> _ = torch.manual_seed(0)
    >>> result = estimate_mi(Autoencoder(2, 1), 5.0, num_messages=2000)
    >>> sorted(result)
    ['ebno_db', 'esno_db', 'high', 'low', 'mi_bits_per_message', 'mi_bits_per_use']
    >>> result["low"] <= result["mi_bits_per_message"] <= result["high"]
    True
    """
    for name in ("k", "n", "output"):
        if not hasattr(model, name):
            raise ValueError(f"model must be an Autoencoder (with k, n, output and forward(messages, no, generator)), it has no {name!r}")
    k, n = int(model.k), int(model.n)
    if model.output not in ("symbol", "bit"):
        raise ValueError(f"model.output must be 'symbol' or 'bit', got {model.output!r}")
    ebno = _db_array(ebno_db, "ebno_db")
    if ebno.ndim != 0:
        raise ValueError(f"ebno_db must be a scalar for estimate_mi, got shape {ebno.shape}")
    ebno = float(ebno)
    num_messages = _check_samples(num_messages, "num_messages")
    batch_size = _check_samples(batch_size, "batch_size")
    seed = _check_seed(seed)
    confidence = _check_confidence(confidence)
    param = next(iter(model.parameters()), None)
    model_device = param.device if param is not None else torch.device("cpu")
    device = model_device if device is None else torch.device(device)
    if param is not None and device.type != model_device.type:
        raise ValueError(f"device must be the model's device ({model_device}), got {device}; move the model with model.to(device)")
    gen = make_generator(seed, device)
    no = float(ebno_db_to_no(ebno, k, n))
    loss_fn = SymbolCrossEntropy(k, reduction="none") if model.output == "symbol" else BitwiseBCE(k, reduction="none")
    ask = getattr(model, "message_probabilities", None)
    prior = ask() if callable(ask) else None  # a shaped model's messages are drawn from its distribution
    losses = []
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, num_messages, batch_size):
                size = min(batch_size, num_messages - start)
                messages = torch.randint(2**k, (size,), generator=gen, device=device) if prior is None else draw_indices(prior.to(device), size, gen)
                outputs = model(messages, no, generator=gen)
                losses.append(loss_fn(outputs, messages).to("cpu", torch.float64))
    finally:
        model.train(was_training)
    per_message, low, high = mi_from_losses(torch.cat(losses), k, bitwise=model.output == "bit", confidence=confidence)
    if prior is not None:  # H(X) - CE/ln 2 instead of k - CE/ln 2
        shift = k - entropy_bits(prior)
        per_message, low, high = per_message - shift, low - shift, high - shift
    return {
        "mi_bits_per_message": per_message,
        "low": low,
        "high": high,
        "mi_bits_per_use": per_message / n,
        "esno_db": float(ebno_db_to_esno_db(ebno, k, n)),
        "ebno_db": ebno,
    }


def mi_over_channel(
    constellation: Constellation,
    channel: Channel,
    esno_db: ArrayLike,
    *,
    num_samples: int = 200_000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""MI and BMI (bits per channel use) of a labelled constellation over any channel with a likelihood.

    Monte Carlo with the exact channel law of
    :meth:`~commae.channels.Channel.log_likelihood` (Rician fading with CSI,
    phase noise, an ADC, a Rapp PA, and their cascades; a channel of your own
    that gives its likelihood):

    .. math::

        I(X;Y) = \log_2 M - E\left[\log_2 \frac{\sum_{s'} p(y|s')}{p(y|x)}\right], \qquad
        \mathrm{BMI} = \sum_j \left(1 - E\left[\log_2 \frac{\sum_{s'} p(y|s')}{\sum_{s': b_j(s') = b_j(x)} p(y|s')}\right]\right).

    Points, then the channel's draws, come from one generator seeded with
    ``seed`` at every SNR (common random numbers). Complex channels only. A
    shaped constellation's points are drawn from its probabilities and the
    sums weighted by them (the MI and the BMD rate of :func:`mi` and :func:`bmi`).

    Returns
    -------
    (mi, bmi) : two float arrays of the shape of ``esno_db``

    Raises
    ------
    ValueError
        When the channel has no likelihood (an unsupported chain, fading without CSI).
    """
    if not isinstance(constellation, Constellation):
        raise ValueError(f"constellation must be a Constellation, got {type(constellation).__name__}")
    if channel.real:
        raise ValueError("mi_over_channel needs complex channel uses")
    num_samples = _check_samples(num_samples)
    seed = _check_seed(seed)
    esno = np.asarray(esno_db, dtype=float)
    points = constellation.points.detach().cpu()
    bits = constellation.bit_labels.cpu().bool()  # [M, k] per point index
    k = bits.shape[1]
    shaped = constellation.shaped
    prior = constellation.probabilities.detach().cpu()
    log_prior = torch.log(prior).float()  # [M]: the demapper knows how often each point is sent
    top = constellation.entropy_bits if shaped else float(k)  # H(X) (k when equiprobable)
    mis, bmis = np.empty(esno.shape), np.empty(esno.shape)
    for idx, value in np.ndenumerate(esno):
        no = float(esno_db_to_no(value))
        gen = make_generator(seed, "cpu")
        index = draw_indices(prior, num_samples, gen) if shaped else torch.randint(points.shape[0], (num_samples,), generator=gen)
        with torch.no_grad():
            y, h = split_channel_output(channel, channel(points[index, None], no, generator=gen))
            ll = channel.log_likelihood(y, points, no, h)
        if ll is None:
            raise ValueError(f"channel {channel.name} has no likelihood commae can evaluate (see Channel.log_likelihood)")
        ll = ll[:, 0, :] + (log_prior if shaped else 0.0)  # [S, M]: ln p(y|s) (+ ln p(s))
        total = torch.logsumexp(ll, -1)  # [S]
        own_term = ll.gather(1, index[:, None])[:, 0]
        if shaped:  # I = E[log2 p(y|x) / sum_j p_j p(y|s_j)] = E[log2 p(x) p(y|x) / ...] + H(X)
            mis[idx] = top - float((total - own_term).mean()) / math.log(2)
        else:
            mis[idx] = math.log2(points.shape[0]) - float((total - own_term).mean()) / math.log(2)
        own = bits[index]  # [S, k]
        loss = 0.0
        for j in range(k):
            same = bits[:, j][None, :] == own[:, j : j + 1]  # [S, M]
            loss += float((total - torch.logsumexp(ll.masked_fill(~same, -math.inf), -1)).mean()) / math.log(2)
        bmis[idx] = top - loss
    return mis, bmis


# The estimator of each model commae.information has by name, and its capacity in bits per use.
_NAMED_METHOD = {"awgn": "quadrature", "rayleigh": "monte_carlo"}
_NAMED_CAPACITY = {"awgn": lambda esno, real: capacity_awgn(esno, real=real), "rayleigh": lambda esno, real: capacity_rayleigh(esno)}


def channel_mi(
    constellation: Constellation,
    channel: Channel,
    esno_db: ArrayLike,
    *,
    num_samples: int = 200_000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray] | None:
    r"""MI and BMI (bits per channel use) of a labelled constellation over ``channel``, by the estimator that applies; None where none does.

    Asks the channel: over AWGN (:attr:`~commae.channels.Channel.closed_form`
    ``{"channel": "awgn"}``) Gauss–Hermite quadrature (:func:`mi`,
    :func:`bmi`); over Rayleigh fading with CSI, :math:`I(X; Y \mid H)` by
    Monte Carlo (:func:`mi` with ``channel="rayleigh"``); over any other
    channel with a likelihood, :func:`mi_over_channel`. A channel that is not
    :attr:`~commae.channels.Channel.coherent` (fading without CSI) or has no
    likelihood commae can evaluate gives None: no number there would be its MI.

    Parameters
    ----------
    constellation : Constellation
    channel : Channel
    esno_db : array-like
        :math:`E_s/N_0` in dB per channel use.
    num_samples, seed
        Of the Monte Carlo estimators (the quadrature ignores them).

    Returns
    -------
    (mi, bmi) : two float arrays of the shape of ``esno_db``, or None

    Examples
    --------
    >>> from commae.channels import AWGN, Rician
    >>> from commae.constellations import qam
    >>> [v.round(4) for v in channel_mi(qam(16), AWGN(), [0.0, 10.0])]
    [array([0.9897, 3.1639]), array([0.8993, 3.1636])]
    >>> channel_mi(qam(16), Rician(2.0, csi=False), 10.0) is None
    True
    """
    model = channel.closed_form
    method = _NAMED_METHOD.get(model["channel"]) if model is not None else None
    if method is not None:
        kw = dict(channel=model["channel"], real=bool(channel.real), method=method, num_samples=num_samples, seed=seed)
        return mi(constellation, esno_db, **kw), bmi(constellation, esno_db, **kw)
    if not channel.coherent or not channel.has_likelihood or channel.real:
        return None
    return mi_over_channel(constellation, channel, esno_db, num_samples=num_samples, seed=seed)


def channel_capacity(channel: Channel, esno_db: ArrayLike) -> np.ndarray:
    """Capacity of ``channel`` in bits per use where a closed form exists, NaN elsewhere.

    AWGN (:func:`~commae.theory.capacity_awgn`, real or complex uses) and
    Rayleigh fading with CSI (:func:`capacity_rayleigh`, ergodic).

    >>> from commae.channels import AWGN, Rician
    >>> channel_capacity(AWGN(), [0.0, 20.0]).round(4), channel_capacity(Rician(3.0), 0.0)
    (array([1.    , 6.6582]), array(nan))
    """
    model = channel.closed_form
    named = _NAMED_CAPACITY.get(model["channel"]) if model is not None else None
    if named is None:
        return np.full(np.shape(esno_db), np.nan)
    return named(esno_db, bool(channel.real))


#: The columns of :func:`mi_table`'s rows, in order (``commae info``'s CSV).
MI_TABLE_COLUMNS = ("system", "channel", "esno_db", "ebno_db", "entropy_bits_per_use", "mi_bits_per_use", "bmi_bits_per_use", "capacity_bits_per_use")


def mi_table(
    constellations: Mapping[str, Constellation],
    channel: Channel,
    esno_db: ArrayLike,
    *,
    num_samples: int = 200_000,
    seed: int = 0,
    channel_name: str | None = None,
) -> list[dict[str, str | float]]:
    """MI, BMI and capacity of each constellation over ``channel`` at each Es/N0: one row per (constellation, point).

    Parameters
    ----------
    constellations : mapping of str to Constellation
        The systems, by the name their rows carry.
    channel : Channel
        It says which estimator applies (:func:`channel_mi`) and its capacity
        (:func:`channel_capacity`).
    esno_db : array-like
        :math:`E_s/N_0` in dB per channel use.
    num_samples, seed
        Of the Monte Carlo estimators (the quadrature ignores them).
    channel_name : str, optional
        The ``channel`` column [default: ``channel.name``].

    Returns
    -------
    list of dict
        Keys :data:`MI_TABLE_COLUMNS`: the system, the channel, Es/N0 and
        Eb/N0 in dB (k bits per channel use), the entropy :math:`H(X)` of the
        points (``k`` when equiprobable; the rate a shaped constellation can
        carry at most), MI and BMI (for shaped points the BMD rate, see
        :func:`bmi`) in bits per channel use (NaN where no MI applies: fading without CSI, a channel without a
        likelihood) and the capacity (NaN where there is no closed form).
        Each MI and BMI has passed :func:`check_information` (clamped into
        ``[0, k]`` within :data:`INFORMATION_TOLERANCE_BITS`).

    Raises
    ------
    ImpossibleInformation
        When an MI or BMI leaves ``[0, k]`` by more than the tolerance (an
        estimator or channel-model error, e.g. a likelihood that is wrong):
        one line naming the system and the Es/N0.

    Examples
    --------
    >>> from commae.channels import AWGN
    >>> from commae.constellations import qam
    >>> row = mi_table({"qam16": qam(16)}, AWGN(), [10.0])[0]
    >>> row["system"], row["channel"], round(row["mi_bits_per_use"], 4), round(row["capacity_bits_per_use"], 4)
    ('qam16', 'awgn', 3.1639, 3.4594)
    """
    points = np.asarray(esno_db, dtype=float)
    capacity = np.atleast_1d(channel_capacity(channel, points))
    name_of_channel = channel.name if channel_name is None else channel_name
    rows: list[dict[str, str | float]] = []
    for name, constellation in constellations.items():
        both = channel_mi(constellation, channel, points, num_samples=num_samples, seed=seed)  # None: no valid MI over this channel
        mis, bmis = (np.full(points.shape, np.nan),) * 2 if both is None else (np.atleast_1d(v) for v in both)
        for e, m, b, c in zip(np.atleast_1d(points), mis, bmis, capacity):
            where = dict(system=name, snr=f"Es/N0 {float(e):g} dB over {name_of_channel}")
            m, b = (check_information(v, constellation.k, what=what, **where) for v, what in ((m, "MI"), (b, "BMI")))
            values = (name, name_of_channel, float(e), float(esno_db_to_ebno_db(float(e), constellation.k)), constellation.entropy_bits, m, b, float(c))
            rows.append(dict(zip(MI_TABLE_COLUMNS, values)))
    return rows


def best_maxwell_boltzmann(
    constellation: Constellation | int,
    esno_db: float,
    *,
    metric: Literal["mi", "bmi"] = "mi",
    nu_max: float = 8.0,
    tolerance: float = 1e-4,
) -> tuple[Constellation, float]:
    r"""Maxwell–Boltzmann shaping of a constellation, :math:`P(x) \propto e^{-\nu|x|^2}`, with the :math:`\nu` that maximises its MI (or BMD rate) at one SNR.

    The classical probabilistic-shaping baseline (Kschischang & Pasupathy
    1993; Böcherer, Steiner & Schulte 2015): for each :math:`\nu` the points
    of :func:`~commae.constellations.maxwell_boltzmann` (unit energy under
    :math:`P`) and :func:`mi` (``metric="mi"``) or :func:`bmi`
    (``"bmi"``, the BMD rate :math:`H(X) - \sum_b H(C_b|Y)`) by
    quadrature; :math:`\nu` is found by a bounded 1-D search (Brent's method,
    ``scipy.optimize.minimize_scalar``) on :math:`[0, \nu_{\max}]`,
    compared with :math:`\nu = 0` (equiprobable), whichever is larger.
    :math:`\nu` is measured on the equiprobable unit-energy points. For
    square QAM, whose Maxwell–Boltzmann law is a product over the two axes,
    the search evaluates twice the rate of the axis's PAM (1-D quadrature,
    equal to the 2-D one within 1e-8 bit and hundreds of times faster for
    256-QAM); the constellation returned is the 2-D one.

    Parameters
    ----------
    constellation : Constellation or int
        The geometry and labels (``qam(M)``), or ``M`` for Gray square ``M``-QAM.
    esno_db : float
        :math:`E_s/N_0` in dB per complex channel use (AWGN).
    metric : {"mi", "bmi"}
        What :math:`\nu` maximises.
    nu_max : float
        Upper end of the search (> 0).
    tolerance : float
        Absolute tolerance on :math:`\nu`.

    Returns
    -------
    (Constellation, float)
        The shaped constellation (its ``probabilities``, unit energy under
        them) and its :math:`\nu`.

    Examples
    --------
    >>> c, nu = best_maxwell_boltzmann(16, 10.0)
    >>> round(nu, 2), round(float(mi(c, 10.0)), 4), round(float(mi(qam(16), 10.0)), 4)
    (0.83, 3.2567, 3.1639)
    """
    if isinstance(constellation, numbers.Integral) and not isinstance(constellation, bool):
        constellation = qam(int(constellation))
    if not isinstance(constellation, Constellation):
        raise ValueError(f"constellation must be a Constellation or a square QAM size M (16, 64, 256, ...), got {constellation!r}")
    if metric not in ("mi", "bmi"):
        raise ValueError(f"metric must be 'mi' or 'bmi', got {metric!r}")
    esno = _db_array(esno_db, "esno_db")
    if esno.ndim != 0:
        raise ValueError(f"esno_db must be a scalar, got shape {esno.shape}")
    if isinstance(nu_max, bool) or not isinstance(nu_max, numbers.Real) or not 0 < nu_max < math.inf:
        raise ValueError(f"nu_max must be a finite number > 0, got {nu_max!r}")
    rate = mi if metric == "mi" else bmi
    side = math.isqrt(constellation.num_points)
    if constellation.kind == "qam" and side * side == constellation.num_points:
        # Square QAM's P(x) = P(x_I) P(x_Q) over independent axes: its MI and BMD rate are twice those of
        # the axis's PAM (Gray labels per axis, nu/2 on the unit-energy PAM, SNR per dimension = Es/N0 - 3 dB).
        # The 1-D rule is ~500x faster for 256-QAM and equal to 1e-8 bit; the result is the 2-D constellation.
        axis, esno_axis = pam(side), float(esno) - 10.0 * math.log10(2.0)

        def negative(nu: float) -> float:
            return -2.0 * float(rate(maxwell_boltzmann(axis, float(nu) / 2.0), esno_axis, real=True))

    else:

        def negative(nu: float) -> float:
            return -float(rate(maxwell_boltzmann(constellation, float(nu)), float(esno)))

    found = minimize_scalar(negative, bounds=(0.0, float(nu_max)), method="bounded", options={"xatol": float(tolerance)})
    nu = float(found.x) if found.fun < negative(0.0) else 0.0
    return maxwell_boltzmann(constellation, nu), nu
