"""Figures: labels, scales, line counts, fonts embedded as TrueType, column widths, greyscale-distinct curves."""

import re
import zlib

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from commae import Autoencoder, Modem, qam  # noqa: F401
from commae.baselines import make_baseline
from commae.plotting import (
    STYLES,
    merge_results,
    new_figure,
    plot_constellation,
    plot_error_rates,
    plot_learning_curves,
    plot_system_constellation,
    save_figure,
    style,
    trained_at,
)
from commae.simulation import simulate


@pytest.fixture(scope="module")
def rows():
    torch.manual_seed(0)
    systems = {"learned": Autoencoder(4, 1, hidden=8), "qam16": make_baseline("qam16"), "qpsk": make_baseline("qpsk"), "hamming74-hard": make_baseline("hamming74-hard")}
    return simulate(systems, [0.0, 3.0, 6.0], target_errors=50, max_bits=200_000, theory=True, progress=False)


def _pdf_fonts(path):
    """Font subtypes named in a PDF, looking inside compressed object streams too."""
    data = path.read_bytes()
    chunks = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    text = b"".join(chunks)
    return set(re.findall(rb"/Subtype\s*/(Type3|TrueType|Type1|Type0|CIDFontType2|CIDFontType0)", text)), text


def test_constellation_axes():
    with style("ieee"):
        ax = plot_constellation(qam(16).points, qam(16).bit_labels)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("In-phase", "Quadrature")
    assert ax.get_aspect() == 1.0
    assert sorted(t.get_text() for t in ax.texts)[:2] == ["0000", "0001"]
    plt.close("all")


def test_system_constellation_with_regions_and_cloud():
    torch.manual_seed(0)
    with style("ieee"):
        (ax,) = plot_system_constellation(Autoencoder(4, 1, hidden=8), regions=True, cloud_ebno_db=7.0)
        assert len(ax.images) == 1 and len(ax.collections) >= 3  # regions, boundaries, cloud, points
        assert len(ax.texts) == 16
        axes = plot_system_constellation(Autoencoder(3, 1, output="bit", hidden=8), regions=True)
        assert [a.get_title() for a in axes] == ["bit 1", "bit 2", "bit 3"]
        axes = plot_system_constellation(Autoencoder(2, 3, hidden=8), bits=False)
        assert len(axes) == 1 and axes[0].get_xlabel().startswith("PC 1")  # one projected panel, not one per use
        with pytest.raises(ValueError, match="regions need n=1"):
            plot_system_constellation(Autoencoder(2, 3, hidden=8), regions=True)
    plt.close("all")


def test_error_rate_plot(rows):
    with style("ieee"):
        ax = plot_error_rates(rows, metric="ber")
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "$E_b/N_0$ (dB)" and ax.get_ylabel() == "Bit error rate"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["learned", "16-QAM", "16-QAM (theory)", "QPSK", "QPSK (theory)", "Hamming (7,4), hard", "Hamming (7,4), hard (theory)"]
    # simulated curves are drawn with error bars
    assert len(ax.containers) == 4
    with style("ieee"):
        ax2 = plot_error_rates(rows, metric="ser", esno=True, theory=False)
    assert ax2.get_xlabel() == "$E_s/N_0$ (dB)" and len(ax2.get_legend().get_texts()) == 4
    plt.close("all")


def _curves(ax):
    """Label -> Line2D of every simulated curve (the data line of each error bar) and every theory line."""
    curves = {c.get_label(): c.lines[0] for c in ax.containers}
    curves.update({line.get_label(): line for line in ax.lines if line.get_label().endswith("(theory)")})
    return curves


def test_every_ber_curve_is_distinct_in_greyscale(rows):
    with style("ieee"):
        ax = plot_error_rates(rows)
    curves = _curves(ax)
    assert len(curves) == 7
    # what survives greyscale: marker, and the dash pattern of the line
    looks = {(line.get_marker(), str(line._unscaled_dash_pattern)) for line in curves.values()}
    assert len(looks) == len(curves), looks
    # learned solid, baselines dashed, theory thin without markers
    assert curves["learned"].get_linestyle() == "-" and curves["16-QAM"].get_linestyle() == "--"
    theory = curves["16-QAM (theory)"]
    assert theory.get_marker() in ("None", "none", "") and theory.get_linewidth() < curves["16-QAM"].get_linewidth()
    plt.close("all")


def test_learning_curves():
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.1 / e, "val_ser": 0.1 / e, "mi_bits": 4 - 1 / e} for e in range(1, 11)]
    with style("ieee"):
        ax = plot_learning_curves({"SGD, lr 0.01": history, "Adam, lr 0.003": history})
        assert len(ax.lines) == 5 and ax.get_xlabel() == "Epoch" and ax.get_ylabel() == "Loss (nats)"  # 2 val, 2 train, 1 legend key
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD, lr 0.01", "Adam, lr 0.003", "thin, faded: training loss"]
        ax = plot_learning_curves({"a": history}, metric="ser")
        assert ax.get_yscale() == "log" and len(ax.lines) == 1
        ax = plot_learning_curves({"a": history}, metric="mi")
        assert ax.get_ylabel() == "MI bound (bit)"
        with pytest.raises(ValueError, match="metric must be"):
            plot_learning_curves({"a": history}, metric="acc")
    plt.close("all")


def test_equal_learning_curves_keep_their_markers_apart():
    """Eight runs of 20 epochs, all with the same history (Adam and AdamW at one lr nearly are): runs up to three apart in the legend mark different epochs."""
    history = [{"epoch": e, "val_loss": 1.0 / e} for e in range(1, 21)]
    with style("ieee-wide"):
        ax = plot_learning_curves({f"run {i}": history for i in range(8)}, train=False)
        marked = []
        for line in ax.lines:
            epochs = np.asarray(line.get_xdata())
            every = line.get_markevery()
            marked.append(tuple(epochs[every[0] :: every[1]]))
        assert all(len(m) >= 4 for m in marked)  # enough markers to follow a curve
        # a curve hidden under another of the same values still shows its own markers
        assert all(set(a).isdisjoint(b) for i, a in enumerate(marked) for b in marked[i + 1 : i + 4]), marked
        looks = {(line.get_color(), line.get_marker(), str(line._unscaled_dash_pattern)) for line in ax.lines}
        assert len(looks) == 8
    plt.close("all")


@pytest.mark.parametrize("name, width", [("ieee", 3.5), ("ieee-wide", 7.16)])
def test_saved_pdf_has_the_column_width_and_only_truetype_fonts(tmp_path, rows, name, width):
    with style(name):
        ax = plot_error_rates(rows)
        ax.set_title("Title with $E_b/N_0$ and digits 0123")
        (pdf,) = save_figure(ax.figure, tmp_path / "fig", ("pdf",))
    plt.close("all")
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf.read_bytes())
    assert float(box.group(1)) / 72 == pytest.approx(width, abs=0.05)
    subtypes, text = _pdf_fonts(pdf)
    assert b"Type3" not in subtypes and subtypes, subtypes
    assert b"/FontFile2" in text  # embedded TrueType programs


def test_png_at_600_dpi_for_ieee(tmp_path):
    with style("ieee"):
        fig, _ = new_figure()
        (png,) = save_figure(fig, tmp_path / "fig", ("png",))
    plt.close("all")
    width = int.from_bytes(png.read_bytes()[16:20], "big")
    assert width == pytest.approx(3.5 * 600, abs=2)


def test_styles_do_not_touch_global_state():
    before = dict(plt.rcParams)
    with style("presentation"):
        assert plt.rcParams["font.size"] == 14
    assert plt.rcParams["font.size"] == before["font.size"]
    assert set(STYLES) == {"ieee", "ieee-wide", "presentation"}
    with pytest.raises(ValueError, match="style must be one of ieee, ieee-wide, presentation"):
        with style("nature"):
            pass


# --- issue 23.5: several files, legends that cover no data, markers that are whole ------------------------------


def _drawn_points(ax):
    """Display coordinates of every marker, and of points 1/50 of a segment apart along every line and error bar, inside the axes.

    Independent of commae.plotting's own bookkeeping: what a reader sees drawn.
    """
    points = []
    for line in ax.lines:
        xy = line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float))
        points.append(xy)
        if line.get_linestyle() not in ("None", "none", ""):
            points += [p + (q - p) * np.linspace(0, 1, 50)[:, None] for p, q in zip(xy[:-1], xy[1:])]
    for collection in ax.collections:
        for segment in collection.get_segments():
            xy = collection.get_transform().transform(np.asarray(segment, dtype=float))
            points += [p + (q - p) * np.linspace(0, 1, 50)[:, None] for p, q in zip(xy[:-1], xy[1:])]
    points = np.concatenate(points)
    box = ax.get_window_extent()
    points = points[np.isfinite(points).all(1)]
    return points[(points[:, 0] >= box.x0) & (points[:, 0] <= box.x1) & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)]


def assert_legend_covers_no_data(ax):
    """The legend lies inside the figure, covers no marker, line or error bar (nor comes within a marker's half-width of one),
    and, where it is inside the axes, takes at most a quarter of them."""
    fig = ax.figure
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1, (box, fig.bbox)
    frame = ax.get_window_extent()
    radius = plt.rcParams["lines.markersize"] / 2 * fig.dpi / 72
    points = _drawn_points(ax)
    under = (points[:, 0] >= box.x0 - radius) & (points[:, 0] <= box.x1 + radius) & (points[:, 1] >= box.y0 - radius) & (points[:, 1] <= box.y1 + radius)
    assert not under.any(), f"the legend covers {under.sum()} drawn points, e.g. {ax.transData.inverted().transform(points[under][:3])}"
    overlap = max(0.0, min(box.x1, frame.x1) - max(box.x0, frame.x0)) * max(0.0, min(box.y1, frame.y1) - max(box.y0, frame.y0))
    assert overlap <= 0.25 * frame.width * frame.height, overlap / (frame.width * frame.height)


def assert_markers_whole(ax):
    """Every simulated point's marker lies wholly inside the axes: none is cut by an edge."""
    fig = ax.figure
    fig.canvas.draw()
    frame = ax.get_window_extent()
    for container in ax.containers:
        line = container.lines[0]
        xy = line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float))
        radius = (line.get_markersize() / 2 + line.get_markeredgewidth() / 2) * fig.dpi / 72
        whole = (xy[:, 0] - radius >= frame.x0) & (xy[:, 0] + radius <= frame.x1) & (xy[:, 1] - radius >= frame.y0) & (xy[:, 1] + radius <= frame.y1)
        assert whole.all(), f"{line.get_label()}: markers cut at {np.asarray(line.get_xdata())[~whole]} dB"


def _split(rows):
    """The rows as two files would hold them: the learned system beside 16-QAM, and the baselines alone (16-QAM on the same seed)."""
    return [("results", [r for r in rows if r["system"] in ("learned", "qam16")]), ("baselines", [r for r in rows if r["system"] in ("qam16", "qpsk")])]


def test_a_system_in_two_files_is_drawn_once_in_its_paper_name(rows):
    merged = merge_results(_split(rows))
    with style("ieee"):
        ax = plot_error_rates(merged)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["learned", "16-QAM", "16-QAM (theory)", "QPSK", "QPSK (theory)"]
    assert len(ax.containers) == 3 and len([line for line in ax.lines if line.get_label().endswith("(theory)")]) == 2
    assert [len(c.lines[0].get_xdata()) for c in ax.containers] == [3, 3, 3]  # each point once
    plt.close("all")


def test_two_measurements_of_one_system_are_told_apart_by_file_with_one_closed_form(rows):
    (name_a, a), (name_b, b) = _split(rows)
    b = [{**r, "bits": r["bits"] * 2} if r["system"] == "qam16" else r for r in b]  # another budget: other counts
    with style("ieee"):
        ax = plot_error_rates(merge_results([(name_a, a), (name_b, b)]))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["learned", "16-QAM (results)", "16-QAM (baselines)", "16-QAM (theory)", "QPSK", "QPSK (theory)"]
    with pytest.raises(ValueError, match="two rows of qam16 .* differ"):
        plot_error_rates(a + b)  # two measurements without a run to tell them apart
    plt.close("all")


@pytest.mark.parametrize("name", ["ieee", "ieee-wide", "presentation"])
def test_the_legend_covers_no_data_and_stays_in_the_figure(rows, name):
    """Seven entries at one IEEE column (3.5 in) covered the curves in the lower left; now they go to a free corner or below."""
    with style(name):
        ax = plot_error_rates(rows)
        assert len(ax.get_legend().get_texts()) == 7
        assert_legend_covers_no_data(ax)
        assert ax.figure.get_figwidth() == STYLES[name]["figure.figsize"][0]  # the column width is kept
        ax = plot_error_rates(merge_results(_split(rows)), xlim=(0, 6))
        assert_legend_covers_no_data(ax)
    plt.close("all")


def test_markers_at_the_ends_of_an_asked_range_are_whole(rows):
    """--xlim 0:6 on points at 0..6 dB cut the first and last markers in half; an asked range is widened just enough."""
    top = max(r["ber"] for r in rows)
    with style("ieee"):
        ax = plot_error_rates(rows, xlim=(0, 6), ylim=(1e-4, top))
        assert_markers_whole(ax)
        low, high = ax.get_xlim()
        assert low < 0 and high > 6 and high - low <= 6 * 1.1  # the asked range, and little more
        assert ax.get_ylim()[0] == 1e-4 and ax.get_ylim()[1] > top  # no marker at 1e-4: that edge stays
        ax = plot_error_rates(rows, xlim=(-1, 7))
        assert ax.get_xlim() == (-1, 7)  # no marker near an edge: the range as asked
    plt.close("all")


def test_trained_at_reads_the_config():
    assert trained_at({"ebno_db": [7.0, 7.0], "esno_db": None}) == "Trained at $E_b/N_0$ = 7 dB"
    assert trained_at({"ebno_db": [5.0, 10.0], "esno_db": None}) == "Trained at $E_b/N_0$ = 5–10 dB"
    with style("ieee"):
        (ax,) = plot_system_constellation(Autoencoder(2, 1, hidden=8), title=trained_at({"ebno_db": [7.0, 7.0]}))
        assert ax.get_title() == "Trained at $E_b/N_0$ = 7 dB"
        axes = plot_system_constellation(Autoencoder(3, 1, output="bit", hidden=8), regions=True, resolution=40, title="T")
        assert axes[0].figure.get_suptitle() == "T" and axes[0].get_title() == "bit 1"  # above the panels, each keeps its own
    plt.close("all")
