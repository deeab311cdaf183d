"""A transmitter that learns its message distribution (issue 26, slice 3): objective, estimator, power constraint, runs."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from commae.cli import cli
from commae.information import estimate_mi, mi, mi_with_interval
from commae.losses import BitwiseBCE, ShapedObjective, SymbolCrossEntropy, make_loss
from commae.models import Autoencoder, SystemConfig, Transmitter
from commae.simulation import simulate
from commae.snr import esno_db_to_ebno_db
from commae.training import MessageBatches, ModelFree, fit, make_optimizer, message_metrics


def _fit(model: Autoencoder, epochs: int, ebno_db: float, seed: int = 0, batches: int = 30, lr: float = 1e-2, batch_size: int = 512):
    loss_fn = make_loss("ce" if model.output == "symbol" else "bce", model.k)
    if model.transmitter.shaped:
        loss_fn = ShapedObjective(loss_fn, model.transmitter.log_probabilities)
    train = MessageBatches(model.k, model.n, batch_size, batches, ebno_db, seed)
    val = MessageBatches(model.k, model.n, 4096, 2 if batches > 10 else 1, ebno_db, seed + 1, fixed=True)
    opt = make_optimizer("adam", [p for p in model.parameters() if p.requires_grad], lr)
    return fit(model, loss_fn, train, val, opt, epochs, metrics=message_metrics(model, model.k), progress=False, log=None)


@pytest.mark.parametrize("points", [True, False])
def test_a_distribution_frozen_uniform_trains_as_geometric_shaping(points: bool) -> None:
    """Same seed, same messages and noise: the weights M p_m are exactly 1 and the energy under p is the mean, to the bit."""
    torch.manual_seed(3)
    geometric = Autoencoder(4, 1, constellation=points, hidden=32)
    torch.manual_seed(3)
    joint = Autoencoder(4, 1, constellation=points, hidden=32, shaping="joint")
    joint.transmitter.logits.requires_grad_(False)  # frozen at zeros: uniform
    g, j = _fit(geometric, 2, 6.0, batches=8, batch_size=256), _fit(joint, 2, 6.0, batches=8, batch_size=256)
    for name, value in geometric.state_dict().items():
        assert torch.equal(value, joint.state_dict()[name]), name
    for a, b in zip(g.rows, j.rows):
        assert a["val_ser"] == b["val_ser"] and a["val_ber"] == b["val_ber"]
        assert b["mi_bits"] == pytest.approx(a["mi_bits"], abs=1e-5)  # H(p) = ln 16 in float32 against k = 4
        assert b["train_loss"] == pytest.approx(a["train_loss"] - math.log(16), abs=1e-5)  # CE - H(X)


@pytest.mark.long
def test_the_mi_of_a_learned_distribution_three_ways() -> None:
    """Quadrature over the learned points and probabilities, Monte Carlo, the training bound: they agree within their errors."""
    esno = 10.0
    ebno = float(esno_db_to_ebno_db(esno, 4))
    torch.manual_seed(0)
    model = Autoencoder(4, 1, constellation=True, shaping="joint", hidden=64)
    history = _fit(model, 4, ebno, batches=60, batch_size=1024)
    c = model.constellation()
    p = model.transmitter.probabilities().detach().double()  # what the transmitter sends with
    # H(X) reported = the entropy of the learned probabilities (here by numpy); energy 1 under them
    assert c.entropy_bits == pytest.approx(float(-(p.numpy() * np.log2(p.numpy())).sum()), abs=1e-6)  # float32 probabilities, renormalised
    assert c.entropy_bits < 3.97  # it learned to shape
    assert float((p * c.points.to(torch.complex128).abs() ** 2).sum()) == pytest.approx(1.0, abs=1e-6)
    assert float((p * model.transmitter.symbol_table().detach()[:, 0].to(torch.complex128).abs() ** 2).sum()) == pytest.approx(1.0, abs=1e-6)
    quadrature = float(mi(c, esno))
    estimate, low, high = mi_with_interval(c, esno, num_samples=200_000, seed=1, confidence=0.999)
    assert low <= quadrature <= high
    bound = estimate_mi(model, ebno, num_messages=200_000, seed=2, confidence=0.999)
    assert bound["low"] <= quadrature + 1e-3  # a lower bound (the receiver is not exact)...
    assert bound["mi_bits_per_message"] > quadrature - 0.03  # ...and a tight one after training
    assert history.last["mi_bits"] == pytest.approx(bound["mi_bits_per_message"], abs=0.03)  # the validation bound (weighted) agrees with the sampled one
    assert quadrature > float(mi(c.points, esno)) + 0.01  # the probabilities are worth more than the same points sent equiprobably
    # the engine draws from the learned distribution: its SER agrees with the validation's weighted SER
    row = simulate([model], [ebno], target_errors=4000, target_metric="symbol", seed=5, progress=False)[0]
    sigma = math.sqrt(row["ser"] * (1 - row["ser"]) / row["symbols"]) + math.sqrt(row["ser"] / 8192)  # engine + validation (weighted) standard errors
    assert abs(row["ser"] - history.last["val_ser"]) < 4 * sigma, (row["ser"], history.last["val_ser"])


def test_the_objective_is_ce_minus_entropy_with_weights() -> None:
    torch.manual_seed(1)
    logits = torch.randn(8, requires_grad=True)
    objective = ShapedObjective(SymbolCrossEntropy(3), lambda: torch.log_softmax(logits, -1))
    outputs = torch.randn(8, 8)
    messages = torch.arange(8)  # every message once: the weighted mean is the exact expectation
    p = torch.softmax(logits, -1)
    ce = torch.nn.functional.cross_entropy(outputs, messages, reduction="none")
    want = (p * ce).sum() - (-(p * p.log()).sum())
    assert float(objective(outputs, messages).detach()) == pytest.approx(float(want.detach()), abs=1e-6)
    objective(outputs, messages).backward()
    g_got = logits.grad.clone()
    logits.grad = None
    want.backward()
    assert torch.allclose(g_got, logits.grad, atol=1e-6)
    assert objective.mi_bits(float(want.detach())) == pytest.approx(-float(want.detach()) / math.log(2))
    assert objective.information == "MI"
    bitwise = ShapedObjective(BitwiseBCE(3, reduction="none"), lambda: torch.log_softmax(logits, -1))
    assert bitwise.information == "BMD rate" and bitwise(torch.randn(8, 3), messages).shape == (8,)


def test_probabilistic_shaping_keeps_the_qam_grid_and_unit_energy_under_p() -> None:
    tx = Transmitter(4, 1, shaping="probabilistic")
    with torch.no_grad():
        tx.logits.copy_(torch.linspace(-2, 1, 16))
    x = tx.symbol_table().detach()[:, 0].to(torch.complex128)
    p = tx.probabilities().detach().double()
    assert float((p * x.abs() ** 2).sum()) == pytest.approx(1.0, abs=1e-6)
    from commae.constellations import qam

    grid = qam(16)
    ratio = x / grid.points[grid.index_of_label].to(torch.complex128)  # message m is QAM's Gray label m
    assert float((ratio - ratio[0]).abs().max()) < 1e-6 and float(ratio[0].real) > 0
    assert [n for n, _ in tx.named_parameters()] == ["logits"]
    for bad in (dict(k=3), dict(n=2), dict(constellation=True)):
        with pytest.raises(ValueError, match="probabilistic"):
            Transmitter(**{"k": 4, "n": 1, **bad}, shaping="probabilistic")
    with pytest.raises(ValueError, match="normalization='batch'"):
        Transmitter(4, 2, shaping="joint", normalization="message")
    with pytest.raises(ValueError, match="shaping"):
        Transmitter(4, 1, shaping="both")


def test_model_free_training_reaches_the_logits() -> None:
    """The receiver half's weighted loss carries the gradient of E_p[loss] - H(X) to the logits; the transmitter half the policy gradient of the points."""
    torch.manual_seed(2)
    model = Autoencoder(4, 1, shaping="joint", hidden=16)
    loss_fn = ShapedObjective(make_loss("ce", 4), model.transmitter.log_probabilities)
    messages = torch.randint(0, 16, (256,))
    loss, shown = ModelFree(0.02)(model, loss_fn, (messages, 0.1, torch.Generator().manual_seed(0)), messages)
    loss.backward()
    grad = model.transmitter.logits.grad
    assert grad is not None and bool(torch.isfinite(grad).all()) and float(grad.abs().sum()) > 0
    assert model.transmitter.embedding[0].weight.grad is not None


def test_checkpoints_hold_the_logits_and_an_older_one_is_refused_clearly(tmp_path) -> None:
    from commae import schemas

    shaped = SystemConfig(shaping="joint").build()
    state = shaped.state_dict()
    assert "transmitter.logits" in state and "transmitter.logits" not in SystemConfig().build().state_dict()
    del state["transmitter.logits"]
    with pytest.raises(schemas.SchemaError, match="lacks 'transmitter.logits'"):
        schemas.check_model_state(state, shaped, tmp_path / "model.pt")
    assert SystemConfig(shaping="joint").normalization == "batch"  # over any channel: the average under p


@pytest.mark.long
def test_train_and_info_report_a_shaped_run(tmp_path) -> None:
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path):
        args = ["train", "--k", "4", "--snr", "10", "--esno", "--shaping", "joint", "--points", "--epochs", "2", "--batches-per-epoch", "20", "--val-size", "8192", "--out", "run", "-q"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "entropy H(X) = " in result.output and "BMD rate" in result.output and "training bound" in result.output
        assert json.loads(open("run/config.json").read())["system"]["shaping"] == "joint"
        from commae.runs import load_model

        model = load_model("run")
        assert model.message_probabilities() is not None
        info = runner.invoke(cli, ["info", "run", "--baseline", "qam16", "--esno", "10", "--out", "info.csv"])
        assert info.exit_code == 0, info.output
        assert "H(X)" in info.output and "shaped, points sent with probabilities of their own: run" in info.output
        rows = open("info.csv").read().splitlines()
        learned = dict(zip(rows[0].split(","), rows[2].split(",")))
        assert float(learned["entropy_bits_per_use"]) == pytest.approx(model.constellation().entropy_bits, abs=1e-9)
        for bad, match in ((["--k", "3", "--shaping", "probabilistic"], "--shaping probabilistic"), (["--shaping", "joint", "--normalization", "amplitude"], "--normalization batch")):
            refused = runner.invoke(cli, ["train", *bad, "--dry-run"])
            assert refused.exit_code == 2 and match in refused.output and "Traceback" not in refused.output


def test_shaping_is_a_copyable_objective_for_the_model_free_cost() -> None:
    model = Autoencoder(4, 1, shaping="joint", hidden=16)
    objective = ShapedObjective(make_loss("ce", 4), model.transmitter.log_probabilities)
    per = copy.copy(objective)
    per.reduction = "none"
    outputs, messages = torch.randn(32, 16), torch.randint(0, 16, (32,))
    assert per(outputs, messages).shape == (32,)
    assert float(per(outputs, messages).mean().detach()) == pytest.approx(float(objective(outputs, messages).detach()), abs=1e-6)
    assert objective.reduction == "mean"
