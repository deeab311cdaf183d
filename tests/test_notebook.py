"""docs/tutorial.ipynb runs from top to bottom, and the numbers it computes hold up.

The notebook is stored without outputs; this test executes it with nbclient
in a fresh ``python3`` (ipykernel) kernel and fails on any cell error. The
notebook writes its results to the JSON file named by
``COMMAE_TUTORIAL_RESULTS``, which the checks below read.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import commae
from commae import clopper_pearson, theory

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"
EBNO_DB = 7.0  # the notebook's training Eb/N0


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.long
def test_tutorial_notebook_runs_and_its_numbers_hold(tmp_path, monkeypatch):
    results_path = tmp_path / "results.json"
    # The kernel inherits this environment: the checkout's commae, one intra-op thread
    # (on a shared 2-core machine more threads than cores slow the small MLPs several-fold).
    root = str(NOTEBOOK.parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("COMMAE_TUTORIAL_RESULTS", str(results_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    r = json.loads(results_path.read_text())
    assert r["version"] == commae.__version__

    # training: fit learned something, to within 25 % of 16-QAM's symbol error rate
    ser_qam = theory.ser_qam(EBNO_DB, 16)
    losses = r["history_val_loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert r["val_ser"] < 1.25 * ser_qam, (r["val_ser"], ser_qam)

    # simulate: 16-QAM's counts agree with its closed form (99.9 % Clopper-Pearson),
    # and on the same noise the learned system's SER is not far above 16-QAM's
    rows = {(row["system"], row["ebno_db"]): row for row in r["rows"]}
    qam_points = sorted(ebno for name, ebno in rows if name == "16-QAM")
    assert qam_points == [0.0, 2.0, 4.0, 6.0, 8.0]
    for ebno in qam_points:
        qam, learned = rows["16-QAM", ebno], rows["Autoencoder (1,4)", ebno]
        low, high = clopper_pearson(qam["bit_errors"], qam["bits"], 0.999)
        assert low <= qam["ber_theory"] <= high, (ebno, qam)
        assert math.isnan(learned["ber_theory"])
        if ebno >= 6:
            assert learned["ser"] < 1.2 * qam["ser"], (ebno, learned["ser"], qam["ser"])

    # MI: the receiver's bound lies below the MI of its own points (quadrature) but close to it,
    # and neither exceeds log2(16) or the AWGN capacity at the same Es/N0
    bound = r["mi_bound"]
    capacity = math.log2(1 + 10 ** (bound["esno_db"] / 10))
    assert bound["low"] <= bound["mi_bits_per_message"] <= bound["high"]
    assert bound["low"] <= r["mi_points"] <= min(4.0, capacity)
    assert r["mi_points"] - bound["mi_bits_per_message"] < 0.05, (r["mi_points"], bound)
    assert 3.6 < r["mi_qam16"] < min(4.0, capacity)

    # custom receiver: trained through fit, it comes within 10 % of the ML receiver of the same points
    assert r["custom_val_ser"] < 1.25 * ser_qam
    custom = {row["system"]: row for row in r["custom_rows"]}
    ratio = custom["centroid receiver"]["ser"] / custom["ML receiver"]["ser"]
    assert custom["ML receiver"]["symbol_errors"] >= 2000
    assert 0.95 < ratio < 1.10, ratio
