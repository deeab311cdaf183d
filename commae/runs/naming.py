"""The default directory of a training run: its main settings spelt out, every other difference hashed.

``commae train`` without ``--out`` writes into ``runs/`` + this name, so the
same options give the same name (a rerun finds its run, and ``--resume``
continues it) and different experiments never share one. Which options are
spelt out (``names_run``) and which never name a run (``operational``: how a
run is carried out, not what it computes) is :mod:`commae.config`'s table.

Examples
--------
>>> default_run_dir({})
'runs/k4-n1-awgn-7dB'
>>> default_run_dir({"loss": "bce", "snr": (5.0, 10.0)})
'runs/k4-n1-awgn-5to10dB-bce'
>>> default_run_dir({"k": 4, "n": 7, "real": True})
'runs/k4-n7-real-awgn-7dB'
>>> default_run_dir({"channel": "rayleigh", "csi": False, "device": "cuda"})  # the device names nothing
'runs/k4-n1-rayleigh-fast-nocsi-7dB'
>>> default_run_dir({"loss": "bce", "snr": (4.0, 8.0), "points": True, "noise_input": True})
'runs/k4-n1-awgn-4to8dB-bce-points-noisein'
>>> default_run_dir({"batch_size": 2048})  # not spelt out: a hash of its value
'runs/k4-n1-awgn-7dB-xbef35582'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from .. import config

__all__ = ["default_run_dir", "NAMED", "OPERATIONAL"]

# Options (by parameter name) that say how a run is carried out, not what it computes: they never name a run.
OPERATIONAL = frozenset(option.param for option in config.OPTIONS if option.operational)
# Options spelt out in a run's name; every other option that differs from its default
# enters the name through a short hash of its value, so different experiments never share a name.
NAMED = frozenset(option.param for option in config.OPTIONS if option.names_run)


def default_run_dir(options: Mapping[str, Any]) -> str:
    """``runs/`` + a name that spells the main settings of a ``commae train`` run and hashes the rest.

    Parameters
    ----------
    options : mapping
        ``commae train``'s options by their parameter names (``points``, not
        ``constellation``) as the command line reads them: ``snr`` a
        ``(low, high)`` pair in dB, ``normalization`` None unless given. An
        option left out takes its default.

    Returns
    -------
    str
        ``commae train --snr 7`` -> ``runs/k4-n1-awgn-7dB``; ``--loss bce`` ->
        ``runs/k4-n1-awgn-7dB-bce``; ``--k 4 --n 7 --real`` ->
        ``runs/k4-n7-real-awgn-7dB``; ``--batch-size 2048`` ->
        ``runs/k4-n1-awgn-7dB-xbef35582``.
    """
    defaults = {option.param: option.unset_value for option in config.options("train")}
    opts = {**defaults, **options}
    differ = {name: opts[name] for name, default in defaults.items() if name not in OPERATIONAL and opts[name] != default}
    low, high = opts["snr"]
    parts = [f"k{opts['k']}", f"n{opts['n']}"]
    parts += ["real"] if opts["real"] else []
    parts.append(opts["channel"])
    if opts["channel"] != "awgn":
        parts.append(opts["fading"])
        parts += [] if opts["csi"] else ["nocsi"]
    parts.append(f"{low:g}{'' if low == high else f'to{high:g}'}dB")
    parts += ["esno"] if opts["esno"] else []
    parts += [opts["loss"]] if "loss" in differ else []
    parts += ["points"] if opts["points"] else []
    parts += ["noisein"] if opts["noise_input"] else []
    parts += ["msgnorm"] if opts["normalization"] == "message" else []
    parts += [f"h{opts['hidden']}"] if "hidden" in differ else []
    parts += [opts["optimizer"]] if "optimizer" in differ else []
    parts += [f"lr{opts['lr']:g}"] if "lr" in differ else []
    parts += [f"seed{opts['seed']}"] if "seed" in differ else []
    rest = {name: value for name, value in differ.items() if name not in NAMED}
    if opts["channel"] == "awgn":  # fading and CSI mean nothing on AWGN, but keep runs apart all the same
        rest.update({name: differ[name] for name in ("fading", "csi") if name in differ})
    if rest:
        text = json.dumps(sorted((k, list(v) if isinstance(v, tuple) else v) for k, v in rest.items()))
        parts.append("x" + hashlib.sha256(text.encode()).hexdigest()[:8])
    return "runs/" + "-".join(parts)
