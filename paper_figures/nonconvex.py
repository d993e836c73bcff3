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
# # Non-convex: GClip with Theorem 2's horizon-tuned τ and η
#
# Reads only the stored results of `python -m synthclip.study nonconvex` (one folder per α under
# `studies/results/nonconvex/`; set `SYNTHCLIP_RESULTS` to read another results root). Each horizon K is its
# own run with τ_K ∝ K^(1/(3α−2)) and η_K ∝ τ_K^(−α). Panels: min_{k≤K} ‖∇f(x_k)‖ (not the theorem's
# quantity: an extreme value of K draws), Theorem 2's left-hand side (1/K) Σ min{‖∇f‖, ‖∇f‖²}, and the
# average ‖∇f‖ (Remark 3), each with its median and 0.9-quantile bands (order-statistic intervals) against
# K, and the theory exponent (dashed) through the fitted median. Grey: the control `gclip-inverted`
# (τ ∝ K^(α/(3α−2)), the inverted exponent of Theorem 2's τ), which stalls.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip import theory

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "nonconvex"
folders = sorted(p for p in root.glob("alpha=*") if (p / "quantiles.parquet").exists())
assert folders, f"no nonconvex results under {root}: run `python -m synthclip.study nonconvex` first"
quantiles = pd.concat([pd.read_parquet(p / "quantiles.parquet") for p in folders], ignore_index=True)
slopes = pd.concat([pd.read_parquet(p / "slopes.parquet") for p in folders], ignore_index=True)
slopes[slopes.statistic != "mean"][["alpha", "method", "metric", "statistic", "slope", "ci_low", "ci_high",
                                    "theory", "verdict"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
metrics = {"grad_norm_min": "min$_{k≤K}$ ‖∇f(x$_k$)‖", "thm2_lhs": "(1/K) Σ min{‖∇f‖, ‖∇f‖²}",
           "grad_norm_avg": "(1/K) Σ ‖∇f(x$_k$)‖"}
q = quantiles[quantiles.statistic.isin(["0.5", "0.9"])]
alphas = sorted(q.alpha.unique())
fig, axes = plt.subplots(len(alphas), len(metrics), figsize=(3.4 * len(metrics), 2.9 * len(alphas)),
                         squeeze=False)
palette = dict(zip(["0.5", "0.9"], sns.color_palette("flare", 2)))
for i, alpha in enumerate(alphas):
    for j, (metric, label) in enumerate(metrics.items()):
        ax = axes[i, j]
        part = q[(q.alpha == alpha) & (q.metric == metric)]
        main = part[part.method == "gclip"]
        sns.lineplot(data=main, x="K", y="value", hue="statistic", palette=palette, marker="o", ax=ax,
                     legend=(i == 0 and j == 0))
        for stat, band in main.groupby("statistic"):
            band = band.sort_values("K")
            ax.fill_between(band.K, band.ci_low, band.ci_high.replace(np.inf, np.nan), color=palette[stat],
                            alpha=0.25, lw=0)
        control = part[(part.method == "gclip-inverted") & (part.statistic == "0.5")].sort_values("K")
        if not control.empty:
            ax.plot(control.K, control.value, color="0.6", ls="-", marker=".", label="gclip-inverted median")
        fit = slopes[(slopes.alpha == alpha) & (slopes.method == "gclip") & (slopes.metric == metric)
                     & (slopes.statistic == "0.5")]
        if not fit.empty:
            r = fit.iloc[0]
            claim = "thm2"
            t = theory.exponent(claim, "gclip", "nonconvex", metric, alpha)
            ks = np.geomspace(r.kmin, r.kmax, 10)
            start = np.exp(r.intercept) * r.kmin ** r.slope
            ax.plot(ks, start * (ks / r.kmin) ** t, "k--", lw=1, label=f"theory K^{t:+.2f}")
            ax.set_title(f"α={alpha:g}: fit {r.slope:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] ({r.verdict})",
                         fontsize=8)
        ax.set(xscale="log", yscale="log", xlabel="horizon K", ylabel=label)
        ax.legend(fontsize=6)
fig.tight_layout()
fig.savefig("nonconvex.png", dpi=120)
