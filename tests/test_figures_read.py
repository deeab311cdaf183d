"""Figures read at column width: panel count and size, tick labels that do not touch, one look per curve, every mark in the legend, a Times-like font."""

import itertools
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from commae import Autoencoder, Modem, qam
from commae.baselines import make_baseline
from commae.plotting import (
    paper_name,
    plot_error_rates,
    plot_learning_curves,
    plot_system_constellation,
    project_codebook,
    save_figure,
    style,
)
from commae.simulation import simulate


def _text_boxes(fig):
    """Window extents of every tick label, axis label and title of the visible axes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.xaxis.label, ax.yaxis.label, ax.title]
        for t in texts:
            if t.get_visible() and t.get_text().strip():
                boxes.append((t.get_text(), t.get_window_extent(renderer)))
    return boxes


def _assert_no_text_touches(fig):
    boxes = _text_boxes(fig)
    assert boxes
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"{ta!r} touches {tb!r}"


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def _assert_panels_readable(fig, count):
    panels = _panels(fig)
    assert len(panels) == count
    for ax in panels:
        width_in = ax.get_window_extent().width / fig.dpi
        assert width_in >= 1.2, width_in  # STYLE.md: a panel narrower than ~1.2 in does not read


@pytest.mark.parametrize("style_name", ["ieee", "ieee-wide"])
def test_a_seven_use_real_codebook_is_one_readable_panel(style_name):
    torch.manual_seed(0)
    model = Autoencoder(4, 7, real=True, hidden=8).eval()
    with style(style_name):
        axes = plot_system_constellation(model, cloud_ebno_db=7.0)
        fig = axes[0].figure
        _assert_panels_readable(fig, 1)
        _assert_no_text_touches(fig)
        assert axes[0].get_xlabel().startswith("PC 1 (") and "Quadrature" not in axes[0].get_ylabel()
        assert len(axes[0].texts) == 16  # every codeword's bits
    plt.close("all")


def test_complex_codebooks_and_real_lines():
    torch.manual_seed(0)
    with style("ieee"):
        (ax,) = plot_system_constellation(Autoencoder(4, 3, hidden=8), projection="tsne")
        assert ax.get_xlabel() == "t-SNE 1"
        (ax,) = plot_system_constellation(Autoencoder(2, 2, real=True, hidden=8))
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("Channel use 1", "Channel use 2")
        (ax,) = plot_system_constellation(Autoencoder(2, 1, real=True, hidden=8))
        assert ax.get_xlabel().startswith("Amplitude") and ax.get_ylabel() == ""
        _assert_no_text_touches(ax.figure)
    plt.close("all")


@pytest.mark.parametrize("style_name, cols", [("ieee", 2), ("ieee-wide", 4)])
def test_bitwise_regions_get_panels_that_read(style_name, cols):
    torch.manual_seed(0)
    with style(style_name):
        axes = plot_system_constellation(Autoencoder(4, 1, output="bit", hidden=8), regions=True)
        fig = axes[0].figure
        _assert_panels_readable(fig, 4)
        _assert_no_text_touches(fig)
        assert len({round(ax.get_position().x0, 3) for ax in axes}) == cols
        assert [ax.get_title() for ax in axes] == ["bit 1", "bit 2", "bit 3", "bit 4"]
    plt.close("all")


def test_region_boundaries_are_smooth_and_qam_boundaries_are_its_own():
    """16-QAM's boundaries are the lines midway between columns and rows: no axis line stands in for them, and they are straight."""
    modem = Modem(qam(16))
    with style("ieee"):
        (ax,) = plot_system_constellation(modem, regions=True, resolution=120, limit=1.4)
        assert not [line for line in ax.lines if line.get_xdata() is not None and len(set(np.atleast_1d(line.get_ydata()))) == 1 and list(np.atleast_1d(line.get_ydata()))[0] == 0]  # no axhline at 0
        vertices = np.concatenate([p.vertices for c in ax.collections for p in getattr(c, "get_paths", lambda: [])() if len(p.vertices) > 2 and c.get_zorder() == 1])
        step = 2 / np.sqrt(10)  # unit-energy 16-QAM: points at ±1/√10, ±3/√10; boundaries at 0 and ±2/√10
        on_lines = np.minimum(np.abs(vertices[:, 0][:, None] - [-step, 0, step]).min(1), np.abs(vertices[:, 1][:, None] - [-step, 0, step]).min(1))
        assert np.quantile(on_lines, 0.98) < 0.02  # interpolated contours lie on the true boundaries, no grid staircase
    plt.close("all")


@pytest.fixture(scope="module")
def rows():
    torch.manual_seed(0)
    systems = {"k4-n1-awgn-7dB": Autoencoder(4, 1, hidden=8), "qam16": make_baseline("qam16"), "qpsk": make_baseline("qpsk"), "hamming74-soft": make_baseline("hamming74-soft")}
    return simulate(systems, [0.0, 4.0, 8.0, 12.0], target_errors=50, max_bits=100_000, theory=True, progress=False)


def test_ber_legend_names_systems_as_a_paper_does_and_shows_every_mark(rows):
    with style("ieee"):
        ax = plot_error_rates(rows, labels={"qpsk": "QPSK (Gray)"}, xlim=(0, 12), ylim=(1e-6, 1))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:5] == ["Autoencoder (1,4)", "16-QAM", "16-QAM (theory)", "QPSK (Gray)", "QPSK (Gray) (theory)"]
    assert "Hamming (7,4), soft ML" in labels
    assert any(line.get_marker() == "v" for line in ax.lines)  # a zero-error point at 12 dB ...
    assert labels[-1] == "no errors: upper bound"  # ... has its legend entry
    low, high = ax.get_xlim()  # the asked range, widened just enough that the markers at 0 and 12 dB are whole
    assert -0.6 < low < 0 and 12 < high < 12.6 and ax.get_ylim()[0] == 1e-6 and ax.get_ylim()[1] >= 1
    theory = [line for line in ax.lines if line.get_label().endswith("(theory)")]
    simulated = [c.lines[0] for c in ax.containers]
    assert theory and min(t.get_zorder() for t in theory) > max(s.get_zorder() for s in simulated)  # drawn on top
    assert all(t.get_path_effects() for t in theory)  # with a white edge that keeps it visible on its own curve
    plt.close("all")


def test_every_learning_curve_differs_in_colour_marker_and_dash():
    rng = np.random.default_rng(0)
    histories = {f"run {i}": [{"epoch": e, "train_loss": 3 / e + rng.uniform(0, 0.01), "val_loss": 2.5 / e, "val_ser": 0.5 / e, "mi_bits": 4 - 1 / e} for e in range(1, 21)] for i in range(8)}
    with style("ieee-wide"):
        ax = plot_learning_curves(histories, metric="loss")
        val = [line for line in ax.lines if line.get_label().startswith("run")]
        assert len(val) == 8
        looks = {(line.get_color(), line.get_marker(), str(line.get_linestyle()), str(line._unscaled_dash_pattern)) for line in val}
        assert len({(c, m) for c, m, _, _ in looks}) == 8 and len({d for _, _, _, d in looks}) == 8  # every one its own dash too
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[-1] == "thin, faded: training loss" and ax.get_yscale() == "log"
        _assert_no_text_touches(ax.figure)
        ax = plot_learning_curves(histories, metric="ser")
        ax.figure.canvas.draw()
        shown = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert len(shown) >= 3 and all(re.fullmatch(r"[0-9.]+", s) for s in shown), shown  # 0.05, 0.1, 0.2, ... not just 10^-1
    plt.close("all")


def test_a_single_run_names_its_training_line_and_reads_past_epoch_one():
    history = [{"epoch": e, "train_loss": 3.0 if e == 1 else 0.2 / e, "val_loss": 2.0 if e == 1 else 0.15 / e} for e in range(1, 11)]
    with style("ieee"):
        ax = plot_learning_curves({"Adam, lr 0.003": history})
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Adam, lr 0.003, validation", "Adam, lr 0.003, training"]
        assert ax.get_yscale() == "log"  # epoch 1 at 2-3 nats no longer flattens 0.015-0.1 into the bottom tenth
        ax.figure.canvas.draw()
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert len(labels) >= 3 and not any(s.endswith("0") and "." in s for s in labels), labels  # no "3.00"-style labels
    plt.close("all")


def test_pdfs_set_text_in_stix_as_truetype(tmp_path, rows):
    with style("ieee"):
        ax = plot_error_rates(rows)
        (pdf,) = save_figure(ax.figure, tmp_path / "fig", ("pdf",))
    plt.close("all")
    data = pdf.read_bytes()
    fonts = set(re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-]+)", data))
    assert fonts and all(b"STIX" in f for f in fonts), fonts
    assert b"DejaVu" not in data and b"/Type3" not in data


FIGURES = sorted((Path(__file__).resolve().parents[1] / "figures").glob("*.pdf"))


@pytest.mark.parametrize("pdf", FIGURES, ids=[p.name for p in FIGURES])
def test_every_committed_figure_sets_text_in_stix_as_truetype(pdf):
    """Issue 14: every paper figure in figures/ sets its text in STIX (Times-like), embedded as TrueType (Type 42), none in DejaVu or Type 3."""
    data = pdf.read_bytes()
    fonts = set(re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-]+)", data))
    assert fonts, f"{pdf.name} embeds no font"
    assert all(b"STIX" in f for f in fonts), f"{pdf.name} embeds {sorted(f.decode() for f in fonts)}: redraw it (python experiments/<script>.py --from-csv)"
    assert b"DejaVu" not in data and b"/Type3" not in data
    assert b"/FontFile2" in data and b"/CIDFontType2" in data  # TrueType outlines: matplotlib's pdf.fonttype 42


def test_every_committed_figure_is_checked():
    assert len(FIGURES) >= 12, [p.name for p in FIGURES]


def test_paper_names_and_projection():
    assert paper_name("psk16") == "16-PSK" and paper_name("k4-n1-awgn-7dB-bce") == "Autoencoder (1,4)"
    points, (_, _, energy) = project_codebook(np.random.default_rng(0).normal(size=(16, 14)))
    assert points.shape == (16, 2) and 0 < energy.sum() <= 1
    with pytest.raises(ValueError, match="method must be"):
        project_codebook(np.zeros((4, 3)), "umap")
