"""A receiver that takes the noise level as an input (``noise_input=True``: log10 N0 beside y, as Sionna's neural demapper).

Trained over a range of SNRs, it gives calibrated bit LLRs at both ends of the range, where the receiver without it,
which can only learn LLRs for an average noise level, is over- and under-confident; and its BCE (BMI) is better there.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from commae import Modem, qam
from commae.constellations import int_to_bits
from commae.losses import make_loss
from commae.models import Autoencoder, Receiver
from commae.plotting import plot_system_constellation
from commae.training import ModelFree

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
    points = ae.transmitter.constellation
    with torch.no_grad():
        points.weight.copy_(points.weight[points.index_of_label].clone())  # message m on the Gray point labelled m
    ae.transmitter.requires_grad_(False)  # the points stay Gray 16-QAM: only the receivers differ
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
