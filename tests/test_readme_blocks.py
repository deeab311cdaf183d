"""Every command block of the README and of the docs pages runs, in order, on a fresh clone.

The order is the README's, then the docs pages' in the order of their table of contents
(``docs/index.md``), as `docs/train.md` tells the reader. The fast test parses every command with the
CLI's own parser (so options and values are current) and follows the files: each command reads only
what an earlier one wrote, and no command writes a file an earlier one wrote (which it would refuse
without --force). The slow test runs the blocks for real.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from commae.cli import cli
from commae.runs import default_run_dir

ROOT = Path(__file__).resolve().parents[1]


def documented_pages() -> list[Path]:
    """README.md, docs/index.md, then the Markdown pages of the docs' toctree, in its order."""
    index = (ROOT / "docs" / "index.md").read_text()
    toctree = re.search(r"```\{toctree\}\n(.*?)```", index, re.S)
    assert toctree, "docs/index.md has no toctree"
    names = [line.strip() for line in toctree.group(1).splitlines() if line.strip() and not line.startswith(":")]
    return [ROOT / "README.md", ROOT / "docs" / "index.md"] + [ROOT / "docs" / f"{name}.md" for name in names if (ROOT / "docs" / f"{name}.md").exists()]


def page_commands(page: Path) -> list[str]:
    """The commae command lines of one page's ```bash blocks, in order (the set-up block's pip and pytest are CI's)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
        for line in block.splitlines():
            lines += [part.strip() for part in line.split("&&") if part.strip().startswith("commae ")]
    return lines


def documented_commands() -> list[tuple[str, str]]:
    """(page, command line) of every documented commae command, in the order a reader runs them."""
    return [(str(page.relative_to(ROOT)), line) for page in documented_pages() for line in page_commands(page)]


def test_every_docs_page_is_in_the_toctree():
    listed = {page.name for page in documented_pages()[1:]}
    on_disk = {page.name for page in (ROOT / "docs").glob("*.md")}
    assert on_disk <= listed, f"docs pages missing from the toctree of docs/index.md: {sorted(on_disk - listed)}"


def _parse(line: str):
    """(subcommand path, the click context its options parse into) of one documented line; nothing runs."""
    rest = shlex.split(line, comments=True)[1:]
    names, command = [], cli
    while hasattr(command, "get_command"):
        names.append(rest.pop(0))
        command = command.commands[names[-1]]
    return " ".join(names), command.make_context(names[-1], rest)


def _reads_and_writes(command: str, ctx) -> tuple[list[Path], list[Path]]:
    p = ctx.params
    if command == "train":
        out = Path(p["out"] or default_run_dir(p))
        return ([out] if p["resume"] else []), [out]
    if command == "ber-curve":
        out = Path(p["out"])
        return [Path(r) for r in p["run_dirs"]], [out, out.with_suffix(".json")]
    if command == "info":
        return [Path(r) for r in p["run_dirs"]], [Path(p["out"])]
    if command == "gap":
        return [Path(p["csv_file"])], [Path(p["out"])]
    if command.startswith("plot "):
        inputs = p.get("run_dirs") or p.get("csv_files") or [p["run_dir"]]
        return [Path(i) for i in inputs], [Path(f"{p['out']}.{fmt}") for fmt in p["formats"]]
    raise AssertionError(f"documented command {command!r} is not known to this test")


def test_documented_commands_parse_and_follow_each_other(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # each written path is made here as an empty stand-in, for the parser's existence checks
    commands = documented_commands()
    assert len([page for page, _ in commands if page == "README.md"]) >= 3  # the set-up's train, the quick start's ber-curve and plot
    assert len(commands) >= 8
    written: dict[Path, str] = {}
    for committed in ROOT.glob("figures/*.csv"):  # committed results a command may read, as stand-ins
        (tmp_path / "figures").mkdir(exist_ok=True)
        (tmp_path / "figures" / committed.name).touch()
        written[Path("figures") / committed.name] = "the repository"
    for page, line in commands:
        command, ctx = _parse(line)
        reads, writes = _reads_and_writes(command, ctx)
        for path in reads:
            assert path in written, f"{page}: {line!r} reads {path}, which no earlier documented command writes"
        for path in writes:
            assert path not in written or ctx.params.get("force"), f"{page}: {line!r} writes {path}, which {written[path]!r} wrote already"
            written[path] = f"{page}: {line}"
            if path.suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            else:
                path.mkdir(parents=True, exist_ok=True)
                if command == "train":  # a stand-in config.json that `--config RUN/config.json` can parse
                    (path / "config.json").write_text('{"system": {}, "train": {}}')
    assert all(str(p).startswith("runs/") for p, who in written.items() if who != "the repository"), "the documented commands keep their outputs under runs/ (ignored by git)"


def fresh_clone(dest: Path) -> Path:
    """The files git tracks (and those it would, not yet committed), copied as a clone would have them."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in files.stdout.splitlines():
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.mark.slow
def test_documented_blocks_run_in_order_on_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "commae")
    env = {**os.environ, "PYTHONPATH": str(clone)}
    for page, line in documented_commands():
        argv = [sys.executable, "-m", "commae", *shlex.split(line, comments=True)[1:]]
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=clone, env=env, capture_output=True, text=True)
        print(f"{time.perf_counter() - start:6.1f} s  {page}: {line}")
        assert done.returncode == 0, f"{page}: {line!r} failed:\n{done.stderr[-2000:]}"
