"""``python -m commae``: the command-line interface."""

from .cli import cli

if __name__ == "__main__":  # pragma: no cover - exercised through subprocess in tests
    cli(prog_name="commae")
