"""``python -m commae`` and the ``commae`` script: the command-line interface."""

import sys


def main() -> None:
    """Run the CLI; a Ctrl-C while it is still being imported ends quietly, as one later does.

    Once a Ctrl-C has ended the command (status 130), further Ctrl-Cs are
    ignored: Python restores SIGINT's default action (terminate) while the
    interpreter shuts down, and a second Ctrl-C then killed the process after
    "Interrupted." was printed, so that its parent saw death by SIGINT
    instead of status 130; one landing while the line was printed ended in a
    traceback (``tests/test_kill_resume.py``).
    """
    try:
        from .cli import cli
    except KeyboardInterrupt:
        _ignore_sigint()
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    try:
        cli(prog_name="commae")
    except KeyboardInterrupt:  # a second Ctrl-C while the first was being reported
        _ignore_sigint()
        sys.exit(130)
    except SystemExit as exc:
        if exc.code == 130:
            _ignore_sigint()
        raise


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess in tests
    main()
