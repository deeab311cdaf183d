"""Names of the baselines, checked without importing torch.

:mod:`commae.baselines` builds the systems; this module only knows how they are
spelled, so that the command line can refuse a misspelt ``--baseline`` at once.
"""

from __future__ import annotations

import math
import re

__all__ = ["BASELINE_NAMES", "BASELINE_PLACEHOLDERS", "MB_SIZES", "is_known_baseline", "is_baseline_name", "unknown_baseline", "maxwell_boltzmann_name"]

BASELINE_NAMES = (
    "bpsk", "qpsk", "qam16", "qam64", "qam256", "psk8", "psk16", "apsk16", "apsk32", "hamming74-hard", "hamming74-soft",
    "uncoded-bpsk-K", "pilot-qpsk", "pilot-qam16", "qamM-mb", "qamM-mb-bmi", "qamM-mb:NU",
)  # fmt: skip
#: What the placeholders of :data:`BASELINE_NAMES` stand for.
BASELINE_PLACEHOLDERS = "K a positive integer; M 16, 64 or 256; NU a number >= 0"
#: The square QAM sizes of the Maxwell–Boltzmann baselines (``qamM-mb``).
MB_SIZES = (16, 64, 256)

_UNCODED = re.compile(r"uncoded-bpsk-0*[1-9]\d*")
_MB = re.compile(r"qam(\d+)-mb(?:(-bmi)|:([0-9.]+(?:[eE][+-]?\d+)?))?")
_BASELINE_NAME = re.compile(r"^(bpsk|qpsk|qam\d+|a?psk\d+|pam\d+|hamming74-(hard|soft)|uncoded-bpsk-\d+|pilot-(qpsk|qam\d+|psk\d+|bpsk)|qam\d+-mb(-bmi|:[0-9.eE+-]+)?)$")


def maxwell_boltzmann_name(name: str) -> tuple[int, str, float | None] | None:
    """``(M, metric, nu)`` of a Maxwell–Boltzmann QAM baseline's name, or None when ``name`` is not one.

    ``qamM-mb``: ν best for the MI at the SNR it runs at (``metric="mi"``,
    ``nu`` None); ``qamM-mb-bmi``: best for the BMD rate (``"bmi"``);
    ``qamM-mb:NU``: the fixed ν = NU (``metric`` ``"fixed"``).

    >>> maxwell_boltzmann_name("qam64-mb"), maxwell_boltzmann_name("qam16-mb-bmi"), maxwell_boltzmann_name("qam256-mb:0.05")
    ((64, 'mi', None), (16, 'bmi', None), (256, 'fixed', 0.05))
    >>> maxwell_boltzmann_name("qam32-mb"), maxwell_boltzmann_name("qam16-mb:-1"), maxwell_boltzmann_name("qam16")
    (None, None, None)
    """
    found = _MB.fullmatch(name)
    if found is None or int(found.group(1)) not in MB_SIZES or found.group(1).startswith("0"):
        return None
    size, bmi, nu_text = int(found.group(1)), found.group(2), found.group(3)
    if nu_text is None:
        return size, "bmi" if bmi else "mi", None
    try:
        nu = float(nu_text)
    except ValueError:
        return None
    return (size, "fixed", nu) if math.isfinite(nu) and nu >= 0 else None


def is_known_baseline(name: str) -> bool:
    """Whether :func:`commae.baselines.make_baseline` builds a system of this name.

    >>> is_known_baseline("qam16"), is_known_baseline("uncoded-bpsk-8"), is_known_baseline("qam32"), is_known_baseline("qam64-mb")
    (True, True, False, True)
    """
    if name in ("uncoded-bpsk-K", "qamM-mb", "qamM-mb-bmi", "qamM-mb:NU"):
        return False
    return name in BASELINE_NAMES or bool(_UNCODED.fullmatch(name)) or maxwell_boltzmann_name(name) is not None


def unknown_baseline(name: str) -> str:
    """The one-line message refusing ``name``: the valid names and what their placeholders stand for.

    >>> unknown_baseline("qam32").startswith("'qam32' is not one of bpsk, qpsk, qam16")
    True
    """
    return f"{name!r} is not one of {', '.join(BASELINE_NAMES)} ({BASELINE_PLACEHOLDERS})"


def is_baseline_name(name: str) -> bool:
    """Whether ``name`` is the name of a baseline (one of :data:`BASELINE_NAMES`, or a modem's ``qamM``/``pskM``/``pamM``).

    >>> is_baseline_name("qam16"), is_baseline_name("qam16-mb"), is_baseline_name("k4-n1-awgn-7dB")
    (True, True, False)
    """
    return bool(_BASELINE_NAME.match(name))
