"""Synthetic problems: separable f(x) = Σ_i λ_i φ(x_i) with minimiser x* = 0 and f* = 0.

The weights λ_i are spread geometrically between ``mu`` and ``L`` (all equal to mu in d = 1), so
``quadratic`` (φ = x²/2) is μ-strongly convex and L-smooth, the setting of Theorems 4, 5, 8. The other
profiles serve later studies: ``nonconvex`` φ = x²/(1+x²) (smooth, non-convex: Theorem 2), ``quartic``
φ = x⁴/4 and ``cosh`` φ = cosh x − 1 ((L0,L1)-smooth, Zhang et al. ICLR 2020), ``abs`` φ = |x| (convex,
nonsmooth, λ_max-Lipschitz; subgradient sign(x), 0 at 0: Liu 2026, docs/studies/log-confidence.md). A new problem is a new
entry here plus one branch in the engine's ``_profile``.

Every problem takes ``x0`` (the start, the same in every coordinate, or a vector of length d) and
``radius``: a finite radius projects every iterate onto the Euclidean ball of that radius around x*
(proj-GClip of Theorem 4).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._params import Param, Spec, lookup

QUADRATIC, NONCONVEX, QUARTIC, COSH, ABS = range(5)

_COMMON = (
    Param("mu", 1.0, "smallest weight λ_min (strong convexity of the quadratic)", low=0.0, low_open=True),
    Param("L", 1.0, "largest weight λ_max (smoothness of the quadratic)", low=0.0, low_open=True),
    Param(
        "radius",
        float("inf"),
        "project iterates onto the ball of this radius (inf: no projection)",
        low=0.0,
        low_open=True,
        allow_inf=True,
    ),
)
_X0 = "start x0, the same in every coordinate (a vector of length dim is accepted from Python)"

PROBLEMS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec("quadratic", _COMMON + (Param("x0", 1.0, _X0),), "f = Σ λ_i x_i²/2", code=QUADRATIC),
        Spec("nonconvex", _COMMON + (Param("x0", 1.0, _X0),), "f = Σ λ_i x_i²/(1 + x_i²)", code=NONCONVEX),
        Spec("quartic", _COMMON + (Param("x0", 1.0, _X0),), "f = Σ λ_i x_i⁴/4", code=QUARTIC),
        Spec("cosh", _COMMON + (Param("x0", 1.0, _X0),), "f = Σ λ_i (cosh x_i − 1)", code=COSH),
        Spec("abs", _COMMON + (Param("x0", 1.0, _X0),), "f = Σ λ_i |x_i| (nonsmooth convex)", code=ABS),
    )
}


def get(name: str) -> Spec:
    """The problem called ``name`` (ValueError listing the valid ones otherwise)."""
    return lookup(PROBLEMS, name, "problem")


def weights(mu: float, L: float, dim: int) -> np.ndarray:
    """λ_1..λ_d geometrically spaced from mu to L."""
    if L < mu:
        raise ValueError(f"parameter 'L' must be >= mu = {mu:g}, got {L!r}")
    if dim == 1:
        return np.array([float(mu)])
    return np.geomspace(mu, L, dim)


def resolve(name: str, dim: int, **params: Any):
    """Validated (spec, values, λ, x0) for a problem; x0 may be a vector of length dim."""
    spec = get(name)
    x0 = params.pop("x0", spec.defaults["x0"])
    values = spec.validate(params, "problem")
    x0_arr = np.asarray(x0, dtype=float)
    if x0_arr.ndim == 0:
        x0_arr = np.full(dim, float(x0_arr))
    if x0_arr.shape != (dim,) or not np.all(np.isfinite(x0_arr)):
        raise ValueError(f"problem parameter 'x0' must be a finite number or a vector of length dim={dim}")
    values["x0"] = x0 if np.ndim(x0) == 0 else x0_arr.tolist()
    return spec, values, weights(values["mu"], values["L"], dim), x0_arr


def value(name: str, x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """f(x) − f* along the last axis (plain numpy; the engine has its own jitted copy in _profile)."""
    code = get(name).code
    if code == QUADRATIC:
        phi = 0.5 * x * x
    elif code == NONCONVEX:
        phi = x * x / (1.0 + x * x)
    elif code == QUARTIC:
        phi = 0.25 * x**4
    elif code == ABS:
        phi = np.abs(x)
    else:
        phi = np.cosh(x) - 1.0
    return np.sum(lam * phi, axis=-1)


def gradient(name: str, x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """∇f(x) (plain numpy twin of the engine's kernel, for references)."""
    code = get(name).code
    if code == QUADRATIC:
        return lam * x
    if code == NONCONVEX:
        return lam * 2.0 * x / (1.0 + x * x) ** 2
    if code == QUARTIC:
        return lam * x**3
    if code == ABS:
        return lam * np.sign(x)
    return lam * np.sinh(x)
