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

import matplotlib.patheffects  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from ._files import atomic_paths, writing  # noqa: E402
from .baselines import is_baseline_name  # noqa: E402
from .channels import split_channel_output  # noqa: E402
from .constellations import int_to_bits  # noqa: E402
from .snr import ebno_db_to_no  # noqa: E402

__all__ = [
    "STYLES",
    "style",
    "latex_available",
    "new_figure",
    "plot_constellation",
    "plot_system_constellation",
    "plot_error_rates",
    "plot_learning_curves",
    "save_figure",
    "is_baseline_name",
    "MARKERS",
    "DASHES",
    "paper_name",
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
) -> plt.Axes:
    """Points in the I/Q plane with equal aspect, optionally each with its bit label.

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
    """
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    pts = points.detach().cpu().to(torch.complex64)
    ax.scatter(pts.real.numpy(), pts.imag.numpy(), s=plt.rcParams["lines.markersize"] ** 2 * 1.6, marker=marker, color="black", zorder=4, label=label, linewidths=0)
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


def _write_bits(ax: plt.Axes, x: np.ndarray, y: np.ndarray, bit_labels: torch.Tensor) -> None:
    """Each point's bits just above it, on a white halo so that they read over regions and clouds."""
    halo = [matplotlib.patheffects.withStroke(linewidth=1.2, foreground="white")]
    for px, py, bits in zip(x.tolist(), y.tolist(), bit_labels.detach().cpu().to(torch.int64).tolist()):
        ax.annotate("".join(map(str, bits)), (px, py), xytext=(0, 2.5), textcoords="offset points", ha="center", va="bottom", fontsize="x-small", zorder=5, path_effects=halo)


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
            return system.receiver(y.to(device), None if h is None else h.to(device)).float().cpu()
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
    axes: Sequence[plt.Axes] | None = None,
    resolution: int = 300,
    cloud_size: int = 3000,
    seed: int = 0,
    limit: float | None = None,
    projection: str = "pca",
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
    axes : sequence of Axes, optional
        Where to draw; otherwise a new figure of the current style.
    limit : float, optional
        Half-width of the view, to draw several systems on the same scale.
    projection : {"pca", "tsne"}
        How a codebook with more than two real coordinates (``n > 1``
        complex, or ``n > 2`` real uses) is drawn: see :func:`project_codebook`.

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
    codewords.
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
        messages = torch.randint(0, num_messages, (cloud_size,), generator=gen)
        x = symbols[messages]
        channel = system.channel
        out = channel(x if not getattr(channel, "real", False) else x.real, ebno_db_to_no(cloud_ebno_db, system.k, system.n), generator=gen)
        y, h = split_channel_output(channel, out)
        if not y.is_complex():
            y = torch.complex(y, torch.zeros_like(y))
        cloud = y * torch.conj(h) / h.abs().pow(2).clamp_min(1e-12) if h is not None else y

    dims = n if real else 2 * n
    if dims > 2 or (real and n == 2):
        return [_plot_codebook(symbols, labels if bits else None, real, axes[0], projection=projection, cloud=cloud, seed=seed)]
    if real:  # n = 1 real use: a line
        return [_plot_real_line(symbols[:, 0].real, labels if bits else None, axes[0], cloud=None if cloud is None else cloud[:, 0].real)]

    span = limit or 1.3 * float(symbols.abs().max())
    if cloud is not None and limit is None:
        span = max(span, float(torch.quantile(cloud.abs().flatten(), 0.995)) * 1.05)
    if regions:
        coords = torch.linspace(-span, span, resolution)
        grid = torch.complex(coords[None, :].expand(resolution, -1), coords[:, None].expand(-1, resolution)).reshape(-1)
        scores = _decision_scores(system, grid, ebno_db_to_no(7.0, system.k, system.n))
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
        plot_constellation(symbols[:, 0], shown if bits else None, ax=ax, limit=span, axis_lines=not regions, title=f"bit {panel + 1}" if bitwise else None)
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


def paper_name(name: str) -> str:
    """How a paper names a system: ``qam16`` -> ``16-QAM``, ``psk8`` -> ``8-PSK``, a run ``k4-n7-...`` -> ``Autoencoder (7,4)``.

    >>> [paper_name(s) for s in ("qam16", "psk8", "hamming74-soft", "uncoded-bpsk-4", "k4-n7-real-awgn-7dB", "mine")]
    ['16-QAM', '8-PSK', 'Hamming (7,4), soft ML', 'Uncoded BPSK (4 bits)', 'Autoencoder (7,4)', 'mine']
    """
    if name in _PAPER_NAMES:
        return _PAPER_NAMES[name]
    for prefix, kind in (("qam", "QAM"), ("psk", "PSK"), ("pam", "PAM")):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            return f"{name[len(prefix) :]}-{kind}"
    if name.startswith("uncoded-bpsk-") and name[13:].isdigit():
        return f"Uncoded BPSK ({name[13:]} bits)"
    parts = name.split("-")
    if len(parts) >= 2 and parts[0][:1] == "k" and parts[0][1:].isdigit() and parts[1][:1] == "n" and parts[1][1:].isdigit():
        return f"Autoencoder ({parts[1][1:]},{parts[0][1:]})"
    return name


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
) -> plt.Axes:
    """Error-rate curves from ``ber-curve`` rows (see :func:`commae.simulation.read_results`).

    Parameters
    ----------
    rows : sequence of dict
        One per (system, point), with the ``RESULT_COLUMNS`` keys.
    metric : {"ber", "ser", "bler"}
    esno : bool
        Against Es/N0 instead of Eb/N0.
    theory : bool
        Draw the closed forms (thin lines without markers) where the rows have them.
    labels : mapping, optional
        Legend names by system name; the others are named as a paper would
        (:func:`paper_name`: ``qam16`` -> "16-QAM").
    xlim, ylim : (float, float), optional
        Axis limits (Eb/N0 or Es/N0 in dB; error rate).

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
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    labels = dict(labels or {})
    x_key = "esno_db" if esno else "ebno_db"
    systems: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        systems.setdefault((row["system"], row["channel"]), []).append(row)
    several_channels = len({ch for _, ch in systems}) > 1
    handles: list[Any] = []
    any_zero = False
    halo = [matplotlib.patheffects.withStroke(linewidth=2.2, foreground="white")]
    for index, ((name, channel), points) in enumerate(systems.items()):
        points = sorted(points, key=lambda r: r[x_key])
        shown = labels.get(name, paper_name(name))
        label = f"{shown} ({channel})" if several_channels else shown
        x = np.array([r[x_key] for r in points])
        rate = np.array([r[metric] for r in points])
        low = np.array([r[f"{metric}_low"] for r in points])
        high = np.array([r[f"{metric}_high"] for r in points])
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
        handles.append(line)
        color = line.lines[0].get_color()
        if (~seen).any():
            any_zero = True
            ax.plot(x[~seen], high[~seen], marker="v", linestyle="none", color=color, markersize=plt.rcParams["lines.markersize"] * 0.9, label="_no errors")
        th = np.array([r.get(f"{metric}_theory", float("nan")) for r in points], dtype=float)
        if theory and np.isfinite(th).any():
            ok = np.isfinite(th) & (th > 0)
            (curve,) = ax.plot(
                x[ok], th[ok], linestyle=_THEORY_DASHES[index % len(_THEORY_DASHES)], linewidth=0.8, color=color, marker="none", label=f"{shown} (theory)" + label_suffix, zorder=5, path_effects=halo
            )
            handles.append(curve)
    if any_zero:
        handles.append(Line2D([], [], marker="v", linestyle="none", color="0.3", markersize=plt.rcParams["lines.markersize"] * 0.9, label="no errors: upper bound"))
    ax.set_yscale("log")
    ax.set_xlabel(r"$E_s/N_0$ (dB)" if esno else r"$E_b/N_0$ (dB)")
    ax.set_ylabel({"ber": "Bit error rate", "ser": "Symbol error rate", "bler": "Block error rate"}[metric])
    ax.grid(True, which="major", linestyle=":", linewidth=0.5)
    ax.grid(True, which="minor", linestyle=":", linewidth=0.3, alpha=0.5)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(handles=handles, loc="lower left")
    return ax


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
