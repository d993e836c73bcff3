"""The optimization methods: one registry entry each (docs/theory.md, "Methods and schedules").

Every method, the eight below and any a user registers (``register``, or ``load_plugin`` for a file), is a
``Method`` under one contract (``synthclip._method_contract``: parameters, state, draws per step, a
jittable step and its numpy reference); ``simulate``, the studies' ``--methods`` and the registry-driven
tests read this registry only.

Conventions shared by the numba engine, the numpy reference in the tests and the torch optimizers
(``synthclip.torch``); a change here is a change everywhere.

Steps are numbered k = 1, 2, ..., K. At step k the method sees g_k = ∇f(x_{k−1}) + ξ_k and writes x_k.

* step size   η_k = lr                       (lr_schedule="constant")
              η_k = lr / (k+1)^lr_power      (lr_schedule="poly")
              η_k = 4 / (μ (k+1))            (lr_schedule="theorem4"; Zhang et al. 2020, Theorem 4)
* clip level  τ_k = clip                     (clip_schedule="constant")
              τ_k = clip · k^q               (clip_schedule="poly"; q = clip_power, which may be the
                                              strings "alpha-1" (Theorem 4/8 as printed) or "1/alpha")
* clip(g, τ)  = min(τ/‖g‖, 1) g  (global),  CClip: min(τ/|g_i|, 1) g_i per coordinate.

Methods (docs/theory.md):
  sgd                x_k = x_{k−1} − η_k g_k
  gclip              x_k = x_{k−1} − η_k clip(g_k, τ_k)                          (Thm 2, Thm 4)
  cclip              x_k = x_{k−1} − η_k cclip(g_k, τ_k)                         (Thm 8)
  acclip             m_k = β1 m + (1−β1) g ; v_k = β2 v + (1−β2)|g|^a ; τ = v^(1/a) (Algorithm 1)
                     x_k = x_{k−1} − η_k min(τ/(|m_k|+ε), 1) m_k ; v_0 = clip^a, m_0 = 0
  adagrad_norm       b_k² = b_{k−1}² + eta²‖g_k‖² ; x_k = x_{k−1} − η_k g_k / b_k
  adam_norm          m_k = β1 m_{k−1} + (1−β1) g_k ; b_k² = β2 b_{k−1}² + (1−β2) eta²‖g_k‖²
                     x_k = x_{k−1} − η_k m_k / b_k                                (Chezhegov et al.)
  clip_adagrad_norm, clip_adam_norm: the same with g_k replaced by clip(g_k, τ_k) (τ_k plays λ).
  delayed=True: the step divides by b_{k−1} instead of b_k. b_0 = b0, m_0 = 0.

eta, and the seed's names for it (the one place this mapping is written):
  eta = 1 (default)  b_k² accumulates ‖g_k‖²: the methods of Chezhegov et al. as printed.
  eta = c > 0        b_k² accumulates c²‖g_k‖², c a constant of its own; the same iterates as eta = 1
                     with lr/c and b0/c (b_k = c·b̃_k), so it is a reparametrisation, not a new method.
  eta = "lr"         b_k² accumulates γ²‖g_k‖² with γ = lr, the step size itself: the seed notebook's
                     "eta" variant (its b² += γ²‖g‖²). The kernel and the torch optimizers get γ (the
                     constant lr of the schedule; a torch lr scheduler's current lr at each step).
  SeedAdam(etta=e)   the seed's code (AdamClip_Delayed_Etta, synthclip.torch.optim.SeedAdam) is
                     coordinate-wise Adam and adds (1−β2)·e·g² with e unsquared: its etta is eta² here
                     (etta = γ² for the notebook's variant).

A problem with a finite ``radius`` projects every iterate onto that ball (proj-GClip of Theorem 4).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from ._builtin_methods import BUILTINS
from ._method_contract import (
    CLIP_MODES,
    CLIP_POWER_ALIASES,
    ETA_IS_LR,
    KERNEL_FIELDS,
    LR_MODES,
    SCHEDULE_PARAMS,
    Method,
    MethodError,
    Param,
    beta_param,
    clip_params,
    lr_params,
    own_value,
    params_class,
)
from ._params import lookup

__all__ = [
    "METHODS",
    "Method",
    "MethodError",
    "Param",
    "get",
    "register",
    "load_plugin",
    "check",
    "kernel_vector",
    "kernel_params",
    "step_size",
    "clip_level",
    "resolve_clip_power",
    "resolve_eta",
    "lr_params",
    "clip_params",
    "beta_param",
    "KERNEL_FIELDS",
    "LR_MODES",
    "CLIP_MODES",
    "CLIP_POWER_ALIASES",
    "ETA_IS_LR",
]

METHODS: dict[str, Method] = {}
BUILTIN_NAMES = tuple(m.name for m in BUILTINS)


def register(method: Method, *, replace: bool = False, check: bool = True) -> Method:
    """Add ``method`` to the registry: simulate, the studies and the registry-driven tests see it from here on.

    Its fields were checked when it was made (MethodError, one line); with ``check`` (the default) it is also
    run through :func:`check` (compiled step against its reference, argument order: about a second, mostly
    numba compiling the step) and refused, one line naming the field, if it fails. A name already taken is
    an error unless ``replace`` (never for a built-in); registering the same method again is a no-op."""
    if not isinstance(method, Method):
        raise MethodError(f"register() takes a synthclip.methods.Method, got {type(method).__name__}")
    if _LOADING is not None and not method.origin:  # registered by a plugin file: remember which
        method = dataclasses.replace(method, origin=_LOADING[0])
        replace = replace or method.name in _LOADING[1]  # a changed file replaces its own methods
        check = check and _LOADING[2]
    old = METHODS.get(method.name)
    if old is method or (old is not None and old == method):
        return old
    if old is not None:
        if method.name in BUILTIN_NAMES:
            raise MethodError(f"method {method.name!r}: field 'name' is a built-in method's; choose another name")
        if not replace:
            raise MethodError(
                f"method {method.name!r}: field 'name' is already registered"
                f"{' from ' + old.origin if old.origin else ''}; pass replace=True to replace it"
            )
    if check:
        _check(method)  # before it is registered: a method that fails is never seen
    METHODS[method.name] = method
    return method


def check(method: Method) -> None:
    """Check what a method does, not only its form (docs/methods.md, "Checking a method"): its step and init
    compile in numba; the step's argument order (nonzero gradients move x, a step of size 0 holds it, τ = ∞
    keeps it finite, a step adds a whole number of clips); and the compiled step equals the method's numpy
    ``reference`` on a few heavy-tailed trajectories at the defaults and at every variant. Raises a one-line
    MethodError naming the method and the field; returns None when the method passes. ``register`` and
    ``load_plugin`` run it; about a second per method, most of it numba compiling the step."""
    from ._method_check import check as run_checks

    run_checks(method)


_check = check  # register's keyword ``check`` shadows the function inside it


def get(name: str) -> Method:
    """The method called ``name`` (ValueError listing the valid ones otherwise)."""
    return cast(Method, lookup(METHODS, name, "method"))


def kernel_method(name: str, key: str) -> Method:
    """The registered method a generated kernel module is built from (its key must still be the method's)."""
    from ._engine import kernel_key

    method = get(name)
    if kernel_key(method) != key:
        raise MethodError(f"method {name!r}: its kernel module is stale (the method changed since key {key[:12]})")
    return method


# -- plugins: a method defined in a user's file -------------------------------------------------------------

_PLUGINS: dict[str, tuple[str, tuple[str, ...]]] = {}  # resolved path → (sha256 of its text, methods it registered)


def plugin_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_plugin(path: str | Path, *, check: bool = True) -> tuple[str, ...]:
    """Run the Python file ``path``, which defines methods and registers them (``register``); the names
    it registered. Each method is checked as it registers (:func:`check`, unless ``check`` is False: a worker
    process loading the very file its parent checked). Loading the same unchanged file again is a no-op; a
    changed file is loaded again and replaces its own methods. Errors (a missing file, a method that breaks
    the contract or fails its check) are one-line ValueErrors naming the file."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise MethodError(f"plugin {path}: no such file")
    digest = plugin_digest(resolved)
    seen = _PLUGINS.get(str(resolved))
    if seen is not None and seen[0] == digest:
        return seen[1]
    before = dict(METHODS)
    own = set(seen[1]) if seen else set()
    name = f"_synthclip_plugin_{resolved.stem}_{digest[:12]}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise MethodError(f"plugin {path}: not a Python file Python can load")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    global _LOADING
    _LOADING = (str(resolved), own, check)
    try:
        spec.loader.exec_module(module)
    except MethodError as err:
        _restore(before)
        raise MethodError(f"plugin {path}: {err}") from None
    except Exception as err:
        _restore(before)
        text = " ".join(str(err).split()) or type(err).__name__
        raise MethodError(f"plugin {path}: {type(err).__name__} while loading: {text}") from None
    finally:
        _LOADING = None
    added = tuple(n for n in METHODS if METHODS[n] is not before.get(n))
    if not added:
        _restore(before)
        raise MethodError(f"plugin {path}: registered no method (call synthclip.methods.register(Method(...)))")
    _PLUGINS[str(resolved)] = (digest, added)
    return added


_LOADING: tuple[str, set, bool] | None = None  # (file, names it registered before, check?) while a plugin file runs


def _restore(before: dict) -> None:
    METHODS.clear()
    METHODS.update(before)


def plugin_of(name: str) -> dict:
    """{"plugin": file, "plugin_sha256": digest} of a method registered by a plugin file, {} otherwise
    (what a study cell records, so a worker process can load the file and a changed file is a new cell)."""
    origin = get(name).origin
    if not origin:
        return {}
    return {"plugin": origin, "plugin_sha256": _PLUGINS[origin][0] if origin in _PLUGINS else plugin_digest(origin)}


def ensure_plugin(cell: Mapping[str, Any]) -> None:
    """Load the plugin file a study cell names (in a worker process), checking it is the file the cell used."""
    path = cell.get("plugin")
    if not path:
        return
    if plugin_digest(path) != cell.get("plugin_sha256"):
        raise MethodError(f"plugin {path}: the file changed since the study was set up; run the study again")
    load_plugin(path, check=False)  # the very file (same digest) the parent process checked


# -- the parameter vector -----------------------------------------------------------------------------------


def resolve_clip_power(value: Any, alpha: float) -> float:
    """clip_power as a number: "alpha-1" is Theorem 4/8 as printed, "1/alpha" the bias-variance balance."""
    if value == "alpha-1":
        return alpha - 1.0
    if value == "1/alpha":
        return 1.0 / alpha
    return float(value)


def resolve_eta(params: Mapping[str, Any]) -> float:
    """eta as a number: ``lr`` (γ) when eta = "lr", the seed notebook's variant; 1 when absent."""
    eta = params.get("eta", 1.0)
    return float(params["lr"]) if eta == ETA_IS_LR else float(eta)


def kernel_vector(spec: Method, params: Mapping[str, Any], alpha: float) -> list[float]:
    """The float64 parameter vector of a validated parameter dict: KERNEL_FIELDS (with the defaults below
    for a method that does not declare one), then the method's own parameters (``spec.fields``)."""
    p = dict(params)
    values = {
        "lr": p.get("lr", 1.0),
        "lr_power": p.get("lr_power", 0.0),
        "lr_mode": LR_MODES[p.get("lr_schedule", "constant")],
        "clip": p.get("clip", math.inf),
        "clip_power": resolve_clip_power(p.get("clip_power", 0.0), alpha),
        "clip_mode": CLIP_MODES[p.get("clip_schedule", "constant")],
        "beta1": p.get("beta1", 0.0),
        "beta2": p.get("beta2", 0.0),
        "eps": p.get("eps", 0.0),
        "b0": p.get("b0", 1.0),
        "eta": resolve_eta(p),
        "delayed": float(p.get("delayed", False)),
        "moment": p.get("moment", 1.0),
    }
    own = [
        own_value(q, p[q.name]) for q in spec.params if q.name not in KERNEL_FIELDS and q.name not in SCHEDULE_PARAMS
    ]
    return [float(values[f]) for f in KERNEL_FIELDS] + own


def kernel_params(spec: Method, params: Mapping[str, Any], alpha: float):
    """The parameter vector as the named tuple a step reads (p.lr, p.beta1, ...): for numpy references."""
    return params_class(spec)(*kernel_vector(spec, params, alpha))


def step_size(params: Mapping[str, Any], k: int, mu: float) -> float:
    """η_k of the schedule above; the plain-Python twin of the kernel's formula (used by references)."""
    mode = params.get("lr_schedule", "constant")
    if mode == "constant":
        return params.get("lr", 1.0)
    if mode == "poly":
        return params["lr"] / (k + 1.0) ** params["lr_power"]
    return 4.0 / (mu * (k + 1.0))


def clip_level(params: Mapping[str, Any], k: int, alpha: float) -> float:
    """τ_k of the schedule above (plain Python twin of the kernel's formula)."""
    if "clip" not in params:
        return math.inf
    if params.get("clip_schedule", "constant") == "constant":
        return params["clip"]
    return params["clip"] * float(k) ** resolve_clip_power(params["clip_power"], alpha)


for _m in BUILTINS:  # checked by the test suite (tests/test_engine.py), not at every import
    register(_m, check=False)

from .methods_extra import EXTRA  # noqa: E402  (the methods after the seeds: the same contract)

for _m in EXTRA:
    register(_m, check=False)
