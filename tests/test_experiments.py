"""The reproductions in experiments/ and its deep-tails figure run in --quick mode and assert the direction of every claim they make;
``--from-csv`` redraws their figures from the CSVs alone, the same figures the run drew.

They run at the same time, one torch thread each (about 60 s of CPU in all, and about 25 s more for coded_autoencoder);
each writes into its own temporary directory, never into figures/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long  # the experiments' quick runs: CI's longer set

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("oshea_hoydis", "fading", "bitwise_shaping", "training_dynamics", "deep_tails", "coded_autoencoder", "joint_shaping")
OUTPUTS = {
    "oshea_hoydis": ("oshea_hoydis.csv", "oshea_hoydis.json", "oshea_hoydis.png", "oshea_hoydis_gaps.csv", "oshea_hoydis_constellations.pdf"),
    "fading": ("fading.csv", "fading.png", "fading_points.csv"),
    "bitwise_shaping": ("bitwise_shaping.csv", "bitwise_shaping.png", "bitwise_shaping_points.csv"),
    "training_dynamics": ("training_dynamics.csv", "training_dynamics.png", "sgd_convex.png", "training_mistakes.csv"),
    "deep_tails": ("deep_tails.csv", "deep_tails.json", "deep_tails_is.csv", "deep_tails_is.json", "deep_tails.png"),
    "coded_autoencoder": (
        "coded_autoencoder.csv",
        "coded_autoencoder.json",
        "coded_autoencoder.png",
        "coded_autoencoder_gaps.csv",
        "coded_autoencoder_beyond.csv",
        "coded_autoencoder_beyond.json",
        "coded_autoencoder_beyond_gaps.csv",
    ),
    "joint_shaping": ("joint_shaping.csv", "joint_shaping_curves.csv", "joint_shaping_points.csv", "joint_shaping.png", "joint_shaping_constellations.pdf"),
}
FIGURES = {
    "oshea_hoydis": ("oshea_hoydis", "oshea_hoydis_constellations"),
    "fading": ("fading",),
    "bitwise_shaping": ("bitwise_shaping",),
    "training_dynamics": ("training_dynamics", "sgd_convex"),
    "deep_tails": ("deep_tails",),
    "coded_autoencoder": ("coded_autoencoder",),
    "joint_shaping": ("joint_shaping", "joint_shaping_constellations"),
}
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), "MPLBACKEND": "Agg"}


def _run_all(out: Path, extra: list[str], tag: str) -> dict[str, tuple[int, str]]:
    """Run every script with ``extra`` at once, each into out/<name>; (exit code, log) by name."""
    running = {}
    for name in SCRIPTS:
        log = open(out / f"{name}.{tag}.log", "w")
        command = [sys.executable, str(ROOT / "experiments" / f"{name}.py"), *extra, "--out", str(out / name)]
        running[name] = (subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT), log)
    done = {}
    for name, (process, log) in running.items():
        code = process.wait(timeout=900)
        log.close()
        done[name] = (code, (out / f"{name}.{tag}.log").read_text())
    return done


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick")
    return out, _run_all(out, ["--quick"], "quick")


def test_quick_reproductions_hold_their_claims(quick):
    out, done = quick
    failed = [f"{name} exited {code}:\n{text[-3000:]}" for name, (code, text) in done.items() if code != 0]
    assert not failed, "\n\n".join(failed)
    for name, (_, text) in done.items():
        assert "PASS" in text and "FAIL" not in text, text[-3000:]
        for output in OUTPUTS[name]:
            assert (out / name / output).is_file(), f"{name} did not write {output}"


def test_the_quick_oshea_hoydis_run_prints_what_it_measured(quick):
    """Issue 23.9: after measuring 4 points (0, 2, 4, 6 dB) it printed the full run's "13 independent 95 % intervals" and "(0..8 dB)"."""
    _, done = quick
    text = done["oshea_hoydis"][1]
    assert "(4 independent 95 % intervals miss 0.20 on average)" in text and "every BLER it reaches (0..6 dB)" in text, text[-3000:]
    assert "13 independent" not in text and "0..8 dB" not in text


def test_from_csv_redraws_the_figures_of_the_run_without_touching_its_csvs(quick):
    out, done = quick
    if any(code != 0 for code, _ in done.values()):
        pytest.skip("a quick run failed (test_quick_reproductions_hold_their_claims says which)")
    drawn, csvs = {}, {}
    for name in SCRIPTS:
        csvs[name] = {p.name: p.read_bytes() for p in (out / name).glob("*.csv")}
        for figure in FIGURES[name]:
            drawn[(name, figure)] = (out / name / f"{figure}.png").read_bytes()
            for ext in ("png", "pdf"):
                (out / name / f"{figure}.{ext}").unlink()
    redone = _run_all(out, ["--from-csv"], "redraw")
    failed = [f"{name} --from-csv exited {code}:\n{text[-3000:]}" for name, (code, text) in redone.items() if code != 0]
    assert not failed, "\n\n".join(failed)
    for name in SCRIPTS:
        assert "trained" not in redone[name][1]  # no training, no simulation: only the drawing
        assert {p.name: p.read_bytes() for p in (out / name).glob("*.csv")} == csvs[name], f"{name} --from-csv changed a CSV"
        for figure in FIGURES[name]:
            assert (out / name / f"{figure}.pdf").is_file(), f"{name} --from-csv did not write {figure}.pdf"
            assert (out / name / f"{figure}.png").read_bytes() == drawn[(name, figure)], f"{figure}.png from the CSVs differs from the run's"
