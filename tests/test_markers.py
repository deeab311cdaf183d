"""The default run (`python -m pytest`) still covers every test file and every module of commae.

The longer checks carry the ``long`` marker (CI runs them after the default
set, with ``python -m pytest -m long``); the learning runs nobody waits for
carry ``slow``. Marking must thin a file out, never empty it: each test file
keeps at least one test in the default selection (except the few that are
long as a whole, listed here), and each module of commae is named by an
import of a test file in that selection, lies in a subpackage one names, has
a doctest there, or is listed with the default test that reaches it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = "not slow and not long"  # pyproject.toml's addopts
WHOLLY_LONG = {
    "test_experiments.py": "the experiments' quick runs",
    "test_experiment_impairments.py": "an experiment's quick run",
}
REACHED_THROUGH = {  # modules no test imports, and the default test file that runs them
    "commae.__main__": "test_cli.py",  # python -m commae --version
    "commae._files": "test_lifecycle.py",  # every file a run writes
}


def _whole_default_run(config: pytest.Config) -> bool:
    """This session collected the default selection as `python -m pytest` does, with nothing left out."""
    option = config.option
    return config.args_source is pytest.Config.ArgsSource.TESTPATHS and option.markexpr == DEFAULT and not option.keyword and not option.deselect and not getattr(option, "lf", False)


def _default_selection(request: pytest.FixtureRequest) -> list[str]:
    """The node ids of the default selection: this session's items in a whole default run, else a collect-only run's."""
    if _whole_default_run(request.config):
        return [item.nodeid for item in request.session.items]
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", DEFAULT]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def _modules() -> set[str]:
    """Every module of commae as its dotted name (a package as its own name)."""
    names = set()
    for path in (ROOT / "commae").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _named(path: Path, modules: set[str]) -> set[str]:
    """The modules of commae an import in ``path`` names (``from commae import theory`` names commae.theory)."""
    named = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return named & modules


def test_the_default_run_keeps_every_test_file_and_every_module(request):
    selected = _default_selection(request)
    files = {nodeid.split("::")[0] for nodeid in selected}
    tests = {path.name for path in (ROOT / "tests").glob("test_*.py")}
    assert set(WHOLLY_LONG) <= tests, f"listed as long as a whole but not found: {sorted(set(WHOLLY_LONG) - tests)}"
    emptied = sorted(name for name in tests - set(WHOLLY_LONG) if f"tests/{name}" not in files)
    assert not emptied, f"every test of these files is marked long or slow; keep a cheap one in the default run: {emptied}"

    modules = _modules()
    named = set().union(*(_named(ROOT / f, modules) for f in files if f.startswith("tests/test_")))
    doctested = {f.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for f in files if f.startswith("commae/")}
    subpackages = {m for m in named if m != "commae" and (ROOT / m.replace(".", "/") / "__init__.py").is_file()}
    reached = {m for m, test in REACHED_THROUGH.items() if f"tests/{test}" in files}
    uncovered = sorted(m for m in modules - named - doctested - reached - {"commae"} if not any(m.startswith(f"{p}.") for p in subpackages))
    assert not uncovered, f"no test in the default run imports these modules (or list the test that reaches them in REACHED_THROUGH): {uncovered}"
