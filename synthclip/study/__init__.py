"""Studies: each statement of docs/theory.md as a command, ``python -m synthclip.study NAME``.

Importing this package registers every study; ``STUDIES`` maps names to study objects.
"""

from . import (  # noqa: F401  (registers)  # noqa: F401  (registers)  # noqa: F401  (registers)  # noqa: F401  (registers: torch studies; torch imported lazily)
    bias,
    calibrate,  # noqa: F401  (registers)
    confidence,
    convex_rates,
    dimension,
    log_confidence,
    lower_bound,
    nonconvex,
    nonlinear_sgd,  # noqa: F401  (registers)
    rates,  # noqa: F401  (registers)
    smoothness,
    tail_decay,
    tails,
    torch_batch,
    torch_imbalance,
    torch_noise,
    torch_rates,
)
from .base import STUDIES, Study, StudyError, register  # noqa: F401
from .cli import main, parse, run_study  # noqa: F401

__all__ = ["STUDIES", "Study", "StudyError", "register", "main", "run_study", "parse"]
