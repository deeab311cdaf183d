"""Names of the baselines, checked without importing torch.

:mod:`commae.baselines` builds the systems; this module only knows how they are
spelled, so that the command line can refuse a misspelt ``--baseline`` at once.
"""

from __future__ import annotations

import re

__all__ = ["BASELINE_NAMES", "is_known_baseline", "is_baseline_name"]

BASELINE_NAMES = ("bpsk", "qpsk", "qam16", "qam64", "qam256", "psk8", "psk16", "apsk16", "apsk32", "hamming74-hard", "hamming74-soft", "uncoded-bpsk-K", "pilot-qpsk", "pilot-qam16")

_UNCODED = re.compile(r"uncoded-bpsk-0*[1-9]\d*")
_BASELINE_NAME = re.compile(r"^(bpsk|qpsk|qam\d+|a?psk\d+|pam\d+|hamming74-(hard|soft)|uncoded-bpsk-\d+|pilot-(qpsk|qam\d+|psk\d+|bpsk))$")


def is_known_baseline(name: str) -> bool:
    """Whether :func:`commae.baselines.make_baseline` builds a system of this name.

    >>> is_known_baseline("qam16"), is_known_baseline("uncoded-bpsk-8"), is_known_baseline("qam32")
    (True, True, False)
    """
    return (name in BASELINE_NAMES and name != "uncoded-bpsk-K") or bool(_UNCODED.fullmatch(name))


def is_baseline_name(name: str) -> bool:
    """Whether ``name`` is the name of a baseline (one of :data:`BASELINE_NAMES`, or a modem's ``qamM``/``pskM``/``pamM``).

    >>> is_baseline_name("qam16"), is_baseline_name("k4-n1-awgn-7dB")
    (True, False)
    """
    return bool(_BASELINE_NAME.match(name))
