"""Importance sampling on coded links: time to each deep BLER estimate, and how its gain over plain Monte Carlo falls with the length.

Variance scaling (:func:`commae.simulation.importance.variance_scale`) draws
the noise of the ``D`` real dimensions that carry signal ``s`` times wider;
its likelihood-ratio weights degenerate as ``D`` grows. Two tables:

1. **Gain against length**, measured where the truth is known: the (n, 1)
   repetition code on a star-shaped Tanner graph (a tree of degree-2 checks:
   min-sum BP passes each LLR on unchanged and is the exact MAP, BLER =
   Q(sqrt(2 Eb/N0)) whatever n; so does sum-product, whose float32 rule no
   longer saturates at 16.6, docs/coded.md), BPSK over complex
   AWGN, so ``D = n``; at the Eb/N0 where the BLER is 1e-5, 1e-7 and 1e-9.
   Per point: the estimate over the closed form, whether its 95 % interval
   covers it, the relative half-width reached (10 % asked for, or the budget
   of ``--max-blocks`` codewords), the codewords drawn, the *gain* (the
   codewords plain Monte Carlo needs for the same width, (1 - P) (z / w)^2 / P,
   over those drawn), the gain the half-space model predicts
   (:func:`~commae.simulation.importance.relative_variance`), and seconds.
2. **Real codes**: Hamming (7,4) with sum-product BP over BPSK (D = 7),
   CCSDS (128, 64) over BPSK (D = 128), 5G NR LDPC (40, 80) over QPSK
   (D = 80), at 20 % relative precision within ``--max-blocks``: the BLER,
   its interval, the codewords, the gain and the seconds — the time to a
   deep coded estimate.

Batches of 4096 codewords on one intra-op thread (as importance sampling
runs them); the load is printed before and after.

Run: ``python benchmarks/deep_tails_coded.py [--max-blocks 4e6] [--seed 1] [--part lengths|codes|both]``
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.stats import norm

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _machine import describe  # noqa: E402

from commae import ImportanceSampling, Modem, psk, qam, simulate  # noqa: E402
from commae.bicm import BICM  # noqa: E402
from commae.codes import LDPC5G, BPDecoder, LinearCode, hamming74  # noqa: E402
from commae.simulation.importance import relative_variance  # noqa: E402
from commae.theory import ber_bpsk  # noqa: E402

Z = float(norm.ppf(0.975))
CCSDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "ldpc" / "CCSDS_64_128.alist"


def star_repetition(n: int) -> LinearCode:
    """The (n, 1) repetition code with checks c_0 + c_i = 0 (tests/test_importance_coded.py): a tree, min-sum BP = MAP."""
    H = np.zeros((n - 1, n), dtype=np.uint8)
    H[:, 0] = 1
    H[np.arange(n - 1), np.arange(1, n)] = 1
    return LinearCode(H, name=f"repetition ({n},1)")


def estimate(link: BICM, ebno: float, precision: float, max_blocks: int, seed: int) -> tuple[dict, float]:
    wall = time.perf_counter()
    settings = ImportanceSampling(relative_precision=precision)
    (row,) = simulate([link], [ebno], importance=settings, target_metric="block", max_bits=max_blocks * link.k, batch_size=4096, seed=seed, progress=False)
    return row, time.perf_counter() - wall


def gain(row: dict) -> float:
    """Codewords plain Monte Carlo needs for the row's relative half-width, over the codewords drawn."""
    p, width = row["bler"], row["rel_half_width"]
    return (1 - p) * (Z / width) ** 2 / p / row["blocks"] if 0 < p < 1 and 0 < width < math.inf else math.nan


def lengths(args) -> None:
    print("(n, 1) repetition on a star (min-sum BP = MAP), BPSK over complex AWGN, D = n scaled dimensions; 10 % relative precision asked for")
    print(f"  {'n':>4}{'BLER':>8}{'Eb/N0':>7}{'est/true':>9}{'covers':>7}{'rel.hw':>7}{'scale':>7}{'codewords':>11}{'eff.':>6}{'gain':>10}{'model':>10}{'seconds':>8}")
    for n in args.lengths:
        link = BICM(star_repetition(n), Modem(psk(2)), BPDecoder(star_repetition(n), "min-sum", iterations=4), name=f"rep{n}")
        for target in (1e-5, 1e-7, 1e-9):
            ebno = brentq(lambda e, t=target: math.log(float(ber_bpsk(e))) - math.log(t), -5.0, 25.0, xtol=1e-12)
            row, seconds = estimate(link, ebno, 0.1, args.max_blocks, args.seed)
            a = math.sqrt(2 * 10 ** (ebno / 10))
            model = (1 - target) / target / relative_variance(row["is_scale"], n, a)
            covered = "yes" if row["bler_low"] <= target <= row["bler_high"] else "NO"
            print(
                f"  {n:>4}{target:>8.0e}{ebno:>7.2f}{row['bler'] / target:>9.3f}{covered:>7}{row['rel_half_width']:>7.3f}{row['is_scale']:>7.3f}"
                f"{row['blocks']:>11d}{row['effective_events']:>6.0f}{gain(row):>10.3g}{model:>10.3g}{seconds:>8.2f}",
                flush=True,
            )


def codes(args) -> None:
    hamming, ccsds, nr = hamming74(), LinearCode.from_alist(CCSDS, name="ccsds"), LDPC5G(40, 80)
    cases = [
        ("Hamming (7,4), BPSK", BICM(hamming, Modem(psk(2)), BPDecoder(hamming, iterations=20)), (6.0, 8.0, 10.0, 11.0)),
        ("5G LDPC (40,80), QPSK", BICM(nr, Modem(qam(4)), BPDecoder(nr, iterations=20)), (4.0, 5.0, 6.0)),
        ("CCSDS (128,64), BPSK", BICM(ccsds, Modem(psk(2)), BPDecoder(ccsds, iterations=20)), (3.0, 4.0)),
    ]
    print(f"sum-product BP, flooding, 20 iterations, syndrome stop; 20 % relative precision asked for, at most {args.max_blocks:.2g} codewords")
    print(f"  {'code':<24}{'Eb/N0':>6}{'BLER':>11}{'95% interval':>24}{'rel.hw':>7}{'scale':>7}{'dims':>9}{'codewords':>11}{'eff.':>6}{'gain':>9}{'seconds':>8}")
    for label, link, points in cases:
        for ebno in points:
            row, seconds = estimate(link, ebno, 0.2, args.max_blocks, args.seed)
            interval = f"[{row['bler_low']:.2e}, {row['bler_high']:.2e}]"
            dims = f"{row['is_scaled_dims']}/{row['is_dims']}"
            print(
                f"  {label:<24}{ebno:>6g}{row['bler']:>11.3e}{interval:>24}{row['rel_half_width']:>7.3f}{row['is_scale']:>7.3f}{dims:>9}"
                f"{row['blocks']:>11d}{row['effective_events']:>6.0f}{gain(row):>9.3g}{seconds:>8.2f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-blocks", type=float, default=4e6, help="most codewords an estimate draws")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--part", choices=["lengths", "codes", "both"], default="both")
    parser.add_argument("--lengths", type=lambda s: [int(x) for x in s.split(",")], default=[2, 4, 8, 16, 32, 64, 128])
    args = parser.parse_args()
    args.max_blocks = int(args.max_blocks)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, batch 4096, seed {args.seed}, 95 % intervals")
    print(f"before: {describe()}")
    if args.part in ("lengths", "both"):
        lengths(args)
    if args.part in ("codes", "both"):
        codes(args)
    print(f"after:  {describe()}")


if __name__ == "__main__":
    main()
