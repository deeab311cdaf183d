"""experiments/impairments.py --quick runs end to end (CI): every number, CSV and figure it promises is written,
and --from-csv redraws both figures from those CSVs alone, the same figures the run drew."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long  # an experiment's quick run: CI's longer set

ROOT = Path(__file__).resolve().parents[1]


def test_impairments_quick(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "impairments.py", "--quick", "--out", str(tmp_path)], cwd=ROOT / "experiments", env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in (
        "impairments.csv",
        "impairments_curves.csv",
        "impairments_curves.json",
        "impairments_points.csv",
        "impairments_constellations.png",
        "impairments_constellations.pdf",
        "impairments_curves.png",
        "impairments_curves.pdf",
    ):
        assert (tmp_path / name).is_file(), name
    with open(tmp_path / "impairments.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["experiment"] for r in rows} == {"A", "B", "B2", "C", "D", "D2"}
    refused = [r["value"] for r in rows if r["quantity"] == "backprop refused with"]
    assert refused and "adc-3bit-clip1.5 has no gradient" in refused[0]

    csvs = {p.name: p.read_bytes() for p in tmp_path.glob("*.csv")}
    drawn = {}
    for figure in ("impairments_constellations", "impairments_curves"):
        drawn[figure] = (tmp_path / f"{figure}.png").read_bytes()
        for ext in ("png", "pdf"):
            (tmp_path / f"{figure}.{ext}").unlink()
    redone = subprocess.run([sys.executable, "impairments.py", "--from-csv", "--out", str(tmp_path)], cwd=ROOT / "experiments", env=env, capture_output=True, text=True, timeout=300)
    assert redone.returncode == 0, redone.stderr[-2000:]
    assert "trained" not in redone.stdout
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.csv")} == csvs
    for figure, png in drawn.items():
        assert (tmp_path / f"{figure}.pdf").is_file()
        assert (tmp_path / f"{figure}.png").read_bytes() == png, f"{figure}.png from the CSVs differs from the run's"
