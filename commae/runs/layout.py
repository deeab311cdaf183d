"""The files of a run directory: their names, and what each holds.

================== ============================================================
``config.json``    every option (system and training), the package version, the seed
``model.pt``       the weights only: ``torch.load(path, weights_only=True)`` reads it
``checkpoint.pt``  model, optimiser, scheduler and RNG states and the epoch, for resuming
``history.csv``    one row per epoch: losses, val SER/BER/BLER, MI in bits, lr, seconds
``constellation.{pdf,png}``  the learned constellation (n = 1) or a 2-D projection of its codebook
================== ============================================================

Beside them a directory may hold, hidden: the lock of the process that writes
it (:data:`~commae.runs.lock.LOCK_NAME`), the temp files of a write under way
(``.NAME.tmp-PID``) and a previous run that ``--force`` moved aside until the
new one's first checkpoint (``.previous-PID``).
"""

from __future__ import annotations

__all__ = ["CONFIG", "MODEL", "CHECKPOINT", "HISTORY", "CONSTELLATION", "RUN_FILES"]

CONFIG, MODEL, CHECKPOINT, HISTORY = "config.json", "model.pt", "checkpoint.pt", "history.csv"
CONSTELLATION = "constellation"  # the figure's stem: constellation.pdf and constellation.png
RUN_FILES = (CONFIG, MODEL, CHECKPOINT, HISTORY, f"{CONSTELLATION}.pdf", f"{CONSTELLATION}.png")
