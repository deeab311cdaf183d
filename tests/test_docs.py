"""The API reference builds with warnings as errors and documents every public name."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

from sphinx.util.inventory import InventoryFile

import commae

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _documented_as(name: str) -> str:
    """The full name under which ``commae.<name>`` must be in the inventory."""
    obj = getattr(commae, name)
    return obj.__name__ if isinstance(obj, types.ModuleType) else f"commae.{name}"


def test_docs_build_with_warnings_as_errors_and_list_every_public_name(tmp_path):
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(out / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    api_html = (out / "api.html").read_text(encoding="utf-8")
    entries = inventory.data if hasattr(inventory, "data") else inventory  # Sphinx >= 8.2 wraps the dict
    documented = {full: role for role, objects in entries.items() if role.startswith("py:") for full in objects}
    missing = []
    for name in commae.__all__:
        full = _documented_as(name)
        if full not in documented:
            missing.append(f"{full} (not in objects.inv)")
        anchor = f'id="module-{full}"' if documented.get(full) == "py:module" else f'id="{full}"'
        if anchor not in api_html:
            missing.append(f"{full} (no {anchor} in api.html)")
    assert not missing, missing
    assert (out / "_downloads").exists()  # the tutorial notebook is offered for download
