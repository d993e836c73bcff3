"""Every exponent of THEORY.md, in one table that studies, tests and plots read.

An entry is keyed by (statement, method, setting, metric) and gives the exponent of a power law in its
``variable`` (k: iterations; d: dimension) as a function of the tail index α, with its source. A
statement about a whole class of algorithms (a lower bound) uses method "*". Qualitative claims
(polynomial against polylogarithmic dependence on 1/δ) have ``exponent=None`` and a ``model``.

Where a formula of THEORY.md and the seed disagree the seed text wins (THEORY.md's own rule); the only
such place is Table 1 of Zhang et al., which prints k^(−(α−1)/α) for the strongly convex case while
Theorem 4 proves k^(−2(α−1)/α). Both are here so a study can say which one the data support.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Claim:
    statement: str
    method: str
    setting: str
    metric: str
    formula: str
    source: str
    bound: str  # "upper", "lower", "tight" (upper and lower match) or "qualitative"
    exponent: Optional[Callable[[float], float]] = None
    variable: str = "k"
    model: str = "power"  # "power", or for δ-dependence "polynomial" / "polylog"
    alpha_range: tuple[float, float] = (1.0, 2.0)  # α for which the statement is made: (low, high]
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.statement, self.method, self.setting, self.metric)

    def at(self, alpha: float) -> Optional[float]:
        """The exponent at tail index α, or None outside the statement's range or for qualitative claims."""
        lo, hi = self.alpha_range
        if self.exponent is None or not lo < alpha <= hi:
            return None
        return float(self.exponent(alpha))


def _sc(a: float) -> float:
    return -2.0 * (a - 1.0) / a


def _table1(a: float) -> float:
    return -(a - 1.0) / a


def _nonconvex(a: float) -> float:
    return -(a - 1.0) / (3.0 * a - 2.0)


ZHANG = "Zhang et al. 2020, Why are adaptive methods good for attention models?"
CHEZHEGOV = "Chezhegov et al., Clipping improves Adam-Norm and AdaGrad-Norm when the noise is heavy-tailed"

CLAIMS: tuple[Claim, ...] = (
    Claim("thm4", "gclip", "strongly_convex", "f_avg", "k^(−2(α−1)/α)", ZHANG + ", Theorem 4 (upper)",
          "tight", _sc, note="proj-GClip, τ_k = G k^(α−1), η_k = 4/(μ(k+1)), weighted average x̄_k; "
                             "Theorem 5 shows no method does better"),
    Claim("table1", "gclip", "strongly_convex", "f_avg", "k^(−(α−1)/α)", ZHANG + ", Table 1 (as printed)",
          "upper", _table1, note="disagrees with Theorem 4 of the same paper"),
    Claim("thm8", "cclip", "strongly_convex", "f_avg", "k^(−2(α−1)/α)", ZHANG + ", Theorem 8 (upper)",
          "upper", _sc, note="coordinate-wise noise, τ_k = B k^(α−1); constant ∝ ‖B‖_2²"),
    Claim("cor7", "gclip", "coordinatewise", "f_avg", "k^(−2(α−1)/α)", ZHANG + ", Corollary 7 (upper)",
          "upper", _sc, note="constant ∝ d‖B‖_α²"),
    Claim("table1-sgd", "sgd", "strongly_convex", "f_avg", "k^(−1)", ZHANG + ", Table 1, SGD at α = 2",
          "upper", lambda a: -1.0, alpha_range=(1.999999, 2.0),
          note="finite variance only; for α < 2 E f can be infinite (Remark 1)"),
    Claim("thm5", "*", "strongly_convex", "f", "k^(−2(α−1)/α)", ZHANG + ", Theorem 5 (lower)", "lower", _sc,
          note="spike noise of Appendix F with p ~ 1/k: no algorithm beats it"),
    Claim("thm2", "gclip", "nonconvex", "grad_norm_min", "K^(−(α−1)/(3α−2))", ZHANG + ", Theorem 2 (upper)",
          "tight", _nonconvex, note="constant τ and η tuned to the horizon K; Theorem 6 is the matching lower "
                                    "bound"),
    Claim("thm6", "*", "nonconvex", "grad_norm_min", "K^(−(α−1)/(3α−2))", ZHANG + ", Theorem 6 (lower)",
          "lower", _nonconvex),
    Claim("cor7/thm8", "gclip/cclip", "coordinatewise", "ratio", "d^(2/α)",
          ZHANG + ", Corollary 7 over Theorem 8 (ratio of the upper bounds)", "upper", lambda a: 2.0 / a,
          variable="d", note="i.i.d. coordinates: d‖B‖_α² / ‖B‖_2² = d^(2/α); radial noise: flat"),
    Claim("cor7/thm8-radial", "gclip/cclip", "radial", "ratio", "d^0", ZHANG + ", Corollary 7 and Theorem 8 "
          "with a d-free σ (radial noise)", "upper", lambda a: 0.0, variable="d"),
    Claim("chezhegov-unclipped", "adagrad_norm/adam_norm", "convex", "f", "polynomial in 1/δ", CHEZHEGOV +
          " (lower bounds for AdaGrad-Norm / Adam-Norm, with and without delay)", "qualitative",
          variable="delta", model="polynomial"),
    Claim("chezhegov-clipped", "clip_adagrad_norm/clip_adam_norm", "convex", "f", "polylog(1/δ)", CHEZHEGOV +
          " (upper bounds with clipping, with and without delay)", "qualitative", variable="delta",
          model="polylog"),
)

TABLE: dict[tuple[str, str, str, str], Claim] = {c.key: c for c in CLAIMS}


def claim(statement: str, method: str, setting: str, metric: str) -> Claim:
    """The claim with this key (KeyError listing the keys otherwise)."""
    key = (statement, method, setting, metric)
    if key not in TABLE:
        raise KeyError(f"no claim {key}; known: {sorted(TABLE)}")
    return TABLE[key]


def exponent(statement: str, method: str, setting: str, metric: str, alpha: float) -> Optional[float]:
    """The exponent of the claim at α (None where the statement does not apply)."""
    return claim(statement, method, setting, metric).at(alpha)


def find(method: str, setting: str, metric: str, alpha: float, *, bound: Optional[str] = None,
         variable: str = "k") -> Optional[Claim]:
    """The first claim that covers ``method`` in ``setting`` for ``metric`` at α, or None if no theorem does.

    A method-specific claim wins over a class-wide ("*") one; Table 1's variant is never returned here
    (ask for it by name), since it contradicts Theorem 4.
    """
    for want in (method, "*"):
        for c in CLAIMS:
            if (c.method == want and c.setting == setting and c.metric == metric and c.variable == variable
                    and c.statement != "table1" and (bound is None or c.bound == bound) and c.at(alpha) is not None):
                return c
    return None
