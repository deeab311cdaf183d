"""The README is the front door: its set-up commands are the ones CI runs and come first, it links every docs page, and no link is broken."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Set up.*?```bash\n(.*?)```", readme, re.S)
    assert block, "README has no '## Set up' section with a bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_setup_commands_near_the_top():
    commands = _setup_commands()
    assert len(commands) == 2
    readme = (ROOT / "README.md").read_text()
    assert readme.index(commands[1]) < 1200  # on the first screen


def test_ci_runs_the_readme_commands_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in _setup_commands():
        assert command in ci, f"{command!r} is not a line of .ci/run"


def _relative_links(page: Path) -> list[str]:
    """The targets of a Markdown page's links and images that are files of this repository (not URLs, not #anchors)."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)  # not inside code blocks
    return [target for target in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:|#", target)]


def test_the_readme_is_a_front_door_that_links_every_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250, "the manual belongs in docs/; the README stays about 200 lines"
    linked = {target.split("#")[0] for target in _relative_links(ROOT / "README.md")}
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")} - {"docs/index.md", "docs/changelog.md"}
    assert pages <= linked, f"pages the README does not link: {sorted(pages - linked)}"


@pytest.mark.parametrize("page", ["README.md", "CHANGELOG.md"] + [f"docs/{p.name}" for p in sorted(DOCS.glob("*.md"))])
def test_relative_links_point_at_files_that_exist(page):
    path = ROOT / page
    broken = [target for target in _relative_links(path) if not (path.parent / target.split("#")[0]).exists()]
    assert not broken, f"{page} links to missing files: {broken}"
