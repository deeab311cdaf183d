"""Shared by the experiment scripts: paths and the default trained run."""

from __future__ import annotations

from pathlib import Path

from commae.models import SystemConfig
from commae.runs import RunError, load_model, train_run
from commae.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures"
RUNS = ROOT / "runs"


def default_run():
    """The model `commae train --snr 7` learns (seed 0), trained into runs/default unless it is there already.

    Training is deterministic for a seed, so a run found on disk is the one this would train.
    """
    run_dir = RUNS / "default"
    try:
        return load_model(run_dir), run_dir
    except RunError:
        result = train_run(SystemConfig(), TrainConfig(), run_dir, force=True, progress=False, log=None)
        return result.model.eval(), run_dir
