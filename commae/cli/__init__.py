"""The ``commae`` command: a thin ``click`` group over the Python API.

Each command parses its options into the library's settings, calls the API
and prints; usage errors exit with status 2, failures with 1, each as one
line without a traceback. torch, scipy and matplotlib are imported only
inside the command that needs them, so ``--help`` and usage errors answer at
once.

=================== ====================================================================
module              owns
=================== ====================================================================
``train``           ``commae train``
``ber_curve``       ``commae ber-curve``
``info``            ``commae info``
``gap``             ``commae gap``
``plot``            ``commae plot constellation|ber|curves``
``options``         the options commands share, defined once (most from commae.config's
                    table), ``--out`` and ``--force``
``types``           click parameter types and callbacks
``combinations``    commae.config's combination rules over what the user gave
``launch``          torchrun: joining the process group, deciding together on every rank
``report``          the tables the commands print
``errors``          one line per error, the exit statuses, Ctrl-C
=================== ====================================================================
"""

from __future__ import annotations

import click

from .. import __version__
from . import ber_curve, gap, info, plot, train
from .errors import OneLineErrors

__all__ = ["cli"]


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, "--version", "-V", prog_name="commae", message="%(prog)s %(version)s")
def cli() -> None:
    """commae: train communication autoencoders and compare them with QAM, PSK and Hamming codes.

    SNRs are Eb/N0 in dB unless an option says otherwise.
    """


for _command in (train.train, ber_curve.ber_curve, info.info, gap.gap, plot.plot):
    cli.add_command(_command)
