"""``lower-bound``: Theorem 5 of Zhang et al. 2020 — no method beats k^(−2(α−1)/α) on the randomised spike pair.

Setting: Theorem 5's pair of 1-strongly convex quadratics in d = 1 (Appendix F) whose two-point spike noise
differs only in the spike's frequency p(1 ± δ), p = --spike-events/K, the sign drawn per trajectory; every
horizon K is its own run, and f_ν(x_K) − f_ν* is fitted against log K on the mean over the pair.
Methods: every method of the rates study with its settings, and --plugin methods.
Verdicts: synthclip.verdict.RULE, the same for every study (the words of a lower bound, on the mean).

Full description: docs/studies/lower-bound.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import findings, noise, theory
from .. import methods as method_registry
from .._rng import derive_seed
from ..engine import simulate
from ..harness import report
from ..harness.base import (
    FitParams,
    HorizonParams,
    SimulationParams,
    Study,
    StudyError,
    TheoremAlphaParams,
    check_alpha,
    check_methods,
    fields_of,
    option,
    register,
    with_registered,
)
from ..harness.horizons import horizon_scoreboard, horizon_tables, plot_horizons
from ..harness.rate_methods import NEAR_MISS, RATE_METHODS, RateMethodParams, method_fields

# the rates study's near-miss control is defined by the strongly convex upper bound's variance balance; Theorem
# 5 bounds every algorithm of its class, so the control adds nothing here
LOWER_BOUND_METHODS = {k: v for k, v in RATE_METHODS.items() if k != NEAR_MISS}

SETTING = "strongly_convex"
OUTPUTS = ("f", "f_avg", "f_unif")


@dataclass
class LowerBoundParams(FitParams, SimulationParams, TheoremAlphaParams, HorizonParams, RateMethodParams):
    scale: float = option(1.0, "spike scale s: the spike is s·p^(−1/α)", gt=0.0)
    spike_events: float = option(1.0, "expected spikes per run: p = spike_events / K (Theorem 5: p ~ 1/K)", gt=0.0)
    methods: list = option(
        list(LOWER_BOUND_METHODS),
        "methods to run (the rates study's settings; a --plugin's methods at their own defaults)",
    )
    metric: str = option(
        "f", "output judged: f (last iterate), f_avg (Theorem 4's weighted average), f_unif", choices=OUTPUTS
    )
    tail_c: float = option(10.0, "the 'tail' statistic is the (1 − tail_c/K)-quantile", gt=0.0)
    tilt: float = option(
        0.5, "δ of Theorem 5's randomised pair: spike probabilities p(1 ± δ), optima ∓δ·S", gt=0.0, lt=1.0
    )


@register
class LowerBound(Study):
    name = "lower-bound"
    plugins = True  # --methods takes any registered method: --plugin, --method-param
    summary = "every method's error on Theorem 5's randomised spike pair (p ~ 1/K) vs the bound K^(−2(α−1)/α)"
    Params = LowerBoundParams
    defaults = {"horizons": [100, 300, 1000, 3000, 10000]}
    quick = {"n_traj": 2000, "horizons": [100, 300, 1000], "n_boot": 200}
    tables = ("quantiles", "slopes", "instances")

    def validate(self, p) -> None:
        check_alpha("spike", p.alpha)
        check_methods("methods", p.methods, with_registered(LOWER_BOUND_METHODS))  # a --plugin's methods too
        if not p.spike_events * (1.0 + p.tilt) < min(p.horizons):
            raise StudyError(
                f"--spike-events must be < the smallest horizon {min(p.horizons)} / (1 + --tilt) "
                f"(p·(1 + tilt) < 1 with p = events/K), got {p.spike_events!r}"
            )
        if not p.tail_c < min(p.horizons):
            raise StudyError(
                f"--tail-c must be < the smallest horizon {min(p.horizons)} (level 1 − c/K > 0), got {p.tail_c!r}"
            )

    def cells(self, p) -> list[dict]:
        cells = []
        for alpha in p.alpha:
            for label in p.methods:
                run = method_fields(label, p)
                for K in sorted(set(p.horizons)):
                    cell = {"study": self.name, "label": label, **run}
                    cell.update(alpha=float(alpha), K=int(K), spike_prob=p.spike_events / K)
                    cell.update(fields_of(p, "scale", "tilt", "n_traj", "seed", "x0", "metric"))
                    cells.append(cell)
        return cells

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        method_registry.ensure_plugin(cell)
        K, n = cell["K"], cell["n_traj"]
        signs = noise.pair_signs(cell["seed"], n)
        value, failed, x_star = np.empty(n), np.zeros(n, dtype=bool), np.empty(n)
        alpha = float(cell["alpha"])
        for sign in (1, -1):
            rows = np.flatnonzero(signs == sign)
            if rows.size == 0:
                continue
            inst = noise.spike_pair(cell["alpha"], cell["scale"], cell["spike_prob"], cell["tilt"], sign)
            quadratic = {"problem": "quadratic", "dim": 1, "mu": 1.0, "L": 1.0, "x0": cell["x0"] - inst.x_star}
            spikes = {"noise": "spike", "alpha": cell["alpha"], "scale": inst.scale, "spike_prob": inst.spike_prob}
            run = {"steps": K, "n_traj": rows.size, "seed": derive_seed(cell["seed"], "pair", inst.label)}
            run.update(checkpoints=[K], threads=threads, radius=cell["radius"])
            res = simulate(cell["method"], **quadratic, **spikes, **run, **cell["method_params"])
            value[rows] = res.metric(cell["metric"])[:, -1]
            failed[rows] = res.failed
            x_star[rows] = inst.x_star
            alpha = res.alpha
        frame = {"study": self.name, "method": cell["label"], "alpha": alpha, "K": K}
        frame.update(spike_prob=cell["spike_prob"], metric=cell["metric"], trajectory=np.arange(n))
        instance = np.where(signs == 1, noise.PAIR_LABELS[1], noise.PAIR_LABELS[-1])
        frame.update(instance=instance, x_star=x_star, value=value, failed=failed)
        return {"values": pd.DataFrame(frame)}

    def analyze(self, p, tables):
        tail = {"tail": lambda K, c=p.tail_c: 1.0 - c / K}  # the (1 − c/K)-quantile at every horizon K
        quantiles, slopes = horizon_tables(tables["values"], p, theory_of=_theory, extra_levels=tail, judge_mean=True)
        return {"quantiles": quantiles, "slopes": slopes, "instances": instance_table(tables["values"])}

    def report(self, tables, meta) -> str:
        p, slopes = meta["params"], tables["slopes"]
        lines = []
        for alpha, part in slopes.groupby("alpha"):
            t = theory.exponent("thm5", "*", SETTING, "f", alpha)
            ks = sorted(tables["quantiles"].loc[tables["quantiles"]["alpha"] == alpha, "K"].unique())
            tilt = p.get("tilt", 0.5)
            lines.append(
                f"lower-bound: Theorem 5's randomised pair f_ν = (x − x*_ν)²/2, spike samples α={alpha:g} "
                f"s={p['scale']:g}, p_ν = p(1 ± {tilt:g}) with p = {p['spike_events']:g}/K, x*_ν = ∓{tilt:g}·S; "
                f"output {p['metric']}, N={p['n_traj']} per cell, K = {', '.join(str(int(k)) for k in ks)}; "
                f"bound (Theorem 5, on the mean over the pair): K^{t:+.3f}"
            )
            inst = tables.get("instances")
            if inst is not None and not inst.empty:
                counts = inst[inst["alpha"] == alpha].drop_duplicates("instance").set_index("instance")["n_traj"]
                lines.append(
                    "instances (a fair coin per trajectory, the same in every cell): "
                    + ", ".join(f"{k}: {int(v)}" for k, v in counts.items())
                    + f" of {int(counts.sum())}; judged on the mixture (Yao: the worse instance is no better)"
                )
            lines.append(report.rule_line(p, part, horizon=True))
            lines.append(lower_bound_table(part))
            lines.append(
                "Theorem 5 bounds E f(x_K) − f* (the mean over the pair). A spike lands in the last steps "
                f"with probability ~1/K, which moves the mean and the 'tail' (1 − {p['tail_c']:g}/K)-"
                "quantile; each instance's median sits at the bound through the drift that pays back the "
                "spike's mean (table instances), while the mixture's median lies at the border between the "
                "two instances' typical errors and is noisy. E f ≥ (1−q)·Q_q, so a quantile that respects "
                "the bound certifies the mean's bound."
            )
            lines.append(
                f"conclusion (α={alpha:g}), Theorem 5 on the mean: "
                + findings.lower_bound_conclusion(part[part["statistic"] == "mean"])
                + "."
            )
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return horizon_scoreboard(tables, meta)

    def plot(self, tables, meta):
        q = tables["quantiles"]
        metric = meta.get("params", {}).get("metric", "f")
        panels = [(m, metric) for m in dict.fromkeys(q["method"])]
        title = "lower-bound (Theorem 5, spike noise p ~ 1/K); dashed: bound through the mean"
        return plot_horizons(tables, meta, panels, ylabel={metric: f"{metric} − f* at K"}, anchor="mean", title=title)


def _theory(method: str, metric: str, alpha: float):
    """Theorem 5 judges every method on its randomised spike pair (the mixture), whatever the output."""
    return theory.claim("thm5", "*", SETTING, metric)


def instance_table(values: pd.DataFrame) -> pd.DataFrame:
    """Per method, α, metric, horizon and instance of the pair: the number of trajectories, the optimum, the
    mean and the median of the error (shown, not judged: Theorem 5 bounds the mixture). Failed runs count +inf."""
    v = values.assign(value=np.where(values["failed"].to_numpy(bool), np.inf, values["value"].to_numpy(float)))
    with np.errstate(invalid="ignore", over="ignore"):
        out = (
            v.groupby(["method", "alpha", "metric", "K", "instance"], sort=False)
            .agg(
                n_traj=("value", "size"),
                x_star=("x_star", "first"),
                mean=("value", "mean"),
                median=("value", "median"),
                n_failed=("failed", "sum"),
            )
            .reset_index()
        )
    out.insert(0, "study", values["study"].iloc[0] if len(values) else "lower-bound")
    return out


def lower_bound_table(slopes: pd.DataFrame) -> str:
    """One line per method: the mean's slope and verdict, then the median's and the tail's slope."""
    rows = [
        {"by": {r["statistic"]: r for r in part.to_dict("records")}, **part.iloc[0][["method", "n_failed", "n_traj"]]}
        for _, part in slopes.groupby("method", sort=False)
    ]

    def of(statistic: str, text):
        return lambda r: text(r["by"][statistic]) if statistic in r["by"] else "-"

    columns = [
        ("method", "method"),
        ("mean: slope [CI]", of("mean", report.ci_text)),
        ("verdict", of("mean", lambda r: r["verdict"])),
        ("median: slope [CI]", of("0.5", report.ci_text)),
        ("verdict", of("0.5", lambda r: r["verdict"])),
        ("tail: slope", of("tail", lambda r: report.number(r["slope"]))),
        ("failed", report.failed),
    ]
    return report.table(rows, columns)
