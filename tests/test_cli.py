import subprocess
import sys

from click.testing import CliRunner

import commae
from commae.cli import cli


def test_version_and_help():
    runner = CliRunner()
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"commae {commae.__version__}"
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Eb/N0 in dB" in result.output


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
    assert "Traceback" not in result.output


def test_python_dash_m_commae_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "commae", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"commae {commae.__version__}"


def test_the_cli_starts_without_torch_scipy_or_matplotlib():
    """`commae --help`, `--version` and usage errors must not wait for the heavy imports (benchmarks/cli_startup.py times them)."""
    code = (
        "import sys\n"
        "from commae.cli import cli\n"
        "for args in (['--help'], ['--version'], ['train', '--device', 'tpu'], ['ber-curve', '--baseline', 'qam32'], ['plot', '--help']):\n"
        "    try:\n"
        "        cli(args, prog_name='commae')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in ('torch', 'scipy', 'matplotlib', 'numpy') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout, out.stdout[-500:]


def test_the_lazy_public_api_lists_every_name_once():
    names = set(commae.__all__) - {"__version__"}
    assert names == set(commae._LAZY) | {"theory"}
    for name in sorted(names):
        assert getattr(commae, name) is not None
    assert "AWGN" in dir(commae)


def test_baseline_names_are_checked_as_make_baseline_builds_them():
    from commae._names import is_known_baseline
    from commae.baselines import make_baseline

    for name in (
        "bpsk",
        "qpsk",
        "qam16",
        "qam64",
        "qam256",
        "psk8",
        "psk16",
        "hamming74-hard",
        "hamming74-soft",
        "uncoded-bpsk-1",
        "uncoded-bpsk-08",
        "uncoded-bpsk-0",
        "uncoded-bpsk-K",
        "uncoded-bpsk-",
        "qam32",
        "QAM16",
        "bpsk ",
    ):
        try:
            make_baseline(name)
            built = True
        except ValueError:
            built = False
        assert is_known_baseline(name) == built, name
