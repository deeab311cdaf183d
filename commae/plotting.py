"""Figures for papers. The only module that imports matplotlib.

Functions draw on an optional ``ax`` and return it; nothing calls
``plt.show()``. Styles are applied with :func:`style` as a context manager,
never through global ``rcParams``. Every style embeds TrueType (Type 42) fonts
in PDF and PostScript.

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
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed; the library only saves figures

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

__all__ = ["STYLES", "style", "plot_constellation", "save_figure"]

_COMMON = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "axes.grid": True,
    "grid.linestyle": ":",
    "grid.linewidth": 0.5,
    "legend.frameon": True,
    "legend.framealpha": 0.9,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
}

STYLES: dict[str, dict] = {
    "ieee": {
        **_COMMON,
        "figure.figsize": (3.5, 2.6),
        "font.family": "serif",
        "font.serif": ["DejaVu Serif", "Times New Roman", "Times"],
        "mathtext.fontset": "dejavuserif",
        "font.size": 8,
        "axes.labelsize": 8,
        "legend.fontsize": 7,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "lines.linewidth": 1.0,
        "lines.markersize": 4,
        "savefig.dpi": 600,
    },
    "ieee-wide": {
        **_COMMON,
        "figure.figsize": (7.16, 2.8),
        "font.family": "serif",
        "font.serif": ["DejaVu Serif", "Times New Roman", "Times"],
        "mathtext.fontset": "dejavuserif",
        "font.size": 8,
        "axes.labelsize": 8,
        "legend.fontsize": 7,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "lines.linewidth": 1.0,
        "lines.markersize": 4,
        "savefig.dpi": 600,
    },
    "presentation": {
        **_COMMON,
        "figure.figsize": (6.4, 4.8),
        "font.family": "sans-serif",
        "font.size": 14,
        "axes.labelsize": 14,
        "legend.fontsize": 12,
        "lines.linewidth": 2.0,
        "lines.markersize": 7,
        "savefig.dpi": 200,
    },
}


@contextlib.contextmanager
def style(name: str = "ieee") -> Iterator[None]:
    """Apply a named style (``ieee``, ``ieee-wide``, ``presentation``) inside a ``with`` block."""
    if name not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {name!r}")
    with plt.style.context(STYLES[name]):
        yield


def plot_constellation(
    points: torch.Tensor,
    bit_labels: torch.Tensor | None = None,
    *,
    ax: plt.Axes | None = None,
    label: str | None = None,
    marker: str = "o",
    title: str | None = None,
) -> plt.Axes:
    """Constellation points in the I/Q plane, equal aspect, optionally with their bit labels.

    Parameters
    ----------
    points : Tensor, [M], complex
    bit_labels : Tensor, [M, k], optional
        Written beside each point as a zero-padded bit string.
    ax : matplotlib Axes, optional
    """
    if ax is None:
        _, ax = plt.subplots()
    pts = points.detach().cpu().to(torch.complex64)
    ax.scatter(pts.real.numpy(), pts.imag.numpy(), s=14, marker=marker, color="black", zorder=3, label=label)
    if bit_labels is not None:
        span = float(pts.abs().max()) if len(pts) else 1.0
        for p, bits in zip(pts.tolist(), bit_labels.detach().cpu().to(torch.int64).tolist()):
            ax.annotate("".join(map(str, bits)), (p.real, p.imag), xytext=(0, 4), textcoords="offset points", ha="center", va="bottom", fontsize="x-small")
        ax.set_xlim(-1.25 * span, 1.25 * span)
        ax.set_ylim(-1.25 * span, 1.25 * span)
    ax.set_aspect("equal")
    ax.set_xlabel("In-phase")
    ax.set_ylabel("Quadrature")
    ax.axhline(0, color="grey", linewidth=0.4, zorder=1)
    ax.axvline(0, color="grey", linewidth=0.4, zorder=1)
    if title:
        ax.set_title(title)
    return ax


def save_figure(fig: plt.Figure, base: str | os.PathLike, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """Save ``fig`` as ``base.<fmt>`` for each format, each atomically (temp file, then rename)."""
    base = Path(base)
    written = []
    for fmt in formats:
        path = base.with_name(f"{base.name}.{fmt}")
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            fig.savefig(tmp, format=fmt)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(path)
    return written
