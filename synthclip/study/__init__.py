"""Studies: each statement of docs/theory.md as a command, ``python -m synthclip.study NAME``.

One module per study, each a specification on the shared parts in ``synthclip.harness``. Importing this package
registers every study (the torch studies import torch lazily); ``STUDIES`` maps names to study objects.
"""

from ..harness.base import STUDIES, Study, StudyError, register
from ..harness.cli import main, parse, run_study
from . import (  # noqa: F401  (importing registers)
    bias,
    calibrate,
    confidence,
    convex_rates,
    dimension,
    log_confidence,
    lower_bound,
    nonconvex,
    nonlinear_sgd,
    rates,
    smoothness,
    tail_decay,
    tails,
    torch_batch,
    torch_imbalance,
    torch_noise,
    torch_rates,
)

__all__ = ["STUDIES", "Study", "StudyError", "register", "main", "run_study", "parse"]
