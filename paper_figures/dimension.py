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
# `studies/results/dimension/`; set `SYNTHCLIP_RESULTS` to read another results root) and draws the study's
# own figure (what `study plot DIR` writes). (a) each method's mean error at τ0 = 0.1 against d with its
# joint-bootstrap band, i.i.d. against radial noise (radial noise of scale √d: every coordinate keeps a fixed
# scale). (b) the GClip/CClip ratio of means per clip level τ0 with its band and fitted growth exponent,
# beside the ratio of the two bounds from `synthclip.theory`: as printed (Corollary 7 / Theorem 8, d^(2/α))
# and sharp (Theorem 4 with G = ‖B‖_α / Theorem 8, d^(2/α − 1); radial: d^0). A ratio of two upper bounds
# predicts no ratio of errors: the measured exponent is reported beside it, never judged, and it moves with
# τ0. (c) the fraction of steps at which each method clipped (CClip: of coordinate-steps); a ratio counts
# only where both clip.

# %%
import os
from pathlib import Path

from synthclip import plotting
from synthclip.study.dimension import plot_dimension

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results")) / "dimension"
assert (root / "meta.json").exists(), f"no dimension results under {root}: run the study first"
tables, meta = plotting.stored(root)
tables["growth"]

# %%
fig = plot_dimension(tables, meta)
fig.savefig("dimension.png", dpi=150, bbox_inches="tight")
