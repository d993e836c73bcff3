"""The torch bridge: synthclip's methods as torch optimizers, gradient-noise probes and vmap ensembles.

``import synthclip`` never imports this package (torch is an optional extra). The optimizers are loaded
here; ``models``, ``data``, ``probe`` and ``ensemble`` are loaded on first attribute access.
"""

try:
    import torch as _torch  # noqa: F401
except ImportError:  # torch is the optional "torch" extra
    raise ImportError("synthclip.torch needs PyTorch: pip install torch==2.13.0") from None

import importlib as _importlib

from .optim import (  # noqa: F401
    NSGDM,
    OPTIMIZERS,
    ACClip,
    AdaGradNorm,
    AdamNorm,
    CClip,
    ClipAdaGradNorm,
    ClipAdamNorm,
    ClipNSGDM,
    GClip,
    RMSProp,
    SeedAdam,
    SGDRef,
    SignSGDM,
    SMoMClip,
    StepOptimizer,
    from_method,
    method_kwargs,
    optimizer_for,
)

_SUBMODULES = ("functional", "optim", "models", "data", "probe", "ensemble")

__all__ = [
    "OPTIMIZERS",
    "ACClip",
    "AdaGradNorm",
    "AdamNorm",
    "CClip",
    "ClipAdaGradNorm",
    "ClipAdamNorm",
    "GClip",
    "NSGDM",
    "ClipNSGDM",
    "SignSGDM",
    "RMSProp",
    "SMoMClip",
    "SeedAdam",
    "SGDRef",
    "from_method",
    "method_kwargs",
    "optimizer_for",
    "StepOptimizer",
    *_SUBMODULES,
]


def __getattr__(name):
    # submodules on demand keep `import synthclip.torch` light (no scikit-learn, pandas or text corpus)
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
