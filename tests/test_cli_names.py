"""Run names, --resume, the summary table and Ctrl-C: what a new user meets first."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from commae.cli import cli
from commae.runs import load_config

TINY = ["--k", "2", "--hidden", "8", "--epochs", "2", "--batches-per-epoch", "3", "--batch-size", "128", "--val-size", "500", "--quiet"]
ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def _names(*option_sets):
    """The default run directory of each option set, read from the command's --dry-run-free refusal path."""
    from commae.cli.train import train
    from commae.runs import default_run_dir

    names = []
    for options in option_sets:
        ctx = train.make_context("train", list(options))
        names.append(default_run_dir(ctx.params))
    return names


def test_default_run_names_keep_different_experiments_apart():
    options = [
        [],
        ["--loss", "bce"],
        ["--channel", "rayleigh"],
        ["--channel", "rayleigh", "--no-csi"],
        ["--channel", "rayleigh", "--fading", "block"],
        ["--real"],
        ["--points"],
        ["--esno"],
        ["--snr", "5:10"],
        ["--normalization", "message"],
        ["--hidden", "64"],
        ["--optimizer", "sgd"],
        ["--lr", "0.01"],
        ["--seed", "1"],
        ["--batch-size", "2048"],
        ["--epochs", "20"],
        ["--schedule", "constant"],
        ["--clip", "1"],
        ["--val-size", "1000"],
        ["--amp"],
        ["--accumulate", "2"],
        ["--no-csi"],
        ["--fading", "block"],
    ]
    names = _names(*options)
    assert names[0] == "runs/k4-n1-awgn-7dB"  # the README's name for the default run
    assert len(set(names)) == len(names), names
    assert names[1] == "runs/k4-n1-awgn-7dB-bce" and names[5] == "runs/k4-n1-real-awgn-7dB"
    assert names[3] == "runs/k4-n1-rayleigh-fast-nocsi-7dB" and names[7] == "runs/k4-n1-awgn-7dB-esno"
    # the same experiment, spelled differently, gets the same name; --device and --quiet say nothing about it
    assert _names(["--snr", "7", "--loss", "ce", "--lr", "3e-3", "--device", "cpu", "-q"])[0] == names[0]
    assert len(set(_names(["--batch-size", "2048"], ["--batch-size", "2048"]))) == 1


def test_a_rerun_is_recognised_and_a_different_experiment_is_not_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = _run("train", *TINY)
    assert first.exit_code == 0, first.output
    again = _run("train", *TINY)
    assert again.exit_code == 1
    assert "already holds a run with exactly these settings; pass --resume to continue it, or --force" in again.output
    other = _run("train", *TINY, "--loss", "bce")
    assert other.exit_code == 0, other.output
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_resume_accepts_repeated_values_and_refuses_changes(tmp_path):
    out = tmp_path / "run"
    assert _run("train", "--out", str(out), "--snr", "10", "--esno", "--schedule", "constant", *TINY).exit_code == 0
    same = _run("train", "--out", str(out), "--resume", "--snr", "10", "--esno", "--k", "2", "--lr", "0.003", "--schedule", "constant", "--epochs", "3", "--quiet")
    assert same.exit_code == 0, same.output
    assert load_config(out)[1].epochs == 3
    for change in (["--snr", "10"], ["--snr", "11", "--esno"], ["--k", "3"], ["--lr", "0.01"], ["--loss", "bce"], ["--real"], ["--esno", "--snr", "7"]):
        result = _run("train", "--out", str(out), "--resume", *change, "--quiet")
        assert result.exit_code == 2, (change, result.output)
        assert f"--{change[0].lstrip('-')} cannot change when resuming" in result.output or "cannot change when resuming" in result.output


def test_summary_says_the_unit_that_was_set_and_the_bound_it_reports(tmp_path):
    esno = _run("train", "--out", str(tmp_path / "a"), "--snr", "10", "--esno", *TINY)
    assert esno.exit_code == 0, esno.output
    assert "validation at Es/N0 10 dB (Eb/N0 6.99 dB)" in esno.output  # k = 2 bits in one use: Eb/N0 = Es/N0 - 3.01 dB
    bce = _run("train", "--out", str(tmp_path / "b"), "--loss", "bce", *TINY)
    assert re.search(r"system\s+errors\s+BLER \(2-bit message\)\s+95% interval\s+bit errors\s+BER\s+BMI bound \(bit\)", bce.output), bce.output
    ce = _run("train", "--out", str(tmp_path / "c"), *TINY)
    assert re.search(r"system\s+errors\s+BLER \(2-bit message\)\s+95% interval\s+bit errors\s+BER\s+MI bound \(bit\)", ce.output) and "at Eb/N0 7 dB" in ce.output


def test_summary_columns_line_up_with_long_system_names(tmp_path):
    result = _run("train", "--out", str(tmp_path / "r"), "--k", "4", "--n", "7", "--real", *TINY[2:])
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines() if line.startswith("  ") and not line.strip().startswith("(")]  # the table, not its notes
    assert any("hamming74-soft (baseline)" in line for line in table), result.output
    ends = {tuple(m.end() for m in re.finditer(r"\S+(?: \S+)*", line))[1:] for line in table}
    assert len(ends) == 1, table  # every column ends where its header ends


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.long
def test_ctrl_c_during_training_hints_at_resume(tmp_path):
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "commae",
        "train",
        "--out",
        str(out),
        "--k",
        "2",
        "--hidden",
        "8",
        "--epochs",
        "1000",
        "--batches-per-epoch",
        "3",
        "--batch-size",
        "128",
        "--val-size",
        "500",
        "--schedule",
        "constant",
        "--quiet",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"commae train --out {out} --resume" in err
    resumed = _run("train", "--out", str(out), "--resume", "--epochs", "1000", "--quiet", "--dry-run")
    assert "Traceback" not in resumed.output


@pytest.mark.long
def test_ctrl_c_during_start_up_prints_no_traceback(tmp_path):
    args = [sys.executable, "-m", "commae", "train", "--out", str(tmp_path / "r"), *TINY]
    for delay in (0.15, 0.4, 0.8, 1.5):
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if "init_import_site" in err:  # the signal came while CPython itself was starting, before any code of ours ran
            continue
        assert "Traceback" not in err, (delay, err)
        if proc.returncode not in (0, -signal.SIGINT):
            assert proc.returncode == 130 and err.strip().splitlines()[-1].startswith("Interrupted."), (delay, err)


def test_existing_outputs_are_named_in_a_sentence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["ber-curve", "--baseline", "bpsk", "--ebno", "0", "--max-bits", "1e4", "--quiet"]
    assert _run(*args).exit_code == 0
    again = _run(*args)
    assert again.exit_code == 1
    assert "Error: results.csv and results.json exist; pass --force to overwrite, or write elsewhere with --out" in again.output
    for bad, message in (
        (["--label", "bpsk"], "is not SYSTEM=NAME"),
        (["--label", "qam16=16-QAM"], "no system 'qam16' in the CSV"),
        (["--xlim", "5:1"], "LOW < HIGH"),
        (["--ylim", "0:1"], "must be > 0"),
        (["--ylim", "a:b"], "is not LOW:HIGH"),
    ):
        result = _run("plot", "ber", "results.csv", *bad, "--format", "png")
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, (bad, result.output)
    result = _run("plot", "ber", "results.csv", "--label", "bpsk=BPSK (Gray)", "--xlim", "-1:1", "--ylim", "1e-3:1", "--format", "png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ber.png").is_file()


# issue 23.4: names a new user reads


def test_a_bitwise_run_logs_the_bmi_every_epoch_as_its_table_heads_it(tmp_path):
    bce = _run("train", "--out", str(tmp_path / "b"), "--loss", "bce", *TINY[:-1])
    assert bce.exit_code == 0, bce.output
    epochs = [line for line in bce.output.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 2 and all(re.search(r"  BMI -?\d\.\d{3} bit  ", line) for line in epochs), epochs
    assert re.search(r"BMI bound \(bit\)", bce.output) and "MI bound" not in bce.output.replace("BMI bound", "")
    from commae.training import _summary  # a symbol-wise loss's line says MI

    assert "  MI 3.500 bit  " in _summary({"epoch": 1, "train_loss": 0.1, "val_loss": 0.1, "mi_bits": 3.5, "lr": 1e-3, "seconds": 1.0}, 1)


def test_fading_options_say_they_apply_to_rician_too():
    for command in ("train", "ber-curve"):
        text = " ".join(_run(command, "--help").output.split())
        for flag in ("--fading [fast|block]", "--csi / --no-csi"):
            start = text.index(flag)
            assert "rician" in text[start : start + 140].lower(), (command, text[start : start + 140])


def test_one_size_convention_n_k_in_every_name():
    """A system's size in a name is (n, k), as coding theory writes a code; named sizes (k=4, n=1) never stand in a system's name."""
    import json

    from commae.plotting import paper_name

    assert paper_name("k4-n1-awgn-7dB") == "Autoencoder (1,4)" and paper_name("k4-n7-real-awgn-7dB") == "Autoencoder (7,4)"
    cells = json.loads((ROOT / "docs" / "tutorial.ipynb").read_text())["cells"]
    source = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    k, n = re.search(r"SEED, K, N, EBNO_DB = \d+, (\d+), (\d+),", source).groups()
    label = 'f"Autoencoder ({N},{K})"'
    assert label in source and paper_name(f"k{k}-n{n}-awgn-7dB") == f"Autoencoder ({n},{k})"
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "commae").rglob("*.py")), *sorted((ROOT / "experiments").glob("*.py"))]
    for path in texts:
        assert not re.search(r"Autoencoder \(?k\s*=", path.read_text()), path
        assert "Autoencoder (4,1)" not in path.read_text(), path
