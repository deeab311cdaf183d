"""The ``*_theory`` columns of a results row: a baseline's closed-form rates where :mod:`commae.theory` has them.

Examples
--------
>>> from commae import Modem, psk
>>> rates = theory_rates(Modem(psk(2)), 4.0)
>>> round(rates["ber"], 5)
0.0125
"""

from __future__ import annotations

from .. import theory as closed_form
from ..system import System

__all__ = ["theory_rates"]


def theory_rates(system: System, ebno_db: float) -> dict[str, float] | None:
    """Closed-form BER/SER/BLER of a baseline where :mod:`commae.theory` has them, else None.

    Asks the system and its channel what :mod:`commae.theory` has for them
    (each one's ``closed_form``; :func:`commae.theory.system_rates`).
    Covered: Gray QAM/PSK modems (and BPSK as 2-PAM) over AWGN and over
    fading with CSI (Rician: Gray square QAM and BPSK), Hamming (7,4) with
    hard decisions, uncoded BPSK blocks. Entries without a closed form are NaN.
    """
    own = getattr(system, "closed_form", None)
    channel = getattr(getattr(system, "channel", None), "closed_form", None)
    if own is None or channel is None:
        return None
    return closed_form.system_rates(ebno_db, **own, **channel)
