import math

import pytest
import torch

from commae import AWGN, Autoencoder, Hamming74, Modem, Rayleigh, UncodedBPSK, pam, psk, qam
from commae.channels import broadcast_no
from commae.constellations import Constellation
from commae.simulation import Messages, fast_counter, simulate, write_results
from commae.simulation.fastpath import _HardThresholds
from commae.simulation.scratch import Scratch
from commae.snr import noise_std_per_real_dim
from commae.system import errors

COMPLEX = {
    "awgn": AWGN,
    "rayleigh-fast-csi": lambda: Rayleigh("fast", csi=True),
    "rayleigh-block-csi": lambda: Rayleigh("block", csi=True),
    "rayleigh-fast-nocsi": lambda: Rayleigh("fast", csi=False),
}
SYSTEMS = {
    "qpsk": lambda ch: Modem(qam(4), ch),
    "qam16": lambda ch: Modem(qam(16), ch),
    "qam64x3": lambda ch: Modem(qam(64), ch, symbols_per_message=3),
    "psk8": lambda ch: Modem(psk(8), ch),
    "psk16x2": lambda ch: Modem(psk(16), ch, symbols_per_message=2),
    "bpsk": lambda ch: Modem(psk(2), ch),
    "hamming-hard": lambda ch: Hamming74("hard", ch),
    "hamming-soft": lambda ch: Hamming74("soft", ch),
    "uncoded-1": lambda ch: UncodedBPSK(1, ch),
    "uncoded-5": lambda ch: UncodedBPSK(5, ch),
}
REAL = {
    "pam4": lambda: Modem(pam(4), AWGN(real=True)),
    "pam8x2": lambda: Modem(pam(8), AWGN(real=True), symbols_per_message=2),
    "hamming-hard-real": lambda: Hamming74("hard", AWGN(real=True)),
    "uncoded-3-real": lambda: UncodedBPSK(3, AWGN(real=True)),
}
CASES = {f"{s}-{c}": (lambda s=s, c=c: SYSTEMS[s](COMPLEX[c]())) for s in SYSTEMS for c in COMPLEX}
CASES.update(REAL)


def _generic(system, bits, no, gen):
    e = errors(system, bits.to(torch.float32), no, gen)
    return [int(e.bits.sum()), int(e.symbols.sum()), int(e.blocks.sum())]


@pytest.mark.parametrize("case", list(CASES))
def test_fast_counts_equal_the_generic_counts_on_the_same_draws(case):
    system = CASES[case]()
    count = fast_counter(system)
    assert count is not None
    gen = torch.Generator()
    total = 0
    for i, no in enumerate([0.1, 0.5, 2.0]):
        gen.manual_seed(100 + i)
        bits = torch.randint(0, 2, (8000, system.k), generator=gen, dtype=torch.uint8)
        state = gen.get_state()
        fast = count(bits, no, gen).tolist()
        after_fast = gen.get_state()
        gen.set_state(state)
        assert fast == _generic(system, bits, no, gen), (case, no)
        assert torch.equal(after_fast, gen.get_state())  # the same draws were consumed
        total += fast[0]
    assert total > 300  # the comparison saw errors


def test_engine_rows_are_identical_with_and_without_the_fast_path(tmp_path):
    systems = lambda: [Modem(qam(16)), Hamming74("hard"), Hamming74("soft", name="soft"), UncodedBPSK(4), Modem(psk(8), name="p8")]  # noqa: E731
    kw = {"target_errors": 100, "batch_size": 4000, "seed": 11, "progress": False}
    paths = [write_results(simulate(systems(), [0.0, 5.0], fast=fast, **kw), tmp_path / f"{fast}.csv", {})[0] for fast in (True, False)]
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_other_systems_take_the_generic_path():
    class Sub(Modem):
        pass

    assert fast_counter(Sub(qam(4))) is None
    assert fast_counter(Modem(Constellation(torch.randn(8, 2), trainable=True))) is None
    assert fast_counter(Modem(Constellation(torch.randn(8, 2)))) is None  # custom geometry: exhaustive search
    assert fast_counter(Autoencoder(4, 1)) is None
    assert fast_counter(Modem(qam(4), Rayleigh("fast"))) is not None


def test_the_system_names_its_counter():
    """The engine asks the system (``fast_path``), never its class: a subclass that keeps what it sends and decides may say so."""

    class Renamed(Modem):
        fast_path = "modem"

    class Relabelled(Hamming74):
        fast_path = "hamming74"

    assert [Modem(qam(4)).fast_path, Hamming74().fast_path, UncodedBPSK(2).fast_path] == ["modem", "hamming74", "uncoded_bpsk"]
    assert fast_counter(Renamed(qam(16))) is not None and fast_counter(Relabelled("soft")) is not None
    gen = torch.Generator().manual_seed(5)
    bits = torch.randint(0, 2, (2000, 4), generator=gen, dtype=torch.uint8)
    state = gen.get_state()
    fast = fast_counter(Renamed(qam(16)))(bits, 0.2, gen).tolist()
    slow = errors(Renamed(qam(16)), bits.float(), 0.2, gen.set_state(state))
    assert fast == [int(slow.bits.sum()), int(slow.symbols.sum()), int(slow.blocks.sum())]


def test_a_channel_that_replaces_forward_leaves_the_fast_path():
    """The channel says whether it is linear Gaussian; a subclass that changes ``forward`` is not, unless it says so."""

    class Clipped(AWGN):
        def forward(self, x, no, generator=None):
            return super().forward(x, no, generator).clamp(-1, 1)

    class Renamed(AWGN):
        name = "renamed-awgn"

    assert not Clipped().linear_gaussian and fast_counter(Modem(pam(4), Clipped(real=True))) is None
    assert Renamed().linear_gaussian and fast_counter(Modem(pam(4), Renamed(real=True))) is not None
    assert fast_counter(Hamming74("hard", channel=Clipped())) is None and fast_counter(UncodedBPSK(1, channel=Clipped())) is None


@pytest.mark.parametrize("k", [1, 4, 7, 13, 40, 70])
def test_drawn_messages_are_uniform_independent_bits(k):
    # 64 random bits a draw, cut into labels: every bit of every message a fair coin, independent of the others
    gen = torch.Generator().manual_seed(k)
    size = 60_000
    messages = Messages.draw(size, k, gen)
    bits = messages.bits().to(torch.float64)  # [N, k]
    assert bits.shape == (size, k)
    # each bit position: mean 1/2 within 5 sigma
    assert ((bits.mean(0) - 0.5).abs() < 5 * 0.5 / size**0.5).all()
    # correlation of any two bits of a message, and of a message's bits with the next message's (word and field boundaries)
    centred = bits - 0.5
    within = (centred.T @ centred) / (0.25 * size)  # [k, k], identity in expectation
    across = (centred[:-1].T @ centred[1:]) / (0.25 * (size - 1))
    off = within - torch.eye(k, dtype=torch.float64)
    limit = 5.5 / size**0.5  # 5.5 sigma over at most 70 x 70 entries
    assert off.abs().max() < limit and across.abs().max() < limit
    if messages.labels is not None:
        weights = torch.tensor([1 << (k - 1 - j) for j in range(k)], dtype=torch.float64)
        assert torch.equal((bits @ weights).to(torch.int64), messages.labels.to(torch.int64))  # bits are the labels, MSB first


def test_labels_are_uniform_over_the_messages():
    # chi-square of the 16 labels of 4-bit messages: the statistic of 15 degrees of freedom below its 1e-4 quantile
    labels = Messages.draw(160_000, 4, torch.Generator().manual_seed(3)).labels
    counts = torch.bincount(labels.to(torch.int64), minlength=16).to(torch.float64)
    chi2 = float(((counts - 10_000) ** 2 / 10_000).sum())
    assert chi2 < 44.3  # scipy.stats.chi2.ppf(1 - 1e-4, 15) = 44.26


def test_the_first_messages_of_a_batch_do_not_depend_on_its_size():
    for k in (4, 13, 70):
        small = Messages.draw(10, k, torch.Generator().manual_seed(1))
        large = Messages.draw(1000, k, torch.Generator().manual_seed(1))
        assert torch.equal(small.bits(), large.bits()[:10])


def test_messages_from_bits_round_trip():
    bits = torch.randint(0, 2, (50, 12), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    m = Messages.from_bits(bits)
    again = Messages(12, labels=m.labels)
    assert torch.equal(again.bits(), bits) and torch.equal(again.float_bits(), bits.float())
    assert torch.equal(m.symbol_labels(4), Messages.from_bits(bits.view(150, 4)).labels.view(50, 3).to(m.symbol_labels(4).dtype))


@pytest.mark.parametrize(
    "make",
    [
        lambda: Modem(qam(16)),
        lambda: Modem(qam(16), symbols_per_message=16),
        lambda: Hamming74("hard"),
        lambda: UncodedBPSK(70),
        lambda: Modem(pam(4), AWGN(real=True)),
        lambda: Modem(qam(1024)),
        lambda: Modem(qam(256), Rayleigh("fast")),
    ],
)
def test_fast_counts_equal_the_generic_counts_on_drawn_messages(make):
    # the engine's draw (labels, or bits alone past 63 bits): both paths see the same messages and noise
    system = make()
    count = fast_counter(system)
    gen = torch.Generator().manual_seed(5)
    messages = Messages.draw(3000, system.k, gen)
    state = gen.get_state()
    fast = count(messages, 1.0, gen).tolist()
    assert fast == _generic(system, messages.bits(), 1.0, gen.set_state(state))
    assert fast[0] > 100


def test_a_fast_system_and_a_generic_one_of_the_same_shape_get_the_same_counts():
    # common random numbers across the two paths: the same messages and noise give the same errors
    class Generic(Modem):
        pass

    rows = simulate([Modem(qam(16)), Generic(qam(16), name="generic")], [2.0, 6.0], target_errors=500, batch_size=3000, seed=4, progress=False)
    by_point = {}
    for r in rows:
        by_point.setdefault(r["ebno_db"], []).append({c: r[c] for c in ("bits", "bit_errors", "symbol_errors", "block_errors")})
    assert all(a == b for a, b in by_point.values()) and len(by_point) == 2


@pytest.mark.parametrize("real", [False, True])
def test_hard_thresholds_give_the_channels_decision_at_the_boundary(real):
    # the draws at and next to each threshold decide as the channel's own floats do: fl(x + noise) < 0, noise as AWGN scales it
    thresholds = _HardThresholds(real)
    for no in (1e-3, 0.37, 1.0, 2.5, 40.0):
        like = torch.zeros(1, 7, 2)
        below_minus, below_plus = thresholds(no, like)
        w = torch.tensor([below_minus, below_plus], dtype=torch.float32)
        w = torch.stack([torch.nextafter(w, torch.tensor(-math.inf)), w, torch.nextafter(w, torch.tensor(math.inf))], -1).flatten()  # [6]
        for x in (1.0, -1.0):
            if real:
                y = x + w * noise_std_per_real_dim(broadcast_no(no, w))  # AWGN(real=True)
            else:
                noise = torch.view_as_complex(torch.stack([w, torch.zeros_like(w)], -1)) * noise_std_per_real_dim(1.0)
                y = (torch.complex(torch.full_like(w, x), torch.zeros_like(w)) + noise * torch.sqrt(broadcast_no(no, w))).real  # AWGN()
            assert torch.equal(y < 0, w < (below_minus if x == 1.0 else below_plus)), (no, x)
        assert (w[:3] < below_minus).tolist() == [True, False, False] and (w[3:] < below_plus).tolist() == [True, False, False]


def test_scratch_lends_the_same_tensor_until_the_shape_changes():
    scratch = Scratch()
    a = scratch("x", (4, 2), torch.float32, torch.device("cpu"))
    assert scratch("x", (4, 2), torch.float32, torch.device("cpu")).data_ptr() == a.data_ptr()
    assert scratch("x", (5, 2), torch.float32, torch.device("cpu")).shape == (5, 2)
    assert scratch("y", (4, 2), torch.float32, torch.device("cpu")).data_ptr() != scratch("x", (4, 2), torch.float32, torch.device("cpu")).data_ptr()
    # messages drawn into a scratch are the messages drawn without one
    plain = Messages.draw(1000, 4, torch.Generator().manual_seed(2))
    lent = Messages.draw(1000, 4, torch.Generator().manual_seed(2), scratch=scratch)
    assert torch.equal(plain.labels, lent.labels)


def _around(values: torch.Tensor, steps: int) -> torch.Tensor:
    """Every float32 within ``steps`` representable values of each of ``values``."""
    out = [values]
    up = down = values
    for _ in range(steps):
        up, down = torch.nextafter(up, torch.tensor(math.inf)), torch.nextafter(down, torch.tensor(-math.inf))
        out += [up, down]
    return torch.cat(out)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Modem(qam(4)),
        lambda: Modem(qam(16)),
        lambda: Modem(qam(64), symbols_per_message=2),
        lambda: Modem(qam(256)),
        lambda: Modem(qam(1024)),
        lambda: Modem(pam(8)),
        lambda: Modem(pam(4), AWGN(real=True)),
    ],
    ids=["qam4", "qam16", "qam64x2", "qam256", "qam1024", "pam8", "pam4-real"],
)
def test_the_slicer_decides_as_the_modem_on_every_float_near_a_boundary(make):
    # the fast slicer divides by 2 scale and adds (side - 1) / 2 where the modem divides by scale, adds side - 1 and
    # halves, and reads both levels as one complex product: the same decisions on the floats where they could differ,
    # the 64 representable values on each side of every decision boundary, signed zeros, subnormals and huge values
    modem = make()
    count = fast_counter(modem)
    side, scale = modem._side, modem._level_scale
    nominal = torch.tensor([(2 * j - side + 2) * scale for j in range(side - 1)], dtype=torch.float32)  # level j | j + 1
    special = torch.tensor([0.0, -0.0, 1e-45, -1e-45, 1e-39, -1e-39, 3e38, -3e38, 1e-30, -1e-30])
    u = torch.cat([_around(nominal, 64), special, torch.randn(20000) * side * scale])
    u = u[torch.randperm(u.numel(), generator=torch.Generator().manual_seed(0))]
    if modem.channel.real:
        y = u.view(-1, 1)
        expected = modem.decide(y)
    else:
        v = u[torch.randperm(u.numel(), generator=torch.Generator().manual_seed(1))]
        y = torch.stack([u, v], -1).view(-1, 1, 2)
        expected = modem.decide(torch.view_as_complex(y.clone()))
    assert count.shift == (modem.constellation.k if count.pairs is not None else 0)
    assert torch.equal(count._slice(y.clone()), expected << count.shift)


def test_hamming_hard_words_do_not_depend_on_the_byte_the_counter_never_writes(monkeypatch):
    # the hard bits of a word are packed from 8 bytes of which the counter writes 7: the eighth, whatever it holds, must
    # not reach the word. Here every new scratch tensor comes with all its bytes 0xFF, and batches change size (new
    # tensors) and repeat it (the same tensors)
    real_call = Scratch.__call__

    def dirty(self, name, shape, dtype, device):
        before = self._tensors.get(name)
        t = real_call(self, name, shape, dtype, device)
        if t is not before:
            t.view(torch.uint8).fill_(255)
        return t

    monkeypatch.setattr(Scratch, "__call__", dirty)
    system = Hamming74("hard")
    count = fast_counter(system)
    gen = torch.Generator()
    for i, size in enumerate([5000, 1200, 1200, 5000]):
        gen.manual_seed(30 + i)
        bits = torch.randint(0, 2, (size, 4), generator=gen, dtype=torch.uint8)
        state = gen.get_state()
        fast = count(bits, 0.5, gen).tolist()
        assert fast == _generic(system, bits, 0.5, gen.set_state(state)), size
        assert fast[0] > 20


@pytest.mark.parametrize("make", [lambda: Modem(qam(16)), lambda: Modem(qam(64), symbols_per_message=3)], ids=["qam16", "qam64x3"])
def test_qam_counts_stay_the_generic_counts_as_the_batch_size_changes(make):
    # the QAM counter over AWGN keeps its tensors and views for one batch size: a new size makes new ones, the same
    # size reuses them, and every batch counts what the generic path counts on the same draws
    system = make()
    count = fast_counter(system)
    gen = torch.Generator()
    for i, size in enumerate([5000, 1200, 1200, 5000]):
        gen.manual_seed(40 + i)
        bits = torch.randint(0, 2, (size, system.k), generator=gen, dtype=torch.uint8)
        state = gen.get_state()
        fast = count(bits, 0.3, gen).tolist()
        assert fast == _generic(system, bits, 0.3, gen.set_state(state)), size
        assert fast[0] > 20
