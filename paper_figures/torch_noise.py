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
# # Gradient noise of real networks: the histograms of Figure 1
#
# Reads only the stored results of `python -m synthclip.study torch-noise` (under
# `studies/results/torch-noise/`; set `SYNTHCLIP_RESULTS` to read another results root). For each model
# (the character transformer on pydoc text, the digits CNN and MLP) and probe point it draws the histogram
# of the minibatch-noise norms ‖g_B − ∇f‖ divided by their median, on log-log axes, one colour per batch
# size B, with the Pareto tail fitted by Hill's estimator above its threshold (dashed). Zhang et al.
# (2020, Figure 1) expect the attention model's noise heavy-tailed and the image models' lighter; the
# table gives the study's verdicts (heavy-tailed if Hill's interval for α lies below 2).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import NullFormatter

from synthclip.study.torch_noise import HEAVY_BELOW, TASKS, X_TICKS, hill_tail

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "torch-noise"
assert (root / "norms.parquet").exists(), \
    f"no torch-noise results under {root}: run `python -m synthclip.study torch-noise` first"
norms = pd.read_parquet(root / "norms.parquet")
tails = pd.read_parquet(root / "tails.parquet")
verdicts = pd.read_parquet(root / "verdicts.parquet")
verdicts[["model", "step", "batch_size", "loss", "hill_alpha", "hill_ci_low", "hill_ci_high",
          "mohammadi_alpha", "mohammadi_ci_low", "mohammadi_ci_high", "verdict"]]

# %%
pd.read_parquet(root / "models.parquet")[["model", "verdict", "expected", "figure1_agrees_at"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
whole = norms[(norms.layer == "all") & np.isfinite(norms.norm) & (norms.norm > 0)].copy()
whole["scaled"] = whole.norm / whole.groupby(["model", "step", "batch_size"]).norm.transform("median")
lo, hi = min(whole.scaled.min(), 0.5), max(whole.scaled.max(), 2.0)  # one x range: spreads compare
hill = tails[(tails.layer == "all") & (tails["sample"] == "norm")]
models = [m for m in TASKS if m in set(whole.model)]
steps = sorted(whole.step.unique())
sizes = sorted(whole.batch_size.unique())
colors = dict(zip(sizes, sns.color_palette("crest", len(sizes))))
fig, axes = plt.subplots(len(steps), len(models), figsize=(3.2 * len(models), 2.8 * len(steps)), squeeze=False)
for i, step in enumerate(steps):
    for j, model in enumerate(models):
        ax = axes[i, j]
        for b in sizes:
            y = whole[(whole.model == model) & (whole.step == step) & (whole.batch_size == b)].scaled.to_numpy()
            if y.size == 0:
                continue
            r = hill[(hill.model == model) & (hill.step == step) & (hill.batch_size == b)].iloc[0]
            ax.hist(y, bins=np.geomspace(lo, hi, 40), density=True, color=colors[b],
                    alpha=0.45, label=f"B={b}: α̂={r.alpha:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]")
            fit = hill_tail(y, r.alpha, int(r.k))
            if fit is not None:
                ax.plot(*fit, color=colors[b], ls="--", lw=1.3)
        v = verdicts[(verdicts.model == model) & (verdicts.step == step)]
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), title=f"{model}, step {step}\n" + ", ".join(
            f"B={int(r.batch_size)}: {r.verdict}" for r in v.itertuples()))
        ax.title.set_fontsize(8)
        ticks = [t for t in X_TICKS if lo <= t <= hi]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=6)
        if i == len(steps) - 1:
            ax.set_xlabel("‖ξ‖ / median ‖ξ‖")
        if j == 0:
            ax.set_ylabel("density")
fig.suptitle(f"Minibatch gradient-noise norms; dashed: Hill tail; heavy-tailed if α's interval < {HEAVY_BELOW:g}",
             fontsize=9)
fig.tight_layout()
fig.savefig("torch_noise.png", dpi=120)
