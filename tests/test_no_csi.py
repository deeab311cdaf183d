"""Channels without CSI: the pilot-aided baseline against its closed form, only defined MI, a collapsed transmitter detected."""

from __future__ import annotations

import pytest
import torch
from _montecarlo import assert_inside, count_errors

from commae import AWGN, Cascade, Hamming74, Modem, PhaseNoise, PilotModem, Rayleigh, Rician, UncodedBPSK, matching_baseline, matching_baselines, psk, qam
from commae.baselines import has_exact_posterior
from commae.models import Transmitter
from commae.training import MessageBatches, evaluate_system


@pytest.mark.parametrize("ebno_db", [0.0, 10.0, 20.0])
def test_pilot_bpsk_over_block_fading_matches_its_closed_form(ebno_db):
    """BPSK after one pilot, LS estimate: P_b = 1 / (2 (1 + g)), g = Es/N0 = (Eb/N0) / 2 (the DPSK-in-Rayleigh form).

    The estimate h + w0 and the sample h x + w1 are jointly circular Gaussian
    with correlation g / (1 + g), and P(Re(u* v) < 0) = (1 - rho) / 2.
    """
    system = PilotModem(psk(2), Rayleigh("block", csi=False))
    assert (system.k, system.n) == (1, 2)
    c = count_errors(system, ebno_db, min_errors=400, batch_size=1 << 15)
    g = 10 ** (ebno_db / 10) / 2
    assert_inside(c.bit_errors, c.bits, 1 / (2 * (1 + g)), f"pilot BPSK at {ebno_db} dB")


def test_pilot_qam16_beats_the_non_coherent_modem_and_trails_csi():
    fading = Rayleigh("block", csi=False)
    pilot = count_errors(PilotModem(qam(16), fading), 20.0, unit="block", min_errors=300, batch_size=1 << 14)
    blind = count_errors(Modem(qam(16), fading, symbols_per_message=2), 20.0, unit="block", min_errors=300, batch_size=1 << 14)
    coherent = count_errors(Modem(qam(16), Rayleigh("block", csi=True), symbols_per_message=1), 20.0, unit="block", min_errors=300, batch_size=1 << 14)
    rate = {name: c.block_errors / c.blocks for name, c in (("pilot", pilot), ("blind", blind), ("coherent", coherent))}
    assert rate["blind"] > 0.5 > 5 * rate["pilot"]
    assert rate["coherent"] < rate["pilot"]


def test_matching_baselines():
    block = Rayleigh("block", csi=False)
    assert matching_baseline(4, 2, block).name == "pilot-qam16"
    assert matching_baseline(2, 2, block).name == "pilot-qpsk"
    assert matching_baseline(4, 2, Rayleigh("fast", csi=False)) is None
    assert matching_baseline(4, 1, block) is None
    assert [b.name for b in matching_baselines(4, 7)] == ["hamming74-soft", "hamming74-hard", "uncoded-bpsk-4"]
    assert [b.name for b in matching_baselines(4, 1)] == ["qam16"]


@pytest.mark.parametrize(
    "channel",
    [Rician(2.0, "block", csi=False), Rician(0.0, "block", csi=False), Cascade(Rayleigh("block", csi=False), PhaseNoise(0.05)), Cascade(Rician(3.0, "block", csi=False), PhaseNoise(0.05))],
    ids=lambda c: c.name,
)
def test_any_fading_without_csi_gets_the_pilot_baseline_never_a_coherent_one(channel):
    """Issue 21: Rician (and Rayleigh inside a cascade) without CSI got a coherent modem that takes h = 1."""
    assert not channel.coherent and channel.default_normalization == "message"
    assert matching_baseline(4, 2, channel).name == "pilot-qam16"
    assert matching_baseline(4, 2, channel).channel is channel
    assert matching_baseline(4, 1, channel) is None and matching_baselines(4, 7, channel) == []
    fast = Cascade(*(Rician(s.k_factor, "fast", csi=False) if isinstance(s, Rician) else Rayleigh("fast", csi=False) if isinstance(s, Rayleigh) else s for s in channel.stages))
    assert fast.fading == "fast" and matching_baseline(4, 2, fast) is None


def test_no_mi_from_a_coherent_metric_over_rician_without_csi():
    for system in (Modem(qam(4), Rician(2.0, csi=False)), Hamming74("soft", Rician(2.0, "block", csi=False)), UncodedBPSK(2, Rician(2.0, csi=False))):
        assert not has_exact_posterior(system)
        result = evaluate_system(system, MessageBatches(system.k, system.n, 2048, 1, 7.0, seed=1, fixed=True))
        assert "mi_bits" not in result, system.name
    assert has_exact_posterior(Modem(qam(4), Rician(2.0, csi=True)))


def test_mi_is_reported_only_where_the_posterior_is_exact():
    for channel, defined in ((AWGN(), True), (Rayleigh("block", csi=True), True), (Rayleigh("block", csi=False), False), (Rayleigh("fast", csi=False), False)):
        for system in (Modem(qam(4), channel), Hamming74("soft", channel), UncodedBPSK(2, channel)):
            result = evaluate_system(system, MessageBatches(system.k, system.n, 2048, 1, 10.0, seed=1, fixed=True))
            assert ("mi_bits" in result) == defined, (system.name, channel)
            if defined:
                assert 0 <= result["mi_bits"] <= system.k


def test_a_collapsed_transmitter_is_detected():
    tx = Transmitter(2, 2, normalization="batch", hidden=8)
    assert tx.collapsed_messages() == []
    with torch.no_grad():
        tx.embedding[0].weight[3] = -1.0  # after the ReLU messages 3 and 1 have no features, so x = bias for both
        tx.embedding[0].weight[1] = -2.0
    assert tx.collapsed_messages() == [1, 3]
    with torch.no_grad():
        tx.embedding[0].weight[1] = 1.0
        tx.embedding[2].bias.zero_()  # message 3 alone at x = 0 is no collapse
    assert tx.collapsed_messages() == []


# issue 23.2: a system that cannot carry anything is refused before training; the remedies never repeat a setting in effect


def _train(*args):
    from click.testing import CliRunner

    from commae.cli import cli

    return CliRunner().invoke(cli, ["train", "--threads", "1", *args])


@pytest.mark.parametrize("channel", [["--channel", "rayleigh", "--fading", "block"], ["--channel", "rayleigh"], ["--channel", "rician", "--k-factor", "0"]], ids=" ".join)
def test_one_use_of_unit_energy_without_csi_is_refused_before_training(channel, tmp_path):
    result = _train(*channel, "--no-csi", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: nothing gets through") and "(MI 0); use --n 2 or more, --normalization batch or amplitude" in line, line
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "options",
    [["--n", "2"], ["--normalization", "batch"], ["--normalization", "amplitude"], ["--csi"], ["--points"]],
    ids=" ".join,
)
def test_where_information_can_get_through_the_same_channel_trains(options):
    channel = ["--channel", "rician", "--k-factor", "0"] if options == ["--csi"] else ["--channel", "rayleigh", "--no-csi"]
    result = _train(*channel, *options, "--k", "2", "--hidden", "8", "--val-size", "256", "--dry-run", "--quiet")
    assert result.exit_code == 0, result.output


def test_the_collapse_remedy_never_repeats_a_setting_in_effect():
    from commae.cli.report import _collapse_remedy
    from commae.models import SystemConfig

    assert "--normalization message" in _collapse_remedy(SystemConfig(n=2, channel="rayleigh", fading="block", csi=False, normalization="batch"))
    for system in (
        SystemConfig(n=2, channel="rayleigh", fading="fast", csi=False),  # already per message (the channel's default)
        SystemConfig(n=1, channel="rayleigh", csi=False, normalization="batch"),  # per message would carry nothing at n = 1
        SystemConfig(n=1, channel="rician", k_factor=0.0, csi=False, normalization="amplitude"),
        SystemConfig(n=1),
    ):
        remedy = _collapse_remedy(system)
        assert "--normalization" not in remedy and f"--n {system.n}" not in remedy, (system, remedy)


def test_the_python_api_asks_the_channel_for_the_default_constraint_as_the_cli_does(tmp_path):
    import dataclasses
    import json

    from commae import Autoencoder
    from commae.models import SystemConfig

    for channel, expected in ((Rayleigh("block", csi=False), "message"), (Rician(2.0, "fast", csi=False), "message"), (Rayleigh("fast", csi=True), "batch"), (AWGN(), "batch")):
        assert channel.default_normalization == expected
        assert Autoencoder(4, 2, channel, hidden=8).transmitter.normalization == expected
    assert SystemConfig(n=2, channel="rayleigh", fading="block", csi=False).normalization == "message"
    assert SystemConfig(n=2, channel="rician", k_factor=2.0, csi=False).build().transmitter.normalization == "message"
    assert SystemConfig().normalization == "batch" and SystemConfig(n=2, channel="rayleigh", csi=False, normalization="batch").normalization == "batch"
    run = tmp_path / "run"
    result = _train(
        "--channel",
        "rayleigh",
        "--fading",
        "block",
        "--no-csi",
        "--n",
        "2",
        "--k",
        "2",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--batches-per-epoch",
        "1",
        "--val-size",
        "256",
        "--quiet",
        "--out",
        str(run),
    )
    assert result.exit_code == 0, result.output
    stored = json.loads((run / "config.json").read_text())["system"]
    assert stored == dataclasses.asdict(SystemConfig(k=2, n=2, channel="rayleigh", fading="block", csi=False, hidden=8))
