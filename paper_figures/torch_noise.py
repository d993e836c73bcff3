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
# # Gradient noise of real networks: Figures 1, 2 and 4 and Appendix H of Zhang et al. (2020)
#
# Reads only the stored results of `python -m synthclip.study torch-noise` (under
# `studies/results/torch-noise/`; set `SYNTHCLIP_RESULTS` to read another results root). The tasks: the
# digits CNN (the vision control), a character transformer on pydoc text and a word transformer on pydoc
# topics plus the standard library's docstrings, each text task also without its formatting lines, and
# Figure 4's grid on the word task (self-attention removed; Gaussian inputs in place of the embeddings).
#
# * `torch_noise.png` (Figure 1, the study's own headline figure): ‖ξ‖ / median at initialisation of the
#   vision task and the character task against the fitted Gaussian (dashed) and an α-stable reference
#   (red); the top-1 % share of Σ‖ξ‖² of every seed replicate (tier (i)'s statistic); Hill plots with the
#   moment estimator; the verdicts counted in the title.
# * `torch_noise_fig2.png` (Figure 1(d, h) and Figure 2): the running estimate of E‖ξ‖² against the number of
#   draws, and the noise norms at several training steps over the step-0 median.
# * `torch_noise_fig4.png` (Figure 4): the 2 × 2 grid, attention or not, text or Gaussian inputs.
#
# The claims table holds every seed claim's verdict under the rule the study declares before running.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from synthclip import plotting
from synthclip.study import torch_noise as tn

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "torch-noise"
assert (root / "claims.parquet").exists(), (
    f"no torch-noise results under {root}: run `python -m synthclip.study torch-noise` first"
)
tables = {name: pd.read_parquet(root / f"{name}.parquet") for name in ("norms", "probes", "hill", "claims")}
print(tn.CLAIMS_RULE)
tables["claims"][["claim", "setting", "statistic", "estimate", "ci_low", "ci_high", "verdict"]]

# %%
sns.set_theme(style="whitegrid", context="paper")
have = set(tables["norms"].model)
fig = tn.plot_noise(*plotting.stored(root))  # the study's own headline, as `study plot DIR` draws it
fig.savefig("torch_noise.png", dpi=150, bbox_inches="tight")

# %%
fig2 = [m for m in (tn.VISION, *tn.TEXT_TASKS) if m in have]
fig, axes = plt.subplots(2, 2, figsize=(8, 6.4))  # page width: Figure 1(d, h) and Figure 2, two a row
axes = axes.ravel()
tn.draw_running(axes[0], tables, [m for m in tn.TASKS if m in have])
for ax, model in zip(axes[1:], fig2):
    tn.draw_figure2(ax, tables, model)
for ax in axes[1 + len(fig2) :]:
    ax.set_visible(False)
for ax in axes:
    ax.title.set_fontsize(8)
fig.suptitle(
    "Figure 1(d, h): the running second moment; Figure 2: the noise over training (replicate 0, smallest B)", fontsize=9
)
fig.tight_layout()
fig.savefig("torch_noise_fig2.png", dpi=150, bbox_inches="tight")

# %%
grid = [k for k, m in tn.FIGURE4.items() if m in have]
fig, axes = plt.subplots(2, 2, figsize=(7.2, 6.0), squeeze=False)
for ax, key in zip(axes.ravel(), tn.FIGURE4):
    if key in grid:
        tn.draw_figure4(ax, tables, key)
    else:
        ax.set_visible(False)
fig.suptitle("Figure 4: architecture or data? (word task, step 0)", fontsize=9)
fig.tight_layout()
fig.savefig("torch_noise_fig4.png", dpi=120)

# %%
claims = tables["claims"]
claims[claims.claim.str.startswith(("Figure 4", "Appendix H"))][["claim", "setting", "verdict", "reason"]]
