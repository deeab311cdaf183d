import copy
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from commae import Modem, Rayleigh, qam, theory
from commae.losses import SymbolCrossEntropy
from commae.models import Autoencoder
from commae.training import (
    EarlyStopping,
    MessageBatches,
    TrainingDiverged,
    evaluate,
    evaluate_system,
    fit,
    make_optimizer,
    make_scheduler,
    message_metrics,
    train_one_epoch,
)


@pytest.mark.long
def test_the_seed_example_trains_through_fit():
    torch.manual_seed(0)
    w = torch.randn(10, 1)
    x = torch.randn(4096, 10)
    y = x @ w + 0.5 * torch.relu(x[:, :1]) + 0.05 * torch.randn(4096, 1)
    train = DataLoader(TensorDataset(x[:3072], y[:3072]), batch_size=64, shuffle=True)
    val = DataLoader(TensorDataset(x[3072:], y[3072:]), batch_size=256)
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1))
    loss_fn = nn.MSELoss()
    initial = evaluate(model, loss_fn, val)["val_loss"]
    history = fit(model, loss_fn, train, val, torch.optim.Adam(model.parameters(), lr=1e-3), epochs=40, progress=False, log=None)
    assert history.last["val_loss"] < 0.1 * initial, (initial, history.column("val_loss"))
    assert len(history.rows) == 40 and history.rows[0]["lr"] == 1e-3


def test_accumulating_four_micro_batches_equals_one_batch():
    torch.manual_seed(1)
    ae = Autoencoder(4, 2, hidden=32)
    loss_fn = SymbolCrossEntropy(4)
    messages = torch.randint(0, 16, (256,))
    full = [((messages, 0.0, None), messages)]  # no = 0: y = x, so both see the same channel
    micro = [((m, 0.0, None), m) for m in messages.split(64)]
    a, b = copy.deepcopy(ae), copy.deepcopy(ae)
    train_one_epoch(a, loss_fn, full, torch.optim.SGD(a.parameters(), lr=1.0), accumulate=1)
    train_one_epoch(b, loss_fn, micro, torch.optim.SGD(b.parameters(), lr=1.0), accumulate=4)
    for (name, pa), pb, p0 in zip(a.named_parameters(), b.parameters(), ae.parameters()):
        # with lr = 1 the update is the gradient
        assert torch.allclose(pa - p0, pb - p0, atol=1e-6), name
        assert not torch.equal(pa, p0)


def test_validation_with_dropout_and_batchnorm_is_deterministic_and_restores_train_mode():
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.Dropout(0.5), nn.Linear(16, 1))
    data = [(torch.randn(32, 4), torch.randn(32, 1)) for _ in range(3)]
    train_one_epoch(model, nn.MSELoss(), data, torch.optim.SGD(model.parameters(), lr=0.01))
    stats = model[1].running_mean.clone()
    model.train()
    first = evaluate(model, nn.MSELoss(), data)
    second = evaluate(model, nn.MSELoss(), data)
    assert first == second
    assert model.training
    assert torch.equal(model[1].running_mean, stats)  # eval did not update BatchNorm statistics
    model.eval()
    evaluate(model, nn.MSELoss(), data)
    assert not model.training


def test_fixed_validation_batches_repeat_exactly_and_training_batches_do_not():
    val = MessageBatches(4, 1, 100, 2, (3.0, 9.0), seed=5, fixed=True)
    a = [(m.clone(), no.clone()) for (m, no, _), _ in val]
    b = [(m.clone(), no.clone()) for (m, no, _), _ in val]
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(a, b))
    no = a[0][1]
    assert float(no.min()) >= 10 ** (-9 / 10) / 4 - 1e-9 and float(no.max()) <= 10 ** (-3 / 10) / 4 + 1e-9
    train = MessageBatches(4, 1, 100, 1, 7.0, seed=5)
    (m1, _, _), _ = next(iter(train))
    (m2, _, _), _ = next(iter(train))
    assert not torch.equal(m1, m2)


def test_divergence_raises_with_the_epoch_and_keeps_earlier_epochs():
    class Exploding(nn.Module):
        calls = 0

        def forward(self, out, labels):
            Exploding.calls += 1
            loss = nn.functional.mse_loss(out, labels)
            return loss * float("nan") if Exploding.calls > 4 else loss

    model = nn.Linear(2, 1)
    data = [(torch.randn(8, 2), torch.randn(8, 1))] * 2
    ended = []
    with pytest.raises(TrainingDiverged) as info:
        fit(model, Exploding(), data, data, make_optimizer("sgd", model.parameters(), 0.1), 5, on_epoch_end=lambda e, h: ended.append(e), progress=False, log=None)
    # epoch 1: 2 train + 2 val calls; epoch 2 trains on NaN
    assert info.value.epoch == 2 and ended == [1]


def test_early_stopping_stops():
    stopper = EarlyStopping(patience=2)
    assert [stopper.update(v) for v in (1.0, 0.9, 0.95, 0.91)] == [False, False, False, True]


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_optimizers(name):
    model = nn.Linear(2, 2)
    opt = make_optimizer(name, model.parameters(), lr=0.1, momentum=0.9 if name == "sgd" else 0.0, nesterov=name == "sgd", weight_decay=0.01)
    assert opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adam, adamw"):
        make_optimizer("rmsprop", model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lr must be positive"):
        make_optimizer(name, model.parameters(), lr=0.0)


def test_schedules_change_the_learning_rate():
    def lrs(name, epochs=8):
        opt = make_optimizer("sgd", nn.Linear(1, 1).parameters(), lr=1.0)
        sched = make_scheduler(name, opt, epochs)
        out = []
        for _ in range(epochs):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if sched is None:
                continue
            sched.step(1.0) if name == "plateau" else sched.step()
        return out

    assert lrs("constant") == [1.0] * 8
    cosine = lrs("cosine")
    assert cosine[0] == 1.0 and all(a > b for a, b in zip(cosine, cosine[1:]))
    assert lrs("step") == pytest.approx([1.0] * 4 + [0.1] * 2 + [0.01] * 2)
    assert lrs("plateau", 12)[-1] < 1.0
    with pytest.raises(ValueError, match="schedule must be one of"):
        make_scheduler("linear", make_optimizer("sgd", nn.Linear(1, 1).parameters(), lr=1.0), 3)


def test_amp_runs_on_cpu():
    torch.manual_seed(0)
    ae = Autoencoder(2, 1, hidden=16)
    batches = MessageBatches(2, 1, 256, 5, 7.0, seed=1)
    history = fit(ae, SymbolCrossEntropy(2), batches, batches, make_optimizer("adam", ae.parameters(), 1e-2), 2, amp=True, metrics=message_metrics(ae, 2), progress=False, log=None)
    assert all(math.isfinite(v) for v in history.column("val_loss"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda():
    ae = Autoencoder(2, 1, hidden=16).cuda()
    batches = MessageBatches(2, 1, 256, 5, 7.0, seed=1, device="cuda")
    history = fit(ae, SymbolCrossEntropy(2), batches, batches, make_optimizer("adam", ae.parameters(), 1e-2), 2, amp=True, metrics=message_metrics(ae, 2), progress=False, log=None)
    assert math.isfinite(history.last["val_loss"])


@pytest.mark.long
def test_k2_autoencoder_learns_qpsk_performance():
    """(k=2, n=1) at Eb/N0 = 7 dB: SER within 10 % of QPSK theory (1.545e-3), on 2**20 validation messages."""
    torch.manual_seed(0)
    ae = Autoencoder(2, 1, hidden=64)
    loss_fn = SymbolCrossEntropy(2)
    opt = make_optimizer("adam", ae.parameters(), 3e-3)
    train = MessageBatches(2, 1, 1024, 100, 7.0, seed=1)
    fit(ae, loss_fn, train, MessageBatches(2, 1, 4096, 1, 7.0, seed=2, fixed=True), opt, 10, scheduler=make_scheduler("cosine", opt, 10), progress=False, log=None)
    val = MessageBatches(2, 1, 1 << 16, 16, 7.0, seed=3, fixed=True)
    learned = evaluate_system(ae, val)["ser"]
    qpsk = float(theory.ser_qam(7.0, 4))
    assert learned == pytest.approx(qpsk, rel=0.10), (learned, qpsk)
    # and on the very same noise it is as good as QPSK itself
    assert learned <= 1.10 * evaluate_system(Modem(qam(4)), val)["ser"]


def test_baseline_mi_estimate_matches_the_16qam_mutual_information():
    """Exact-posterior cross-entropy of Gray 16-QAM at Es/N0 = 10 dB vs its MI 3.1639 bit (computed independently)."""
    from commae.snr import esno_db_to_ebno_db

    val = MessageBatches(4, 1, 1 << 15, 8, esno_db_to_ebno_db(10.0, 4), seed=4, fixed=True)
    result = evaluate_system(Modem(qam(16)), val)
    assert result["mi_bits"] == pytest.approx(3.1639, abs=0.015)
    assert result["ser"] == pytest.approx(float(theory.ser_qam(esno_db_to_ebno_db(10.0, 4), 16)), rel=0.05)


@pytest.mark.long
def test_receiver_without_csi_learns_over_block_fading():
    """k = 2 in n = 2 uses, one h per message, no CSI: far better than guessing (SER 0.75)."""
    torch.manual_seed(0)
    ae = Autoencoder(2, 2, Rayleigh("block", csi=False), hidden=64)
    loss_fn = SymbolCrossEntropy(2)
    opt = make_optimizer("adam", ae.parameters(), 3e-3)
    train = MessageBatches(2, 2, 1024, 100, 15.0, seed=1)
    val = MessageBatches(2, 2, 1 << 14, 1, 15.0, seed=2, fixed=True)
    history = fit(ae, loss_fn, train, val, opt, 8, scheduler=make_scheduler("cosine", opt, 8), metrics=message_metrics(ae, 2), progress=False, log=None)
    assert history.last["val_ser"] < 0.35, history.last
    assert history.last["mi_bits"] > 1.0
