"""Every channel kind through `train --dry-run`, a tiny run and `ber-curve`: the baseline, the MI and the default constraint.

Issue 21: behaviour is asked of the channel object, never decided by its class.
Before, a fading channel other than Rayleigh without CSI got a coherent
baseline that takes h = 1 (and a negative "MI" for it) and the average-energy
constraint that collapses there. Each kind below states what commae must
choose for it; a channel of one's own (a ``Channel`` subclass) goes through the
Python API the same way.
"""

from __future__ import annotations

import csv
import json
import math
import re

import pytest
import torch
from click.testing import CliRunner

from commae import AWGN, Autoencoder, Channel, fit, make_generator, matching_baseline, simulate
from commae.cli import cli
from commae.losses import SymbolCrossEntropy
from commae.training import MessageBatches, evaluate_system

# A dry run's MI is the receiver's cross-entropy bound after one batch: near 0, and possibly a little below.
# It is a bound, not an estimate of the MI, and runs.FAILED_MI_BITS is where a run counts as failed.
_BOUND_FLOOR = -0.5

PILOT = "pilot-qam16"
# kind: (train options, k, n, the matching baselines (first one shown with MI), whether their MI is printed, default normalisation)
KINDS = {
    "awgn": ([], 4, 1, ["qam16"], True, "batch"),
    "awgn-real": (["--real"], 4, 7, ["hamming74-soft", "hamming74-hard", "uncoded-bpsk-4"], True, "batch"),
    "rayleigh-fast-csi": (["--channel", "rayleigh"], 2, 1, ["qam4"], True, "batch"),
    "rayleigh-block-csi": (["--channel", "rayleigh", "--fading", "block"], 4, 2, ["qam4"], True, "batch"),
    "rayleigh-fast-nocsi": (["--channel", "rayleigh", "--no-csi"], 4, 2, [], None, "message"),
    "rayleigh-block-nocsi": (["--channel", "rayleigh", "--fading", "block", "--no-csi"], 4, 2, [PILOT], False, "message"),
    "rician-fast-csi": (["--channel", "rician", "--k-factor", "2"], 4, 1, ["qam16"], True, "batch"),
    "rician-block-csi": (["--channel", "rician", "--k-factor", "2", "--fading", "block"], 4, 2, ["qam4"], True, "batch"),
    "rician-fast-nocsi": (["--channel", "rician", "--k-factor", "2", "--no-csi"], 4, 2, [], None, "message"),
    "rician-block-nocsi": (["--channel", "rician", "--k-factor", "2", "--fading", "block", "--no-csi"], 4, 2, [PILOT], False, "message"),
    "phase-noise": (["--phase-noise", "0.1"], 4, 1, ["qam16"], True, "batch"),
    "adc": (["--adc-bits", "3", "--training", "model-free"], 4, 1, ["qam16"], True, "batch"),
    "pa": (["--pa", "rapp", "--pa-backoff", "3"], 4, 1, ["qam16"], True, "batch"),
    # a code's BPSK metric is not the law of an impaired channel: no MI from it
    "phase-noise-hamming": (["--phase-noise", "0.1"], 4, 7, ["hamming74-soft", "hamming74-hard", "uncoded-bpsk-4"], False, "batch"),
    "cascade-csi": (["--channel", "rician", "--k-factor", "3", "--pa", "rapp", "--phase-noise", "0.05", "--adc-bits", "4", "--training", "model-free"], 2, 1, ["qam4"], True, "batch"),
    "cascade-nocsi": (["--channel", "rayleigh", "--fading", "block", "--no-csi", "--phase-noise", "0.05"], 4, 2, [PILOT], False, "message"),
}
_SMALL = ["--hidden", "8", "--batch-size", "64", "--val-size", "512"]
# name, message errors, BLER, its [interval], bit errors, BER, the MI bound ('-' where a receiver has none)
_ROW = re.compile(r"^  (\S+)( \(baseline\))?\s+(\d+)\s+(\S+)\s+\[(\S+), (\S+)\]\s+(\d+)\s+(\S+)\s+(\S+)\s*$")


def _table(output: str) -> dict[str, float | None]:
    """``{system: MI or None}`` of the validation table a train command prints."""
    rows = {}
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("validation at"))
    for line in lines[start + 2 :]:
        match = _ROW.match(line)
        if match:
            rows[match[1]] = None if match[9] == "-" else float(match[9])
    return rows


def _check_mi(rows: dict[str, float | None], k: int, baselines: list[str], with_mi: bool | None) -> None:
    assert list(rows) == ["autoencoder", *baselines]
    assert rows["autoencoder"] is not None and _BOUND_FLOOR < rows["autoencoder"] <= k
    for name in baselines:
        mi = rows[name]
        assert (mi is not None) == bool(with_mi), (name, mi)
        assert mi is None or 0.0 <= mi <= k, (name, mi)  # an MI, or blank


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_channel_kind_gets_its_baseline_mi_and_constraint(kind, runner, tmp_path):
    options, k, n, baselines, with_mi, normalization = KINDS[kind]
    size = ["--k", str(k), "--n", str(n), *options, *_SMALL]

    dry = runner.invoke(cli, ["train", "--dry-run", *size])
    assert dry.exit_code == 0, dry.output
    _check_mi(_table(dry.output), k, baselines, with_mi)
    if not baselines:
        assert "no coherent baseline exists without CSI" in dry.output

    run = tmp_path / "run"
    result = runner.invoke(cli, ["train", "--epochs", "1", "--batches-per-epoch", "1", "--out", str(run), *size])
    assert result.exit_code == 0, result.output
    assert list(_table(result.output)) == ["autoencoder", *baselines]
    system = json.loads((run / "config.json").read_text())["system"]
    assert system["normalization"] == normalization

    out = tmp_path / "curve.csv"
    curve = runner.invoke(cli, ["ber-curve", str(run), "--ebno", "6", "--max-bits", "4000", "--batch-size", "1000", "--out", str(out), "-q"])
    assert curve.exit_code == 0, curve.output
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert [r["system"] for r in rows] == ["run", *baselines]
    for r in rows:
        assert 0.0 <= float(r["ber"]) <= 1.0
        if r["system"] in (PILOT, "run") or normalization == "message":  # no closed form without CSI
            assert math.isnan(float(r["ber_theory"] or "nan"))


def test_an_explicit_normalization_wins_over_the_channels_default(runner, tmp_path):
    run = tmp_path / "run"
    opts = ["--channel", "rician", "--k-factor", "2", "--no-csi", "--normalization", "batch", "--epochs", "1", "--batches-per-epoch", "1", *_SMALL]
    assert runner.invoke(cli, ["train", "--out", str(run), *opts]).exit_code == 0
    assert json.loads((run / "config.json").read_text())["system"]["normalization"] == "batch"


# --- a channel of one's own, through the Python API -------------------------------------------


class Attenuated(Channel):
    """``y = 0.8 x + w``: coherent, differentiable, but commae knows neither its law nor a closed form."""

    def forward(self, x, no, generator=None):
        return AWGN()(0.8 * x, no, make_generator(generator, x.device))


class CarrierPhase(Channel):
    """An unknown carrier phase per message: a fading stage without CSI."""

    fading = "block"

    def forward(self, x, no, generator=None):
        gen = make_generator(generator, x.device)
        phase = 2 * math.pi * torch.rand(x.shape[0], 1, generator=gen, device=x.device)
        return torch.polar(torch.ones_like(phase), phase) * x + AWGN()(torch.zeros_like(x), no, gen)


@pytest.mark.parametrize(
    "channel, k, n, baseline, normalization",
    [(Attenuated(), 4, 1, "qam16", "batch"), (CarrierPhase(), 4, 2, PILOT, "message"), (CarrierPhase(), 4, 1, None, "message")],
    ids=["coherent", "fading-block", "fading-one-use"],
)
def test_a_user_channel_is_asked_not_classified(channel, k, n, baseline, normalization):
    assert channel.default_normalization == normalization
    model = Autoencoder(k, n, channel, hidden=8, normalization=channel.default_normalization)
    val = MessageBatches(k, n, 512, 1, 7.0, seed=1, fixed=True)
    history = fit(model, SymbolCrossEntropy(k), MessageBatches(k, n, 64, 1, 7.0, seed=0), val, torch.optim.Adam(model.parameters()), 1, log=None, progress=False)
    assert _BOUND_FLOOR < history.last["mi_bits"] <= k

    base = matching_baseline(k, n, channel)
    assert getattr(base, "name", None) == baseline
    systems = {"ae": model}
    if base is not None:
        assert "mi_bits" not in evaluate_system(base, val)  # neither its metric nor a pilot estimate is the channel's law
        systems[base.name] = base
    rows = simulate(systems, [6.0], max_bits=4000, batch_size=1000, theory=True, progress=False)
    assert [r["system"] for r in rows] == list(systems)
    assert all(math.isnan(r["ber_theory"]) and 0.0 <= r["ber"] <= 1.0 for r in rows)
