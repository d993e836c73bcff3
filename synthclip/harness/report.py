"""What every study's report and scoreboard share: fixed-width text tables, intervals written one way, and the
scoreboard row with its defaults. A harness module, not a study: studies declare columns, never widths.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import findings, theory, verdict

#: A column of :func:`table`: (title, source), the source a row's key or a function of the row that returns text.
Column = tuple[str, str | Callable[[Mapping[str, Any]], Any]]


def number(value, spec: str = "+.3f") -> str:
    """A number as text; NaN and None read '-', ±inf 'inf'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:{spec}}"


def ci_text(
    r: Mapping[str, Any], est: str = "slope", low: str = "ci_low", high: str = "ci_high", spec: str = "+.3f"
) -> str:
    """'estimate [low, high]' of a row, every number written by :func:`number`."""
    return f"{number(r[est], spec)} [{number(r[low], spec)}, {number(r[high], spec)}]"


def failed(r: Mapping[str, Any]) -> str:
    """'failed/total' trajectories of a row (non-finite runs count as failures, never dropped)."""
    return f"{int(r['n_failed'])}/{int(r['n_traj'])}"


def key_columns(*keys: str) -> list[Column]:
    """Columns that show a row's ``keys`` as they are, each titled by its key."""
    return [(key, key) for key in keys]


def _text(r: Mapping[str, Any], source) -> str:
    value = source(r) if callable(source) else r[source]
    if isinstance(value, (float, np.floating)):
        return number(float(value), "g")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return "" if value is None else str(value)


def table(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    indent: str = "",
    notes: Callable[[Mapping[str, Any]], str] | None = None,
) -> str:
    """A fixed-width text table: a header, a rule and one line per row, each column as wide as its widest cell;
    text columns left-aligned, numeric ones right-aligned. ``notes(row)`` may add an indented line under a row."""
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
    cells = [[_text(r, source) for _, source in columns] for r in records]
    numeric = [all(_is_number(c[j]) for c in cells) and bool(cells) for j in range(len(columns))]
    widths = [max([len(title), *(len(c[j]) for c in cells)]) for j, (title, _) in enumerate(columns)]

    def line(values):
        return (
            indent
            + "  ".join(f"{v:>{w}}" if num else f"{v:<{w}}" for v, w, num in zip(values, widths, numeric)).rstrip()
        )

    header = line([title for title, _ in columns])
    out = [header, indent + "-" * (len(header) - len(indent))]
    for r, c in zip(records, cells):
        out.append(line(c))
        note = notes(r) if notes else ""
        if note:
            out.append(f"{indent}    └ {note}")
    return "\n".join(out)


def _is_number(text: str) -> bool:
    try:
        float(text.split("/")[0])
    except ValueError:
        return text == "-"
    return True


def verdict_columns(slope_title: str = "slope [CI]") -> list[Column]:
    """The columns every rate table ends with: the slope and its interval, the theory exponent, the claim that
    judges the row, the verdict, the trend of the local slopes and the failed runs."""
    return [
        (slope_title, ci_text),
        ("theory", lambda r: number(r["theory"])),
        ("by", lambda r: r.get("statement", "") or verdict.NONE),
        ("verdict", "verdict"),
        ("trend", lambda r: r.get("trend", "")),
        ("failed", failed),
    ]


def verdict_notes(r: Mapping[str, Any]) -> str:
    """Why a row could not be judged (insufficient data, pre-asymptotic), under it."""
    return r.get("reason", "") if r["verdict"] in (verdict.INSUFFICIENT, verdict.PRE_ASYMPTOTIC) else ""


def score_row(meta: Mapping[str, Any], r: Mapping[str, Any], *, setting: str, quantity: str, **fields) -> dict:
    """One scoreboard row (``verdict.SCOREBOARD_COLUMNS``) from a judged row ``r``: the statement, its source,
    the slope with its interval, the theory, the verdict and its reason are read from ``r`` unless given."""
    row = {
        "study": meta["study"],
        "statement": r.get("statement"),
        "source": r.get("theory_source"),
        "setting": setting,
        "quantity": quantity,
        "measured": r.get("slope"),
        "ci_low": r.get("ci_low"),
        "ci_high": r.get("ci_high"),
        "theory": r.get("theory", np.nan),
        "verdict": r.get("verdict"),
        "reason": r.get("reason", ""),
        "figure": f"{meta['study']}.png",
    }
    row.update(fields)
    return row


def prefixed(prefix: str, fields: Mapping[str, Any]) -> dict:
    """``fields`` under ``prefix_`` names: one of several claims judged on the same row (a new bound and an old
    one, say) keeps its verdict fields side by side with the others'."""
    return {f"{prefix}_{key}": value for key, value in fields.items()}


def unprefixed(r: Mapping[str, Any], prefix: str) -> dict:
    """The row ``r`` as judged by the claim of :func:`prefixed` fields ``prefix``: its ``prefix_`` fields under
    their plain names (what :func:`score_row` reads), the row's own fields kept."""
    start = f"{prefix}_"
    return {**r, **{key[len(start) :]: value for key, value in r.items() if key.startswith(start)}}


def paired_columns(*prefixes: str, spec: str = ".3f") -> list[Column]:
    """Per claim of :func:`prefixed` fields ``prefix``, side by side: its theory exponent (column "prefix") and
    its verdict (column "verdict (prefix)")."""
    columns: list[Column] = []
    for w in prefixes:
        columns += [(w, lambda r, w=w: number(r[f"{w}_theory"], spec)), (f"verdict ({w})", f"{w}_verdict")]
    return columns


def benchmark_line(r: Mapping[str, Any], label: str) -> str:
    """A benchmark row (``rate_tables.benchmark_row``) in words."""
    return (
        f"benchmark: {label}: {r['n_traj']} trajectories × {r['steps']} steps in {r['seconds']:.1f} s = "
        f"{r['traj_steps_per_s'] / 1e6:.1f}·10^6 trajectory-steps per second"
    )


def scoreboard(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The scoreboard rows as a frame with exactly ``verdict.SCOREBOARD_COLUMNS``."""
    return pd.DataFrame(list(rows), columns=list(verdict.SCOREBOARD_COLUMNS))


def rule_line(p: Mapping[str, Any], rows: pd.DataFrame, *, horizon: bool = False) -> str:
    """``verdict.RULE`` in words at a study's level, allowance and replicates, with the resolution of ``rows``;
    ``horizon``: the rate is fitted across horizons K (one run each), so the line says "log K"."""
    text = verdict.RULE.describe(
        confidence=p["confidence"],
        allowance=p["allowance"],
        n_boot=p["n_boot"],
        power=verdict.resolution_line(rows.to_dict("records"), p["allowance"]),
    )
    return text.replace("log k", "log K") if horizon else text


def decision_row(meta: Mapping[str, Any], sentence: str, *, setting: str, quantity: str, **fields) -> dict:
    """The scoreboard row of a study's decision ("word: why", a rule over several fits, no measured value of its
    own): the word before the colon is the verdict, the sentence its reason."""
    nothing = {"measured": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    return score_row(
        meta,
        {},
        setting=setting,
        quantity=quantity,
        verdict=sentence.split(":")[0],
        reason=sentence,
        **nothing,
        **fields,
    )


def beside_row(row: Mapping[str, Any], r: Mapping[str, Any], claim: theory.Claim, confidence: float, *at) -> dict:
    """The scoreboard ``row`` of the judged row ``r`` again, against another ``claim`` read beside the judging one
    (Table 1 beside Theorem 4, say): its statement, source, its exponent at ``at`` (α, and the noise's tail
    index where it depends on it) and the word of the same rule (``findings.words_against``)."""
    return {
        **row,
        "statement": claim.statement,
        "source": claim.source,
        "theory": claim.at(*at),
        "verdict": findings.words_against(r, claim, confidence),
    }
