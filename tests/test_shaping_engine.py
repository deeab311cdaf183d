"""The engine draws a shaped system's messages from its distribution (issue 26, slice 2).

The reference error rate is closed-form: Maxwell–Boltzmann square QAM has a
prior P(x) = P(x_I) P(x_Q), so over complex AWGN the MAP decision is the
per-axis MAP decision, each axis a PAM whose decision regions are intervals
between the thresholds t_i = (a_i + a_{i+1})/2 + sigma^2 ln(p_i/p_{i+1}) / (a_{i+1} - a_i).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from commae.baselines import Modem
from commae.constellations import maxwell_boltzmann, qam
from commae.simulation import simulate
from commae.simulation.draws import Messages, message_probabilities
from commae.snr import esno_db_to_ebno_db


def _map_ser(shaped, esno_db: float) -> float:
    """SER of MAP detection of MB square QAM over complex AWGN, from the per-axis thresholds."""
    points = shaped.points.to(torch.complex128).numpy()
    p = shaped.probabilities.numpy()
    levels = np.unique(np.round(points.real, 6))
    axis_p = np.array([p[np.isclose(points.real, a, atol=1e-5)].sum() for a in levels])
    sigma = math.sqrt(10 ** (-esno_db / 10) / 2)
    t = (levels[:-1] + levels[1:]) / 2 + sigma**2 * np.log(axis_p[:-1] / axis_p[1:]) / np.diff(levels)
    assert np.all(np.diff(t) > 0)  # the MAP regions are intervals in order
    edges = np.r_[-np.inf, t, np.inf]
    correct = norm.cdf((edges[1:] - levels) / sigma) - norm.cdf((edges[:-1] - levels) / sigma)
    axis_ser = 1 - float(axis_p @ correct)
    return 1 - (1 - axis_ser) ** 2


@pytest.mark.parametrize("nu", [0.8, 2.0])
def test_shaped_modem_error_rate_is_the_map_rate_under_its_prior(nu: float) -> None:
    shaped = maxwell_boltzmann(qam(16), nu)
    esno = 10.0
    ebno = float(esno_db_to_ebno_db(esno, 4))
    row = simulate([Modem(shaped, name="qam16-mb")], [ebno], target_errors=3000, target_metric="symbol", seed=11, progress=False)[0]
    want = _map_ser(shaped, esno)
    n = row["symbols"]
    z = (row["ser"] - want) / math.sqrt(want * (1 - want) / n)
    assert abs(z) < 4, (row["ser"], want, n)
    if nu == 2.0:  # had the engine drawn equiprobable messages, the same MAP receiver's rate would be another (the test can tell)
        other = _map_ser_uniform_messages(shaped, esno, np.full(16, 1 / 16))
        assert abs(row["ser"] - other) / math.sqrt(other * (1 - other) / n) > 8


def _map_ser_uniform_messages(shaped, esno_db: float, sent: np.ndarray) -> float:
    """SER of the same MAP detector when the messages are sent with ``sent`` (per point) instead of its prior."""
    points = shaped.points.to(torch.complex128).numpy()
    p = shaped.probabilities.numpy()
    levels = np.unique(np.round(points.real, 6))
    axis_p = np.array([p[np.isclose(points.real, a, atol=1e-5)].sum() for a in levels])
    axis_sent = np.array([sent[np.isclose(points.real, a, atol=1e-5)].sum() for a in levels])
    sigma = math.sqrt(10 ** (-esno_db / 10) / 2)
    t = (levels[:-1] + levels[1:]) / 2 + sigma**2 * np.log(axis_p[:-1] / axis_p[1:]) / np.diff(levels)
    edges = np.r_[-np.inf, t, np.inf]
    correct = norm.cdf((edges[1:] - levels) / sigma) - norm.cdf((edges[:-1] - levels) / sigma)
    return 1 - float(axis_sent @ correct) ** 2


def test_messages_follow_the_distribution_and_the_seed() -> None:
    shaped = Modem(maxwell_boltzmann(qam(16), 1.0))
    p = message_probabilities(shaped)
    draw = lambda seed: Messages.draw(300_000, 4, torch.Generator().manual_seed(seed), probabilities=p).labels  # noqa: E731
    first = draw(1)
    assert torch.equal(first, draw(1)) and not torch.equal(first, draw(2))
    counts = torch.bincount(first, minlength=16).double()
    expected = 300_000 * p
    assert float(((counts - expected) ** 2 / expected).sum()) < 37.7  # chi-squared, 15 dof, 0.999 quantile
    with pytest.raises(ValueError, match="one per message label"):
        Messages.draw(10, 4, torch.Generator(), probabilities=torch.full((8,), 1 / 8))


def test_a_shaped_system_leaves_the_uniform_streams_alone() -> None:
    ebno = [4.0]
    alone = simulate([Modem(qam(16), name="qam16")], ebno, target_errors=200, seed=5, progress=False)
    shaped = Modem(maxwell_boltzmann(qam(16), 1.0), name="qam16-mb")
    together = simulate([Modem(qam(16), name="qam16"), shaped], ebno, target_errors=200, seed=5, progress=False)
    counts = lambda rows, name: [(r["bits"], r["bit_errors"], r["symbol_errors"], r["block_errors"]) for r in rows if r["system"] == name]  # noqa: E731
    assert counts(together, "qam16") == counts(alone, "qam16")
    again = simulate([Modem(qam(16), name="qam16"), shaped], ebno, target_errors=200, seed=5, progress=False)
    assert counts(again, "qam16-mb") == counts(together, "qam16-mb")  # same seed, same rows
    other = simulate([Modem(qam(16), name="qam16"), shaped], ebno, target_errors=200, seed=6, progress=False)
    assert counts(other, "qam16-mb") != counts(together, "qam16-mb")


def test_importance_sampling_refuses_a_shaped_system() -> None:
    from commae.simulation import ImportanceSampling

    with pytest.raises(ValueError, match="equiprobable messages"):
        simulate([Modem(maxwell_boltzmann(qam(16), 1.0), name="mb")], [8.0], importance=ImportanceSampling(), progress=False)


def test_evaluate_system_refuses_a_shaped_system() -> None:
    from commae.training import MessageBatches, evaluate_system

    with pytest.raises(ValueError, match="sends its own distribution"):
        evaluate_system(Modem(maxwell_boltzmann(qam(16), 1.0), name="mb"), MessageBatches(4, 1, 64, 1, 8.0, 0, fixed=True))
