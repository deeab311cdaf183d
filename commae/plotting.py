"""Figures for papers. The only module that imports matplotlib.

Every function draws on an optional ``ax`` (or ``axes``), returns what it
drew on, and never calls ``plt.show()``. Styles are applied with :func:`style`
as a context manager, never through global ``rcParams``:

============== ========================================================================
``ieee``        one IEEE column: 3.5 in wide, 8-pt serif text, 600-dpi PNG
``ieee-wide``   two columns: 7.16 in wide, otherwise as ``ieee``
``presentation`` 6.4 in, 14-pt sans-serif, thick lines
============== ========================================================================

Every style embeds TrueType (Type 42) fonts in PDF and PostScript, lays the
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

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ._files import atomic_path  # noqa: E402
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
    "font.family": "serif",
    "font.serif": ["DejaVu Serif"],
    "mathtext.fontset": "dejavuserif",
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
    """
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    pts = points.detach().cpu().to(torch.complex64)
    ax.scatter(pts.real.numpy(), pts.imag.numpy(), s=plt.rcParams["lines.markersize"] ** 2 * 1.6, marker=marker, color="black", zorder=4, label=label, linewidths=0)
    if bit_labels is not None:
        for p, bits in zip(pts.tolist(), bit_labels.detach().cpu().to(torch.int64).tolist()):
            ax.annotate("".join(map(str, bits)), (p.real, p.imag), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom", fontsize="x-small", zorder=5)
    span = limit or 1.3 * max(float(pts.abs().max()) if len(pts) else 1.0, 1e-6)
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.set_xlabel("In-phase")
    ax.set_ylabel("Quadrature")
    ax.axhline(0, color="0.6", linewidth=0.4, zorder=1)
    ax.axvline(0, color="0.6", linewidth=0.4, zorder=1)
    if title:
        ax.set_title(title)
    return ax


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


def _decision_field(system: Any, grid: torch.Tensor, no: float) -> torch.Tensor:
    """Decisions of the receiver on complex ``grid`` ``[G]``: message labels ``[G]`` or bits ``[G, k]``."""
    y = grid[:, None]
    h = torch.ones_like(y) if system.channel.csi else None
    with torch.no_grad():
        if hasattr(system, "receiver"):
            device = next(system.parameters()).device
            out = system.receiver(y.to(device), None if h is None else h.to(device)).cpu()
            return (out > 0).to(torch.int64) if system.output == "bit" else out.argmax(-1)
        indices = system.decide(y, h)[:, 0]
        return system.constellation.labels.cpu()[indices]


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
) -> list[plt.Axes]:
    """The constellation of a learned :class:`~commae.models.Autoencoder` or a baseline ``Modem``.

    Parameters
    ----------
    system : Autoencoder or Modem
    bits : bool
        Write each message's bits (zero-padded) above its point.
    regions : bool
        Shade the receiver's decision regions, evaluated on a
        ``resolution``² grid, one colour per message with black boundaries
        (readable in greyscale). A bit-wise receiver gets one panel per bit,
        shading where its LLR says 1. Over fading with CSI the regions are
        those for ``h = 1``. Only for ``n = 1``.
    cloud_ebno_db : float, optional
        Add ``cloud_size`` received samples at this Eb/N0 (dB) at low alpha;
        with CSI they are equalised, :math:`y h^* / |h|^2`.
    axes : sequence of Axes, optional
        Where to draw; otherwise a new figure of the current style.

    Returns
    -------
    axes : list of Axes
        One panel, or one per bit (bit-wise regions), or one per channel use
        when ``n > 1``.

    Notes
    -----
    For ``n > 1`` complex uses, panel ``i`` shows every message's symbol on
    use ``i`` — a projection of the ``n``-dimensional codebook, in which two
    messages may coincide although their codewords differ. Decision regions
    are not drawn then: the receiver decides on all uses jointly.
    """
    symbols, labels = _system_points(system)
    num_messages, n = symbols.shape
    if regions and n > 1:
        raise ValueError("regions need n=1: with several channel uses the receiver decides jointly (draw without regions)")
    bitwise = regions and getattr(system, "output", "symbol") == "bit"
    panels = system.k if bitwise else n
    if axes is None:
        cols = min(panels, 4)
        rows = math.ceil(panels / cols)
        width = plt.rcParams["figure.figsize"][0]
        fig, grid_axes = new_figure(rows, cols, height=width / cols * rows * 0.95 + 0.1)
        axes = list(grid_axes.flatten())
        for extra in axes[panels:]:
            extra.set_visible(False)
        axes = axes[:panels]
    axes = list(axes)
    if len(axes) < panels:
        raise ValueError(f"axes must hold {panels} panels for this system, got {len(axes)}")
    span = 1.3 * float(symbols.abs().max())
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
        span = max(span, float(torch.quantile(cloud.abs().flatten(), 0.995)) * 1.05)
    for panel, ax in enumerate(axes):
        use = 0 if bitwise else panel
        if regions:
            coords = torch.linspace(-span, span, resolution)
            grid = torch.complex(coords[None, :].expand(resolution, -1), coords[:, None].expand(-1, resolution)).reshape(-1)
            field = _decision_field(system, grid, ebno_db_to_no(7.0, system.k, system.n))
            field = (field[:, panel] if bitwise else field).reshape(resolution, resolution).numpy()
            cmap = plt.get_cmap("Greys" if bitwise else ("tab20" if num_messages <= 20 else "hsv"), 2 if bitwise else num_messages)
            ax.imshow(
                field,
                origin="lower",
                extent=(-span, span, -span, span),
                cmap=cmap,
                alpha=0.35 if not bitwise else 0.3,
                interpolation="nearest",
                vmin=-0.5,
                vmax=(1.5 if bitwise else num_messages - 0.5),
                zorder=0,
            )
            # each region's own outline: every boundary is drawn at the same width, whichever labels meet there
            for value in np.unique(field):
                ax.contour(coords.numpy(), coords.numpy(), (field == value).astype(float), levels=[0.5], colors="black", linewidths=0.4, zorder=1)
        if cloud is not None:
            c = cloud[:, use]
            ax.scatter(c.real.numpy(), c.imag.numpy(), s=1.0, color="0.35", alpha=0.15, linewidths=0, zorder=2, rasterized=True)
        shown = labels[:, panel : panel + 1] if bitwise else labels
        plot_constellation(symbols[:, use], shown if bits else None, ax=ax, limit=span, title=f"bit {panel + 1}" if bitwise else (f"channel use {use + 1}" if n > 1 else None))
    return axes


# --- error-rate curves ----------------------------------------------------------------------


def plot_error_rates(
    rows: Sequence[Mapping[str, Any]],
    *,
    metric: str = "ber",
    esno: bool = False,
    theory: bool = True,
    ax: plt.Axes | None = None,
    label_suffix: str = "",
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

    Notes
    -----
    Simulated points carry Clopper–Pearson error bars. Learned systems are
    solid lines, baselines dashed, each system with its own marker, so the
    figure reads in greyscale. A point without errors has no place on a log
    axis: it is drawn as its upper bound with a downward caret.
    """
    if metric not in ("ber", "ser", "bler"):
        raise ValueError(f"metric must be 'ber', 'ser' or 'bler', got {metric!r}")
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    x_key = "esno_db" if esno else "ebno_db"
    systems: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        systems.setdefault((row["system"], row["channel"]), []).append(row)
    several_channels = len({ch for _, ch in systems}) > 1
    handles: list[Any] = []
    for index, ((name, channel), points) in enumerate(systems.items()):
        points = sorted(points, key=lambda r: r[x_key])
        label = f"{name} ({channel})" if several_channels else name
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
            ax.plot(x[~seen], high[~seen], marker="v", linestyle="none", color=color, markersize=plt.rcParams["lines.markersize"] * 0.9)
        th = np.array([r.get(f"{metric}_theory", float("nan")) for r in points], dtype=float)
        if theory and np.isfinite(th).any():
            ok = np.isfinite(th) & (th > 0)
            (curve,) = ax.plot(x[ok], th[ok], linestyle=_THEORY_DASHES[index % len(_THEORY_DASHES)], linewidth=0.7, color=color, marker="none", label=f"{name} theory", zorder=2)
            handles.append(curve)
    ax.set_yscale("log")
    ax.set_xlabel(r"$E_s/N_0$ (dB)" if esno else r"$E_b/N_0$ (dB)")
    ax.set_ylabel({"ber": "Bit error rate", "ser": "Symbol error rate", "bler": "Block error rate"}[metric])
    ax.grid(True, which="major", linestyle=":", linewidth=0.5)
    ax.grid(True, which="minor", linestyle=":", linewidth=0.3, alpha=0.5)
    ax.legend(handles=handles, loc="lower left")
    return ax


# --- learning curves -------------------------------------------------------------------------


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
        ``"loss"``: validation loss (solid) and, with ``train``, training loss
        (thin, dashed) in nats, on a linear axis; ``"ser"``: validation SER on a log axis;
        ``"mi"``: the validation MI bound in bits.

    Notes
    -----
    Each run has its own marker (every few epochs) and colour, so the figure
    reads in greyscale.
    """
    if metric not in ("loss", "ser", "mi"):
        raise ValueError(f"metric must be 'loss', 'ser' or 'mi', got {metric!r}")
    if ax is None:
        _, axes = new_figure()
        ax = axes[0, 0]
    key = {"loss": "val_loss", "ser": "val_ser", "mi": "mi_bits"}[metric]
    for index, (label, rows) in enumerate(histories.items()):
        if not rows:
            raise ValueError(f"history of {label!r} is empty")
        missing = [c for c in ("epoch", key) if c not in rows[0]]
        if missing:
            raise ValueError(f"history of {label!r} has no column {', '.join(missing)}")
        epochs = [r["epoch"] for r in rows]
        every = max(1, len(rows) // 8)
        marker = MARKERS[index % len(MARKERS)]
        (line,) = ax.plot(epochs, [r[key] for r in rows], marker=marker, markevery=(index % every, every), label=label)
        if metric == "loss" and train and "train_loss" in rows[0]:
            ax.plot(epochs, [r["train_loss"] for r in rows], linestyle=(0, (3, 1.5)), linewidth=0.6, color=line.get_color())
    if metric == "ser":
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("Epoch")
    ax.set_ylabel({"loss": "Loss (nats)", "ser": "Validation SER", "mi": "MI bound (bit)"}[metric])
    ax.legend(ncols=2 if len(histories) > 4 else 1)
    return ax


# --- saving ----------------------------------------------------------------------------------


def save_figure(fig: plt.Figure, base: str | os.PathLike, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """Save ``fig`` as ``base.<fmt>`` for each format, each atomically (temp file, then rename)."""
    base = Path(base)
    written = []
    for fmt in formats:
        if fmt not in ("pdf", "png", "svg", "eps"):
            raise ValueError(f"format must be pdf, png, svg or eps, got {fmt!r}")
        path = base.with_name(f"{base.name}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt)
        written.append(path)
    return written
