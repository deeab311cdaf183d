r"""Every option of ``commae train`` (and the ones ``ber-curve`` and ``info`` share), in one table.

:data:`OPTIONS` lists each option once: its name, the ``config.json`` table it
is stored in (``"system"``, ``"train"``, or ``"run"`` for options that say how
a command runs and are stored nowhere), its limits or choices (a check such as
:class:`Int` or :class:`OneOf`, which also gives its Python type), default,
unit and help text, whether it is *operational* (it says how a run is carried
out, not what it computes: it never names a run and may differ on
``--resume``), whether it names the default run directory, and its
command-line spelling. :data:`RULES` holds the combinations of options that
make no sense, and :func:`check_combinations` is the one validator of them.

Everything else is derived from this module:

=================================== =======================================================
what                                derived by
=================================== =======================================================
the click options                   ``commae.cli`` turns each :class:`Option` into a
                                    ``click.option`` (flags, type, default, help)
``config.json`` validation          :func:`commae.schemas.check_config`: each value by its
                                    check, then :func:`check_combinations`
``--config`` files                  :mod:`commae.config_files`: keys, key types, renames
the ``--resume`` check              options marked ``resumable`` may differ; others are
                                    refused when they change
``SystemConfig``, ``TrainConfig``   :func:`dataclass_of`: every field's default, and any
                                    field of the table the class does not declare
=================================== =======================================================

So a new option is one :class:`Option` entry here (and a line in its
dataclass, so the class reads whole; the dataclass gets it either way).

This module imports neither torch nor click: ``commae --help`` reads it.

An option that does not apply to what was chosen is refused in one line
naming it (exit status 2) when the user gives it: ``--k-factor`` without
``--channel rician``, ``--fading`` and ``--csi/--no-csi`` on AWGN,
``--phase-noise-model`` without ``--phase-noise``, ``--adc-clip`` without
``--adc-bits``, ``--pa-*`` without ``--pa``, ``--exploration`` without
``--training model-free``, ``--momentum`` without sgd, ``--nesterov``
without sgd and momentum, ``--points`` with ``--n`` > 1 or ``--real``,
``--real`` off AWGN, ``--phase-noise`` with ``--real``, ``--noise-input``
with a single ``--snr`` value (and in ``ber-curve``
the channel options without ``--baseline``: a run uses its own channel).
"Given" means on the command line, or in a ``--config`` file with another
value than the default; a value left at its default is never refused, so a
run's own config.json always reads back and re-runs. Accepted because that is
useful: ``info``'s ``--samples`` and ``--seed`` over AWGN without impairments
(quadrature; they change nothing and are recorded nowhere), ``--force`` with
``--dry-run`` (nothing is written), and on ``--resume`` any option repeated
with its stored value.

Examples
--------
>>> option("lr").default, option("lr").check.accepts(), option("lr").flag
(0.003, 'a finite number > 0', '--lr')
>>> option("constellation").flag, option("constellation").param
('--points', 'points')
>>> check_combinations({"optimizer": "adam", "momentum": 0.9})
Traceback (most recent call last):
...
commae.config.ConfigError: 'train.momentum' applies to 'train.optimizer' 'sgd' only (Adam and AdamW keep their own moments)
>>> try:
...     check_combinations({"channel": "awgn", "adc_clip": 2.0}, given={"adc_clip"})
... except ConfigError as exc:
...     print(exc.option, "|", exc.message("option"))
adc_clip | --adc-clip needs --adc-bits B
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

try:
    from typing import dataclass_transform
except ImportError:  # pragma: no cover - Python 3.10

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda f: f


__all__ = [
    "DB_LIMIT",
    "MAX_BATCH_SIZE",
    "MAX_BITS",
    "MAX_COUNT",
    "Int",
    "Real",
    "OneOf",
    "Flag",
    "DbRange",
    "Device",
    "Text",
    "PathName",
    "check_db",
    "Option",
    "OPTIONS",
    "IMPAIRMENTS",
    "HELP_SECTIONS",
    "FADING_CHANNELS",
    "OUTPUT_OF_LOSS",
    "option",
    "by_param",
    "options",
    "fields",
    "default",
    "dataclass_of",
    "Rule",
    "RULES",
    "ConfigError",
    "check_combinations",
    "no_information",
]

DB_LIMIT = 100.0  # SNRs in dB beyond this are typos, and overflow the linear scale
MAX_BATCH_SIZE = 2**24  # messages in one vectorised batch (train --batch-size, --val-size; ber-curve --batch-size)
MAX_BITS = 2**62  # ber-curve --max-bits: the bit counts stay exact 64-bit integers
MAX_COUNT = 2**31 - 1  # train --epochs, --batches-per-epoch, --accumulate, --patience: their product stays an index
MAX_SEED = 2**63 - 1


# --- checks: the limits or choices of one value, as the command line and the files accept it ------------


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound(op: str, value: float) -> str:
    return f"{op} {value:g}"


@dataclass(frozen=True)
class Int:
    """An integer (not a bool) in ``lo..hi`` (either end may be open-ended); ``optional`` also takes None.

    >>> Int(1, 12).check(4)
    4
    """

    lo: int | None = None
    hi: int | None = None
    optional: bool = False
    type = int

    def accepts(self) -> str:
        if self.lo is not None and self.hi is not None:
            text = f"an integer from {self.lo} to {self.hi}"
        elif self.lo is not None:
            text = f"an integer >= {self.lo}"
        elif self.hi is not None:
            text = f"an integer <= {self.hi}"
        else:
            text = "an integer"
        return text + (" or null" if self.optional else "")

    def check(self, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise ValueError(self.accepts())
        return value


@dataclass(frozen=True)
class Real:
    """A finite number (an int is taken as a float) within the bounds; ``*_open`` excludes that bound.

    >>> Real(0, None, lo_open=True).accepts()
    'a finite number > 0'
    >>> Real(0, None, lo_open=True).check(-0.1)
    Traceback (most recent call last):
    ...
    ValueError: a finite number > 0
    """

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    optional: bool = False
    type = float

    def accepts(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(_bound(">" if self.lo_open else ">=", self.lo))
        if self.hi is not None:
            parts.append(_bound("<" if self.hi_open else "<=", self.hi))
        text = "a finite number" + (" " + " and ".join(parts) if parts else "")
        return text + (" or null" if self.optional else "")

    def check(self, value: Any) -> Any:
        if value is None and self.optional:
            return None
        ok = _number(value) and math.isfinite(value)
        if ok and self.lo is not None:
            ok = value > self.lo if self.lo_open else value >= self.lo
        if ok and self.hi is not None:
            ok = value < self.hi if self.hi_open else value <= self.hi
        if not ok:
            raise ValueError(self.accepts())
        return float(value)


@dataclass(frozen=True)
class OneOf:
    """One of ``choices`` (strings); ``optional`` also takes None."""

    choices: tuple[str, ...]
    optional: bool = False
    type = str

    def accepts(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices) + (" or null" if self.optional else "")

    def check(self, value: Any) -> Any:
        if (value is None and self.optional) or (isinstance(value, str) and value in self.choices):
            return value
        raise ValueError(self.accepts())


@dataclass(frozen=True)
class Flag:
    """true or false."""

    optional = False
    type = bool

    def accepts(self) -> str:
        return "true or false"

    def check(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValueError(self.accepts())
        return value


def check_db(values: Collection[float], text: str) -> None:
    """Refuse SNRs (``values``, parsed from ``text``) that are not finite or lie beyond ±:data:`DB_LIMIT` dB."""
    if not all(math.isfinite(v) and abs(v) <= DB_LIMIT for v in values):
        raise ValueError(f"{text!r}: SNRs must be finite and within ±{DB_LIMIT:g} dB")


@dataclass(frozen=True)
class DbRange:
    """``[low, high]`` in dB, finite, within ±``limit``, ``low <= high``; ``optional`` also takes None.

    On the command line it is one value or ``LOW:HIGH`` (:meth:`parse`):

    >>> DbRange().parse("5:10"), DbRange().parse("7")
    ((5.0, 10.0), (7.0, 7.0))
    """

    optional: bool = False
    limit: float = DB_LIMIT
    type = tuple

    def accepts(self) -> str:
        return f"[low, high] in dB with low <= high, both finite and within ±{self.limit:g}" + (" or null" if self.optional else "")

    def check(self, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(_number(v) and math.isfinite(v) and abs(v) <= self.limit for v in value) and value[0] <= value[1]):
            raise ValueError(self.accepts())
        return (float(value[0]), float(value[1]))

    def parse(self, text: str) -> tuple[float, float]:
        """``"7"`` -> (7, 7); ``"5:10"`` -> (5, 10); ValueError with the line the command line prints."""
        try:
            parts = [float(p) for p in text.split(":")]
        except ValueError:
            parts = []
        if len(parts) == 1:
            parts *= 2
        if len(parts) != 2 or parts[0] > parts[1] or any(p != p for p in parts):
            raise ValueError(f"{text!r} is not an Eb/N0 in dB (e.g. 7) or a range LOW:HIGH with LOW <= HIGH (e.g. 5:10)")
        check_db(parts, text)
        return parts[0], parts[1]


@dataclass(frozen=True)
class Device:
    """A device name as ``--device`` takes it: cpu, cuda or cuda:N (checked by spelling alone, without torch)."""

    optional = False
    type = str

    def accepts(self) -> str:
        return "a device name: cpu, cuda or cuda:N"

    def check(self, value: Any) -> Any:
        if not (isinstance(value, str) and re.fullmatch(r"(cpu|cuda)(:\d+)?", value)):
            raise ValueError(self.accepts())
        return value

    def parse(self, text: str) -> str:
        if re.fullmatch(r"(cpu|cuda)(:\d+)?", text):
            return text
        if re.fullmatch(r"\w+(:\d+)?", text):
            raise ValueError(f"{text!r}: only cpu and cuda devices are supported")
        raise ValueError(f"{text!r} is not a torch device: cpu, cuda, cuda:1, ...")


@dataclass(frozen=True)
class Text:
    """Any string; ``optional`` also takes None."""

    optional: bool = True
    type = str

    def accepts(self) -> str:
        return "a string" + (" or null" if self.optional else "")

    def check(self, value: Any) -> Any:
        if (value is None and self.optional) or isinstance(value, str):
            return value
        raise ValueError(self.accepts())


@dataclass(frozen=True)
class PathName(Text):
    """A path: a directory (``file_okay=False``) or a file (``dir_okay=False``)."""

    file_okay: bool = True
    dir_okay: bool = True


Check = Int | Real | OneOf | Flag | DbRange | Device | Text


# --- one option --------------------------------------------------------------------------------

Section = Literal["system", "train", "run"]
_SAME: Any = object()  # Option.cli_default: the same as Option.default


@dataclass(frozen=True, eq=False)
class Option:
    """One option: what it holds, where it is stored, how it is spelt and what it means.

    Parameters
    ----------
    name : str
        The key in ``config.json`` (for ``system``/``train`` options) and the
        name combination rules use.
    section : {"system", "train", "run"}
        The ``config.json`` table, or ``"run"`` for options stored nowhere
        (how a command runs: ``--out``, ``--quiet``, ...; ``--snr`` and
        ``--esno`` are stored through ``ebno_db`` and ``esno_db``).
    check : Int, Real, OneOf, Flag, DbRange, Device, Text or PathName
        The limits or choices; ``check.type`` is the Python type.
    default
        The value when the option is not given (the dataclass default).
    help : str
        ``--help`` text (``helps`` overrides it per command).
    unit : str
        The unit of the value, where it has one.
    flags : tuple of str, optional
        The command-line spelling (``("--quiet", "-q")``, ``("--csi/--no-csi",)``);
        default ``--name-with-dashes``; empty for a stored value without an
        option of its own, set through ``via``.
    param : str, optional
        The click parameter name, where it differs from ``name``.
    cli_default
        The command line's default where it differs from ``default``: text
        that ``check.parse`` reads (``--snr``'s ``"7"``), or None where the
        value is decided from other options (``--normalization``).
    commands : tuple of str
        The commands that take the option.
    operational : bool
        How a run is carried out, not what it computes: never part of a run's
        name, may differ on ``--resume``.
    resumable : bool, optional
        May be given with another value on ``--resume`` (default: ``operational``;
        ``--epochs`` may grow).
    names_run : bool
        Spelt out in the default run directory (others that differ from their
        default enter it through a hash).
    from_files : bool
        May be set by a ``--config`` file.
    via : str, optional
        For a stored value without an option: the option that sets it, as messages name it.
    group : str
        The section of ``--help`` it is listed in (:data:`HELP_SECTIONS`):
        ``"system"``, ``"channel"``, ``"impairment"`` (the channel
        impairments, :data:`IMPAIRMENTS`: make_channel's keywords),
        ``"training"``, ``"run"`` or ``"output"``  [default: by ``section``:
        ``"system"``, ``"training"`` for ``"train"``, ``"run"``].
    """

    name: str
    section: Section
    check: Check
    default: Any = None
    help: str = ""
    unit: str = ""
    flags: tuple[str, ...] | None = None
    param: str = ""
    cli_default: Any = _SAME
    commands: tuple[str, ...] = ("train",)
    helps: Mapping[str, str] = field(default_factory=dict)
    operational: bool = False
    resumable: bool | None = None
    names_run: bool = False
    from_files: bool = True
    via: str | None = None
    metavar: str | None = None
    flag_value: str | None = None
    group: str = ""

    def __post_init__(self) -> None:
        set_ = lambda key, value: object.__setattr__(self, key, value)  # noqa: E731 - frozen
        if self.flags is None:
            set_("flags", () if self.via else ("--" + self.name.replace("_", "-"),))
        if not self.param:
            set_("param", self.name)
        if self.resumable is None:
            set_("resumable", self.operational)
        if self.cli_default is _SAME:
            set_("cli_default", self.default)
        if not self.group:
            set_("group", {"system": "system", "train": "training", "run": "run"}[self.section])

    @property
    def type(self) -> type:
        """The Python type of the value (None is also taken where ``check.optional``)."""
        return self.check.type

    @property
    def unset_value(self) -> Any:
        """The value the option has on the command line when it is not given: :attr:`cli_default`, parsed where it is text."""
        text = self.cli_default
        return self.check.parse(text) if hasattr(self.check, "parse") and isinstance(text, str) else text

    @property
    def flag(self) -> str | None:
        """The long command-line flag (``--csi`` of ``--csi/--no-csi``), or None for a value without an option."""
        return self.flags[0].split("/")[0] if self.flags else None

    def flag_for(self, value: Any) -> str:
        """The flag as given for ``value`` (``--no-csi`` for False), or how the value is set (``via``)."""
        if not self.flags:
            return self.via or self.name
        on, _, off = self.flags[0].partition("/")
        return off if off and value is False else on

    @property
    def hint(self) -> str:
        """The option that sets the value, as file messages name it: ``--lr``, ``--points``, ``--snr with --esno``."""
        return self.via or self.flag or self.name

    def help_for(self, command: str) -> str:
        return self.helps.get(command, self.help)


_EVERY = ("train", "ber-curve", "info")
_FORCE = {"ber-curve": "Overwrite an existing --out.", "info": "Overwrite an existing --out."}

# --- the table: train's options in the order of `commae train --help` -----------------------------

OPTIONS: tuple[Option, ...] = (
    # SNR: stored as train.ebno_db (in Eb/N0) and train.esno_db (as given with --esno)
    Option(
        "snr",
        "run",
        DbRange(),
        (7.0, 7.0),
        "Training Eb/N0 in dB (Es/N0 with --esno): one value (7) or a range LOW:HIGH drawn uniformly per message (5:10).",
        unit="dB",
        cli_default="7",
        names_run=True,
        group="channel",
    ),
    Option("esno", "run", Flag(), False, "Read --snr as Es/N0 in dB per channel use instead of Eb/N0.", names_run=True, group="channel"),
    Option("ebno_db", "train", DbRange(limit=DB_LIMIT + 40), (7.0, 7.0), unit="dB", via="--snr"),  # an --esno run's Eb/N0 lies up to 10 log10(n/k) <= 24 dB beyond
    Option("esno_db", "train", DbRange(optional=True), None, unit="dB", via="--snr with --esno"),
    # the system: sizes, channel, receiver
    Option("k", "system", Int(1, 12), 4, "Bits per message (M = 2**k messages).", unit="bits", names_run=True),
    Option("n", "system", Int(1, 256), 1, "Channel uses per message (complex, or real with --real).", unit="channel uses", names_run=True),
    Option("real", "system", Flag(), False, "Real channel uses (O'Shea & Hoydis), E x^2 = 1 per use; AWGN only.", names_run=True),
    Option(
        "channel",
        "system",
        OneOf(("awgn", "rayleigh", "rician")),
        "awgn",
        "Channel model (rician needs --k-factor).",
        commands=_EVERY,
        helps={
            "ber-curve": "Baselines' channel (a run uses its own); rician needs --k-factor.",
            "info": "awgn: Gauss-Hermite quadrature; rayleigh, rician (CSI) and any impairment: Monte Carlo with the exact channel law.",
        },
        names_run=True,
        group="channel",
    ),
    Option(
        "fading",
        "system",
        OneOf(("fast", "block")),
        "fast",
        "Fading (rayleigh, rician): h per channel use (fast) or per message (block).",
        commands=("train", "ber-curve"),
        helps={"ber-curve": "Baselines' fading (rayleigh, rician): h per channel use or per message."},
        names_run=True,
        group="channel",
    ),
    Option(
        "csi",
        "system",
        Flag(),
        True,
        "Fading (rayleigh, rician): the receiver is given h (perfect CSI).",
        flags=("--csi/--no-csi",),
        commands=("train", "ber-curve"),
        helps={"ber-curve": "Fading (rayleigh, rician): the baselines' receivers know h (coherent detection)."},
        names_run=True,
        group="channel",
    ),
    Option("loss", "train", OneOf(("ce", "bce")), "ce", "ce: symbol-wise cross-entropy (MI); bce: bit-wise BCE (BMI), bit-wise receiver.", names_run=True),
    Option("output", "system", OneOf(("symbol", "bit")), "symbol", via="--loss"),  # the receiver's output, set by the loss (OUTPUT_OF_LOSS)
    Option(
        "normalization",
        "system",
        OneOf(("batch", "message", "amplitude")),
        None,  # the channel's (Channel.default_normalization): SystemConfig asks it, and every config.json stores the answer
        "Power constraint: average energy 1 per use over the messages, energy n for every message, or |x_i| <= 1 per use (O'Shea & Hoydis; SNR of the peak energy)  "
        "[default: message over fading without CSI (Rayleigh, Rician), where an average constraint lets messages collapse to x = 0; batch otherwise]",
        cli_default=None,
        names_run=True,
    ),
    Option("hidden", "system", Int(1, 4096), 128, "Hidden-layer width of transmitter and receiver (units).", unit="units", names_run=True),
    Option("rx_layers", "system", Int(1, 16), 2, "Hidden layers of the receiver (the transmitter has one); O'Shea & Hoydis: --hidden M --rx-layers 1.", unit="layers"),
    Option(
        "constellation",
        "system",
        Flag(),
        False,
        "Learn the constellation points directly (n=1 complex; starts from Gray QAM or PSK, message m on the point labelled m) instead of a transmitter MLP.",
        flags=("--points",),
        param="points",
        names_run=True,
    ),
    Option(
        "shaping",
        "system",
        OneOf(("geometric", "probabilistic", "joint")),
        "geometric",
        "What the transmitter learns: geometric: the points (messages equiprobable); probabilistic: how often each message is sent, on fixed square QAM (--n 1, even --k); "
        "joint: both. A shaped run trains CE - H(X) (bce: sum of BCE - H(X)), the MI (BMD-rate) bound, under the average power constraint of its probabilities (--normalization batch).",
    ),
    Option(
        "noise_input",
        "system",
        Flag(),
        False,
        "Give the receiver the noise level: log10 N0 of each message is one more input beside y (as Sionna's neural demapper). Helps over a range of --snr (LOW:HIGH), "
        "where a receiver without it learns outputs for an average noise level (bit LLRs too small at the high end, too large at the low); needs such a range.",
        flags=("--noise-input/--no-noise-input",),
        names_run=True,
    ),
    # the optimiser and its schedule
    Option("optimizer", "train", OneOf(("sgd", "adam", "adamw")), "adam", "Optimiser.", names_run=True),
    Option(
        "lr",
        "train",
        Real(0, None, lo_open=True),
        3e-3,
        "Initial learning rate. It applies to the gradient averaged over the effective batch and is not rescaled with the number of torchrun processes (scale it yourself, e.g. linearly).",
        names_run=True,
    ),
    Option("momentum", "train", Real(0, 1, hi_open=True), 0.0, "SGD momentum (sgd only)."),
    Option("nesterov", "train", Flag(), False, "Nesterov momentum (sgd with --momentum > 0)."),
    Option("weight_decay", "train", Real(0), 0.0, "Weight decay (decoupled for adamw)."),
    Option("schedule", "train", OneOf(("constant", "cosine", "step", "plateau")), "cosine", "Learning-rate schedule over the epochs."),
    # how much training, in what batches
    Option("epochs", "train", Int(1, MAX_COUNT), 30, "Epochs (at most 2**31 - 1, as --batches-per-epoch, --accumulate and --patience).", unit="epochs", resumable=True),
    Option(
        "batch_size",
        "train",
        Int(1, MAX_BATCH_SIZE),
        1024,
        f"Messages per micro-batch (at most 2**24 = {MAX_BATCH_SIZE}), per process: under torchrun with N processes an optimiser step averages the gradient over the effective batch "
        "N x --accumulate x --batch-size (stored in config.json).",
        unit="messages",
    ),
    Option("batches_per_epoch", "train", Int(1, MAX_COUNT), 100, "Optimiser steps per epoch.", unit="steps"),
    Option("accumulate", "train", Int(1, MAX_COUNT), 1, "Micro-batches per optimiser step (gradient accumulation).", unit="micro-batches"),
    Option("amp", "train", Flag(), False, "Mixed precision: bf16 autocast on CPU, fp16 + grad scaler on CUDA.", flags=("--amp/--no-amp",)),
    Option("clip", "train", Real(0, None, lo_open=True, optional=True), None, "Clip the gradient norm to this value  [default: no clipping]"),
    Option("patience", "train", Int(1, MAX_COUNT, optional=True), None, "Stop early after this many epochs without a better validation loss  [default: off]", unit="epochs"),
    Option(
        "val_size",
        "train",
        Int(1, MAX_BATCH_SIZE),
        100_000,
        "Validation messages, at most 2**24 (drawn once, from their own seed; rounded down to equal chunks of at most 32768).",
        unit="messages",
    ),
    # where and how the command runs
    Option(
        "device",
        "train",
        Device(),
        "cpu",
        "Torch device: cpu, cuda, cuda:1, ...",
        commands=("train", "ber-curve"),
        helps={"ber-curve": "Torch device: cpu, cuda, ..."},
        operational=True,
        group="run",
    ),
    Option(
        "seed",
        "train",
        Int(0, MAX_SEED),
        0,
        "Seed of the run (initial weights, training and validation draws).",
        commands=_EVERY,
        helps={"ber-curve": "Seed of the noise: the same seed gives the same CSV.", "info": "Seed of the Monte-Carlo draws."},
        names_run=True,
    ),
    Option(
        "out",
        "run",
        PathName(file_okay=False),
        None,
        "Run directory  [default: runs/ + a name from the options: runs/k4-n1-awgn-7dB for the defaults, runs/k4-n1-awgn-7dB-bce with --loss bce, runs/k4-n7-real-awgn-7dB, "
        "runs/k4-n1-awgn-10dB-esno; options not spelt out add a hash, e.g. -x1f0c3a2e]",
        operational=True,
        group="output",
    ),
    Option("force", "run", Flag(), False, "Overwrite the run files of an existing --out.", commands=_EVERY, helps=_FORCE, operational=True, from_files=False, group="output"),
    Option(
        "resume",
        "run",
        Flag(),
        False,
        "Continue the run in --out from its checkpoint, with the settings of its config.json: an option given (here or in --config) must have the run's value, "
        "and without --out the run must have exactly this command's settings (--epochs may grow with a constant or plateau schedule).",
        operational=True,
        from_files=False,
    ),
    Option("dry_run", "run", Flag(), False, "Train one batch of one epoch and write nothing.", operational=True, from_files=False),
    Option(
        "quiet",
        "run",
        Flag(),
        False,
        "No progress bar or per-epoch lines.",
        flags=("--quiet", "-q"),
        commands=_EVERY,
        helps={"ber-curve": "No progress bars or table.", "info": "No table."},
        operational=True,
        group="output",
    ),
    Option(
        "tensorboard",
        "run",
        Text(),
        None,
        "Log every epoch's scalars (losses, SER/BER/BLER, MI, lr) and the constellation image for TensorBoard into DIR  [default DIR: OUT/tensorboard; needs pip install 'commae[tensorboard]']",
        metavar="[DIR]",
        flag_value="",  # --tensorboard alone: OUT/tensorboard
        operational=True,
        group="output",
    ),
    Option(
        "config",
        "run",
        PathName(dir_okay=False),
        None,
        "Read options from a TOML file (keys are these options' names: lr = 1e-3, batch-size = 2048) or a run's config.json (re-runs that experiment); the command line wins.",
        operational=True,
        from_files=False,
    ),
    # channel impairments: the same options on train, ber-curve and info (see make_channel); the defaults add none
    Option("k_factor", "system", Real(0, None, optional=True), None, "Rician K-factor, linear (>= 0; 0 is Rayleigh); needs --channel rician.", unit="linear", commands=_EVERY, group="impairment"),
    Option(
        "phase_noise",
        "system",
        Real(0, 3.2),
        0.0,
        "Phase-noise standard deviation in radians (0 to 3.2; 0: none); complex uses only.",
        unit="rad",
        commands=_EVERY,
        group="impairment",
    ),
    Option(
        "phase_noise_model",
        "system",
        OneOf(("iid", "wiener")),
        "iid",
        "iid: independent per channel use; wiener: a random walk over the n uses of a message (sigma per step).",
        commands=_EVERY,
        group="impairment",
    ),
    Option(
        "adc_bits",
        "system",
        Int(1, 16, optional=True),
        None,
        "Quantise each real dimension with a uniform ADC of this many bits (1 to 16)  [default: no ADC]",
        unit="bits",
        commands=_EVERY,
        group="impairment",
    ),
    Option(
        "adc_clip",
        "system",
        Real(0, None, lo_open=True),
        1.5,
        "ADC clipping level relative to the RMS of its input per real dimension (> 0); needs --adc-bits.",
        unit="RMS",
        commands=_EVERY,
        group="impairment",
    ),
    Option("pa", "system", OneOf(("rapp",), optional=True), None, "Power amplifier before the channel: the Rapp model  [default: none]", commands=_EVERY, group="impairment"),
    Option("pa_smoothness", "system", Real(0, 100, lo_open=True), 3.0, "Rapp smoothness p (> 0, up to 100); needs --pa rapp.", commands=_EVERY, group="impairment"),
    Option(
        "pa_saturation",
        "system",
        Real(0, 100, lo_open=True),
        1.0,
        "Rapp output saturation amplitude A, in units of the transmitter's RMS amplitude (> 0); needs --pa rapp.",
        unit="RMS amplitude",
        commands=_EVERY,
        group="impairment",
    ),
    Option(
        "pa_backoff",
        "system",
        Real(-30, 30),
        0.0,
        "PA input back-off in dB (-30 to 30): average drive power below A^2; needs --pa rapp.",
        unit="dB",
        commands=_EVERY,
        group="impairment",
    ),
    # the training step
    Option(
        "training",
        "train",
        OneOf(("backprop", "model-free")),
        "backprop",
        "backprop: gradients through the channel; model-free: receiver supervised, transmitter by policy gradient (Aoudia & Hoydis 2019), for channels without a gradient.",
    ),
    Option(
        "exploration",
        "train",
        Real(0, 1, lo_open=True, hi_open=True),
        0.02,
        "Model-free: variance of the Gaussian exploration noise per channel use, in (0, 1).",
        unit="variance per channel use",
    ),
    Option(
        "threads",
        "run",
        Int(1),
        None,
        "CPU threads (ber-curve of baselines alone simulates this many batches at once, one thread each, and a learned run one batch on this many; the results do not depend on it)  "
        "[default: torch's, but no more than the cores the load average leaves free; 1 per torchrun rank]",
        commands=_EVERY,
        operational=True,
    ),
)

IMPAIRMENTS = tuple(o.name for o in OPTIONS if o.group == "impairment")  # make_channel's impairment keywords
# The sections of `commae train --help`, in order: Option.group -> heading
HELP_SECTIONS = {"system": "System", "channel": "Channel", "impairment": "Impairments", "training": "Training", "run": "Run", "output": "Output"}
FADING_CHANNELS = ("rayleigh", "rician")  # the channels --fading and --csi apply to
OUTPUT_OF_LOSS = {"ce": "symbol", "bce": "bit"}  # the receiver output each --loss trains


def option(name: str) -> Option:
    """The option named ``name`` (its config.json key: ``constellation``, not ``points``)."""
    for opt in OPTIONS:
        if opt.name == name:
            return opt
    raise KeyError(f"no option {name!r}")


def by_param(param: str) -> Option | None:
    """The option whose click parameter is ``param`` (``points``), or None."""
    return next((opt for opt in OPTIONS if opt.flags and opt.param == param), None)


def options(command: str) -> list[Option]:
    """The options ``command`` takes on its command line, in the table's order."""
    return [opt for opt in OPTIONS if opt.flags and command in opt.commands]


def fields(section: Section) -> list[Option]:
    """The values of one config.json table (``"system"`` or ``"train"``) in the table's order, with those set through other options."""
    return [opt for opt in OPTIONS if opt.section == section]


def default(name: str) -> Any:
    """The default of the option ``name``: ``default("adc_clip") == 1.5``."""
    return option(name).default


@dataclass_transform()
def dataclass_of(section: Section) -> Callable[[type], type]:
    """A class decorator that makes the dataclass of one config.json table.

    The class declares its fields (``lr: float = default("lr")``) in the
    order ``dataclasses.asdict`` and config.json keep; each default must be
    the table's, a field the table lacks is refused, and a field of the
    table the class does not declare is added after the declared ones.
    """

    def make(cls: type) -> type:
        table = {opt.name: opt for opt in fields(section)}
        annotations = dict(inspect.get_annotations(cls))
        for name in annotations:
            if name not in table:
                raise TypeError(f"{cls.__name__}.{name} is not a {section!r} option of commae.config")
            declared = cls.__dict__.get(name, _SAME)
            if declared is not _SAME and declared != table[name].default:
                raise TypeError(f"{cls.__name__}.{name} = {declared!r} but commae.config's default is {table[name].default!r}; write default({name!r})")
        for name, opt in table.items():
            if name not in annotations:
                annotations[name] = _annotation(opt)
            setattr(cls, name, opt.default)
        cls.__annotations__ = annotations
        return dataclasses.dataclass(cls)

    return make


def _annotation(opt: Option) -> str:
    name = "tuple[float, float]" if opt.type is tuple else opt.type.__name__
    return f"{name} | None" if getattr(opt.check, "optional", False) else name


# --- combinations: the one validator -------------------------------------------------------------


class _Style:
    """How a message names an option and spells a value: as the command line (``--channel rician``) or as a file key (``'system.channel' 'rician'``)."""

    def __init__(self, as_option: bool) -> None:
        self.as_option = as_option

    def name(self, name: str, value: Any = None) -> str:
        opt = option(name)
        return opt.flag_for(value) if self.as_option else f"'{opt.section}.{name}'"

    def value(self, value: Any) -> str:
        if self.as_option or _number(value) or isinstance(value, bool):
            return str(value)
        return repr(value)

    def literal(self, text: str) -> str:
        try:
            float(text)
        except ValueError:
            return text if self.as_option else repr(text)
        return text


_PLACE = re.compile(r"\{(\w+)(=[^}]*)?(!)?\}")


def _render(template: str, values: Mapping[str, Any], style: _Style) -> str:
    """``{x}`` names x; ``{x=lit}`` names x with the value lit; ``{x=}`` names x with its value; ``{x!}`` is x's value alone."""

    def place(match: re.Match) -> str:
        name, assign, bare = match.groups()
        if bare:
            return str(values[name])
        if assign is None:
            return style.name(name, values[name])
        if assign == "=":
            return f"{style.name(name, values[name])} {style.value(values[name])}"
        return f"{style.name(name)} {style.literal(assign[1:])}"

    return _PLACE.sub(place, template)


@dataclass(frozen=True)
class Rule:
    """A combination that makes no sense: ``broken(values)`` is true for it, and ``message`` says so naming ``option``.

    ``message`` is a template (``"{momentum} applies to {optimizer=sgd} only"``:
    see :func:`_render`) or a function of the values and the style. With
    ``when_given`` the rule applies only to an option the user gave (on the
    command line, or with another value than its default in a ``--config``
    file), never to one left at its default, so a stored config.json always
    reads back.
    """

    option: str
    broken: Callable[[Mapping[str, Any]], bool]
    message: str | Callable[[Mapping[str, Any], _Style], str]
    when_given: bool = False


def _esno_mismatch(v: Mapping[str, Any]) -> bool:
    if v["esno_db"] is None:
        return False
    from .snr import esno_db_to_ebno_db  # the one Eb/N0 <-> Es/N0 conversion (imports torch, as reading such a run does anyway)

    expected = [esno_db_to_ebno_db(x, v["k"], v["n"]) for x in v["esno_db"]]
    return not all(math.isclose(float(a), float(b), abs_tol=1e-6) for a, b in zip(expected, v["ebno_db"]))


def _pa_rule(name: str) -> Rule:
    return Rule(name, lambda v: v["pa"] is None, f"{{{name}}} needs {{pa=rapp}}", when_given=True)


def _fading_rule(name: str) -> Rule:
    return Rule(name, lambda v: v["channel"] not in FADING_CHANNELS, f"{{{name}}} applies to the fading channels ({', '.join(FADING_CHANNELS)}) only, not {{channel=}}", when_given=True)


RULES: tuple[Rule, ...] = (
    Rule("momentum", lambda v: v["momentum"] > 0 and v["optimizer"] != "sgd", "{momentum} applies to {optimizer=sgd} only (Adam and AdamW keep their own moments)"),
    Rule("exploration", lambda v: v["training"] != "model-free", "{exploration} needs {training=model-free}", when_given=True),
    Rule(
        "k_factor",
        lambda v: v["channel"] == "rician" and v["k_factor"] is None,
        "{channel=rician} needs {k_factor} K (linear, e.g. 3); without fading of that kind use one of 'awgn', 'rayleigh'",
    ),
    Rule("k_factor", lambda v: v["k_factor"] is not None and v["channel"] != "rician", "{k_factor} applies to {channel=rician} only (got {channel=})"),
    Rule("real", lambda v: v["real"] and v["channel"] != "awgn", "{real} needs {channel=awgn} ({channel!} fading acts on complex channel uses)"),
    Rule("phase_noise", lambda v: v["phase_noise"] > 0 and v["real"], "{phase_noise} needs complex channel uses (drop {real})"),
    Rule("phase_noise_model", lambda v: not v["phase_noise"] > 0, "{phase_noise_model} needs {phase_noise} SIGMA > 0", when_given=True),
    Rule("adc_clip", lambda v: v["adc_bits"] is None, "{adc_clip} needs {adc_bits} B", when_given=True),
    _pa_rule("pa_smoothness"),
    _pa_rule("pa_saturation"),
    _pa_rule("pa_backoff"),
    _fading_rule("fading"),
    _fading_rule("csi"),
    Rule("constellation", lambda v: v["constellation"] and (v["n"] != 1 or v["real"]), "{constellation} needs {n=1} and complex channel uses (no {real})"),
    Rule(
        "shaping",
        lambda v: v["shaping"] == "probabilistic" and (v["n"] != 1 or v["real"] or v["k"] % 2 or v["constellation"]),
        "{shaping=probabilistic} keeps square QAM points: it needs {n=1}, complex channel uses, an even {k} and no {constellation} (use {shaping=joint} to learn the points too)",
    ),
    Rule(
        "shaping",
        lambda v: v["shaping"] != "geometric" and v["normalization"] not in (None, "batch"),
        "{shaping=} needs {normalization=batch}: under per-message or amplitude constraints every message has its energy whatever its probability",
    ),
    Rule(
        "noise_input",
        lambda v: v["noise_input"] and v["ebno_db"][0] == v["ebno_db"][1],
        lambda v, s: (
            f"{s.name('noise_input')} needs a training range ({s.name('ebno_db')} LOW:HIGH with LOW < HIGH): at one SNR the noise level is the same for every message and the receiver cannot learn from it"
        ),
        when_given=True,
    ),
    Rule("nesterov", lambda v: v["nesterov"] and not (v["optimizer"] == "sgd" and v["momentum"] > 0), "{nesterov} needs {optimizer=sgd} and {momentum} > 0"),
    Rule("output", lambda v: OUTPUT_OF_LOSS.get(v["loss"]) != v["output"], "{loss=} does not fit {output=}: ce goes with symbol, bce with bit"),
    Rule(
        "ebno_db",
        _esno_mismatch,
        lambda v, s: f"{s.name('ebno_db')} {list(v['ebno_db'])} is not the Eb/N0 of {s.name('esno_db')} {list(v['esno_db'])} for k={v['k']}, n={v['n']}",
    ),
    Rule(
        "ebno_db",
        lambda v: v["esno_db"] is None and any(abs(x) > DB_LIMIT for x in v["ebno_db"]),
        lambda v, s: f"{s.name('ebno_db')} is {list(v['ebno_db'])}; it must be {DbRange().accepts()} (as --snr)",
    ),
)


class ConfigError(ValueError):
    """A combination of options that :data:`RULES` refuses; ``option`` is the option it names.

    ``str(exc)`` names the options as config.json keys; ``exc.message("option")`` as command-line flags.
    """

    def __init__(self, rule: Rule, values: Mapping[str, Any]) -> None:
        self.rule, self.values, self.option = rule, values, rule.option
        super().__init__(self.message("key"))

    def message(self, style: Literal["option", "key"] = "key") -> str:
        how = _Style(as_option=style == "option")
        if callable(self.rule.message):
            return self.rule.message(self.values, how)
        return _render(self.rule.message, self.values, how)


def check_combinations(values: Mapping[str, Any], given: Collection[str] = ()) -> None:
    """Refuse the first combination of :data:`RULES` that ``values`` break; options not in ``values`` keep their defaults.

    Parameters
    ----------
    values : mapping
        Option values by name (config.json keys: ``constellation``, ``output``, ``ebno_db``).
    given : collection of str
        The options the user gave (the rules with ``when_given`` apply to these
        only); empty for a stored config.json.

    Raises
    ------
    ConfigError
        Naming the option and saying what it needs.
    """
    full = {opt.name: opt.default for opt in OPTIONS} | dict(values)
    for rule in RULES:
        if rule.when_given and rule.option not in given:
            continue
        if rule.broken(full):
            raise ConfigError(rule, full)


def no_information(values: Mapping[str, Any]) -> str | None:
    """Why a system of these settings cannot carry any information whatever it learns (a line naming the options), or None.

    One complex channel use per message (``n = 1``), energy 1 for every
    message (``normalization = "message"``) and a fading gain of uniform
    phase the receiver is not given (Rayleigh, or Rician with K = 0, without
    CSI): every message is a point on the unit circle, the fading turns it by
    a uniformly random angle, and the received symbol has the same law
    whatever was sent, so its MI is 0. With ``n >= 2`` the phase differences
    (block fading) or the amplitudes (fast fading) between uses carry
    information, and with an average-energy or amplitude constraint the
    amplitude does; Rician fading with K > 0 keeps a phase reference.
    (Trainable points, ``constellation``, keep the average energy over the
    points whatever ``normalization`` says.)

    >>> print(no_information({"n": 1, "normalization": "message", "channel": "rayleigh", "csi": False}))
    nothing gets through --channel rayleigh without CSI with --n 1 and --normalization message: every message has energy 1 and the fading turns its phase by a uniformly random angle, so what is received has the same law whatever was sent (MI 0); use --n 2 or more, --normalization batch or amplitude (the amplitude carries information), or --csi
    >>> no_information({"n": 2, "normalization": "message", "channel": "rayleigh", "csi": False}) is None
    True
    """
    full = {opt.name: opt.default for opt in OPTIONS} | dict(values)
    phase_blind = full["channel"] == "rayleigh" or (full["channel"] == "rician" and full["k_factor"] == 0)
    if not (phase_blind and not full["csi"] and full["n"] == 1 and full["normalization"] == "message" and not full["real"] and not full["constellation"]):
        return None
    channel = "--channel rayleigh" if full["channel"] == "rayleigh" else "--channel rician --k-factor 0"
    remedies = "use --n 2 or more, --normalization batch or amplitude (the amplitude carries information), " + ("or --csi" if full["channel"] == "rayleigh" else "--csi, or a --k-factor above 0")
    return (
        f"nothing gets through {channel} without CSI with --n 1 and --normalization message: every message has energy 1 and the fading turns its phase by a "
        f"uniformly random angle, so what is received has the same law whatever was sent (MI 0); {remedies}"
    )
