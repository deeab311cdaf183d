import pytest
import torch

from commae import AWGN, Autoencoder, Hamming74, Modem, Rayleigh, UncodedBPSK, pam, psk, qam
from commae.constellations import Constellation
from commae.fastpath import fast_counter
from commae.simulation import simulate, write_results
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
