"""Every baseline's symbol logits are the exact posterior: checked against direct Bayes over its codebook, in float64.

The reference enumerates the 2**k messages of a system, sends each through its
own ``transmit`` (the codebook, nothing of its receiver), and computes
P(m | y, h) ∝ exp(-||y - h x_m||² / N0) in float64 (noise N0/2 per real
dimension, on complex and real channels alike). The system's ``symbol_logits``
are per symbol; the product of their softmaxes over a message's symbols must
be that posterior.
"""

from __future__ import annotations

import pytest
import torch

from commae import AWGN, Hamming74, Modem, Rayleigh, UncodedBPSK, pam, qam
from commae.baselines import make_baseline
from commae.constellations import int_to_bits
from commae.snr import ebno_db_to_no
from commae.training import MessageBatches, evaluate_system

NAMES = ("bpsk", "qpsk", "qam16", "qam64", "psk8", "psk16", "hamming74-hard", "hamming74-soft", "uncoded-bpsk-3")
CHANNELS = {"awgn": lambda: AWGN(), "rayleigh-fast-csi": lambda: Rayleigh("fast", csi=True), "rayleigh-block-csi": lambda: Rayleigh("block", csi=True)}


def _exact_posterior(system, y, h, no):
    """P(message | y, h) by Bayes over the codebook, float64, ``[B, 2**k]``."""
    codebook = system.transmit(int_to_bits(torch.arange(1 << system.k), system.k)).to(torch.complex128)  # [M, n]
    y = y.to(torch.complex128)
    gains = torch.ones_like(y) if h is None else h.to(torch.complex128)
    distance = (y[:, None, :] - gains[:, None, :] * codebook[None]).abs().pow(2).sum(-1)  # [B, M]
    return torch.softmax(-distance / no, dim=-1)


def _posterior_of_logits(system, logits):
    """Message posterior ``[B, 2**k]`` from per-symbol logits ``[B, m, 2**b]`` (message index = its bits, MSB first)."""
    per_symbol = torch.softmax(logits.double(), dim=-1)  # [B, m, 2**b]
    messages = int_to_bits(torch.arange(1 << system.k), system.k).reshape(1 << system.k, -1, system.bits_per_symbol)
    weights = 1 << torch.arange(system.bits_per_symbol - 1, -1, -1)
    labels = (messages * weights).sum(-1).long()  # [M, m]: the label of each symbol of each message
    picked = per_symbol[:, torch.arange(labels.shape[1])[None, :], labels]  # [B, M, m]
    return picked.prod(-1)


def _check(system, ebno_db, seed=0, batch=512):
    gen = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (batch, system.k), generator=gen).float()
    no = ebno_db_to_no(ebno_db, system.k, system.n)
    out = system.channel(system.transmit(bits), no, generator=gen)
    y, h = out if isinstance(out, tuple) else (out, None)
    exact = _exact_posterior(system, y, h, no)
    learned = _posterior_of_logits(system, system.symbol_logits(y, no, h))
    assert exact.max(-1).values.mean() < 0.999, "the test point must leave the posterior uncertain"
    torch.testing.assert_close(learned, exact, atol=2e-5, rtol=1e-3)


@pytest.mark.parametrize("channel", list(CHANNELS))
@pytest.mark.parametrize("name", NAMES)
def test_every_baseline_softmax_is_the_exact_posterior(name, channel):
    _check(make_baseline(name, CHANNELS[channel]()), ebno_db=2.0)


@pytest.mark.parametrize(
    "system",
    [Modem(pam(4), AWGN(real=True)), Modem(pam(2), AWGN(real=True)), Hamming74("soft", AWGN(real=True)), UncodedBPSK(4, AWGN(real=True)), Modem(qam(16), symbols_per_message=2)],
    ids=["pam4-real", "pam2-real", "hamming-real", "uncoded-real", "qam16x2"],
)
def test_posterior_on_real_channels_and_several_symbols_per_message(system):
    _check(system, ebno_db=1.0)


def test_hamming_mi_is_the_exact_posteriors_at_0db():
    """The reviewer's number: the MI estimate k - CE/ln 2 of Hamming (7,4) at Eb/N0 0 dB (real uses) is about 3.22 bit, not 2.98."""
    code = Hamming74("soft", AWGN(real=True))
    batches = MessageBatches(4, 7, 1 << 15, 4, 0.0, seed=3, fixed=True)
    mi_bits = evaluate_system(code, batches)["mi_bits"]
    assert mi_bits == pytest.approx(3.221, abs=0.02)
