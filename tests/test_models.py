import pytest
import torch

from commae import AWGN, Rayleigh, System, transmit_receive
from commae.models import Autoencoder, Receiver, SystemConfig, Transmitter, make_channel


@pytest.mark.parametrize("k, n, real", [(4, 1, False), (2, 3, False), (4, 7, True), (8, 2, False)])
def test_transmitter_average_energy_is_one_per_use(k, n, real):
    tx = Transmitter(k, n, real=real)
    x = tx(torch.arange(2**k)).detach()
    assert x.shape == (2**k, n)
    assert x.is_complex() != real
    assert float(x.abs().pow(2).mean()) == pytest.approx(1.0, abs=1e-5)
    # the symbol of a message does not depend on its batch
    assert torch.allclose(tx(torch.tensor([3])).detach(), x[3:4], atol=1e-6)


def test_message_normalization_gives_every_message_energy_n():
    tx = Transmitter(4, 5, normalization="message")
    x = tx(torch.arange(16)).detach()
    assert torch.allclose(x.abs().pow(2).sum(-1), torch.full((16,), 5.0), atol=1e-4)


def test_trainable_constellation_transmitter():
    tx = Transmitter(4, 1, constellation=True)
    assert tx.embedding is None and tx.constellation.trainable
    x = tx(torch.arange(16))
    assert float(x.detach().abs().pow(2).mean()) == pytest.approx(1.0, abs=1e-6)
    x.real.sum().backward()
    assert tx.constellation.weight.grad is not None
    assert Transmitter(3, 1, constellation=True).constellation.num_points == 8  # PSK start for odd k


def test_receiver_shapes_and_csi_features():
    y = torch.randn(10, 3, dtype=torch.complex64)
    assert Receiver(4, 3)(y).shape == (10, 16)
    assert Receiver(4, 3, output="bit")(y).shape == (10, 4)
    rx = Receiver(4, 3, csi=True)
    assert rx(y, torch.randn(10, 3, dtype=torch.complex64)).shape == (10, 16)
    with pytest.raises(ValueError, match="h must be given"):
        rx(y)
    assert Receiver(4, 7, real=True)(torch.randn(10, 7)).shape == (10, 16)
    # inputs: y as I/Q (2n) over AWGN; direction and amplitude (2n + 1) over fading without CSI; 5n + 1 with CSI
    assert [Receiver(4, 3, **kw).net[0].in_features for kw in ({}, {"fading": True}, {"csi": True})] == [6, 7, 16]
    assert Receiver(4, 3, fading=True)(y).shape == (10, 16)
    ae = Autoencoder(4, 2, Rayleigh("block", csi=False))
    assert ae.receiver.fading and not ae.receiver.csi and not Autoencoder(4, 2, AWGN()).receiver.fading


@pytest.mark.parametrize("channel", [AWGN(), Rayleigh("fast", csi=True), Rayleigh("block", csi=False)])
@pytest.mark.parametrize("output", ["symbol", "bit"])
def test_autoencoder_is_a_system_and_backpropagates(channel, output):
    ae = Autoencoder(4, 2, channel, output=output, hidden=32)
    assert isinstance(ae, System)
    assert (ae.k, ae.n, ae.bits_per_symbol) == (4, 2, 4)
    logits = ae(torch.randint(0, 16, (64,)), no=0.1, generator=0)
    assert logits.shape == ((64, 16) if output == "symbol" else (64, 4))
    logits.sum().backward()
    grads = [p.grad for p in ae.transmitter.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    bits = torch.randint(0, 2, (50, 4)).float()
    with torch.no_grad():
        decided = transmit_receive(ae, bits, 0.1, generator=1)
    assert decided.shape == bits.shape and set(decided.unique().tolist()) <= {0.0, 1.0}


def test_system_config_builds_and_round_trips():
    cfg = SystemConfig(k=2, n=3, channel="rayleigh", fading="block", csi=False, hidden=16)
    ae = cfg.build()
    assert isinstance(ae.channel, Rayleigh) and ae.channel.fading == "block" and not ae.channel.csi
    assert not ae.receiver.csi


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Transmitter(0), "k must be a positive integer"),
        (lambda: Transmitter(4, 0), "n must be a positive integer"),
        (lambda: Transmitter(4, normalization="peak"), "normalization must be 'batch', 'message' or 'amplitude'"),
        (lambda: Transmitter(4, 2, constellation=True), "constellation=True needs n=1"),
        (lambda: Receiver(4, output="soft"), "output must be 'symbol' or 'bit'"),
        (lambda: Receiver(4, real=True, fading=True), "fading needs complex channel uses"),
        (lambda: Autoencoder(4, 1, AWGN(), real=True), "channel must match real=True"),
        (lambda: Autoencoder(4, 1, "awgn"), "channel must be a commae Channel"),
        (lambda: make_channel("rician"), "channel must be 'awgn' or 'rayleigh'"),
        (lambda: make_channel("rayleigh", real=True), "needs complex channel uses"),
        (lambda: Transmitter(4)(torch.tensor([0.5])), r"messages must be a \[B\] int64 tensor"),
    ],
)
def test_bad_input_names_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()
