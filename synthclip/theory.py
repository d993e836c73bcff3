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
    # appended by the nonconvex and smoothness studies
    Claim("thm2", "gclip", "nonconvex", "thm2_lhs", "K^(−2(α−1)/(3α−2))", ZHANG + ", Theorem 2 (upper; the seed "
          "prints 3α−1 in the display, Remark 3 and the proof give 3α−2)", "tight", lambda a: 2.0 * _nonconvex(a),
          note="the theorem's left-hand side: (1/K) Σ_{k≤K} E min{‖∇f(x_k)‖, ‖∇f(x_k)‖²}"),
    Claim("thm2", "gclip", "nonconvex", "grad_norm_avg", "K^(−(α−1)/(3α−2))", ZHANG + ", Theorem 2 with Remark 3 "
          "(upper)", "upper", _nonconvex, note="E‖∇f(x)‖ for x drawn uniformly from x_1..x_K"),
    Claim("zhang2020-clip", "gclip", "l0l1_smooth", "iterations", "O(x0)",
          "Zhang et al. ICLR 2020, Why gradient clipping accelerates training, Theorem 3 (clipped and normalised GD)",
          "upper", lambda a: 1.0, variable="x0", alpha_range=(0.0, float("inf")),
          note="fixed η, τ independent of the start: far from x* each step moves ητ, so iterations to ε grow at "
               "most linearly in the start distance x0 (low noise)"),
    Claim("zhang2020-gd", "sgd", "quartic", "iterations", "x0^2",
          "Zhang et al. ICLR 2020, Theorem 4 (fixed-step GD is slower); the instance f = x⁴/4 derived here",
          "tight", lambda a: 2.0, variable="x0", alpha_range=(0.0, float("inf")),
          note="a fixed step must satisfy η ≤ c/L(x0) with L(x0) = 3x0² not to diverge; from |x| ~ 1 to the "
               "target GD then needs ~1/(2ηr²) ∝ x0² iterations"),
    Claim("zhang2020-gd", "sgd", "cosh", "iterations", "e^x0",
          "Zhang et al. ICLR 2020, Theorem 4 (fixed-step GD is slower); the instance f = cosh x − 1 derived here",
          "tight", lambda a: 1.0, variable="exp(x0)", alpha_range=(0.0, float("inf")),
          note="η ≤ c/cosh(x0); descending from x0 takes Σ e^(x0−x) ~ e^x0 steps: log iterations grows like x0"),
    # appended by the dimension study: each error's own constant in d (the ratio claims are above)
    Claim("cor7-d", "gclip", "coordinatewise", "f_avg", "d^(1+2/α)", ZHANG + ", Corollary 7 (upper): constant "
          "d‖B‖_α² = d^(1+2/α)B² with i.i.d. coordinates", "upper", lambda a: 1.0 + 2.0 / a, variable="d"),
    Claim("thm8-d", "cclip", "coordinatewise", "f_avg", "d^1", ZHANG + ", Theorem 8 (upper): constant ‖B‖_2² = d·B² "
          "with i.i.d. coordinates", "upper", lambda a: 1.0, variable="d"),
    Claim("thm4-d-radial", "gclip", "radial", "f_avg", "d^0", ZHANG + ", Theorem 4 (upper) with a d-free σ (radial "
          "noise)", "upper", lambda a: 0.0, variable="d"),
    Claim("thm8-d-radial", "cclip", "radial", "f_avg", "d^0", ZHANG + ", Theorem 8 (upper) with B_i = σ/√d "
          "(radial noise: ‖B‖_2² = σ²)", "upper", lambda a: 0.0, variable="d"),
    # appended by the bias study
    Claim("koloskova", "gclip", "constant_clip", "grad_norm", "floor > 0 as η → 0 (asymmetric noise)",
          "Koloskova et al. 2023, Revisiting gradient clipping: stochastic bias and tight convergence guarantees "
          "(abstract: no convergence to the optimum, even with arbitrarily small step sizes)", "qualitative",
          variable="lr", model="floor", alpha_range=(1.0, float("inf")),
          note="symmetric noise has no floor (the clipped mean stays unbiased at x*)"),
    Claim("lemma9-bias", "gclip", "constant_clip", "grad_norm_floor", "c^(−(α−1))", ZHANG + ", Lemma 9 "
          "(Appendix B): the bias term σ^α/τ^(α−1) falls as the clip level grows (formula lost in the seed text; "
          "standard form)", "upper", lambda a: -(a - 1.0), variable="c",
          note="large-c asymptote; the study's exact floor |x_c| is the sharper prediction at finite c"),
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
