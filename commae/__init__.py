"""commae: end-to-end communication autoencoders, their baselines and their theory.

The public API is flat::

    from commae import AWGN, Autoencoder, fit, simulate, qam, Modem, Hamming74, mi
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Names are resolved on first use (PEP 562), so `import commae` and `commae --help`
# do not pay for torch, scipy and matplotlib; `from commae import AWGN` works as before.
# A new public name goes into this table and into __all__ (a test checks that they agree).
_SUBMODULES = (
    "baselines",
    "bicm",
    "callbacks",
    "channels",
    "codes",
    "distributed",
    "constellations",
    "information",
    "losses",
    "models",
    "plotting",
    "runs",
    "simulation",
    "snr",
    "system",
    "theory",
    "training",
)
_LAZY: dict[str, str] = {
    **dict.fromkeys(("TensorBoardLogger",), "callbacks"),
    **dict.fromkeys(("BICM",), "bicm"),
    **dict.fromkeys(("BlockCode", "BPDecoder", "Interleaver", "LDPC5G", "LinearCode", "Scrambler", "hamming74", "read_alist"), "codes"),
    **dict.fromkeys(("Hamming74", "Modem", "PilotModem", "UncodedBPSK", "bpsk_metric", "matching_baseline", "matching_baselines"), "baselines"),
    **dict.fromkeys(("AWGN", "Channel", "Rayleigh", "broadcast_no", "make_generator", "split_channel_output", "ADC", "Cascade", "PhaseNoise", "RappPA", "Rician"), "channels"),
    **dict.fromkeys(("Constellation", "bits_to_int", "gray_code", "int_to_bits", "pam", "psk", "qam", "apsk", "maxwell_boltzmann", "entropy_bits"), "constellations"),
    **dict.fromkeys(
        (
            "bits_per_use",
            "db_to_linear",
            "ebno_db_to_esno_db",
            "ebno_db_to_no",
            "esno_db_to_ebno_db",
            "esno_db_to_no",
            "esno_to_snr",
            "linear_to_db",
            "no_to_ebno_db",
            "no_to_esno_db",
            "noise_std_per_real_dim",
        ),
        "snr",
    ),
    **dict.fromkeys(("bmi", "capacity_rayleigh", "estimate_mi", "mi", "mi_from_losses", "mi_with_interval", "mi_over_channel", "best_maxwell_boltzmann"), "information"),
    **dict.fromkeys(("BitwiseBCE", "SymbolCrossEntropy", "ShapedObjective", "make_loss"), "losses"),
    **dict.fromkeys(("Autoencoder", "Receiver", "SystemConfig", "Transmitter", "make_channel"), "models"),
    **dict.fromkeys(("RunError", "RunInterrupted", "load_config", "load_history", "load_model", "train_run"), "runs"),
    **dict.fromkeys(("ImportanceSampling", "clopper_pearson", "read_results", "simulate", "theory_rates", "write_results"), "simulation"),
    **dict.fromkeys(("Errors", "System", "errors", "system_no", "transmit_receive"), "system"),
    **dict.fromkeys(
        (
            "EarlyStopping",
            "History",
            "MessageBatches",
            "TrainConfig",
            "TrainingDiverged",
            "evaluate",
            "evaluate_system",
            "fit",
            "make_optimizer",
            "make_scheduler",
            "message_metrics",
            "train_one_epoch",
            "Backprop",
            "ModelFree",
            "make_step",
        ),
        "training",
    ),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "__version__",
    "theory",
    # system
    "System",
    "transmit_receive",
    "errors",
    "Errors",
    "system_no",
    # snr
    "bits_per_use",
    "db_to_linear",
    "linear_to_db",
    "ebno_db_to_esno_db",
    "esno_db_to_ebno_db",
    "ebno_db_to_no",
    "no_to_ebno_db",
    "esno_db_to_no",
    "no_to_esno_db",
    "noise_std_per_real_dim",
    "esno_to_snr",
    # constellations
    "Constellation",
    "qam",
    "psk",
    "pam",
    "gray_code",
    "int_to_bits",
    "bits_to_int",
    "maxwell_boltzmann",
    "entropy_bits",
    # channels
    "Channel",
    "AWGN",
    "Rayleigh",
    "make_generator",
    "split_channel_output",
    "broadcast_no",
    "Rician",
    "PhaseNoise",
    "ADC",
    "RappPA",
    "Cascade",
    "apsk",
    # baselines
    "Modem",
    "Hamming74",
    "UncodedBPSK",
    "bpsk_metric",
    "matching_baseline",
    "matching_baselines",
    "PilotModem",
    # codes and coded links
    "BlockCode",
    "LinearCode",
    "LDPC5G",
    "hamming74",
    "read_alist",
    "BPDecoder",
    "Interleaver",
    "Scrambler",
    "BICM",
    # models and losses
    "Transmitter",
    "Receiver",
    "Autoencoder",
    "SystemConfig",
    "TensorBoardLogger",
    "make_channel",
    "SymbolCrossEntropy",
    "BitwiseBCE",
    "ShapedObjective",
    "make_loss",
    # training
    "fit",
    "train_one_epoch",
    "evaluate",
    "evaluate_system",
    "make_optimizer",
    "make_scheduler",
    "message_metrics",
    "MessageBatches",
    "TrainConfig",
    "History",
    "EarlyStopping",
    "TrainingDiverged",
    "Backprop",
    "ModelFree",
    "make_step",
    # simulation
    "simulate",
    "ImportanceSampling",
    "clopper_pearson",
    "theory_rates",
    "write_results",
    "read_results",
    # information
    "mi",
    "bmi",
    "mi_with_interval",
    "mi_from_losses",
    "estimate_mi",
    "capacity_rayleigh",
    "mi_over_channel",
    "best_maxwell_boltzmann",
    # runs
    "train_run",
    "load_model",
    "load_config",
    "load_history",
    "RunError",
    "RunInterrupted",
]
