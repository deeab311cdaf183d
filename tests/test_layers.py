"""The layers contract (pyproject.toml, ``[tool.importlinter]``): it names every module, and it holds.

``.ci/run`` runs ``lint-imports`` too; this test makes a broken layer fail the default test run
as well, and checks that a module added to commae is placed in a layer instead of escaping the check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("importlinter")


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (contract,) = config["contracts"]
    return contract


def test_every_module_is_in_exactly_one_layer():
    named = [name.strip() for layer in _contract()["layers"] for name in layer.split("|")]
    modules = sorted(f"commae.{p.stem}" for p in (ROOT / "commae").iterdir() if (p.suffix == ".py" or (p / "__init__.py").is_file()) and p.stem not in ("__init__", "__main__"))
    assert sorted(named) == modules


def _lint(config: Path) -> subprocess.CompletedProcess:
    code = f"import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_layers_hold():
    done = _lint(ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check is real: with the CLI placed below the snr module, commae.cli's import of commae.snr is reported."""
    config = tmp_path / "upside_down.toml"
    config.write_text('[tool.importlinter]\nroot_package = "commae"\n\n[[tool.importlinter.contracts]]\nname = "upside down"\ntype = "layers"\nlayers = ["commae.snr", "commae.cli"]\n')
    done = _lint(config)
    assert done.returncode != 0
    assert "commae.snr is not allowed to import commae.cli" not in done.stdout
    assert "commae.cli" in done.stdout and "BROKEN" in done.stdout
