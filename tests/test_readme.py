"""The README's set-up commands are the ones CI runs, and they come first."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
