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
# `studies/results/nonconvex/`; set `SYNTHCLIP_RESULTS` to read another results root) and draws each run's
# headline figure with the study's own `plot` (what `study plot DIR` writes). Each horizon K is its own run
# with τ_K ∝ K^(1/(3α−2)) and η_K ∝ τ_K^(−α). One panel per judged quantity (min_{k≤K} ‖∇f(x_k)‖, Theorem
# 2's left-hand side (1/K) Σ min{‖∇f‖, ‖∇f‖²}, the average ‖∇f‖): the median of each judged method against K
# with its order-statistic band, and the judging exponent (dashed) through the fit of the method it judges
# over the shaded fit window; the legend carries each method's verdict. Last panel: every judged row's slope
# in K with its interval (marker: the quantile), coloured by the verdict of the one rule
# (`synthclip.verdict`), against its theory exponent (black tick). `gclip-printed` runs the schedule as
# printed (it stalls).

# %%
import os
from pathlib import Path

import pandas as pd
from IPython.display import display

from synthclip import plotting
from synthclip.study import STUDIES

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "nonconvex"
folders = sorted(p for p in root.glob("alpha=*") if (p / "quantiles.parquet").exists())
assert folders, f"no nonconvex results under {root}: run `python -m synthclip.study nonconvex` first"
runs = {folder: plotting.stored(folder) for folder in folders}
slopes = pd.concat([tables["slopes"] for tables, _ in runs.values()], ignore_index=True)
slopes[~slopes.verdict.isin(["none", "reported only"])][
    ["alpha", "method", "metric", "statistic", "slope", "ci_low", "ci_high", "theory", "statement", "verdict"]
]

# %%
for i, (tables, meta) in enumerate(runs.values()):
    fig = STUDIES["nonconvex"].plot(tables, meta)
    display(fig)
    if i == 0:  # the first α is the paper's figure; the others are shown here
        fig.savefig("nonconvex.png", dpi=150, bbox_inches="tight")
    plotting.close(fig)
