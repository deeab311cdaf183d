"""The ``commae`` command: a thin ``click`` group over the Python API.

It parses options, calls the library and reports; it holds no logic of its
own. Usage errors exit with status 2, failures with 1, each as one line.
"""

from __future__ import annotations

import click

from . import __version__

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "--version", "-V", prog_name="commae", message="%(prog)s %(version)s")
def cli() -> None:
    """commae: train communication autoencoders and compare them with QAM, PSK and Hamming codes.

    SNRs are Eb/N0 in dB unless an option says otherwise.
    """
