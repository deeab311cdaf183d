import dataclasses

import pytest
import torch

from commae import AWGN, Constellation, Modem, Rayleigh, System, psk, qam, transmit_receive
from commae.constellations import int_to_bits
from commae.models import Autoencoder, Receiver, SystemConfig, Transmitter, make_channel
from commae.runs import load_model, train_run
from commae.simulation import simulate
from commae.theory import ber_psk, ber_qam
from commae.training import TrainConfig


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


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 8])
def test_a_trainable_constellation_starts_message_m_on_the_gray_point_labelled_m(k):
    """Square Gray QAM for even k, Gray PSK for odd k, with message m on the point whose label is m.

    The raw starting points are those of ``qam``/``psk`` in label order, bit for bit (as the experiments set them
    by hand before), the constellation's labels are the messages, and nearest neighbours differ in one bit.
    """
    M = 2**k
    tx = Transmitter(k, 1, constellation=True)
    gray = (qam if k % 2 == 0 else psk)(M, trainable=True)
    messages = torch.arange(M)
    assert torch.equal(tx.constellation.weight, gray.weight[gray.index_of_label])
    assert torch.equal(tx.constellation.labels, messages) and torch.equal(tx.constellation.index_of_label, messages)
    with torch.no_grad():
        x = tx(messages)[:, 0].to(torch.complex128)
    assert torch.allclose(x, gray.map(int_to_bits(messages, k)).flatten().to(torch.complex128), atol=1e-6)  # message m -> label m
    distance = (x[:, None] - x[None, :]).abs()
    distance.fill_diagonal_(float("inf"))
    near = distance < distance.min() * (1 + 1e-6)  # [M, M]: nearest-neighbour pairs
    flips = int_to_bits(messages[:, None] ^ messages[None, :], k).sum(-1)  # [M, M]: bits in which two messages differ
    assert bool(near.any(-1).all()) and bool((flips[near] == 1).all())


@pytest.mark.parametrize("k, ebno_db, gray_ber", [(3, 8.0, lambda e: ber_psk(e, 8)), (4, 6.0, lambda e: ber_qam(e, 16)), (6, 10.0, lambda e: ber_qam(e, 64))])
def test_a_bitwise_points_system_starts_at_gray_ber(k, ebno_db, gray_ber):
    """``commae train --points --loss bce`` starts from Gray QAM/PSK: before training, its points with the messages as labels, under ML detection, have Gray's BER.

    The closed form lies in the 99.99 % Clopper–Pearson interval of >= 2000 bit errors. With the index start (message m
    on point index m: natural labels) the BER was 0.037 [0.036, 0.038] for 16 points at 6 dB (Gray 0.0279), 0.042 for
    64 points at 10 dB (Gray 0.0265).
    """
    model = SystemConfig(k=k, output="bit", constellation=True).build()
    (row,) = simulate({"points": Modem(model.constellation())}, [ebno_db], target_errors=2000, confidence=0.9999, progress=False, seed=1)
    assert row["bit_errors"] >= 2000
    assert row["ber_low"] <= float(gray_ber(ebno_db)) <= row["ber_high"], row


def test_a_run_saved_with_the_index_start_loads_with_its_trained_points(tmp_path):
    """The weights are the points of messages 0 … M-1 before and after the Gray start, so an older run (model.pt, and
    checkpoint.pt for --resume) loads as it was trained; the QAM index order's labels it saved beside them are not
    taken: the transmitter's points are labelled by their messages."""
    run = tmp_path / "run"
    train = TrainConfig(ebno_db=(7.0, 7.0), loss="bce", epochs=1, batches_per_epoch=2, batch_size=64, val_size=500)
    train_run(SystemConfig(k=4, hidden=8, output="bit", constellation=True), train, run, progress=False, log=None)
    index_start = qam(16, trainable=True)  # what the transmitter held before: message m on point index m
    trained = index_start.weight.detach() * 1.3 + 0.05 * torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    old = {"transmitter.constellation.weight": trained, "transmitter.constellation.labels": index_start.labels, "transmitter.constellation.index_of_label": index_start.index_of_label}
    state = torch.load(run / "model.pt", weights_only=True)
    torch.save({**state, **old}, run / "model.pt")
    checkpoint = torch.load(run / "checkpoint.pt", weights_only=True)
    checkpoint["model"].update(old)
    torch.save(checkpoint, run / "checkpoint.pt")
    model = load_model(run)
    messages = torch.arange(16)
    with torch.no_grad():
        assert torch.equal(model.transmitter(messages)[:, 0], Constellation(trained, trainable=True)())
    assert torch.equal(model.transmitter.constellation.labels, messages) and torch.equal(model.transmitter.constellation.index_of_label, messages)
    resumed = train_run(SystemConfig(k=4, hidden=8, output="bit", constellation=True), dataclasses.replace(train, epochs=2), run, resume=True, progress=False, log=None)
    assert len(resumed.history.rows) == 2 and torch.equal(resumed.model.transmitter.constellation.labels, messages)


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
