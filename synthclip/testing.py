"""A researcher's own rate check, in their own pytest: :func:`check_rate` and :func:`assert_rate`.

``check_rate`` runs ``n_traj`` trajectories of a method (a built-in, or one registered from the researcher's
file with ``synthclip.methods.register`` / ``load_plugin``), fits the slope of the ``quantile`` of ``metric``
against k over the last decade and judges it against an exponent or a :class:`synthclip.theory.Claim` by the
package's one rule (:data:`synthclip.verdict.RULE`, docs/theory.md "What a verdict means"): the same
window, the same percentile bootstrap over whole trajectories, no allowance, an agreeing word only for an
interval no wider than the resolution 0.1, local slopes per half-decade with their trend (*pre-asymptotic*),
*insufficient data*, and the words of the claim's kind (:data:`synthclip.verdict.WORDS`). It returns the
verdict row (:class:`RateCheck`); ``assert_rate`` raises an ``AssertionError`` whose one-line message gives
the slope, its interval, the exponent and the verdict whenever the word is not the agreeing one.

A bare ``exponent=`` states an exact asymptotic (kind "exact": *consistent*, *faster*, *slower*); a
``claim=`` brings its own kind and scope, and a run outside its scope is refused (a theorem judges only rows
inside its scope). :func:`load_claims` reads the Claims of a researcher's file (the studies' ``--claims``
flag) and :func:`judge_claims` judges a study's rows against them.

False failures and power at the defaults are measured by ``studies/check_rate_power.py`` on a run whose
exponent is exact (docs/testing.md, "Your own rate checks").

Known-answer data, the single home of the package's exact laws (the ``calibrate`` study measures every
interval's level on them; tests check estimators against them): :func:`pareto`, :func:`polylog` and
:func:`delta_law_sample` (exact quantiles), :func:`symmetric_stable`, :func:`tail_sample` with
:func:`tail_index` (exact tail indices), :func:`exact_order_stats` (exact order statistics without the draws),
and the Gaussian drivers :func:`ar1_gaussian` and :func:`rotation_gaussian` with :func:`pareto_of_gaussian`
(paths whose every entry has an exact heavy-tailed law, correlated across checkpoints).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from . import methods, stats, theory, verdict
from ._rng import derive_seed
from .engine import SimulationResult, simulate

__all__ = [
    "RateCheck",
    "check_rate",
    "check_run",
    "assert_rate",
    "load_claims",
    "judge_claims",
    "SETTINGS",
    "pareto",
    "polylog",
    "delta_law_sample",
    "symmetric_stable",
    "ar1_gaussian",
    "rotation_gaussian",
    "pareto_of_gaussian",
    "exact_order_stats",
    "tail_sample",
    "tail_index",
]

#: The setting a claim names (``Claim.setting``) for each problem of ``synthclip.problems``: the quadratic is
#: the strongly convex setting of Theorems 4, 5 and 8 (the rates study's), the others keep their names.
SETTINGS = {"quadratic": "strongly_convex", "nonconvex": "nonconvex", "quartic": "quartic", "cosh": "cosh"}
#: The metrics a rate may be read from (``SimulationResult.metric``); clip_frac is a count, not an error.
RATE_METRICS = tuple(m for m in SimulationResult.METRICS if m != "clip_frac")
#: Claim kinds that carry an exponent a verdict can be read against (qualitative and existence judge nothing).
JUDGED_KINDS = ("upper", "lower", "tight", "exact", "prediction")


@dataclass(frozen=True)
class RateCheck:
    """One verdict row: the fitted slope of the ``quantile`` of ``metric`` over the last decade [kmin, kmax],
    its bootstrap interval at ``confidence``, the exponent it is set against and the word of the rule."""

    method: str
    problem: str
    noise: str
    alpha: float
    metric: str
    quantile: float
    n_traj: int
    steps: int
    seed: Any
    slope: float
    ci_low: float
    ci_high: float
    kmin: float
    kmax: float
    confidence: float
    exponent: float
    statement: str
    kind: str
    verdict: str
    reason: str
    trend: str
    n_failed: int

    @property
    def ci(self) -> tuple[float, float]:
        return (self.ci_low, self.ci_high)

    @property
    def agreeing(self) -> bool:
        """Whether the verdict is an agreeing word (``synthclip.verdict.AGREEING``)."""
        return self.verdict in verdict.AGREEING

    def message(self) -> str:
        """The row in one line: slope, interval, exponent, verdict (and why, when the rule gives a reason)."""
        why = f" ({' '.join(self.reason.split())})" if self.reason else ""
        return (
            f"{self.method} on {self.problem}, {self.noise} noise alpha={self.alpha:g}: {self.quantile:g}-quantile "
            f"of {self.metric} has slope {self.slope:+.3f} [{self.ci_low:+.3f}, {self.ci_high:+.3f}] "
            f"({self.confidence:.4g} bootstrap over k in [{self.kmin:g}, {self.kmax:g}], N={self.n_traj}); "
            f"exponent {self.exponent:+.3f} ({self.statement}, {self.kind}); verdict '{self.verdict}'{why}"
        )

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _checked_claim(exponent, claim) -> theory.Claim:
    """The claim a check judges by: the caller's Claim, or an exact asymptotic k^exponent."""
    if (exponent is None) == (claim is None):
        raise ValueError(
            "give exactly one of exponent= (a finite number: the exact exponent of k) or claim= "
            "(a synthclip.theory.Claim)"
        )
    if claim is None:
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)) or not math.isfinite(exponent):
            raise ValueError(f"exponent must be a finite number (the exponent of k), got {exponent!r}")
        e = float(exponent)
        return theory.Claim(
            "exponent",
            "*",
            "*",
            "*",
            f"k^({e:+g})",
            "the caller's exponent",
            "exact",
            lambda a: e,
            alpha_range=(-math.inf, math.inf),
        )
    if not isinstance(claim, theory.Claim):
        raise ValueError(f"claim must be a synthclip.theory.Claim, got {type(claim).__name__}")
    if claim.kind not in JUDGED_KINDS or claim.exponent is None:
        raise ValueError(
            f"claim {claim.statement!r}: kind must be one of {', '.join(JUDGED_KINDS)} with an exponent "
            f"(a {claim.kind!r} claim judges nothing), got kind {claim.kind!r}"
        )
    if claim.variable != "k":
        raise ValueError(
            f"claim {claim.statement!r}: variable must be 'k' (a rate in the step count), got {claim.variable!r}"
        )
    return claim


def _scope_error(
    claim: theory.Claim, method: str, setting: str, metric: str, alpha: float, family: str, schedule: str | None
) -> str:
    """Why the run lies outside the claim's scope ("" when it lies inside)."""
    lo, hi = claim.alpha_range
    checks = (
        (claim.method in (method, "*"), f"method {method!r} is not the claim's {claim.method!r}"),
        (claim.setting == setting, f"setting {setting!r} is not the claim's {claim.setting!r}"),
        (claim.metric == metric, f"metric {metric!r} is not the claim's {claim.metric!r}"),
        (lo < alpha <= hi, f"alpha={alpha:g} lies outside the claim's range ({lo:g}, {hi:g}]"),
        (family in claim.noise, f"noise family {family!r} is not among the claim's {claim.noise}"),
        (
            claim.schedule is None or claim.schedule == schedule,
            f"clip schedule {schedule!r} is not the claim's {claim.schedule!r}",
        ),
    )
    return next((why for ok, why in checks if not ok), "")


def run_schedule(method: str, params: dict) -> str | None:
    """The clip schedule of a run in theory's terms (``Claim.schedule``): the clip power as given ("alpha-1",
    "1/alpha" or a number) for a polynomial clip level, "constant", "proj-poly" for projected SGD (the rates
    study's ``rate_methods.schedule_of`` gives the same names for its labels), None when nothing is clipped."""
    if method == "sgd":
        return "proj-poly" if math.isfinite(params.get("radius", math.inf)) else None
    if not math.isfinite(params.get("clip", math.inf)):
        return None
    if params.get("clip_schedule", "constant") == "constant":
        return "constant"
    return params.get("clip_power")


def judge_fit(
    last,
    local: Sequence,
    claim: theory.Claim | None,
    alpha: float,
    *,
    q,
    n_traj: int,
    n_failed: int,
    confidence: float,
    allowance: float = verdict.RULE.allowance,
    noise_alpha: float | None = None,
    reason: str = "",
) -> tuple[verdict.Verdict, str]:
    """(verdict, trend) of one last-decade fit ``last`` (slope, ci_low, ci_high) with its half-decade fits
    ``local`` (rows kmin, kmax, slope, ci_low, ci_high, newest first), by ``verdict.judge``: the one path of
    :func:`check_rate` and of the studies' ``--claims`` rows."""
    t = claim.at(alpha, noise_alpha) if claim is not None else None
    trend = verdict.trend_of(list(local), t)
    slope, lo, hi = last
    said = verdict.judge(
        slope,
        lo,
        hi,
        claim,
        alpha,
        n_traj=n_traj,
        q=q,
        confidence=confidence,
        allowance=allowance,
        trend=trend,
        n_failed=n_failed,
        reason=reason,
        noise_alpha=noise_alpha,
    )
    return said, trend


def _check_options(quantile, steps, confidence, metric) -> None:
    if isinstance(quantile, bool) or quantile not in verdict.RULE.quantiles:
        raise ValueError(
            f"quantile must be one of {', '.join(f'{q:g}' for q in verdict.RULE.quantiles)} (the rule's "
            f"judged statistics, synthclip.verdict.RULE.quantiles), got {quantile!r}"
        )
    least = int(math.ceil(10 * verdict.RULE.min_k))
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < least:
        raise ValueError(
            f"steps must be an integer >= {least}: the rate is fitted over the last decade [K/10, K], "
            f"which must start at k >= {verdict.RULE.min_k:g}, got {steps!r}"
        )
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    if metric not in RATE_METRICS:
        raise ValueError(f"metric must be one of {', '.join(RATE_METRICS)}, got {metric!r}")


def n_boot_for(confidence: float) -> int:
    """Bootstrap replicates at ``confidence``: the rule's, and never fewer than 20/(1 − c) (docs/theory.md:
    a percentile bootstrap at level c needs them)."""
    return max(verdict.RULE.n_boot, int(math.ceil(20.0 / (1.0 - confidence))))


def check_rate(
    method: str,
    *,
    problem: str = "quadratic",
    noise: str = "stable",
    alpha: float = 1.5,
    exponent: float | None = None,
    claim: theory.Claim | None = None,
    metric: str | None = None,
    quantile: float = 0.5,
    n_traj: int = 10_000,
    steps: int = 10_000,
    seed: Any = 0,
    confidence: float = verdict.RULE.confidence,
    claim_alpha: float | None = None,
    structure: str = "iid",
    dim: int = 1,
    **params: Any,
) -> RateCheck:
    """Run ``method`` and judge the slope in k of the ``quantile`` of ``metric`` against ``exponent`` or ``claim``.

    Parameters
    ----------
    method : a registered method (built-in, or registered from your file: ``synthclip.methods.load_plugin``).
    problem, noise, alpha, structure, dim, ``**params`` : passed to :func:`synthclip.simulate` (``alpha`` is the
        noise's tail index; ``params`` are the method's and the problem's, e.g. ``lr=``, ``clip=``, ``mu=``).
    exponent : the exact exponent t of k (the error's quantile ∝ k^t); or
    claim : a :class:`synthclip.theory.Claim` (its kind sets the words; a run outside its scope, i.e. another
        method, setting (``SETTINGS[problem]``), metric, noise family, clip schedule or α, is a ValueError).
    metric : the error read (``SimulationResult.metric``); default the claim's, or "f_avg".
    quantile : one of the rule's judged levels 0.5, 0.9, 0.99.
    n_traj, steps, seed : trajectories, horizon K (the fit reads [K/10, K]) and the seed of the noise stream.
    confidence : the interval's level (the rule's 0.95 by default); the bootstrap draws
        max(1000, 20/(1 − c)) replicates. A higher level lowers the false-failure rate and needs more runs
        for the interval to fit within the resolution.
    claim_alpha : the α the claim's exponent is read at (a theorem's α; default ``alpha``).

    Returns the :class:`RateCheck` row; the same seed gives the same row bit for bit.
    """
    _checked_claim(exponent, claim)
    _check_options(quantile, steps, confidence, metric if metric is not None else "f_avg")
    name = methods.get(method).name
    if problem not in SETTINGS:
        raise ValueError(f"problem must be one of {', '.join(SETTINGS)}, got {problem!r}")
    from .harness.rate_methods import rate_checkpoints  # the rates study's grid: ten checkpoints per decade

    res = simulate(
        name,
        problem=problem,
        noise=noise,
        alpha=alpha,
        structure=structure,
        dim=dim,
        steps=steps,
        n_traj=n_traj,
        seed=seed,
        checkpoints=rate_checkpoints(steps),
        **params,
    )
    return check_run(
        res,
        exponent=exponent,
        claim=claim,
        metric=metric,
        quantile=quantile,
        confidence=confidence,
        claim_alpha=claim_alpha,
    )


def check_run(
    res: SimulationResult,
    *,
    exponent: float | None = None,
    claim: theory.Claim | None = None,
    metric: str | None = None,
    quantile: float = 0.5,
    confidence: float = verdict.RULE.confidence,
    claim_alpha: float | None = None,
) -> RateCheck:
    """The verdict row of a run already made (``synthclip.simulate``), as :func:`check_rate` gives it: judge one
    run against several exponents without running it again. The bootstrap's seed derives from the run's."""
    judge_by = _checked_claim(exponent, claim)
    metric = metric if metric is not None else (claim.metric if claim is not None else "f_avg")
    _check_options(quantile, res.steps, confidence, metric)
    if res.problem not in SETTINGS:
        raise ValueError(f"problem must be one of {', '.join(SETTINGS)}, got {res.problem!r}")
    structure = res.params.get("structure", "iid")
    a = res.alpha if claim_alpha is None else float(claim_alpha)
    family = theory.noise_family(res.noise, structure)
    if claim is not None:
        why = _scope_error(
            claim, res.method, SETTINGS[res.problem], metric, a, family, run_schedule(res.method, res.params)
        )
        if why:
            raise ValueError(f"claim {claim.statement!r} does not cover this run: {why}")
    k = res.checkpoints
    windows = verdict.half_decades(k)
    fits = stats.fit_rate_windows(
        k,
        res.metric(metric),
        float(quantile),
        [(None, None), *windows],
        n_boot=n_boot_for(confidence),
        confidence=confidence,
        seed=derive_seed(res.seed, "testing", "bootstrap", res.method, metric, float(quantile)),
    )
    last, local = fits[0], [(f.kmin, f.kmax, f.slope, f.ci_low, f.ci_high) for f in fits[1:]]
    said, trend = judge_fit(
        (last.slope, last.ci_low, last.ci_high),
        local,
        judge_by,
        a,
        q=float(quantile),
        n_traj=res.n_traj,
        n_failed=res.n_failed,
        confidence=confidence,
        noise_alpha=res.alpha,
        reason=last.reason,
    )
    return RateCheck(
        res.method,
        res.problem,
        res.noise,
        res.alpha,
        metric,
        float(quantile),
        res.n_traj,
        res.steps,
        res.seed,
        last.slope,
        last.ci_low,
        last.ci_high,
        last.kmin,
        last.kmax,
        float(confidence),
        said.theory,
        said.statement,
        said.kind,
        said.verdict,
        said.reason,
        trend,
        res.n_failed,
    )


def _words_of(kind: str, q) -> set[str]:
    table = verdict.QUANTILE_OF_LOWER if kind == "lower" and q != "mean" else verdict.WORDS[kind]
    return set(table.values())


def assert_rate(method: str, *, accept: Iterable[str] = (), **kwargs: Any) -> RateCheck:
    """:func:`check_rate`, then ``AssertionError`` (one line: slope, interval, exponent, verdict) unless the
    verdict is the agreeing word of the claim's kind (*consistent* for a bare exponent, *within (tight)* for an
    upper bound), or one of the words in ``accept`` (e.g. ``accept=("within (not tight)",)``: a loose upper bound
    passes too). Returns the row."""
    row = check_rate(method, **kwargs)
    accept = tuple(accept)
    possible = _words_of(row.kind, row.quantile) if row.kind in verdict.WORDS else set()
    bad = [w for w in accept if w not in possible]
    if bad:
        raise ValueError(
            f"accept must hold words of a {row.kind!r} claim ({', '.join(sorted(possible))}), got {bad[0]!r}"
        )
    if not (row.agreeing or row.verdict in accept):
        raise AssertionError(row.message())
    return row


# -- a researcher's claims in their own file (the studies' --claims) ---------------------------------------

_LOADED: dict[str, tuple[str, tuple[theory.Claim, ...]]] = {}  # resolved path → (sha256, its claims)


def load_claims(path: str | Path) -> tuple[theory.Claim, ...]:
    """The Claims a Python file states: its ``CLAIMS`` (a tuple or list of ``synthclip.theory.Claim``) when it
    defines one, else every module-level Claim in the order defined. A missing file, an error while running
    it, or a file with no Claim is a one-line ValueError naming the file."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise ValueError(f"claims {path}: no such file")
    text = resolved.read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    seen = _LOADED.get(str(resolved))
    if seen is not None and seen[0] == digest:
        return seen[1]
    name = f"_synthclip_claims_{resolved.stem}_{digest[:12]}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise ValueError(f"claims {path}: not a Python file Python can load")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        msg = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"claims {path}: {type(err).__name__} while loading: {msg}") from None
    found = getattr(module, "CLAIMS", None)
    if found is None:
        found = [v for v in vars(module).values() if isinstance(v, theory.Claim)]
    if not isinstance(found, (tuple, list)) or not all(isinstance(c, theory.Claim) for c in found):
        raise ValueError(f"claims {path}: CLAIMS must be a tuple of synthclip.theory.Claim")
    if not found:
        raise ValueError(f"claims {path}: defines no synthclip.theory.Claim (state them as CLAIMS = (Claim(...), ...))")
    claims = tuple(found)
    _LOADED[str(resolved)] = (digest, claims)
    return claims


#: The columns of a study's judged --claims rows.
CLAIM_COLUMNS = (
    "method",
    "metric",
    "quantile",
    "alpha",
    "noise_alpha",
    "slope",
    "ci_low",
    "ci_high",
    "kmin",
    "kmax",
    "n_traj",
    "n_failed",
    "theory",
    "kind",
    "statement",
    "theory_source",
    "verdict",
    "reason",
    "trend",
)


def judge_claims(
    slopes: pd.DataFrame,
    claims: Sequence[theory.Claim],
    *,
    setting: str,
    method_of: Callable[[str], str],
    schedule_of: Callable[[str], str | None],
    confidence: float,
    allowance: float = verdict.RULE.allowance,
) -> pd.DataFrame:
    """Every judged row of a rate study (window "last decade", a quantile, not the mean) against each of the
    researcher's ``claims`` whose scope contains it (method, setting, metric, α, noise family, clip schedule:
    ``Claim.covers``), by the rule (:func:`judge_fit`, with the trend against the claim's own exponent).
    ``method_of`` and ``schedule_of`` map the study's labels to registry methods and clip schedules."""
    local = slopes[slopes["window"] != "last decade"]
    rows = []
    for _, r in slopes[(slopes["window"] == "last decade") & (slopes["quantile"] != "mean")].iterrows():
        family = theory.noise_family(r["noise"], r["structure"])
        for c in claims:
            if (
                c.exponent is None
                or c.kind not in JUDGED_KINDS
                or not c.covers(
                    method_of(r["method"]),
                    setting,
                    r["metric"],
                    r["alpha"],
                    noise=family,
                    schedule=schedule_of(r["method"]),
                )
            ):
                continue
            same = local[
                (local["method"] == r["method"])
                & (local["metric"] == r["metric"])
                & (local["quantile"] == r["quantile"])
                & (local["alpha"] == r["alpha"])
                & (local["noise_alpha"] == r["noise_alpha"])
            ].sort_values("kmax", ascending=False)
            said, trend = judge_fit(
                (r["slope"], r["ci_low"], r["ci_high"]),
                list(same[["kmin", "kmax", "slope", "ci_low", "ci_high"]].itertuples(index=False)),
                c,
                r["alpha"],
                q=float(r["quantile"]),
                n_traj=int(r["n_traj"]),
                n_failed=int(r["n_failed"]),
                confidence=confidence,
                allowance=allowance,
                noise_alpha=r["noise_alpha"],
                reason=r["fit_reason"],
            )
            rows.append({**{col: r[col] for col in CLAIM_COLUMNS[:12]}, **said.as_dict(), "trend": trend})
    frame = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    frame["theory"] = frame["theory"].astype(float)
    return frame


# -- known-answer data: laws whose quantiles, tail index or order statistics are exact --------------------------


def pareto(rng: np.random.Generator, a: float, size) -> np.ndarray:
    """Pareto(a) on [1, inf): P(X > x) = x^(−a), the q-quantile (1 − q)^(−1/a), the tail index a."""
    return (1.0 - rng.random(size)) ** (-1.0 / a)  # 1 − U lies in (0, 1]


def polylog(rng: np.random.Generator, s: float, size) -> np.ndarray:
    """X = (−log U)^s: the (1 − δ)-quantile is exactly log(1/δ)^s."""
    return (-np.log1p(-rng.random(size))) ** s


def delta_law_sample(rng: np.random.Generator, law: str, s: float, n: int) -> np.ndarray:
    """n draws whose (1 − δ)-quantile is exactly δ^(−s) (``law="poly"``: Pareto(1/s)) or log(1/δ)^s (polylog)."""
    return pareto(rng, 1.0 / s, n) if law == "poly" else polylog(rng, s, n)


def symmetric_stable(rng: np.random.Generator, alpha: float, size) -> np.ndarray:
    """Standard symmetric α-stable by Chambers–Mallows–Stuck (exact in law; independent of the engine's sampler)."""
    v = np.pi * (rng.random(size) - 0.5)
    w = rng.standard_exponential(size)
    return np.sin(alpha * v) / np.cos(v) ** (1.0 / alpha) * (np.cos(v - alpha * v) / w) ** ((1.0 - alpha) / alpha)


def ar1_gaussian(rng: np.random.Generator, shape: tuple, phi: float) -> np.ndarray:
    """Stationary Gaussian AR(1) along the last axis (lag-1 correlation phi): every entry exactly N(0, 1)."""
    g = rng.standard_normal(shape)
    y = np.empty(shape)
    y[..., 0] = g[..., 0]
    w = math.sqrt(1.0 - phi * phi)
    for j in range(1, shape[-1]):
        y[..., j] = phi * y[..., j - 1] + w * g[..., j]
    return y


def rotation_gaussian(rng: np.random.Generator, n: int, k: np.ndarray) -> np.ndarray:
    """``Y_i(k) = cos θ_k G_i + sin θ_k H_i`` with θ_k rising from 0 to π over the last decade of k.

    Every entry is exactly N(0, 1); neighbouring checkpoints are strongly correlated and the two ends of
    the fit window perfectly anti-correlated, so the quantiles' errors form a smooth curve across k that a
    resampling ignoring the correlation cannot see.
    """
    lk, window = np.log(k), math.log(10.0) * stats.DEFAULT_WINDOW_DECADES
    theta = np.pi * np.clip((lk - (lk.max() - window)) / window, 0.0, 1.0)
    g = rng.standard_normal((n, 2))
    return g[:, :1] * np.cos(theta) + g[:, 1:] * np.sin(theta)


def pareto_of_gaussian(y: np.ndarray, a: float) -> np.ndarray:
    """F_a^(−1)(Φ(y)) for Pareto(a): P(Y > y)^(−1/a), the upper tail without cancellation."""
    return special.ndtr(-y) ** (-1.0 / a)


def exact_order_stats(rng: np.random.Generator, n: int, ranks, law: str, s: float, size: int) -> np.ndarray:
    """``size`` data sets' order statistics ``X_(r)`` at ``ranks`` (ascending) of n draws of Pareto(1/s)
    (``law="poly"``: the (1 − δ)-quantile is δ^(−s)) or of polylog(s), without drawing the n values.

    ``X_(r) = F^(−1)(U_(r))`` with ``1 − U_(r)`` the (n − r + 1)-th smallest of n uniforms, which is
    ``G_(n−r+1) / G_(n+1)`` for G the partial sums of n + 1 standard exponentials (Rényi); the partial sums
    at the needed indices are sums of Gamma variates over the gaps. Exact in law (tested against sorted draws).
    """
    m = n - np.asarray(ranks, dtype=np.int64) + 1  # descending, as ranks ascend
    gaps = np.diff(np.concatenate([[0], m[::-1], [n + 1]])).astype(np.float64)
    sums = np.cumsum(rng.gamma(gaps, size=(size, gaps.size)), axis=1)
    upper = (sums[:, :-1] / sums[:, -1:])[:, ::-1]  # 1 − U_(r), in the order of ranks
    return upper ** (-s) if law == "poly" else (-np.log(upper)) ** s


def tail_sample(
    rng: np.random.Generator,
    law: str,
    a: float,
    n: int,
    d: int | None = None,
    *,
    signed: bool = False,
    mixed_scales: bool = False,
    norm: bool = False,
    pooled: bool = False,
) -> np.ndarray:
    """Data with tail index ``a``, on the shapes tail estimators are applied to: scalars (n,) or vectors (n, d)
    of i.i.d. coordinates, each symmetric α-stable (``law="stable"``), Pareto(a) (``signed``: a random sign,
    symmetric but not stable), Student-t with a degrees of freedom, or Gaussian (no tail: :func:`tail_index` 2).
    ``mixed_scales`` multiplies coordinate j by 10^(3j/(d−1) − 1.5) (three decades, as a network's layers);
    ``norm`` takes each vector's Euclidean norm (the tail index of ‖X‖ is the coordinates'); ``pooled`` flattens
    the vectors into one scalar sample of n·d (Şimşekli et al.'s practice: with mixed scales, a scale mixture)."""
    shape = (n,) if d is None else (n, d)
    if law == "stable":
        x = symmetric_stable(rng, a, shape)
    elif law == "pareto":
        x = pareto(rng, a, shape)
        if signed:
            x = np.where(rng.random(shape) < 0.5, -x, x)
    elif law == "student":
        x = rng.standard_t(a, shape)
    elif law == "gaussian":
        x = rng.standard_normal(shape)
    else:
        raise ValueError(f"unknown tail law {law!r}")
    if mixed_scales:
        x = x * 10.0 ** np.linspace(-1.5, 1.5, x.shape[1])
    if norm:
        x = np.linalg.norm(x, axis=1)
    if pooled:
        x = x.reshape(-1)
    return x


def tail_index(law: str, a: float) -> float:
    """The stability index of :func:`tail_sample`'s law: ``a``, or 2 for Gaussian data (the α at which the claims
    and Mohammadi's estimator read it; Hill's and the moment estimator's target on Gaussian data is +inf, as the
    tails study's ``target`` says)."""
    return 2.0 if law == "gaussian" else float(a)
