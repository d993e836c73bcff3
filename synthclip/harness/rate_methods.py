"""The strongly convex rate runs' methods: study labels → (registry method, fixed parameters, projected), their
options and cell fields, the near-miss control (its cells and its verdict), and the checkpoint grid. A harness
module, not a study: rates and lower-bound share it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import methods as method_registry
from .. import theory, verdict
from ..engine import log_checkpoints
from .base import method_overrides, option, routed, with_overrides

NEAR_MISS = "gclip-near"


# Study labels → (registry method, fixed parameters, projected). "gclip" is Theorem 4 as printed
# (τ_k = τ0 k^(α−1)); "gclip-balanced" uses τ_k = τ0 k^(1/α), the proof's bias-variance balance;
# "gclip-const" a constant clip level (no theorem covers it).
RATE_METHODS: dict[str, tuple[str, dict, bool]] = {
    "sgd": ("sgd", {}, False),
    "gclip": ("gclip", {"clip_power": "alpha-1"}, True),
    "gclip-balanced": ("gclip", {"clip_power": "1/alpha"}, True),
    "gclip-const": ("gclip", {"clip_schedule": "constant"}, True),
    "cclip": ("cclip", {"clip_power": "alpha-1"}, True),
    "adagrad_norm": ("adagrad_norm", {}, False),
    "adam_norm": ("adam_norm", {}, False),
    "clip_adagrad_norm": ("clip_adagrad_norm", {}, False),
    "clip_adam_norm": ("clip_adam_norm", {}, False),
    # projected SGD with Theorem 4's polynomial step and no clipping (Fatkhullin et al. 2025), and
    # GClip's step on the median of three draws (Puchkin et al.'s SMoM); k counts steps (three draws each)
    "sgd-proj": ("sgd", {}, True),
    "smom_clip": ("smom_clip", {"clip_power": "alpha-1"}, True),
    # the rule's near-miss control: GClip whose clip power puts its exponent one resolution faster than
    # Theorem 4's (variance balance, synthclip.theory.variance_balance_exponent); it must never read tight
    NEAR_MISS: ("gclip", {"clip_power": NEAR_MISS}, True),
}


PER_DECADE = 10  # checkpoints per decade: enough for a local slope in every half-decade


def rate_entry(label: str) -> tuple[str, dict, bool]:
    """RATE_METHODS[label]; a registered method the table does not name (a --plugin's) runs at its own
    defaults, unprojected."""
    return RATE_METHODS[label] if label in RATE_METHODS else (method_registry.get(label).name, {}, False)


def near_miss_applies(noise: str, structure: str, alpha: float, noise_alpha: float) -> bool:
    """The near-miss control's exponent is known (variance balance) on symmetric noise of tail index a < 2,
    where its clip power stays at most 1/a (beyond, the clip stops binding and the balance no longer holds)."""
    if theory.noise_family(noise, structure) != "symmetric" or not alpha < noise_alpha < 2.0:
        return False  # at the boundary a = α the theorem's rows are a limit case: no verdict for it to test
    return theory.near_miss_clip_power(alpha, noise_alpha, -verdict.RULE.resolution) <= 1.0 / noise_alpha


def rate_method(
    label: str,
    *,
    clip: float,
    lr: float,
    alpha: float | None = None,
    noise_alpha: float | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    judged: bool = False,
) -> tuple[str, dict, bool]:
    """(registry method, its parameters, projected?) of a study label: the clip level τ0 (λ) goes to every
    method that clips on the shared schedule (it declares ``clip_schedule``), the step γ to the AdaGrad/Adam-Norm
    family (it declares the scale's ``b0``: x −= γ·(g or m)/b_k); SGD/GClip/CClip keep 4/(μ(k+1)). ``overrides``
    (--method-param) set further parameters of a method by its registry name, never one the label or the study
    fixes; with ``judged`` (rates: a label of the table is judged by the statement of its settings, which an
    override would leave) not those of a table label at all. With ``alpha`` (the theorem's α) a clip-power alias
    is resolved to its number, so the schedule follows the theorem's α even when the noise has another tail
    index."""
    method, fixed, projected = rate_entry(label)
    params = routed(method, fixed, clip=clip, lr=lr)
    params = with_overrides(overrides, label, method, params, judged=judged and label in RATE_METHODS)
    if params.get("clip_power") == NEAR_MISS:
        params["clip_power"] = theory.near_miss_clip_power(alpha, noise_alpha or alpha, -verdict.RULE.resolution)
    if alpha is not None and isinstance(params.get("clip_power"), str):
        params["clip_power"] = method_registry.resolve_clip_power(params["clip_power"], alpha)
    return method, params, projected


@dataclass
class RateMethodParams:
    """The knobs of the rate methods (a group): the start, the projection radius, τ0 and the step γ."""

    x0: float = option(1.0, "start x0 in every coordinate")
    radius: float = option(10.0, "projection radius of proj-GClip / CClip (Theorem 4)", gt=0.0)
    clip: float = option(1.0, "clip level τ0 (λ for the clipped AdaGrad/Adam-Norm)", gt=0.0)
    lr: float = option(1.0, "step γ of the AdaGrad/Adam-Norm family (SGD/GClip/CClip use 4/(μ(k+1)))", gt=0.0)


def method_fields(label: str, p, **kw: Any) -> dict:
    """A label's cell fields under a :class:`RateMethodParams` run ``p``: the registry method, its parameters
    (:func:`rate_method`, with --method-param and ``kw``), the projection radius (inf for an unprojected method)
    and a --plugin's file and digest (workers load it)."""
    method, params, projected = rate_method(label, clip=p.clip, lr=p.lr, overrides=method_overrides(p), **kw)
    radius = p.radius if projected else math.inf
    return {"method": method, "method_params": params, "radius": radius, **method_registry.plugin_of(method)}


def schedule_of(label: str) -> str | None:
    """The clip schedule a label runs, in theory's terms ("alpha-1", "1/alpha", "constant"), None if unclipped;
    "proj-poly" for projected SGD (its polynomial step, no clip)."""
    method, fixed, projected = rate_entry(label)
    if method == "sgd":
        return "proj-poly" if projected else None
    if fixed.get("clip_schedule") == "constant":
        return "constant"
    return fixed.get("clip_power")


def rate_checkpoints(steps: int) -> np.ndarray:
    """Ten log-spaced checkpoints per decade from 1 to K (the local slopes need several per half-decade)."""
    return log_checkpoints(steps, int(round(PER_DECADE * math.log10(max(steps, 10)))) + 1)


#: the statement of the near-miss control's rows: no scoreboard row or erratum reads it as the theorem's
CONTROL = "near-miss control"


def near_miss_verdict(r, confidence: float, trend: str, setting: str = "strongly_convex") -> verdict.Verdict:
    """The near-miss control row against Theorem 4's exponent (outside that theorem's scope: the control asks
    only whether the rule would call a method 0.1 faster than the exponent tight). Its statement is
    :data:`CONTROL`, so no scoreboard row or erratum reads it as the theorem's."""
    balanced = theory.claim("thm4-balanced", "gclip", setting, "f_avg")
    said = verdict.judge_row(r, balanced, confidence=confidence, allowance=0.0, trend=trend)
    truth = theory.variance_balance_exponent(
        r["noise_alpha"], theory.near_miss_clip_power(r["alpha"], r["noise_alpha"], -verdict.RULE.resolution)
    )
    return verdict.Verdict(
        said.verdict,
        said.theory,
        "control",
        CONTROL,
        balanced.source,
        f"true exponent {truth:+.3f} by the variance balance, {verdict.RULE.resolution:g} faster "
        f"than Theorem 4's; caught unless the word is '{verdict.WORDS['upper']['match']}'",
    )
