"""Decoders against AFF3CT's published frame-error-rate curves (error_rate_references), on the same public matrices.

Each curve is a public alist code, a decoder setting and BPSK over AWGN at
Eb/N0 per information bit (AFF3CT's Es/N0 column is Eb/N0 + 10 log10 R, the
convention of :mod:`commae.snr`). commae simulates the same setting with real
encoding of random bits (AFF3CT sent the all-zero codeword, which is
equivalent for these symmetric decoders) and the two frame-error counts are
compared as two binomial proportions by Fisher's exact test, two-sided, at
level ``ALPHA = 0.001`` per point (with the 9 points of the default set and
the 22 of the long one, a family-wise level of about 1 % and 2 %). AFF3CT
stops a point at 100 frame errors (a few more with several threads); its
frames and errors are read from the reference file. The files and matrices
are under ``tests/data/ldpc`` (README there).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from scipy.stats import fisher_exact

from commae.codes import BPDecoder, LinearCode
from commae.snr import ebno_db_to_no, noise_std_per_real_dim

DATA = Path(__file__).parent / "data" / "ldpc"
ALPHA = 1e-3

# name: (reference file, alist, algorithm, schedule, iterations, syndrome stop, decoder options)
CURVES = {
    "wimax-spa-flooding": ("LDPC_N576_K288_flooding_SPA_i100_WiMAX.txt", "WIMAX_288_576", "sum-product", "flooding", 100, True, {}),
    "wimax-ms-flooding": ("LDPC_N576_K288_flooding_AMS_min_i100_WiMAX.txt", "WIMAX_288_576", "min-sum", "flooding", 100, True, {}),
    "wimax-nms-layered": ("LDPC_N576_K288_hlayered_NMS_i100_WiMAX.txt", "WIMAX_288_576", "normalized-min-sum", "layered", 100, False, {"scale": 0.825}),
    "ccsds-spa-layered": ("LDPC_N128_K64_hlayered_SPA_i50_CCSDS.txt", "CCSDS_64_128", "sum-product", "layered", 50, True, {}),
    "wifi-ms-layered": ("LDPC_N648_K540_hlayered_NMS_i10_Wi-Fi.txt", "WIFI_540_648", "min-sum", "layered", 10, True, {}),
    "ethernet-nms-flooding": ("LDPC_N2048_K1723_flooding_NMS_i30_eth_10Gbps.txt", "10GBPS-ETHERNET_1723_2048", "normalized-min-sum", "flooding", 30, True, {"scale": 0.5}),
}


def read_aff3ct(path: Path) -> dict[float, tuple[int, int]]:
    """An AFF3CT BFER trace: Eb/N0 (dB) -> (frames simulated, frame errors)."""
    points = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        fields = [f.strip() for f in line.split("|") if f.strip()]
        esno, ebno, frames, _bit_errors, frame_errors = (float(f) for f in fields[:5])
        points[round(ebno, 2)] = (int(frames), int(frame_errors))
    return points


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread for every test here


def _decoder(name: str, **override) -> BPDecoder:
    _, alist, algorithm, schedule, iterations, stop, options = CURVES[name]
    settings = {"iterations": iterations, "early_stop": stop, **options, **override}
    return BPDecoder(LinearCode.from_alist(DATA / f"{alist}.alist"), algorithm, schedule, **settings)


def simulate_fer(decoder: BPDecoder, ebno_db: float, target_errors: int, max_frames: int, seed: int, batch: int = 512) -> tuple[int, int]:
    """Frames and frame errors (any information bit wrong) of random information bits, encoded, BPSK, real AWGN at Eb/N0 per information bit."""
    code = decoder.code
    gen = torch.Generator().manual_seed(seed)
    std = noise_std_per_real_dim(ebno_db_to_no(ebno_db, k=1, n=1, coderate=code.k / code.n))
    frames = errors = 0
    while errors < target_errors and frames < max_frames:
        bits = torch.randint(0, 2, (batch, code.k), generator=gen).float()
        y = 1 - 2 * code.encode(bits) + std * torch.randn(batch, code.n, generator=gen)
        llr = -4 * y / (2 * std**2)  # ln P(1|y) / P(0|y) for x = 1 - 2c, noise variance N0/2
        errors += int((decoder(llr) != bits).any(1).sum())
        frames += batch
    return frames, errors


def _agree(name: str, ebno_db: float, ours: tuple[int, int]) -> float:
    """Fisher's exact two-sided p-value of commae's and AFF3CT's frame-error counts at one point."""
    frames, errors = ours
    ref_frames, ref_errors = read_aff3ct(DATA / "aff3ct" / CURVES[name][0])[ebno_db]
    return fisher_exact([[errors, frames - errors], [ref_errors, ref_frames - ref_errors]]).pvalue


def test_the_reference_files_read_as_their_tables():
    spa = read_aff3ct(DATA / "aff3ct" / CURVES["wimax-spa-flooding"][0])
    assert spa[1.5] == (1094, 127) and spa[3.5] == (35534400, 100) and len(spa) == 15
    wifi = read_aff3ct(DATA / "aff3ct" / CURVES["wifi-ms-layered"][0])
    assert wifi[4.0] == (3496, 127) and len(wifi) == 31
    ethernet = read_aff3ct(DATA / "aff3ct" / CURVES["ethernet-nms-flooding"][0])
    assert ethernet[4.5] == (24600000000, 100)


# the default set: three codes and decoders (flooding sum-product, flooding min-sum, layered sum-product), 3 points, ~40 errors each
QUICK = [
    ("wimax-spa-flooding", [1.25, 1.5, 1.75]),
    ("wimax-ms-flooding", [1.5, 1.75, 2.0]),
    ("ccsds-spa-layered", [2.0, 2.5, 3.0]),
]


def _check_curve(name: str, points, *, target_errors: int, max_frames: int, seeds, batch: int) -> None:
    """commae's FER agrees with AFF3CT's at every point of ``points`` (Fisher's exact test at ALPHA); point i runs on ``seeds(i)``."""
    decoder = _decoder(name)
    for i, ebno_db in enumerate(points):
        ours = simulate_fer(decoder, ebno_db, target_errors=target_errors, max_frames=max_frames, seed=seeds(i), batch=batch)
        p = _agree(name, ebno_db, ours)
        assert p > ALPHA, f"{name} at {ebno_db} dB: commae {ours[1]}/{ours[0]} frames, AFF3CT {read_aff3ct(DATA / 'aff3ct' / CURVES[name][0])[ebno_db]} (p = {p:.2g})"


@pytest.mark.parametrize(("name", "points"), QUICK, ids=[q[0] for q in QUICK])
def test_the_decoders_reproduce_aff3ct_curves(name, points):
    _check_curve(name, points, target_errors=40, max_frames=20_000, seeds=lambda i: 100 * i + 1, batch=256)


def test_the_comparison_rejects_the_wrong_decoder():
    """The test can fail: min-sum, or sum-product cut to 5 iterations, against the 100-iteration sum-product curve."""
    for wrong in (_decoder("wimax-ms-flooding"), _decoder("wimax-spa-flooding", iterations=5)):
        ours = simulate_fer(wrong, 1.75, target_errors=40, max_frames=20_000, seed=7, batch=256)
        assert _agree("wimax-spa-flooding", 1.75, ours) < ALPHA, ours


LONG = [
    ("wimax-spa-flooding", [1.5, 1.75, 2.0, 2.25]),
    ("wimax-ms-flooding", [1.75, 2.0, 2.25, 2.5]),
    ("wimax-nms-layered", [1.25, 1.5, 1.75, 2.0]),
    ("ccsds-spa-layered", [2.5, 3.0, 3.5]),
    ("wifi-ms-layered", [3.6, 3.8, 4.0, 4.2]),
    ("ethernet-nms-flooding", [3.25, 3.5, 3.75]),
]


@pytest.mark.long
@pytest.mark.parametrize(("name", "points"), LONG, ids=[q[0] for q in LONG])
def test_the_decoders_reproduce_aff3ct_curves_with_100_errors_a_point(name, points):
    _check_curve(name, points, target_errors=100, max_frames=200_000, seeds=lambda i: 1000 * i + 17, batch=1024)
