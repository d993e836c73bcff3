"""The optimization methods: one registry entry each (THEORY.md, "Methods" and "Schedules").

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

Methods (THEORY.md):
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

import math
from typing import Any, Mapping

from ._params import Param, Spec, lookup

# The kernel reads these indices of a float64 parameter vector; one layout for every method.
KERNEL_FIELDS = (
    "lr", "lr_power", "lr_mode", "clip", "clip_power", "clip_mode",
    "beta1", "beta2", "eps", "b0", "eta", "delayed", "moment",
)
LR_MODES = {"constant": 0, "poly": 1, "theorem4": 2}
ETA_IS_LR = "lr"  # eta="lr": the scale accumulates γ²‖g‖² (the seed notebook's variant, see above)
CLIP_MODES = {"constant": 0, "poly": 1}
CLIP_POWER_ALIASES = ("alpha-1", "1/alpha")

# Method codes used by the kernel's dispatch.
SGD, GCLIP, CCLIP, ACCLIP, ADAGRAD_NORM, ADAM_NORM, CLIP_ADAGRAD_NORM, CLIP_ADAM_NORM = range(8)


def _lr(default: float, schedule: str) -> tuple[Param, ...]:
    return (
        Param("lr", default, "step size η0 (γ for the AdaGrad/Adam family); 0 is valid, as in torch", low=0.0),
        Param("lr_schedule", schedule, "constant: η0; poly: η0/(k+1)^lr_power; theorem4: 4/(μ(k+1))",
              kind="choice", choices=tuple(LR_MODES)),
        Param("lr_power", 1.0, "exponent p of the poly step schedule", low=0.0),
    )


def _clip(default: float, schedule: str, power: Any, doc: str = "clip level τ0") -> tuple[Param, ...]:
    return (
        Param("clip", default, doc, low=0.0, low_open=True, allow_inf=True),
        Param("clip_schedule", schedule, "constant: τ0; poly: τ0·k^clip_power",
              kind="choice", choices=tuple(CLIP_MODES)),
        Param("clip_power", power, "exponent q of the poly clip schedule",
              low=0.0, aliases=CLIP_POWER_ALIASES),
    )


_DELAYED = Param("delayed", False, "divide the step by b_{k−1} (the scale before g_k is seen)", kind="bool")
_B0 = Param("b0", 1.0, "initial scale b_0", low=0.0, low_open=True)
_ETA = Param("eta", 1.0, "b_k² accumulates eta²‖g_k‖² (1 = the paper's method; 'lr': eta = γ, the seed "
             "notebook's variant)", low=0.0, low_open=True, aliases=(ETA_IS_LR,))


def _beta(name: str, default: float, doc: str) -> Param:
    return Param(name, default, doc, low=0.0, high=1.0, high_open=True)


METHODS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec("sgd", _lr(4.0, "theorem4"), "plain SGD", code=SGD),
        Spec("gclip", _lr(4.0, "theorem4") + _clip(1.0, "poly", "alpha-1"),
             "global-norm clipped SGD (Theorems 2 and 4; proj-GClip with a problem radius)", code=GCLIP),
        Spec("cclip", _lr(4.0, "theorem4") + _clip(1.0, "poly", "alpha-1"),
             "coordinate-wise clipped SGD (Theorem 8)", code=CCLIP),
        Spec("acclip", _lr(1e-4, "constant") + (
            Param("clip", 1.0, "initial clip level τ0", low=0.0, low_open=True),
            _beta("beta1", 0.9, "momentum β1"),
            _beta("beta2", 0.99, "clip-level averaging β2"),
            Param("eps", 1e-5, "ε in min(τ/(|m|+ε), 1)", low=0.0, low_open=True),
            Param("moment", 1.0, "moment a of the clip estimate τ^a (the paper's α)", low=0.0, low_open=True),
        ), "adaptive coordinate-wise clipping (Algorithm 1, paper defaults)", code=ACCLIP),
        Spec("adagrad_norm", _lr(1.0, "constant") + (_B0, _ETA, _DELAYED),
             "AdaGrad-Norm (Chezhegov et al.)", code=ADAGRAD_NORM),
        Spec("adam_norm", _lr(1.0, "constant") + (
            _beta("beta1", 0.9, "momentum β1"), _beta("beta2", 0.999, "second-moment β2"), _B0, _ETA, _DELAYED,
        ), "Adam-Norm (Chezhegov et al.)", code=ADAM_NORM),
        Spec("clip_adagrad_norm", _lr(1.0, "constant") + _clip(1.0, "constant", 0.0, "clip level λ")
             + (_B0, _ETA, _DELAYED), "AdaGrad-Norm on clipped gradients (Chezhegov et al.)",
             code=CLIP_ADAGRAD_NORM),
        Spec("clip_adam_norm", _lr(1.0, "constant") + _clip(1.0, "constant", 0.0, "clip level λ") + (
            _beta("beta1", 0.9, "momentum β1"), _beta("beta2", 0.999, "second-moment β2"), _B0, _ETA, _DELAYED,
        ), "Adam-Norm on clipped gradients (Chezhegov et al.)", code=CLIP_ADAM_NORM),
    )
}


def get(name: str) -> Spec:
    """The method called ``name`` (ValueError listing the valid ones otherwise)."""
    return lookup(METHODS, name, "method")


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


def kernel_vector(spec: Spec, params: Mapping[str, Any], alpha: float) -> list[float]:
    """The float64 parameter vector of KERNEL_FIELDS for a validated parameter dict."""
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
    return [float(values[f]) for f in KERNEL_FIELDS]


def step_size(params: Mapping[str, Any], k: int, mu: float) -> float:
    """η_k of the schedule above; the plain-Python twin of the kernel's formula (used by references)."""
    mode = params["lr_schedule"]
    if mode == "constant":
        return params["lr"]
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
