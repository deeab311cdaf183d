"""commae: end-to-end communication autoencoders, their baselines and their theory.

The public API is flat::

    from commae import AWGN, Autoencoder, fit, simulate, qam, Modem, Hamming74, mi
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import theory
from .baselines import Hamming74, Modem, PilotModem, UncodedBPSK, bpsk_metric, matching_baseline, matching_baselines
from .channels import AWGN, Channel, Rayleigh, broadcast_no, make_generator, split_channel_output
from .constellations import Constellation, bits_to_int, gray_code, int_to_bits, pam, psk, qam
from .snr import (
    bits_per_use,
    db_to_linear,
    ebno_db_to_esno_db,
    ebno_db_to_no,
    esno_db_to_ebno_db,
    esno_db_to_no,
    esno_to_snr,
    linear_to_db,
    no_to_ebno_db,
    no_to_esno_db,
    noise_std_per_real_dim,
)
from .information import bmi, capacity_rayleigh, estimate_mi, mi, mi_from_losses, mi_with_interval
from .losses import BitwiseBCE, SymbolCrossEntropy, make_loss
from .models import Autoencoder, Receiver, SystemConfig, Transmitter, make_channel
from .runs import RunError, load_config, load_history, load_model, train_run
from .simulation import clopper_pearson, read_results, simulate, theory_rates, write_results
from .system import Errors, System, errors, system_no, transmit_receive
from .training import (
    EarlyStopping,
    History,
    MessageBatches,
    TrainConfig,
    TrainingDiverged,
    evaluate,
    evaluate_system,
    fit,
    make_optimizer,
    make_scheduler,
    message_metrics,
    train_one_epoch,
)

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
    # channels
    "Channel",
    "AWGN",
    "Rayleigh",
    "make_generator",
    "split_channel_output",
    "broadcast_no",
    # baselines
    "Modem",
    "Hamming74",
    "UncodedBPSK",
    "bpsk_metric",
    "matching_baseline",
    "matching_baselines",
    "PilotModem",
    # models and losses
    "Transmitter",
    "Receiver",
    "Autoencoder",
    "SystemConfig",
    "make_channel",
    "SymbolCrossEntropy",
    "BitwiseBCE",
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
    # simulation
    "simulate",
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
    # runs
    "train_run",
    "load_model",
    "load_config",
    "load_history",
    "RunError",
]
