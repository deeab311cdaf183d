"""Property-based tests (hypothesis): SNR conversions, bits <-> indices <-> points, Clopper-Pearson bounds, results CSV.

Each property holds for every input hypothesis draws, not only for the
hand-picked values of the other test files. The example counts are fixed and
the database is off, so a run is reproducible and its time bounded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commae.baselines import Modem
from commae.constellations import apsk, bits_to_int, gray_code, int_to_bits, pam, psk, qam
from commae.simulation import RESULT_COLUMNS, clopper_pearson, read_results, write_results
from commae.snr import (
    bits_per_use,
    db_to_linear,
    ebno_db_to_esno_db,
    ebno_db_to_no,
    esno_db_to_ebno_db,
    esno_db_to_no,
    linear_to_db,
    no_to_ebno_db,
    no_to_esno_db,
)

PROFILE = settings(max_examples=200, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])

db = st.floats(min_value=-100.0, max_value=100.0, allow_nan=False, allow_infinity=False)
k_bits = st.integers(min_value=1, max_value=12)
n_uses = st.integers(min_value=1, max_value=256)
rates = st.floats(min_value=1e-3, max_value=1.0, exclude_min=False)


# --- SNR conversions -----------------------------------------------------------------------


@PROFILE
@given(db)
def test_db_linear_round_trip(x_db):
    assert linear_to_db(db_to_linear(x_db)) == pytest.approx(x_db, abs=1e-9)


@PROFILE
@given(st.floats(min_value=1e-30, max_value=1e30))
def test_linear_db_round_trip(x):
    assert db_to_linear(linear_to_db(x)) == pytest.approx(x, rel=1e-12)


@PROFILE
@given(db, k_bits, n_uses, rates)
def test_ebno_esno_round_trip_and_offset(ebno, k, n, coderate):
    esno = ebno_db_to_esno_db(ebno, k, n, coderate)
    assert esno_db_to_ebno_db(esno, k, n, coderate) == pytest.approx(ebno, abs=1e-9)
    # Es = r Eb with r = R k / n information bits per use
    assert esno - ebno == pytest.approx(10 * math.log10(coderate * k / n), abs=1e-9)
    assert bits_per_use(k, n, coderate) == pytest.approx(coderate * k / n, rel=1e-15)


@PROFILE
@given(db, k_bits, n_uses, rates)
def test_ebno_no_round_trip(ebno, k, n, coderate):
    no = ebno_db_to_no(ebno, k, n, coderate)
    assert no > 0
    assert no_to_ebno_db(no, k, n, coderate) == pytest.approx(ebno, abs=1e-9)
    # N0 = Es / (Es/N0) with Es = 1, and Eb = Es / r
    assert no * (coderate * k / n) * 10 ** (ebno / 10) == pytest.approx(1.0, rel=1e-9)


@PROFILE
@given(db, db)
def test_no_is_decreasing_in_snr(a, b):
    assert (esno_db_to_no(a) >= esno_db_to_no(b)) == (a <= b) or esno_db_to_no(a) == esno_db_to_no(b)
    if b - a > 1e-9:
        assert esno_db_to_no(a) > esno_db_to_no(b)
    assert no_to_esno_db(esno_db_to_no(a)) == pytest.approx(a, abs=1e-9)


@PROFILE
@given(st.lists(db, min_size=1, max_size=20), k_bits, n_uses)
def test_conversions_agree_on_arrays_and_tensors(values, k, n):
    scalar = [ebno_db_to_no(v, k, n) for v in values]
    array = ebno_db_to_no(np.asarray(values), k, n)
    tensor = ebno_db_to_no(torch.tensor(values, dtype=torch.float64), k, n)
    np.testing.assert_allclose(array, scalar, rtol=1e-12)
    np.testing.assert_allclose(tensor.numpy(), scalar, rtol=1e-12)


# --- bits <-> indices <-> points -----------------------------------------------------------


@PROFILE
@given(st.data(), st.integers(min_value=1, max_value=30))
def test_int_bits_round_trip(data, k):
    values = data.draw(st.lists(st.integers(min_value=0, max_value=2**k - 1), min_size=1, max_size=64))
    v = torch.tensor(values, dtype=torch.int64)
    bits = int_to_bits(v, k)
    assert bits.shape == (len(values), k)
    assert set(bits.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(bits_to_int(bits), v)
    # MSB first: the first bit is the top one
    assert torch.equal(bits[:, 0].long(), v >> (k - 1))


@PROFILE
@given(st.integers(min_value=1, max_value=20))
def test_gray_code_is_a_permutation_whose_neighbours_differ_in_one_bit(k):
    g = gray_code(torch.arange(2**k))
    assert torch.equal(g.sort().values, torch.arange(2**k))
    steps = g[1:] ^ g[:-1]
    assert bool(((steps & (steps - 1)) == 0).all()) and bool((steps > 0).all())  # a power of two: exactly one bit


CONSTELLATIONS = {
    "qam4": lambda: qam(4),
    "qam16": lambda: qam(16),
    "qam64": lambda: qam(64),
    "qam256": lambda: qam(256),
    "psk2": lambda: psk(2),
    "psk8": lambda: psk(8),
    "psk16": lambda: psk(16),
    "pam4": lambda: pam(4),
    "apsk16": lambda: apsk(16),
    "apsk32": lambda: apsk(32),
}


@pytest.fixture(scope="module")
def constellations():
    return {name: make() for name, make in CONSTELLATIONS.items()}


@PROFILE
@given(st.sampled_from(sorted(CONSTELLATIONS)), st.data())
def test_bits_indices_points_round_trip(constellations, name, data):
    c = constellations[name]
    m = data.draw(st.integers(min_value=1, max_value=4))
    indices = torch.tensor(data.draw(st.lists(st.lists(st.integers(0, c.num_points - 1), min_size=m, max_size=m), min_size=1, max_size=32)))
    bits = c.indices_to_bits(indices)
    assert bits.shape == (indices.shape[0], m * c.k)
    assert torch.equal(c.bits_to_indices(bits), indices)
    # the label of a point is its bits read MSB first
    assert torch.equal(bits_to_int(bits.reshape(-1, m, c.k)), c.labels[indices])
    # noise-free symbols are decided back to their own point, and the bits come back
    modem = Modem(c)
    x = modem.constellation.map(bits)
    assert torch.equal(modem.decide(x), indices)
    assert torch.equal(c.map(bits), c.points[indices])


@PROFILE
@given(st.sampled_from(sorted(CONSTELLATIONS)), st.data())
def test_decisions_stay_inside_half_the_minimum_distance(constellations, name, data):
    c = constellations[name]
    modem = Modem(c)
    index = data.draw(st.integers(0, c.num_points - 1))
    radius = data.draw(st.floats(min_value=0.0, max_value=0.49)) * c.min_distance()
    angle = data.draw(st.floats(min_value=0.0, max_value=2 * math.pi))
    y = c.points[index] + radius * torch.polar(torch.tensor(1.0), torch.tensor(angle))
    if c.kind == "pam":
        y = torch.complex(y.real, torch.zeros_like(y.real))  # a real channel keeps the real part
    assert int(modem.decide(y.reshape(1, 1))) == index


@pytest.mark.parametrize("M", [4, 16, 64, 256])
def test_gray_qam_nearest_neighbours_differ_in_one_bit(M):
    c = qam(M)
    pts = c.points
    d = (pts[:, None] - pts[None, :]).abs()
    nearest = torch.isclose(d, torch.tensor(c.min_distance()), rtol=1e-4)
    differ = (c.labels[:, None] ^ c.labels[None, :])[nearest]
    assert differ.numel() > 0
    assert bool(((differ & (differ - 1)) == 0).all())


# --- Clopper-Pearson -------------------------------------------------------------------------

trials = st.integers(min_value=1, max_value=10**12)
levels = st.floats(min_value=0.5, max_value=0.999999)


@PROFILE
@given(trials, st.data(), levels)
def test_clopper_pearson_brackets_the_estimate(t, data, confidence):
    e = data.draw(st.integers(0, t))
    low, high = clopper_pearson(e, t, confidence)
    p = e / t
    assert 0.0 <= low <= p <= high <= 1.0
    if 0 < e < t:
        assert low < p < high
    assert (low == 0.0) == (e == 0)
    assert (high == 1.0) == (e == t)


@PROFILE
@given(st.integers(min_value=2, max_value=10**9), st.data(), levels)
def test_clopper_pearson_is_monotone_in_the_count(t, data, confidence):
    e = data.draw(st.integers(0, t - 1))
    low0, high0 = clopper_pearson(e, t, confidence)
    low1, high1 = clopper_pearson(e + 1, t, confidence)
    assert low1 >= low0 and high1 >= high0
    if t <= 10**6:  # strictly, where float64 resolves the step
        assert low1 > low0 and high1 > high0


@PROFILE
@given(trials, st.data(), levels, levels)
def test_clopper_pearson_intervals_are_nested_in_the_level(t, data, a, b):
    e = data.draw(st.integers(0, t))
    lo_level, hi_level = sorted((a, b))
    narrow = clopper_pearson(e, t, lo_level)
    wide = clopper_pearson(e, t, hi_level)
    assert wide[0] <= narrow[0] + 1e-15 and narrow[1] <= wide[1] + 1e-15


@PROFILE
@given(st.lists(st.tuples(st.integers(1, 10**9), st.floats(0, 1)), min_size=1, max_size=16), levels)
def test_clopper_pearson_vectorised_equals_scalar(pairs, confidence):
    t = np.array([p[0] for p in pairs])
    e = np.floor(np.array([p[1] for p in pairs]) * t).astype(np.int64)
    low, high = clopper_pearson(e, t, confidence)
    for i in range(len(t)):
        assert (low[i], high[i]) == clopper_pearson(int(e[i]), int(t[i]), confidence)


# --- the results CSV -------------------------------------------------------------------------

names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=24).filter(str.strip)  # the schema refuses a blank name


@st.composite
def result_rows(draw):
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        row = {"system": draw(names), "channel": draw(st.sampled_from(["awgn", "rayleigh-fast", "rician-block-K3"])), "ebno_db": draw(db), "esno_db": draw(db)}
        for unit, count in (("ber", "bit"), ("ser", "symbol"), ("bler", "block")):
            t = draw(st.integers(1, 2**53))
            e = draw(st.integers(0, min(t, 10**12)))
            low, high = clopper_pearson(e, t, 0.95)
            row[f"{count}s"], row[f"{count}_errors"] = t, e
            row[unit], row[f"{unit}_low"], row[f"{unit}_high"] = e / t, low, high
            row[f"{unit}_theory"] = draw(st.one_of(st.just(float("nan")), st.floats(min_value=0.0, max_value=1.0)))
        if all((r["system"], r["ebno_db"], r["channel"]) != (row["system"], row["ebno_db"], row["channel"]) for r in rows):  # ber-curve writes one row per point
            rows.append({key: row[key] for key in RESULT_COLUMNS})
    return rows


@PROFILE
@given(result_rows())
def test_results_csv_round_trip(tmp_path, rows):
    path = tmp_path / "results.csv"
    write_results(rows, path, {"seed": 0})
    back = read_results(path)
    assert len(back) == len(rows)
    for written, read in zip(rows, back):
        assert list(read) == list(RESULT_COLUMNS)
        for key in RESULT_COLUMNS:
            a, b = written[key], read[key]
            if isinstance(a, float) and math.isnan(a):
                assert math.isnan(b), key
            else:
                assert b == a and type(b) is type(a), (key, a, b)  # exact: floats are written with repr
