"""torchrun: real processes (gloo on CPU), merged counts, identical parameters, resume, and bad launches.

Every test here launches ``torch.distributed.run`` (torchrun) for real. A
"two-node" launch starts two torchrun agents on this machine, one process
each, in different working directories: a relative ``--out`` then names a
different place for rank 0 and rank 1, as on two machines.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from commae import theory
from commae.distributed import DistributedError, _check_gpus, agree, is_distributed
from commae.simulation import read_results

ROOT = Path(__file__).resolve().parents[1]
THEORY_16QAM_4DB = theory.ber_qam(4.0, 16)
LAUNCH_TIMEOUT = 240


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("WORLD_SIZE", None)
    env["OMP_NUM_THREADS"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(args: list[str], cwd: Path, nproc: int = 2, timeout: float = LAUNCH_TIMEOUT) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), *args]
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)


def _two_nodes(args: list[str], cwd0: Path, cwd1: Path) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """Two torchrun agents (node ranks 0 and 1, one process each) in two directories."""
    port = _free_port()
    procs = []
    for node, cwd in ((0, cwd0), (1, cwd1)):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node-rank", str(node), "--nproc-per-node", "1",
               "--master-addr", "127.0.0.1", "--master-port", str(port), "-m", "commae", *args]  # fmt: skip
        procs.append(subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    done = []
    for p in procs:
        out, err = p.communicate(timeout=LAUNCH_TIMEOUT)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done[0], done[1]


def _commae_errors(text: str) -> list[str]:
    """commae's own error lines (torchrun adds its own failure report after them)."""
    return [line for line in text.splitlines() if line.startswith("Error: ")]


def _worker_status(result: subprocess.CompletedProcess, status: int) -> bool:
    """torchrun itself exits 1 when a worker fails; the workers' own exit status is in its report."""
    return result.returncode == 1 and f"(exitcode: {status})" in result.stderr


def _no_commae_traceback(text: str) -> bool:
    return f"{os.sep}commae{os.sep}" not in "\n".join(line for line in text.splitlines() if line.lstrip().startswith("File "))


SIM = ["ber-curve", "--baseline", "qam16", "--ebno", "4", "--target-errors", "20000", "--batch-size", "16384", "--quiet"]


@pytest.mark.long
def test_ber_curve_on_two_ranks(tmp_path):
    node0, node1, again = tmp_path / "node0", tmp_path / "node1", tmp_path / "again"
    for d in (node0, node1, again):
        d.mkdir()
    r0, r1 = _two_nodes([*SIM, "--out", "res.csv"], node0, node1)
    assert r0.returncode == 0 and r1.returncode == 0, r0.stderr[-2000:] + r1.stderr[-2000:]
    assert sorted(p.name for p in node0.iterdir()) == ["res.csv", "res.json"]
    assert list(node1.iterdir()) == []  # rank 1 wrote nothing
    assert "wrote res.csv" in r0.stdout and r1.stdout == ""  # only rank 0 prints

    (row,) = read_results(node0 / "res.csv")
    settings = json.loads((node0 / "res.json").read_text())
    assert settings["world_size"] == 2
    ranks = settings["rank_counts"]
    assert sorted(r["rank"] for r in ranks) == [0, 1]
    for key in ("bits", "bit_errors", "symbols", "symbol_errors", "blocks", "block_errors"):
        assert row[key] == sum(r[key] for r in ranks), key
    assert all(r["bits"] > 0 for r in ranks)
    assert ranks[0]["bit_errors"] != ranks[1]["bit_errors"]  # disjoint streams, not one stream twice
    # the stopping rule saw the global count: neither rank alone reached the target
    assert row["bit_errors"] >= 20000 and all(r["bit_errors"] < 20000 for r in ranks)
    low, high = _cp(row["bit_errors"], row["bits"], 0.999)
    assert low <= THEORY_16QAM_4DB <= high, (row["ber"], THEORY_16QAM_4DB)

    # the same seed and world size (here on one node) give the same bytes
    r = _torchrun(["-m", "commae", *SIM, "--out", "res.csv"], again)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (again / "res.csv").read_bytes() == (node0 / "res.csv").read_bytes()


def _cp(errors: int, trials: int, level: float) -> tuple[float, float]:
    from commae.simulation import clopper_pearson

    return clopper_pearson(errors, trials, level)


@pytest.mark.long
def test_fit_keeps_parameters_identical_on_every_rank(tmp_path):
    report = tmp_path / "report.json"
    r = _torchrun([str(ROOT / "tests" / "_dist_fit.py"), str(report)], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads(report.read_text())
    assert data["world"] == 2 and data["checks"] == 3 * 15 - 1 and data["identical"]
    assert data["val_loss"][-1] < 0.5 * data["val_loss"][0] and data["val_ser"][-1] < 0.05


TRAIN = ["-m", "commae", "train", "--k", "2", "--batches-per-epoch", "10", "--val-size", "4096", "--schedule", "constant", "--quiet"]


@pytest.mark.long
def test_train_and_resume_on_two_ranks(tmp_path):
    whole = _torchrun([*TRAIN, "--epochs", "3", "--out", "whole"], tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    files = {p.name for p in (tmp_path / "whole").iterdir()}
    assert files == {"config.json", "model.pt", "checkpoint.pt", "history.csv", "constellation.pdf", "constellation.png"}
    config = json.loads((tmp_path / "whole" / "config.json").read_text())
    assert config["world_size"] == 2 and config["effective_batch_size"] == 2 * 1 * 1024
    history = (tmp_path / "whole" / "history.csv").read_text().splitlines()[1:]
    losses = [float(line.split(",")[2]) for line in history]
    assert len(losses) == 3 and losses[-1] < losses[0]

    part = _torchrun([*TRAIN, "--epochs", "2", "--out", "part"], tmp_path)
    assert part.returncode == 0, part.stderr[-3000:]
    resumed = _torchrun(["-m", "commae", "train", "--resume", "--epochs", "3", "--out", "part", "--quiet"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "part" / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)

    # a distributed run resumes only with its own world size, refused in one line
    single = subprocess.run([sys.executable, "-m", "commae", "train", "--resume", "--out", "part", "--quiet"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
    assert single.returncode == 1 and single.stderr.strip().splitlines() == ["Error: part was trained by 2 process(es); resume it with the same number (torchrun --nproc-per-node 2), not 1"]


@pytest.mark.long
def test_out_that_only_rank_1_could_write_stops_every_rank(tmp_path):
    node0, node1 = tmp_path / "node0", tmp_path / "node1"
    node0.mkdir(), node1.mkdir()
    (node0 / "blocked").write_text("a file where rank 0 would need a directory\n")
    r0, r1 = _two_nodes(["train", "--k", "2", "--epochs", "1", "--out", "blocked/run", "--quiet"], node0, node1)
    assert _worker_status(r0, 1) and _worker_status(r1, 1)
    assert _commae_errors(r0.stderr) == ["Error: --out blocked/run cannot be created (Not a directory)"]
    assert _commae_errors(r1.stderr) == []  # rank 1 stops without repeating it
    assert _no_commae_traceback(r0.stderr + r1.stderr)
    assert list(node1.iterdir()) == [] and (node0 / "blocked").read_text().startswith("a file")


@pytest.mark.long
def test_out_that_only_rank_0_can_write_is_enough(tmp_path):
    node0, node1 = tmp_path / "node0", tmp_path / "node1"
    node0.mkdir(), node1.mkdir()
    (node1 / "blocked").write_text("rank 1 does not write\n")
    r0, r1 = _two_nodes([*SIM, "--target-errors", "100", "--out", "blocked/res.csv"], node0, node1)
    # rank 0 cannot create blocked/res.csv either: its parent does not exist there
    assert _worker_status(r0, 2) and _worker_status(r1, 2)
    assert _commae_errors(r0.stderr) == ["Error: Invalid value for '--out': blocked/res.csv: the directory blocked does not exist (see 'commae ber-curve --help')"]
    (node0 / "blocked").mkdir()
    r0, r1 = _two_nodes([*SIM, "--target-errors", "100", "--out", "blocked/res.csv"], node0, node1)
    assert r0.returncode == 0 and r1.returncode == 0, r0.stderr[-2000:] + r1.stderr[-2000:]
    assert (node0 / "blocked" / "res.csv").is_file() and (node1 / "blocked").read_text() == "rank 1 does not write\n"


@pytest.mark.long
def test_cuda_without_gpus_is_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = _torchrun(["-m", "commae", *SIM, "--device", "cuda"], tmp_path)
    assert _worker_status(r, 2)
    assert _commae_errors(r.stderr) == ["Error: --device cuda: CUDA is not available on this machine; use --device cpu (gloo) (see 'commae ber-curve --help')"]
    assert _no_commae_traceback(r.stderr) and list(tmp_path.iterdir()) == []


def test_more_ranks_than_gpus_is_refused():
    with pytest.raises(DistributedError, match=r"3 processes on this node but 2 GPU\(s\); launch with --nproc-per-node 2 or fewer"):
        _check_gpus(torch.device("cuda"), 3, True, 2)
    with pytest.raises(DistributedError, match="without an index"):
        _check_gpus(torch.device("cuda:1"), 1, True, 2)
    _check_gpus(torch.device("cuda"), 2, True, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.long
def test_more_ranks_than_gpus_under_torchrun(tmp_path):
    count = torch.cuda.device_count()
    r = _torchrun(["-m", "commae", *SIM, "--device", "cuda"], tmp_path, nproc=count + 1)
    assert _worker_status(r, 2)
    assert _commae_errors(r.stderr) == [f"Error: --device cuda: {count + 1} processes on this node but {count} GPU(s); launch with --nproc-per-node {count} or fewer (see 'commae ber-curve --help')"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.long
def test_ber_curve_on_gpus(tmp_path):
    r = _torchrun(["-m", "commae", *SIM, "--device", "cuda", "--out", "res.csv"], tmp_path, nproc=torch.cuda.device_count())
    assert r.returncode == 0, r.stderr[-2000:]
    (row,) = read_results(tmp_path / "res.csv")
    low, high = _cp(row["bit_errors"], row["bits"], 0.999)
    assert low <= THEORY_16QAM_4DB <= high


def _worker(parent: int, rank: int) -> int | None:
    """The pid of torchrun's worker process with ``RANK=rank``, read from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and f"RANK={rank}".encode() in env:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc to find the worker")
@pytest.mark.long
def test_a_rank_dying_stops_the_others(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
           "-m", "commae", "ber-curve", "--baseline", "qam16", "--ebno", "4", "--target-errors", "1000000000", "--max-bits", "1e15", "--batch-size", "4096",
           "--quiet", "--out", "res.csv"]  # fmt: skip
    agent = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, victim = time.monotonic() + 60, None
        while victim is None and time.monotonic() < deadline and agent.poll() is None:
            time.sleep(0.5)
            victim = _worker(agent.pid, 1)
        assert victim is not None, "rank 1 never started"
        time.sleep(4)  # let the ranks reach the simulation loop
        assert agent.poll() is None, "the run ended before the kill"
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        out, err = agent.communicate(timeout=90)
        stopped = time.monotonic() - killed
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode != 0 and stopped < 60, (stopped, err[-2000:])
    assert not (tmp_path / "res.csv").exists() and not (tmp_path / "res.json").exists()


def test_single_process_is_not_distributed():
    assert not is_distributed() and agree(lambda: "same") == "same"


def test_info_monte_carlo_split_over_two_ranks(tmp_path):
    from commae import mi_with_interval, qam

    r = _torchrun(["-m", "commae", "info", "--baseline", "qpsk", "--esno", "10", "--channel", "rayleigh", "--samples", "100000", "--quiet", "--out", "info.csv"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    header, row = (tmp_path / "info.csv").read_text().splitlines()
    value = dict(zip(header.split(","), row.split(",")))
    # one process, another stream, 200k draws: the two estimates agree within their Monte-Carlo error
    reference, low, high = mi_with_interval(qam(4), 10.0, channel="rayleigh", num_samples=200_000, seed=7, confidence=0.999)
    sigma_one = (high - low) / 2 / 3.29 * (200_000 / 100_000) ** 0.5  # the 100k-draw estimate's standard error
    assert abs(float(value["mi_bits_per_use"]) - reference) < 4.5 * sigma_one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["info.csv"]
