"""`commae plot constellation | ber | curves`: the files they name, --force, bad input."""

import pytest
from click.testing import CliRunner
from test_plotting import assert_legend_covers_no_data, assert_markers_whole

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
    # the README's second file: baselines alone, the run's QPSK among them (the same seed: the same counts), and on another seed
    for name, extra in (("baselines", []), ("seed1", ["--seed", "1"])):
        result = runner.invoke(cli, ["ber-curve", "--baseline", "qpsk", "--baseline", "bpsk", "--ebno", "0:4:2", "--max-bits", "1e5", "--out", str(root / f"{name}.csv"), "--quiet", *extra])
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def drawn(monkeypatch):
    """The figures that commands save, as they save them."""
    import commae.plotting

    figures = []
    save = commae.plotting.save_figure

    def saving(fig, base, formats=("pdf", "png")):
        figures.append(fig)
        return save(fig, base, formats)

    monkeypatch.setattr(commae.plotting, "save_figure", saving)
    return figures


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


def _legend(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_the_readme_example_draws_each_system_once_named_as_a_paper_does(workspace, tmp_path, drawn):
    """Issue 23.5: `commae plot ber results.csv baselines.csv` drew the shared baseline and its theory twice, as
    "qam4 [r]" and "qpsk" (one modem, named qam4 as a run's match and qpsk as a --baseline), under a legend over the
    curves, with the markers at the ends of --xlim cut."""
    result = _plot("ber", str(workspace / "r.csv"), str(workspace / "baselines.csv"), "--xlim", "0:4", "--format", "pdf", "--out", str(tmp_path / "fig"))
    assert result.exit_code == 0, result.output
    (fig,) = drawn
    ax = fig.axes[0]
    assert _legend(fig) == ["adam", "QPSK", "QPSK (theory)", "BPSK", "BPSK (theory)"]  # the run is named by its directory
    assert len(ax.containers) == 3 and [len(c.lines[0].get_xdata()) for c in ax.containers] == [3, 3, 3]
    assert_legend_covers_no_data(ax)
    assert_markers_whole(ax)
    assert fig.get_figwidth() == 3.5


def test_two_measurements_of_a_baseline_are_named_by_their_files(workspace, tmp_path, drawn):
    result = _plot("ber", str(workspace / "r.csv"), str(workspace / "baselines.csv"), str(workspace / "seed1.csv"), "--format", "pdf", "--out", str(tmp_path / "fig"))
    assert result.exit_code == 0, result.output
    (fig,) = drawn
    assert _legend(fig) == ["adam", "QPSK (r)", "QPSK (seed1)", "QPSK (theory)", "BPSK (baselines)", "BPSK (seed1)", "BPSK (theory)"]
    assert_legend_covers_no_data(fig.axes[0])
    result = _plot("ber", str(workspace / "r.csv"), str(workspace / "seed1.csv"), "--label", "qam4=Gray QPSK", "--format", "pdf", "--out", str(tmp_path / "fig2"))
    assert result.exit_code == 0, result.output
    assert _legend(drawn[1])[:4] == ["adam", "Gray QPSK (r)", "Gray QPSK (seed1)", "Gray QPSK (theory)"]


def test_learning_curves_name_the_schedule(workspace, tmp_path, drawn):
    """Issue 23.9: "Adam, lr 0.003" was the label of a cosine schedule."""
    result = _plot("curves", str(workspace / "adam"), str(workspace / "sgd"), "--format", "pdf", "--out", str(tmp_path / "fig"))
    assert result.exit_code == 0, result.output
    assert _legend(drawn[0])[:2] == ["Adam, lr 0.003, cosine", "SGD (mom. 0.9), lr 0.05, cosine"]


def test_constellations_say_the_snr_they_were_trained_at(workspace, tmp_path, drawn):
    """Issue 23.9: neither `commae plot constellation` nor the run's own constellation.png said the training SNR."""
    result = _plot("constellation", str(workspace / "adam"), "--format", "pdf", "--out", str(tmp_path / "fig"))
    assert result.exit_code == 0, result.output
    assert drawn[0].axes[0].get_title() == "Trained at $E_b/N_0$ = 7 dB"
    result = _plot("constellation", str(workspace / "adam"), "--title", "", "--format", "pdf", "--out", str(tmp_path / "untitled"))
    assert result.exit_code == 0 and drawn[1].axes[0].get_title() == ""
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--out", str(run), *SMALL, "--epochs", "1", "--snr", "5:10"])
    assert result.exit_code == 0, result.output
    assert drawn[2].axes[0].get_title() == "Trained at $E_b/N_0$ = 5–10 dB"
