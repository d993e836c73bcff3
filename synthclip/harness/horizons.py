"""What the studies that fit a rate share: the verdict table, and the statistics, scoreboard rows and figure of
per-trajectory values across horizons K (nonconvex and lower-bound run one cell per horizon), and the growth of
per-trajectory values in another swept variable (the dimension d) by a joint bootstrap over trajectories, with
its shape rule. A harness module, not a study: no study imports another.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import stats, theory, verdict
from .._rng import derive_seed
from ..findings import last_decade
from . import report
from .rate_tables import fit_row, mean_frame


def verdict_table(slopes: pd.DataFrame, columns=("method", "quantile"), slope_title: str = "slope [CI]") -> str:
    """<columns> | slope [CI] | theory | by | verdict | trend | failed, of the last-decade rows."""
    return report.table(
        last_decade(slopes),
        report.key_columns(*columns) + report.verdict_columns(slope_title),
        notes=report.verdict_notes,
    )


def trajectory_matrix(values: pd.DataFrame, column: str, value: str) -> tuple[np.ndarray, np.ndarray]:
    """(the ``column`` values sorted, matrix (n_traj, n_columns)) of one series' per-trajectory ``value``;
    failed or non-finite entries are +inf (counted, never dropped)."""
    wide = values.pivot(index="trajectory", columns=column, values=value).sort_index(axis=1)
    failed = values.pivot(index="trajectory", columns=column, values="failed").sort_index(axis=1)
    v = wide.to_numpy(float, copy=True)
    v[failed.to_numpy(bool) | ~np.isfinite(v)] = np.inf
    return wide.columns.to_numpy(float), v


def horizon_matrix(values: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(horizons K sorted, matrix (n_traj, n_K)) of one series' per-trajectory values; failures are +inf."""
    return trajectory_matrix(values, "K", "value")


def horizon_tables(
    values: pd.DataFrame, p, *, theory_of, extra_levels=None, judge_mean: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quantile (with order-statistic CI) and mean at every horizon, and the slope in log K of each, with verdicts.

    ``theory_of(method, metric, alpha)`` gives the judging claim or None. ``extra_levels`` maps a statistic
    name to a function K ↦ quantile level (a level that depends on the horizon, e.g. 1 − c/K); those are
    fitted by the same row bootstrap with a level per column. Slopes follow ``verdict.RULE`` (the last decade
    of horizons) and are worded by ``verdict.judge``; the mean is judged only with ``judge_mean``.
    """
    extra_levels = extra_levels or {}
    qrows, srows = [], []
    keys = ["method", "alpha", "metric"]
    for (method, alpha, metric), part in values.groupby(keys, sort=False):
        ks, v = horizon_matrix(part)
        n = v.shape[0]
        n_failed = int(np.sum(~np.isfinite(v), axis=0).max())
        sched = part.drop_duplicates("K").set_index("K").sort_index()
        common = {"study": part["study"].iloc[0], "method": method, "alpha": alpha, "metric": metric}
        per_k = {
            "tau": sched["tau"].to_numpy(float) if "tau" in sched else np.nan,
            "lr": sched["lr"].to_numpy(float) if "lr" in sched else np.nan,
            "n_traj": n,
            "n_failed": n_failed,
        }
        levels = {f"{q:g}": np.full(ks.size, float(q)) for q in p.quantiles}
        levels.update({name: np.array([fn(k) for k in ks]) for name, fn in extra_levels.items()})
        for name, lev in levels.items():
            est, lo, hi = (np.empty(ks.size) for _ in range(3))
            for j in range(ks.size):
                est[j], lo[j], hi[j] = stats.quantile_ci(v[:, j], lev[j], confidence=p.confidence)
            qrows.append(
                pd.DataFrame(
                    {
                        **common,
                        "K": ks,
                        "statistic": name,
                        "quantile": lev,
                        "value": est,
                        "ci_low": lo,
                        "ci_high": hi,
                        **per_k,
                    }
                )
            )
        qrows.append(mean_frame(v, {**common, "K": ks}, **per_k))
        claim = theory_of(method, metric, alpha)
        window = verdict.RULE.in_window(ks)
        for name, lev in [*levels.items(), ("mean", None)]:
            seed = derive_seed(p.seed, "bootstrap", method, metric, name, alpha)
            if lev is None:
                fit = stats.fit_rate(ks, v, "mean", n_boot=p.n_boot, confidence=p.confidence, seed=seed)
                q = "mean"
            elif np.all(lev == lev[0]):
                fit = stats.fit_rate(ks, v, float(lev[0]), n_boot=p.n_boot, confidence=p.confidence, seed=seed)
                q = float(lev[0])
            else:
                fit = stats.fit_rate(
                    ks[window], v[:, window], lev[window], n_boot=p.n_boot, confidence=p.confidence, seed=seed
                )
                q = float(lev[window].max())  # sufficiency: the most demanding level in the window
            if name == "mean" and not judge_mean:
                said = verdict.Verdict.of(
                    "reported only" if claim else verdict.NONE,
                    claim,
                    claim.at(alpha) if claim else None,
                    "means are reported, never judged",
                )
            else:
                said = verdict.judge_fit(fit, claim, alpha, p, n_traj=n, q=q, trend="too short", n_failed=n_failed)
            srows.append(
                {
                    **common,
                    "statistic": name,
                    **fit_row(fit),
                    **said.as_dict(),
                    "trend": "too short",
                    "n_traj": n,
                    "n_failed": n_failed,
                }
            )
    return pd.concat(qrows, ignore_index=True), pd.DataFrame(srows)


def doubled_controls(slopes: pd.DataFrame, statements, p, metrics=("grad_norm_avg",)) -> pd.DataFrame:
    """Negative controls of the entries named in ``statements``: each of their judged quantile rows again, labelled
    "<method> (control ×2)", judged by the same rule against twice the entry's exponent (the squared norm's exponent
    read as the norm's, a mistake a resolved row must expose: it reads "violates"), on ``metrics`` (the average
    over k: the minimum gains an extreme-value factor that can hide the mistake)."""
    rows = []
    rows_of = slopes["statement"].isin(statements) & slopes["metric"].isin(metrics) & (slopes["statistic"] != "mean")
    for r in slopes[rows_of].to_dict("records"):
        claim = next(c for c in theory.CLAIMS if c.statement == r["statement"] and c.metric == r["metric"])
        wrong = dataclasses.replace(
            claim, statement=f"{claim.statement} ×2", exponent=lambda a, e=claim.exponent: 2.0 * e(a)
        )
        said = verdict.judge_row(
            r, wrong, confidence=p.confidence, allowance=p.allowance, trend="too short", q=float(r["statistic"])
        )
        rows.append({**r, **said.as_dict(), "method": f"{r['method']} (control ×2)"})
    return pd.DataFrame(rows, columns=slopes.columns)


def horizon_verdict_table(slopes: pd.DataFrame) -> str:
    """method | metric | statistic | slope in K [CI] | theory | verdict, fixed-width."""
    return verdict_table(slopes, ("method", "metric", "statistic"), slope_title="slope in K [CI]")


def horizon_scoreboard(tables, meta) -> pd.DataFrame:
    """One scoreboard row per judged quantile row (every study that fits in the horizon K shares this)."""
    s = tables["slopes"]
    s = s[(s["verdict"] != verdict.NONE) & (s["verdict"] != "reported only")]
    return report.scoreboard(
        report.score_row(
            meta,
            r,
            setting=f"{r['method']}, α={r['alpha']:g}, N={int(r['n_traj'])}, K up to {int(r['kmax'])}",
            quantity=f"slope in K of the {r['statistic']} of {r['metric']}",
        )
        for r in s.to_dict("records")
    )


def plot_horizons(tables, meta, panels, *, ylabel: Mapping[str, str], title: str, anchor: str = "0.5", ncols: int = 4):
    """The headline figure of a study that fits in the horizon K, at page width: one panel per judged metric
    among ``panels`` ((method, metric) pairs; at most three metrics) with the ``anchor`` statistic of each judged
    method against K (with its confidence band) and the judging exponents through the fits, and a last panel of
    every judged row's slope with its interval, coloured by verdict, against its theory exponent. Reads the
    stored tables only. ``ncols`` is kept for callers; the layout is two panels a row."""
    from .. import plotting

    del ncols
    _, sns = plotting._mpl()
    q = tables["quantiles"]
    fits = last_decade(tables["slopes"])
    wanted = set(panels)
    fits = fits[[(m, k) in wanted for m, k in zip(fits["method"], fits["metric"])]]
    judged = fits[~fits["verdict"].isin([verdict.NONE, "reported only"])]
    shown = judged if not judged.empty else fits
    metrics = (
        list(dict.fromkeys(k for _, k in panels if k in set(shown["metric"])))[:3]
        or list(dict.fromkeys(k for _, k in panels))[:1]
    )
    methods = list(dict.fromkeys(m for m, _ in panels))
    # tab20's ten dark shades first, then their light twins: distinct hues for up to ten methods, pairs beyond
    tab20 = sns.color_palette("tab20", 20)
    colors = dict(zip(methods, (tab20[0::2] + tab20[1::2]) * 2))
    fig, axes = plotting.figure(len(metrics) + 1, ncols=2, size=4.0, aspect=0.8 if len(metrics) > 1 else 1.25)
    for ax, metric in zip(axes, metrics):
        on = shown[(shown["metric"] == metric) & (shown["statistic"] == anchor)]
        names = list(dict.fromkeys(on["method"])) or [m for m, k in panels if k == metric][:8]
        for method in names:
            part = q[(q["method"] == method) & (q["metric"] == metric) & (q["statistic"] == anchor)]
            row = on[on["method"] == method]
            label = f"{method}: {row['verdict'].iloc[0]}" if not row.empty else method
            for alpha, series in part.groupby("alpha"):
                series = series.sort_values("K")
                name = label if part["alpha"].nunique() == 1 else f"α={alpha:g} {label}"
                ax.plot(series["K"], series["value"], marker=".", lw=1.4, color=colors[method], label=name)
                ax.fill_between(series["K"], series["ci_low"], series["ci_high"], color=colors[method], alpha=0.2, lw=0)
        plotting.theory_through_fits(ax, on, on)
        ax.set(xscale="log", yscale="log", xlabel="horizon K", ylabel=ylabel.get(metric, metric))
        ax.set_title(f"{metric}: the {anchor if anchor == 'mean' else anchor + '-quantile'}; shaded: fit window")
        plotting.legend(ax, len(ax.get_legend_handles_labels()[1]))
    rows = shown.assign(
        label=shown["method"]
        if len(metrics) == 1 and shown["metric"].nunique() == 1
        else shown["method"] + " · " + shown["metric"]
    )
    plotting.slope_panel(axes[-1], rows, group="label", level="statistic", xlabel="slope in K [CI]")
    axes[-1].set_title("measured exponents against theory")
    p = meta.get("params", {})
    fig.suptitle(
        f"{title}\nα={', '.join(f'{a:g}' for a in sorted(q['alpha'].unique()))}, N={p.get('n_traj')} per "
        f"K; bands and whiskers: {p.get('confidence', 0.95):.0%} intervals"
    )
    fig.tight_layout()
    return fig


def _is_level(statistic: str) -> bool:
    """True for a fixed quantile level ("0.5"), False for "mean" or a horizon-dependent level ("tail")."""
    try:
        float(statistic)
        return True
    except ValueError:
        return False


# -- growth in a swept variable (the dimension d), by a joint bootstrap over trajectories ----------------------


def trajectory_table(values: pd.DataFrame, keys: Sequence[str], value: str = "value") -> tuple[list, np.ndarray]:
    """(the distinct ``keys`` tuples sorted, matrix (n_keys, n_traj)) of per-trajectory ``value`` rows (columns
    keys, trajectory, value, failed): a failed, non-finite or missing entry is +inf (counted, never dropped)."""
    groups = values.groupby(list(keys), sort=True)
    table = np.full((groups.ngroups, int(values["trajectory"].max()) + 1), np.inf)
    for i, (_, part) in enumerate(groups):
        v = part[value].to_numpy()
        table[i, part["trajectory"].to_numpy()] = np.where(part["failed"].to_numpy() | ~np.isfinite(v), np.inf, v)
    return list(groups.groups), table


def joint_statistics(table: np.ndarray, *, n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """The mean and the median of every row of a :func:`trajectory_table` ("mean", "median") and their
    replicates under one joint bootstrap over trajectories ("boot_mean", "boot_median": one index draw per
    replicate for every row, so that ratios and slopes across rows keep their correlation)."""
    r = stats.quantile_ranks(table.shape[1], 0.5)[0]
    with np.errstate(invalid="ignore"):
        mean = table.mean(axis=1)
    boot = stats.joint_bootstrap(table, ("mean", "median"), n_boot=n_boot, seed=seed)
    median = np.partition(table, r - 1, axis=1)[:, r - 1]
    return {"mean": mean, "median": median, "boot_mean": boot["mean"], "boot_median": boot["median"]}


def mean_and_median(values: np.ndarray, mean: float, boot_mean: np.ndarray, confidence: float) -> dict[str, float]:
    """One row of a :func:`trajectory_table` summarised: its ``mean`` with the joint-bootstrap interval of the
    replicates ``boot_mean`` (see :func:`joint_statistics`) and its median with the order-statistic interval."""
    est, lo, hi = stats.quantile_ci(values, 0.5, confidence=confidence)
    mlo, mhi = stats.percentile_interval(boot_mean, confidence)[:2]
    return {
        "mean": float(mean),
        "mean_ci_low": mlo,
        "mean_ci_high": mhi,
        "median": float(est),
        "ci_low": float(lo),
        "ci_high": float(hi),
    }


def growth_fit(xs, point, boot, median, boot_median, confidence: float) -> dict[str, float]:
    """The growth exponent in ``xs`` of a statistic's mean (``point``, replicates ``boot``) and of its median: the
    least-squares slope of the log against log x over all x (``stats.log_slope``) with its joint-bootstrap
    interval, and the fit's intercept."""
    exponent, lo, hi, intercept = stats.log_slope(xs, point, boot, confidence)
    med_exponent, med_lo, med_hi, _ = stats.log_slope(xs, median, boot_median, confidence)
    return {
        "exponent": exponent,
        "ci_low": lo,
        "ci_high": hi,
        "intercept": intercept,
        "median_exponent": med_exponent,
        "median_ci_low": med_lo,
        "median_ci_high": med_hi,
    }


def local_exponents(xs, point: np.ndarray, boot: np.ndarray, confidence: float) -> list[dict]:
    """The exponent between each pair of consecutive ``xs`` (columns d_low, d_high, exponent, ci_low, ci_high),
    with its joint-bootstrap interval: a fit over all x can hide a slope that falls or rises with x."""
    rows = []
    for j in range(len(xs) - 1):
        step = math.log(xs[j + 1] / xs[j])
        with np.errstate(divide="ignore", invalid="ignore"):
            est = float(np.log(point[j + 1] / point[j]) / step)
            reps = np.log(boot[:, j + 1] / boot[:, j]) / step
        lo, hi = stats.percentile_interval(reps, confidence)[:2]
        rows.append({"d_low": xs[j], "d_high": xs[j + 1], "exponent": est, "ci_low": lo, "ci_high": hi})
    return rows


def growth_in(
    finals: pd.DataFrame,
    *,
    ratio: tuple[str, str],
    n_boot: int,
    confidence: float,
    seed: int,
    group: str = "structure",
    series: str = "method",
    over: str = "dim",
) -> dict[str, pd.DataFrame]:
    """The growth in ``over`` of per-trajectory final values (columns ``group``, ``series``, ``over``, trajectory,
    value, failed, optionally clip_frac), per ``group``, of each of the two ``series`` in ``ratio`` and of their
    ratio of means, under one joint bootstrap over trajectories (seed ``seed``). Statistics only, no claim:

    * "errors": per (group, series, over) cell, the mean and the median with their intervals
      (:func:`mean_and_median`), the mean clipped fraction (NaN without clip_frac), n_traj and n_failed;
    * "ratios": per (group, over), the ratio of means with its bootstrap interval and the ratio of medians;
    * "growth": per (group, series: each of ``ratio``'s two, then "ratio"), the exponent in ``over`` of the mean
      and of the median with their intervals (:func:`growth_fit`), the swept range (dmin, dmax), n_traj and the
      failed entries of both series (n_failed);
    * "local": the exponents between consecutive values of ``over`` (:func:`local_exponents`).
    """
    by = [group, series, over]
    keys, table = trajectory_table(finals, by)
    n, index = table.shape[1], {k: i for i, k in enumerate(keys)}
    cells = finals.groupby(by, sort=True)  # in the order of ``keys``
    clip_frac = np.array([float(part["clip_frac"].mean()) if "clip_frac" in part else np.nan for _, part in cells])
    joint = joint_statistics(table, n_boot=n_boot, seed=seed)
    mean, median, boot_mean, boot_median = (joint[s] for s in ("mean", "median", "boot_mean", "boot_median"))
    errors = pd.DataFrame(
        [
            {
                **dict(zip(by, key)),
                **mean_and_median(table[i], mean[i], boot_mean[:, i], confidence),
                **{"clip_frac": clip_frac[i], "n_traj": n, "n_failed": int(np.sum(~np.isfinite(table[i])))},
            }
            for i, key in enumerate(keys)
        ]
    )
    rrows, grows, lrows = [], [], []
    for level in dict.fromkeys(k[0] for k in keys):
        xs = sorted({k[2] for k in keys if k[0] == level})
        top, bottom = ([index[(level, s, x)] for x in xs] for s in ratio)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio_mean = mean[top] / mean[bottom]
            ratio_boot = boot_mean[:, top] / boot_mean[:, bottom]
            ratio_median = median[top] / median[bottom]
            ratio_median_boot = boot_median[:, top] / boot_median[:, bottom]
        for j, x in enumerate(xs):
            lo, hi = stats.percentile_interval(ratio_boot[:, j], confidence)[:2]
            row = {group: level, over: x, "ratio": float(ratio_mean[j]), "ci_low": lo, "ci_high": hi}
            rrows.append({**row, "median_ratio": float(ratio_median[j])})
        n_failed = int(np.sum(~np.isfinite(table[top + bottom])))
        curves = {
            ratio[0]: (mean[top], boot_mean[:, top], median[top], boot_median[:, top]),
            ratio[1]: (mean[bottom], boot_mean[:, bottom], median[bottom], boot_median[:, bottom]),
            "ratio": (ratio_mean, ratio_boot, ratio_median, ratio_median_boot),
        }
        for name, (pt, bt, med, bmed) in curves.items():
            lrows += [{group: level, "series": name, **r} for r in local_exponents(xs, pt, bt, confidence)]
            fit = growth_fit(xs, pt, bt, med, bmed, confidence)
            span = {"dmin": min(xs), "dmax": max(xs), "n_traj": n, "n_failed": n_failed}
            grows.append({group: level, "series": name, "statistic": "mean", **fit, **span})
    return {
        "errors": errors,
        "ratios": pd.DataFrame(rrows),
        "growth": pd.DataFrame(grows),
        "local": pd.DataFrame(lrows, columns=[group, "series", "d_low", "d_high", "exponent", "ci_low", "ci_high"]),
    }


def classify_growth(lo: float, hi: float, tolerance: float) -> str:
    """The shape of a growth exponent's interval [lo, hi] with tolerance t: grows (lo > t), shrinks (hi < −t),
    flat (inside [−t, t]), else undecided; "no fit" without a finite interval."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no fit"
    if lo > tolerance:
        return "grows"
    if hi < -tolerance:
        return "shrinks"
    if lo >= -tolerance and hi <= tolerance:
        return "flat"
    return "undecided"


def expected_shape(exponent: float | None, tolerance: float) -> str:
    """The shape a predicted exponent implies under the same tolerance ("-" without a prediction)."""
    if exponent is None or not np.isfinite(exponent):
        return "-"
    return classify_growth(exponent, exponent, tolerance)
