"""Statistics of simulated error trajectories: quantiles, failure rates, rates and tail indices.

synthclip runs ``n_traj`` independent trajectories and records an error (e.g. ``f(x_k) - f*``) at
log-spaced checkpoints ``k``, giving ``values`` of shape ``(n_traj, n_ckpt)``. Everything here reads
such arrays along axis 0 (the trajectory axis).

Failures are data. A non-finite entry (``inf``, ``-inf`` or ``NaN``: overflow, a diverged run) is a
failed trajectory and is counted as ``+inf``, the worst possible error; it is never dropped, so a
method that fails often has large upper quantiles and a large failure probability, as it should.

Contents
--------
- :func:`quantile_ci` -- the ``q``-quantile (order statistic ``ceil(q n)``) with a distribution-free
  order-statistic confidence interval; :func:`quantile_ranks` gives the ranks it uses.
- :func:`failure_probability` -- fraction of runs with error above ``eps``, Wilson or Clopper-Pearson.
- :func:`fit_rate` -- slope of ``log quantile_q`` against ``log k`` on the asymptotic part of the run,
  with a bootstrap interval that resamples whole trajectories; ``synthclip.verdict`` judges it; :func:`fit_slope` is the plain least-squares line.
- :func:`delta_fit`, :func:`delta_fit_bootstrap` -- how the ``(1 - delta)``-quantile grows as
  ``delta -> 0``: polynomially in ``1/delta`` or polylogarithmically; :func:`power_law_test` -- whether
  it is more concave than any power law.
- :func:`quantile_ratio_ci` -- the ratio of two paired runs' quantiles with a paired bootstrap interval;
  :func:`shift_ci` -- the shift between two small samples (Hodges–Lehmann, exact Mann–Whitney).
- :func:`decay_exponent` -- how fast a failure probability P_t falls with t (exp(−c t^b / log^m t)), with a
  bootstrap over runs; :func:`tail_scale` the quantity it fits.
- :func:`hill`, :func:`moment_estimator`, :func:`mohammadi` -- tail-index estimators for noise samples.

All random draws use ``numpy.random.Generator(Philox(seed))``, so results are reproducible.
"""

from __future__ import annotations

from ._common import DEFAULT_TAIL_K_POWER, DEFAULT_WINDOW_DECADES
from .decay import DecayFit, decay_exponent, tail_scale
from .delta import (
    DELTA_METHODS,
    DeltaFit,
    DeltaFitCI,
    PowerLawTest,
    delta_fit,
    delta_fit_bootstrap,
    delta_pivot_intervals,
    power_law_pvalues,
    power_law_test,
)
from .intervals import (
    BINOMIAL_METHODS,
    ConfidenceInterval,
    Interval,
    binomial_ci,
    joint_bootstrap,
    mean_ci,
    normal_interval_holds,
    percentile_interval,
)
from .quantiles import failure_probability, hitting_times, quantile_ci, quantile_ranks
from .rates import RateFit, exponent_side, fit_rate, fit_rate_windows, fit_slope, log_slope, ols_slopes
from .ratio import RATIO_METHODS, quantile_ratio_ci
from .shift import SHIFT_METHODS, ShiftInterval, shift_ci
from .tails import TailIndex, default_tail_k, hill, mohammadi, moment_estimator

#: Every interval procedure the package reports, by the name its ``calibrate`` cases carry: a procedure added
#: here without a case there fails ``tests/test_layout.py``, so a new interval is calibrated the day it lands.
#: (``percentile_interval`` and ``log_slope`` are measured through the procedures built on them: ``fit_rate``,
#: ``d_exponent``.)
PROCEDURES = {
    "quantile_ci": quantile_ci,
    "failure_probability": failure_probability,
    "binomial_ci": binomial_ci,
    "mean_ci": mean_ci,
    "shift_ci": shift_ci,
    "quantile_ratio_ci": quantile_ratio_ci,
    "fit_rate": fit_rate,
    "delta_fit": delta_fit_bootstrap,
    "power_law_test": power_law_test,
    "hill": hill,
    "moment": moment_estimator,
    "mohammadi": mohammadi,
}

__all__ = [
    "PROCEDURES",
    "DecayFit",
    "decay_exponent",
    "tail_scale",
    "RATIO_METHODS",
    "quantile_ratio_ci",
    "SHIFT_METHODS",
    "ShiftInterval",
    "shift_ci",
    "DEFAULT_WINDOW_DECADES",
    "DEFAULT_TAIL_K_POWER",
    "RateFit",
    "DeltaFit",
    "DeltaFitCI",
    "TailIndex",
    "quantile_ranks",
    "quantile_ci",
    "hitting_times",
    "failure_probability",
    "fit_slope",
    "ols_slopes",
    "log_slope",
    "fit_rate",
    "fit_rate_windows",
    "Interval",
    "ConfidenceInterval",
    "percentile_interval",
    "joint_bootstrap",
    "binomial_ci",
    "BINOMIAL_METHODS",
    "mean_ci",
    "normal_interval_holds",
    "exponent_side",
    "delta_fit",
    "delta_fit_bootstrap",
    "delta_pivot_intervals",
    "power_law_pvalues",
    "DELTA_METHODS",
    "PowerLawTest",
    "power_law_test",
    "default_tail_k",
    "hill",
    "moment_estimator",
    "mohammadi",
]
