"""The four reproductions in experiments/ run in --quick mode and assert the direction of every claim they make.

They run at the same time, one torch thread each (about 60 s of CPU in all);
each writes into its own temporary directory, never into figures/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("oshea_hoydis", "fading", "bitwise_shaping", "training_dynamics")
OUTPUTS = {
    "oshea_hoydis": ("oshea_hoydis.csv", "oshea_hoydis.json", "oshea_hoydis.png", "oshea_hoydis_gaps.csv", "oshea_hoydis_constellations.pdf"),
    "fading": ("fading.csv", "fading.png", "fading_points.csv"),
    "bitwise_shaping": ("bitwise_shaping.csv", "bitwise_shaping.png", "bitwise_shaping_points.csv"),
    "training_dynamics": ("training_dynamics.csv", "training_dynamics.png", "sgd_convex.png", "training_mistakes.csv"),
}


def test_quick_reproductions_hold_their_claims(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    running = {}
    for name in SCRIPTS:
        log = open(tmp_path / f"{name}.log", "w")
        running[name] = (
            subprocess.Popen([sys.executable, str(ROOT / "experiments" / f"{name}.py"), "--quick", "--out", str(tmp_path / name)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
            log,
        )
    failed = []
    for name, (process, log) in running.items():
        code = process.wait(timeout=900)
        log.close()
        text = (tmp_path / f"{name}.log").read_text()
        if code != 0:
            failed.append(f"{name} exited {code}:\n{text[-3000:]}")
            continue
        assert "PASS" in text and "FAIL" not in text, text[-3000:]
        for output in OUTPUTS[name]:
            assert (tmp_path / name / output).is_file(), f"{name} did not write {output}"
    assert not failed, "\n\n".join(failed)
