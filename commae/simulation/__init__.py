"""Monte-Carlo evaluation: error-rate curves of any :class:`~commae.system.System`, their intervals and the gaps between them.

One module per concept:

============================  =====================================================================
``engine``                    :func:`simulate`: the point loop, the stopping rule, the rows
``runner``                    :class:`~commae.simulation.runner.BatchRunner`: a point's batches, several at once, in order
``draws``                     :class:`Messages`: random messages, 64 random bits a draw
``fastpath``                  :func:`fast_counter`: exact error counting for the classical baselines
``importance``                :class:`ImportanceSampling`: rates far below plain Monte Carlo's reach, weighted, with intervals
``scratch``                   tensors a batch borrows and the next reuses
``statistics``                :func:`clopper_pearson`
``theory_columns``            :func:`theory_rates`: the closed-form ``*_theory`` columns
``results``                   a results row and its settings; :func:`write_results`, :func:`read_results`
``gaps``                      :func:`ebno_gaps`: the Eb/N0 gap between two curves at equal error rate
``precision``                 :func:`check_bf16`: bf16 receivers checked against fp32 on the same draws
============================  =====================================================================
"""

from __future__ import annotations

from .draws import Messages
from .engine import simulate
from .fastpath import fast_counter
from .gaps import GAP_COLUMNS, ebno_at_rate, ebno_gaps, write_gaps
from .importance import ImportanceSampling
from .precision import Bf16Receiver, PrecisionCheck, check_bf16
from .results import RESULT_COLUMNS, channel_name, ml_reach, point_flags, read_results, result_settings, write_results
from .statistics import clopper_pearson
from .theory_columns import theory_rates

__all__ = [
    "simulate",
    "ImportanceSampling",
    "clopper_pearson",
    "theory_rates",
    "channel_name",
    "write_results",
    "read_results",
    "result_settings",
    "RESULT_COLUMNS",
    "Messages",
    "fast_counter",
    "ebno_at_rate",
    "ebno_gaps",
    "write_gaps",
    "point_flags",
    "ml_reach",
    "GAP_COLUMNS",
    "Bf16Receiver",
    "PrecisionCheck",
    "check_bf16",
]
