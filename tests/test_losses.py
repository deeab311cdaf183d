import math

import pytest
import torch

from commae.losses import BitwiseBCE, SymbolCrossEntropy, make_loss


def test_symbol_ce_mi_bound_limits():
    ce = SymbolCrossEntropy(k=3)
    labels = torch.arange(8)
    assert ce.mi_bits(float(ce(torch.eye(8) * 50, labels))) == pytest.approx(3.0, abs=1e-6)
    assert ce.mi_bits(float(ce(torch.zeros(8, 8), labels))) == pytest.approx(0.0, abs=1e-6)
    assert ce(torch.zeros(8, 8), labels).item() == pytest.approx(math.log(8))


def test_bitwise_bce_uses_llr_as_logit_of_one():
    bce = BitwiseBCE(k=2)
    messages = torch.tensor([0, 1, 2, 3])  # bits 00, 01, 10, 11 (MSB first)
    llr = torch.tensor([[-30.0, -30.0], [-30.0, 30.0], [30.0, -30.0], [30.0, 30.0]])
    assert float(bce(llr, messages)) < 1e-9
    assert bce.mi_bits(float(bce(llr, messages))) == pytest.approx(2.0, abs=1e-6)
    assert bce.mi_bits(float(bce(torch.zeros(4, 2), messages))) == pytest.approx(0.0, abs=1e-6)
    assert float(bce(-llr, messages)) > 20  # the opposite sign is confidently wrong
    bits = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert torch.equal(bce(llr, bits), bce(llr, messages))


def test_per_example_losses():
    ce = SymbolCrossEntropy(k=2, reduction="none")
    assert ce(torch.zeros(5, 4), torch.zeros(5, dtype=torch.int64)).shape == (5,)
    bce = BitwiseBCE(k=2, reduction="none")
    per = bce(torch.zeros(5, 2), torch.zeros(5, dtype=torch.int64))
    assert torch.allclose(per, torch.full((5,), 2 * math.log(2)))


def test_make_loss_and_bad_names():
    assert isinstance(make_loss("ce", 4), SymbolCrossEntropy)
    assert isinstance(make_loss("bce", 4), BitwiseBCE)
    with pytest.raises(ValueError, match="loss must be 'ce' or 'bce'"):
        make_loss("mse", 4)
    with pytest.raises(ValueError, match="reduction must be"):
        SymbolCrossEntropy(2, reduction="sum")
