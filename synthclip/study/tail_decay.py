"""``tail-decay``: how fast P(min_{k≤t} ‖∇f(x_k)‖² > ε) falls with t for clipped SGD (Armacki et al., COLT 2026).

Setting: f = x²/2 and f = x²/(1+x²) (L-smooth, bounded below: the class of the non-convex statement), x0 = 1,
symmetric noise of tail index a > p; c-SGD with step and clip polynomial in t (anytime), η_t = lr0 (t+1)^(−(2p−1)/
(3p−2)), τ_t = tau0 t^(1/(3p−2)) (derived here: the theorem's schedules are not in the text available). The
failure probability P_t at fixed ε is read at log-spaced t from the engine's running minimum of ‖∇f‖, with
Clopper–Pearson intervals; the tail scale 1/(log t · log(1/P_t)) is fitted against log t and judged against
t^(−β_p), β_p = 4(p−1)/(3p−2) (the long-term rate exp(−t^β_p/log t)); 1/log(1/P_t) against the finite-time
bounds' t^(−β_p/2). Control: the same fit asked to decay like t^(−2β_p), beyond the e^(−ct) floor of this
instance (a constant-probability outward kick per step keeps every iterate out): it must read "violates".

Full description: docs/studies/tail-decay.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import findings, stats, theory, verdict
from .._rng import derive_seed
from ..engine import log_checkpoints
from ..harness import report
from ..harness.base import (
    MomentTailParams,
    SimulationParams,
    SlopeParams,
    Study,
    check_moment_tail,
    fields_of,
    moment_tail_fields,
    option,
    register,
    simulation_fields,
)
from ..harness.rate_tables import benchmark_row, fit_fields, probability_rows, summed_in_chunks, thirds_trend

PROBLEMS = ("quadratic", "nonconvex")
FITS = {
    "long-term": ("armacki-long-term", 1.0),
    "finite-time": ("armacki-finite-time", 0.0),
    "control 2β_p": ("armacki-long-term", 1.0),
}  # name → (claim, power m of the log t correction)
FIT_FIELDS = ("slope", "ci_low", "ci_high", "kmin", "kmax", "n_points")  # of a fit's row
#: the control's exponent: t^(−2β_p), beyond the e^(−ct) floor of this instance
CONTROL = {"label": "2beta", "formula": "t^(−2β_p)", "exponent": lambda a: -8.0 * (a - 1.0) / (3.0 * a - 2.0)}


@dataclass
class TailDecayParams(SlopeParams, SimulationParams, MomentTailParams):
    alpha: float = option(1.5, "p of the theorem (bounded p-th moment); sets β_p and the schedule", gt=1.0, lt=2.0)
    problems: list = option(list(PROBLEMS), "problems: quadratic, nonconvex (both L-smooth)", choices=PROBLEMS)
    eps: float = option(1e-4, "ε of the failure event min_k ‖∇f(x_k)‖² > ε", gt=0.0)
    x0: float = option(1.0, "start x0")
    lr0: float = option(1.0, "constant of η_t = lr0 (t+1)^(−(2p−1)/(3p−2))", gt=0.0)
    tau0: float = option(1.0, "constant of τ_t = tau0 t^(1/(3p−2))", gt=0.0)
    p_max: float = option(0.1, "fit where P_t <= p_max (past the transient)", gt=0.0, lt=1.0)
    min_count: int = option(30, "fit where at least this many runs still fail", low=1)
    n_checkpoints: int = option(60, "log-spaced checkpoints t", low=10)
    chunk: int = option(250_000, "trajectories per engine call (memory: 56 bytes × checkpoints each)", low=1000)


def schedule(p: float, lr0: float, tau0: float) -> dict:
    """The registry parameters of c-SGD's anytime schedule at p."""
    return {
        "lr": lr0,
        "lr_schedule": "poly",
        "lr_power": (2 * p - 1) / (3 * p - 2),
        "clip": tau0,
        "clip_schedule": "poly",
        "clip_power": 1 / (3 * p - 2),
    }


@register
class TailDecay(Study):
    name = "tail-decay"
    summary = "P(min_k≤t ‖∇f‖² > ε) vs t for clipped SGD: exp(−t^β_p/log t) or exp(−t^(β_p/2)) (Armacki et al.)"
    Params = TailDecayParams
    defaults = {"noise": "pareto", "n_traj": 1_000_000, "steps": 2000, "n_boot": 1000}
    quick = {"n_traj": 20_000, "steps": 300, "eps": 1e-2, "n_boot": 200, "min_count": 10, "n_checkpoints": 30}
    tables = ("probabilities", "fits", "bench")

    def validate(self, p) -> None:
        check_moment_tail(p)

    def cells(self, p) -> list[dict]:
        fields = fields_of(p, "eps", "x0", "n_checkpoints", "chunk")
        common = {**moment_tail_fields(p), **simulation_fields(p), **fields}
        return [{"problem": problem, "params": schedule(p.alpha, p.lr0, p.tau0), **common} for problem in p.problems]

    def run_cell(self, cell, *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        k = log_checkpoints(cell["steps"], cell["n_checkpoints"])

        def failing(res):  # runs whose min_k≤t ‖∇f‖ is still above √ε at each t (+inf: failed runs)
            return np.sum(res.metric("grad_norm_min") > math.sqrt(cell["eps"]), axis=0)

        # chunks with their own seeds: the output of one call is 56 bytes × t's per trajectory
        run = {"chunk": cell["chunk"], "key": (self.name,), "threads": threads, "checkpoints": k, "alpha": cell["tail"]}
        counts, seconds = summed_in_chunks("gclip", cell, cell["params"], failing, **run)
        common = {"problem": cell["problem"], "n_traj": cell["n_traj"]}
        bench = benchmark_row(common, cell["steps"], seconds)
        return {"counts": pd.DataFrame({**common, "k": k, "failing": counts}), "bench": pd.DataFrame([bench])}

    def analyze(self, p, tables):
        prows, frows = [], []
        for problem, part in tables["counts"].groupby("problem", sort=False):
            k, failing, n = part["k"].to_numpy(float), part["failing"].to_numpy(), int(part["n_traj"].iloc[0])
            for r in probability_rows(k, failing, n, {"problem": problem}, confidence=p.confidence):
                r.update(
                    scale=float(stats.tail_scale(r["k"], r["p"], 1.0)),
                    scale_plain=float(stats.tail_scale(r["k"], r["p"])),
                )
                prows.append(r)
            counts = np.concatenate([[n], failing])
            for name, (statement, power) in FITS.items():
                kw = dict(log_power=power, p_max=p.p_max, min_count=p.min_count, confidence=p.confidence)
                fit = stats.decay_exponent(k, counts, n_boot=p.n_boot, seed=derive_seed(p.seed, problem, name), **kw)
                claim = theory.claim(statement, "gclip", "smooth", "tail_scale")
                if name.startswith("control"):
                    claim = theory.control(claim, "a wrong exponent, beyond this instance's e^(−ct) floor", **CONTROL)
                local = {**kw, "min_count": 1, "n_boot": p.n_boot}  # a third counts every failing run
                key = (p.seed, problem, name)
                trend = thirds_trend(fit, claim.at(p.alpha), stats.decay_exponent, k, counts, seed_key=key, **local)
                vd = verdict.judge_fit(fit, claim, p.alpha, p, n_traj=n, q=None, trend=trend)
                row = {"problem": problem, "fit": name, **fit_fields(fit, FIT_FIELDS), "trend": trend}
                frows.append({**row, "n_traj": n, "n_failed": 0, **vd.as_dict()})
            decision = findings.tail_decay_decision(frows[-3:])
            for r in frows[-3:]:
                r["decision"] = decision
        return {"probabilities": pd.DataFrame(prows), "fits": pd.DataFrame(frows), "bench": tables["bench"]}

    def report(self, tables, meta) -> str:
        p, fits, bench = meta["params"], tables["fits"], tables["bench"]
        beta = 4 * (p["alpha"] - 1) / (3 * p["alpha"] - 2)
        lines = [
            f"tail-decay: c-SGD (η_t ∝ (t+1)^(−{(2 * p['alpha'] - 1) / (3 * p['alpha'] - 2):.3f}), τ_t ∝ "
            f"t^{1 / (3 * p['alpha'] - 2):.3f}), p = {p['alpha']:g} (β_p = {beta:.3f}), noise {p['noise']} of "
            f"tail index {p['tail']:g}, ε = {p['eps']:g}, N = {p['n_traj']}, t ≤ {p['steps']}; fit where "
            f"P_t ≤ {p['p_max']:g} with ≥ {p['min_count']} failing runs, {p['confidence']:.0%} bootstrap over runs",
            report.table(
                fits,
                [
                    ("problem", "problem"),
                    ("fit", "fit"),
                    ("t window", lambda r: f"{r['kmin']:g}–{r['kmax']:g}"),
                    *report.verdict_columns("slope of the tail scale [CI]"),
                    ("decision", "decision"),
                ],
                notes=report.verdict_notes,
            ),
            findings.tail_decay_conclusion(fits),
        ]
        lines += [report.benchmark_line(r, r["problem"]) for _, r in bench.iterrows()]
        return "\n".join(lines)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        p = meta["params"]
        return report.scoreboard(
            report.score_row(
                meta,
                r,
                setting=f"{r['problem']}, gclip (anytime), p={p['alpha']:g}, tail {p['tail']:g}, "
                f"ε={p['eps']:g}, N={int(r['n_traj'])}, t ≤ {p['steps']}",
                quantity=f"slope in log t of the tail scale ({r['fit']})",
            )
            for r in tables["fits"].to_dict("records")
        )

    def plot(self, tables, meta):
        from .. import plotting

        prob, p = tables["probabilities"], meta["params"]
        beta = 4 * (p["alpha"] - 1) / (3 * p["alpha"] - 2)
        fig, axes = plotting.figure(2, ncols=2, size=4.5)
        for problem, part in prob.groupby("problem", sort=False):
            (line,) = axes[0].plot(part["k"], part["p"], lw=1.3, label=problem)
            axes[0].fill_between(part["k"], part["ci_low"], part["ci_high"], color=line.get_color(), alpha=0.2, lw=0)
            ok = part[(part["p"] > 0) & (part["p"] <= p["p_max"])]
            axes[1].plot(ok["k"], ok["scale"], lw=1.3, color=line.get_color(), label=f"{problem}: 1/(log t·log(1/P_t))")
            axes[1].plot(
                ok["k"], ok["scale_plain"], lw=1, ls="--", color=line.get_color(), label=f"{problem}: 1/log(1/P_t)"
            )
            if len(ok):
                t0, s0 = ok["k"].iloc[0], ok["scale"].iloc[0]
                for e, ls in ((beta, ":"), (beta / 2, "-.")):
                    axes[1].plot(ok["k"], s0 * (ok["k"] / t0) ** (-e), "k", ls=ls, lw=0.8)
        title = f"failure probability, {p['confidence']:.0%} Clopper–Pearson bands"
        plotting.log_axes(axes[0], "t", "P(min_k≤t ‖∇f‖² > ε)", title)
        title = f"black: t^(−β_p) (dotted), t^(−β_p/2) (dash-dot), β_p = {beta:.2f}"
        plotting.log_axes(axes[1], "t", "tail scale", title)
        for ax in axes:
            ax.legend(fontsize=7)
        return plotting.finish(
            fig, f"tail-decay: p={p['alpha']:g}, tail {p['tail']:g}, ε={p['eps']:g}, N={p['n_traj']}"
        )
