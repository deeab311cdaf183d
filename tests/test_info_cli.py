"""`commae info`, `commae train --esno --points`, and the MI a training run reports against the MI of its points."""

import csv

import pytest
from click.testing import CliRunner

from commae import information, qam
from commae.cli import cli
from commae.models import SystemConfig
from commae.runs import load_config, train_run
from commae.snr import esno_db_to_ebno_db
from commae.training import TrainConfig


def _info(*args):
    return CliRunner().invoke(cli, ["info", *args])


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_info_of_baselines_matches_the_reference_values(tmp_path):
    out = tmp_path / "info.csv"
    result = _info("--baseline", "qam16", "--baseline", "qpsk", "--esno", "0:15:5", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert list(rows[0]) == ["system", "channel", "esno_db", "ebno_db", "entropy_bits_per_use", "mi_bits_per_use", "bmi_bits_per_use", "capacity_bits_per_use"]
    table = {(r["system"], float(r["esno_db"])): r for r in rows}
    for esno, mi, bmi, cap in [(0, 0.9897, 0.8993, 1.0), (5, 1.9732, 1.9316, 2.0574), (10, 3.1639, 3.1636, 3.4594), (15, 3.9285, 3.9285, 5.0278)]:
        r = table[("qam16", esno)]
        assert float(r["mi_bits_per_use"]) == pytest.approx(mi, abs=2e-3)
        assert float(r["bmi_bits_per_use"]) == pytest.approx(bmi, abs=2e-3)
        assert float(r["capacity_bits_per_use"]) == pytest.approx(cap, abs=2e-3)
        assert float(r["ebno_db"]) == pytest.approx(esno - 6.0206, abs=1e-4)
    assert float(table[("qpsk", 5)]["mi_bits_per_use"]) == pytest.approx(1.7184, abs=2e-3)


def test_info_over_rayleigh_is_below_awgn(tmp_path):
    out = tmp_path / "r.csv"
    assert _info("--baseline", "qam16", "--channel", "rayleigh", "--esno", "10", "--samples", "20000", "--out", str(out)).exit_code == 0
    (row,) = _rows(out)
    assert float(row["mi_bits_per_use"]) < 3.1639 and float(row["mi_bits_per_use"]) <= float(row["capacity_bits_per_use"])


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--baseline", "hamming74-soft"], 2, "is a code, not a constellation"),
        (["--baseline", "qam32"], 2, "is not one of"),
        (["--baseline", "qam16", "--esno", "9:1:1"], 2, "START <= STOP"),
        ([], 2, "give at least one RUN_DIR or --baseline"),
        (["no/such/run"], 1, "not a commae run directory"),
    ],
)
def test_info_bad_input(tmp_path, args, code, message):
    result = _info(*args, "--out", str(tmp_path / "i.csv"))
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "i.csv").exists()


def test_info_keeps_an_existing_out(tmp_path):
    out = tmp_path / "i.csv"
    out.write_text("mine")
    result = _info("--baseline", "qpsk", "--esno", "3", "--out", str(out))
    assert result.exit_code == 1 and "--force" in result.output and out.read_text() == "mine"


def test_train_esno_and_points_options(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--snr", "10", "--esno", "--points", "--epochs", "1", "--batches-per-epoch", "5", "--val-size", "1000", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    system, train = load_config(out)
    assert system.constellation and train.ebno_db == pytest.approx((10 - 6.0206, 10 - 6.0206), abs=1e-4)
    info = _info(str(out), "--esno", "10", "--out", str(tmp_path / "i.csv"))
    assert info.exit_code == 0, info.output
    bad = CliRunner().invoke(cli, ["train", "--points", "--n", "2", "--out", str(tmp_path / "x"), "--quiet"])
    assert bad.exit_code == 2 and "--points needs --n 1" in bad.output
    n2 = tmp_path / "n2"
    assert CliRunner().invoke(cli, ["train", "--n", "2", "--epochs", "1", "--batches-per-epoch", "2", "--val-size", "500", "--out", str(n2), "--quiet"]).exit_code == 0
    result = _info(str(n2), "--out", str(tmp_path / "j.csv"))
    assert result.exit_code == 2 and "needs a run with n=1" in result.output


@pytest.mark.long
def test_geometric_shaping_beats_16qam_and_the_training_bound_is_a_lower_bound(tmp_path):
    """Trainable 16 points at Es/N0 = 10 dB: quadrature MI of the learned points >= 3.20 bit (16-QAM 3.164);
    the cross-entropy bound is below that MI (up to its sampling interval) and within 0.05 bit of it."""
    esno = 10.0
    ebno = esno_db_to_ebno_db(esno, 4)
    result = train_run(SystemConfig(k=4, constellation=True), TrainConfig(ebno_db=(ebno, ebno), epochs=20, batch_size=2048), tmp_path / "run", progress=False, log=None)
    points = result.model.constellation()
    mi = float(information.mi(points, esno))
    assert mi >= 3.20, mi
    assert mi > float(information.mi(qam(16), esno))
    held_out = information.estimate_mi(result.model, ebno, num_messages=400_000, seed=7)
    assert held_out["low"] <= mi, (held_out, mi)
    assert mi - held_out["mi_bits_per_message"] <= 0.05
    # the bound logged during training, on 10^5 validation messages (sampling std ~0.003 bit)
    assert result.history.last["mi_bits"] <= mi + 0.01


@pytest.mark.slow
def test_geometric_shaping_64_points_at_15db(tmp_path):
    """Trainable 64 points at Es/N0 = 15 dB: quadrature MI >= 4.76 bit (64-QAM 4.681). About 75 s on 2 cores."""
    esno = 15.0
    ebno = esno_db_to_ebno_db(esno, 6)
    result = train_run(SystemConfig(k=6, hidden=256, constellation=True), TrainConfig(ebno_db=(ebno, ebno), batch_size=4096, val_size=50_000), tmp_path / "run", progress=False, log=None)
    mi = float(information.mi(result.model.constellation(), esno))
    assert mi >= 4.76, mi
