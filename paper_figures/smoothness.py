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
# # Smoothness: iterations to ε against the start x0 on (L0,L1)-smooth functions
#
# Reads only the stored results of `python -m synthclip.study smoothness` (under
# `studies/results/smoothness/`; set `SYNTHCLIP_RESULTS` to read another results root). For x⁴/4 and
# cosh x − 1: the median number of iterations until f − f* ≤ ε (band: order-statistic interval) for GD with
# a step tuned to the start (η = 1/L(x0)), clipped GD and normalised GD (both with x0-free constants); GD with
# the clipped method's step never gets there from far starts (marked ×). Dashed: the theory's growth through
# the fitted median, x0² (quartic) and e^x0 (cosh) for tuned GD, x0 (linear) for the clipped methods.

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip import theory

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "smoothness"
assert (root / "iterations.parquet").exists(), f"no smoothness results under {root}: run the study first"
iterations = pd.read_parquet(root / "iterations.parquet")
slopes = pd.read_parquet(root / "slopes.parquet")
eps = json.loads((root / "meta.json").read_text())["params"]["eps"]
slopes[["problem", "method", "scale", "slope", "ci_low", "ci_high", "theory", "verdict"]]

# %%
sns.set_theme(style="whitegrid", context="paper")  # drawn at page width (8 in): labels read in print
problems = list(dict.fromkeys(iterations.problem))
med = iterations[iterations["quantile"] == 0.5]
palette = dict(zip(["gd-tuned", "gd-fixed", "clip", "normalized"], sns.color_palette("deep", 4)))
fig, axes = plt.subplots(1, len(problems), figsize=(8, 3.6), squeeze=False)
for ax, problem in zip(axes[0], problems):
    part = med[med.problem == problem]
    finite = part[np.isfinite(part.value)]
    sns.lineplot(data=finite, x="x0", y="value", hue="method", palette=palette, marker="o", ax=ax)
    for method, m in finite.groupby("method"):
        m = m.sort_values("x0")
        ax.fill_between(m.x0, m.ci_low, m.ci_high.replace(np.inf, np.nan), color=palette.get(method), alpha=0.2, lw=0)
    never = part[~np.isfinite(part.value)]
    top = 2 * finite.value.max()
    ax.scatter(
        never.x0,
        np.full(len(never), top),
        marker="x",
        color=[palette.get(m) for m in never.method],
        label="never reaches ε" if len(never) else None,
    )
    for _, r in slopes[slopes.problem == problem].iterrows():
        if r.method not in ("gd-tuned", "clip", "normalized") or not np.isfinite(r.intercept):
            continue
        if r.scale == "semilog":  # log iterations = intercept + slope·x0; theory: slope 1 (e^x0)
            t = theory.exponent("zhang2020-gd", "sgd", problem, "iterations", 2.0)
            xs = np.linspace(r.x_min, r.x_max, 20)
            ax.plot(
                xs,
                np.exp(r.intercept + r.slope * r.x_min) * np.exp(t * (xs - r.x_min)),
                "k--",
                lw=1,
                label="e^x0 (tuned GD)",
            )
        elif r.method == "gd-tuned" and problem == "quartic":
            t = theory.exponent("zhang2020-gd", "sgd", problem, "iterations", 2.0)
            xs = np.geomspace(r.x_min, r.x_max, 20)
            ax.plot(
                xs,
                np.exp(r.intercept) * r.x_min**r.slope * (xs / r.x_min) ** t,
                "k--",
                lw=1,
                label=f"x0^{t:g} (tuned GD)",
            )
        elif r.method == "normalized":
            t = theory.exponent("zhang2020-clip", "gclip", "l0l1_smooth", "iterations", 2.0)
            xs = np.geomspace(r.x_min, r.x_max, 20)
            ax.plot(
                xs,
                np.exp(r.intercept) * r.x_min**r.slope * (xs / r.x_min) ** t,
                ":",
                color="k",
                lw=1,
                label=f"x0^{t:g} (clipped bound)",
            )
    claim = slopes.loc[slopes.problem == problem, "claim"].iloc[0].split(":")[0]
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="start x0",
        ylabel=f"iterations to f − f* ≤ {eps:g}",
        title=f"{problem}: claim {claim}",
    )
    ax.legend(fontsize=6)
fig.tight_layout()
fig.savefig("smoothness.png", dpi=120)
