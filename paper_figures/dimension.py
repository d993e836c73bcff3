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
# # Dimension: GClip against CClip as d grows (Corollary 7 vs Theorem 8)
#
# Reads only the stored results of `python -m synthclip.study dimension` (under
# `studies/results/dimension/`; set `SYNTHCLIP_RESULTS` to read another results root). Left: each method's
# median error against d with its order-statistic band, i.i.d. against radial noise. Right: the GClip/CClip
# ratio of medians with its joint-bootstrap band, the fitted growth exponent, and the bound's exponent from
# `synthclip.theory` (d^(2/α) for i.i.d. coordinates, d^0 for radial noise).

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip import theory

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "dimension"
assert (root / "errors.parquet").exists(), f"no dimension results under {root}: run the study first"
errors = pd.read_parquet(root / "errors.parquet")
ratios = pd.read_parquet(root / "ratios.parquet")
growth = pd.read_parquet(root / "growth.parquet")
growth[["structure", "series", "exponent", "ci_low", "ci_high", "bound", "verdict", "expected"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
palette = dict(zip(["iid", "radial"], sns.color_palette("deep", 2)))
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
ax = axes[0]
for (structure, method), part in errors.groupby(["structure", "method"]):
    part = part.sort_values("dim")
    ax.plot(part.dim, part["median"], marker="o", ms=3, ls="-" if method == "gclip" else "--",
            color=palette[structure], label=f"{method}, {structure}")
    ax.fill_between(part.dim, part.ci_low, part.ci_high.replace(np.inf, np.nan), color=palette[structure],
                    alpha=0.2, lw=0)
ax.set(xscale="log", yscale="log", xlabel="dimension d", ylabel="median f(x̄_K) − f*", title="errors")
ax.legend(fontsize=7)
ax = axes[1]
claims = {"iid": ("cor7/thm8", "gclip/cclip", "coordinatewise", "ratio"),
          "radial": ("cor7/thm8-radial", "gclip/cclip", "radial", "ratio")}
alpha = float(growth.alpha.iloc[0])
for structure, part in ratios.groupby("structure"):
    part = part.sort_values("dim")
    fit = growth[(growth.structure == structure) & (growth.series == "ratio")].iloc[0]
    ax.plot(part.dim, part.ratio, marker="o", ms=3, color=palette[structure],
            label=f"{structure}: exponent {fit.exponent:+.2f} [{fit.ci_low:+.2f}, {fit.ci_high:+.2f}] ({fit.verdict})")
    ax.fill_between(part.dim, part.ci_low, part.ci_high, color=palette[structure], alpha=0.2, lw=0)
    bound = theory.exponent(*claims[structure], alpha)
    d = np.geomspace(part.dim.min(), part.dim.max(), 20)
    ax.plot(d, part.ratio.iloc[0] * (d / d[0]) ** bound, ls=":", color=palette[structure], lw=1.2,
            label=f"bound d^{bound:.2f} ({structure})")
ax.set(xscale="log", yscale="log", xlabel="dimension d", ylabel="GClip / CClip (medians)", title="ratio")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig("dimension.png", dpi=120)
