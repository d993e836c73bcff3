# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Rates: high-probability quantiles of f(x̄_k) − f* against Theorem 4
#
# Reads only the stored results of `python -m synthclip.study rates` and `rates-onesided` (one folder per
# α under `studies/results/rates*/`; set `SYNTHCLIP_RESULTS` to read another results root). Top rows: for
# each α and method, the quantile bands of the error at Theorem 4's weighted average with the theory
# exponent −2(α−1)/α (solid), Table 1's −(α−1)/α (dotted) and, on asymmetric noise, the printed schedule's
# bias limit (dash-dot) through the fitted median; titles carry the verdict of the one rule
# (`synthclip.verdict`). Bottom row: the median's local slopes per half-decade with their intervals.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip import theory
from synthclip.study.rates import RATE_METHODS

base = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results"))
folders = sorted(p for study in ("rates", "rates-onesided") for p in (base / study).glob("alpha=*")
                 if (p / "quantiles.parquet").exists())
assert folders, f"no rates results under {base}: run `python -m synthclip.study rates` first"
quantiles = pd.concat([pd.read_parquet(p / "quantiles.parquet").assign(run=p.parent.name) for p in folders],
                      ignore_index=True)
slopes = pd.concat([pd.read_parquet(p / "slopes.parquet").assign(run=p.parent.name) for p in folders],
                   ignore_index=True)
fits = slopes[slopes.window == "last decade"]
fits[(fits.metric == "f_avg") & (fits.quantile != "mean")][
    ["run", "alpha", "noise_alpha", "method", "quantile", "slope", "ci_low", "ci_high", "theory", "statement",
     "verdict", "trend"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
q = quantiles[(quantiles.metric == "f_avg") & (quantiles.statistic == "quantile")]
runs = list(dict.fromkeys(zip(q.run, q.alpha)))
order = list(RATE_METHODS)  # the study's own order; a plugin's rows follow
methods = [m for m in order if m in set(q.method)] + sorted(set(q.method) - set(order))
fig, axes = plt.subplots(len(runs) + 1, len(methods), figsize=(2.5 * len(methods), 2.4 * (len(runs) + 1)),
                         squeeze=False)
colors = dict(zip(sorted(q["quantile"].unique()), sns.color_palette("flare", q["quantile"].nunique())))
for i, (run, alpha) in enumerate(runs):
    for j, method in enumerate(methods):
        ax = axes[i, j]
        part = q[(q.run == run) & (q.alpha == alpha) & (q.method == method)]
        if part.empty:
            ax.set_visible(False)
            continue
        for level, band in part.groupby("quantile"):
            band = band.sort_values("k")
            ax.plot(band.k, band.value, color=colors[level], lw=1.3, label=f"q={level:g}")
            ax.fill_between(band.k, band.ci_low.clip(lower=1e-300), band.ci_high.replace(np.inf, np.nan),
                            color=colors[level], alpha=0.25, lw=0)
        fit = fits[(fits.run == run) & (fits.alpha == alpha) & (fits.method == method) & (fits.metric == "f_avg")
                   & (fits["quantile"] == "0.5")]
        title = f"{method}"
        if not fit.empty:
            r = fit.iloc[0]
            title += f": {r.verdict}"
            ks = np.geomspace(r.kmin, r.kmax, 10)
            anchor = np.exp(r.intercept) * r.kmin ** r.slope
            lines = [("Thm 4", theory.exponent("thm4", "gclip", "strongly_convex", "f_avg", alpha), "-"),
                     ("Table 1", theory.exponent("table1", "gclip", "strongly_convex", "f_avg", alpha), ":")]
            if run == "rates-onesided" and method in ("gclip", "cclip"):
                limit = theory.claim("bias-limit", "gclip", "strongly_convex", "f_avg").at(alpha, r.noise_alpha)
                lines.append(("bias limit", limit, "-."))
            for name, t, style in lines:
                ax.plot(ks, anchor * (ks / r.kmin) ** t, "k", ls=style, lw=1, label=f"{name} {t:+.2f}")
        ax.set(xscale="log", yscale="log")
        ax.set_title(f"{run} α={alpha:g}\n{title}", fontsize=7)
        if j == 0:
            ax.set_ylabel("f(x̄_k) − f*")
        ax.legend(fontsize=5)
local = slopes[(slopes.window == "half-decade") & (slopes.metric == "f_avg") & (slopes["quantile"] == "0.5")]
for j, method in enumerate(methods):
    ax = axes[-1, j]
    for (run, alpha), part in local[local.method == method].groupby(["run", "alpha"]):
        part = part.sort_values("kmax")
        mid = np.sqrt(part.kmin * part.kmax)
        line, = ax.plot(mid, part.slope, marker="o", ms=3, lw=1, label=f"{run} α={alpha:g}")
        ax.fill_between(mid, part.ci_low, part.ci_high, color=line.get_color(), alpha=0.2, lw=0)
        ax.axhline(theory.exponent("thm4", "gclip", "strongly_convex", "f_avg", alpha), color=line.get_color(),
                   ls="--", lw=0.8)
    ax.set(xscale="log", xlabel="k", title=f"{method}: local slopes (median)")
    ax.title.set_fontsize(7)
    ax.legend(fontsize=5)
fig.tight_layout()
fig.savefig("rates.png", dpi=120)
