"""A receiver that takes the noise level as an input (``noise_input=True``: log10 N0 beside y, as Sionna's neural demapper).

Trained over a range of SNRs, it gives calibrated bit LLRs at both ends of the range, where the receiver without it,
which can only learn LLRs for an average noise level, is over- and under-confident; and its BCE (BMI) is better there.
``commae train --noise-input`` makes it a system option: config.json, the run directory, resume, config files, and the
commands that load a run (ber-curve, plot) hand it the N0 of the point.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from matplotlib.contour import ContourSet

from commae import Modem, qam
from commae.cli import cli
from commae.config import ConfigError, check_combinations
from commae.config_files import read_train_options
from commae.constellations import int_to_bits
from commae.losses import make_loss
from commae.models import Autoencoder, Receiver, SystemConfig
from commae.plotting import plot_system_constellation
from commae.runs import load_config, load_model, train_run
from commae.simulation import read_results
from commae.snr import ebno_db_to_no
from commae.training import ModelFree, TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_noise_feature_is_log10_n0_per_example():
    assert torch.equal(Receiver.noise_feature(0.01, 3), torch.full((3, 1), -2.0))
    no = torch.tensor([1.0, 0.1, 10.0])
    assert torch.allclose(Receiver.noise_feature(no, 3), torch.tensor([[0.0], [-1.0], [1.0]]))
    with pytest.raises(ValueError, match=r"no must be a scalar or one value per example \(3\)"):
        Receiver.noise_feature(torch.ones(2), 3)
    with pytest.raises(ValueError, match="no must be positive"):
        Receiver.noise_feature(torch.tensor([0.1, 0.0, 0.1]), 3)


def test_a_receiver_with_noise_input_reads_one_more_feature_and_needs_no():
    rx, plain = Receiver(4, 1, output="bit", noise_input=True), Receiver(4, 1, output="bit")
    assert rx.net[0].in_features == plain.net[0].in_features + 1
    y = torch.randn(5, 1, dtype=torch.complex64)
    with pytest.raises(ValueError, match=r"no must be given: this receiver takes the noise level as an input \(noise_input=True\)"):
        rx(y)
    assert rx(y, None, 0.1).shape == (5, 4)
    assert torch.equal(plain(y, None, 0.1), plain(y))  # without the option, no is not read


def test_the_autoencoder_hands_no_to_its_receiver_everywhere():
    """forward, receive and bit_llrs depend on no with noise_input (and not without); model-free training and the decision-region plot hand it on."""
    ae = Autoencoder(4, 1, output="bit", constellation=True, noise_input=True)
    plain = Autoencoder(4, 1, output="bit", constellation=True)
    assert "noise_input=True" in repr(ae) and "noise_input" not in repr(plain)
    y = ae.transmitter(torch.arange(16)).detach() + 0.3
    with torch.no_grad():
        assert not torch.equal(ae.bit_llrs(y, 0.1), ae.bit_llrs(y, 0.01))
        assert torch.equal(plain.bit_llrs(y, 0.1), plain.bit_llrs(y, 0.01))
        assert not torch.equal(ae(torch.arange(16), 0.1, generator=1), ae(torch.arange(16), 0.01, generator=1))
        assert torch.equal(ae.receive(y, 0.1), (ae.bit_llrs(y, 0.1) > 0).float())
    messages = torch.arange(16).repeat(4)
    loss, _ = ModelFree()(ae, make_loss("bce", 4), (messages, torch.full((64,), 0.1), torch.Generator().manual_seed(0)), int_to_bits(messages, 4).float())
    loss.backward()
    assert ae.receiver.net[0].weight.grad[:, -1].abs().sum() > 0  # the N0 feature's weights learn
    assert len(plot_system_constellation(ae, regions=True, resolution=20)) == 4


def _gray_start(ae: Autoencoder) -> Autoencoder:
    ae.transmitter.requires_grad_(False)  # the points stay where they start, Gray 16-QAM with message m labelled m: only the receivers differ
    return ae


def _train_receiver(noise_input: bool, esno_db: tuple[float, float], steps: int) -> Autoencoder:
    torch.manual_seed(0)
    ae = _gray_start(Autoencoder(4, 1, output="bit", constellation=True, hidden=64, noise_input=noise_input))
    optimizer = torch.optim.Adam(ae.receiver.parameters(), 1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    gen = torch.Generator().manual_seed(1)  # both receivers see the same messages, SNRs and noise
    for _ in range(steps):
        messages = torch.randint(0, 16, (1024,), generator=gen)
        no = 10 ** (-(esno_db[0] + (esno_db[1] - esno_db[0]) * torch.rand(1024, generator=gen)) / 10)  # Es/N0 uniform in dB per example
        loss = F.binary_cross_entropy_with_logits(ae(messages, no, generator=gen), int_to_bits(messages, 4).float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return ae.eval()


def _best_scale(llr: torch.Tensor, bits: torch.Tensor) -> float:
    """The factor a minimising the BCE of a·L (Newton on a convex function): 1 for calibrated LLRs, E[b | L] = σ(L)."""
    llr, bits, a = llr.double(), bits.double(), torch.ones((), dtype=torch.float64)
    for _ in range(30):
        p = torch.sigmoid(a * llr)
        a = a - ((p - bits) * llr).mean() / (p * (1 - p) * llr * llr).mean()
    return float(a)


@pytest.mark.long
def test_over_an_snr_range_the_noise_input_gives_calibrated_llrs_and_a_better_bmi():
    """Gray 16-QAM, two receivers trained alike over Es/N0 6 to 12 dB, one given log10 N0; 100,000 symbols at 6.5 and 11.5 dB.

    With N0: the BCE-minimising scale of its LLRs is within 0.15 of 1 at both SNRs (calibrated) and its BMI within 0.02
    bit a use of the exact APP demapper's. Without, the scales are beyond 1 ± 0.3 (over-confident at 6.5 dB, under- at
    11.5 dB: the check can fail), and its BCE is worse than with N0 (paired z > 5). Measured: scales 0.97 and 1.09 with
    N0, 0.67 and 1.81 without; BMI 0.004 and 0.005 bit below the exact demapper's with N0, 0.13 below without.
    """
    receivers = {flag: _train_receiver(flag, (6.0, 12.0), 2000) for flag in (True, False)}
    exact = Modem(qam(16), demapping="app")
    gen = torch.Generator().manual_seed(2)
    size = 100_000
    for esno_db in (6.5, 11.5):
        no = 10 ** (-esno_db / 10)
        messages = torch.randint(0, 16, (size,), generator=gen)
        bits = int_to_bits(messages, 4).float()
        with torch.no_grad():
            y = receivers[True].channel(receivers[True].transmitter(messages), no, generator=gen)
            llrs = {flag: ae.bit_llrs(y, no) for flag, ae in receivers.items()}
        assert torch.equal(exact.transmit(bits), receivers[True].transmitter(messages))  # the same points and labels
        llrs["exact"] = exact.bit_llrs(y, no)
        bce = {name: F.binary_cross_entropy_with_logits(llr, bits, reduction="none").sum(-1) for name, llr in llrs.items()}  # nats per symbol
        bmi = {name: 4 - float(value.mean()) / math.log(2) for name, value in bce.items()}
        scale = {name: _best_scale(llr, bits) for name, llr in llrs.items()}
        difference = bce[False] - bce[True]
        z = float(difference.mean() / (difference.std() / size**0.5))
        report = f"Es/N0 {esno_db} dB: scales {scale}, BMI {bmi}, paired z {z:.1f}"
        assert abs(scale[True] - 1) <= 0.15 and abs(scale["exact"] - 1) <= 0.05, report
        assert abs(scale[False] - 1) > 0.3, report
        assert bmi["exact"] - bmi[True] <= 0.02, report
        assert z > 5, report


@pytest.mark.long
def test_a_64_point_bitwise_run_given_n0_demaps_at_least_as_well_across_its_range_and_wins_at_the_ends(tmp_path):
    """Two 64-point bit-wise runs (``--points --loss bce``, Eb/N0 1 to 5 dB: the coded tutorial's range), with and without ``--noise-input``, same seed and budget (6 M symbols).

    On 200,000 symbols at Eb/N0 1, 2, 3, 4 and 5 dB (the same messages and noise for both): at every point the
    receiver given N0 is at least as close to the exact APP demapper of its own points (its BMI gap at most the
    other's + 0.005 bit), and at the two ends the system's BMI is higher (paired z > 5). Measured with seeds 0, 1, 2
    (the points started on Gray 64-QAM): gaps 0.017, 0.007, 0.005, 0.011, 0.033 bit with N0 against 0.118, 0.028,
    0.006, 0.043, 0.123 without (seed 0; the others within 0.005 of these), at most 0.0004 above the other's; BMI
    +0.093, +0.101, +0.095 bit at 1 dB and +0.085, +0.089, +0.090 at 5 dB (z 48 to 107). In the middle the two
    systems differ by their points more than by their receivers, and not in the N0 run's favour: at 3 dB its BMI
    differed by -0.007, -0.003 and -0.003 bit (seeds 0, 1, 2), where its points were 0.0085, 0.0023 and 0.0036
    worse under exact demapping. (With the older start on QAM point index m, seed 0: gaps 0.024 … 0.046 against
    0.132 … 0.136, and every BMI 0.23 to 0.28 bit lower.)
    """
    runs = {}
    for flag in (True, False):
        system = SystemConfig(k=6, output="bit", constellation=True, noise_input=flag)
        train = TrainConfig(ebno_db=(1.0, 5.0), loss="bce", epochs=60, batches_per_epoch=100, batch_size=1024, val_size=20000, seed=0)
        train_run(system, train, tmp_path / str(flag), progress=False, log=None)
        runs[flag] = load_model(tmp_path / str(flag))
    assert runs[True].noise_input and not runs[False].noise_input
    exact = {flag: Modem(ae.constellation(), demapping="app") for flag, ae in runs.items()}
    gen = torch.Generator().manual_seed(5)
    size = 200_000
    for ebno in (1.0, 2.0, 3.0, 4.0, 5.0):
        no = ebno_db_to_no(ebno, 6, 1)
        messages = torch.randint(0, 64, (size,), generator=gen)
        bits = int_to_bits(messages, 6).float()
        noise = torch.randn(size, 1, dtype=torch.complex64, generator=gen) * math.sqrt(no)
        bce, gap = {}, {}
        with torch.no_grad():
            for flag, ae in runs.items():
                y = ae.transmitter(messages) + noise
                bce[flag] = F.binary_cross_entropy_with_logits(ae.bit_llrs(y, no), bits, reduction="none").sum(-1) / math.log(2)  # bits per symbol
                gap[flag] = float(bce[flag].mean()) - float(F.binary_cross_entropy_with_logits(exact[flag].bit_llrs(y, no), bits, reduction="none").sum(-1).mean()) / math.log(2)
        difference = bce[False] - bce[True]
        z = float(difference.mean() / (difference.std() / size**0.5))
        report = f"Eb/N0 {ebno} dB: BMI with N0 {6 - float(bce[True].mean()):.4f}, without {6 - float(bce[False].mean()):.4f} (z {z:.1f}); gaps to exact APP {gap}"
        assert gap[True] <= gap[False] + 0.005, report
        if ebno in (1.0, 5.0):
            assert z > 5, report


class _TwoArgumentReceiver(torch.nn.Module):
    """A user's own receiver, ``forward(y, h=None)`` as before ``noise_input`` existed (the tutorial notebook swaps one in)."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.net = torch.nn.Linear(2, 2**k)

    def forward(self, y: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(torch.view_as_real(y[:, 0]))


def test_a_swapped_in_receiver_without_noise_input_is_called_as_before():
    """forward, receive, bit_llrs, the model-free step and extra_repr call a receiver without ``noise_input`` with (y, h) only."""
    ae = Autoencoder(2, 1)
    ae.receiver = _TwoArgumentReceiver(2)
    messages = torch.arange(4)
    assert ae(messages, 0.1, generator=0).shape == (4, 4)
    y = ae.transmitter(messages)
    assert ae.receive(y, 0.1).shape == (4, 2) and ae.bit_llrs(y, 0.1).shape == (4, 2)
    assert "noise_input" not in repr(ae)
    loss, _ = ModelFree()(ae, make_loss("ce", 2), (messages, torch.full((4,), 0.1), torch.Generator().manual_seed(0)), messages)
    assert torch.isfinite(loss)


# --- commae train --noise-input: the option, the run directory and the commands that read it -------------------------

TINY = ["--k", "2", "--hidden", "8", "--epochs", "2", "--batches-per-epoch", "3", "--batch-size", "128", "--val-size", "1000", "--quiet"]


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _history(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv") as fh:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(fh)]


def test_a_noise_input_run_trains_reads_back_and_feeds_ber_curve_and_plot(tmp_path, monkeypatch):
    """train --noise-input (bit-wise, --points, a range) -> config.json, a weights-only model with the N0 input -> ber-curve of the run -> plot ber and constellation --regions, the regions at an Eb/N0 the title names; the same --seed gives the same numbers."""
    run = tmp_path / "run"
    args = ["train", "--snr", "3:9", "--noise-input", "--loss", "bce", "--points", *TINY]
    assert _invoke(*args, "--out", str(run)).exit_code == 0
    assert json.loads((run / "config.json").read_text())["system"]["noise_input"] is True
    system, _ = load_config(run)
    assert system.noise_input and system == SystemConfig(k=2, hidden=8, output="bit", constellation=True, noise_input=True)
    state = torch.load(run / "model.pt", weights_only=True)
    model = load_model(run)
    assert model.noise_input and "noise_input=True" in repr(model)
    assert state["receiver.net.0.weight"].shape[1] == 3  # I, Q and log10 N0
    y = model.transmitter(torch.arange(4)).detach()
    assert not torch.equal(model.bit_llrs(y, 0.1), model.bit_llrs(y, 0.5))  # the loaded receiver reads N0
    again = tmp_path / "again"
    assert _invoke(*args, "--out", str(again)).exit_code == 0
    assert _history(run) == _history(again)
    assert all(torch.equal(state[key], value) for key, value in torch.load(again / "model.pt", weights_only=True).items())

    curve = tmp_path / "curve.csv"
    result = _invoke("ber-curve", str(run), "--ebno", "4", "--max-bits", "20000", "--quiet", "--out", str(curve))
    assert result.exit_code == 0, result.output
    (row,) = [r for r in read_results(curve) if r["system"] == "run"]
    assert row["bits"] >= 20000 and 0 < row["ber"] < 1
    assert _invoke("plot", "ber", str(curve), "--out", str(tmp_path / "ber")).exit_code == 0
    from commae.cli import plot as plot_cli

    titles, save = [], plot_cli._save
    monkeypatch.setattr(plot_cli, "_save", lambda figure, *rest: (titles.append(figure._suptitle.get_text()), save(figure, *rest)))
    assert _invoke("plot", "constellation", str(run), "--regions", "--out", str(tmp_path / "points")).exit_code == 0
    assert (tmp_path / "points.png").is_file() and titles == ["Trained at $E_b/N_0$ = 3–9 dB, regions at $E_b/N_0$ = 6 dB"]

    result = CliRunner().invoke(cli, ["train", "--out", str(run), "--resume", "--no-noise-input"])
    assert result.exit_code == 2 and f"--noise-input cannot change when resuming: the run in {run} has --noise-input; this command --no-noise-input" in result.output
    assert read_train_options(run / "config.json")["noise_input"] is True
    result = _invoke("train", "--config", str(run / "config.json"), "--no-noise-input", "--out", str(tmp_path / "without"), "--epochs", "1")
    assert result.exit_code == 0 and not load_config(tmp_path / "without")[0].noise_input  # the same experiment without it: the command line wins


def test_the_regions_of_a_receiver_given_n0_are_drawn_at_the_eb_n0_asked():
    ae = Autoencoder(2, 1, output="bit", constellation=True, noise_input=True)
    with torch.no_grad():
        ae.receiver.net[0].weight[:, -1].normal_(std=5.0)  # N0 moves this receiver's boundaries a lot

    def shaded(**where) -> list:
        axes = plot_system_constellation(ae, regions=True, resolution=40, limit=1.5, **where)
        return [[p.vertices.tolist() for c in ax.collections if isinstance(c, ContourSet) for p in c.get_paths()] for ax in axes]  # the shading and boundaries

    assert shaded(regions_ebno_db=0.0) != shaded(regions_ebno_db=20.0)
    assert shaded(regions_ebno_db=0.0) == shaded(cloud_ebno_db=0.0, cloud_size=10)  # by default at the cloud's Eb/N0
    assert shaded() == shaded(regions_ebno_db=7.0)  # else at 7 dB


def test_noise_input_in_config_files_and_its_refusals(tmp_path):
    """A TOML key carries it; one --snr is refused in one line (given on the command line or in a file)."""
    toml = tmp_path / "exp.toml"
    toml.write_text('noise-input = true\nsnr = "4:8"\nloss = "bce"\n')
    assert read_train_options(toml) == {"noise_input": True, "snr": "4:8", "loss": "bce"}
    result = CliRunner().invoke(cli, ["train", "--config", str(toml), *TINY, "--dry-run"])
    assert result.exit_code == 0, result.output
    for extra in ([], ["--esno"]):
        result = CliRunner().invoke(cli, ["train", "--noise-input", "--snr", "7", *extra, *TINY, "--dry-run"])
        assert result.exit_code == 2 and "--noise-input needs a training range (--snr LOW:HIGH with LOW < HIGH)" in result.output and "Traceback" not in result.output
    toml.write_text("noise-input = true\n")
    result = CliRunner().invoke(cli, ["train", "--config", str(toml), *TINY, "--dry-run"])
    assert result.exit_code == 2 and "--noise-input needs a training range" in result.output
    with pytest.raises(ConfigError, match="'system.noise_input' needs a training range \\('train.ebno_db' LOW:HIGH"):
        check_combinations({"noise_input": True, "ebno_db": (7.0, 7.0)}, given={"noise_input"})


def test_model_free_symbol_wise_training_with_noise_input(tmp_path):
    run = tmp_path / "run"
    result = _invoke("train", "--snr", "4:8", "--noise-input", "--training", "model-free", "--loss", "ce", *TINY, "--epochs", "1", "--out", str(run))
    assert result.exit_code == 0, result.output
    assert load_model(run).noise_input and math.isfinite(float(_history(run)[-1]["val_loss"]))
