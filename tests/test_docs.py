"""The docs build with warnings as errors, every page and public name in them; their links and numbers hold."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from sphinx.util.inventory import InventoryFile

import commae

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _documented_as(name: str) -> str:
    """The full name under which ``commae.<name>`` must be in the inventory."""
    obj = getattr(commae, name)
    return obj.__name__ if isinstance(obj, types.ModuleType) else f"commae.{name}"


@pytest.mark.long  # the Sphinx build: CI's longer set
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
    pages = sorted(page.stem for page in DOCS.glob("*.md"))
    assert [page for page in pages if not (out / f"{page}.html").exists()] == [], "every Markdown page is built"


# docs/reproductions.md: (system, channel) of each row of the Eb/N0 table -> (committed CSV, system name in it)
_TABLE_ROWS = {
    ("Autoencoder (2,2)", "AWGN, real uses"): ("oshea_hoydis", "ae-2-2"),
    ("Uncoded BPSK (2,2)", "AWGN"): ("oshea_hoydis", "uncoded-bpsk-2"),
    ("Autoencoder (7,4)", "AWGN, real uses"): ("oshea_hoydis", "ae-7-4"),
    ("Hamming (7,4) soft-ML", "AWGN"): ("oshea_hoydis", "hamming74-soft"),
    ("Hamming (7,4) hard", "AWGN"): ("oshea_hoydis", "hamming74-hard"),
    ("Uncoded BPSK (4,4)", "AWGN"): ("oshea_hoydis", "uncoded-bpsk-4"),
    ("Autoencoder (8,8)", "AWGN, real uses"): ("oshea_hoydis", "ae-8-8"),
    ("Uncoded BPSK (8,8)", "AWGN"): ("oshea_hoydis", "uncoded-bpsk-8"),
    ("Autoencoder (1,4)", "Rayleigh, CSI"): ("fading", "ae-n1-csi"),
    ("16-QAM", "Rayleigh, CSI"): ("fading", "qam16"),
    ("Autoencoder (2,4)", "fast Rayleigh, CSI"): ("fading", "ae-n2-fast-csi"),
    ("2 × QPSK", "fast Rayleigh, CSI"): ("fading", "qpsk2-fast"),
    ("Autoencoder (2,4)", "block Rayleigh, CSI"): ("fading", "ae-n2-block-csi"),
    ("2 × QPSK", "block Rayleigh, CSI"): ("fading", "qpsk2-block"),
    ("Autoencoder (2,4)", "block Rayleigh, **no CSI**"): ("fading", "ae-n2-block-nocsi"),
    ("pilot + 16-QAM", "block Rayleigh, no CSI"): ("fading", "pilot-qam16"),
}


def test_the_reproductions_table_is_the_committed_csvs():
    """Every measured Eb/N0 of docs/reproductions.md is `commae gap`'s interpolation of the committed curves."""
    try:
        from commae.simulation import ebno_at_rate
    except ImportError:  # before commae.simulation became a package
        from commae.gaps import ebno_at_rate
    rows = {name: commae.read_results(ROOT / "figures" / f"{name}.csv") for name in ("oshea_hoydis", "fading")}
    text = (DOCS / "reproductions.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("| system | channel |"))) + 2  # past the header and its rule
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    table = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[start:end]]
    seen = set()
    for system, channel, at_1e2, at_1e3, *_ in table:
        csv_name, name = _TABLE_ROWS[system, channel]
        seen.add((system, channel))
        for cell, rate in ((at_1e2, 1e-2), (at_1e3, 1e-3)):
            measured = ebno_at_rate(rows[csv_name], name, rate, "bler")
            if re.fullmatch(r"-?\d+\.\d\d", cell):
                assert cell == f"{measured:.2f}", f"{system}, {channel} at BLER {rate:g}: the page says {cell}, the CSV gives {measured:.2f}"
            else:  # "— (floor …)" or "> 8 (…)": the curve never reaches the rate
                assert math.isnan(measured), f"{system}, {channel} at BLER {rate:g}: the page says {cell!r}, the CSV gives {measured:.2f}"
    assert seen == set(_TABLE_ROWS)
