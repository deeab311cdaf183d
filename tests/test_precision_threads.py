"""bf16 receivers checked against fp32 (commae.simulation.precision, ber-curve --precision) and the thread choice (commae.threads, --threads)."""

import json

import pytest
import torch
from click.testing import CliRunner

from commae import AWGN, Modem, qam
from commae.cli import cli
from commae.simulation import Bf16Receiver, check_bf16
from commae.threads import choose_threads


class _Flaky(Modem):
    """A QPSK modem that, under autocast, flips every decision of the first bit: bf16 'breaks' it."""

    def receive(self, y, no=None, h=None):
        bits = super().receive(y, no, h)
        if torch.is_autocast_enabled(y.device.type):
            bits[:, 0] = 1 - bits[:, 0]
        return bits


def test_check_passes_for_an_exact_receiver_and_fails_for_one_that_bf16_changes():
    (same,) = check_bf16(Modem(qam(4), AWGN()), [3.0], messages=20_000, seed=2)
    assert same.ok and same.changed == 0.0 and same.fp32_bit_errors == same.bf16_bit_errors > 0
    assert same.fp32_ber_low <= same.fp32_bit_errors / same.bits <= same.fp32_ber_high
    (broken,) = check_bf16(_Flaky(qam(4), AWGN()), [3.0], messages=20_000, seed=2)
    assert not broken.ok and broken.changed == 1.0 and broken.bf16_bit_errors > broken.fp32_bit_errors


def test_bf16_receiver_passes_the_system_through():
    modem = Modem(qam(16))
    wrapped = Bf16Receiver(modem)
    assert (wrapped.k, wrapped.n, wrapped.bits_per_symbol, wrapped.channel) == (4, 1, 4, modem.channel)
    bits = torch.tensor([[1.0, 0.0, 1.0, 1.0]])
    assert torch.equal(wrapped.receive(wrapped.transmit(bits), 1e-3), bits)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("bf16") / "ae"
    train = CliRunner().invoke(cli, ["train", "--k", "2", "--hidden", "16", "--epochs", "2", "--batches-per-epoch", "20", "--val-size", "2000", "--out", str(run), "--quiet", "--threads", "1"])
    assert train.exit_code == 0, train.output
    return run


def test_ber_curve_bf16_writes_its_check_and_refuses_a_failing_one(trained_run, tmp_path, monkeypatch):
    out = tmp_path / "r.csv"
    args = ["ber-curve", str(trained_run), "--ebno", "2,6", "--target-errors", "100", "--max-bits", "2e5", "--batch-size", "20000"]
    result = CliRunner().invoke(cli, [*args, "--precision", "bf16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "bf16 check ae at 2 dB" in result.output
    check = json.loads(out.with_suffix(".json").read_text())["precision"]
    assert check["learned"] == "bf16" and [c["ebno_db"] for c in check["check"]["ae"]] == [2.0, 6.0]
    assert all(c["ok"] and 0.0 <= c["changed"] < 0.05 for c in check["check"]["ae"])

    import commae.simulation

    real = commae.simulation.check_bf16

    def failing(*a, **kw):
        return [c.__class__(**{**c.as_dict(), "ok": False, "bf16_bit_errors": c.bits}) for c in real(*a, **kw)]

    monkeypatch.setattr(commae.simulation, "check_bf16", failing)
    refused = CliRunner().invoke(cli, [*args, "--precision", "bf16", "--out", str(tmp_path / "no.csv")])
    assert refused.exit_code == 1 and "--precision bf16 refused" in refused.output and "Traceback" not in refused.output
    assert not (tmp_path / "no.csv").exists()
    only_baselines = CliRunner().invoke(cli, ["ber-curve", "--baseline", "qpsk", "--precision", "bf16", "--out", str(tmp_path / "b.csv")])
    assert only_baselines.exit_code == 2 and "learned receivers" in only_baselines.output


def test_choose_threads():
    assert choose_threads(None, torch_default=2, cores=2, load=0.1) == 2
    assert choose_threads(None, torch_default=2, cores=2, load=1.2) == 1  # one core busy elsewhere
    assert choose_threads(None, torch_default=2, cores=2, load=15.0) == 1  # never below one
    assert choose_threads(None, torch_default=4, cores=16, load=None) == 4
    assert choose_threads(None, torch_default=16, cores=16, load=0.0, ranks_per_node=8) == 1
    assert choose_threads(6, torch_default=2, cores=2, load=9.0) == 6
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            choose_threads(bad, torch_default=2, cores=2)


def test_threads_option_sets_the_count_for_the_command_only(tmp_path, monkeypatch):
    import commae.simulation

    seen = []
    real = commae.simulation.simulate
    monkeypatch.setattr(commae.simulation, "simulate", lambda *a, **kw: (seen.append(torch.get_num_threads()), real(*a, **kw))[1])
    before = torch.get_num_threads()
    result = CliRunner().invoke(cli, ["ber-curve", "--baseline", "bpsk", "--ebno", "0", "--max-bits", "1e4", "-q", "--threads", "3", "--out", str(tmp_path / "t.csv")])
    assert result.exit_code == 0, result.output
    assert seen == [3] and torch.get_num_threads() == before
