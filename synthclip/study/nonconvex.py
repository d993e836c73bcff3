"""``nonconvex``: Theorem 2 of Zhang et al. 2020 — GClip on a smooth non-convex function, rate in the horizon K.

Setting: f(x) = Σ_i x_i²/(1 + x_i²) (problem ``nonconvex``, all weights 1: L-smooth with L = 2, non-convex,
f* = 0 at x* = 0), start x0 in every coordinate, heavy-tailed noise of tail index α (default symmetric
α-stable, radial, so Assumption 1 holds with a d-free σ = the noise scale). Theorem 2 tunes a *constant*
clip level τ and step η to the horizon K, so every horizon K is its own cell (its own run of K steps):

    τ_K = tau0 · σ · K^(1/(3α−2)),        η_K = min{1/(4L), lr0 · σ^α / (L τ_K^α)}.

Why these, and not the schedule as printed: the seed prints τ = max{2, 48^(1/(α−1)) σ^(α/(α−1)), 8σ,
(F0/(σ²K))^(α/(3α−2)) / L^((2α−2)/(3α−2))} and η = min{1/(4L), σ^α/(Lτ^α), 1/(24Lτ)}. Read literally the
K-term *decreases* in K, so the max picks a K-free constant and nothing converges in K: a typo. The proof's
balance is the descent term F0/(ηK) = F0 L τ^α/(σ^α K) (with η = σ^α/(Lτ^α), the binding term of the min
once τ^(α−1) ≥ 24σ^α) against the clipping bias² and the clipped variance, both ~ σ^(2α) τ^(2−2α). Equal
when τ^(3α−2) ∝ K: τ ∝ K^(1/(3α−2)), η ∝ K^(−α/(3α−2)) (the printed exponent α/(3α−2) is η's, i.e. τ^α's),
and then E min{‖∇f‖, ‖∇f‖²} = O(K^(−2(α−1)/(3α−2))), the theorem's rate (Remark 3). The constant floors
of the max (48^(1/(α−1)) σ^(α/(α−1)) = 2304 at α = 1.5) and the 1/(24Lτ) term of the min are dropped: they
are worst-case constants that would make τ and η K-free over every horizon a simulation can reach, so
only the K-dependence is kept, with tunable constants tau0 and lr0 (default 1). The control method
``gclip-inverted`` is a control, not Theorem 2 in any reading: GClip with the inverted exponent of Theorem 2's
τ, τ ∝ K^(α/(3α−2)) (the printed K-term (F0/(σ²K))^(α/(3α−2)) with its fraction inverted; α/(3α−2) is η's
exponent, not τ's) instead of K^(1/(3α−2)), and the same η formula; it stalls, since ηK then grows only like
K^((α−1)(2−α)/(3α−2)) (K^0.1 at α = 1.5). No theory entry covers its schedule, so its rows read "none".

The methods after the seeds (docs/theory.md, "Sources") run on the same cells: ``nsgd_m`` (normalized SGD with momentum, Liu &
Zhou ICLR 2025, in expectation), ``clip_nsgd_m`` (its clipped version, Cutkosky & Mehta NeurIPS 2021, with high
probability), both bounding (1/K) Σ ‖∇f(x_k)‖ by K^(−(α−1)/(3α−2)) (so grad_norm_avg and, through min ≤ average,
grad_norm_min are judged; thm2_lhs is not their statement), and ``signsgd_m`` (Kornilov et al. 2025), whose
momentum theorem's exponent is not in the text available here: theory "none". Their β, η (and τ) are constant
and tuned to K: 1 − β_K = K^(−α/(3α−2)), η_K = lr0·R·K^(−(2α−1)/(3α−2)) with R = |x0|√d the start's
distance, τ_K = tau0·σ·K^(1/(3α−2)), the balance of the analyses' terms derived here (the papers' constants
are not available).

Quantities, per trajectory at horizon K (averages over k are taken at M = --n-avg equally spaced k ≤ K,
an unbiased estimate of the average over every k ≤ K):
  grad_norm_min  min_{k≤K} ‖∇f(x_k)‖ (the engine's metric; what this study was asked to fit), theory
                 K^(−(α−1)/(3α−2)) (claim thm2);
  thm2_lhs       (1/K) Σ_k min{‖∇f(x_k)‖, ‖∇f(x_k)‖²}: Theorem 2's own left-hand side, theory K^(−2(α−1)/(3α−2))
                 (the seed's display prints 3α−1 in the denominator; Remark 3 and the balance above give 3α−2);
  grad_norm_avg  (1/K) Σ_k ‖∇f(x_k)‖: Remark 3's E‖∇f(x)‖ for x drawn uniformly among the iterates, theory
                 K^(−(α−1)/(3α−2)) as an upper bound;
  grad_norm      ‖∇f(x_K)‖ at the last iterate (reported; no theorem speaks about it).
The min over k is NOT Theorem 2's quantity. min_k ≤ average, so the upper bound holds for it too, but
the min of K correlated draws gains an extreme-value factor (in d dimensions roughly (effective number of
draws)^(−1/d)), so it decays faster than the average; in d = 1 the iterate crosses 0 and the min decays
like K^(−1) or faster. Expect "faster" for it. The average of ‖∇f‖ also decays faster than its bound at
moderate K: the descent from x0 lasts ~1/η ∝ K^(α/(3α−2)) steps, so it weighs ∝ K^(−2(α−1)/(3α−2)) in the
average, which beats the stationary K^(−(α−1)/(3α−2)) only asymptotically; in min{‖∇f‖, ‖∇f‖²} both parts
scale alike (that is the schedule's balance), so thm2_lhs is the quantity whose rate the data could match
(measured at K ≤ 10^4 it decays like K^−0.377, slower than −0.4: the rule reads 'violates').

Verdict rule: ``synthclip.verdict.RULE``, fixed in code before any run and the same for every study: for each
method, quantity and statistic (the --quantiles and the mean), the slope of log(statistic at K) against log K
over the horizons in the last decade [K_max/10, K_max], with a bootstrap interval at --confidence (whole
trajectories resampled, the same rows in every cell; no allowance: --allowance is 0 unless changed, and the rule
line says so), worded by the kind of the claim that covers the row. Claims are looked up with the row's clip
schedule (SCHEDULE_NAMES): Theorem 2 covers only ``gclip``, the schedule it prescribes, and judges its three
quantities as an *upper* bound ("within (tight)" needs the interval narrower than the resolution, else
"inconclusive"; "within (not tight)", "violates"); grad_norm_min through min_k ≤ average; Theorem 6 is a lower
bound on its own instance, which is not run here, so it judges nothing. The control ``gclip-inverted`` runs a
schedule no entry covers: its rows read "none". Means are reported, never judged.
Conclusion for GClip at each α, read off the verdict words of its judged quantile rows only
(``findings.claim_conclusion``): the count of rows by word; "not upheld" if any row violates; "upheld" only if
every row that carries a verdict is within the bound; "undecided" when none violates but some are
pre-asymptotic, inconclusive or a limit case; then every row grouped by its word. The control's rows are
counted beside it (all "none") and take no part in it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import findings, theory, verdict
from ..engine import simulate
from .horizons import (_is_level, horizon_matrix, horizon_scoreboard, horizon_tables,  # noqa: F401
                       horizon_verdict_table, plot_horizons, verdict_table)
from .base import (FitParams, HorizonParams, NoiseParams, SimulationParams, Study, TheoremAlphaParams, check_alpha,
                   check_choice, check_methods, option, register)

SETTING = "nonconvex"
METRICS = ("grad_norm_min", "thm2_lhs", "grad_norm_avg", "grad_norm")
JUDGED = ("grad_norm_min", "thm2_lhs", "grad_norm_avg")
NOISES = ("stable", "pareto", "gaussian")
SMOOTHNESS = 2.0  # sup |φ''| of φ(x) = x²/(1+x²): L of the problem with unit weights

# label → exponent of K in τ_K (as a function of α); both use η_K = min{1/(4L), lr0 σ^α/(L τ_K^α)}.
SCHEDULES = {
    "gclip": lambda a: 1.0 / (3.0 * a - 2.0),
    "gclip-inverted": lambda a: a / (3.0 * a - 2.0),  # control: the exponent inverted
}


#: label → the clip schedule it runs, in theory's terms (``Claim.schedule``): only ``gclip`` runs the one Theorem 2
#: prescribes (theory.THM2_SCHEDULE), so only its rows are judged by Theorem 2; ``gclip-inverted`` runs another
#: schedule, which no entry covers (theory "none"). The momentum methods: clip_nsgd_m clips at τ ∝ K^(1/(3α−2)),
#: nsgd_m and signsgd_m do not clip (None); their entries name no schedule.
SCHEDULE_NAMES = {
    "gclip": theory.THM2_SCHEDULE,
    "gclip-inverted": "horizon:alpha/(3alpha-2)",
    "nsgd_m": None,
    "clip_nsgd_m": "horizon:1/(3alpha-2)",
    "signsgd_m": None,
}


def schedule_of(label: str):
    """The clip schedule a label runs (SCHEDULE_NAMES), passed to theory.find with every row."""
    return SCHEDULE_NAMES[label]


def schedule(label: str, alpha: float, K: int, *, tau0: float, lr0: float, sigma: float) -> tuple[float, float]:
    """(τ_K, η_K) of the module docstring for a horizon K."""
    tau = tau0 * sigma * K ** SCHEDULES[label](alpha)
    lr = min(1.0 / (4.0 * SMOOTHNESS), lr0 * sigma ** alpha / (SMOOTHNESS * tau ** alpha))
    return tau, lr


# The methods after the seeds (synthclip/methods_extra.py), judged by their own theory entries: β, η
# (and τ) constant and tuned to K by the balance of their analyses, derived here (theory's _TUNED note; the
# papers' constants are not in the text available): 1 − β_K = K^(−α/(3α−2)), η_K = lr0·R·K^(−(2α−1)/(3α−2)),
# τ_K = tau0·σ·K^(1/(3α−2)), R = ‖x0 − x*‖ = |x0|√d: a normalized (or sign) step moves η per step, so
# η_K·K = R·K^((α−1)/(3α−2)) covers the start at every horizon (unscaled, K = 100 did not reach x*). SignSGD-M gets the same β, η: its paper's momentum theorem is not available here (theory "none").
MOMENTUM = ("nsgd_m", "clip_nsgd_m", "signsgd_m")
LABELS = (*SCHEDULES, *MOMENTUM)
assert set(SCHEDULE_NAMES) == set(LABELS), "every label names its clip schedule"


def momentum_params(label: str, alpha: float, K: int, *, tau0: float, lr0: float, sigma: float,
                    distance: float) -> dict:
    """The registry parameters of a MOMENTUM label at horizon K (the comment above)."""
    params = {"lr": lr0 * distance * K ** (-(2 * alpha - 1) / (3 * alpha - 2)), "lr_schedule": "constant",
              "beta": 1.0 - K ** (-alpha / (3 * alpha - 2))}
    if label == "clip_nsgd_m":
        params.update(clip=tau0 * sigma * K ** (1 / (3 * alpha - 2)), clip_schedule="constant")
    return params


@dataclass
class NonconvexParams(FitParams, SimulationParams, NoiseParams, TheoremAlphaParams, HorizonParams):
    structure: str = option("radial", "vector noise: radial (Assumption 1, d-free σ) or iid per coordinate",
                            choices=("iid", "radial"))
    scale: float = option(1.0, "noise scale σ (also the σ of the schedule)", gt=0.0)
    dim: int = option(10, "dimension d (the min over k gains an extreme-value factor ~ draws^(−1/d))", low=1)
    methods: list = option(list(LABELS), "gclip (τ ∝ K^(1/(3α−2))), the control gclip-inverted (τ ∝ K^(α/(3α−2)), the "
                                         "inverted exponent of Theorem 2's τ), and the "
                                         "normalized/sign methods with momentum nsgd_m, clip_nsgd_m, signsgd_m")
    x0: float = option(1.0, "start x0 in every coordinate")
    tau0: float = option(1.0, "constant of τ_K = tau0 σ K^(1/(3α−2))", gt=0.0)
    lr0: float = option(1.0, "constant of η_K = min{1/(4L), lr0 σ^α/(L τ_K^α)}", gt=0.0)
    n_avg: int = option(64, "equally spaced k ≤ K averaged into grad_norm_avg", low=2)


@register
class Nonconvex(Study):
    name = "nonconvex"
    summary = "min_k ‖∇f(x_k)‖ and its average vs the horizon K for GClip on a non-convex f (Theorem 2)"
    Params = NonconvexParams
    defaults = {"noise": "stable", "n_traj": 1000}
    quick = {"n_traj": 200, "horizons": [100, 316, 1000], "n_boot": 200}
    tables = ("quantiles", "slopes")

    def validate(self, p) -> None:
        check_alpha(p.noise, p.alpha)
        check_choice("noise", p.noise, NOISES)
        check_methods("methods", p.methods, dict.fromkeys(LABELS))

    def cells(self, p) -> list[dict]:
        cells = []
        for alpha in p.alpha:
            for label in p.methods:
                for K in sorted(set(p.horizons)):
                    extra = {}
                    if label in MOMENTUM:
                        params = momentum_params(label, float(alpha), K, tau0=p.tau0, lr0=p.lr0, sigma=p.scale,
                                                 distance=abs(p.x0) * math.sqrt(p.dim))
                        tau, lr = params.get("clip", math.inf), params["lr"]
                        extra = {"method": label, "params": params}  # GClip's cells keep their cache keys
                    else:
                        tau, lr = schedule(label, float(alpha), K, tau0=p.tau0, lr0=p.lr0, sigma=p.scale)
                    cells.append({**extra,
                        "study": self.name, "label": label, "alpha": float(alpha), "K": int(K), "tau": tau,
                        "lr": lr, "noise": p.noise, "structure": p.structure, "scale": p.scale, "dim": p.dim,
                        "n_traj": p.n_traj, "seed": p.seed, "x0": p.x0, "n_avg": p.n_avg,
                    })
        return cells

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        K = cell["K"]
        # equally spaced k ≤ K: their mean of ‖∇f(x_k)‖ estimates the uniform average over k without bias
        ckpts = np.unique(np.round(np.linspace(1, K, min(cell["n_avg"], K))).astype(np.int64))
        params = cell.get("params", {"lr": cell["lr"], "lr_schedule": "constant", "clip": cell["tau"],
                                     "clip_schedule": "constant"})
        res = simulate(cell.get("method", "gclip"), problem="nonconvex", noise=cell["noise"], alpha=cell["alpha"],
                       scale=cell["scale"], structure=cell["structure"], dim=cell["dim"], steps=K,
                       n_traj=cell["n_traj"], seed=cell["seed"], checkpoints=ckpts, threads=threads,
                       x0=cell["x0"], **params)
        g = res.metric("grad_norm")
        with np.errstate(invalid="ignore", over="ignore"):
            columns = {
                "grad_norm_min": res.metric("grad_norm_min")[:, -1],
                "thm2_lhs": np.minimum(g, g * g).mean(axis=1),
                "grad_norm_avg": g.mean(axis=1),
                "grad_norm": g[:, -1],
            }
        frames = [pd.DataFrame({
            "study": self.name, "method": cell["label"], "alpha": res.alpha, "dim": res.dim, "K": K,
            "tau": cell["tau"], "lr": cell["lr"], "metric": metric, "trajectory": np.arange(res.n_traj),
            "value": values, "failed": res.failed,
        }) for metric, values in columns.items()]
        return {"values": pd.concat(frames, ignore_index=True)}

    def analyze(self, p, tables):
        quantiles, slopes = horizon_tables(tables["values"], p, theory_of=_theory)
        slopes.insert(slopes.columns.get_loc("method") + 1, "schedule", slopes["method"].map(SCHEDULE_NAMES))
        return {"quantiles": quantiles, "slopes": slopes}

    def report(self, tables, meta) -> str:
        p = meta["params"]
        slopes = tables["slopes"]
        q = tables["quantiles"]
        lines = []
        for alpha, part in slopes.groupby("alpha"):
            sched = q[(q["alpha"] == alpha)].drop_duplicates(["method", "K"])
            lines.append(
                f"nonconvex: GClip on f = Σ x_i²/(1+x_i²), d={p['dim']}, x0={p['x0']:g}, noise={p['noise']} "
                f"({p['structure']}) α={alpha:g} σ={p['scale']:g}, N={p['n_traj']} per horizon, "
                f"K = {', '.join(str(int(k)) for k in sorted(sched['K'].unique()))}")
            lines.append(verdict.RULE.describe(confidence=p["confidence"], allowance=p["allowance"],
                                               n_boot=p["n_boot"], power=verdict.resolution_line(
                                                   part.to_dict("records"))).replace("log k", "log K"))
            for method, s in sched.groupby("method"):
                beta = (f"; 1 − β_K = {', '.join(f'{k ** (-alpha / (3 * alpha - 2)):.3g}' for k in s['K'])}"
                        if method in MOMENTUM else "")
                lines.append(f"  {method}: τ_K = {', '.join(f'{t:.3g}' for t in s['tau'])}; "
                             f"η_K = {', '.join(f'{e:.3g}' for e in s['lr'])}{beta}")
            lines.append(horizon_verdict_table(part))
            lines.append("note: grad_norm_min = min_{k≤K} ‖∇f(x_k)‖ is not Theorem 2's quantity (an average over "
                         "k ≤ K); it is smaller and gains an extreme-value factor, so 'within (not tight)' is expected for it. "
                         "thm2_lhs = (1/K) Σ min{‖∇f‖, ‖∇f‖²} is the theorem's left-hand side; grad_norm_avg "
                         "includes the descent from x0, which fades faster than its bound (see --help).")
            lines.append(conclusion(part, alpha))
            lines.append(momentum_conclusion(part))
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return horizon_scoreboard(tables, meta)

    def plot(self, tables, meta):
        methods = list(dict.fromkeys(tables["quantiles"]["method"]))
        panels = [(m, metric) for m in methods for metric in METRICS]
        return plot_horizons(tables, meta, panels, ylabel=YLABELS, title="nonconvex (Theorem 2), GClip",
                             ncols=len(METRICS))


YLABELS = {"grad_norm_min": "min_k≤K ‖∇f(x_k)‖", "thm2_lhs": "avg_k≤K min{‖∇f‖, ‖∇f‖²}",
           "grad_norm_avg": "avg_k≤K ‖∇f(x_k)‖", "grad_norm": "‖∇f(x_K)‖"}


def _theory(method: str, metric: str, alpha: float):
    """The claim that judges a (method, metric) of this study, or None (theory "none"): looked up with the row's
    clip schedule, so Theorem 2 judges only rows on the schedule it prescribes (``gclip``), never the control."""
    if metric not in JUDGED:
        return None
    return theory.find(method if method in MOMENTUM else "gclip", SETTING, metric, alpha,
                       schedule=schedule_of(method))


# -- shared with lower_bound: statistics of per-trajectory values across horizons ---------------------------


def _quantile_rows(slopes: pd.DataFrame, method: str) -> pd.DataFrame:
    return slopes[(slopes["method"] == method) & (slopes["statistic"] != "mean") & slopes["metric"].isin(JUDGED)]


def conclusion(slopes: pd.DataFrame, alpha: float) -> str:
    """Theorem 2 at one α, from the verdict words of GClip's judged quantile rows (``findings.claim_conclusion``:
    not upheld if any row violates, upheld only if every row with a verdict is within, undecided otherwise),
    then the control's rows, which no entry covers."""
    g = _quantile_rows(slopes, "gclip")
    if g.empty:
        said = "GClip on Theorem 2's schedule not run"
    else:
        bounds = ", ".join(f"{m} K^{t:+.3f}" for m, t in g.drop_duplicates("metric")[["metric", "theory"]]
                           .itertuples(index=False) if pd.notna(t))
        said = f"Theorem 2 (thm2: {bounds}) on its schedule (gclip): " + findings.claim_conclusion(g)
    control = _quantile_rows(slopes, "gclip-inverted")
    if not control.empty:
        tally = ", ".join(f"{n} {w}" for w, n in findings.counts_by_word(control).items())
        medians = ", ".join(f"{r.metric} K^{r.slope:+.3f}" for r in control[control["statistic"] == "0.5"].itertuples())
        said += (f". Control gclip-inverted (τ ∝ K^(α/(3α−2)), the inverted exponent of Theorem 2's τ): {tally} "
                 f"(no theory entry covers its schedule); medians reported: {medians}")
    return f"conclusion (α={alpha:g}): {said}."


def momentum_conclusion(slopes: pd.DataFrame) -> str:
    """The methods after the seeds, each against its own entry by the same rule as Theorem 2's conclusion
    (``findings.claim_conclusion``); "none" when no entry covers it."""
    parts = []
    for method in MOMENTUM:
        g = _quantile_rows(slopes, method)
        if g.empty:
            continue
        judged = g[g["verdict"] != verdict.NONE]
        if judged.empty:
            parts.append(f"{method}: no theory entry covers it (none)")
            continue
        parts.append(f"{method} vs {judged['statement'].iloc[0]} K^{judged['theory'].iloc[0]:+.3f}: "
                     + findings.claim_conclusion(judged))
    return "methods after the seeds: " + ("; ".join(parts) if parts else "not run") + "."


