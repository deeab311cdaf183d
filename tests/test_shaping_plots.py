"""Figures of shaping (issue 26): marker area proportional to probability; MI and gap to capacity against Es/N0."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from commae.constellations import maxwell_boltzmann, qam
from commae.information import mi
from commae.plotting import DASHES, MARKERS, plot_constellation, plot_mi_curves, style
from commae.theory import capacity_awgn


def test_marker_area_is_proportional_to_probability() -> None:
    shaped = maxwell_boltzmann(qam(64), 1.3)
    with style("ieee"):
        ax = plot_constellation(shaped.points, probabilities=shaped.probabilities)
        drawn = [c for c in ax.collections if len(c.get_offsets())][-1]  # the points (the scale's handle is empty)
        sizes = np.asarray(drawn.get_sizes())
        p = shaped.probabilities.numpy()
        np.testing.assert_allclose(sizes / sizes.sum(), p / p.sum(), rtol=1e-9)
        mean_area = plt.rcParams["lines.markersize"] ** 2 * 1.6 * 16 / 64  # p = 1/M has the 16-point marker's area x 16/M
        assert sizes.mean() == pytest.approx(mean_area)
        assert [h.get_label() for h in ax.get_legend_handles_labels()[0]] == ["area of $p = 1/64$"]
        assert {tuple(fc) for fc in drawn.get_facecolors()} == {(0.0, 0.0, 0.0, 1.0)}  # black: greyscale-safe
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="probabilities"):
        plot_constellation(qam(16).points, probabilities=np.ones(8) / 8)


def test_mi_curves_and_gaps_each_have_a_style_and_a_legend_entry() -> None:
    esno = np.arange(0.0, 20.5, 2.0)
    series = {"16-QAM": (esno, mi(qam(16), esno)), "learned": ([10.0], [3.25]), "other": ([5.0, 10.0], [1.9, 3.2])}
    with style("ieee"):
        ax = plot_mi_curves(series, capacity=esno, learned=["learned", "other"])
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == ["capacity", "16-QAM", "learned", "other"]
        cap, qam_line, learned, other = ax.get_lines()
        np.testing.assert_allclose(cap.get_ydata(), capacity_awgn(esno))
        assert qam_line.get_marker() in ("None", "", None) and learned.get_marker() == MARKERS[0] and other.get_marker() == MARKERS[1]
        assert len({str(line.get_linestyle()) + str(line.get_color()) for line in ax.get_lines()}) == 4
        assert ax.get_ylabel() == "MI (bit per channel use)" and "E_s/N_0" in ax.get_xlabel()
        plt.close(ax.figure)
        ax = plot_mi_curves(series, learned=["learned"], gap=True)
        gap_line = [line for line in ax.get_lines() if line.get_label() == "learned"][0]
        assert gap_line.get_ydata()[0] == pytest.approx(float(capacity_awgn(10.0)) - 3.25)
        assert ax.get_ylabel().startswith("gap to capacity")
        assert DASHES[0] == "-"
        plt.close(ax.figure)


def test_a_shaped_system_is_drawn_with_its_probabilities() -> None:
    import torch

    from commae.baselines import Modem
    from commae.models import Autoencoder
    from commae.plotting import plot_system_constellation

    model = Autoencoder(4, 1, shaping="joint", hidden=8)
    with torch.no_grad():
        model.transmitter.logits.copy_(torch.linspace(-1.5, 1.5, 16))
    shaped_modem = Modem(maxwell_boltzmann(qam(16), 1.0))
    with style("ieee"):
        for system, p in ((model, model.message_probabilities()), (shaped_modem, shaped_modem.constellation.probabilities)):
            (ax,) = plot_system_constellation(system, cloud_ebno_db=8.0, cloud_size=500)
            sizes = np.asarray([c for c in ax.collections if len(c.get_offsets()) == 16][-1].get_sizes())
            np.testing.assert_allclose(sizes / sizes.sum(), p.numpy() / float(p.sum()), rtol=1e-6)
            plt.close(ax.figure)
        (ax,) = plot_system_constellation(Modem(qam(16)))  # equiprobable: one marker size, as before
        assert len(set(np.asarray([c for c in ax.collections if len(c.get_offsets()) == 16][-1].get_sizes()).tolist())) == 1
        plt.close(ax.figure)
