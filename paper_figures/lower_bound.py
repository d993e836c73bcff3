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
# # Lower bound: every method against Theorem 5's randomised spike pair
#
# Reads only the stored results of `python -m synthclip.study lower-bound` (one folder per α under
# `studies/results/lower-bound/`; set `SYNTHCLIP_RESULTS` to read another results root). Every run draws one
# of Theorem 5's two spike instances by a fair coin (the same sample values, spike probabilities p(1 ± δ),
# optima ∓δ·S); p = c/K is tied to the horizon, so each K is its own run. Per method, over the mixture of both
# instances: the mean of f(x_K) − f* (Theorem 5's quantity), the median and 0.9-quantile with order-statistic
# bands, and the (1 − c/K)-quantile
# ("tail", where a late spike shows), against K. The dashed line is the bound c·K^(−2(α−1)/α) with the
# largest c the mean allows (it touches the mean once): a method respects the bound when its mean does not
# fall away from that line faster than the exponent, which the study's verdict tests with an interval.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip import theory

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "lower-bound"
folders = sorted(p for p in root.glob("alpha=*") if (p / "quantiles.parquet").exists())
assert folders, f"no lower-bound results under {root}: run `python -m synthclip.study lower-bound` first"
quantiles = pd.concat([pd.read_parquet(p / "quantiles.parquet") for p in folders], ignore_index=True)
slopes = pd.concat([pd.read_parquet(p / "slopes.parquet") for p in folders], ignore_index=True)
slopes[slopes.statistic.isin(["mean", "0.5", "tail"])][["alpha", "method", "statistic", "slope", "ci_low",
                                                        "ci_high", "theory", "verdict"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
methods = list(dict.fromkeys(quantiles.method))
alphas = sorted(quantiles.alpha.unique())
panels = [(alpha, method) for alpha in alphas for method in methods]
ncols = min(4, len(panels))
nrows = -(-len(panels) // ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(2.9 * ncols, 2.6 * nrows), squeeze=False)
for ax in axes.ravel()[len(panels):]:
    ax.set_visible(False)
stats_drawn = list(dict.fromkeys(quantiles.statistic))
palette = dict(zip(stats_drawn, sns.color_palette("deep", len(stats_drawn))))
for n, (ax, (alpha, method)) in enumerate(zip(axes.ravel(), panels)):
    t = theory.exponent("thm5", "*", "strongly_convex", "f", alpha)
    part = quantiles[(quantiles.alpha == alpha) & (quantiles.method == method)]
    sns.lineplot(data=part, x="K", y="value", hue="statistic", palette=palette, marker="o", ax=ax, legend=(n == 0))
    for stat in ("0.5", "0.9"):
        band = part[part.statistic == stat].sort_values("K")
        ax.fill_between(band.K, band.ci_low, band.ci_high.replace(np.inf, np.nan), color=palette[stat],
                        alpha=0.25, lw=0)
    mean = part[part.statistic == "mean"].sort_values("K")
    c = np.min(mean.value / mean.K ** t)  # the largest c with c·K^t below the mean at every K
    ks = np.geomspace(mean.K.min(), mean.K.max(), 10)
    ax.plot(ks, c * ks ** t, "k--", lw=1.2, label=f"c·K^{t:+.2f}")
    verdict = slopes[(slopes.alpha == alpha) & (slopes.method == method) & (slopes.statistic == "mean")]
    said = verdict.verdict.iloc[0] if not verdict.empty else ""
    ax.set_title(f"{method}, α={alpha:g}: {said}", fontsize=8)
    ax.set(xscale="log", yscale="log", xlabel="horizon K", ylabel="f(x_K) − f*" if n % ncols == 0 else "")
axes[0, 0].legend(fontsize=6)
fig.tight_layout()
fig.savefig("lower_bound.png", dpi=120)
