"""`commae ber-curve`: files, reproducibility, runs and baselines together, bad input."""

import json

import pytest
from click.testing import CliRunner

import commae
from commae.cli import cli
from commae.simulation import RESULT_COLUMNS, read_results

FAST = ["--target-errors", "100", "--max-bits", "2e6", "--quiet"]


def _run(*args):
    return CliRunner().invoke(cli, ["ber-curve", *args])


def test_baselines_alone_write_csv_and_json(tmp_path):
    out = tmp_path / "results.csv"
    result = _run("--baseline", "qam16", "--baseline", "qpsk", "--ebno", "0:6:2", "--theory", "--out", str(out), *FAST)
    assert result.exit_code == 0, result.output
    header = out.read_text().splitlines()[0]
    assert header == ",".join(RESULT_COLUMNS)
    rows = read_results(out)
    assert [(r["system"], r["ebno_db"]) for r in rows][:4] == [("qam16", 0.0), ("qpsk", 0.0), ("qam16", 2.0), ("qpsk", 2.0)]
    assert all(r["bit_errors"] >= 100 for r in rows)
    assert all(r["ber_low"] <= r["ber_theory"] * 1.5 and r["ber_theory"] <= r["ber_high"] * 1.5 for r in rows)
    settings = json.loads(out.with_suffix(".json").read_text())
    assert settings["version"] == commae.__version__ and settings["seed"] == 0 and settings["ebno_db"] == [0.0, 2.0, 4.0, 6.0]
    assert settings["baselines"] == ["qam16", "qpsk"]


def test_same_seed_same_csv_bytes(tmp_path):
    args = ["--baseline", "hamming74-hard", "--baseline", "uncoded-bpsk-4", "--channel", "rayleigh", "--fading", "block", "--ebno", "0,5,10", *FAST]
    for name in ("a", "b"):
        assert _run(*args, "--out", str(tmp_path / f"{name}.csv")).exit_code == 0
    assert _run(*args, "--seed", "1", "--out", str(tmp_path / "c.csv")).exit_code == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()
    assert read_results(tmp_path / "a.csv")[0]["channel"] == "rayleigh-block-csi"


def test_a_trained_run_is_simulated_beside_its_matching_baseline(tmp_path):
    run = tmp_path / "ae"
    train = CliRunner().invoke(cli, ["train", "--k", "2", "--hidden", "16", "--epochs", "2", "--batches-per-epoch", "20", "--val-size", "2000", "--out", str(run), "--quiet"])
    assert train.exit_code == 0, train.output
    out = tmp_path / "r.csv"
    result = _run(str(run), "--ebno", "2,4", "--out", str(out), *FAST)
    assert result.exit_code == 0, result.output
    rows = read_results(out)
    assert {r["system"] for r in rows} == {"ae", "qam4"}
    ae = [r for r in rows if r["system"] == "ae"]
    assert all(r["channel"] == "awgn" and r["esno_db"] == pytest.approx(r["ebno_db"] + 3.0103, abs=1e-4) for r in ae)
    assert all(r["ber_theory"] != r["ber_theory"] for r in ae)  # no closed form for a learned system: NaN from an empty cell


def test_existing_out_is_kept_unless_force(tmp_path):
    out = tmp_path / "r.csv"
    out.write_text("precious")
    result = _run("--baseline", "bpsk", "--ebno", "0", "--out", str(out), *FAST)
    assert result.exit_code == 1 and "exists" in result.output and "--force" in result.output
    assert out.read_text() == "precious"
    assert _run("--baseline", "bpsk", "--ebno", "0", "--out", str(out), "--force", *FAST).exit_code == 0
    assert out.read_text().startswith("system,")


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--baseline", "qpsk", "--ebno", "5:0:1"], 2, "START <= STOP"),
        (["--baseline", "qpsk", "--ebno", "abc"], 2, "is not START:STOP:STEP"),
        (["--baseline", "qpsk", "--ebno", "0:5:0"], 2, "STEP > 0"),
        (["--baseline", "qam32"], 2, "is not one of bpsk, qpsk, qam16"),
        (["--baseline", "uncoded-bpsk-0"], 2, "uncoded-bpsk-K"),
        (["--baseline", "qpsk", "--target-errors", "0"], 2, "--target-errors"),
        (["--baseline", "qpsk", "--max-bits", "lots"], 2, "positive whole number"),
        ([], 2, "give at least one RUN_DIR or --baseline"),
        (["no/such/run"], 1, "not a commae run directory"),
    ],
)
def test_bad_input_is_one_line_with_the_right_exit_code(tmp_path, args, code, message):
    result = _run(*args, "--out", str(tmp_path / "r.csv"), "--quiet")
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.csv").exists()


def test_corrupt_run_directory_is_a_failure(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"version": "0.1.0", "seed": 0, "system": {"k": 2}, "train": {"ebno_db": [7, 7]}}')
    (run / "model.pt").write_bytes(b"garbage")
    result = _run(str(run), "--out", str(tmp_path / "r.csv"), "--quiet")
    assert result.exit_code == 1 and "is truncated or not a torch file" in result.output
    assert "Traceback" not in result.output


# issue 23.4: --esno as train has it, exclusive with --ebno


def test_esno_points_are_converted_once_and_recorded(tmp_path):
    import math

    esno, ebno = tmp_path / "esno.csv", tmp_path / "ebno.csv"
    result = _run("--baseline", "qam16", "--esno", "10,14", "--out", str(esno), *FAST)
    assert result.exit_code == 0, result.output
    rows = read_results(esno)
    assert [r["esno_db"] for r in rows] == pytest.approx([10.0, 14.0], abs=1e-9)
    points = [x - 10 * math.log10(4) for x in (10.0, 14.0)]  # k/n = 4 bits per channel use
    assert [r["ebno_db"] for r in rows] == pytest.approx(points, abs=1e-12)
    settings = json.loads(esno.with_suffix(".json").read_text())
    assert settings["esno_db"] == [10.0, 14.0] and settings["ebno_db"] == pytest.approx(points, abs=1e-12)
    assert list(settings).index("esno_db") == list(settings).index("ebno_db") + 1
    # the same simulation as its Eb/N0 points given with --ebno: the same counts
    assert _run("--baseline", "qam16", "--ebno", ",".join(repr(p) for p in points), "--out", str(ebno), *FAST).exit_code == 0
    assert [r["bit_errors"] for r in read_results(ebno)] == [r["bit_errors"] for r in rows]


def test_the_table_shows_the_es_n0_points_given(tmp_path):
    """With --esno the table heads the points as given, then their Eb/N0 (to 4 digits); with --ebno there is no Es/N0 column."""
    result = _run("--baseline", "qam16", "--esno", "10,14", "--out", str(tmp_path / "r.csv"), "--target-errors", "100", "--max-bits", "2e5")
    assert result.exit_code == 0, result.output
    head, first, second = result.output.splitlines()[:3]
    assert head.split()[1:3] == ["Es/N0", "Eb/N0"] and first.split()[1:3] == ["10", "3.979"] and second.split()[1:3] == ["14", "7.979"]
    result = _run("--baseline", "qam16", "--ebno", "4", "--out", str(tmp_path / "s.csv"), "--target-errors", "100", "--max-bits", "2e5")
    assert result.exit_code == 0 and result.output.splitlines()[0].split()[1] == "Eb/N0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "qam16", "--esno", "10", "--ebno", "3"], "--ebno and --esno exclude each other"),
        (["--baseline", "qam16", "--baseline", "qpsk", "--esno", "10"], "--esno needs systems of one rate k/n, so that one Eb/N0 axis holds them; these send qam16 4/1, qpsk 2/1"),
        (["--baseline", "qam16", "--esno", "0:1:0"], "Invalid value for '--esno': '0:1:0' is not START:STOP:STEP"),
    ],
)
def test_esno_refusals_are_one_line(tmp_path, args, message):
    result = _run(*args, "--out", str(tmp_path / "r.csv"), *FAST)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.csv").exists()
