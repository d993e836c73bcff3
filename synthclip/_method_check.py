"""What ``synthclip.methods.check`` runs on a method before it is trusted (docs/methods.md, "Checking a method").

The contract (``synthclip._method_contract``) checks each field's form when a ``Method`` is made; this module
checks what the fields *do*, in a few seconds, so a plugin that runs silently wrong is refused when it is
registered rather than read off a study's table:

1. the step and init compile alone in numba (``_engine.compiled_step``: the main cost, about a second);
2. the argument order, on the compiled step and a block of 4 trajectories (what a wrong order breaks even
   when the reference repeats the mistake): a step with nonzero gradients moves x; a step of size η_k = 0
   leaves x where it is; with τ = ∞ x stays finite; each step adds to ``clipped[t]`` a whole number of clips
   in [0, units];
3. the compiled step against the method's numpy ``reference`` (the specification), at the defaults and at
   every declared variant: 6 trajectories of 40 steps on the engine's own heavy-tailed noise.

Each failure is one ``MethodError`` line naming the method and the field. The numpy driver of a reference
(``reference_run``) is the one the test suite uses too (tests/reference.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import noise, problems
from ._engine import DRAW_STRIDE, compiled_step
from ._method_contract import STEP_ARGS, Method, MethodError
from ._method_contract import check as check_fields

# The kernel-vs-reference run: small, heavy-tailed, on the package's quadratic (the registry-driven tests'
# setting, tests/test_engine.py, with fewer trajectories and steps).
_N, _STEPS, _DIM, _ALPHA, _MU, _L, _X0, _SEED = 6, 40, 3, 1.5, 0.5, 2.0, 1.5, "methods.check"
# Kernel and reference differ by rounding only (another order of the same float operations), ~1e-16 per
# operation, grown over 40 steps; a wrong formula differs at the size of the iterate. 1e-9 of each
# trajectory's largest entry separates the two by orders of magnitude either way.
_RTOL = 1e-9
_PROBE_STEPS = 3


def _fail(method: Method, field: str, what: str):
    raise MethodError(f"method {method.name!r}: field {field!r} {what}")


def _order(method: Method) -> str:
    return "(" + ", ".join(STEP_ARGS + method.vectors + method.scalars) + ")"


# -- the numpy driver of a method's reference ---------------------------------------------------------------


def draws_noise(
    method: Method, law: str, alpha: float, *, n_traj: int, steps: int, dim: int, structure: str, seed, **law_params
) -> np.ndarray:
    """The engine's noise for every draw of ``method``: (n_traj, steps, dim) for one draw, else
    (n_traj, steps, draws, dim); draw r is the stream of trajectory i + r·DRAW_STRIDE."""
    xi = [
        noise.engine_noise(
            law,
            alpha,
            n_traj=n_traj,
            steps=steps,
            dim=dim,
            structure=structure,
            seed=seed,
            traj_start=r * DRAW_STRIDE,
            **law_params,
        )
        for r in range(method.draws)
    ]
    return xi[0] if method.draws == 1 else np.stack(xi, axis=2)


def _fresh_state(method: Method, p, d: int, n: int) -> tuple[list, list]:
    """The state as the kernel holds it (coordinate-major, a column per trajectory), set by the method's init."""
    vectors = [np.zeros((d, n)) for _ in method.vectors]
    scalars = [np.zeros(n) for _ in method.scalars]
    if method.init is not None:
        method.init(p, *vectors, *scalars)
    return vectors, scalars


def reference_run(
    method: Method,
    params: Mapping[str, Any],
    *,
    problem: str,
    mu: float,
    lam: np.ndarray,
    x0: np.ndarray,
    radius: float,
    alpha: float,
    xi: np.ndarray,
    with_clips: bool = False,
):
    """Iterates x_1..x_K of the method's ``reference``, shape (n_traj, K, d), given the noise xi ((n_traj, K, d),
    or (n_traj, K, draws, d) for a method of several draws); with ``with_clips`` also each step's clip counts
    (n_traj, K). The driver does in numpy what the engine's loop does: x_0, g_k = ∇f(x_{k−1}) + ξ_k, η_k and τ_k
    from the Python twins of the schedules, the projection of a finite radius."""
    from .methods import clip_level, kernel_params, step_size

    n, steps = xi.shape[:2]
    d = xi.shape[-1]
    values = method.validate(params, "method")
    p = kernel_params(method, values, alpha)
    vectors, scalars = _fresh_state(method, p, d, n)
    state = {
        **{name: v.T.copy() for name, v in zip(method.vectors, vectors)},
        **{name: s[:, None].copy() for name, s in zip(method.scalars, scalars)},
    }
    x = np.tile(x0, (n, 1)).astype(float)
    out = np.empty((n, steps, d))
    clips = np.empty((n, steps))
    for k in range(1, steps + 1):
        grad = problems.gradient(problem, x, lam)
        g = grad + xi[:, k - 1] if method.draws == 1 else grad[:, None, :] + xi[:, k - 1]
        lr = step_size(values, k, mu)
        tau = clip_level(values, k, alpha)
        x, clips[:, k - 1] = _call_reference(method, p, k, lr, tau, x, g, state)
        if np.isfinite(radius):
            r = np.linalg.norm(x, axis=1, keepdims=True)
            x = np.where(r > radius, x * (radius / r), x)
        out[:, k - 1] = x
    return (out, clips) if with_clips else out


def _call_reference(method: Method, p, k, lr, tau, x, g, state):
    n, d = x.shape
    result = method.reference(p, k, lr, tau, x, g, state)
    try:
        x_new, clips = result
    except (TypeError, ValueError):
        _fail(method, "reference", f"must return the pair (x_new, clips), got {type(result).__name__}")
    x_new, clips = np.asarray(x_new, dtype=float), np.asarray(clips, dtype=float)
    if x_new.shape != (n, d) or clips.shape != (n,):
        _fail(
            method,
            "reference",
            f"must return x_new of shape (n, d) = {(n, d)} and clips of shape (n,) = {(n,)}, "
            f"got {x_new.shape} and {clips.shape}",
        )
    return x_new, clips


# -- the compiled step, driven as the engine's loop drives it -----------------------------------------------


def _step_run(method: Method, init, step, params: Mapping[str, Any], *, lam, x0, xi, mu, alpha):
    """(iterates (n, K, d), clip counts (n, K)) of the compiled step on the engine's loop, in Python."""
    from .methods import clip_level, kernel_params, step_size

    n, steps = xi.shape[:2]
    d = xi.shape[-1]
    values = method.validate(params, "method")
    p = kernel_params(method, values, alpha)
    vectors = [np.zeros((d, n)) for _ in method.vectors]
    scalars = [np.zeros(n) for _ in method.scalars]
    if init is not None:
        init(p, *vectors, *scalars)
    x = np.ascontiguousarray(np.tile(np.asarray(x0, float)[:, None], (1, n)))
    clipped, work = np.zeros(n), np.zeros(n)
    out, clips = np.empty((n, steps, d)), np.empty((n, steps))
    for k in range(1, steps + 1):
        grad = lam[:, None] * x  # the quadratic's ∇f, coordinate-major (the driver's problem)
        if method.draws == 1:
            g = np.ascontiguousarray(xi[:, k - 1].T) + grad
        else:
            g = np.ascontiguousarray(np.transpose(xi[:, k - 1], (1, 2, 0))) + grad[None]
        before = clipped.copy()
        step(p, k, step_size(values, k, mu), clip_level(values, k, alpha), x, g, clipped, work, *vectors, *scalars)
        out[:, k - 1] = x.T
        clips[:, k - 1] = clipped - before
    return out, clips


# -- the checks -------------------------------------------------------------------------------------------------


def check(method: Method) -> None:
    """Every check of the module docstring, in order; the first failure is a one-line MethodError."""
    if not isinstance(method, Method):
        raise MethodError(f"check() takes a synthclip.methods.Method, got {type(method).__name__}")
    check_fields(method)
    init, step = compiled_step(method)
    check_argument_order(method, init, step)
    sets = [("the defaults", {})] + [(f"variant {v!r}", dict(v)) for v in method.variants]
    for where, params in sets:
        check_against_reference(method, init, step, params, where)


def _probe_inputs(method: Method, k: int, d: int = 3, nb: int = 4) -> np.ndarray:
    """A fixed gradient block for probe step k: nonzero, signs mixed, norms from about 0.3 to 6, so that a
    clip level of 1 clips some columns and not others."""
    j = np.arange(1, d + 1)[:, None]
    t = np.arange(1, nb + 1)[None, :]
    g = (0.1 + 0.35 * j * t) * np.where((j + t + k) % 2 == 0, 1.0, -1.0)
    return g if method.draws == 1 else np.stack([g * (1.0 + 0.25 * r) for r in range(method.draws)])


def _probe(method: Method, init, step, values: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, list]:
    """(x_0, x after the probe steps, the clip increments of each step) on the compiled step."""
    from .methods import clip_level, kernel_params, step_size

    d, nb = 3, 4
    p = kernel_params(method, values, _ALPHA)
    vectors = [np.zeros((d, nb)) for _ in method.vectors]
    scalars = [np.zeros(nb) for _ in method.scalars]
    if init is not None:
        init(p, *vectors, *scalars)
    x0 = np.ascontiguousarray(1.0 + 0.5 * np.arange(d * nb, dtype=float).reshape(d, nb) / (d * nb))
    x = x0.copy()
    clipped, work = np.zeros(nb), np.zeros(nb)
    increments = []
    for k in range(1, _PROBE_STEPS + 1):
        before = clipped.copy()
        step(
            p,
            k,
            step_size(values, k, 1.0),
            clip_level(values, k, _ALPHA),
            x,
            np.ascontiguousarray(_probe_inputs(method, k)),
            clipped,
            work,
            *vectors,
            *scalars,
        )
        increments.append(clipped - before)
    return x0, x, increments


def check_argument_order(method: Method, init, step) -> None:
    """The probes of item 2 of the module docstring, each failure naming field 'step' and the order."""
    order = _order(method)
    units = 3 if method.clip_units == "coordinate" else 1
    runs = [("its defaults", method.defaults)]
    names = {q.name: q for q in method.params}
    if "clip" in names and names["clip"].allow_inf:
        runs.append(("clip = inf", {**method.defaults, "clip": math.inf}))
    for label, values in runs:
        x0, x, increments = _probe(method, init, step, values)
        if not np.all(np.isfinite(x)):
            _fail(
                method,
                "step",
                f"made x non-finite in {_PROBE_STEPS} steps from finite x and g at {label}: "
                f"check its argument order {order}",
            )
        if np.array_equal(x, x0):
            _fail(
                method,
                "step",
                f"left x unchanged in {_PROBE_STEPS} steps with nonzero gradients at {label}: it "
                f"must update x in place, and its arguments are {order} in this order",
            )
        for k, inc in enumerate(increments, 1):
            bad = [c for c in inc if not (c == round(c) and 0 <= c <= units)]
            if bad:
                _fail(
                    method,
                    "step",
                    f"added {bad[0]!r} to clipped[t] in step {k} at {label}: a step adds its "
                    f"clips, a whole number in [0, {units}] (arguments {order}, clipped before "
                    f"work)",
                )
    if "lr" in names and "lr_schedule" in names:
        x0, x, _ = _probe(method, init, step, {**method.defaults, "lr": 0.0, "lr_schedule": "constant"})
        if not np.array_equal(x, x0):
            _fail(
                method,
                "step",
                f"moved x with step size lr = 0 (x_k = x_(k-1) − η_k·… must hold x when η_k = 0): "
                f"check its argument order {order}",
            )


def check_against_reference(method: Method, init, step, params: Mapping[str, Any], where: str = "") -> None:
    """The compiled step and the numpy reference on the same noise: iterates within _RTOL of each trajectory's
    size, clip counts equal; positions non-finite in both count as agreeing."""
    lam = problems.weights(_MU, _L, _DIM)
    xi = draws_noise(method, "pareto", _ALPHA, n_traj=_N, steps=_STEPS, dim=_DIM, structure="iid", seed=_SEED)
    x0 = np.full(_DIM, _X0)
    try:
        ref, ref_clips = reference_run(
            method,
            params,
            problem="quadratic",
            mu=_MU,
            lam=lam,
            x0=x0,
            radius=math.inf,
            alpha=_ALPHA,
            xi=xi,
            with_clips=True,
        )
    except MethodError:
        raise
    except Exception as err:
        text = " ".join(str(err).split()) or type(err).__name__
        _fail(method, "reference", f"raised {type(err).__name__} at {where}: {text}")
    with np.errstate(all="ignore"):
        got, got_clips = _step_run(method, init, step, params, lam=lam, x0=x0, xi=xi, mu=_MU, alpha=_ALPHA)
        finite = np.isfinite(ref)
        scale = np.max(np.where(finite, np.abs(ref), 0.0), axis=(1, 2), keepdims=True)
        both_odd = ~finite & ((got == ref) | (np.isnan(got) & np.isnan(ref)))
        agree = both_odd | (finite & (np.abs(got - ref) <= _RTOL * scale))
    if not agree.all():
        t, k, j = map(int, np.argwhere(~agree)[0])
        _fail(
            method,
            "reference",
            f"disagrees with the compiled step at {where}: step {k + 1}, trajectory {t}, "
            f"coordinate {j}: step {got[t, k, j]!r}, reference {ref[t, k, j]!r} (the two must "
            f"be the same update; check the formulas and the step's argument order "
            f"{_order(method)})",
        )
    if not np.array_equal(got_clips, ref_clips):
        t, k = map(int, np.argwhere(got_clips != ref_clips)[0])
        _fail(
            method,
            "reference",
            f"counts {ref_clips[t, k]!r} clips where the compiled step counts "
            f"{got_clips[t, k]!r} at {where}: step {k + 1}, trajectory {t}",
        )
