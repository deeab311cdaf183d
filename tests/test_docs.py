"""The API reference builds with warnings as errors and documents every public name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sphinx.util.inventory import InventoryFile

import commae

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _expected_entry(name: str) -> tuple[str, str]:
    """(inventory role, full name) under which ``commae.<name>`` must be documented."""
    obj = getattr(commae, name)
    if name == "theory":
        return "py:module", "commae.theory"
    if name == "__version__":
        return "py:data", "commae.__version__"
    if isinstance(obj, type):
        return ("py:exception" if issubclass(obj, BaseException) else "py:class"), f"commae.{name}"
    return "py:function", f"commae.{name}"


def test_docs_build_with_warnings_as_errors_and_list_every_public_name(tmp_path):
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(out / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    api_html = (out / "api.html").read_text(encoding="utf-8")
    missing = []
    for name in commae.__all__:
        role, full = _expected_entry(name)
        entries = inventory.data if hasattr(inventory, "data") else inventory
        if full not in entries.get(role, {}):
            missing.append(f"{role} {full}")
        anchor = f'id="module-{full}"' if role == "py:module" else f'id="{full}"'
        if anchor not in api_html:
            missing.append(f"{full} (no {anchor} in api.html)")
    assert not missing, missing
    assert (out / "_downloads").exists()  # the tutorial notebook is offered for download
