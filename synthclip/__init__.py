"""synthclip: checks the theory of gradient clipping under heavy-tailed noise by simulation.

Public entry points: :func:`simulate` (the engine), the registries ``methods.METHODS``,
``problems.PROBLEMS`` and ``noise.NOISES``, ``noise.sample``, and the studies
(``python -m synthclip.study --help``).
"""

__version__ = "0.3.0"

from . import _cache  # noqa: E402,F401  (before any kernel is defined: cache stamps cover every module)
from .engine import SimulationResult, log_checkpoints, simulate  # noqa: E402

__all__ = ["simulate", "SimulationResult", "log_checkpoints", "__version__"]
