"""What a verdict means, in code: the one fit rule, the words by kind of claim, and "insufficient data".

docs/theory.md ("What a verdict means") fixes, before any data is seen, how a measured rate is set against a
theory entry (:mod:`synthclip.theory`). This module is the only place where that rule is written; every
study and every statistical test reads it.

The rule (:data:`RULE`)
-----------------------
* **Window.** A rate is the least-squares slope of log(statistic) against log k over the last decade of
  the run, k ∈ [K/10, K] (``stats.DEFAULT_WINDOW_DECADES``), for every study, case and test.
* **Interval.** A percentile bootstrap over whole trajectories at ``confidence`` with ``n_boot``
  replicates (≥ 20/(1 − confidence)). No allowance is added (``allowance`` = 0: an allowance sized after
  the data is what the rule must not have); a study that runs at the boundary of an assumption says so
  through its theory entry (a named limit case), not through a wider interval.
* **Resolution** (``resolution`` = 0.1). The smallest exponent error the rule claims to resolve. A word
  that claims agreement (*within (tight)*, *respects (tight)*, *certifies (tight)*, *consistent*,
  *matches*) needs the exponent inside the interval **and** an interval no wider than the resolution;
  an interval that holds the exponent but is wider reads *inconclusive* (reason: its width). Why this
  separates a tight exponent from one 0.1 away: if the interval is ±z·se around the estimate and its
  width 2z·se ≤ r, then data whose true slope is t ± r contain t in their interval only when the
  estimate errs by more than r − z·se ≥ z·se, which happens with probability ≤ Φ(−z) = (1 − c)/2
  (2.5 % at c = 0.95): the power against a near miss of r is ≥ 1 − (1 − c)/2 by construction
  (:func:`near_miss_power` gives it per row). The ``calibrate`` study measures it on data with a known
  exponent (cases "resolution"), with the pass rate of exactly tight data beside it; every report's rule
  line prints both.
* **Local slopes.** The same fit over each half-decade [K/10^(j+½), K/10^j] with its interval, and a
  *trend* from the three latest half-decades: *steady* when the oldest and the newest local intervals
  overlap, otherwise *approaching* or *moving away* from the theory exponent (*bending* with no theory).
* **Words by kind** (:data:`WORDS`). Against an upper bound: *within (tight)* (the exponent lies in the
  interval, which is narrower than the resolution), *within (not tight)* (faster: the bound is valid but
  loose here), *violates* (slower). Against a lower bound on its instance: *respects (tight)*, *respects
  (not tight)* (slower), *violates* (faster); a fixed quantile judged against a lower bound on the mean
  only *certifies* it (E ≥ (1 − q)·Q_q) or gives *no certificate*, never a violation. Against an exact
  asymptotic or a tight pair: *consistent*, *faster*, *slower*. Against a prediction: *matches*, *below*,
  *above*. Beside a ratio of two upper bounds (kind "bound-ratio"), which predicts no ratio of errors:
  *reported (ratio of bounds)*, never a judgement. A row no theory entry covers: *none*.
* **Inconclusive.** The exponent lies in an interval wider than the resolution: the data cannot tell
  agreement from a near miss at this size; the remedy is more runs or a longer horizon.
* **Pre-asymptotic.** A verdict other than the agreeing one whose trend is *approaching* reads
  *pre-asymptotic*: the curve is still bending towards the exponent at this horizon; the remedy is a
  longer run, never another window. Pre-asymptotic confirms nothing (an erratum needs its own words).
* **Insufficient data** (:func:`sufficiency`). Fewer runs than the quantile needs (its order-statistic
  interval is unbounded above: this is what makes the zero-width interval of a single run), or a slope
  interval that is infinite or NaN: the verdict is *insufficient data* with the reason, whatever the point
  estimate says. (A zero-width interval from enough runs is an atom of the law, e.g. the no-spike path of
  Theorem 5's two-point noise, and is exact, not degenerate.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from . import stats
from .theory import Claim


@dataclass(frozen=True)
class FitRule:
    """The fit options of every rate verdict, declared once (studies expose them as flags with these defaults)."""

    window_decades: float = stats.DEFAULT_WINDOW_DECADES
    n_boot: int = 1000
    confidence: float = 0.95
    allowance: float = 0.0  # none: see the module docstring (a study at a boundary names it as a limit case)
    resolution: float = 0.1  # the smallest exponent error an agreeing word must resolve
    quantiles: tuple = (0.5, 0.9, 0.99)
    local_decades: float = 0.5
    min_k: float = 10.0  # local slopes start here: the first steps are the initial distance, not a rate

    def in_window(self, xs) -> np.ndarray:
        """Which of ``xs`` (horizons, starts, any swept variable) lie in the fit window: the last
        ``window_decades`` decades below the largest, its lower end included despite rounding."""
        xs = np.asarray(xs, dtype=float)
        return xs >= xs.max() / 10.0**self.window_decades * (1 - 1e-12)

    def describe(
        self,
        *,
        confidence: float | None = None,
        allowance: float | None = None,
        n_boot: int | None = None,
        power: str = "",
    ) -> str:
        """The rule in one line, printed above every verdict table; ``power``: the measured resolution
        (:func:`resolution_line`) to print beside it."""
        c = self.confidence if confidence is None else confidence
        a = self.allowance if allowance is None else allowance
        b = self.n_boot if n_boot is None else n_boot
        widened = f" ± allowance {a:g} (changed from the rule's {self.allowance:g})" if a != self.allowance else ""
        return (
            f"rule (fixed before the run): slope of log statistic vs log k over the last decade "
            f"[K/10, K]; {100 * c:.4g}% bootstrap over trajectories ({b} replicates){widened}; an agreeing word needs "
            f"the interval within the resolution {self.resolution:g} (else 'inconclusive'); local slopes per "
            f"half-decade, trend from the last three" + (f"; {power}" if power else "")
        )


RULE = FitRule()

#: Verdict words by the kind of claim, for the three outcomes of the widened interval against the exponent:
#: "match" (inside), "faster" (the measured slope is more negative), "slower".
WORDS: dict[str, dict[str, str]] = {
    "upper": {"match": "within (tight)", "faster": "within (not tight)", "slower": "violates"},
    "lower": {"match": "respects (tight)", "faster": "violates", "slower": "respects (not tight)"},
    "tight": {"match": "consistent", "faster": "faster", "slower": "slower"},
    "exact": {"match": "consistent", "faster": "faster", "slower": "slower"},
    "prediction": {"match": "matches", "faster": "below", "slower": "above"},
}
#: For a growth exponent (in x0 or d: the quantity grows, a smaller exponent is better) the exact and tight
#: words say which way it grows; the upper/lower words are already direction-free.
GROWTH_WORDS: dict[str, dict[str, str]] = {
    "tight": {"match": "consistent", "faster": "grows slower", "slower": "grows faster"},
    "exact": {"match": "consistent", "faster": "grows slower", "slower": "grows faster"},
}
#: A lower bound on E[error] judged through a fixed quantile: E ≥ (1 − q)·Q_q, so a quantile that decays no
#: faster than the bound certifies it for the mean, while a faster quantile contradicts nothing.
QUANTILE_OF_LOWER = {"match": "certifies (tight)", "slower": "certifies", "faster": "no certificate"}
NONE = "none"
INCONCLUSIVE = "inconclusive"
INSUFFICIENT = "insufficient data"
PRE_ASYMPTOTIC = "pre-asymptotic"
#: A row at the edge of a theorem's hypothesis (noise tail index equal to the theorem's α: E‖g‖^α = ∞), where
#: the bound is not stated: reported with its exponent, never judged (``Claim.strict_tail``)
LIMIT_CASE = "limit case"
#: A row set beside a ratio of two upper bounds (theory kind "bound-ratio"): the bounds predict no ratio of
#: errors, so the measured exponent is reported with the bounds' ratio beside it, never judged by it
BOUND_RATIO = "reported (ratio of bounds)"
TRENDS = ("steady", "approaching", "moving away", "bending", "too short")

#: The columns of a study's scoreboard rows (``Study.scoreboard``), gathered by ``study summary``.
SCOREBOARD_COLUMNS = (
    "study",
    "statement",
    "source",
    "setting",
    "quantity",
    "measured",
    "ci_low",
    "ci_high",
    "theory",
    "verdict",
    "reason",
    "figure",
)


def outcome(slope: float, ci_low: float, ci_high: float, theory: float, allowance: float) -> str:
    """ "match", "faster" or "slower": where the exponent lies against the widened interval
    (``stats.exponent_side``; ``slope`` is not needed, it is taken so a call reads as a row)."""
    return stats.exponent_side(ci_low, ci_high, theory, allowance)


def runs_needed(q: float, confidence: float) -> int:
    """The fewest runs whose order-statistic interval bounds the q-quantile from above at ``confidence``:
    the largest order statistic must exceed it with probability 1 − q^n ≥ 1 − (1 − c)/2."""
    return int(math.ceil(math.log(0.5 * (1.0 - confidence)) / math.log(q)))


def sufficiency(n_traj: int, q, confidence: float, ci_low: float = 0.0, ci_high: float = 1.0, n_failed: int = 0) -> str:
    """ "" when the data can carry a verdict, otherwise the reason (docs/theory.md: too little data is not a verdict)."""
    if q != "mean" and q is not None:
        q = float(q)
        n_ok = n_traj
        if stats.quantile_ranks(n_ok, q, confidence)[2] > n_ok:
            return (
                f"{n_ok} runs cannot bound the {q:g}-quantile from above at level {confidence:.4g} "
                f"(needs ≥ {runs_needed(q, confidence)})"
            )
    elif n_traj < 2:
        return f"{n_traj} run: a mean needs at least 2"
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        if n_failed:
            return f"slope interval unbounded ({n_failed} of {n_traj} runs failed)"
        return "slope interval unbounded or undefined"
    return ""


@dataclass(frozen=True)
class Verdict:
    """A row's verdict: the words, the claim that judged it (None: theory "none") and the reason."""

    verdict: str
    theory: float = float("nan")
    kind: str = ""
    statement: str = NONE
    source: str = NONE
    reason: str = ""

    @classmethod
    def of(cls, words: str, claim: Claim | None, theory: float | None, reason: str = "") -> Verdict:
        """The verdict ``words`` with the claim's name, kind and source (theory "none" without a claim)."""
        return cls(
            words,
            float("nan") if theory is None else float(theory),
            claim.kind if claim else "",
            claim.statement if claim else NONE,
            claim.source if claim else NONE,
            reason,
        )

    def as_dict(self) -> dict:
        return {
            "theory": self.theory,
            "kind": self.kind or NONE,
            "statement": self.statement,
            "theory_source": self.source,
            "verdict": self.verdict,
            "reason": self.reason,
        }


def judge(
    slope: float,
    ci_low: float,
    ci_high: float,
    claim: Claim | None,
    alpha: float,
    *,
    n_traj: int,
    q,
    confidence: float,
    allowance: float,
    trend: str = "steady",
    n_failed: int = 0,
    reason: str = "",
    noise_alpha: float | None = None,
) -> Verdict:
    """The verdict of one fitted row against ``claim`` (None: no entry covers the row) under the rule."""
    t = claim.at(alpha, noise_alpha) if claim is not None else None
    if claim is None or t is None:
        return Verdict.of(NONE, claim, t, "no theory entry covers this row")
    if not np.isfinite(slope):
        return Verdict.of(INSUFFICIENT, claim, t, reason or "no slope (a fitted statistic is +inf or <= 0)")
    why = sufficiency(n_traj, q, confidence, ci_low, ci_high, n_failed)
    if why:
        return Verdict.of(INSUFFICIENT, claim, t, why)
    tt = float(t)
    if claim.kind == "bound-ratio":
        return Verdict.of(
            BOUND_RATIO,
            claim,
            tt,
            "a ratio of two upper bounds predicts no ratio of errors: "
            "reported beside the measured exponent, not judged",
        )
    if claim.strict_tail and noise_alpha is not None and noise_alpha <= alpha < 2.0:
        return Verdict.of(
            LIMIT_CASE,
            claim,
            tt,
            f"noise tail index {noise_alpha:g} ≤ the theorem's α = {alpha:g}: "
            "E‖g‖^α = ∞, outside the hypothesis (reported, not judged)",
        )
    where = outcome(slope, ci_low, ci_high, tt, allowance)
    table = GROWTH_WORDS if claim.variable not in ("k", "delta") and claim.kind in GROWTH_WORDS else WORDS
    if claim.kind == "lower" and q != "mean":
        table = {"lower": QUANTILE_OF_LOWER}
    words = table[claim.kind][where]
    width = (ci_high - ci_low) + 2.0 * allowance
    if where == "match" and width > RULE.resolution:
        return Verdict.of(
            INCONCLUSIVE,
            claim,
            tt,
            f"interval wider than the resolution: width {width:.3f} > {RULE.resolution:g} (would read '{words}')",
        )
    if where != "match" and trend == "approaching":
        return Verdict.of(
            PRE_ASYMPTOTIC,
            claim,
            tt,
            f"{words} over the last decade, but the local slopes are still approaching {tt:+.3f}",
        )
    return Verdict.of(words, claim, tt)


def judge_fit(fit, claim: Claim | None, alpha: float, p, *, n_traj: int, q, widen: float = 0.0, **kw) -> Verdict:
    """:func:`judge` of a fitted rate (``stats.RateFit`` or any object with ``slope``, ``ci_low``, ``ci_high`` and
    ``reason``) at the level and allowance of a study's parameters ``p`` (``confidence``, ``allowance``), the
    allowance widened by ``widen`` where a row has its own (:func:`grid_allowance`); ``kw``:
    ``trend``, ``n_failed``, ``noise_alpha`` as for :func:`judge`."""
    return judge(
        fit.slope,
        fit.ci_low,
        fit.ci_high,
        claim,
        alpha,
        n_traj=n_traj,
        q=q,
        confidence=p.confidence,
        allowance=p.allowance + widen,
        reason=fit.reason,
        **kw,
    )


def judge_row(
    r: Mapping[str, Any], claim: Claim | None, *, confidence: float, allowance: float, trend: str, q=None
) -> Verdict:
    """:func:`judge` of a stored row of a slopes table: its slope and interval, α and the noise's tail index (a
    row without one has none), N, failures and ``fit_reason``, at its quantile level unless ``q`` says (a
    horizon table's row holds its level as its statistic)."""
    return judge(
        r["slope"],
        r["ci_low"],
        r["ci_high"],
        claim,
        r["alpha"],
        n_traj=int(r["n_traj"]),
        q=float(r["quantile"]) if q is None else q,
        confidence=confidence,
        allowance=allowance,
        trend=trend,
        n_failed=int(r["n_failed"]),
        reason=r["fit_reason"],
        noise_alpha=r.get("noise_alpha"),
    )


def near_miss_power(ci_low: float, ci_high: float, confidence: float, delta: float = RULE.resolution) -> float:
    """The probability that data whose true slope is the exponent ± ``delta`` are *not* given the agreeing word,
    for a row with this interval: 1 when the interval is wider than the resolution (never agreeing), else
    1 − P(|Z + δ/se| ≤ z) with se = width/(2z) (the interval read as a normal one; the derivation is in
    the module docstring). ≥ 1 − (1 − c)/2 whenever ``delta`` ≥ the resolution."""
    width = ci_high - ci_low
    if not (np.isfinite(width) and width <= RULE.resolution):
        return 1.0
    return 1.0 - stats.normal_interval_holds(width, delta, confidence)


def resolution_line(rows, widen: float = 0.0) -> str:
    """ "near-miss power ≥ P (worst agreeing row)" of a table's agreeing rows (columns ci_low, ci_high,
    verdict) at the rule's confidence; the measured values on known-answer data are in ``calibrate``. Each
    interval is read as the rule read it: widened by ``widen`` (the study's allowance) and by the row's own
    ``grid_allowance``."""
    agreeing = [r for r in rows if r["verdict"] in AGREEING]
    if not agreeing:
        return f"near-miss power: no agreeing row (a ±{RULE.resolution:g} error is resolved by exclusion alone)"
    worst = min(
        near_miss_power(
            r["ci_low"] - widen - r.get("grid_allowance", 0.0),
            r["ci_high"] + widen + r.get("grid_allowance", 0.0),
            RULE.confidence,
        )
        for r in agreeing
    )
    return (
        f"near-miss power against ±{RULE.resolution:g}: ≥ {worst:.3f} on this table's {len(agreeing)} agreeing "
        f"rows (normal reading of their intervals)"
    )


#: The words that claim agreement: each needs an interval within the resolution.
AGREEING = frozenset({"within (tight)", "respects (tight)", "certifies (tight)", "consistent", "matches"})


# --------------------------------------------------------------------------------------------------
# local slopes and the trend
# --------------------------------------------------------------------------------------------------


def half_decades(k: Sequence[float] | np.ndarray, rule: FitRule = RULE) -> list[tuple[float, float]]:
    """Windows [K/10^(j+½), K/10^j], newest first, down to ``rule.min_k``, each holding ≥ 2 checkpoints."""
    k = np.asarray(k, dtype=float)
    kmax = float(k.max())
    out = []
    j = 0.0
    while True:
        hi = kmax / 10.0**j
        lo = hi / 10.0**rule.local_decades
        if lo < rule.min_k * (1 - 1e-12):
            break
        n = np.count_nonzero((k >= lo * (1 - 1e-12)) & (k <= hi * (1 + 1e-12)))
        if n >= 2:
            out.append((lo, hi))
        j += rule.local_decades
    return out


def trend_of(rows, theory: float | None) -> str:
    """steady / approaching / moving away (bending without theory) from the newest and the third-newest window."""
    if len(rows) < 3:
        return "too short"
    new, old = rows[0], rows[2]
    if not all(np.isfinite(v) for v in (*new[2:], *old[2:])):
        return "too short"
    if new[3] <= old[4] and old[3] <= new[4]:  # the two intervals overlap
        return "steady"
    if theory is None or not np.isfinite(theory):
        return "bending"
    return "approaching" if abs(new[2] - theory) < abs(old[2] - theory) else "moving away"


def grid_allowance(x_fitted, checkpoints) -> float:
    """The largest slope error the checkpoint grid can cause, derived before any run (no data): a count is read
    as the first checkpoint c_j at or after the true hit, so it is over-read by a factor below
    ρ = max_j c_j/(c_{j−1} + 1) (1 where consecutive integers are checkpoints: exact); every log median then
    carries an error in [0, log ρ), and the least-squares slope over log x moves by at most
    log ρ · Σ|x_i − x̄| / Σ(x_i − x̄)². Added to each side of the slope interval as the rule's allowance."""
    c = np.asarray(checkpoints, dtype=float)
    log_rho = float(np.max(np.log(c[1:] / (c[:-1] + 1.0)), initial=0.0))
    x = np.log(np.asarray(x_fitted, dtype=float))
    d = x - x.mean()
    if x.size < 2 or not np.any(d):
        return 0.0
    return max(log_rho, 0.0) * float(np.sum(np.abs(d)) / np.sum(d * d))


# -- gap claims (theory.GAP_CLAIMS): a direction of a ratio of losses against a band ---------------------------

REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
#: a comparison one of whose methods' step size stayed at the edge of its extended grid: not judged
NOT_TUNED = "not tuned"


def band_word(direction: str, low: float, high: float, edge: float, words=(REPRODUCED, NOT_REPRODUCED)) -> str:
    """The word of a gap claim (``theory.GapClaim``) from the interval [low, high] of its ratio and the band edge
    E > 1, fixed before any run: the claim's first word when the interval shows its direction, the second when
    it shows the opposite, :data:`INCONCLUSIVE` when it straddles the edge that decides. "above": shown when
    low > E, refuted when high ≤ E; "below": shown when high < 1/E, refuted when low ≥ 1/E; "within": shown when
    the interval lies in [1/E, E], refuted when it lies wholly outside; "at most": shown when high ≤ E, refuted
    when low > E. A non-finite end gives :data:`INSUFFICIENT`."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return INSUFFICIENT
    yes, no = words
    if direction == "above":
        return yes if low > edge else no if high <= edge else INCONCLUSIVE
    if direction == "below":
        return yes if high < 1.0 / edge else no if low >= 1.0 / edge else INCONCLUSIVE
    if direction == "within":
        if 1.0 / edge <= low and high <= edge:
            return yes
        return no if (low > edge or high < 1.0 / edge) else INCONCLUSIVE
    if direction == "at most":
        return yes if high <= edge else no if low > edge else INCONCLUSIVE
    raise ValueError(f"direction must be one of above, below, within, at most; got {direction!r}")


# -- the growth of a (1 − δ)-quantile in 1/δ at a fixed horizon: the confidence study's rule, which calibrate
# measures on exact laws, so both read it from here

#: the models fitted to log q_(1−δ): a power of 1/δ ("poly") and a power of log(1/δ) ("polylog")
DELTA_MODELS = ("poly", "polylog")
#: the rule's settings as the confidence study runs it by default, and calibrate measures it: s_max (growth up to
#: log^s_max(1/δ) counts as polylogarithmic), the bootstrap replicates and the level of the slope intervals
DELTA_RULE = MappingProxyType({"power": 2.0, "n_boot": 1000, "confidence": 0.95})


def delta_grid(p: Mapping[str, Any]) -> np.ndarray:
    """The log-spaced δ of ``p`` (``delta_max``, ``delta_min``, ``n_deltas``), largest first."""
    return np.geomspace(p["delta_max"], p["delta_min"], int(p["n_deltas"]))


def boundary_slope(deltas, power: float) -> float:
    """s_max·β: the poly-model slope of the law log(1/δ)^s_max on this δ grid (exact, OLS is linear)."""
    u = np.log(1.0 / np.asarray(deltas, dtype=float))
    slope, _ = stats.fit_slope(u, np.log(u))
    return float(power) * slope


def fit_delta_growth(values, deltas, *, n_boot: int, confidence: float, seed: int):
    """(fits, test): both models' slope intervals (``stats.delta_fit_bootstrap``) and the power-law test of one
    sample's (1 − δ)-quantiles, on the same seed."""
    fits = stats.delta_fit_bootstrap(values, deltas, DELTA_MODELS, n_boot=n_boot, confidence=confidence, seed=seed)
    test = stats.power_law_test(values, deltas, n_boot=n_boot, confidence=confidence, seed=seed)
    return fits, test


def classify_delta_growth(
    poly: Mapping[str, float], polylog: Mapping[str, float], boundary: float, power: float, power_law_rejected: bool
) -> str:
    """polynomial if the poly slope's interval lies above ``boundary`` (s_max·β); else polylog if the polylog
    slope's interval lies at or below ``power`` (s_max) and the power-law test rejects; else undecided (no fit
    without both slopes)."""
    if not (np.isfinite(poly["slope"]) and np.isfinite(polylog["slope"])):
        return "no fit"
    if poly["ci_low"] > boundary:
        return "polynomial"
    if polylog["ci_high"] <= power and power_law_rejected:
        return "polylog"
    return "undecided"


def decide_delta_growth(
    values, deltas, *, n_boot: int, confidence: float, power: float, boundary: float, seed: int
) -> str:
    """The verdict on one sample (:func:`fit_delta_growth`, then :func:`classify_delta_growth`)."""
    fits, test = fit_delta_growth(values, deltas, n_boot=n_boot, confidence=confidence, seed=seed)
    by = {m: {"slope": f.slope, "ci_low": f.ci_low, "ci_high": f.ci_high} for m, f in fits.items()}
    return classify_delta_growth(by["poly"], by["polylog"], boundary, power, test.rejects)


def describe_delta_rule(boundary: float, power: float, confidence: float) -> str:
    """:func:`classify_delta_growth` in words, as a report prints it."""
    return (
        f"rule: polynomial if poly-slope CI > s_max·β = {boundary:.3f} (s_max = {power:g}); else polylog if "
        f"polylog-slope CI ≤ {power:g} and every power law is rejected (curvature test, one-sided "
        f"{(1 - confidence) / 2:.3g}); else undecided"
    )
