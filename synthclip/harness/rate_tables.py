"""Rates in k along one run: the quantile and slope tables of a simulation's checkpoints and their verdicts, by
``verdict.RULE`` (every study that fits the error along the trajectories shares them). A harness module,
not a study: no study imports another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import stats, verdict
from .._rng import derive_seed
from ..engine import log_checkpoints, simulate
from . import report
from .base import simulation_fields


def summarize(res, cell: Mapping[str, Any], metrics) -> dict[str, pd.DataFrame]:
    """Quantile and slope tables of one simulation: the last-decade fit of every statistic (window "last
    decade") and the local slopes per half-decade (window "half-decade"), all by ``verdict.RULE``."""
    k = res.checkpoints
    label = cell.get("label", res.method)
    common = {
        "study": cell.get("study", "rates"),
        "method": label,
        "noise": res.noise,
        "structure": cell.get("structure", "iid"),
        "alpha": cell.get("alpha", res.alpha),
        "noise_alpha": res.alpha,
        "dim": res.dim,
    }
    qrows, srows = [], []
    windows = verdict.half_decades(k)
    for metric in metrics:
        values = res.metric(metric)
        at = {**common, "metric": metric, "k": k}
        for q in cell["quantiles"]:
            qrows.append(quantile_frame(values, q, {**at, "statistic": "quantile"}, confidence=cell["confidence"]))
        qrows.append(mean_frame(np.where(np.isfinite(values), values, np.inf), at))
        for q in [*cell["quantiles"], "mean"]:
            seed = derive_seed(cell["seed"], "bootstrap", label, metric, q)
            named = [("last decade", (None, None)), *(("half-decade", w) for w in windows)]
            fits = stats.fit_rate_windows(
                k, values, q, [w for _, w in named], n_boot=cell["n_boot"], confidence=cell["confidence"], seed=seed
            )
            for (window, _), fit in zip(named, fits):
                srows.append({**common, "metric": metric, "quantile": str(q), "window": window, **fit_row(fit)})
    quantiles = pd.concat(qrows, ignore_index=True)
    quantiles["n_traj"] = res.n_traj
    quantiles["n_failed"] = res.n_failed
    slopes = pd.DataFrame(srows)
    slopes["n_traj"] = res.n_traj
    slopes["n_failed"] = res.n_failed
    return {"quantiles": quantiles, "slopes": slopes}


def quantile_frame(values, q: float, columns: Mapping[str, Any], *, confidence: float, **after) -> pd.DataFrame:
    """The ``q``-quantile of every column of a per-trajectory matrix ``values`` (one column per checkpoint, start,
    ...) with its order-statistic interval (``stats.quantile_ci``) as a tidy frame: the ``columns`` (scalars or
    one value per column), then quantile, value, ci_low and ci_high, then the ``after`` columns."""
    est, lo, hi = stats.quantile_ci(values, q, confidence=confidence)
    return pd.DataFrame({**columns, "quantile": q, "value": est, "ci_low": lo, "ci_high": hi, **after})


def mean_frame(values, columns: Mapping[str, Any], **after) -> pd.DataFrame:
    """The mean of every column of a per-trajectory matrix ``values`` (an overflow or +inf stays +inf) as rows of a
    quantiles table beside :func:`quantile_frame`'s: the ``columns``, then statistic 'mean', no quantile level and
    no interval, then the ``after`` columns."""
    with np.errstate(invalid="ignore", over="ignore"):
        mean = np.mean(values, axis=0)
    no_ci = {"quantile": np.nan, "value": mean, "ci_low": np.nan, "ci_high": np.nan}
    return pd.DataFrame({**columns, "statistic": "mean", **no_ci, **after})


def judge_slopes(
    slopes: pd.DataFrame, p, *, claim_of: Callable[[Mapping[str, Any]], Any], special: Callable[..., Any] | None = None
) -> pd.DataFrame:
    """Theory, trend and verdict of every last-decade row, by ``verdict.judge`` (the one rule).

    ``claim_of(row)`` is the claim whose scope covers the row (or None: the row reads "none"); ``special(row,
    trend)`` may return the verdict of a row the study words itself (a control), else None."""
    slopes = slopes.reset_index(drop=True).copy()
    fits = slopes["window"] == "last decade"
    out = []
    for i, r in slopes[fits].iterrows():
        claim = claim_of(r)
        t = claim.at(r["alpha"], r["noise_alpha"]) if claim else None
        local = slopes[
            (~fits)
            & (slopes["method"] == r["method"])
            & (slopes["metric"] == r["metric"])
            & (slopes["quantile"] == r["quantile"])
            & (slopes["alpha"] == r["alpha"])
            & (slopes["noise"] == r["noise"])
        ]
        local = local.sort_values("kmax", ascending=False)
        trend = verdict.trend_of(list(local[["kmin", "kmax", "slope", "ci_low", "ci_high"]].itertuples(index=False)), t)
        said = special(r, trend) if special else None
        if said is None and r["quantile"] == "mean":
            said = verdict.Verdict.of(
                "reported only", claim, t, "means of heavy-tailed errors are reported, never judged"
            )
        elif said is None:
            said = verdict.judge_row(r, claim, confidence=p.confidence, allowance=p.allowance, trend=trend)
        out.append((i, {**said.as_dict(), "trend": trend}))
    for col in ("theory", "kind", "statement", "theory_source", "verdict", "reason", "trend"):
        slopes[col] = pd.Series([np.nan if col == "theory" else ""] * len(slopes), dtype=object)
    for i, row in out:
        for col, value in row.items():
            slopes.at[i, col] = value
    slopes["theory"] = slopes["theory"].astype(float)
    return slopes


def local_trend(xs, v, t, *, n_boot: int, confidence: float, seed: int) -> str:
    """``verdict.trend_of`` over the local slopes between consecutive starts (newest first): an additive
    constant in the iteration count (normalised GD needs (x0 − r)/(ητ) steps, GD a 1 − (ε/x0)² factor) bends the
    log-log slope toward its exponent as x0 grows; the rule reads such a row as pre-asymptotic, not as a
    violation."""
    windows = [(float(xs[i]), float(xs[i + 1])) for i in range(len(xs) - 2, -1, -1)]
    fits = stats.fit_rate_windows(xs, v, 0.5, windows, n_boot=n_boot, confidence=confidence, seed=seed)
    rows = [(lo, hi, f.slope, f.ci_low, f.ci_high) for (lo, hi), f in zip(windows, fits)]
    return verdict.trend_of(rows, t)


def thirds_trend(fit, theory: float | None, refit: Callable[..., Any], *args, seed_key: tuple, **kw) -> str:
    """``verdict.trend_of`` over local fits on the thirds of ``fit``'s window in log k, newest first: each third
    is ``refit(*args, kmin=, kmax=, seed=, **kw)`` with its ends widened by 1e-9 (the checkpoints on them count)
    and the seed ``derive_seed(*seed_key, lo)`` of its lower end lo. A fit without a slope has no local fits."""
    local = []
    if np.isfinite(fit.slope):
        edges = np.geomspace(fit.kmin, fit.kmax, 4)
        for lo, hi in zip(edges[::-1][1:], edges[::-1][:-1]):
            window = {"kmin": lo * (1 - 1e-9), "kmax": hi * (1 + 1e-9), "seed": derive_seed(*seed_key, lo)}
            f = refit(*args, **window, **kw)
            local.append((lo, hi, f.slope, f.ci_low, f.ci_high))
    return verdict.trend_of(local, theory)


def probability_rows(k, failing, n: int, common: Mapping[str, Any], *, confidence: float) -> list[dict]:
    """The probability P_k = failing/n at each checkpoint k with its exact (Clopper–Pearson) interval
    (``stats.binomial_ci``), one row per k opening with the ``common`` fields."""
    rows = []
    for t, c in zip(k, failing):
        ci = stats.binomial_ci(int(c), n, confidence_level=confidence).confidence_interval
        rows.append(
            {**common, "k": t, "failing": int(c), "n_traj": n, "p": c / n, "ci_low": ci.low, "ci_high": ci.high}
        )
    return rows


def sweep_fit(xs, v, t, p, *, checkpoints, seed_key: tuple) -> tuple[stats.RateFit, float, str]:
    """The median's growth in a swept variable over the rule's window: ``xs`` are the columns of the
    per-trajectory matrix ``v`` (counts such as the iterations to a target, read on the grid ``checkpoints``).
    Returns the fit, the grid's quantization allowance over the fitted xs (``verdict.grid_allowance``) and the
    trend of the local slopes against ``t`` (:func:`local_trend`); bootstrap seeds from ``p.seed`` and
    ``seed_key``."""
    seed = derive_seed(p.seed, "bootstrap", *seed_key)
    fit = stats.fit_rate(xs, v, 0.5, n_boot=p.n_boot, confidence=p.confidence, seed=seed)
    window = xs[(xs >= fit.kmin * (1 - 1e-12)) & (xs <= fit.kmax * (1 + 1e-12))]
    grid = verdict.grid_allowance(window, checkpoints)
    local = derive_seed(p.seed, "bootstrap", *seed_key, "local")
    return fit, grid, local_trend(xs, v, t, n_boot=p.n_boot, confidence=p.confidence, seed=local)


# -- the parts of a study that fits rates in k along one run --------------------------------------------------

#: the cell fields :func:`run_rate_cell` hands to the engine (besides the method, its params and checkpoints)
SIMULATED = ("problem", "noise", "alpha", "scale", "structure", "dim", "steps", "n_traj", "seed", "x0", "radius")


def engine_fields(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`SIMULATED` fields a cell holds: what the engine is handed besides the method and its params."""
    return {key: cell[key] for key in SIMULATED if key in cell}


def rate_cell(study: str, p, **fields: Any) -> dict:
    """One cell of a study that fits rates in k along a run: the fields every such cell holds, from the
    ``SimulationParams`` and ``FitParams`` groups (K, N, seed, quantiles, confidence, n_boot; i.i.d. noise),
    then the study's own ``fields`` (method, label, problem, noise, alpha, the method's ``params``, ...)."""
    return {
        "study": study,
        "structure": "iid",
        **simulation_fields(p),
        "quantiles": list(p.quantiles),
        "confidence": p.confidence,
        "n_boot": p.n_boot,
        **fields,
    }


def summed_in_chunks(
    method: str, cell: Mapping[str, Any], params, reduce: Callable, *, chunk: int, key: tuple, threads=None, **engine
) -> tuple[Any, float]:
    """Σ over a cell's N trajectories of ``reduce(result)`` (counts per checkpoint, say), simulated in engine
    calls of at most ``chunk`` trajectories so that memory stays bounded whatever N; the call that starts at
    trajectory ``done`` has the seed ``derive_seed(cell seed, *key, done)``. Every call gets the cell's
    :data:`SIMULATED` fields, which ``engine`` overrides (the checkpoints, the noise's α), and ``params``.
    Returns the sum and the seconds the calls took, after a 64-trajectory call that compiles the kernel (so the
    seconds are a benchmark of the runs alone)."""
    run = {**engine_fields(cell), **engine}
    n_traj, seed = run.pop("n_traj"), run.pop("seed")
    simulate(method, n_traj=64, seed=0, threads=threads, **run, **params)
    start, done, total = time.perf_counter(), 0, 0
    while done < n_traj:
        n = min(chunk, n_traj - done)
        res = simulate(method, n_traj=n, seed=derive_seed(seed, *key, done), threads=threads, **run, **params)
        total = total + reduce(res)
        done += n
    return total, time.perf_counter() - start


def benchmark_row(common: Mapping[str, Any], steps: int, seconds: float) -> dict:
    """A benchmark's row: the ``common`` fields (``n_traj`` among them), the steps K, the seconds the runs took
    and the trajectory-steps per second."""
    return {**common, "steps": steps, "seconds": seconds, "traj_steps_per_s": common["n_traj"] * steps / seconds}


def run_rate_cell(
    cell: Mapping[str, Any], metrics, *, threads=None, checkpoints=None, params=None, **engine: Any
) -> dict[str, pd.DataFrame]:
    """Simulate a :func:`rate_cell` (its method with its ``params`` unless ``params`` says, at ``checkpoints``,
    by default log-spaced up to K) and :func:`summarize` it over ``metrics``; ``engine`` overrides the cell's
    :data:`SIMULATED` fields or adds the engine's own (μ, progress, device)."""
    checkpoints = log_checkpoints(cell["steps"]) if checkpoints is None else checkpoints
    params = cell["params"] if params is None else params
    res = simulate(cell["method"], threads=threads, checkpoints=checkpoints, **(engine_fields(cell) | engine), **params)
    return summarize(res, cell, metrics)


def slope_scoreboard(
    meta,
    slopes: pd.DataFrame,
    *,
    setting: Callable[[dict], str],
    quantity: Callable[[dict], str],
    reason: Callable[[dict], str] | None = None,
    beside: Callable[[dict, dict], list[dict]] | None = None,
) -> pd.DataFrame:
    """One scoreboard row per judged last-decade row (theory "none" and the reported-only means left out), its
    reason ``reason(row)`` where given, each followed by the rows ``beside(its scoreboard row, row)`` (the row
    against other claims read beside the judging one, :func:`report.beside_row`)."""
    fits = slopes[(slopes["window"] == "last decade") & ~slopes["verdict"].isin([verdict.NONE, "reported only", ""])]
    rows = []
    for r in fits.to_dict("records"):
        why = {"reason": reason(r)} if reason else {}
        row = report.score_row(meta, r, setting=setting(r), quantity=quantity(r), **why)
        rows += [row, *(beside(row, r) if beside else [])]
    return report.scoreboard(rows)


#: the α-spread rule's words, fixed before any run (docs/studies/nonlinear-sgd.md)
ALPHA_FREE, MOVES, UNDECIDED = "α-free", "moves with α", "inconclusive"
#: the verdicts that say an upper bound holds at a row
WITHIN = (verdict.WORDS["upper"]["match"], verdict.WORDS["upper"]["faster"])


def _bound(said: set) -> str:
    if "violates" in said:
        return "violated"
    if said & {verdict.INSUFFICIENT, ""}:
        return "no data"
    if said <= {verdict.NONE}:
        return "not judged"
    return "holds" if said <= set(WITHIN) else "undecided"


def alpha_spread(slopes: pd.DataFrame, judged) -> pd.DataFrame:
    """The α-spread rule, per (noise, method, metric, quantile), from the judged rows' intervals alone (no new
    interval): *α-free* when the union of the slope intervals across α is no wider than the rule's resolution;
    *moves with α* when two of them are disjoint; else *inconclusive*. The statement's decision (metrics in
    ``judged``): *holds* when α-free and every row is within the bound, *fails* when it moves or a row violates,
    else *inconclusive*."""
    fits = slopes[(slopes["window"] == "last decade") & (slopes["quantile"] != "mean")]
    rows = []
    for (noise, method, metric, q), part in fits.groupby(["noise", "method", "metric", "quantile"], sort=False):
        lo, hi = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
        union = float(np.max(hi) - np.min(lo)) if np.isfinite([lo, hi]).all() else np.inf
        word = ALPHA_FREE if union <= verdict.RULE.resolution else MOVES if np.max(lo) > np.min(hi) else UNDECIDED
        bound = _bound(set(part["verdict"]))
        if metric not in judged:
            decision = "-"
        elif word == MOVES or bound == "violated":
            decision = "fails"
        else:
            decision = "holds" if word == ALPHA_FREE and bound == "holds" else "inconclusive"
        fastest, slowest = part.loc[part["slope"].idxmin()], part.loc[part["slope"].idxmax()]
        rows.append(
            {
                **{"noise": noise, "method": method, "metric": metric, "quantile": q, "alphas": len(part)},
                **{"lowest": float(fastest["slope"]), "highest": float(slowest["slope"]), "union": union},
                **{"fastest_alpha": float(fastest["alpha"]), "slowest_alpha": float(slowest["alpha"])},
                **{"spread": word, "bound": bound, "decision": decision},
            }
        )
    return pd.DataFrame(rows)


def simulate_to_horizon(cell: Mapping[str, Any], params: Mapping[str, Any], *, threads=None, **engine: Any):
    """Simulate a cell's method with ``params`` to K = ``steps``, keeping only the final checkpoint: the cell's
    :data:`SIMULATED` fields, which ``engine`` overrides (a study whose cell's α is not the noise's, say)."""
    run = {**engine_fields(cell), **engine}
    return simulate(cell["method"], threads=threads, checkpoints=[cell["steps"]], **run, **params)


def fit_row(fit) -> dict[str, Any]:
    """A rate fit's columns of a slopes table: the slope, its interval and intercept, the fitted window's ends and
    points, and why the fit failed if it did (``fit_reason``)."""
    names = ("slope", "ci_low", "ci_high", "intercept", "kmin", "kmax", "n_points")
    return {**fit_fields(fit, names), "fit_reason": fit.reason}


def fit_fields(fit, names: Sequence[str] = ("slope", "ci_low", "ci_high")) -> dict[str, Any]:
    """A fit's attributes by name as a table row's fields: the slope and its interval unless ``names`` says."""
    return {name: getattr(fit, name) for name in names}


def delta_columns(part: pd.DataFrame, deltas) -> np.ndarray:
    """The ``value`` column of a table's runs as one column per δ (column j: the rows whose ``delta`` is
    ``deltas[j]``; runs that share their seed give the rows of one i.i.d. sample of vectors)."""
    return np.stack([part.loc[part["delta"] == d, "value"].to_numpy() for d in deltas], axis=1)


def ratio_to(frame: pd.DataFrame, by: str, reference: str, *, on: Sequence[str]) -> pd.DataFrame:
    """``frame`` with ``ratio_to_<reference>``: each row's value over the value of the row with ``by`` equal to
    ``reference`` and the same ``on`` fields (NaN where there is none)."""
    ref = frame.loc[frame[by] == reference, [*on, "value"]].rename(columns={"value": "_reference"})
    out = frame.merge(ref, on=list(on), how="left")
    out[f"ratio_to_{reference}"] = out["value"] / out.pop("_reference")
    return out


def delta_quantiles(values, deltas, common: Mapping[str, Any], *, confidence: float, **columns) -> list[dict]:
    """Each δ's (1 − δ)-quantile with its order-statistic interval (``stats.quantile_ci``), one row per δ opening
    with the ``common`` fields: ``values`` is one sample read at every δ (1-D) or one column per δ (2-D: column j
    the runs tuned to ``deltas[j]``); ``columns`` are per-δ values (such as ln(1/δ)) placed after δ."""
    values = np.asarray(values)
    rows = []
    for j, d in enumerate(deltas):
        est, lo, hi = stats.quantile_ci(values if values.ndim == 1 else values[:, j], 1.0 - d, confidence=confidence)
        row = {**common, "delta": d, **{name: column[j] for name, column in columns.items()}}
        rows.append({**row, "value": float(est), "ci_low": float(lo), "ci_high": float(hi)})
    return rows


def final_values(res, metric: str, fields: Mapping[str, Any], *, value=None, **extra) -> pd.DataFrame:
    """One row per trajectory of a run's final checkpoint: the cell's ``fields``, the trajectory, its ``metric``
    ("value"; ``value`` gives it instead, such as a statistic over the checkpoints), any ``extra`` per-trajectory
    columns and whether it failed (a study's analysis counts failures as +inf, never drops them)."""
    return pd.DataFrame(
        {
            **fields,
            "trajectory": np.arange(res.n_traj),
            "value": res.metric(metric)[:, -1] if value is None else value,
            **extra,
            "failed": res.failed,
        }
    )


def delta_tables(values, deltas, common: Mapping[str, Any], *, confidence: float, n_boot: int, seed: int) -> dict:
    """The growth in 1/δ of one sample's (1 − δ)-quantile: table "quantiles" (each δ's order-statistic interval,
    :func:`delta_quantiles`) and table "fits" (both models of ``verdict.DELTA_MODELS`` with the power-law test
    the rule reads), each row opening with the ``common`` fields."""
    qrows = delta_quantiles(values, deltas, common, confidence=confidence)
    fits, test = verdict.fit_delta_growth(values, deltas, n_boot=n_boot, confidence=confidence, seed=seed)
    fit_names = ("slope", "ci_low", "ci_high", "intercept", "r2", "reason")
    test_fields = {"power_law_p": test.p_value, "power_law_rejects": test.rejects}
    frows = [{**common, "model": m, **fit_fields(f, fit_names), **test_fields} for m, f in fits.items()]
    return {"quantiles": pd.DataFrame(qrows), "fits": pd.DataFrame(frows)}


def delta_verdicts(fits: pd.DataFrame, keys: list[str], *, boundary: float, power: float) -> list[dict]:
    """One row per group of a :func:`delta_tables` "fits" table: both models' slopes and intervals, the power-law
    test's p-value and the word of ``verdict.classify_delta_growth``."""
    rows = []
    for key, part in fits.groupby(keys, sort=False):
        by = {r["model"]: r for _, r in part.iterrows()}
        poly = by["poly"]
        row = dict(zip(keys, key))
        for m in verdict.DELTA_MODELS:
            row.update({f"{m}_slope": by[m]["slope"], f"{m}_low": by[m]["ci_low"], f"{m}_high": by[m]["ci_high"]})
        said = verdict.classify_delta_growth(poly, by["polylog"], boundary, power, bool(poly["power_law_rejects"]))
        row.update(boundary=boundary, polylog_power=power, power_law_p=poly["power_law_p"], verdict=said)
        rows.append({**row, "n_traj": int(poly["n_traj"]), "n_failed": int(poly["n_failed"])})
    return rows
