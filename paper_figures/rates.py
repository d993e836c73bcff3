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
# Reads only the stored results of `python -m synthclip.study rates` (one folder per α under
# `studies/results/rates/`; set `SYNTHCLIP_RESULTS` to read another results root) and draws, for each
# α and method, the quantile bands of the error at Theorem 4's weighted average with the theory
# exponent −2(α−1)/α (solid) and Table 1's −(α−1)/α (dotted) through the fitted median.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip import theory

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "rates"
folders = sorted(p for p in root.glob("alpha=*") if (p / "quantiles.parquet").exists())
assert folders, f"no rates results under {root}: run `python -m synthclip.study rates` first"
quantiles = pd.concat([pd.read_parquet(p / "quantiles.parquet") for p in folders], ignore_index=True)
slopes = pd.concat([pd.read_parquet(p / "slopes.parquet") for p in folders], ignore_index=True)
slopes[(slopes.metric == "f_avg") & (slopes.quantile != "mean")][
    ["alpha", "method", "quantile", "slope", "ci_low", "ci_high", "theory", "verdict"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
q = quantiles[(quantiles.metric == "f_avg") & (quantiles.statistic == "quantile")]
alphas = sorted(q.alpha.unique())
methods = [m for m in ["sgd", "gclip", "gclip-balanced", "cclip", "adagrad_norm", "clip_adagrad_norm",
                       "adam_norm", "clip_adam_norm"] if m in set(q.method)]
fig, axes = plt.subplots(len(alphas), len(methods), figsize=(2.6 * len(methods), 2.4 * len(alphas)),
                         squeeze=False, sharex=True)
colors = dict(zip(sorted(q["quantile"].unique()), sns.color_palette("flare", q["quantile"].nunique())))
for i, alpha in enumerate(alphas):
    for j, method in enumerate(methods):
        ax = axes[i, j]
        part = q[(q.alpha == alpha) & (q.method == method)]
        for level, band in part.groupby("quantile"):
            band = band.sort_values("k")
            ax.plot(band.k, band.value, color=colors[level], lw=1.3, label=f"q={level:g}")
            ax.fill_between(band.k, band.ci_low.clip(lower=1e-300), band.ci_high.replace(np.inf, np.nan),
                            color=colors[level], alpha=0.25, lw=0)
        fit = slopes[(slopes.alpha == alpha) & (slopes.method == method) & (slopes.metric == "f_avg")
                     & (slopes["quantile"] == "0.5")]
        if not fit.empty:
            r = fit.iloc[0]
            ks = np.geomspace(r.kmin, r.kmax, 10)
            anchor = np.exp(r.intercept) * r.kmin ** r.slope
            for name, style in (("thm4", "-"), ("table1", ":")):
                t = theory.exponent(name, "gclip", "strongly_convex", "f_avg", alpha)
                ax.plot(ks, anchor * (ks / r.kmin) ** t, "k", ls=style, lw=1,
                        label=f"{'Thm 4' if name == 'thm4' else 'Table 1'} {t:+.2f}")
        ax.set(xscale="log", yscale="log", title=f"{method}, α={alpha:g}")
        if j == 0:
            ax.set_ylabel("f(x̄_k) − f*")
        if i == len(alphas) - 1:
            ax.set_xlabel("k")
axes[0, 0].legend(fontsize=6)
fig.tight_layout()
fig.savefig("rates.png", dpi=120)
