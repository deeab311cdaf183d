"""`commae plot constellation | ber | curves`: the files they name, --force, bad input."""

import pytest
from click.testing import CliRunner

from commae.cli import cli

SMALL = ["--k", "2", "--hidden", "16", "--epochs", "3", "--batches-per-epoch", "5", "--batch-size", "256", "--val-size", "1000", "--quiet"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("plots")
    runner = CliRunner()
    for name, extra in (("adam", []), ("sgd", ["--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9"])):
        assert runner.invoke(cli, ["train", "--out", str(root / name), *SMALL, *extra]).exit_code == 0
    result = runner.invoke(cli, ["ber-curve", str(root / "adam"), "--ebno", "0:4:2", "--max-bits", "1e5", "--out", str(root / "r.csv"), "--quiet"])
    assert result.exit_code == 0, result.output
    return root


def _plot(*args):
    return CliRunner().invoke(cli, ["plot", *args])


def test_each_command_writes_the_files_it_names_and_refuses_to_overwrite(workspace, tmp_path):
    cases = [
        ["constellation", str(workspace / "adam"), "--regions", "--cloud", "7"],
        ["ber", str(workspace / "r.csv"), "--metric", "ser", "--esno"],
        ["curves", str(workspace / "adam"), str(workspace / "sgd"), "--metric", "mi"],
    ]
    for i, args in enumerate(cases):
        out = tmp_path / f"fig{i}"
        result = _plot(*args, "--out", str(out), "--format", "pdf,png,svg", "--style", "ieee-wide", "--title", "T")
        assert result.exit_code == 0, result.output
        written = sorted(p.name for p in tmp_path.glob(f"fig{i}.*"))
        assert written == [f"fig{i}.pdf", f"fig{i}.png", f"fig{i}.svg"]
        assert all(f"wrote {out}.{ext}" in result.output for ext in ("pdf", "png", "svg"))
        before = (tmp_path / f"fig{i}.pdf").read_bytes()
        again = _plot(*args, "--out", str(out), "--format", "pdf")
        assert again.exit_code == 1 and "--force" in again.output and "Traceback" not in again.output
        assert (tmp_path / f"fig{i}.pdf").read_bytes() == before
        assert _plot(*args, "--out", str(out), "--format", "pdf", "--force").exit_code == 0


@pytest.mark.parametrize(
    "make, args, code, message",
    [
        (lambda d: (d / "x.csv").write_text("a,b\n1,2\n"), ["ber", "{d}/x.csv"], 1, "missing columns"),
        (lambda d: (d / "e.csv").write_text(""), ["ber", "{d}/e.csv"], 1, "is empty"),
        (lambda d: None, ["ber", "{d}/none.csv"], 2, "does not exist"),
        (lambda d: (d / "run").mkdir(), ["constellation", "{d}/run"], 1, "config.json is missing"),
        (lambda d: None, ["curves", "{d}/nothing"], 1, "not a commae run directory"),
        (lambda d: None, ["ber", "{d}/r.csv", "--style", "nature"], 2, "'ieee', 'ieee-wide', 'presentation'"),
        (lambda d: None, ["ber", "{d}/r.csv", "--format", "jpg"], 2, "comma list of pdf, png, svg"),
    ],
)
def test_bad_input_is_one_line(workspace, tmp_path, make, args, code, message):
    make(tmp_path)
    (tmp_path / "r.csv").write_bytes((workspace / "r.csv").read_bytes())
    result = _plot(*[a.format(d=tmp_path) for a in args], "--out", str(tmp_path / "fig"))
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not list(tmp_path.glob("fig.*"))


def test_run_without_model_file_is_refused(workspace, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes((workspace / "adam" / "config.json").read_bytes())
    result = _plot("constellation", str(run), "--out", str(tmp_path / "fig"))
    assert result.exit_code == 1 and "model.pt does not exist" in result.output
