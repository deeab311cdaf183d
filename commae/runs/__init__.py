"""A run directory on disk, and training a system into one.

``train_run(system, train, out)`` leaves exactly the files of
:mod:`commae.runs.layout` in ``out``: ``config.json``, ``model.pt``
(weights only), ``checkpoint.pt``, ``history.csv`` and
``constellation.{pdf,png}``. Every file is written atomically (a temp file,
then a rename), so an interrupted run never leaves half a file; everything is
read back with ``weights_only=True``, so a model file cannot run code.

================== ===================================================================
module             owns
================== ===================================================================
``layout``         the names of a run's files and what each holds
``lock``           the directory's lock (``filelock``): one writing process at a time
``directory``      the directory as a transaction: checks, the previous run kept until
                   the new one's first checkpoint, put back on failure
``files``          config.json, history.csv, model.pt and the figure: read and written
``checkpoint``     ``checkpoint.pt`` as one dataclass whose fields are its keys; its schema
``comparison``     the fixed validation set and the baselines measured on it
``failures``       the run's errors and what each failure keeps and says
``pipeline``       :func:`train_run`: settle, open, build, resume, fit, finish
``naming``         :func:`default_run_dir`: a run's directory named by its settings
``resume``         what ``--resume`` may change, and when a new run would repeat one
================== ===================================================================
"""

from __future__ import annotations

from ..schemas import HISTORY_COLUMNS
from .checkpoint import Checkpoint
from .directory import prepare_run_dir
from .failures import FAILED_MI_BITS, RunError, RunInterrupted
from .files import load_config, load_history, load_model
from .layout import CHECKPOINT, RUN_FILES
from .naming import default_run_dir
from .pipeline import RunResult, check_device, train_run
from .resume import ResumeRefused, RunExists, refuse_rerun, resumed_settings, training_ebno_db

__all__ = [
    "RunError",
    "RunInterrupted",
    "RunResult",
    "train_run",
    "load_model",
    "load_config",
    "load_history",
    "prepare_run_dir",
    "check_device",
    "Checkpoint",
    "FAILED_MI_BITS",
    "RUN_FILES",
    "CHECKPOINT",
    "HISTORY_COLUMNS",
    "default_run_dir",
    "resumed_settings",
    "refuse_rerun",
    "training_ebno_db",
    "ResumeRefused",
    "RunExists",
]
