"""``rates``: measured high-probability rates in k against Theorem 4 (and Table 1) of Zhang et al. 2020.

Setting: f(x) = ½ Σ λ_i x_i², every method on the same noise of tail index a = α + each of ``--tail-offsets``
(a = α the boundary of Assumption 1), f(x̄_k) − f* at ten checkpoints per decade up to K = 10^5.
Labels: gclip (Theorem 4's printed τ_k = τ0·k^(α−1)), gclip-balanced (τ_k ∝ k^(1/α)), gclip-const, gclip-near
(the near-miss control), cclip, sgd, sgd-proj, smom_clip, the AdaGrad/Adam-Norm family, --plugin methods.
Verdicts: synthclip.verdict.RULE, the same for every study.
``rates-onesided``: one-sided Pareto noise of tail 1.3 > α = 1.2, K = 2·10^4, tests the printed clip schedule.

Full description: docs/studies/rates.md and docs/studies/rates-onesided.md.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import findings, testing, theory, verdict
from .. import methods as method_registry
from .. import noise as noise_registry
from ..engine import simulate
from .base import (
    DeviceParams,
    FitParams,
    NoiseParams,
    SimulationParams,
    Study,
    StudyError,
    TheoremAlphaParams,
    check_alpha,
    check_device,
    check_fit_horizon,
    check_memory,
    check_methods,
    method_overrides,
    option,
    progress_chunk,
    register,
    with_registered,
)
from .horizons import _fits, verdict_table  # noqa: F401
from .rate_methods import (  # noqa: F401
    NEAR_MISS,
    PER_DECADE,
    RATE_METHODS,
    near_miss_applies,
    rate_checkpoints,
    rate_entry,
    rate_method,
    schedule_of,
)
from .rate_tables import judge_slopes, summarize

SETTING = "strongly_convex"
METRICS = ("f_avg", "f")


@dataclass
class RatesParams(FitParams, SimulationParams, NoiseParams, DeviceParams, TheoremAlphaParams):
    noise_alpha: float = option(0.0, "tail index a of the noise (0: each of --tail-offsets above --alpha)", low=0.0)
    tail_offsets: list = option(
        [0.0, 0.2],
        "noise tail indices a = α + offset run for each --alpha (with "
        "--noise-alpha 0): offset 0 is the boundary of Assumption 1 (a named "
        "limit case), offsets > 0 lie inside it, where the theorem judges; an "
        "a outside the noise law's range is skipped",
        low=0.0,
        high=1.0,
    )
    structure: str = option("iid", "vector noise: iid per coordinate or radial", choices=("iid", "radial"))
    dim: int = option(1, "dimension d", low=1)
    methods: list = option(
        list(RATE_METHODS),
        f"methods to run ({NEAR_MISS}: the rule's near-miss control, run "
        f"where its exponent is known: symmetric noise, a < 2, clip power ≤ 1/a)",
    )
    mu: float = option(1.0, "strong convexity μ (all weights λ_i = μ)", gt=0.0)
    x0: float = option(1.0, "start x0 in every coordinate")
    radius: float = option(10.0, "projection radius of proj-GClip / CClip (Theorem 4)", gt=0.0)
    clip: float = option(1.0, "clip level τ0 (λ for the clipped AdaGrad/Adam-Norm)", gt=0.0)
    lr: float = option(1.0, "step γ of the AdaGrad/Adam-Norm family (SGD/GClip/CClip use 4/(μ(k+1)))", gt=0.0)
    claims: str = option(
        "",
        "a Python file stating your own synthclip.theory.Claim entries (CLAIMS = (...)): every "
        "row inside a claim's scope is judged against it too, by the same rule (claims.parquet)",
    )


@register
class Rates(Study):
    name = "rates"
    plugins = True  # --methods takes any registered method: --plugin, --method-param
    summary = "high-probability rates in k on a strongly convex quadratic vs Theorem 4 / Table 1"
    Params = RatesParams
    defaults = {"n_traj": 10_000, "steps": 100_000}
    quick = {"n_traj": 2000, "steps": 2000, "n_boot": 400}
    tables = ("quantiles", "slopes")

    def validate(self, p) -> None:
        super().validate(p)
        check_alpha(
            p.noise, [p.noise_alpha] if p.noise_alpha else p.alpha, "--noise-alpha" if p.noise_alpha else "--alpha"
        )
        check_methods("methods", p.methods, with_registered(RATE_METHODS))
        check_fit_horizon("steps", p.steps, verdict.RULE.min_k)
        # a cell holds 7 metrics × n_traj × checkpoints float64 (and a copy while tabulating); cells run in parallel
        at_once = min(len(p.methods) * len(p.alpha), p.jobs or os.cpu_count() or 1)
        check_memory(
            f"--n-traj {p.n_traj}",
            2 * 7 * 8 * p.n_traj * len(rate_checkpoints(p.steps)) * at_once,
            "lower --n-traj (or --jobs)",
        )
        check_device(p.device, p.dim)
        if p.claims:
            try:
                testing.load_claims(p.claims)
            except ValueError as err:
                raise StudyError(f"--claims: {err}") from None

    def cells(self, p) -> list[dict]:
        cells = []
        for alpha, noise_alpha in noise_tails(p):
            for label in p.methods:
                if label == NEAR_MISS and not near_miss_applies(p.noise, p.structure, alpha, noise_alpha):
                    continue  # its exponent is unknown there; the report says the control was not run
                method, params, projected = rate_method(
                    label,
                    clip=p.clip,
                    lr=p.lr,
                    alpha=float(alpha),
                    noise_alpha=noise_alpha,
                    overrides=method_overrides(p),
                    judged=True,
                )
                cells.append(
                    {
                        "label": label,
                        "method": method,
                        "method_params": params,
                        "alpha": float(alpha),
                        "noise_alpha": noise_alpha,
                        "noise": p.noise,
                        "structure": p.structure,
                        **({"explicit_tail": True} if p.noise_alpha else {}),
                        "dim": p.dim,
                        "n_traj": p.n_traj,
                        "steps": p.steps,
                        "seed": p.seed,
                        "mu": p.mu,
                        "x0": p.x0,
                        "radius": p.radius if projected else math.inf,
                        "quantiles": list(p.quantiles),
                        "n_boot": p.n_boot,
                        "confidence": p.confidence,
                        **({"device": p.device} if p.device != "cpu" else {}),  # GPU cells are cached apart
                        **method_registry.plugin_of(method),  # a --plugin's file and digest (workers load it)
                    }
                )
        return cells

    def group(self, cell) -> str:
        """alpha=α for the boundary a = α (and for an explicit --noise-alpha), alpha=α,tail=a inside it."""
        alpha, a = cell["alpha"], cell["noise_alpha"]
        return f"alpha={alpha:g}" if a == alpha or cell.get("explicit_tail") else f"alpha={alpha:g},tail={a:g}"

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        method_registry.ensure_plugin(cell)
        res = simulate(
            cell["method"],
            noise=cell["noise"],
            alpha=cell["noise_alpha"],
            structure=cell["structure"],
            dim=cell["dim"],
            steps=cell["steps"],
            n_traj=cell["n_traj"],
            seed=cell["seed"],
            mu=cell["mu"],
            L=cell["mu"],
            x0=cell["x0"],
            radius=cell["radius"],
            threads=threads,
            checkpoints=rate_checkpoints(cell["steps"]),
            progress=progress,
            chunk_size=progress_chunk(cell["n_traj"]) if progress else None,
            device=cell.get("device", "cpu"),
            **cell["method_params"],
        )
        return summarize(res, cell, METRICS)

    def analyze(self, p, tables):
        def claim_of(r):
            return theory.find(
                rate_entry(r["method"])[0],
                SETTING,
                r["metric"],
                r["alpha"],
                schedule=schedule_of(r["method"]),
                noise=theory.noise_family(r["noise"], r["structure"]),
            )

        def control(r, trend):
            if r["method"] == NEAR_MISS and r["quantile"] != "mean" and r["metric"] == "f_avg":
                return near_miss_verdict(r, p.confidence, trend)
            return None

        out = {
            "quantiles": tables["quantiles"],
            "slopes": judge_slopes(tables["slopes"], p, claim_of=claim_of, special=control),
        }
        if p.claims:  # the researcher's statements, judged beside the package's (never in its scoreboard)
            out["claims"] = testing.judge_claims(
                out["slopes"],
                testing.load_claims(p.claims),
                setting=SETTING,
                method_of=lambda label: rate_entry(label)[0],
                schedule_of=schedule_of,
                confidence=p.confidence,
                allowance=p.allowance,
            )
        return out

    def report(self, tables, meta) -> str:
        slopes = tables["slopes"]
        p = meta["params"]
        fits = slopes[slopes["window"] == "last decade"]
        lines = []
        for alpha, part in fits.groupby("alpha"):
            na = float(part["noise_alpha"].iloc[0])
            lines.append(
                f"{meta['study']}: f − f* on ½μ‖x‖², noise={p['noise']} ({p['structure']}, "
                f"{theory.noise_family(p['noise'], p['structure'])}) of tail index {na:g}, theorem α={alpha:g}, "
                f"d={p['dim']}, K={p['steps']}, N={p['n_traj']}"
            )
            judged = part[(part["metric"] == "f_avg") & (part["quantile"] != "mean")]
            lines.append(
                verdict.RULE.describe(
                    confidence=p["confidence"],
                    allowance=p["allowance"],
                    n_boot=p["n_boot"],
                    power=verdict.resolution_line(judged.to_dict("records"), p["allowance"]),
                )
            )
            lines.append(findings.near_miss(part, NEAR_MISS))
            for metric, title in (
                ("f_avg", "f(x̄_k) − f* (Theorem 4's weighted average)"),
                ("f", "f(x_k) − f* (last iterate)"),
            ):
                rows = part[part["metric"] == metric]
                if not rows.empty:
                    lines.append(title + ":")
                    lines.append(verdict_table(rows))
            lines.append(findings.table1(part, SETTING, alpha, p["confidence"]))
            lines.append(findings.barrier(part, alpha, p["confidence"]))
            lines.append(findings.schedule(part, SETTING, alpha, p["confidence"]))
            lines.append(findings.adaptive(part))
        if "claims" in tables:
            lines.append(f"your claims ({p['claims']}), judged by the same rule on the rows inside their scope:")
            lines.append(
                verdict_table(tables["claims"], columns=("method", "metric", "quantile"))
                if len(tables["claims"])
                else "  no row lies inside the scope of any of them"
            )
        return "\n".join(lines)

    def plot(self, tables, meta):
        return plot_rates(tables, meta)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return rates_scoreboard(tables, meta)


@register
class RatesOneSided(Rates):
    name = "rates-onesided"
    summary = "the rates study on asymmetric noise (one-sided Pareto, tail 1.3 > α = 1.2): Theorem 4's clip schedule"
    defaults = {
        "alpha": [1.2],
        "noise_alpha": 1.3,
        "noise": "pareto-onesided",
        "steps": 20_000,
        "methods": ["sgd", "gclip", "gclip-balanced", "gclip-const", "cclip", "clip_adagrad_norm", "clip_adam_norm"],
    }
    quick = {"n_traj": 2000, "steps": 4000, "n_boot": 400}


def noise_tails(p) -> list[tuple[float, float]]:
    """(theorem α, noise tail index a) pairs of a run: --noise-alpha when given, else α + each offset that
    lies in the noise law's range (stable: a ≤ 2)."""
    if p.noise_alpha:
        return [(float(alpha), float(p.noise_alpha)) for alpha in p.alpha]
    rng = noise_registry.get(p.noise).param("alpha")
    pairs = []
    for alpha in p.alpha:
        for o in p.tail_offsets:
            a = round(float(alpha) + float(o), 12)
            try:
                rng.check(a)
            except ValueError:
                continue  # e.g. stable noise above a = 2: no law there
            pairs.append((float(alpha), a))
    return pairs


CONTROL = "near-miss control"


def near_miss_verdict(r, confidence: float, trend: str) -> verdict.Verdict:
    """The near-miss control row against Theorem 4's exponent (outside that theorem's scope: the control asks
    only whether the rule would call a method 0.1 faster than the exponent tight). Its statement is
    :data:`CONTROL`, so no scoreboard row or erratum reads it as the theorem's."""
    balanced = theory.claim("thm4-balanced", "gclip", SETTING, "f_avg")
    said = verdict.judge(
        r["slope"],
        r["ci_low"],
        r["ci_high"],
        balanced,
        r["alpha"],
        n_traj=int(r["n_traj"]),
        q=float(r["quantile"]),
        confidence=confidence,
        allowance=0.0,
        trend=trend,
        n_failed=int(r["n_failed"]),
        reason=r["fit_reason"],
        noise_alpha=r["noise_alpha"],
    )
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


def rates_scoreboard(tables, meta) -> pd.DataFrame:
    """One scoreboard row per judged last-decade quantile row of f(x̄_k), plus Table 1's rows for GClip (and, on
    asymmetric noise, the printed schedule's rows against its bias limit)."""
    s = _fits(tables["slopes"])
    s = s[
        (s["metric"] == "f_avg")
        & (s["quantile"] != "mean")
        & (s["verdict"] != verdict.NONE)
        & (s["statement"] != CONTROL)
    ]
    p = meta["params"]
    rows = []
    figure = f"{meta['study']}.png"
    for _, r in s.iterrows():
        setting = (
            f"{p['noise']} {p['structure']} tail {float(r['noise_alpha']):g}, α={r['alpha']:g}, "
            f"d={p['dim']}, K={p['steps']}, N={int(r['n_traj'])}, {r['method']}"
        )
        quantity = f"slope in k of the {r['quantile']}-quantile of f(x̄_k) − f*"
        rows.append(
            {
                "study": meta["study"],
                "statement": r["statement"],
                "source": r["theory_source"],
                "setting": setting,
                "quantity": quantity,
                "measured": r["slope"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "theory": r["theory"],
                "verdict": r["verdict"],
                "reason": r["reason"] or f"trend {r['trend']}",
                "figure": figure,
            }
        )
        if r["method"] in ("gclip", "gclip-balanced"):
            tab1 = theory.claim("table1", "gclip", SETTING, "f_avg")
            first = rows[-1]
            rows.append(
                {
                    **first,
                    "statement": "table1",
                    "source": tab1.source,
                    "theory": tab1.at(r["alpha"]),
                    "verdict": findings.words_against(r, tab1, p["confidence"]),
                }
            )
            if r["method"] == "gclip" and theory.noise_family(r["noise"], r["structure"]) == "asymmetric":
                limit = theory.claim("bias-limit", "gclip", SETTING, "f_avg")
                rows.append(
                    {
                        **first,
                        "statement": "bias-limit",
                        "source": limit.source,
                        "theory": limit.at(r["alpha"], r["noise_alpha"]),
                        "verdict": findings.words_against(r, limit, p["confidence"]),
                    }
                )
    return pd.DataFrame(rows, columns=list(verdict.SCOREBOARD_COLUMNS))


def plot_rates(tables, meta):
    """The headline figure, four panels at page width: (a) the median and (b) the tail quantile of f(x̄_k) − f* of
    the judged methods with their confidence bands and the judging exponents drawn through the fits over the fit
    window; (c) every method's last-decade slope with its interval per quantile, coloured by verdict, against its
    theory exponent (black tick) and Table 1's (dotted); (d) the median's local slopes per half-decade."""
    from .. import plotting

    _, sns = plotting._mpl()
    q = tables["quantiles"]
    q = q[(q["metric"] == "f_avg") & (q["statistic"] == "quantile")]
    fits = _fits(tables["slopes"])
    fits = fits[(fits["metric"] == "f_avg") & (fits["quantile"] != "mean")]
    pairs = list(dict.fromkeys(zip(q["alpha"], q["noise_alpha"])))
    series = [
        (m, a, na)
        for a, na in pairs
        for m in dict.fromkeys(q["method"])
        if not q[(q["method"] == m) & (q["alpha"] == a) & (q["noise_alpha"] == na)].empty
    ]

    def name(m, a, na):
        return m if len(pairs) == 1 else f"{m} (α={a:g}, tail {na:g})"

    def pick(frame, m, a, na):
        return frame[(frame["method"] == m) & (frame["alpha"] == a) & (frame["noise_alpha"] == na)]

    judged = fits[~fits["verdict"].isin([verdict.NONE, "reported only"]) & (fits["statement"] != CONTROL)]
    shown = [s for s in series if not pick(judged, *s).empty] or series[:6]
    colors = dict(zip(shown, sns.color_palette("tab10", len(shown))))
    board = rates_scoreboard(tables, meta)
    fig, axes = plotting.figure(4, ncols=2, size=4.0, aspect=0.78)
    levels = sorted(q["quantile"].dropna().unique())
    for ax, tag, level in zip(axes[:2], "ab", (0.5, float(levels[-1]) if levels else 0.99)):
        for s in shown:
            part = pick(q, *s)
            fit = pick(fits, *s)
            fit = fit[fit["quantile"] == f"{level:g}"]
            word = fit["verdict"].iloc[0] if not fit.empty else ""
            plotting.quantile_bands(
                ax,
                part,
                quantiles=[level],
                palette=[colors[s]],
                label=lambda _, s=s, word=word: f"{name(*s)}: {word}" if word else name(*s),
            )
        window = pd.concat([pick(fits, *s) for s in shown]) if shown else fits.iloc[0:0]
        plotting.theory_through_fits(
            ax,
            window[window["quantile"] == f"{level:g}"],
            board[board["quantity"].str.contains(f"of the {level:g}-quantile", regex=False)],
        )
        ax.set_xlabel("k")
        ax.set_ylabel(f"{level:g}-quantile of f(x̄_k) − f*")
        ax.set_title(f"({tag}) {'median' if level == 0.5 else f'{level:g}-quantile (tail)'}; shaded: fit window")
        plotting.legend(ax, len(ax.get_legend_handles_labels()[1]), many=9)
    table1 = [
        (t, "Table 1")
        for t in dict.fromkeys(theory.exponent("table1", "gclip", SETTING, "f_avg", a) for a, _ in pairs)
        if t is not None
    ]
    plotting.slope_panel(
        axes[2],
        _slope_rows(fits, series, name, pick),
        group="label",
        level="quantile",
        xlabel="last-decade slope in k [CI]",
        reference=table1,
    )
    axes[2].set_title("(c) measured exponents against theory")
    _local_panel(axes[3], tables["slopes"], board, shown, colors, name, pick)
    p = meta.get("params", {})
    fig.suptitle(
        f"{meta.get('study', 'rates')}: {p.get('noise')} noise, tail "
        f"{', '.join(f'{na:g}' for _, na in pairs)}, theorem α={', '.join(f'{a:g}' for a, _ in pairs)}, "
        f"N={p.get('n_traj')}; bands and whiskers: {p.get('confidence', 0.95):.0%} intervals"
    )
    fig.tight_layout()
    return fig


def _slope_rows(fits, series, name, pick):
    """The last-decade rows of every series, labelled for the slope panel."""
    return pd.concat([pick(fits, *s).assign(label=name(*s)) for s in series], ignore_index=True)


def _local_panel(ax, slopes, board, shown, colors, name, pick):
    """(d): the median's local slopes per half-decade with their intervals, against the judging exponents."""
    from .. import plotting

    local = slopes[(slopes["metric"] == "f_avg") & (slopes["quantile"] == "0.5")]
    local = local[local["window"] == "half-decade"] if "window" in local else local.iloc[0:0]
    drawn = False
    for s in shown:
        part = pick(local, *s)
        part = part[np.isfinite(part["slope"])].sort_values("kmax")
        if part.empty:
            continue
        drawn = True
        mid = np.sqrt(part["kmin"].to_numpy(float) * part["kmax"].to_numpy(float))
        ax.plot(mid, part["slope"], marker="o", ms=3, lw=1.2, color=colors[s], label=name(*s))
        ax.fill_between(mid, part["ci_low"], part["ci_high"], color=colors[s], alpha=0.15, lw=0)
    for t, statements, ls, color in plotting.exponents(
        board[board["quantity"].str.contains("of the 0.5-quantile", regex=False)]
    ):
        ax.axhline(t, color=color, ls=ls, lw=1.2, label=f"{statements} {t:+.2f}")
    ax.set(xscale="log" if drawn else "linear", xlabel="k (half-decade centre)", ylabel="local slope of the median")
    ax.set_title("(d) local slopes of the median")
    ax.legend(fontsize=6, loc="best", framealpha=0.9)
