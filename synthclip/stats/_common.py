"""Shared constants and argument checks of the statistics (errors raised in Python, with a plain message)."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

#: The one fit window of every rate in synthclip (docs/theory.md, "What a verdict means"): ``fit_rate``
#: fits the checkpoints with ``k >= k_max / 10 ** DEFAULT_WINDOW_DECADES``, the last decade of the run.
#: Exponents are asymptotic, so the window is the latest part of the run and the same for every study,
#: case and test; a curve still bending there shows in the local slopes (``synthclip.verdict``), never
#: as a per-case window.
DEFAULT_WINDOW_DECADES = 1.0

#: Default number of upper order statistics for :func:`hill` and :func:`moment_estimator`:
#: ``k = floor(n ** DEFAULT_TAIL_K_POWER)`` (``sqrt(n)``). The bias-variance optimal k depends on
#: the unknown second-order behaviour of the tail; ``sqrt(n)`` is the usual safe choice (k -> inf,
#: k/n -> 0). It is also the default block size ``k1`` of :func:`mohammadi` (``K1 = K2 ~ sqrt(n)``).
DEFAULT_TAIL_K_POWER = 0.5

_MODELS = ("poly", "polylog")


# --------------------------------------------------------------------------------------------------
# validation helpers (errors are raised here, in Python, with a plain message)
# --------------------------------------------------------------------------------------------------


def _check_q(q) -> float:
    if isinstance(q, (bool, np.bool_)) or not isinstance(q, (int, float, np.integer, np.floating)):
        raise ValueError(f"q must be a number in (0, 1), got {q!r}")
    q = float(q)
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q!r}")
    return q


def _check_confidence(confidence) -> float:
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}") from None
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return c


def _check_count(value, name: str, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _as_errors(values, name: str = "values", ndim: int | None = None) -> np.ndarray:
    """float64 copy of ``values`` with every non-finite entry (failed run) set to +inf."""
    v = np.array(values, dtype=np.float64)  # copy: we overwrite failures below
    if v.ndim == 0:
        raise ValueError(f"{name} must have a trajectory axis (at least 1-D), got a scalar")
    if ndim is not None and v.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {v.shape}")
    if v.shape[0] == 0 or v.size == 0:
        raise ValueError(f"{name} is empty (shape {v.shape}); need at least one trajectory")
    v[~np.isfinite(v)] = np.inf
    return v


def _upper_rank(q: float, n: int) -> int:
    """1-based rank ceil(q n), robust to q*n landing one ulp above an integer (0.1*3*10)."""
    x = q * n
    r = math.ceil(x * (1.0 - 4.0 * np.finfo(float).eps))
    return min(max(r, 1), n)


def _z(confidence: float) -> float:
    return float(special.ndtri(0.5 + 0.5 * confidence))
