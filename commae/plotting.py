"""Figures for papers. The only module that imports matplotlib.

Every function draws on an optional ``ax`` (or ``axes``), returns what it
drew on, and never calls ``plt.show()``. Styles are applied with :func:`style`
as a context manager, never through global ``rcParams``:

============== ========================================================================
``ieee``        one IEEE column: 3.5 in wide, 8-pt serif text, 600-dpi PNG
``ieee-wide``   two columns: 7.16 in wide, otherwise as ``ieee``
``presentation`` 6.4 in, 14-pt sans-serif, thick lines
============== ========================================================================

The paper styles set text in STIX, the Times-like face that ships with
matplotlib, as IEEE papers set Times. Every style embeds TrueType (Type 42) fonts in PDF and PostScript, lays the
figure out inside its nominal size (so a saved ``ieee`` PDF is 3.5 in wide),
and reads in greyscale: curves differ by marker and line style, not only by
colour. LaTeX is optional: ``style(name, usetex="auto")`` uses it only where
a ``latex`` binary is found.

Examples
--------
>>> from commae import qam
>>> with style("ieee"):
...     ax = plot_constellation(qam(16).points, qam(16).bit_labels)
>>> ax.get_xlabel(), ax.get_aspect()
('In-phase', 1.0)
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # the library only saves figures; no display is needed

import matplotlib.artist  # noqa: E402
import matplotlib.legend  # noqa: E402
import matplotlib.patheffects  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import matplotlib.transforms  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ._files import atomic_paths, writing  # noqa: E402
from ._names import maxwell_boltzmann_name  # noqa: E402
from .baselines import is_baseline_name  # noqa: E402
from .channels import split_channel_output  # noqa: E402
from .constellations import draw_indices, int_to_bits  # noqa: E402
from .snr import ebno_db_to_no  # noqa: E402

__all__ = [
    "STYLES",
    "style",
    "latex_available",
    "new_figure",
    "plot_constellation",
    "plot_system_constellation",
    "trained_at",
    "plot_error_rates",
    "merge_results",
    "plot_learning_curves",
    "plot_mi_curves",
    "save_figure",
    "is_baseline_name",
    "MARKERS",
    "DASHES",
    "paper_name",
    "canonical_name",
    "project_codebook",
    "readable_log_axis",
]

_COMMON = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "axes.grid": True,
    "axes.grid.which": "both",
    "grid.linestyle": ":",
    "grid.linewidth": 0.4,
    "grid.alpha": 0.8,
    "legend.frameon": True,
    "legend.framealpha": 0.9,
    "legend.edgecolor": "0.6",
    "legend.fancybox": False,
    "figure.constrained_layout.use": True,
    "savefig.bbox": "standard",
    "axes.prop_cycle": matplotlib.cycler(color=["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F7F"]),
}
_PAPER = {
    **_COMMON,
    # IEEE sets Times: STIX is a Times-like face that ships with matplotlib (no LaTeX, no extra package)
    "font.family": "serif",
    "font.serif": ["STIXGeneral"],
    "mathtext.fontset": "stix",
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.0,
    "lines.markersize": 3.5,
    "errorbar.capsize": 1.5,
    "savefig.dpi": 600,
}
STYLES: dict[str, dict[str, Any]] = {
    "ieee": {**_PAPER, "figure.figsize": (3.5, 2.6)},
    "ieee-wide": {**_PAPER, "figure.figsize": (7.16, 2.8)},
    "presentation": {
        **_COMMON,
        "figure.figsize": (6.4, 4.8),
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "font.size": 14,
        "axes.labelsize": 14,
        "legend.fontsize": 11,
        "lines.linewidth": 2.0,
        "lines.markersize": 7,
        "errorbar.capsize": 3,
        "savefig.dpi": 200,
    },
}

# Markers in the order systems get them: filled and open shapes that differ in greyscale.
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p"]
# Line styles in the order curves get them (solid first): with MARKERS and the colour cycle, no two curves look alike.
DASHES = ["-", (0, (4, 1.5)), (0, (4, 1.2, 1, 1.2)), (0, (1.2, 1.2)), (0, (6, 1.5, 1, 1.5, 1, 1.5)), (0, (2.5, 2.5)), (0, (7, 2)), (0, (3, 1, 1, 1, 1, 1, 1, 1))]
# Thin dotted and dash-dotted patterns for closed forms: none looks like the dashes of a baseline.
_THEORY_DASHES = [(0, (1, 1)), (0, (3, 1, 1, 1)), (0, (1, 2)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (5, 1, 1, 1))]


def latex_available() -> bool:
    """Whether a ``latex`` binary is on the PATH (LaTeX text is never required)."""
    return shutil.which("latex") is not None


@contextlib.contextmanager
def style(name: str = "ieee", usetex: bool | str = False) -> Iterator[dict[str, Any]]:
    """Apply a named style inside a ``with`` block; yields its parameters.

    Parameters
    ----------
    name : {"ieee", "ieee-wide", "presentation"}
    usetex : bool or "auto"
        Typeset text with LaTeX; ``"auto"`` only where :func:`latex_available`.
    """
    if name not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {name!r}")
    params = dict(STYLES[name])
    if usetex == "auto":
        usetex = latex_available()
    if usetex:
        params["text.usetex"] = True
    with plt.style.context(params):
        yield params


def new_figure(nrows: int = 1, ncols: int = 1, *, height: float | None = None, **kwargs: Any) -> tuple[plt.Figure, np.ndarray]:
    """A figure of the current style's width (``height`` in inches overrides its height), axes as a 2-D array."""
    width, default_height = plt.rcParams["figure.figsize"]
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height or default_height), squeeze=False, **kwargs)
    return fig, axes


# --- constellations -----------------------------------------------------------------------


def plot_constellation(
    points: torch.Tensor,
    bit_labels: torch.Tensor | None = None,
    *,
    ax: plt.Axes | None = None,
    label: str | None = None,
    marker: str = "o",
    title: str | None = None,
    limit: float | None = None,
    axis_lines: bool = True,
    probabilities: torch.Tensor | np.ndarray | None = None,
    marker_area: float | None = None,
) -> plt.Axes:
    """Points in the I/Q plane with equal aspect, optionally each with its bit label.

    With ``probabilities`` (how often each point is sent: a shaped
    constellation) each marker's *area* is proportional to its point's
    probability, the mean area being ``marker_area`` (pt², default the
    equiprobable marker's for 16 points, scaled by 16/M so that the ink stays
    the same for larger constellations): black filled discs, which read in
    greyscale, and a legend entry for the scale (the area of :math:`p = 1/M`).

    Parameters
    ----------
    points : Tensor, [M], complex
    bit_labels : Tensor, [M, k], optional
        Written above each point as a zero-padded bit string.
    ax : matplotlib Axes, optional
    label, marker, title
        Legend label, marker and axes title.
    limit : float, optional
        Half-width of the square view (default: 1.3 × the largest amplitude).
    axis_lines : bool
        Draw the I and Q axes through the origin (off where decision regions
        are drawn, so that no line looks like a boundary that is not one).
    probabilities : Tensor or ndarray, [M], optional
        The points' probabilities: marker area proportional to each.
    marker_area : float, optional
        Mean marker area in pt² when ``probabilities`` are given.
    """
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    pts = points.detach().cpu().to(torch.complex64)
    area = plt.rcParams["lines.markersize"] ** 2 * 1.6
    if probabilities is not None:
        p = np.asarray(torch.as_tensor(probabilities).detach().cpu().double().numpy(), dtype=float)
        if p.shape != (len(pts),) or not np.isfinite(p).all() or (p < 0).any():
            raise ValueError(f"probabilities must be [{len(pts)}] non-negative numbers, one per point, got shape {p.shape}")
        mean = marker_area if marker_area is not None else area * 16 / len(pts)
        area = mean * len(pts) * p / p.sum()  # area ∝ p; p = 1/M gets the mean area
        ax.scatter([], [], s=mean, marker=marker, color="black", linewidths=0, label=f"area of $p = 1/{len(pts)}$")
    ax.scatter(pts.real.numpy(), pts.imag.numpy(), s=area, marker=marker, color="black", zorder=4, label=label, linewidths=0)
    if bit_labels is not None:
        _write_bits(ax, pts.real.numpy(), pts.imag.numpy(), bit_labels)
    span = limit or 1.3 * max(float(pts.abs().max()) if len(pts) else 1.0, 1e-6)
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.set_xlabel("In-phase")
    ax.set_ylabel("Quadrature")
    _clear_corner(ax)
    if axis_lines:
        ax.axhline(0, color="0.6", linewidth=0.4, zorder=1)
        ax.axvline(0, color="0.6", linewidth=0.4, zorder=1)
    if title:
        ax.set_title(title)
    return ax


def _clear_corner(ax: plt.Axes) -> None:
    """Drop the lowest y tick where it would meet the leftmost x tick in the lower-left corner."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    xt = [t for t in ax.get_xticks() if x0 <= t <= x1]
    yt = [t for t in ax.get_yticks() if y0 <= t <= y1]
    if xt and yt and (xt[0] - x0) < 0.06 * (x1 - x0) and (yt[0] - y0) < 0.06 * (y1 - y0):
        ax.set_yticks(yt[1:])
        ax.set_ylim(y0, y1)


# Where a point's bit label may go, in the order tried: above, below, right, left ((dx, dy) in points, ha, va).
_LABEL_PLACES = (((0, 2.5), "center", "bottom"), ((0, -2.5), "center", "top"), ((3.5, 0), "left", "center"), ((-3.5, 0), "right", "center"))


def _write_bits(ax: plt.Axes, x: np.ndarray, y: np.ndarray, bit_labels: torch.Tensor) -> None:
    """Each point's bits just above it, on a white halo so that they read over regions and clouds (:class:`_LabelSeparator` moves those that collide)."""
    halo = [matplotlib.patheffects.withStroke(linewidth=1.2, foreground="white")]
    (offset, ha, va) = _LABEL_PLACES[0]
    for px, py, bits in zip(x.tolist(), y.tolist(), bit_labels.detach().cpu().to(torch.int64).tolist()):
        text = ax.annotate("".join(map(str, bits)), (px, py), xytext=offset, textcoords="offset points", ha=ha, va=va, fontsize="x-small", zorder=5, path_effects=halo)
        text.set_gid("bits")
    if not any(isinstance(a, _LabelSeparator) for a in ax.artists):
        ax.add_artist(_LabelSeparator())


class _LabelSeparator(matplotlib.artist.Artist):
    """Draws nothing: just before its axes' bit labels are drawn, in the figure's final layout, moves each label that
    would touch one placed before it to the first free place of :data:`_LABEL_PLACES`.

    Points closer than a label's width (a short training, a crowded constellation) put their labels on top of one
    another; where none collide, every label stays above its point and the figure is as it would be without this.
    """

    def __init__(self) -> None:
        super().__init__()
        self.set_zorder(4.95)  # after the points (4), before the labels (5)
        self.set_in_layout(False)

    def draw(self, renderer: Any) -> None:
        placed: list[Any] = []
        for text in (t for t in self.axes.texts if t.get_gid() == "bits"):
            for offset, ha, va in (*_LABEL_PLACES, _LABEL_PLACES[0]):  # nowhere free: above, as the others
                text.xyann = offset
                text.set_ha(ha)
                text.set_va(va)
                box = text.get_window_extent(renderer)
                if not any(box.overlaps(other) for other in placed):
                    break
            placed.append(box)
        self.stale = False


def _system_points(system: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Symbols ``[M, n]`` (complex) of every message and their bits ``[M, k]``."""
    if hasattr(system, "transmitter"):  # a learned system
        with torch.no_grad():
            symbols = system.transmitter.all_symbols().detach().cpu()
        if not symbols.is_complex():
            symbols = torch.complex(symbols, torch.zeros_like(symbols))
        return symbols, int_to_bits(torch.arange(system.num_messages), system.k)
    if hasattr(system, "constellation"):  # a modem
        c = system.constellation
        return c.points.detach().cpu()[:, None], c.bit_labels.cpu()
    raise ValueError(f"system must be an Autoencoder or a Modem to draw its constellation, got {type(system).__name__}")


def _system_probabilities(system: Any) -> torch.Tensor | None:
    """How often each point of :func:`_system_points` is sent (a shaped system), in its order; None when equiprobable."""
    if hasattr(system, "transmitter"):
        p = system.message_probabilities() if hasattr(system, "message_probabilities") else None
    else:
        c = getattr(system, "constellation", None)
        p = c.probabilities if c is not None and getattr(c, "shaped", False) else None
    return None if p is None else p.detach().cpu().double()


def _decision_scores(system: Any, grid: torch.Tensor, no: float) -> torch.Tensor:
    """The receiver's soft output on the complex ``grid`` ``[G]``: symbol scores ``[G, M]`` or bit LLRs ``[G, k]``.

    Column ``j`` of symbol scores belongs to the message (learned) or point (modem) whose bits are the integer ``j``,
    so that the region of ``j`` is where column ``j`` is largest and its boundary is where the two largest tie.
    """
    y = grid[:, None]
    h = torch.ones_like(y) if system.channel.csi else None
    with torch.no_grad():
        if hasattr(system, "receiver"):
            device = next(system.parameters()).device
            return system.logits(y.to(device), None if h is None else h.to(device), no).float().cpu()
        return system.symbol_logits(y, no, h)[:, 0, :].float()


def _margins(scores: torch.Tensor) -> torch.Tensor:
    """``scores[:, j] - max_{i != j} scores[:, i]`` for every ``j``: positive inside region ``j``, zero on its boundary."""
    top2 = scores.topk(2, dim=-1).values  # [G, 2]
    best_other = torch.where(scores == top2[:, :1], top2[:, 1:2], top2[:, :1])
    return scores - best_other


def project_codebook(features: np.ndarray, method: str = "pca", *, seed: int = 0, perplexity: float = 5.0) -> tuple[np.ndarray, Any]:
    """A 2-D picture of ``M`` codewords with ``d > 2`` real coordinates, ``[M, d] -> [M, 2]``.

    ``"pca"`` projects onto the two principal axes (linear: distances shrink, never grow,
    and received samples can be projected with the same map); ``"tsne"`` places the
    points by t-SNE (van der Maaten & Hinton 2008; O'Shea & Hoydis 2017 drew their
    (7,4) autoencoder so), which keeps neighbours together but whose axes have no unit.

    Returns the 2-D points and, for PCA, ``(mean, components [d, 2], energy fractions [2])``
    (``None`` for t-SNE).

    >>> points, (mean, components, energy) = project_codebook(np.eye(4) * 2.0)
    >>> points.shape, components.shape, bool(abs(energy.sum() - 2 / 3) < 1e-9)
    ((4, 2), (4, 2), True)
    """
    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"features must be [M, d] with d >= 2, got shape {x.shape}")
    if method == "pca":
        mean = x.mean(0)
        _, sv, vt = np.linalg.svd(x - mean, full_matrices=False)
        components = vt[:2].T
        for j in range(components.shape[1]):  # a deterministic sign: the largest coordinate positive
            if components[np.argmax(np.abs(components[:, j])), j] < 0:
                components[:, j] *= -1
        energy = sv[:2] ** 2 / max(float((sv**2).sum()), 1e-30)
        return (x - mean) @ components, (mean, components, energy)
    if method == "tsne":
        return _tsne(x, perplexity=perplexity, seed=seed), None
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def _tsne(x: np.ndarray, *, perplexity: float, seed: int, iterations: int = 1000) -> np.ndarray:
    """Exact t-SNE for a small codebook (``M`` up to a few thousand points), seeded."""
    m = len(x)
    perplexity = min(perplexity, max((m - 1) / 3, 1.0))
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    p = np.zeros((m, m))
    target = math.log(perplexity)
    for i in range(m):  # bisection on the precision of each point's Gaussian for the perplexity asked
        lo, hi, beta = 0.0, np.inf, 1.0
        row = np.delete(d2[i], i)
        for _ in range(64):
            w = np.exp(-(row - row.min()) * beta)
            q = w / w.sum()
            entropy = -(q * np.log(np.maximum(q, 1e-300))).sum()
            if abs(entropy - target) < 1e-6:
                break
            if entropy > target:
                lo, beta = beta, beta * 2 if hi == np.inf else (beta + hi) / 2
            else:
                hi, beta = beta, (beta + lo) / 2
        p[i, np.arange(m) != i] = q
    p = np.maximum((p + p.T) / (2 * m), 1e-12)
    rng = np.random.default_rng(seed)
    y = rng.normal(scale=1e-4, size=(m, 2))
    velocity = np.zeros_like(y)
    rate = max(m / 12.0, 10.0)
    for it in range(iterations):
        exaggeration = 12.0 if it < 250 else 1.0
        diff = y[:, None, :] - y[None, :, :]
        num = 1.0 / (1.0 + (diff**2).sum(-1))
        np.fill_diagonal(num, 0.0)
        q = np.maximum(num / num.sum(), 1e-12)
        grad = 4 * (((exaggeration * p - q) * num)[:, :, None] * diff).sum(1)
        velocity = (0.5 if it < 250 else 0.8) * velocity - rate * grad
        y = y + velocity
        y -= y.mean(0)
    return y


def trained_at(train: Mapping[str, Any] | Any) -> str:
    """What a run's training config says of its SNR, for a figure's title: ``"Trained at $E_b/N_0$ = 7 dB"``.

    ``train`` is the ``"train"`` part of ``config.json`` or a
    :class:`~commae.training.TrainConfig`. A range reads "5–10 dB"; a run
    trained with ``--esno`` is named by its Es/N0, as it was given.

    >>> trained_at({"ebno_db": [7.0, 7.0], "esno_db": None})
    'Trained at $E_b/N_0$ = 7 dB'
    >>> trained_at({"ebno_db": [5.0, 10.0]}), trained_at({"ebno_db": [7.0, 7.0], "esno_db": [13.0, 13.0]})
    ('Trained at $E_b/N_0$ = 5–10 dB', 'Trained at $E_s/N_0$ = 13 dB')
    """
    get = train.get if isinstance(train, Mapping) else lambda key: getattr(train, key, None)
    esno = get("esno_db")
    low, high = (float(v) for v in (esno if esno is not None else get("ebno_db")))
    values = f"{low:g}" if low == high else f"{low:g}–{high:g}"
    return f"Trained at {'$E_s/N_0$' if esno is not None else '$E_b/N_0$'} = {values} dB"


def _panel_grid(panels: int) -> tuple[int, int]:
    """Columns and rows for ``panels`` small square panels at the current style's width: none narrower than 1.55 in."""
    width = plt.rcParams["figure.figsize"][0]
    cols = max(1, min(panels, int(width // 1.55)))
    return cols, math.ceil(panels / cols)


def plot_system_constellation(
    system: Any,
    *,
    bits: bool = True,
    regions: bool = False,
    cloud_ebno_db: float | None = None,
    regions_ebno_db: float | None = None,
    axes: Sequence[plt.Axes] | None = None,
    resolution: int = 300,
    cloud_size: int = 3000,
    seed: int = 0,
    limit: float | None = None,
    projection: str = "pca",
    title: str | None = None,
) -> list[plt.Axes]:
    """The constellation of a learned :class:`~commae.models.Autoencoder` or a baseline ``Modem``.

    Parameters
    ----------
    system : Autoencoder or Modem
    bits : bool
        Write each message's bits (zero-padded) above its point.
    regions : bool
        Shade the receiver's decision regions, evaluated on a
        ``resolution``² grid, one shade per message, with the boundaries where
        the receiver's two best scores tie (smooth, black, readable in
        greyscale). A bit-wise receiver gets one panel per bit, shading where
        its LLR says 1, laid out so that no panel is narrower than 1.55 in
        (two columns in ``ieee``, four in ``ieee-wide``). Over fading with CSI
        the regions are those for ``h = 1``. Only for ``n = 1`` complex use.
    cloud_ebno_db : float, optional
        Add ``cloud_size`` received samples at this Eb/N0 (dB) at low alpha;
        with CSI they are equalised, :math:`y h^* / |h|^2`.
    regions_ebno_db : float, optional
        The Eb/N0 (dB) the regions are evaluated at. They depend on it where
        the receiver does: one given the noise level (``noise_input``), or
        the MAP decisions of a shaped modem [default: ``cloud_ebno_db``, else
        7 dB].
    axes : sequence of Axes, optional
        Where to draw; otherwise a new figure of the current style.
    limit : float, optional
        Half-width of the view, to draw several systems on the same scale.
    projection : {"pca", "tsne"}
        How a codebook with more than two real coordinates (``n > 1``
        complex, or ``n > 2`` real uses) is drawn: see :func:`project_codebook`.
    title : str, optional
        The panel's title, or the figure's above several panels: e.g. the
        SNR it was trained at (:func:`trained_at`).

    Returns
    -------
    axes : list of Axes
        One panel, or one per bit (bit-wise regions).

    Notes
    -----
    ``n = 1`` complex: the I/Q plane. ``n = 1`` real: the points on the real
    line. ``n = 2`` real: the plane of the two uses. More coordinates: one
    panel with the codewords projected to 2-D (PCA by default, its axes
    saying how much of the codebook's energy each keeps; the received cloud
    is projected with the same map), because one panel per channel use
    would be too small to read at column width and would show symbols, not
    codewords. A shaped system (a learned distribution, a Maxwell–Boltzmann
    modem) is drawn in the I/Q plane with marker area proportional to each
    point's probability (:func:`plot_constellation`), and its cloud follows
    that distribution.
    """
    symbols, labels = _system_points(system)
    num_messages, n = symbols.shape
    real = bool(getattr(system, "real", False) or getattr(system.channel, "real", False))
    if regions and (n > 1 or real):
        raise ValueError("regions need n=1 complex channel use: with several uses the receiver decides jointly (draw without regions)")
    bitwise = regions and getattr(system, "output", "symbol") == "bit"
    panels = system.k if bitwise else 1
    if axes is None:
        cols, rows = _panel_grid(panels)
        width = plt.rcParams["figure.figsize"][0]
        height = min(width / cols * rows * 1.02 + 0.15, 9.0) if not (real and n == 1) else 0.45 * width
        fig, grid_axes = new_figure(rows, cols, height=height, sharex=True, sharey=True)
        axes = list(grid_axes.flatten())
        for extra in axes[panels:]:
            extra.set_visible(False)
        axes = axes[:panels]
    axes = list(axes)
    if len(axes) < panels:
        raise ValueError(f"axes must hold {panels} panels for this system, got {len(axes)}")

    cloud = None
    if cloud_ebno_db is not None:
        gen = torch.Generator().manual_seed(seed)
        prior = _system_probabilities(system)  # a shaped system's cloud follows its distribution
        messages = torch.randint(0, num_messages, (cloud_size,), generator=gen) if prior is None else draw_indices(prior, cloud_size, gen)
        x = symbols[messages]
        channel = system.channel
        out = channel(x if not getattr(channel, "real", False) else x.real, ebno_db_to_no(cloud_ebno_db, system.k, system.n), generator=gen)
        y, h = split_channel_output(channel, out)
        if not y.is_complex():
            y = torch.complex(y, torch.zeros_like(y))
        cloud = y * torch.conj(h) / h.abs().pow(2).clamp_min(1e-12) if h is not None else y

    dims = n if real else 2 * n
    if dims > 2 or (real and n == 2):
        return _titled([_plot_codebook(symbols, labels if bits else None, real, axes[0], projection=projection, cloud=cloud, seed=seed)], title)
    if real:  # n = 1 real use: a line
        return _titled([_plot_real_line(symbols[:, 0].real, labels if bits else None, axes[0], cloud=None if cloud is None else cloud[:, 0].real)], title)

    span = limit or 1.3 * float(symbols.abs().max())
    if cloud is not None and limit is None:
        span = max(span, float(torch.quantile(cloud.abs().flatten(), 0.995)) * 1.05)
    if regions:
        coords = torch.linspace(-span, span, resolution)
        grid = torch.complex(coords[None, :].expand(resolution, -1), coords[:, None].expand(-1, resolution)).reshape(-1)
        at = regions_ebno_db if regions_ebno_db is not None else cloud_ebno_db if cloud_ebno_db is not None else 7.0
        scores = _decision_scores(system, grid, ebno_db_to_no(at, system.k, system.n))
    for panel, ax in enumerate(axes):
        if regions:
            c = coords.numpy()
            if bitwise:
                llr = scores[:, panel].reshape(resolution, resolution).numpy()
                ax.contourf(c, c, llr, levels=[0, np.inf], colors=["0.55"], alpha=0.45, zorder=0)
                ax.contour(c, c, llr, levels=[0], colors="black", linewidths=0.5, zorder=1)
            else:
                winner = scores.argmax(-1).reshape(resolution, resolution).numpy()
                cmap = plt.get_cmap("tab20" if num_messages <= 20 else "hsv", num_messages)
                ax.imshow(winner, origin="lower", extent=(-span, span, -span, span), cmap=cmap, alpha=0.3, interpolation="nearest", vmin=-0.5, vmax=num_messages - 0.5, zorder=0)
                margins = _margins(scores)
                for j in np.unique(winner):  # each region's outline where its score ties with the best other one
                    ax.contour(c, c, margins[:, j].reshape(resolution, resolution).numpy(), levels=[0], colors="black", linewidths=0.45, zorder=1)
        if cloud is not None:
            ax.scatter(cloud[:, 0].real.numpy(), cloud[:, 0].imag.numpy(), s=1.0, color="0.35", alpha=0.15, linewidths=0, zorder=2, rasterized=True)
        shown = labels[:, panel : panel + 1] if bitwise else labels
        plot_constellation(
            symbols[:, 0], shown if bits else None, ax=ax, limit=span, axis_lines=not regions, title=f"bit {panel + 1}" if bitwise else None, probabilities=_system_probabilities(system)
        )
    if bitwise:
        # side by side, the edge ticks of neighbouring panels would run together: keep the inner ones
        inner = [t for t in axes[0].get_xticks() if abs(t) <= 0.85 * span]
        for ax in axes:
            ax.set_xticks(inner)
            ax.set_yticks(inner)
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
        for ax in axes:  # shared axes: only the outer panels say what the axes are
            if not ax.get_subplotspec().is_last_row():
                ax.set_xlabel("")
            if not ax.get_subplotspec().is_first_col():
                ax.set_ylabel("")
    return _titled(axes, title)


def _titled(axes: list[plt.Axes], title: str | None) -> list[plt.Axes]:
    """``axes`` with ``title`` above the one panel, or above the figure of several."""
    if title:
        if len(axes) == 1 and not axes[0].get_title():
            axes[0].set_title(title)
        else:
            axes[0].figure.suptitle(title)
    return axes


def _features(symbols: torch.Tensor, real: bool) -> np.ndarray:
    """Codewords as real coordinates: ``[M, n]`` real uses, or ``[M, 2n]`` (I, Q of each use)."""
    if real:
        return symbols.real.numpy().astype(float)
    return torch.view_as_real(symbols.to(torch.complex64)).reshape(len(symbols), -1).numpy().astype(float)


def _plot_codebook(symbols, labels, real: bool, ax: plt.Axes, *, projection: str, cloud, seed: int) -> plt.Axes:
    """One panel: the codewords in 2-D (the plane of two real uses, or a projection), with their bits."""
    x = _features(symbols, real)
    if x.shape[1] == 2:
        xy, info, names = x, None, ("Channel use 1", "Channel use 2")
    else:
        xy, info = project_codebook(x, projection, seed=seed)
        if info is None:
            names = ("t-SNE 1", "t-SNE 2")
        else:
            names = tuple(f"PC {i + 1} ({100 * e:.0f} % of energy)" for i, e in enumerate(info[2]))
    if cloud is not None and (x.shape[1] == 2 or info is not None):
        c = _features(cloud, real)
        c = c if info is None else (c - info[0]) @ info[1]
        ax.scatter(c[:, 0], c[:, 1], s=1.0, color="0.35", alpha=0.15, linewidths=0, zorder=2, rasterized=True)
    ax.scatter(xy[:, 0], xy[:, 1], s=plt.rcParams["lines.markersize"] ** 2 * 1.6, color="black", zorder=4, linewidths=0)
    if labels is not None:
        _write_bits(ax, xy[:, 0], xy[:, 1], labels)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if info is None and x.shape[1] > 2:  # t-SNE coordinates have no unit
        ax.tick_params(labelbottom=False, labelleft=False, bottom=False, left=False)
    else:
        span = 1.25 * float(np.abs(xy).max())
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
        ax.set_aspect("equal")
        _clear_corner(ax)
    margin = 0.08 * (xy.max(0) - xy.min(0)).max()
    if info is None and x.shape[1] > 2:
        ax.set_xlim(xy[:, 0].min() - margin, xy[:, 0].max() + margin)
        ax.set_ylim(xy[:, 1].min() - margin, xy[:, 1].max() + 2 * margin)
    return ax


def _plot_real_line(points: torch.Tensor, labels, ax: plt.Axes, *, cloud) -> plt.Axes:
    """``n = 1`` real use: the points on the amplitude axis (there is no quadrature)."""
    x = points.numpy().astype(float)
    if cloud is not None:
        jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(cloud))
        ax.scatter(cloud.numpy(), jitter, s=1.0, color="0.35", alpha=0.15, linewidths=0, zorder=2, rasterized=True)
    ax.scatter(x, np.zeros_like(x), s=plt.rcParams["lines.markersize"] ** 2 * 1.6, color="black", zorder=4, linewidths=0)
    if labels is not None:
        _write_bits(ax, x, np.zeros_like(x), labels)
    span = 1.2 * float(np.abs(x).max())
    ax.set_xlim(-span, span)
    ax.set_ylim(-1, 1)
    ax.set_xlabel("Amplitude (one real channel use)")
    ax.tick_params(labelleft=False, left=False)
    ax.grid(False, axis="y")
    return ax


# --- error-rate curves ----------------------------------------------------------------------

_PAPER_NAMES = {
    "bpsk": "BPSK",
    "qpsk": "QPSK",
    "hamming74-hard": "Hamming (7,4), hard",
    "hamming74-soft": "Hamming (7,4), soft ML",
}


# Two names of one modem: a run's matching baseline is named by its constellation (qam4), --baseline by the paper (qpsk).
_ALIASES = {"qam4": "qpsk", "psk2": "bpsk"}


def canonical_name(name: str) -> str:
    """One name per system: ``qam4`` -> ``qpsk``, ``psk2`` -> ``bpsk`` (the same Gray constellations); others as they are.

    >>> canonical_name("qam4"), canonical_name("qam16")
    ('qpsk', 'qam16')
    """
    return _ALIASES.get(name, name)


def paper_name(name: str) -> str:
    """How a paper names a system: ``qam16`` -> ``16-QAM``, ``qam4`` -> ``QPSK``, ``psk8`` -> ``8-PSK``, a run ``k4-n7-...`` -> ``Autoencoder (7,4)``.

    A Maxwell–Boltzmann baseline is named by its shaping (``qam64-mb`` ->
    ``MB 64-QAM``, with ``(BMD)`` or ``(ν = NU)`` for the other two forms), and
    a baseline coded with 5G NR LDPC (``ber-curve --code ldpc5g:K:N`` names it
    ``NAME-ldpc``) by its modem and the code.

    >>> [paper_name(s) for s in ("qam16", "qam4", "psk8", "hamming74-soft", "uncoded-bpsk-4", "k4-n7-real-awgn-7dB", "mine")]
    ['16-QAM', 'QPSK', '8-PSK', 'Hamming (7,4), soft ML', 'Uncoded BPSK (4 bits)', 'Autoencoder (7,4)', 'mine']
    >>> [paper_name(s) for s in ("qam64-mb", "qam16-mb-bmi", "qam256-mb:0.05", "qam64-ldpc", "qpsk-ldpc", "ae64-ldpc")]
    ['MB 64-QAM', 'MB 16-QAM (BMD)', 'MB 256-QAM (ν = 0.05)', '64-QAM, 5G LDPC', 'QPSK, 5G LDPC', 'ae64-ldpc']
    """
    name = canonical_name(name)
    if name in _PAPER_NAMES:
        return _PAPER_NAMES[name]
    shaped = maxwell_boltzmann_name(name)
    if shaped is not None:
        size, metric, nu = shaped
        return f"MB {size}-QAM" + (f" (ν = {nu:g})" if metric == "fixed" else " (BMD)" if metric == "bmi" else "")
    if name.endswith("-ldpc") and is_baseline_name(name[: -len("-ldpc")]):
        return f"{paper_name(name[: -len('-ldpc')])}, 5G LDPC"
    for prefix, kind in (("qam", "QAM"), ("psk", "PSK"), ("pam", "PAM")):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            return f"{name[len(prefix) :]}-{kind}"
    if name.startswith("uncoded-bpsk-") and name[13:].isdigit():
        return f"Uncoded BPSK ({name[13:]} bits)"
    parts = name.split("-")
    if len(parts) >= 2 and parts[0][:1] == "k" and parts[0][1:].isdigit() and parts[1][:1] == "n" and parts[1][1:].isdigit():
        return f"Autoencoder ({parts[1][1:]},{parts[0][1:]})"
    return name


_COUNTS = ("bits", "bit_errors", "symbols", "symbol_errors", "blocks", "block_errors")


def _counts(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in _COUNTS)


def merge_results(files: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> list[dict[str, Any]]:
    """The rows of several ``ber-curve`` CSVs as one set, in which each system is one curve.

    Parameters
    ----------
    files : sequence of (name, rows)
        Each file's name (``commae plot ber`` gives its stem) and its rows
        (:func:`commae.simulation.read_results`).

    Returns
    -------
    rows : list of dict
        A system (its name, under :func:`canonical_name`, and its channel
        column, which names every stage and parameter of the channel) that
        several files hold is one curve, the union of their points, when the
        files agree on it: the same counts at every Eb/N0 that both hold, as
        the same system simulated with the same seed gives (a baseline beside
        a run and the same baseline alone). Where they disagree (another seed
        or budget, or another run of the same name), each measurement keeps
        its rows, marked ``"run"``: the name of the first file that holds it,
        which :func:`plot_error_rates` writes after the system's name
        ("16-QAM (baselines)").

    Examples
    --------
    >>> row = dict(system="qam16", channel="awgn", ebno_db=0.0, bits=8, bit_errors=1, symbols=2, symbol_errors=1, blocks=2, block_errors=1)
    >>> [r.get("run") for r in merge_results([("results", [row]), ("baselines", [row, {**row, "ebno_db": 1.0}])])]
    [None, None]
    >>> [r.get("run") for r in merge_results([("results", [row]), ("baselines", [{**row, "bit_errors": 2}])])]
    ['results', 'baselines']
    """
    curves: dict[tuple[str, str], list[tuple[str, dict[float, Mapping[str, Any]]]]] = {}
    for name, rows in files:
        mine: dict[tuple[str, str], dict[float, Mapping[str, Any]]] = {}
        for row in rows:
            system = canonical_name(row["system"])
            mine.setdefault((system, row["channel"]), {})[float(row["ebno_db"])] = {**row, "system": system}
        for key, points in mine.items():
            measurements = curves.setdefault(key, [])
            for _, held in measurements:
                if all(_counts(held[x]) == _counts(points[x]) for x in held.keys() & points.keys()):
                    for x, row in points.items():
                        held.setdefault(x, row)
                    break
            else:
                measurements.append((name, dict(points)))
    merged = []
    for measurements in curves.values():
        for name, points in measurements:
            for x in sorted(points):
                merged.append({**points[x], **({"run": name} if len(measurements) > 1 else {})})
    return merged


def plot_error_rates(
    rows: Sequence[Mapping[str, Any]],
    *,
    metric: str = "ber",
    esno: bool = False,
    theory: bool = True,
    ax: plt.Axes | None = None,
    label_suffix: str = "",
    labels: Mapping[str, str] | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    legend: str | None = "auto",
    title: str | None = None,
) -> plt.Axes:
    """Error-rate curves from ``ber-curve`` rows (see :func:`commae.simulation.read_results`).

    Parameters
    ----------
    rows : sequence of dict
        One per (system, point), with the ``RESULT_COLUMNS`` keys, and
        optionally ``"run"``, which tells measurements of the same system
        apart (see :func:`merge_results`, which merges several files).
    metric : {"ber", "ser", "bler"}
    esno : bool
        Against Es/N0 instead of Eb/N0.
    theory : bool
        Draw the closed forms (thin lines without markers) where the rows
        have them, once per system.
    labels : mapping, optional
        Legend names by system name; the others are named as a paper would
        (:func:`paper_name`: ``qam16`` -> "16-QAM").
    xlim, ylim : (float, float), optional
        Axis ranges (Eb/N0 or Es/N0 in dB; error rate), widened where a
        marker sits on an edge, so that no marker is cut in half.
    legend : "auto", "below", a matplotlib location such as "upper right", or None
        ``"auto"``: inside the axes, in the first corner (lower left, upper
        right, lower right, upper left) where it covers no point, line or
        error bar and at most a quarter of the axes; otherwise, in a new
        figure (``ax=None``), ``"below"``: under the x-axis label, in as
        many columns as the axes' width holds, the figure taller by its
        height; in a caller's axes (a panel of a row, which a legend below
        would shrink with the others), the corner where it covers the least
        data, a free one first. ``None``: no legend.
    title : str, optional
        The axes' title (set before the legend is placed, which needs the
        final layout).

    Notes
    -----
    Simulated points carry Clopper–Pearson error bars. Learned systems are
    solid lines, baselines dashed, each system with its own marker, so the
    figure reads in greyscale. A closed form is a thin line drawn on top,
    with a white edge, so that it shows where it runs along its simulated
    curve. A point without errors has no place on a log axis: it is drawn
    as its upper bound with a downward caret, which has its own legend entry.
    """
    if metric not in ("ber", "ser", "bler"):
        raise ValueError(f"metric must be 'ber', 'ser' or 'bler', got {metric!r}")
    if legend not in (None, "auto", "below") and legend not in matplotlib.legend.Legend.codes:
        raise ValueError(f"legend must be 'auto', 'below', None or a location ({', '.join(matplotlib.legend.Legend.codes)}), got {legend!r}")
    new = ax is None
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    if title:
        ax.set_title(title)
    labels = dict(labels or {})
    x_key = "esno_db" if esno else "ebno_db"
    systems: dict[tuple[str, str], dict[str, dict[float, Mapping[str, Any]]]] = {}  # (system, channel) -> run -> x -> row
    for row in rows:
        points = systems.setdefault((row["system"], row["channel"]), {}).setdefault(row.get("run") or "", {})
        x = float(row[x_key])
        if x in points and _counts(points[x]) != _counts(row):
            raise ValueError(f"two rows of {row['system']} ({row['channel']}) at {x:g} dB differ: tell the measurements apart with a 'run' key (merge_results does)")
        points[x] = row
    several_channels = len({ch for _, ch in systems}) > 1
    handles: list[Any] = []
    any_zero = False
    halo = [matplotlib.patheffects.withStroke(linewidth=2.2, foreground="white")]
    marks: list[tuple[float, float]] = []  # every marker drawn, (x, rate): no axis range may cut one
    index = 0
    for drawn_theory, ((name, channel), runs) in enumerate(systems.items()):
        shown = labels.get(name, paper_name(name))
        where = [channel] if several_channels else []
        color = None
        closed_form: dict[float, float] = {}
        for run, by_x in runs.items():
            points = [by_x[x] for x in sorted(by_x)]
            qualifiers = where + ([run] if run else [])
            label = f"{shown} ({', '.join(qualifiers)})" if qualifiers else shown
            x = np.array([r[x_key] for r in points], dtype=float)
            rate = np.array([r[metric] for r in points], dtype=float)
            low = np.array([r[f"{metric}_low"] for r in points], dtype=float)
            high = np.array([r[f"{metric}_high"] for r in points], dtype=float)
            marker = MARKERS[index % len(MARKERS)]
            linestyle = "--" if is_baseline_name(name) else "-"
            seen = rate > 0
            line = ax.errorbar(
                x[seen],
                rate[seen],
                yerr=[rate[seen] - low[seen], high[seen] - rate[seen]],
                marker=marker,
                linestyle=linestyle,
                label=label + label_suffix,
                markerfacecolor="white" if is_baseline_name(name) else None,
                elinewidth=0.6,
                zorder=3,
            )
            index += 1
            handles.append(line)
            color = color or line.lines[0].get_color()
            marks += zip(x[seen], rate[seen])
            if (~seen).any():
                any_zero = True
                ax.plot(x[~seen], high[~seen], marker="v", linestyle="none", color=line.lines[0].get_color(), markersize=plt.rcParams["lines.markersize"] * 0.9, label="_no errors")
                marks += zip(x[~seen], high[~seen])
            for xi, r in zip(x, points):
                value = float(r.get(f"{metric}_theory", float("nan")))
                if math.isfinite(value) and value > 0:
                    closed_form.setdefault(float(xi), value)
        if theory and closed_form:  # one closed form per system, however many measurements of it
            tx = sorted(closed_form)
            (curve,) = ax.plot(
                tx,
                [closed_form[v] for v in tx],
                linestyle=_THEORY_DASHES[drawn_theory % len(_THEORY_DASHES)],
                linewidth=0.8,
                color=color,
                marker="none",
                label=f"{shown} ({', '.join([*where, 'theory'])})" + label_suffix,
                zorder=5,
                path_effects=halo,
            )
            handles.append(curve)
    if any_zero:
        handles.append(Line2D([], [], marker="v", linestyle="none", color="0.3", markersize=plt.rcParams["lines.markersize"] * 0.9, label="no errors: upper bound"))
    ax.set_yscale("log")
    ax.set_xlabel(r"$E_s/N_0$ (dB)" if esno else r"$E_b/N_0$ (dB)")
    ax.set_ylabel({"ber": "Bit error rate", "ser": "Symbol error rate", "bler": "Block error rate"}[metric])
    ax.grid(True, which="major", linestyle=":", linewidth=0.5)
    ax.grid(True, which="minor", linestyle=":", linewidth=0.3, alpha=0.5)
    mx, my = (np.array(v, dtype=float) for v in zip(*marks)) if marks else (np.zeros(0), np.zeros(0))
    if xlim is not None:
        inside = (my >= min(ylim)) & (my <= max(ylim)) if ylim is not None else np.ones(len(my), dtype=bool)
        ax.set_xlim(*_clear_of_marks(xlim, mx[inside], log=False))
    if ylim is not None:
        inside = (mx >= min(xlim)) & (mx <= max(xlim)) if xlim is not None else np.ones(len(mx), dtype=bool)
        ax.set_ylim(*_clear_of_marks(ylim, my[inside], log=True))
    _place_legend(ax, handles, legend, grow=new)
    return ax


def _clear_of_marks(limits: tuple[float, float], values: np.ndarray, *, log: bool, edge: float = 0.04) -> tuple[float, float]:
    """``limits`` widened on each side where a marker (at one of ``values``) lies within ``edge`` of the range from it, by ``edge`` of the range.

    A marker on the edge of an axis range is cut in half; matplotlib's own margins avoid that only where it chooses the range.
    Spans are measured on the axis' scale (decades on a log axis). Markers outside the range are not drawn and do not count.

    >>> _clear_of_marks((0.0, 12.0), np.array([0.0, 6.0, 12.0]), log=False)
    (-0.48, 12.48)
    >>> _clear_of_marks((-5.0, 9.0), np.array([-4.0, 8.0]), log=False)  # 1 dB of 14 from each edge: as asked
    (-5.0, 9.0)
    """
    lo, hi = sorted(float(v) for v in limits)
    to, back = (np.log10, lambda v: float(10**v)) if log else ((lambda v: v), float)
    if log and lo <= 0:
        return limits
    a, b = to(lo), to(hi)
    v = to(values[(values >= lo) & (values <= hi) & (values > 0 if log else True)]) if len(values) else np.zeros(0)
    pad = edge * (b - a)
    new_a = a - pad if (v < a + pad).any() else a
    new_b = b + pad if (v > b - pad).any() else b
    if (new_a, new_b) == (a, b):
        return limits
    widened = (round(back(new_a), 12), round(back(new_b), 12))
    return widened if limits[0] <= limits[1] else widened[::-1]


_LEGEND_CORNERS = ("lower left", "upper right", "lower right", "upper left")


def _place_legend(ax: plt.Axes, handles: list[Any], where: str | None, *, grow: bool) -> None:
    """The legend: in the first free corner inside the axes, or below them (see :func:`plot_error_rates`)."""
    if where is None or not handles:
        return
    if where not in ("auto", "below"):
        ax.legend(handles=handles, loc=where)
        return
    fig = ax.figure
    if where == "auto":
        legend = ax.legend(handles=handles, loc=_LEGEND_CORNERS[0])
        fig.canvas.draw()  # the final layout: the corners and the data in display coordinates
        renderer = fig.canvas.get_renderer()
        frame = ax.get_window_extent(renderer)
        points, pad = _data_in_display(ax)
        corners = []  # (points covered, whether it takes more than a quarter of the axes) at each corner
        for loc in _LEGEND_CORNERS:
            legend.set_loc(loc)
            box = legend.get_window_extent(renderer)
            covered = (points[:, 0] >= box.x0 - pad) & (points[:, 0] <= box.x1 + pad) & (points[:, 1] >= box.y0 - pad) & (points[:, 1] <= box.y1 + pad)
            corners.append((int(covered.sum()), box.width * box.height > 0.25 * frame.width * frame.height))
        best = min(range(len(corners)), key=lambda i: corners[i])  # the first free and small corner, else the first free one, else the least covered
        if corners[best] == (0, False) or not grow:  # in a caller's axes, a legend below would shrink every panel of its row
            legend.set_loc(_LEGEND_CORNERS[best])
            return
        legend.remove()
    _legend_below(ax, handles, grow=grow)


def _data_in_display(ax: plt.Axes) -> tuple[np.ndarray, float]:
    """Every drawn point, line and error bar of ``ax`` as display points ``[P, 2]`` at most 2 px apart, inside the axes, and the largest marker's half-width in px.

    What a legend must not cover. Call it after a draw (``fig.canvas.draw()``), which fixes the layout.
    """
    segments: list[np.ndarray] = []
    pad = 0.0
    for line in ax.lines:
        xy = np.column_stack([np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)]) if len(line.get_xdata()) else np.zeros((0, 2))
        if not line.get_visible() or not len(xy):
            continue
        xy = line.get_transform().transform(xy)
        if line.get_marker() not in (None, "None", "none", ""):
            segments.append(xy)
            pad = max(pad, (line.get_markersize() / 2 + line.get_markeredgewidth()) * ax.figure.dpi / 72)
        if line.get_linestyle() not in ("None", "none", "", " "):
            segments.append(_densify(xy))
    for collection in ax.collections:  # error bars
        for seg in getattr(collection, "get_segments", lambda: [])():
            if len(seg):
                segments.append(_densify(collection.get_transform().transform(np.asarray(seg, dtype=float))))
    points = np.concatenate(segments) if segments else np.zeros((0, 2))
    points = points[np.isfinite(points).all(1)]
    frame = ax.get_window_extent()
    keep = (points[:, 0] >= frame.x0) & (points[:, 0] <= frame.x1) & (points[:, 1] >= frame.y0) & (points[:, 1] <= frame.y1)
    return points[keep], pad


def _densify(xy: np.ndarray, step: float = 2.0) -> np.ndarray:
    """Points along the straight segments between display points ``xy`` ``[N, 2]``, ``step`` px apart."""
    out = [xy[:1]]
    for p, q in zip(xy[:-1], xy[1:]):
        if not (np.isfinite(p).all() and np.isfinite(q).all()):
            out.append(q[None])
            continue
        count = max(1, int(math.ceil(float(np.hypot(*(q - p))) / step)))
        out.append(p + (q - p) * (np.arange(1, count + 1) / count)[:, None])
    return np.concatenate(out)


def _legend_below(ax: plt.Axes, handles: list[Any] | None = None, *, grow: bool = False) -> Any:
    """A legend under the x-axis label of ``ax``, in balanced rows of as many columns as the axes' width holds.

    ``grow``: make the figure taller by the legend's height, so that the axes keep their size.
    """
    fig = ax.figure
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    under = ax.xaxis.get_tightbbox(renderer)
    gap = (frame.y0 - under.y0) * 72 / fig.dpi + 2  # points from the axes' bottom to below the tick and axis labels
    anchor = matplotlib.transforms.offset_copy(ax.transAxes, fig=fig, y=-gap, units="points")
    columns = 1
    for ncols in range(len(handles), 1, -1):
        legend = ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=anchor, ncols=ncols)
        if legend.get_window_extent(renderer).width <= frame.width:
            columns = ncols
            break
    columns = math.ceil(len(handles) / math.ceil(len(handles) / columns))  # balanced rows: 5 entries in 3 + 2, not 4 + 1
    legend = ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=anchor, ncols=columns)
    if grow:
        height = legend.get_window_extent(renderer).height / fig.dpi
        fig.set_figheight(fig.get_figheight() + height + 2 / 72)
    return legend


# --- learning curves -------------------------------------------------------------------------


def readable_log_axis(axis: Any) -> None:
    """Tick labels a reader can use on a log axis: plain numbers (0.2, 0.5, 1, 2) where it spans less than
    two decades, 10^k otherwise with 2x and 5x minor ticks."""
    low, high = sorted(axis.get_view_interval())
    if low <= 0:
        return
    if math.log10(high / low) < 2:
        subs = (1.0, 2.0, 3.0, 5.0) if math.log10(high / low) < 1 else (1.0, 2.0, 5.0)
        axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=subs))
        axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_locator(matplotlib.ticker.LogLocator(base=10, subs=(3.0, 4.0, 6.0, 7.0, 8.0, 9.0)))
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def plot_learning_curves(
    histories: Mapping[str, Sequence[Mapping[str, float]]],
    *,
    metric: str = "loss",
    ax: plt.Axes | None = None,
    train: bool = True,
) -> plt.Axes:
    """Learning curves of one or several runs, overlaid.

    Parameters
    ----------
    histories : mapping of label → history rows
        ``history.csv`` rows (see :func:`commae.runs.load_history`); the label
        names the run in the legend (e.g. ``"Adam, lr 3e-3"``).
    metric : {"loss", "ser", "mi"}
        ``"loss"``: validation loss and, with ``train``, training loss (thin,
        faded, same style) in nats, on a log axis, so that the first epoch
        does not flatten the rest; ``"ser"``: validation SER on a log axis;
        ``"mi"``: the validation MI bound in bits.

    Notes
    -----
    Each run has its own colour, marker (every few epochs) and line style
    (:data:`DASHES`), so the figure reads in greyscale; every line drawn has
    a legend entry.
    """
    if metric not in ("loss", "ser", "mi"):
        raise ValueError(f"metric must be 'loss', 'ser' or 'mi', got {metric!r}")
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    key = {"loss": "val_loss", "ser": "val_ser", "mi": "mi_bits"}[metric]
    single = len(histories) == 1
    drew_train = False
    for index, (label, rows) in enumerate(histories.items()):
        if not rows:
            raise ValueError(f"history of {label!r} is empty")
        missing = [c for c in ("epoch", key) if c not in rows[0]]
        if missing:
            raise ValueError(f"history of {label!r} has no column {', '.join(missing)}")
        epochs = [r["epoch"] for r in rows]
        every = max(1, len(rows) // 8, min(4, len(histories) // 2))  # markers of many runs at different epochs: equal curves stay visible
        marker = MARKERS[index % len(MARKERS)]
        dash = DASHES[index % len(DASHES)]
        shown = f"{label}, validation" if single and metric == "loss" and train else label
        (line,) = ax.plot(epochs, [r[key] for r in rows], marker=marker, markevery=(index % every, every), linestyle=dash, label=shown)
        if metric == "loss" and train and "train_loss" in rows[0]:
            drew_train = True
            if single:
                ax.plot(epochs, [r["train_loss"] for r in rows], linestyle=(0, (3, 1.5)), linewidth=0.7, color=line.get_color(), label=f"{label}, training")
            else:
                ax.plot(epochs, [r["train_loss"] for r in rows], linestyle=dash, linewidth=0.5, alpha=0.45, color=line.get_color(), label="_training")
    if drew_train and not single:
        ax.plot([], [], color="0.3", linewidth=0.5, alpha=0.45, label="thin, faded: training loss")
    if metric in ("ser", "loss"):
        ax.set_yscale("log")
        ax.autoscale_view()
        readable_log_axis(ax.yaxis)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("Epoch")
    ax.set_ylabel({"loss": "Loss (nats)", "ser": "Validation SER", "mi": "MI bound (bit)"}[metric])
    ax.legend(ncols=2 if len(histories) > 4 else 1)
    return ax


def plot_mi_curves(
    series: Mapping[str, tuple[Any, Any]],
    *,
    ax: plt.Axes | None = None,
    capacity: Any | None = None,
    learned: Sequence[str] = (),
    gap: bool = False,
) -> plt.Axes:
    r"""Mutual information against :math:`E_s/N_0`, beside the AWGN capacity, or each curve's gap to it.

    Parameters
    ----------
    series : mapping of label → (esno_db, mi_bits)
        Each system's Es/N0 points (dB per channel use) and its MI (or BMI)
        in bits per channel use, in the legend's order.
    ax : matplotlib Axes, optional
    capacity : array-like, optional
        Es/N0 points (dB) at which to draw the capacity
        :math:`\log_2(1 + E_s/N_0)` (complex AWGN) as a thin black dotted line.
    learned : sequence of str
        Labels of ``series`` drawn as markers joined by thin lines (systems
        trained at each point); the others are drawn as lines without
        markers (closed forms, quadrature on a fine grid), dashed.
    gap : bool
        Draw :math:`C - I` (bit per channel use) instead of :math:`I`, where
        differences of hundredths of a bit are visible; the capacity is then
        the axis :math:`C - I = 0`.

    Notes
    -----
    Every curve has its own colour, line style and (for ``learned``) marker,
    so the figure reads in greyscale, and a legend entry.
    """
    from .theory import capacity_awgn

    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    if capacity is not None and not gap:
        grid = np.asarray(capacity, dtype=float)
        ax.plot(grid, capacity_awgn(grid), color="black", linewidth=0.7, linestyle=_THEORY_DASHES[0], label="capacity")
    if gap:
        ax.axhline(0.0, color="black", linewidth=0.7, linestyle=_THEORY_DASHES[0], label="capacity")
    lines = markers = 0
    for index, (name, (esno, values)) in enumerate(series.items()):
        esno, values = np.asarray(esno, dtype=float), np.asarray(values, dtype=float)
        y = capacity_awgn(esno) - values if gap else values
        colour = f"C{(index + 1) % 8}"
        if name in learned:
            ax.plot(esno, y, marker=MARKERS[markers % len(MARKERS)], linestyle=DASHES[markers % len(DASHES)], linewidth=0.6, color=colour, label=name)
            markers += 1
        else:
            ax.plot(esno, y, linestyle=DASHES[(lines + 1) % len(DASHES)], color=colour, label=name)
            lines += 1
    ax.set_xlabel(r"$E_s/N_0$ (dB)")
    ax.set_ylabel("gap to capacity (bit per channel use)" if gap else "MI (bit per channel use)")
    return ax


# --- saving ----------------------------------------------------------------------------------


def save_figure(fig: plt.Figure, base: str | os.PathLike, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """Save ``fig`` as ``base.<fmt>`` for each format, atomically: every file goes to a temp file first, and only when all are written are they renamed.

    A failure (a full disk: :class:`~commae._files.WriteError` naming the file) leaves every earlier file as it was.
    """
    base = Path(base)
    for fmt in formats:
        if fmt not in ("pdf", "png", "svg", "eps"):
            raise ValueError(f"format must be pdf, png, svg or eps, got {fmt!r}")
    formats = list(dict.fromkeys(formats))
    written = [base.with_name(f"{base.name}.{fmt}") for fmt in formats]
    with atomic_paths(written) as temps:
        for fmt, path, tmp in zip(formats, written, temps):
            with writing(path):  # a writer may remove its half-written file, and fail in its own clean-up
                fig.savefig(tmp, format=fmt)
    return written
