"""The eight seed methods on the method contract (formulas: synthclip/methods.py; contract: _method_contract).

Each method is a jittable ``step`` over a block of trajectories (coordinate-major (d, nb) arrays, the inner
loop over trajectories so it vectorises), an ``init`` where its state does not start at 0, and a numpy
``reference`` of the same update written trajectory-major, independently of the kernel's loops.
The step's arithmetic is the engine's before the contract, operation for operation (the registry pins and
the bit-identity tests hold it to that).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._engine import _clip_factor, _column_norms, _descend
from ._method_contract import B0, DELAYED, ETA, Method, Param, beta_param, clip_params, lr_params, torch_rule

# -- steps (jitted by the engine; plain Python here) -------------------------------------------------------


def sgd_step(p, k, lr, tau, x, g, clipped, work):
    d, nb = x.shape
    for j in range(d):
        for t in range(nb):
            x[j, t] -= lr * g[j, t]


def gclip_step(p, k, lr, tau, x, g, clipped, work):
    _column_norms(g, work)
    for t in range(x.shape[1]):
        clipped[t] += 1.0 if work[t] > tau else 0.0
        work[t] = lr * _clip_factor(work[t], tau)
    _descend(x, work, g)


def cclip_step(p, k, lr, tau, x, g, clipped, work):
    d, nb = x.shape
    for j in range(d):
        for t in range(nb):
            mag = abs(g[j, t])
            clipped[t] += 1.0 if mag > tau else 0.0
            x[j, t] -= (lr * _clip_factor(mag, tau)) * g[j, t]


def acclip_init(p, m, v):
    v[:, :] = p.clip**p.moment  # τ0^a


def acclip_step(p, k, lr, tau, x, g, clipped, work, m, v):
    d, nb = x.shape
    a = p.moment
    for j in range(d):
        for t in range(nb):
            m[j, t] = p.beta1 * m[j, t] + (1.0 - p.beta1) * g[j, t]
            v[j, t] = p.beta2 * v[j, t] + (1.0 - p.beta2) * abs(g[j, t]) ** a
            level = v[j, t] ** (1.0 / a)
            ratio = level / (abs(m[j, t]) + p.eps)
            clipped[t] += 1.0 if ratio < 1.0 else 0.0
            x[j, t] -= (lr * min(ratio, 1.0)) * m[j, t]


@njit(inline="always", error_model="numpy")  # a helper of steps must be jitted itself (steps are)
def clip_columns(g, tau, clipped, work):
    """g[:, t] ← clip(g[:, t], τ) in place, counting one clip per clipped column (the clipped gradient of
    Clip-AdaGrad/Adam-Norm here and of the methods in methods_extra)."""
    d, nb = g.shape
    _column_norms(g, work)
    for t in range(nb):
        clipped[t] += 1.0 if work[t] > tau else 0.0
        work[t] = _clip_factor(work[t], tau)
    for j in range(d):
        for t in range(nb):
            g[j, t] *= work[t]


@njit(inline="always", error_model="numpy")  # a helper of steps must be jitted itself (steps are)
def _scaled_step(p, lr, tau, x, g, clipped, work, m, b2, clip, adam):
    """AdaGrad-Norm / Adam-Norm (adam) on g or on clip(g, τ) (clip): b² from ‖g‖², then x −= lr·(g or m)/b."""
    d, nb = x.shape
    if clip:
        clip_columns(g, tau, clipped, work)
    for t in range(nb):
        work[t] = 0.0
    for j in range(d):
        for t in range(nb):
            work[t] += g[j, t] * g[j, t]
    eta2 = p.eta * p.eta
    for t in range(nb):
        b_old = math.sqrt(b2[t])
        if adam:
            b2[t] = p.beta2 * b2[t] + (1.0 - p.beta2) * eta2 * work[t]
        else:
            b2[t] = b2[t] + eta2 * work[t]
        work[t] = lr / (b_old if p.delayed != 0.0 else math.sqrt(b2[t]))
    if adam:
        for j in range(d):
            for t in range(nb):
                m[j, t] = p.beta1 * m[j, t] + (1.0 - p.beta1) * g[j, t]
        _descend(x, work, m)
    else:
        _descend(x, work, g)


def scale_init(p, b2):
    b2[:] = p.b0 * p.b0


def momentum_scale_init(p, m, b2):
    b2[:] = p.b0 * p.b0


def adagrad_norm_step(p, k, lr, tau, x, g, clipped, work, b2):
    _scaled_step(p, lr, tau, x, g, clipped, work, g, b2, False, False)


def adam_norm_step(p, k, lr, tau, x, g, clipped, work, m, b2):
    _scaled_step(p, lr, tau, x, g, clipped, work, m, b2, False, True)


def clip_adagrad_norm_step(p, k, lr, tau, x, g, clipped, work, b2):
    _scaled_step(p, lr, tau, x, g, clipped, work, g, b2, True, False)


def clip_adam_norm_step(p, k, lr, tau, x, g, clipped, work, m, b2):
    _scaled_step(p, lr, tau, x, g, clipped, work, m, b2, True, True)


# -- numpy references (x, g: (n, d); state: name → (n, d) or (n, 1)) ---------------------------------------


def _norm(g):
    return np.linalg.norm(g, axis=-1, keepdims=True)


def clip_rows(g, tau):
    """numpy twin of clip_columns on trajectory-major rows: (clipped g, clip counts)."""
    norm = _norm(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        fac = np.where(norm > tau, tau / norm, 1.0)
    return fac * g, (norm[:, 0] > tau).astype(float)


def sgd_reference(p, k, lr, tau, x, g, state):
    return x - lr * g, np.zeros(len(x))


def gclip_reference(p, k, lr, tau, x, g, state):
    gc, clips = clip_rows(g, tau)
    return x - lr * gc, clips


def cclip_reference(p, k, lr, tau, x, g, state):
    with np.errstate(divide="ignore", invalid="ignore"):
        fac = np.where(np.abs(g) > tau, tau / np.abs(g), 1.0)
    return x - lr * fac * g, np.sum(np.abs(g) > tau, axis=1).astype(float)


def acclip_reference(p, k, lr, tau, x, g, state):
    a = p.moment
    state["m"][:] = p.beta1 * state["m"] + (1 - p.beta1) * g
    state["v"][:] = p.beta2 * state["v"] + (1 - p.beta2) * np.abs(g) ** a
    ratio = state["v"] ** (1 / a) / (np.abs(state["m"]) + p.eps)
    return x - lr * np.minimum(ratio, 1.0) * state["m"], np.sum(ratio < 1.0, axis=1).astype(float)


def _scaled_reference(p, lr, tau, x, g, state, clip, adam):
    gc, clips = clip_rows(g, tau) if clip else (g, np.zeros(len(x)))
    sq = np.sum(gc * gc, axis=1, keepdims=True)
    b_prev = np.sqrt(state["b2"])
    if adam:
        state["b2"][:] = p.beta2 * state["b2"] + (1 - p.beta2) * p.eta**2 * sq
    else:
        state["b2"][:] = state["b2"] + p.eta**2 * sq
    denom = b_prev if p.delayed else np.sqrt(state["b2"])
    if adam:
        state["m"][:] = p.beta1 * state["m"] + (1 - p.beta1) * gc
        return x - lr / denom * state["m"], clips
    return x - lr / denom * gc, clips


def adagrad_norm_reference(p, k, lr, tau, x, g, state):
    return _scaled_reference(p, lr, tau, x, g, state, False, False)


def adam_norm_reference(p, k, lr, tau, x, g, state):
    return _scaled_reference(p, lr, tau, x, g, state, False, True)


def clip_adagrad_norm_reference(p, k, lr, tau, x, g, state):
    return _scaled_reference(p, lr, tau, x, g, state, True, False)


def clip_adam_norm_reference(p, k, lr, tau, x, g, state):
    return _scaled_reference(p, lr, tau, x, g, state, True, True)


# -- the registry entries -----------------------------------------------------------------------------------

_THEOREM4 = lr_params(4.0, "theorem4")
_HEAVY_CLIP = clip_params(1.0, "poly", "alpha-1")
_LAMBDA = clip_params(1.0, "constant", 0.0, "clip level λ")
_CHEZHEGOV = "Chezhegov et al. (2024), AdaGrad/Adam with clipping under heavy-tailed noise"
_ZHANG = "Zhang et al. (NeurIPS 2020), Why are adaptive methods good for attention models?"

BUILTINS = (
    Method(
        "sgd",
        _THEOREM4,
        "plain SGD",
        step=sgd_step,
        torch=torch_rule("SGD"),
        reference=sgd_reference,
        variants=({"lr_schedule": "poly", "lr": 0.5, "lr_power": 0.7},),
    ),
    Method(
        "gclip",
        _THEOREM4 + _HEAVY_CLIP,
        "global-norm clipped SGD (Theorems 2 and 4; proj-GClip with a problem radius)",
        step=gclip_step,
        torch=torch_rule("GCLIP"),
        reference=gclip_reference,
        source=_ZHANG,
        variants=(
            {"clip_power": "1/alpha"},
            {"clip_schedule": "constant", "clip": 0.3, "lr_schedule": "constant", "lr": 0.1},
        ),
    ),
    Method(
        "cclip",
        _THEOREM4 + _HEAVY_CLIP,
        "coordinate-wise clipped SGD (Theorem 8)",
        step=cclip_step,
        torch=torch_rule("CCLIP"),
        reference=cclip_reference,
        clip_units="coordinate",
        source=_ZHANG,
        variants=({"clip_power": 0.25, "clip": 2.0},),
    ),
    Method(
        "acclip",
        lr_params(1e-4, "constant")
        + (
            Param("clip", 1.0, "initial clip level τ0", low=0.0, low_open=True),
            beta_param("beta1", 0.9, "momentum β1"),
            beta_param("beta2", 0.99, "clip-level averaging β2"),
            Param("eps", 1e-5, "ε in min(τ/(|m|+ε), 1)", low=0.0, low_open=True),
            Param("moment", 1.0, "moment a of the clip estimate τ^a (the paper's α)", low=0.0, low_open=True),
        ),
        "adaptive coordinate-wise clipping (Algorithm 1, paper defaults)",
        step=acclip_step,
        init=acclip_init,
        torch=torch_rule("ACCLIP"),
        reference=acclip_reference,
        vectors=("m", "v"),
        clip_units="coordinate",
        source=_ZHANG,
        variants=({"lr": 0.05, "moment": 1.5, "beta1": 0.5},),
    ),
    Method(
        "adagrad_norm",
        lr_params(1.0, "constant") + (B0, ETA, DELAYED),
        "AdaGrad-Norm (Chezhegov et al.)",
        step=adagrad_norm_step,
        init=scale_init,
        reference=adagrad_norm_reference,
        scalars=("b2",),
        torch=torch_rule("ADAGRAD_NORM"),
        source=_CHEZHEGOV,
        variants=({"delayed": True}, {"eta": 0.3, "b0": 0.5}, {"eta": "lr", "lr": 0.3}),
    ),
    Method(
        "adam_norm",
        lr_params(1.0, "constant")
        + (
            beta_param("beta1", 0.9, "momentum β1"),
            beta_param("beta2", 0.999, "second-moment β2"),
            B0,
            ETA,
            DELAYED,
        ),
        "Adam-Norm (Chezhegov et al.)",
        step=adam_norm_step,
        torch=torch_rule("ADAM_NORM"),
        init=momentum_scale_init,
        reference=adam_norm_reference,
        vectors=("m",),
        scalars=("b2",),
        source=_CHEZHEGOV,
        variants=({"delayed": True, "beta2": 0.9}, {"eta": 2.0}, {"eta": "lr", "lr": 2.0, "delayed": True}),
    ),
    Method(
        "clip_adagrad_norm",
        lr_params(1.0, "constant") + _LAMBDA + (B0, ETA, DELAYED),
        "AdaGrad-Norm on clipped gradients (Chezhegov et al.)",
        step=clip_adagrad_norm_step,
        init=scale_init,
        torch=torch_rule("CLIP_ADAGRAD_NORM"),
        reference=clip_adagrad_norm_reference,
        scalars=("b2",),
        source=_CHEZHEGOV,
        variants=({"delayed": True, "clip": 0.5},),
    ),
    Method(
        "clip_adam_norm",
        lr_params(1.0, "constant")
        + _LAMBDA
        + (
            beta_param("beta1", 0.9, "momentum β1"),
            beta_param("beta2", 0.999, "second-moment β2"),
            B0,
            ETA,
            DELAYED,
        ),
        "Adam-Norm on clipped gradients (Chezhegov et al.)",
        step=clip_adam_norm_step,
        init=momentum_scale_init,
        torch=torch_rule("CLIP_ADAM_NORM"),
        reference=clip_adam_norm_reference,
        vectors=("m",),
        scalars=("b2",),
        source=_CHEZHEGOV,
        variants=({"delayed": True, "clip_schedule": "poly", "clip_power": 0.5},),
    ),
)
