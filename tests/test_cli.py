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
