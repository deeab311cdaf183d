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
from ..baselines import Hamming74, Modem, UncodedBPSK
from ..channels import AWGN, Rayleigh, Rician
from ..system import System

__all__ = ["theory_rates"]


def theory_rates(system: System, ebno_db: float) -> dict[str, float] | None:
    """Closed-form BER/SER/BLER of a baseline where :mod:`commae.theory` has them, else None.

    Covered: Gray QAM/PSK modems (and BPSK as 2-PAM) over AWGN and over
    Rayleigh with CSI; Gray square QAM and BPSK over Rician with CSI (fast or block fading: one symbol per use, so the same
    per-symbol statistics; BLER only for one symbol per message), Hamming
    (7,4) with hard decisions, uncoded BPSK blocks. Entries without a closed
    form are NaN.
    """
    ch = system.channel
    k_factor = None
    if isinstance(ch, (Rayleigh, Rician)):
        if not ch.csi:
            return None
        kind, fading = ("rayleigh", ch.fading) if isinstance(ch, Rayleigh) else ("rician", ch.fading)
        if kind == "rician":
            k_factor = ch.k_factor
            if not (isinstance(system, Modem) and system.constellation.kind in ("qam", "pam", "psk")):
                return None
    elif isinstance(ch, AWGN):
        kind, fading = "awgn", "fast"
    else:  # impairments: no closed form
        return None
    if isinstance(system, Modem):
        c = system.constellation
        M, m = c.num_points, system.n
        if kind == "rician":  # Gray square QAM and BPSK have the MGF forms
            if c.kind == "qam":
                ber, ser = closed_form.ber_qam(ebno_db, M, "rician", k_factor), closed_form.ser_qam(ebno_db, M, "rician", k_factor)
            elif M == 2:
                ber = ser = closed_form.ber_bpsk(ebno_db, "rician", k_factor)
            else:
                return None
            bler = 1.0 - (1.0 - float(ser)) ** m if (m == 1 or fading == "fast") else float("nan")
            return {"ber": float(ber), "ser": float(ser), "bler": bler}
        if c.kind == "qam":
            ber, ser = closed_form.ber_qam(ebno_db, M, channel=kind), closed_form.ser_qam(ebno_db, M, channel=kind)
        elif c.kind == "psk":  # any rotation: the rates are rotation invariant
            ber, ser = closed_form.ber_psk(ebno_db, M, channel=kind), closed_form.ser_psk(ebno_db, M, channel=kind)
        elif c.kind == "pam" and M == 2:
            ber = ser = closed_form.ber_bpsk(ebno_db, channel=kind)
        else:
            return None
        if M == 2:
            bler = float(closed_form.bler_uncoded(ebno_db, m, channel=kind, fading=fading))
        elif m == 1 or fading == "fast":  # independent symbols
            bler = 1.0 - (1.0 - float(ser)) ** m
        else:
            bler = float("nan")
        return {"ber": float(ber), "ser": float(ser), "bler": bler}
    if isinstance(system, Hamming74) and system.decoder == "hard":
        bler = float(closed_form.bler_hamming74_hard(ebno_db, channel=kind, fading=fading))
        return {"ber": float(closed_form.ber_hamming74_hard(ebno_db, channel=kind, fading=fading)), "ser": bler, "bler": bler}
    if isinstance(system, UncodedBPSK):
        ber = float(closed_form.ber_bpsk(ebno_db, channel=kind))
        return {"ber": ber, "ser": ber, "bler": float(closed_form.bler_uncoded(ebno_db, system.k, channel=kind, fading=fading))}
    return None
