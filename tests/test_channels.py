import math

import pytest
import torch

from commae import ADC, AWGN, Cascade, Channel, PhaseNoise, RappPA, Rayleigh, Rician, make_generator

# With N samples, a sample variance has relative std sqrt(2/N); N = 2**20 gives 0.14 %, so 1 % is ~7 sigma.
N = 1 << 20


def test_complex_awgn_has_variance_no_over_two_per_real_dimension(device):
    no = 0.3
    x = torch.zeros(N // 16, 16, dtype=torch.complex64, device=device)
    w = AWGN()(x, no, generator=1)
    assert w.dtype == torch.complex64 and w.device.type == device.type
    assert float(w.real.var()) == pytest.approx(no / 2, rel=0.01)
    assert float(w.imag.var()) == pytest.approx(no / 2, rel=0.01)
    assert float(w.abs().pow(2).mean()) == pytest.approx(no, rel=0.01)
    assert abs(float((w.real * w.imag).mean())) < 0.01 * no  # independent parts
    assert abs(float(w.real.mean())) < 0.01


def test_real_awgn_has_variance_no_over_two(device):
    no = 0.8
    x = torch.zeros(N // 7, 7, device=device)
    w = AWGN(real=True)(x, no, generator=2)
    assert w.dtype == torch.float32
    assert float(w.var()) == pytest.approx(no / 2, rel=0.01)


def test_per_example_noise_broadcasts_over_channel_uses():
    no = torch.tensor([0.0, 1.0, 4.0])
    x = torch.zeros(3, N // 4, dtype=torch.complex64)
    w = AWGN()(x, no, generator=3)
    assert float(w[0].abs().max()) == 0.0
    assert float(w[1].abs().pow(2).mean()) == pytest.approx(1.0, rel=0.01)
    assert float(w[2].abs().pow(2).mean()) == pytest.approx(4.0, rel=0.01)


@pytest.mark.parametrize("fading", ["fast", "block"])
def test_rayleigh_gain_has_unit_power(fading, device):
    x = torch.ones(N // 8, 8, dtype=torch.complex64, device=device)
    y, h = Rayleigh(fading=fading, csi=True)(x, 0.0, generator=4)
    assert h.shape == x.shape and torch.equal(y, h)  # noiseless: y = h x
    rows = h[:, 0] if fading == "block" else h.flatten()
    assert float(rows.abs().pow(2).mean()) == pytest.approx(1.0, rel=0.02)
    assert float(rows.real.var()) == pytest.approx(0.5, rel=0.02)
    assert abs(float(rows.mean().abs())) < 0.01
    # |h|^2 is exponential: P(|h|^2 < 0.1) = 1 - exp(-0.1)
    assert float((rows.abs().pow(2) < 0.1).float().mean()) == pytest.approx(1 - math.exp(-0.1), rel=0.03)
    if fading == "block":
        assert torch.equal(h, h[:, :1].expand_as(h))
    else:
        assert not torch.equal(h[:, 0], h[:, 1])


def test_rayleigh_noise_and_csi_switch():
    x = torch.ones(N // 4, 4, dtype=torch.complex64)
    y, h = Rayleigh(csi=True)(x, 0.5, generator=5)
    w = y - h * x
    assert float(w.abs().pow(2).mean()) == pytest.approx(0.5, rel=0.01)
    y_no_csi = Rayleigh(csi=False)(x, 0.5, generator=5)
    assert isinstance(y_no_csi, torch.Tensor)
    assert torch.equal(y_no_csi, y)  # same draws, only h is withheld


@pytest.mark.parametrize("channel", [AWGN(), Rayleigh("fast"), Rayleigh("block", csi=False)])
def test_gradients_flow_back_to_the_input(channel):
    x = torch.randn(32, 4, dtype=torch.complex64, requires_grad=True)
    out = channel(x, 0.1, generator=6)
    y = out[0] if isinstance(out, tuple) else out
    y.abs().pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(torch.view_as_real(x.grad)).all()
    assert float(x.grad.abs().sum()) > 0


def test_real_awgn_gradient_is_identity():
    x = torch.randn(16, 7, requires_grad=True)
    AWGN(real=True)(x, 1.0, generator=0).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize("channel", [AWGN(), Rayleigh("fast"), Rayleigh("block")])
def test_same_seed_same_draws_new_seed_new_draws(channel):
    x = torch.ones(64, 3, dtype=torch.complex64)
    a = channel(x, 1.0, generator=11)
    b = channel(x, 1.0, generator=torch.Generator().manual_seed(11))
    c = channel(x, 1.0, generator=12)
    a, b, c = (t[0] if isinstance(t, tuple) else t for t in (a, b, c))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_generator_on_another_device_is_refused():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    x = torch.ones(4, 1, dtype=torch.complex64, device="cuda")
    with pytest.raises(ValueError, match="generator is on cpu"):
        AWGN()(x, 1.0, generator=torch.Generator())


def test_make_generator_accepts_int_and_none():
    assert make_generator(None, "cpu") is None
    g = make_generator(3, "cpu")
    assert torch.equal(torch.randn(3, generator=g), torch.randn(3, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError, match="generator must be"):
        make_generator("3", "cpu")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: AWGN()(torch.ones(2, 1, dtype=torch.complex64), -0.1), "no must be a finite, non-negative"),
        (lambda: AWGN()(torch.ones(2, 1, dtype=torch.complex64), float("nan")), "no must be a finite, non-negative"),
        (lambda: AWGN()(torch.ones(2, 1), 0.1), "x must be a complex tensor"),
        (lambda: AWGN(real=True)(torch.ones(2, 1, dtype=torch.complex64), 0.1), "x must be a real floating tensor"),
        (lambda: AWGN()(torch.ones(2, 3, dtype=torch.complex64), torch.ones(3)), "no must be a scalar or have the leading shape"),
        (lambda: Rayleigh()(torch.ones(2, 1), 0.1), "x must be a complex tensor"),
        (lambda: Rayleigh("block")(torch.ones(2, dtype=torch.complex64), 0.1), r"x must have shape \[B, n\]"),
        (lambda: Rayleigh("slow"), "fading must be 'fast' or 'block'"),
        (lambda: AWGN()(torch.tensor(1 + 0j), 0.1), r"x must have shape \[B, n\]"),
        (lambda: AWGN()(torch.ones(2, 1, dtype=torch.complex64), None), "no must be a finite, non-negative"),
        (lambda: AWGN()(torch.ones(2, 1, dtype=torch.complex64), 0.1 + 0.1j), "no must be a finite, non-negative"),
        (lambda: AWGN(real="yes"), "real must be True or False"),
        (lambda: Rayleigh(csi="no"), "csi must be True or False"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- what a channel answers for itself (issue 21) ------------------------------------------


def _facts(channel):
    return (channel.fading, channel.coherent, channel.default_normalization, channel.linear_gaussian, channel.has_likelihood, channel.closed_form)


@pytest.mark.parametrize(
    "make, facts",
    [
        (lambda: AWGN(), (None, True, "batch", True, True, {"channel": "awgn"})),
        (lambda: AWGN(real=True), (None, True, "batch", True, True, {"channel": "awgn"})),
        (lambda: Rayleigh("fast"), ("fast", True, "batch", True, True, {"channel": "rayleigh", "fading": "fast"})),
        (lambda: Rayleigh("block", csi=False), ("block", False, "message", True, False, None)),
        (lambda: Rician(2.0, "block"), ("block", True, "batch", True, True, {"channel": "rician", "k_factor": 2.0, "fading": "block"})),
        (lambda: Rician(2.0, "fast", csi=False), ("fast", False, "message", True, False, None)),
        (lambda: PhaseNoise(0.1), (None, True, "batch", False, False, None)),
        (lambda: ADC(3), (None, True, "batch", False, False, None)),
        (lambda: RappPA(), (None, True, "batch", False, False, None)),
        (lambda: Cascade(AWGN()), (None, True, "batch", False, True, None)),
        (lambda: Cascade(RappPA(), Rician(3.0, "block"), PhaseNoise(0.1), ADC(4)), ("block", True, "batch", False, True, None)),
        (lambda: Cascade(Rayleigh("block", csi=False), PhaseNoise(0.1)), ("block", False, "message", False, False, None)),
        (lambda: Cascade(Rayleigh("block", csi=True), Rician(1.0, "fast", csi=False)), ("fast", False, "message", False, False, None)),
    ],
)
def test_every_stage_answers_for_itself(make, facts):
    assert _facts(make()) == facts


def test_a_user_channel_inherits_safe_answers_and_overrides_what_it_knows():
    class Plain(Channel):
        def forward(self, x, no, generator=None):
            return AWGN()(x, no, generator)

    class Faded(Plain):
        fading = "block"

    assert _facts(Plain()) == (None, True, "batch", False, False, None)
    assert _facts(Faded()) == ("block", False, "message", False, False, None)
    assert _facts(Cascade(Faded(), PhaseNoise(0.1)))[:3] == ("block", False, "message")
    y = torch.ones(2, 1, dtype=torch.complex64)
    assert Plain().log_likelihood(y, torch.ones(2, dtype=torch.complex64), 0.1) is None
