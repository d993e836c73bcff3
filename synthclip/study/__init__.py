"""Studies: each statement of docs/theory.md as a command, ``python -m synthclip.study NAME``.

Importing this package registers every study; ``STUDIES`` maps names to study objects.
"""
from .base import STUDIES, Study, StudyError, register  # noqa: F401
from . import rates  # noqa: F401  (registers)
from . import confidence, dimension, bias, tails  # noqa: F401  (registers)
from . import nonconvex, lower_bound, smoothness  # noqa: F401  (registers)
from . import log_confidence, tail_decay, convex_rates  # noqa: F401  (registers)
from . import nonlinear_sgd  # noqa: F401  (registers)
from . import torch_noise, torch_rates, torch_batch, torch_imbalance  # noqa: F401  (registers: torch studies; torch imported lazily)
from . import calibrate  # noqa: F401  (registers)
from .cli import main, run_study, parse  # noqa: F401

__all__ = ["STUDIES", "Study", "StudyError", "register", "main", "run_study", "parse"]
