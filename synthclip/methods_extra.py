"""The heavy-tail methods that came after the seeds, and RMSProp, on the method contract.

Each is one :class:`synthclip._method_contract.Method`: a jittable ``step`` over a block of trajectories
(coordinate-major (d, nb), inner loop over trajectories), a numpy ``reference`` written trajectory-major from
the formulas below, and its source. Steps are numbered k = 1, 2, ...; η_k and τ_k are the shared schedules of
``synthclip/methods.py``; clip(g, τ) = min(τ/‖g‖, 1) g; m_0 = 0, v_0 = 0. ``synthclip.torch.optim`` has
the same methods as torch optimizers (NSGDM, ClipNSGDM, SignSGDM, RMSProp, SMoMClip), equal to these kernels.

  nsgd_m       m_k = β m_{k−1} + (1−β) g_k ;           x_k = x_{k−1} − η_k m_k/‖m_k‖     (x stays if m_k = 0)
               normalized SGD with momentum (Cutkosky & Mehta 2020); under heavy tails without clipping:
               Liu & Zhou, ICLR 2025 (their m_1 = g_1 differs only in the weight of g_1)
  clip_nsgd_m  m_k = β m_{k−1} + (1−β) clip(g_k, τ_k) ; x_k = x_{k−1} − η_k m_k/‖m_k‖
               Cutkosky & Mehta, NeurIPS 2021; τ = ∞ is nsgd_m bit for bit; a clip counts once per step
  signsgd_m    m_k = β m_{k−1} + (1−β) g_k ;           x_k = x_{k−1} − η_k sign(m_k)      (coordinate-wise,
               sign(0) = 0; β = 0 is SignSGD) — Kornilov et al. 2025
  rmsprop      v_k = β2 v_{k−1} + (1−β2) g_k² ;        x_k = x_{k−1} − η_k g_k/(ε + √v_k)  (coordinate-wise)
               the seed's Discussion form (x_{k+1} = x_k − α g_k/(ε + √(β2 v_k + (1−β2) g_k²))), which is
               torch.optim.RMSprop without momentum or centering. A coordinate counts as clipped when the
               Discussion's ACClip twin clips it: √(1−β2)|g_k| > ε + √(β2 v_{k−1}) (τ_k of the Discussion)
  smom_clip    ĝ_k = med(g_k^(1), g_k^(2), g_k^(3)) coordinate-wise ; x_k = x_{k−1} − η_k clip(ĝ_k, τ_k)
               three independent draws per step: Puchkin et al.'s (AISTATS 2024) smoothed median of means
               with 2m+1 = 3 blocks of one draw and smoothing θ = 0 (a step gets its gradient draws only, so
               the kernel has no source for the θ·N(0, I) smoothing; the torch class takes θ > 0)

The theory entries (scope, source, what the available text states) are in ``synthclip.theory``; the
Discussion's claim that RMSProp is ACClip within a factor 2 is an erratum there (its lower half fails).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._builtin_methods import clip_columns, clip_rows
from ._engine import _column_norms, _descend
from ._method_contract import Method, Param, beta_param, clip_params, lr_params, torch_rule

_CUTKOSKY_MEHTA = (
    "Cutkosky & Mehta (NeurIPS 2021), High-probability bounds for non-convex stochastic optimization with heavy tails"
)
_LIU_ZHOU = (
    "Liu & Zhou (ICLR 2025), Nonconvex stochastic optimization under heavy-tailed noises without gradient clipping"
)
_KORNILOV = "Kornilov et al. (2025), Sign operator for coping with heavy-tailed noise"
_PUCHKIN = "Puchkin, Gorbunov, Kutuzov, Gasnikov (AISTATS 2024), Breaking the heavy-tailed noise barrier"
_ZHANG = "Zhang et al. (NeurIPS 2020), Why are adaptive methods good for attention models? (Discussion)"


# -- steps (jitted by the engine; plain Python here) -------------------------------------------------------


@njit(inline="always", error_model="numpy")
def _momentum(beta, g, m):
    d, nb = g.shape
    for j in range(d):
        for t in range(nb):
            m[j, t] = beta * m[j, t] + (1.0 - beta) * g[j, t]


@njit(inline="always", error_model="numpy")
def _normalized_descent(lr, x, m, work):
    """x[:, t] −= η·m[:, t]/‖m[:, t]‖ (no move where m = 0)."""
    _column_norms(m, work)
    for t in range(x.shape[1]):
        work[t] = lr / work[t] if work[t] > 0.0 else 0.0
    _descend(x, work, m)


def zero_init(p, state):
    state[...] = 0.0  # m_0 = 0 (momentum) or v_0 = 0 (RMSProp), stated rather than assumed


def nsgd_m_step(p, k, lr, tau, x, g, clipped, work, m):
    _momentum(p.beta, g, m)
    _normalized_descent(lr, x, m, work)


def clip_nsgd_m_step(p, k, lr, tau, x, g, clipped, work, m):
    clip_columns(g, tau, clipped, work)
    _momentum(p.beta, g, m)
    _normalized_descent(lr, x, m, work)


def signsgd_m_step(p, k, lr, tau, x, g, clipped, work, m):
    _momentum(p.beta, g, m)
    d, nb = x.shape
    for j in range(d):
        for t in range(nb):
            mj = m[j, t]
            x[j, t] -= lr * (1.0 if mj > 0.0 else (-1.0 if mj < 0.0 else 0.0))


def rmsprop_step(p, k, lr, tau, x, g, clipped, work, v):
    d, nb = x.shape
    root = math.sqrt(1.0 - p.beta2)
    for j in range(d):
        for t in range(nb):
            gj = g[j, t]
            # the Discussion's ACClip twin clips where √(1−β2)|g| exceeds τ_k√(1−β2) = ε + √(β2 v_{k−1})
            clipped[t] += 1.0 if root * abs(gj) > p.eps + math.sqrt(p.beta2 * v[j, t]) else 0.0
            v[j, t] = p.beta2 * v[j, t] + (1.0 - p.beta2) * (gj * gj)
            x[j, t] -= lr * (gj / (math.sqrt(v[j, t]) + p.eps))


def smom_clip_step(p, k, lr, tau, x, g, clipped, work):
    d, nb = x.shape
    med = g[0]
    for j in range(d):
        for t in range(nb):
            a, b, c = g[0, j, t], g[1, j, t], g[2, j, t]
            med[j, t] = max(min(a, b), min(max(a, b), c))
    clip_columns(med, tau, clipped, work)
    for j in range(d):
        for t in range(nb):
            x[j, t] -= lr * med[j, t]


# -- numpy references (x, g: (n, d) or (n, draws, d); state: name → (n, d)) --------------------------------


def _normalized(x, lr, m):
    norm = np.linalg.norm(m, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x - np.where(norm > 0, lr / norm, 0.0) * m


def nsgd_m_reference(p, k, lr, tau, x, g, state):
    state["m"][:] = p.beta * state["m"] + (1 - p.beta) * g
    return _normalized(x, lr, state["m"]), np.zeros(len(x))


def clip_nsgd_m_reference(p, k, lr, tau, x, g, state):
    gc, clips = clip_rows(g, tau)
    state["m"][:] = p.beta * state["m"] + (1 - p.beta) * gc
    return _normalized(x, lr, state["m"]), clips


def signsgd_m_reference(p, k, lr, tau, x, g, state):
    state["m"][:] = p.beta * state["m"] + (1 - p.beta) * g
    return x - lr * np.sign(state["m"]), np.zeros(len(x))


def rmsprop_reference(p, k, lr, tau, x, g, state):
    v = state["v"]
    clips = np.sum(math.sqrt(1 - p.beta2) * np.abs(g) > p.eps + np.sqrt(p.beta2 * v), axis=1).astype(float)
    v[:] = p.beta2 * v + (1 - p.beta2) * g * g
    return x - lr * g / (np.sqrt(v) + p.eps), clips


def smom_clip_reference(p, k, lr, tau, x, g, state):
    gc, clips = clip_rows(np.median(g, axis=1), tau)  # g: (n, 3, d)
    return x - lr * gc, clips


# -- the registry entries -----------------------------------------------------------------------------------

_BETA = beta_param("beta", 0.9, "momentum β")
_CONSTANT = lr_params(0.01, "constant")

EXTRA = (
    Method(
        "nsgd_m",
        _CONSTANT + (_BETA,),
        "normalized SGD with momentum (Cutkosky & Mehta; Liu & Zhou)",
        step=nsgd_m_step,
        init=zero_init,
        reference=nsgd_m_reference,
        vectors=("m",),
        source=_LIU_ZHOU,
        torch=torch_rule("NSGD_M"),
        variants=({"beta": 0.5, "lr_schedule": "poly", "lr": 0.5, "lr_power": 0.7},),
    ),
    Method(
        "clip_nsgd_m",
        _CONSTANT + clip_params(1.0, "constant", 0.0) + (_BETA,),
        "normalized SGD with momentum of clipped gradients (Cutkosky & Mehta 2021)",
        step=clip_nsgd_m_step,
        torch=torch_rule("CLIP_NSGD_M"),
        init=zero_init,
        reference=clip_nsgd_m_reference,
        vectors=("m",),
        source=_CUTKOSKY_MEHTA,
        variants=({"clip": 0.3, "clip_schedule": "poly", "clip_power": "1/alpha", "beta": 0.7}, {"clip": math.inf}),
    ),
    Method(
        "signsgd_m",
        _CONSTANT + (_BETA,),
        "SignSGD with momentum (Kornilov et al. 2025)",
        step=signsgd_m_step,
        init=zero_init,
        reference=signsgd_m_reference,
        vectors=("m",),
        source=_KORNILOV,
        torch=torch_rule("SIGNSGD_M"),
        variants=({"beta": 0.0, "lr": 0.05},),
    ),
    Method(
        "rmsprop",
        _CONSTANT
        + (
            beta_param("beta2", 0.99, "second-moment averaging β2"),
            Param("eps", 1e-8, "ε in g/(ε + √v)", low=0.0, low_open=True),
        ),
        "RMSProp as in the seed's Discussion (torch.optim.RMSprop without momentum)",
        step=rmsprop_step,
        torch=torch_rule("RMSPROP"),
        init=zero_init,
        reference=rmsprop_reference,
        vectors=("v",),
        clip_units="coordinate",
        source=_ZHANG,
        variants=({"beta2": 0.9, "eps": 1e-3, "lr": 0.05},),
    ),
    Method(
        "smom_clip",
        lr_params(4.0, "theorem4") + clip_params(1.0, "poly", "alpha-1"),
        "clipped SGD on the median of 3 draws (Puchkin et al.'s SMoM, blocks of one draw, no smoothing)",
        step=smom_clip_step,
        torch=torch_rule("SMOM_CLIP"),
        reference=smom_clip_reference,
        draws=3,
        source=_PUCHKIN,
        variants=({"clip_schedule": "constant", "clip": 0.3, "lr_schedule": "constant", "lr": 0.1},),
    ),
)
