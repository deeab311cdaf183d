"""The compiled min-sum kernel (commae.codes.bp_numba): the torch path's decisions, LLRs and iteration counts, bit for bit."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from commae.codes import KNOWN_LLR, LDPC5G, BPDecoder, BPResult, LinearCode, bp_numba, hamming74

DATA = Path(__file__).parent / "data" / "ldpc"
RULES = [("min-sum", {}), ("normalized-min-sum", {"scale": 0.8}), ("offset-min-sum", {"offset": 0.3})]

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread unless a test sets more
needs_numba = pytest.mark.skipif(not bp_numba.AVAILABLE, reason="numba is not installed (pip install commae[fast])")


def _irregular() -> LinearCode:
    """A small code with cycles, checks of degrees 1 to 6 and runs of rows that share variables (layers of one row)."""
    gen = torch.Generator().manual_seed(2)
    H = (torch.rand(12, 24, generator=gen) < 0.22).to(torch.uint8)
    H[torch.arange(12), torch.arange(12)] = 1
    H[torch.arange(12), torch.arange(12) + 1] = 1
    H[5] = 0
    H[5, 7] = 1  # a check of degree 1 (its second smallest magnitude is the cap)
    return LinearCode(H)


CODES = {
    "wimax": lambda: LinearCode.from_alist(DATA / "WIMAX_288_576.alist"),
    "5g": lambda: LDPC5G(750, 1500),  # punctured and filler bits: zeros and KNOWN_LLR reach the graph
    "hamming74": hamming74,
    "irregular": _irregular,
}


def _llrs(code, batch: int, seed: int, dtype=torch.float32) -> torch.Tensor:
    """Commae LLRs of random codewords, BPSK over AWGN at Eb/N0 from 0 to 4 dB a word (some stop at once, some never),
    with erased bits (+-0) and bits known for sure (+-KNOWN_LLR) sprinkled in, and a few noiseless words."""
    gen = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (batch, code.k), generator=gen).float()
    ebno_db = 4 * torch.rand(batch, 1, generator=gen)
    no = 1 / (code.k / code.n * 10 ** (ebno_db / 10))
    x = 1 - 2 * code.encode(bits)
    llr = (-4 * (x + torch.randn(batch, code.n, generator=gen) * (no / 2) ** 0.5) / no).to(dtype)
    special = torch.tensor([0.0, -0.0, KNOWN_LLR, -KNOWN_LLR], dtype=dtype)
    where = torch.rand(batch, code.n, generator=gen) < 0.02
    llr[where] = special[torch.randint(0, 4, (int(where.sum()),), generator=gen)]
    llr[: batch // 16] = -6 * x[: batch // 16].to(dtype)  # noiseless: the channel word is a codeword (0 iterations)
    return llr


def _assert_same(kernel: BPResult, reference: BPResult) -> None:
    assert torch.equal(kernel.iterations, reference.iterations)
    assert torch.equal(kernel.satisfied, reference.satisfied)
    assert torch.equal(kernel.word, reference.word) and torch.equal(kernel.bits, reference.bits)
    assert torch.equal(kernel.llr, reference.llr) and torch.equal(kernel.llr.signbit(), reference.llr.signbit())  # to the sign of a zero
    assert kernel.llr.dtype == reference.llr.dtype and kernel.iterations.dtype == torch.int64


def _both(code, algorithm, schedule, iterations, llr, **options) -> tuple[BPResult, BPResult]:
    kernel = BPDecoder(code, algorithm, schedule, iterations, backend="numba", **options).decode(llr)
    reference = BPDecoder(code, algorithm, schedule, iterations, backend="torch", **options).decode(llr)
    return kernel, reference


@needs_numba
@pytest.mark.parametrize("name", CODES)
def test_the_kernel_is_the_torch_rule_bit_for_bit(name):
    """150 words (more than two lanes' worth: lanes restart), every min-sum rule, both schedules, caps of 1 to 20 iterations."""
    code = CODES[name]()
    llr = _llrs(code, 150, seed=len(name))
    caps = iter([1, 4, 20, 3, 12, 2])
    seen = set()
    for algorithm, options in RULES:
        for schedule in ("layered", "flooding"):
            kernel, reference = _both(code, algorithm, schedule, next(caps), llr, **options)
            _assert_same(kernel, reference)
            seen |= set(reference.iterations.tolist())
    assert len(seen) >= 5  # words stop at many iterations (and at the caps)
    kernel, reference = _both(code, "normalized-min-sum", "layered", 5, llr, early_stop=False)
    _assert_same(kernel, reference)
    assert (kernel.iterations == 5).all()


@needs_numba
def test_the_kernel_in_float64_with_infinite_llrs():
    code = _irregular()
    llr = _llrs(code, 200, seed=3, dtype=torch.float64)
    llr[10:20, 3] = float("inf")
    llr[20:30, 4] = -float("inf")
    for algorithm, options in RULES:
        for schedule in ("layered", "flooding"):
            _assert_same(*_both(code, algorithm, schedule, 8, llr, **options))


@needs_numba
def test_threads_and_batches_do_not_change_a_result():
    code = LinearCode.from_alist(DATA / "WIMAX_288_576.alist")
    llr = _llrs(code, 300, seed=5)
    decoder = BPDecoder(code, "offset-min-sum", "layered", 10, backend="numba")
    whole = decoder.decode(llr)
    for threads in (2, 3):
        torch.set_num_threads(threads)  # the kernel runs on torch's thread count (the fixture restores it)
        _assert_same(decoder.decode(llr), whole)
    torch.set_num_threads(1)
    perm = torch.randperm(300, generator=torch.Generator().manual_seed(0))
    shuffled = decoder.decode(llr[perm])
    assert torch.equal(shuffled.llr, whole.llr[perm]) and torch.equal(shuffled.iterations, whole.iterations[perm])
    alone = decoder.decode(llr[7:8])
    assert torch.equal(alone.llr[0], whole.llr[7]) and alone.iterations[0] == whole.iterations[7]
    assert decoder.decode(llr[:0]).llr.shape == (0, code.n_graph)


@needs_numba
def test_the_backend_choice():
    code = hamming74()
    cpu = torch.device("cpu")
    assert BPDecoder(code, "min-sum")._kernel(cpu) is bp_numba  # auto: the kernel where it applies
    assert BPDecoder(code, "offset-min-sum", "flooding")._kernel(cpu) is bp_numba
    assert BPDecoder(code, "sum-product")._kernel(cpu) is None  # sum-product: torch
    assert BPDecoder(code, "min-sum", backend="torch")._kernel(cpu) is None
    assert BPDecoder(code, "min-sum", backend="numba")._kernel(torch.device("meta")) is None  # other devices: torch
    assert "backend='numba'" in repr(BPDecoder(code, "min-sum", backend="numba"))
    with pytest.raises(ValueError, match="^backend must be one of auto, torch, numba; got 'cuda'$"):
        BPDecoder(code, "min-sum", backend="cuda")
    with pytest.raises(ValueError, match="backend 'numba' runs the min-sum rules"):
        BPDecoder(code, "sum-product", backend="numba")


def test_without_numba_auto_falls_back_and_numba_is_refused(monkeypatch):
    """With numba unimportable (a None entry in sys.modules makes its import fail), the kernel's module still imports but
    says it is not available; auto runs torch, and "numba" (the decoder or the kernel itself) says what to install.
    Runs with or without numba installed, so this file always keeps a test in the default run."""
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "commae.codes.bp_numba")  # restored after the test, with the package's attribute
    monkeypatch.delattr(sys.modules["commae.codes"], "bp_numba")
    without = importlib.import_module("commae.codes.bp_numba")
    assert without is not bp_numba and not without.AVAILABLE
    with pytest.raises(ImportError, match=r"the min-sum kernel needs numba: pip install 'commae\[fast\]'"):
        without.decode(np.zeros((1, 3), np.float32), np.zeros(2, np.int64), np.array([0, 2]), layered=True, iterations=1, early_stop=True, scale=1.0, offset=0.0, cap=1e6)
    code = hamming74()
    decoder = BPDecoder(code, "normalized-min-sum", "layered", 5)
    assert decoder._kernel(torch.device("cpu")) is None
    llr = _llrs(code, 40, seed=1)
    _assert_same(decoder.decode(llr), BPDecoder(code, "normalized-min-sum", "layered", 5, backend="torch").decode(llr))
    with pytest.raises(ImportError, match=r"backend 'numba' needs numba: pip install 'commae\[fast\]'"):
        BPDecoder(code, "min-sum", backend="numba")


@needs_numba
@pytest.mark.long
@pytest.mark.parametrize("name", ["wimax", "5g"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_kernel_is_the_torch_rule_on_large_batches(name, dtype):
    """1000 words a run, every rule and schedule, both float types; 10 and 50 iterations in float32, 10 in float64 (the same code path)."""
    code = CODES[name]()
    llr = _llrs(code, 1000, seed=7, dtype=dtype)
    for algorithm, options in RULES:
        for schedule in ("layered", "flooding"):
            for iterations in (10, 50) if dtype == torch.float32 else (10,):
                _assert_same(*_both(code, algorithm, schedule, iterations, llr, **options))


@needs_numba
@pytest.mark.long
def test_where_numba_has_nowhere_to_cache_the_kernel_compiles_without_a_cache():
    """A read-only install and home leave numba no cache locator ("cannot cache function ...: no locator available",
    raised when the module is imported); the kernel then compiles in the process and decodes as before. numba's
    NUMBA_CACHE_LOCATOR_CLASSES=ZipCacheLocator (a locator only for sources inside zip files) makes that situation here."""
    import subprocess

    import numba

    if not hasattr(numba.config, "CACHE_LOCATOR_CLASSES"):
        pytest.skip("this numba has no NUMBA_CACHE_LOCATOR_CLASSES")
    script = (
        "import torch\n"
        "from commae.codes import BPDecoder, hamming74, bp_numba\n"
        "torch.manual_seed(0)\n"
        "llr = 3 * torch.randn(200, 7)\n"
        "kernel = BPDecoder(hamming74(), 'normalized-min-sum', 'layered', 5, backend='numba').decode(llr)\n"
        "plain = BPDecoder(hamming74(), 'normalized-min-sum', 'layered', 5, backend='torch').decode(llr)\n"
        "assert bp_numba._decode_share._cache.__class__.__name__ == 'NullCache', bp_numba._decode_share._cache\n"
        "assert torch.equal(kernel.llr, plain.llr) and torch.equal(kernel.iterations, plain.iterations)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "ZipCacheLocator"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
