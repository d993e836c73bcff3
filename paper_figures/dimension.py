# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# mean error (first τ0 of the run) against d with its joint-bootstrap band, i.i.d. against radial noise (radial noise of scale √d:
# every coordinate keeps a fixed scale). Middle: the GClip/CClip ratio of means per clip level τ0 with its band and fitted growth
# exponent, beside the ratio of the two bounds from `synthclip.theory`: as printed (Corollary 7 / Theorem 8,
# d^(2/α)) and sharp (Theorem 4 with G = ‖B‖_α / Theorem 8, d^(2/α − 1); radial: d^0). A ratio of two upper
# bounds predicts no ratio of errors: the measured exponent is reported beside it, never judged, and it moves
# with τ0.
# Right: the fraction of steps at which each method clipped (CClip: of coordinate-steps); a ratio counts only
# where both clip.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from synthclip.study import dimension as study

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "dimension"
assert (root / "errors.parquet").exists(), f"no dimension results under {root}: run the study first"
errors = pd.read_parquet(root / "errors.parquet")
ratios = pd.read_parquet(root / "ratios.parquet")
growth = pd.read_parquet(root / "growth.parquet")
local = pd.read_parquet(root / "local.parquet")
levels = list(dict.fromkeys(ratios["tau0"]))
growth[["tau0", "structure", "series", "exponent", "ci_low", "ci_high", "median_exponent", "shape", "expected", "statement",
        "theory", "verdict", "printed_statement", "printed_theory", "printed_verdict"]]

# %%
errors.pivot_table(index="dim", columns=["tau0", "structure", "method"], values="clip_frac")

# %%
# local exponents between consecutive d: an all-d fit can hide a slope that falls with d
local[local["series"] == "ratio"].pivot_table(index=["d_low", "d_high"], columns=["tau0", "structure"], values="exponent")

# %%
sns.set_theme(style="whitegrid", context="paper")
palette = dict(zip(["iid", "radial"], sns.color_palette("deep", 2)))
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
ref = 0.1 if 0.1 in levels else levels[0]  # the study's reference level τ0 = 0.1 (where both methods clip)
first = errors[errors["tau0"] == ref]  # errors and clipped fractions at that τ0
styles = dict(zip(levels, ["-", "--", "-.", ":"] * len(levels)))
ax = axes[0]
for (structure, method), part in first.groupby(["structure", "method"]):
    part = part.sort_values("dim")
    ax.plot(part.dim, part["mean"], marker="o", ms=3, ls="-" if method == "gclip" else "--",
            color=palette[structure], label=f"{method}, {structure}")
    ax.fill_between(part.dim, part.mean_ci_low, part.mean_ci_high.replace(np.inf, np.nan), color=palette[structure],
                    alpha=0.2, lw=0)
ax.set(xscale="log", yscale="log", xlabel="dimension d", ylabel="mean f(x̄_K) − f*", title=f"errors, τ0 = {ref:g}")
ax.legend(fontsize=7)
ax = axes[1]
for (structure, tau0), part in ratios.groupby(["structure", "tau0"], sort=False):
    part = part.sort_values("dim")
    fit = growth[(growth.structure == structure) & (growth.series == "ratio") & (growth.tau0 == tau0)].iloc[0]
    ax.plot(part.dim, part.ratio, marker="o", ms=3, color=palette[structure], ls=styles[tau0],
            label=f"{structure}, τ0 = {tau0:g}: d^{fit.exponent:+.2f} [{fit.ci_low:+.2f}, {fit.ci_high:+.2f}]")
    ax.fill_between(part.dim, part.ci_low, part.ci_high, color=palette[structure], alpha=0.15, lw=0)
    if tau0 != ref:
        continue
    d = np.geomspace(part.dim.min(), part.dim.max(), 20)
    anchor = part.ratio.iloc[0]
    if np.isfinite(fit.theory):
        ax.plot(d, anchor * (d / d[0]) ** fit.theory, ls=":", color=palette[structure], lw=1.4,
                label=f"bounds' ratio d^{fit.theory:.2f} ({fit.statement}): {fit.verdict}")
    if np.isfinite(fit.printed_theory):
        ax.plot(d, anchor * (d / d[0]) ** fit.printed_theory, ls="-.", color="firebrick", lw=1.0,
                label=f"as printed d^{fit.printed_theory:.2f} ({fit.printed_statement})")
ax.set(xscale="log", yscale="log", xlabel="dimension d", ylabel="GClip / CClip (means)", title="ratio per τ0 (reported, not judged)",
       ylim=(0.5, 3 * ratios.ci_high.replace(np.inf, np.nan).max()))
ax.legend(fontsize=7)
ax = axes[2]
for (structure, method), part in first.groupby(["structure", "method"]):
    part = part.sort_values("dim")
    ax.plot(part.dim, part.clip_frac, marker="o", ms=3, ls="-" if method == "gclip" else "--",
            color=palette[structure], label=f"{method}, {structure}")
ax.axhline(study.MIN_CLIP_FRAC, color="gray", ls=":", lw=1, label=f"{study.MIN_CLIP_FRAC:.0%}: a ratio counts above")
ax.set(xscale="log", yscale="log", xlabel="dimension d", ylabel="fraction of steps clipped (CClip: coordinates)",
       title="clipping")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig("dimension.png", dpi=120)
