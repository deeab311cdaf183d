"""Model-free training (Aoudia & Hoydis 2019) as a step strategy of the one training loop, and the refusals around it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from commae import Autoencoder, Modem, qam, theory
from commae.channels import ADC, AWGN, Cascade
from commae.constellations import apsk
from commae.losses import make_loss
from commae.models import SystemConfig
from commae.runs import RunError, train_run
from commae.snr import esno_db_to_ebno_db
from commae.training import Backprop, MessageBatches, ModelFree, TrainConfig, evaluate_system, fit, make_optimizer, make_step, message_metrics


def test_backprop_through_an_adc_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RunError, match=r"^the channel stage adc-3bit-clip1.5 has no gradient.*--training model-free\)$"):
        train_run(SystemConfig(k=2, adc_bits=3), TrainConfig(epochs=1, batches_per_epoch=1, val_size=64), out, log=None, progress=False)
    assert not out.exists()


def test_make_step_and_exploration_checks():
    assert isinstance(make_step("backprop"), Backprop) and make_step("model-free", 0.1).exploration == 0.1
    with pytest.raises(ValueError, match="training must be one of backprop, model-free"):
        make_step("reinforce")
    for bad in (0.0, 1.0, -0.1, True):
        with pytest.raises(ValueError, match="exploration"):
            ModelFree(bad)


def test_model_free_gradient_agrees_with_the_reparameterised_one():
    """On a differentiable channel, the policy gradient of the transmitter estimates the gradient
    of E[loss(sqrt(1-s^2) x + s w)] that backprop gives (reparameterisation); over 2^17 messages
    the two point the same way, and the receiver's gradient is its supervised loss's alone."""
    torch.manual_seed(3)
    model = Autoencoder(2, 1, AWGN(), hidden=16)
    loss_fn = make_loss("ce", 2)
    B, var = 1 << 18, 0.05
    messages = torch.randint(0, 4, (B,), generator=torch.Generator().manual_seed(1))
    no = torch.full((B,), 0.3)
    gen = torch.Generator().manual_seed(2)
    loss, shown = ModelFree(var)(model, loss_fn, (messages, no, gen), messages)
    loss.backward()
    tx_pg = torch.cat([p.grad.flatten() for p in model.transmitter.parameters()])
    rx_mf = [p.grad.clone() for p in model.receiver.parameters()]
    assert torch.isfinite(tx_pg).all() and float(tx_pg.norm()) > 0
    # reference: backprop through the same draws, receiver held fixed
    model.zero_grad(set_to_none=True)
    gen = torch.Generator().manual_seed(2)
    half = B // 2
    x = model.transmitter(messages[:half]).detach()
    y = model.channel(x, no[:half], generator=gen)
    rx_loss = loss_fn(model.receiver(y), messages[:half])
    assert float(rx_loss.detach()) == pytest.approx(float(shown.detach()), rel=1e-6)
    rx_loss.backward()
    for p, g in zip(model.receiver.parameters(), rx_mf):
        assert torch.allclose(p.grad, g, atol=1e-6)
    model.zero_grad(set_to_none=True)
    x = model.transmitter(messages[half:])
    w = torch.view_as_complex(torch.randn((*x.shape, 2), generator=gen)) * math.sqrt(0.5)
    y = model.channel(math.sqrt(1 - var) * x + math.sqrt(var) * w, no[half:], generator=gen)
    for p in model.receiver.parameters():
        p.requires_grad_(False)
    loss_fn(model.receiver(y), messages[half:]).backward()
    tx_bp = torch.cat([p.grad.flatten() for p in model.transmitter.parameters()])
    cosine = float(tx_pg @ tx_bp / (tx_pg.norm() * tx_bp.norm()))
    assert cosine > 0.8, cosine


@pytest.mark.long
def test_model_free_learns_qpsk_through_an_adc_and_is_deterministic():
    """(k=2, n=1) through a 4-bit ADC at 7 dB, 300 steps: SER within 3x of QPSK with the same ADC and its ML detector."""
    channel = Cascade(AWGN(), ADC(bits=4))
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = Autoencoder(2, 1, channel, hidden=32)
        opt = make_optimizer("adam", model.parameters(), lr=1e-2)
        train = MessageBatches(2, 1, 512, 100, 7.0, seed=1)
        val = MessageBatches(2, 1, 1 << 15, 2, 7.0, seed=2, fixed=True)
        history = fit(model, make_loss("ce", 2), train, val, opt, 3, metrics=message_metrics(model, 2), progress=False, log=None, step=ModelFree(0.02))
        results.append((history.last["val_ser"], [p.detach().clone() for p in model.parameters()]))
    (ser, weights), (ser2, weights2) = results
    assert ser == ser2 and all(torch.equal(a, b) for a, b in zip(weights, weights2))
    qpsk = evaluate_system(Modem(qam(4), channel), MessageBatches(2, 1, 1 << 15, 2, 7.0, seed=2, fixed=True))["ser"]
    assert qpsk == pytest.approx(float(theory.ser_qam(7.0, 4)), rel=0.5)  # 4 bits barely hurt QPSK
    assert ser < 3 * qpsk, (ser, qpsk)


# --- the acceptance runs (slow: about a minute each on two free cores; numbers in the README) ---


def _train(system: SystemConfig, ebno_db: float, training: str, tmp_path: Path, epochs: int = 8):
    cfg = TrainConfig(ebno_db=(ebno_db, ebno_db), training=training, epochs=epochs, batches_per_epoch=100, val_size=100_000, seed=0)
    return train_run(system, cfg, tmp_path / f"{training}-{abs(hash(str(system))) % 10**6}", log=None, progress=False)


@pytest.mark.slow
def test_model_free_within_1_2x_of_backprop_over_awgn(tmp_path):
    system = SystemConfig(k=4, n=1)
    bp = _train(system, 7.0, "backprop", tmp_path).history.last["val_ser"]
    mf = _train(system, 7.0, "model-free", tmp_path).history.last["val_ser"]
    print(f"AWGN 7 dB, 819200 messages each: SER backprop {bp:.4e}, model-free {mf:.4e}, ratio {mf / bp:.3f}")
    assert mf < 1.2 * bp


@pytest.mark.slow
@pytest.mark.parametrize("esno_db, min_fall", [(10.0, 3.0), (16.0, 10.0)])
def test_model_free_through_a_3_bit_adc_matches_16qam(esno_db, min_fall, tmp_path):
    """At Es/N0 10 dB even unquantised 16-QAM is only 4.2x below a random guess (SER 0.22 against 0.94),
    so the 10x fall the issue asks for is checked at 16 dB; the 1.2x-of-16-QAM bound at both."""
    system = SystemConfig(k=4, n=1, adc_bits=3)
    ebno = float(esno_db_to_ebno_db(esno_db, 4, 1))
    test = MessageBatches(4, 1, 1 << 16, 8, ebno, seed=12, fixed=True)
    torch.manual_seed(0)
    start = evaluate_system(system.build().eval(), test)["ser"]
    model = _train(system, ebno, "model-free", tmp_path).model
    learned = evaluate_system(model, test)["ser"]
    q16 = evaluate_system(Modem(qam(16), system.make_channel()), test)["ser"]
    print(f"3-bit ADC, Es/N0 {esno_db} dB: SER initial {start:.4e}, model-free {learned:.4e} ({start / learned:.2f}x lower), 16-QAM ML {q16:.4e}, ratio {learned / q16:.3f}")
    assert learned < 1.2 * q16
    assert start / learned > min_fall


@pytest.mark.slow
@pytest.mark.parametrize("name, system, esno_db", [
    ("phase noise 0.2 rad", SystemConfig(k=4, n=1, phase_noise=0.2), 20.0),
    ("Rapp PA, IBO 3 dB", SystemConfig(k=4, n=1, pa="rapp", pa_backoff=3.0), 18.0),
])  # fmt: skip
def test_learned_beats_16qam_and_16apsk(name, system, esno_db, tmp_path):
    ebno = float(esno_db_to_ebno_db(esno_db, 4, 1))
    model = _train(system, ebno, "backprop", tmp_path).model
    test = MessageBatches(4, 1, 1 << 16, 8, ebno, seed=13, fixed=True)
    ser = {n: evaluate_system(s, test)["ser"] for n, s in (("learned", model), ("16-QAM", Modem(qam(16), system.make_channel())), ("16-APSK", Modem(apsk(16), system.make_channel())))}
    print(f"{name}, Es/N0 {esno_db} dB: " + ", ".join(f"{n} {v:.4e}" for n, v in ser.items()))
    assert ser["learned"] < ser["16-QAM"] and ser["learned"] < ser["16-APSK"]
