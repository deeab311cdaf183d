r"""Constellations: complex points, their bit labels, and bits ↔ indices ↔ points.

A :class:`Constellation` holds ``num_points = 2**k`` complex points of unit
average energy (:math:`\frac1M\sum_i |s_i|^2 = 1`) and, for each point, the
integer whose ``k``-bit binary expansion (most significant bit first) is that
point's bit label. :func:`qam`, :func:`psk` and :func:`pam` build the classic
Gray-labelled ones: points at minimum distance differ in exactly one bit.

Examples
--------
>>> c = qam(16)
>>> c.k, c.num_points
(4, 16)
>>> bits = torch.tensor([[0., 0., 1., 1.]])
>>> c.indices_to_bits(c.bits_to_indices(bits))
tensor([[0., 0., 1., 1.]])
>>> round(float(c.points.abs().pow(2).mean()), 6)
1.0
"""

from __future__ import annotations

import math
import numbers
from typing import Literal

import torch
from torch import nn

__all__ = [
    "apsk",
    "maxwell_boltzmann",
    "entropy_bits",
    "draw_indices",
    "APSK16_RING_RATIOS",
    "APSK32_RING_RATIOS",
    "Constellation",
    "qam",
    "psk",
    "pam",
    "gray_code",
    "int_to_bits",
    "bits_to_int",
    "check_bits",
]

Kind = Literal["qam", "psk", "pam", "apsk", "custom"]


def _check_num_points(num_points: int, name: str = "M") -> int:
    if not isinstance(num_points, numbers.Integral) or isinstance(num_points, bool) or num_points < 2:
        raise ValueError(f"{name} must be a power of two >= 2, got {num_points!r}")
    num_points = int(num_points)
    if num_points & (num_points - 1):
        raise ValueError(f"{name} must be a power of two >= 2 (2, 4, 8, 16, ...), got {num_points}")
    return num_points


def check_bits(bits: torch.Tensor, k: int, values: bool = True) -> None:
    """Raise ``ValueError`` unless ``bits`` is a ``[B, k]`` tensor (of 0s and 1s when ``values``)."""
    if not isinstance(bits, torch.Tensor) or bits.ndim != 2 or bits.shape[-1] != k:
        shape = tuple(bits.shape) if isinstance(bits, torch.Tensor) else type(bits).__name__
        raise ValueError(f"bits must be a [B, {k}] tensor of 0/1, got {shape}")
    if values and not bool(((bits == 0) | (bits == 1)).all()):
        raise ValueError("bits must be 0 or 1")


def gray_code(indices: torch.Tensor) -> torch.Tensor:
    """Binary-reflected Gray code ``i ^ (i >> 1)`` of integer indices.

    >>> gray_code(torch.arange(8)).tolist()
    [0, 1, 3, 2, 6, 7, 5, 4]
    """
    return indices ^ (indices >> 1)


def int_to_bits(values: torch.Tensor, k: int) -> torch.Tensor:
    """Integers ``[...]`` to their ``k`` bits ``[..., k]`` (float, MSB first).

    >>> int_to_bits(torch.tensor([6]), 4)
    tensor([[0., 1., 1., 0.]])
    """
    shifts = torch.arange(k - 1, -1, -1, device=values.device)
    return ((values.unsqueeze(-1) >> shifts) & 1).to(torch.float32)


def bits_to_int(bits: torch.Tensor) -> torch.Tensor:
    """Bits ``[..., k]`` (MSB first, values in {0, 1}) to integers ``[...]`` (int64).

    >>> bits_to_int(torch.tensor([[0., 1., 1., 0.]]))
    tensor([6])
    """
    k = bits.shape[-1]
    if k > 24:  # beyond float32's exact integers
        return (bits.to(torch.int64) * 2 ** torch.arange(k - 1, -1, -1, device=bits.device)).sum(-1)
    weights = 2.0 ** torch.arange(k - 1, -1, -1, dtype=torch.float32, device=bits.device)
    return (bits.to(torch.float32) @ weights).to(torch.int64)


class Constellation(nn.Module):
    r"""A labelled constellation of ``M = 2**k`` complex points with unit average energy.

    Parameters
    ----------
    points : Tensor, [M] complex, or [M, 2] real (I, Q)
        The points. They are normalised to unit average energy.
    labels : Tensor, [M] int, optional
        ``labels[i]`` is the integer whose binary expansion (MSB first) is the
        bit label of point ``i``; a permutation of ``0 … M-1``. Default:
        ``labels[i] = i``.
    trainable : bool
        If True the points are an ``nn.Parameter`` of shape ``[M, 2]`` and the
        normalisation happens inside :meth:`forward`, so the power
        constraint is part of the autograd graph.
    kind : {"qam", "psk", "pam", "apsk", "custom"}
        What the points are; lets a demodulator use a fast exact slicer. Only
        :func:`qam`, :func:`psk` and :func:`pam` should set it; a shaped
        constellation is ``"custom"`` (the slicers decide equiprobable points).
    probabilities : Tensor, [M], optional
        How often each point is sent (point order, positive, summing to 1):
        a *shaped* constellation (e.g. :func:`maxwell_boltzmann`). The points
        then have unit average energy under these probabilities. Default:
        equiprobable points (nothing is stored, so a state dict is as before).

    Notes
    -----
    Unit energy: :math:`\sum_{i} p_i |s_i|^2 = 1`, with :math:`p_i = 1/M` for
    equiprobable points, so :math:`E_s = 1` as :mod:`commae.snr` assumes.
    """

    def __init__(
        self,
        points: torch.Tensor,
        labels: torch.Tensor | None = None,
        *,
        trainable: bool = False,
        kind: Kind = "custom",
        probabilities: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        points = torch.as_tensor(points)
        if points.is_complex():
            if points.ndim != 1:
                raise ValueError(f"points must be [M] complex or [M, 2] real, got shape {tuple(points.shape)}")
            points = torch.view_as_real(points.to(torch.complex64)).clone()
        elif points.ndim != 2 or points.shape[-1] != 2:
            raise ValueError(f"points must be [M] complex or [M, 2] real, got shape {tuple(points.shape)}")
        points = points.to(torch.float32)
        num_points = _check_num_points(points.shape[0], "number of points")
        if not torch.isfinite(points).all():
            raise ValueError("points must be finite")
        if labels is None:
            labels = torch.arange(num_points)
        labels = torch.as_tensor(labels, dtype=torch.int64)
        if labels.shape != (num_points,) or not torch.equal(labels.sort().values, torch.arange(num_points)):
            raise ValueError(f"labels must be a permutation of 0..{num_points - 1}, got {labels.tolist()}")
        if kind not in ("qam", "psk", "pam", "apsk", "custom"):
            raise ValueError(f"kind must be one of qam, psk, pam, apsk, custom, got {kind!r}")
        prior = None if probabilities is None else _check_probabilities(probabilities, num_points)
        # a trainable constellation moves away from its starting geometry; a shaped one is no slicer's
        self.kind: Kind = "custom" if trainable or prior is not None else kind
        self.num_points = num_points
        self.k = int(math.log2(num_points))
        self.trainable = trainable
        energy = points.pow(2).sum(-1).mean() if prior is None else (prior * points.double().pow(2).sum(-1)).sum().float()
        if energy <= 0:
            raise ValueError("points must not all be zero")
        if prior is not None:
            self.register_buffer("point_probabilities", prior)
        else:
            self.point_probabilities = None
        if trainable:
            self.weight = nn.Parameter(points)
        else:
            self.register_buffer("weight", points / energy.sqrt())
        self.register_buffer("labels", labels)
        self.register_buffer("index_of_label", torch.argsort(labels))
        # lookup tables of the hot paths (not saved: they follow from the labels)
        self.register_buffer("_label_weights", 2.0 ** torch.arange(self.k - 1, -1, -1, dtype=torch.float32), persistent=False)
        self.register_buffer("_bits_of_index", int_to_bits(labels, self.k), persistent=False)

    def forward(self) -> torch.Tensor:
        """The normalised points.

        Returns
        -------
        points : Tensor, [M], complex64
            Unit average energy; differentiable w.r.t. :attr:`weight` when trainable.
        """
        w = self.weight
        if self.trainable:
            energy = w.pow(2).sum(-1)
            energy = energy.mean() if self.point_probabilities is None else (self.point_probabilities.to(w.dtype) * energy).sum()
            w = w / energy.sqrt()
        return torch.view_as_complex(w.contiguous())

    @property
    def points(self) -> torch.Tensor:
        """The normalised points, ``[M]`` complex64 (same as calling the module)."""
        return self()

    @property
    def shaped(self) -> bool:
        """Whether the points have probabilities of their own (False: equiprobable)."""
        return self.point_probabilities is not None

    @property
    def probabilities(self) -> torch.Tensor:
        """How often each point is sent, ``[M]`` float64 in point order (``1/M`` each when not shaped)."""
        if self.point_probabilities is None:
            return torch.full((self.num_points,), 1.0 / self.num_points, dtype=torch.float64, device=self.weight.device)
        return self.point_probabilities

    @property
    def label_probabilities(self) -> torch.Tensor:
        """The probability of each bit label ``0 … M-1`` (the order of messages and of ``symbol_logits``), ``[M]`` float64."""
        return self.probabilities[self.index_of_label]

    @property
    def entropy_bits(self) -> float:
        r""":math:`H(X) = -\sum_i p_i \log_2 p_i`, the bits a point carries (``k`` when equiprobable)."""
        return entropy_bits(self.probabilities)

    @property
    def bit_labels(self) -> torch.Tensor:
        """Bit label of each point, ``[M, k]`` float (MSB first)."""
        return int_to_bits(self.labels, self.k)

    def bits_to_indices(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``[..., m*k]`` to point indices ``[..., m]`` (int64)."""
        if bits.ndim < 1 or bits.shape[-1] % self.k:
            raise ValueError(f"bits must have a last dimension that is a multiple of k={self.k}, got shape {tuple(bits.shape)}")
        if not bool(((bits == 0) | (bits == 1)).all()):
            raise ValueError("bits must be 0 or 1")
        grouped = bits.reshape(*bits.shape[:-1], bits.shape[-1] // self.k, self.k)  # [..., m, k]
        label = (grouped.to(self._label_weights.dtype) @ self._label_weights).to(torch.int64)  # exact: small integers
        return self.index_of_label[label]

    def indices_to_bits(self, indices: torch.Tensor) -> torch.Tensor:
        """Point indices ``[..., m]`` to bits ``[..., m*k]`` (float, MSB first)."""
        return self._bits_of_index[indices].flatten(-2)  # [..., m, k] -> [..., m*k]

    def indices_to_points(self, indices: torch.Tensor) -> torch.Tensor:
        """Point indices ``[...]`` to complex points ``[...]``."""
        return self()[indices]

    def map(self, bits: torch.Tensor) -> torch.Tensor:
        """Bits ``[..., m*k]`` to complex symbols ``[..., m]`` (complex64)."""
        return self.indices_to_points(self.bits_to_indices(bits))

    def by_label(self) -> Constellation:
        """The same points in label order: point ``i`` of the result is the point labelled ``i``, and its labels are ``0 … M-1``.

        A transmitter that sends message ``m`` as point ``m`` starts from this
        so that message ``m`` carries the bits of its label (Gray QAM's
        ``qam(M).by_label()``, as :class:`~commae.models.Transmitter` does
        with ``constellation=True``). A trainable constellation keeps its raw
        weights and a fixed one its points, reordered bit for bit;
        probabilities follow their points.
        The slicer's geometry is in point order, so the result is
        ``"custom"`` unless the labels were ``0 … M-1`` already.

        Examples
        --------
        >>> c = qam(16)
        >>> ordered = c.by_label()
        >>> bool(torch.equal(ordered.points, c.map(int_to_bits(torch.arange(16), 4)).flatten())), ordered.labels[:4].tolist()
        (True, [0, 1, 2, 3])
        """
        in_order = bool(torch.equal(self.labels, torch.arange(self.num_points, device=self.labels.device)))
        weight = self.weight.detach()[self.index_of_label].clone()
        prior = None if self.point_probabilities is None else self.point_probabilities[self.index_of_label]
        ordered = Constellation(weight, trainable=self.trainable, kind=self.kind if in_order else "custom", probabilities=prior)
        if not self.trainable:
            ordered.weight = weight  # of unit energy already: the same numbers, not normalised twice
        return ordered

    def min_distance(self) -> float:
        """Smallest distance between two distinct points."""
        pts = self().detach()
        d = (pts[:, None] - pts[None, :]).abs()
        d.fill_diagonal_(float("inf"))
        return float(d.min())

    def extra_repr(self) -> str:
        shaped = f", shaped (H = {self.entropy_bits:.4f} bit)" if self.shaped else ""
        return f"kind={self.kind}, num_points={self.num_points}, trainable={self.trainable}{shaped}"


def _check_probabilities(probabilities: torch.Tensor, num_points: int) -> torch.Tensor:
    """``probabilities`` as float64 ``[M]``, positive and summing to 1 (renormalised within 1e-6), or a ValueError naming them."""
    try:
        p = torch.as_tensor(probabilities, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"probabilities must be a [{num_points}] array of positive numbers summing to 1, got {type(probabilities).__name__}") from None
    if p.shape != (num_points,):
        raise ValueError(f"probabilities must be a [{num_points}] array of positive numbers summing to 1 (one per point), got shape {tuple(p.shape)}")
    if not bool(torch.isfinite(p).all()) or bool((p <= 0).any()):
        raise ValueError("probabilities must be finite and positive (a point that is never sent has no place in the constellation)")
    if abs(float(p.sum()) - 1.0) > 1e-6:
        raise ValueError(f"probabilities must sum to 1, got {float(p.sum())!r}")
    return p / p.sum()


def entropy_bits(probabilities: torch.Tensor) -> float:
    r"""The entropy :math:`-\sum_i p_i \log_2 p_i` of a distribution, in bits (terms with :math:`p_i = 0` count 0).

    >>> entropy_bits(torch.full((16,), 1 / 16))
    4.0
    >>> round(entropy_bits(torch.tensor([0.5, 0.25, 0.125, 0.125])), 6)
    1.75
    """
    p = torch.as_tensor(probabilities, dtype=torch.float64)
    return float(-torch.special.xlogy(p, p).sum() / math.log(2.0))


def draw_indices(probabilities: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    r"""``size`` independent indices ``[size]`` (int64) drawn from ``probabilities`` ``[M]``, by the inverse of their CDF.

    One float64 uniform per index from ``generator`` (on the generator's
    device), :math:`i = \#\{j : F_j \le u\}` with :math:`F` the cumulative
    sum; the same generator state gives the same indices. This is the one
    sampler of non-uniform messages and points (the engine, the Monte-Carlo
    MI, the estimate of a trained model's MI).

    >>> gen = torch.Generator().manual_seed(0)
    >>> draws = draw_indices(torch.tensor([0.5, 0.25, 0.25]), 100_000, gen)
    >>> torch.bincount(draws).tolist()
    [49929, 24999, 25072]
    """
    p = torch.as_tensor(probabilities, dtype=torch.float64, device=generator.device)
    cdf = torch.cumsum(p / p.sum(), 0)
    u = torch.rand(size, dtype=torch.float64, generator=generator, device=generator.device)
    return torch.searchsorted(cdf, u, right=True).clamp_(max=p.numel() - 1)


def maxwell_boltzmann(constellation: Constellation, nu: float) -> Constellation:
    r"""The points of ``constellation`` sent with Maxwell–Boltzmann probabilities :math:`P(s) \propto e^{-\nu |s|^2}`.

    :math:`|s|` is measured on ``constellation``'s own points (unit average
    energy under its probabilities: for :func:`qam`, the equiprobable unit-energy
    grid), so ``nu`` is scale-free; the returned constellation is scaled to unit
    average energy *under* :math:`P`, :math:`\sum_s P(s)|s|^2 = 1`. ``nu = 0``
    gives equiprobable points. The labels are kept (Gray for :func:`qam`); the
    result is ``kind="custom"`` with :attr:`~Constellation.probabilities`.
    Kschischang & Pasupathy, "Optimal nonuniform signaling for Gaussian
    channels", IEEE Trans. Inf. Theory 39(3), 1993; Böcherer, Steiner &
    Schulte, "Bandwidth efficient and rate-matched low-density parity-check
    coded modulation", IEEE Trans. Commun. 63(12), 2015.

    Parameters
    ----------
    constellation : Constellation
        The geometry and labels, e.g. ``qam(64)``.
    nu : float
        :math:`\nu \ge 0`.

    Examples
    --------
    >>> c = maxwell_boltzmann(qam(16), 1.0)
    >>> round(float((c.probabilities * c.points.abs().double() ** 2).sum()), 5), round(c.entropy_bits, 4)
    (1.0, 3.7864)
    >>> p = c.probabilities
    >>> bool(p.max() > p.min())   # inner points more often
    True
    """
    if not isinstance(constellation, Constellation):
        raise ValueError(f"constellation must be a Constellation (qam(M), ...), got {type(constellation).__name__}")
    if isinstance(nu, bool) or not isinstance(nu, numbers.Real) or not math.isfinite(nu) or nu < 0:
        raise ValueError(f"nu must be a finite number >= 0, got {nu!r}")
    points = constellation.points.detach().cpu().to(torch.complex128)
    probabilities = torch.softmax(-float(nu) * points.abs() ** 2, 0)
    return Constellation(points.to(torch.complex64), constellation.labels.cpu(), probabilities=probabilities)


def _pam_levels(num_levels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Levels ``-(L-1), ..., -1, 1, ..., L-1`` (left to right) and their Gray labels.

    The labels run right to left, so bit 0 sits on the positive side as in
    BPSK's :math:`1 - 2b`: 2-PAM is BPSK and each axis of QPSK a BPSK, bit for bit.
    """
    levels = torch.arange(num_levels, dtype=torch.float32) * 2 - (num_levels - 1)
    return levels, gray_code(torch.arange(num_levels - 1, -1, -1))


def qam(M: int, *, trainable: bool = False) -> Constellation:
    """Square M-QAM, Gray-labelled per axis, unit average energy.

    The first ``k/2`` bits of a label choose the in-phase level, the last
    ``k/2`` the quadrature level, each with a Gray-coded PAM whose bit 0 is on
    the positive side (so QPSK is two BPSKs with :math:`x = 1 - 2b`).

    Parameters
    ----------
    M : int
        Number of points: an even power of two (4, 16, 64, 256, ...).

    Examples
    --------
    >>> qam(4).points
    tensor([-0.7071-0.7071j, -0.7071+0.7071j,  0.7071-0.7071j,  0.7071+0.7071j])
    >>> qam(4).map(torch.tensor([[0., 1.]]))   # bit 0 -> +, bit 1 -> -
    tensor([[0.7071-0.7071j]])
    """
    M = _check_num_points(M)
    k = int(math.log2(M))
    if k % 2:
        raise ValueError(f"M must be a square power of two for qam (4, 16, 64, 256, ...), got {M}")
    side = 1 << (k // 2)
    levels, gray = _pam_levels(side)
    idx_i, idx_q = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    idx_i, idx_q = idx_i.flatten(), idx_q.flatten()
    points = torch.stack([levels[idx_i], levels[idx_q]], -1)
    labels = (gray[idx_i] << (k // 2)) | gray[idx_q]
    return Constellation(points, labels, trainable=trainable, kind="qam")


def psk(M: int, *, phase_offset: float = 0.0, trainable: bool = False) -> Constellation:
    """M-PSK on the unit circle, Gray-labelled around the circle.

    Point ``i`` sits at angle ``2*pi*i/M + phase_offset`` and carries label
    ``gray_code(i)``.

    >>> psk(2).points
    tensor([ 1.+0.j, -1.+0.j])
    >>> psk(8).bit_labels[:3].tolist()  # neighbours differ in one bit
    [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    """
    M = _check_num_points(M)
    angles = 2 * math.pi * torch.arange(M, dtype=torch.float64) / M + phase_offset
    points = torch.stack([angles.cos(), angles.sin()], -1).to(torch.float32)
    points[points.abs() < 1e-7] = 0.0
    return Constellation(points, gray_code(torch.arange(M)), trainable=trainable, kind="psk")


def pam(M: int, *, trainable: bool = False) -> Constellation:
    """M-PAM on the in-phase axis, Gray-labelled, unit average energy.

    >>> pam(4).points.real * 5 ** 0.5
    tensor([-3.0000, -1.0000,  1.0000,  3.0000])
    """
    M = _check_num_points(M)
    levels, gray = _pam_levels(M)
    points = torch.stack([levels, torch.zeros_like(levels)], -1)
    return Constellation(points, gray, trainable=trainable, kind="pam")


# DVB-S2 (ETSI EN 302 307-1, Sec. 5.4.3-5.4.4, Figs. 11-12): for each bit label 0..M-1,
# (ring, position) with the point at radius R_ring and angle position*step + offset.
_APSK16_RINGS = ((4, math.pi / 2, math.pi / 4), (12, math.pi / 6, math.pi / 4))  # (points, step, offset)
_APSK16_LABELS = [(1, p) for p in (0, 9, 3, 6, 11, 10, 4, 5, 1, 8, 2, 7)] + [(0, p) for p in (0, 3, 1, 2)]
_APSK32_RINGS = ((4, math.pi / 2, math.pi / 4), (12, math.pi / 6, math.pi / 4), (16, math.pi / 8, math.pi / 8))
_APSK32_LABELS = (
    [(1, p) for p in (0, 1, 9, 8, 3, 2, 6, 7)]
    + [(2, p) for p in (0, 2, 13, 11, 5, 3, 8, 10)]
    + [(1, 11), (0, 0), (1, 10), (0, 3), (1, 4), (0, 1), (1, 5), (0, 2)]
    + [(2, p) for p in (15, 1, 14, 12, 6, 4, 7, 9)]
)
#: DVB-S2 ring ratios by code rate: R2/R1 for 16-APSK, (R2/R1, R3/R1) for 32-APSK (EN 302 307-1, Tables 9 and 10).
APSK16_RING_RATIOS = {"2/3": 3.15, "3/4": 2.85, "4/5": 2.75, "5/6": 2.70, "8/9": 2.60, "9/10": 2.57}
APSK32_RING_RATIOS = {"3/4": (2.84, 5.27), "4/5": (2.72, 4.87), "5/6": (2.64, 4.64), "8/9": (2.54, 4.33), "9/10": (2.53, 4.30)}


def apsk(M: int, code_rate: str = "3/4", *, trainable: bool = False) -> Constellation:
    r"""DVB-S2 16-APSK (4+12 points) or 32-APSK (4+12+16), with the standard's labels and ring ratios.

    Rings of radius :math:`R_1 < R_2 (< R_3)` with the ratios DVB-S2 gives for
    ``code_rate`` (:data:`APSK16_RING_RATIOS`, :data:`APSK32_RING_RATIOS`);
    the inner 4 points at :math:`\pi/4 + i\pi/2`, the 12 at
    :math:`\pi/4 + i\pi/6`, the 16 at :math:`\pi/8 + i\pi/8`; the bit labels
    are the standard's (ETSI EN 302 307-1, Figs. 11 and 12: Gray-like, adjacent
    points on a ring differ in one bit). Scaled to unit average energy.

    Parameters
    ----------
    M : {16, 32}
    code_rate : str
        The DVB-S2 code rate whose ring ratios to use: for 16-APSK one of
        2/3, 3/4, 4/5, 5/6, 8/9, 9/10; for 32-APSK 3/4, 4/5, 5/6, 8/9, 9/10.

    Examples
    --------
    >>> c = apsk(16)
    >>> radii = c.points.abs()
    >>> round(float(radii.max() / radii.min()), 2), int((radii < radii.mean()).sum())
    (2.85, 4)
    """
    if M == 16:
        ratios, rings, table = APSK16_RING_RATIOS, _APSK16_RINGS, _APSK16_LABELS
    elif M == 32:
        ratios, rings, table = APSK32_RING_RATIOS, _APSK32_RINGS, _APSK32_LABELS
    else:
        raise ValueError(f"M must be 16 or 32 for DVB-S2 APSK, got {M!r}")
    if code_rate not in ratios:
        raise ValueError(f"code_rate must be one of {', '.join(ratios)} for {M}-APSK, got {code_rate!r}")
    ratio = ratios[code_rate]
    radii = (1.0, ratio) if M == 16 else (1.0, *ratio)
    points = torch.zeros(M, dtype=torch.complex128)
    for label, (ring, position) in enumerate(table):
        _, step, offset = rings[ring]
        points[label] = radii[ring] * torch.exp(torch.tensor(1j * (position * step + offset), dtype=torch.complex128))
    return Constellation(points.to(torch.complex64), torch.arange(M), trainable=trainable, kind="apsk")
