"""Shared by the experiment scripts: paths and the default trained run."""

from __future__ import annotations

import sys
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


def experiment_args(doc: str, from_csv: bool = False, options=None):
    """``--quick`` (a small run that asserts the direction of every claim, for CI) and ``--out`` (default figures/, or a temp dir when quick).

    ``from_csv`` adds ``--from-csv``: redraw the figures from the CSVs in ``--out`` without training or simulating.
    ``options``, a callable taking the ``argparse`` parser, adds a script's own options.
    """
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets; assert the direction of every claim; writes to a temp dir unless --out")
    parser.add_argument("--out", type=Path, default=None, help="directory for figures and CSVs [default: figures/, or a temp dir with --quick]")
    if from_csv:
        parser.add_argument("--from-csv", action="store_true", help="redraw the figures from the CSVs in --out without training or simulating")
    if options is not None:
        options(parser)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # one intra-op thread: the experiments share small machines, where more threads lose several-fold
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="commae-quick-")) if args.quick else FIGURES
    args.out.mkdir(parents=True, exist_ok=True)
    args.runs = args.out / "runs" if args.quick else RUNS
    return args


def write_csv(path: Path, rows: list[dict]) -> None:
    """Rows of dicts to a CSV (floats as repr, so numbers survive exactly)."""
    import csv

    with open(path, "w", newline="") as fh:
        fields = list(dict.fromkeys(key for row in rows for key in row))  # every key, in first-seen order
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows([{k: repr(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows])


def train_or_load(system: SystemConfig, train: TrainConfig, run_dir: Path):
    """The trained model of ``run_dir`` when its config.json is exactly (system, train), else train it there.

    Training is deterministic for a seed, so a run found on disk with the same
    config is the one this would train; a rerun only redraws the figures.
    Returns ``(model, last history row)``.
    """
    from commae.runs import load_config, load_history

    try:
        if load_config(run_dir) == (system, train):
            return load_model(run_dir), load_history(run_dir)[-1]
    except RunError:
        pass
    result = train_run(system, train, run_dir, force=True, progress=False, log=None)
    return result.model.eval(), result.history.last


def report_checks(checks: dict[str, bool]) -> None:
    """Print PASS/FAIL for every claim a script checks; exit 1 if any failed."""
    print()
    for claim, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {claim}")
    if not all(checks.values()):
        sys.exit(1)
