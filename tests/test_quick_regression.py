"""The verdict rows of ``python -m synthclip.study all --quick`` against a stored snapshot.

The study layer is restructured without changing what it decides: every synthetic study's scoreboard row (its
statement, setting and quantity) must keep its verdict word and its measured value. A change of a row is a
change of the judgement, made on purpose: regenerate the snapshot with
``python tests/test_quick_regression.py RESULTS_ROOT`` (a root written by ``study all --quick``) and say
which rows changed, and why, in CHANGELOG.md. The torch studies are left out: their numbers depend on the
machine's BLAS, and the restructuring does not touch them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

SNAPSHOT = Path(__file__).parent / "data" / "quick_scoreboard.csv"
KEY = ["study", "statement", "setting", "quantity"]
#: measured values are stored to 9 significant digits: a change of the computation, not of the printing
DIGITS = 9


def rows(root: Path) -> pd.DataFrame:
    board = pd.read_parquet(Path(root) / "summary.parquet")
    board = board[~board["study"].str.startswith("torch-")]
    out = board[KEY + ["verdict"]].copy()
    out["measured"] = [float(f"{v:.{DIGITS}g}") for v in board["measured"].astype(float)]
    return out.sort_values(KEY).reset_index(drop=True)


def compare(stored: pd.DataFrame, now: pd.DataFrame) -> None:
    """AssertionError naming the rows gone, new, with another word or another measured value."""
    merged = stored.merge(now, on=KEY, how="outer", suffixes=("_stored", "_now"), indicator=True)
    gone = merged[merged["_merge"] == "left_only"]
    new = merged[merged["_merge"] == "right_only"]
    assert gone.empty and new.empty, (
        f"rows gone: {gone[KEY].to_dict('records')[:3]}; rows new: {new[KEY].to_dict('records')[:3]}"
    )
    words = merged[merged["verdict_stored"] != merged["verdict_now"]]
    assert words.empty, words[KEY + ["verdict_stored", "verdict_now"]].to_string()
    a, b = merged["measured_stored"].astype(float), merged["measured_now"].astype(float)
    moved = merged[~((a == b) | (a.isna() & b.isna()))]
    assert moved.empty, moved[KEY + ["measured_stored", "measured_now"]].to_string()


def stored() -> pd.DataFrame:
    return pd.read_csv(SNAPSHOT, keep_default_na=False, na_values=[""])


def test_quick_verdict_rows_match_the_snapshot(quick_results):
    compare(stored(), rows(quick_results))


def test_the_comparison_catches_a_changed_word_a_moved_value_and_a_lost_row(quick_results):
    # negative controls: each change to a copy of what the run gave must be reported
    now = rows(quick_results)
    finite = now.index[now["measured"].notna()][0]
    word, moved, lost = now.copy(), now.copy(), now.drop(index=now.index[-1])
    word.loc[0, "verdict"] += " (changed)"
    moved.loc[finite, "measured"] = float(f"{now.loc[finite, 'measured'] * (1 + 1e-6):.{DIGITS}g}")
    for changed in (word, moved, lost):
        with pytest.raises(AssertionError):
            compare(changed, now)


if __name__ == "__main__":
    rows(Path(sys.argv[1])).to_csv(SNAPSHOT, index=False)
    print(f"wrote {SNAPSHOT}")
