"""``convex-rates``: plain projected SGD on a nonsmooth convex f, rate in the horizon T (Fatkhullin et al. 2025).

Setting: f = |x| (problem ``abs``: convex, 1-Lipschitz, not strongly convex), x0 = 1, projection onto a ball of
radius R around x*, symmetric noise of tail index a > p. Each horizon T is its own run with a constant step tuned
to it, η_T = lr0·|x0|/T^(1/p) (the balance of D²/(ηT) against η σ^p-type terms; the paper's constants are not in the
text available), output the uniform average x̄_T. The quantiles of f(x̄_T) − f* are fitted against log T and
judged against the convex complexity O(ε^(−p/(p−1))), i.e. the exponent −(p−1)/p (−1/3 at p = 1.5). Control:
the same rows asked for the strongly convex exponent −2(p−1)/p, which a convex, not strongly convex problem need
not reach: it must read "violates".

Full description: docs/studies/convex-rates.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import findings, theory
from ..engine import simulate
from ..harness.base import (
    FitParams,
    HorizonParams,
    MomentTailParams,
    SimulationParams,
    Study,
    check_moment_tail,
    check_start_inside,
    fields_of,
    moment_tail_fields,
    option,
    register,
)
from ..harness.horizons import horizon_scoreboard, horizon_tables, horizon_verdict_table, plot_horizons
from ..harness.rate_tables import final_values

CONTROL = "sgd-control"  # the same runs, judged against the strongly convex exponent


def _theory(method: str, metric: str, alpha: float):
    claim = theory.claim("fatkhullin-convex", "sgd", "convex", "f_unif")
    if method != CONTROL:
        return claim
    return theory.control(
        claim,
        "the strongly convex exponent, asked of a convex problem",
        label="sc-exponent",
        formula="T^(−2(p−1)/p)",
        exponent=lambda a: -2.0 * (a - 1.0) / a,
    )


@dataclass
class ConvexRatesParams(FitParams, SimulationParams, MomentTailParams, HorizonParams):
    alpha: float = option(
        1.5, "p of the theorem (bounded p-th moment); sets the exponent and the step", gt=1.0, high=2.0
    )
    x0: float = option(1.0, "start x0 (distance |x0| from x*)")
    radius: float = option(2.0, "projection radius around x* ((projected) SGD)", gt=0.0)
    lr0: float = option(1.0, "constant of the step η_T = lr0·|x0|/T^(1/p)", gt=0.0)


@register
class ConvexRates(Study):
    name = "convex-rates"
    summary = "projected SGD on f = |x|: quantiles of f(x̄_T) vs T against T^(−(p−1)/p) (Fatkhullin et al. 2025)"
    Params = ConvexRatesParams
    defaults = {"noise": "pareto", "n_traj": 20_000, "horizons": [100, 316, 1000, 3162, 10000, 31623]}
    quick = {"n_traj": 2000, "horizons": [100, 316, 1000], "n_boot": 200}
    tables = ("quantiles", "slopes")

    def validate(self, p) -> None:
        check_moment_tail(p)
        check_start_inside(p)

    def cells(self, p) -> list[dict]:
        return [
            {
                "study": self.name,
                "K": int(K),
                "lr": p.lr0 * abs(p.x0) / K ** (1.0 / p.alpha),
                **moment_tail_fields(p),
                **fields_of(p, "n_traj", "seed", "x0", "radius"),
            }
            for K in sorted(set(p.horizons))
        ]

    def run_cell(self, cell, *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        K = cell["K"]
        res = simulate(
            "sgd",
            problem="abs",
            noise=cell["noise"],
            alpha=cell["tail"],
            steps=K,
            n_traj=cell["n_traj"],
            seed=cell["seed"],
            x0=cell["x0"],
            radius=cell["radius"],
            checkpoints=[K],
            threads=threads,
            lr=cell["lr"],
            lr_schedule="constant",
        )
        fields = {"study": self.name, "method": "sgd", "alpha": cell["alpha"], "K": K, "tau": np.inf, "lr": cell["lr"]}
        frame = final_values(res, "f_unif", {**fields, "metric": "f_unif"})
        return {"values": frame}

    def analyze(self, p, tables):
        values = tables["values"]
        both = pd.concat([values, values.assign(method=CONTROL)], ignore_index=True)
        quantiles, slopes = horizon_tables(both, p, theory_of=_theory)
        return {"quantiles": quantiles[quantiles["method"] != CONTROL], "slopes": slopes}

    def report(self, tables, meta) -> str:
        p, s = meta["params"], tables["slopes"]
        return "\n".join(
            [
                f"convex-rates: projected SGD (radius {p['radius']:g}) on f = |x|, x0 = {p['x0']:g}, p = {p['alpha']:g}, "
                f"noise {p['noise']} of tail index {p['tail']:g}, η_T = {p['lr0']:g}·|x0|/T^(1/p), uniform average x̄_T, "
                f"N = {p['n_traj']} per horizon, T = {', '.join(str(k) for k in sorted(set(p['horizons'])))}",
                horizon_verdict_table(s),
                findings.convex_rates_conclusion(s, "sgd", CONTROL),
            ]
        )

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return horizon_scoreboard(tables, meta)

    def plot(self, tables, meta):
        return plot_horizons(
            tables,
            meta,
            [("sgd", "f_unif")],
            ylabel={"f_unif": "f(x̄_T) − f*"},
            title="convex-rates: projected SGD on |x| (Fatkhullin et al. 2025)",
            ncols=1,
        )
