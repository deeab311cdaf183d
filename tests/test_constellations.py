import itertools
import math

import pytest
import torch

from commae import Constellation, apsk, bits_to_int, gray_code, int_to_bits, maxwell_boltzmann, pam, psk, qam

ALL = [("qam", m) for m in (4, 16, 64, 256)] + [("psk", m) for m in (2, 4, 8, 16)] + [("pam", m) for m in (2, 4, 8)]
MAKERS = {"qam": qam, "psk": psk, "pam": pam}


@pytest.mark.parametrize("kind, M", ALL)
def test_unit_average_energy(kind, M):
    c = MAKERS[kind](M)
    assert c.points.dtype == torch.complex64
    assert c.points.shape == (M,)
    assert float(c.points.abs().pow(2).mean()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("kind, M", ALL)
def test_gray_neighbours_differ_in_one_bit(kind, M):
    c = MAKERS[kind](M)
    pts = c.points.to(torch.complex128)
    dist = (pts[:, None] - pts[None, :]).abs()
    d_min = dist[~torch.eye(M, dtype=torch.bool)].min()
    labels = c.bit_labels
    pairs = 0
    for i, j in itertools.combinations(range(M), 2):
        if dist[i, j] < d_min * (1 + 1e-6):
            assert int((labels[i] != labels[j]).sum()) == 1, (i, j, labels[i], labels[j])
            pairs += 1
    # every point has at least one nearest neighbour (a chain or a grid)
    expected = {"qam": 2 * int(math.isqrt(M)) * (int(math.isqrt(M)) - 1), "psk": M if M > 2 else 1, "pam": M - 1}[kind]
    assert pairs == expected


@pytest.mark.parametrize("kind, M", ALL)
def test_bits_indices_points_round_trip(kind, M):
    c = MAKERS[kind](M)
    indices = torch.arange(M)
    bits = c.indices_to_bits(indices[:, None])  # [M, k]
    assert bits.shape == (M, c.k)
    assert torch.equal(c.bits_to_indices(bits).flatten(), indices)
    assert torch.equal(c.map(bits).flatten(), c.points)
    # several symbols per row
    many = torch.randint(0, 2, (5, 3 * c.k)).float()
    assert torch.equal(c.indices_to_bits(c.bits_to_indices(many)), many)


def test_qam16_layout_and_labels():
    c = qam(16)
    levels = torch.tensor([-3.0, -1.0, 1.0, 3.0]) / math.sqrt(10)
    assert torch.allclose(torch.unique(c.points.real), levels, atol=1e-6)
    # first two bits pick the in-phase level, Gray-coded right to left (bit 0 on the positive side): 10 11 01 00
    for bits, level in zip(([1, 0], [1, 1], [0, 1], [0, 0]), levels):
        sym = c.map(torch.tensor([bits + [0, 0]], dtype=torch.float32))
        assert float(sym.real) == pytest.approx(float(level), abs=1e-6)


def test_qpsk_is_two_bpsks_and_2pam_is_bpsk():
    bits = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    x = qam(4).map(bits).flatten() * math.sqrt(2)
    assert torch.allclose(x.real, 1 - 2 * bits[:, 0]) and torch.allclose(x.imag, 1 - 2 * bits[:, 1])
    assert torch.allclose(pam(2).map(bits[:, :1]).flatten().real, 1 - 2 * bits[:, 0])
    assert torch.allclose(psk(2).map(bits[:, :1]).flatten().real, 1 - 2 * bits[:, 0])


def test_gray_and_bit_helpers():
    assert gray_code(torch.arange(4)).tolist() == [0, 1, 3, 2]
    values = torch.arange(256)
    assert torch.equal(bits_to_int(int_to_bits(values, 8)), values)


def test_custom_constellation_is_normalised_and_keeps_labels():
    pts = torch.tensor([3 + 0j, 0 + 3j, -3 + 0j, 0 - 3j])
    c = Constellation(pts, labels=torch.tensor([0, 1, 3, 2]))
    assert float(c.points.abs().pow(2).mean()) == pytest.approx(1.0, abs=1e-6)
    assert c.kind == "custom"
    assert c.bit_labels[2].tolist() == [1.0, 1.0]
    assert torch.allclose(Constellation(torch.view_as_real(pts)).points, c.points)


def test_trainable_constellation_normalises_inside_forward():
    c = qam(16, trainable=True)
    assert isinstance(c.weight, torch.nn.Parameter) and c.weight.shape == (16, 2)
    assert c.kind == "custom"
    with torch.no_grad():
        c.weight.mul_(5.0)
    pts = c()
    assert float(pts.detach().abs().pow(2).mean()) == pytest.approx(1.0, abs=1e-6)
    # the power constraint is in the graph: scaling every point has zero gradient
    pts.abs().pow(2).sum().backward()
    assert c.weight.grad is not None
    assert float(c.weight.grad.abs().max()) < 1e-5
    # and a loss that moves one point gives a non-zero gradient
    c.zero_grad()
    c()[0].real.backward()
    assert float(c.weight.grad.abs().max()) > 1e-3


@pytest.mark.parametrize("kind, M", [*ALL, ("apsk", 16), ("mb", 16), ("trainable", 64)])
def test_by_label_puts_point_i_on_label_i_and_maps_bits_as_before(kind, M):
    """``by_label()``: point i is the point labelled i, the same bits map to the same points bit for bit (probabilities with them); the slicer's kind only where the order did not change."""
    c = {"apsk": lambda m: apsk(m), "mb": lambda m: maxwell_boltzmann(qam(m), 0.5), "trainable": lambda m: qam(m, trainable=True)}.get(kind, MAKERS.get(kind))(M)
    ordered = c.by_label()
    labels = torch.arange(M)
    bits = int_to_bits(labels, c.k)
    assert torch.equal(ordered.labels, labels) and torch.equal(ordered.points, c.map(bits).flatten())
    assert torch.equal(ordered.map(bits), c.map(bits)) and ordered.trainable == c.trainable
    assert torch.equal(ordered.label_probabilities, c.label_probabilities)
    assert ordered.kind == (c.kind if torch.equal(c.labels, labels) else "custom")
    if c.trainable:
        assert isinstance(ordered.weight, torch.nn.Parameter) and torch.equal(ordered.weight, c.weight[c.index_of_label])


def test_constellation_moves_with_the_module(device):
    c = psk(8).to(device)
    assert c.points.device.type == device.type
    bits = torch.randint(0, 2, (10, 3), device=device).float()
    assert c.map(bits).device.type == device.type


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: qam(8), "M must be a square power of two"),
        (lambda: qam(12), "M must be a power of two"),
        (lambda: qam(1), "M must be a power of two"),
        (lambda: psk(3), "M must be a power of two"),
        (lambda: pam(6), "M must be a power of two"),
        (lambda: Constellation(torch.zeros(3, 2)), "number of points must be a power of two"),
        (lambda: Constellation(torch.zeros(4, 3)), r"points must be \[M\] complex or \[M, 2\] real"),
        (lambda: Constellation(torch.ones(4, 2), labels=torch.tensor([0, 0, 1, 2])), "labels must be a permutation"),
        (lambda: Constellation(torch.zeros(4, 2)), "points must not all be zero"),
        (lambda: qam("16"), "M must be a power of two"),
        (lambda: psk(None), "M must be a power of two"),
        (lambda: qam(16).map(torch.full((2, 4), 2.0)), "bits must be 0 or 1"),
    ],
)
def test_bad_input_names_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bits_of_the_wrong_width_are_refused():
    with pytest.raises(ValueError, match="multiple of k=4"):
        qam(16).bits_to_indices(torch.zeros(3, 6))
