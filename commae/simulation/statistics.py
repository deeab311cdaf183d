"""Interval estimates of the error rates a Monte-Carlo point measures (the ``*_low``/``*_high`` columns)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import beta

__all__ = ["clopper_pearson"]


def clopper_pearson(errors: int | np.ndarray, trials: int | np.ndarray, confidence: float = 0.95) -> tuple[Any, Any]:
    r"""Exact two-sided Clopper–Pearson interval of a binomial proportion ``errors / trials``.

    .. math::

        p_\mathrm{low} = B^{-1}\!\left(\tfrac{\alpha}{2};\, e,\, t-e+1\right), \qquad
        p_\mathrm{high} = B^{-1}\!\left(1-\tfrac{\alpha}{2};\, e+1,\, t-e\right),

    with :math:`\alpha = 1 -` ``confidence``, :math:`p_\mathrm{low} = 0` when
    :math:`e = 0` and :math:`p_\mathrm{high} = 1` when :math:`e = t`
    (Clopper & Pearson, Biometrika 1934).

    >>> low, high = clopper_pearson(0, 1000)
    >>> low, round(float(high), 6)
    (0.0, 0.003682)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    e = np.asarray(errors, dtype=float)
    t = np.asarray(trials, dtype=float)
    if np.any(t < 1) or np.any(e < 0) or np.any(e > t):
        raise ValueError("need 0 <= errors <= trials and trials >= 1")
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore"):
        low = np.where(e > 0, beta.ppf(alpha / 2, np.maximum(e, 1), t - e + 1), 0.0)
        high = np.where(e < t, beta.ppf(1 - alpha / 2, e + 1, np.maximum(t - e, 1)), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high
