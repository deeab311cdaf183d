"""``python -m commae`` and the ``commae`` script: the command-line interface."""

import sys


def main() -> None:
    """Run the CLI; a Ctrl-C while it is still being imported ends quietly, as one later does."""
    try:
        from .cli import cli
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    cli(prog_name="commae")


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess in tests
    main()
