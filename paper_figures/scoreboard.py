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
# # Scoreboard: every verdict row's measured exponent against its theory
#
# Reads only `summary.parquet` (written by `python -m synthclip.study summary` or at the end of `all`, in
# `studies/results/`; set `SYNTHCLIP_RESULTS` to read another results root) and draws it with the function
# that writes `summary.png` beside it (`synthclip.plotting.scoreboard_figure`): every row whose theory is a
# number, as a dot (the measured exponent, tail index or ratio) with its interval, coloured by its verdict
# word, against the theory value (black tick); one panel per study, each on its own scale, rows grouped by
# statement. Rows whose theory is not a number (qualitative claims such as the bias floor or polylog
# confidence) are left out and counted in the caption.

# %%
import os
from pathlib import Path

import pandas as pd

from synthclip import plotting

root = Path(os.environ.get("SYNTHCLIP_RESULTS", "../studies/results"))
assert (root / "summary.parquet").exists(), f"no summary under {root}: run `python -m synthclip.study summary`"
board = pd.read_parquet(root / "summary.parquet")
board.groupby(["study", "verdict"]).size().unstack(fill_value=0)

# %%
fig = plotting.scoreboard_figure(board)
fig.savefig("scoreboard.png", dpi=150, bbox_inches="tight")
