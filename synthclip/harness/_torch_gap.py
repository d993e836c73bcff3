"""What torch-batch and torch-imbalance share: their flags and study class, the five methods and their step-size
grids, the tasks on a subset small enough for a full batch, one tuned run per (task, batch size, method), the gap
ratios with their paired bootstrap intervals, the verdicts and the report's common lines.

A harness module, not a study (neither study imports the other). Torch is imported lazily.

Seeds. Seed i of every run starts from its own initial weights (key_i) and draws its own minibatches; the same
keys serve every method and every batch size, so methods are compared seed by seed (a paired bootstrap) and
the batch-size trend too. Unlike torch-rates, the initial weights vary: at the full batch the only randomness
left is the initialisation, and a gap measured from one initialisation would have no spread at all.

Step sizes. Each (task, batch size, method) has its step size chosen from the method's grid (:data:`METHODS`,
fixed here before any run) on ``n_tune_seeds`` *tuning* seeds, a key set disjoint from the judged one
(``derive_seed(seed, study, "tune")`` vs ``"judged"``), by the smallest mean final training loss, under the
package's interior rule (``synthclip.tuning.tune_interior``: an optimum at an edge extends the grid, at most
twice; a step size still at an edge is *not tuned* and every verdict that uses it says so). Every method and
batch size has the same budget in epochs: K(B) = ⌈epochs · n / B⌉ steps.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .. import stats, verdict
from .._rng import derive_seed
from ..theory import GAP_BAND, gap_claims
from ._torch_run import (
    FLOAT32_MAX,
    SMALL_MODEL_THREADS,
    check_replicates,
    check_torch_run,
    torch_threads,
    tune_on_other_seeds,
)
from .base import CommonParams, Study, StudyError, check_choice, check_fit_flags, check_positive, flag, option

MOMENTUM = 0.9  # the momentum of SGD-m, GClip-m, CClip-m and Signum (β of the sign methods' average)
GCLIP_TAU = 1.0  # global clip level (about the typical gradient norm of these tasks at initialisation)
CCLIP_TAU = 0.01  # coordinate-wise clip level
REFERENCE = "adam"  # every gap is a method's loss over Adam's


@dataclass(frozen=True)
class Method:
    """A study label: the optimizer ``train_ensemble`` runs, its fixed parameters, the step-size grid."""

    optimizer: str
    fixed: Mapping[str, Any]
    grid: tuple
    text: str
    options: Mapping[str, Any] = field(default_factory=dict)  # torch-only constructor keywords


_CLIP = {"lr_schedule": "constant", "clip_schedule": "constant", "clip_power": 0.0}
#: Grids (four values half a decade apart, fixed before any run; one more than torch-rates' because the best step
#: moves with the batch size, from B = 1 to the full batch): torch's momentum buffer sums about 1/(1 − 0.9) = 10
#: gradients, so SGD-m's steps (and the clipped momentum methods') are ten times its learning rate; Adam's and
#: Signum's steps have length about γ per coordinate.
MOMENTUM_GRID = (0.01, 0.03, 0.1, 0.3)
PER_COORDINATE_GRID = (3e-4, 1e-3, 3e-3, 1e-2)
METHODS: dict[str, Method] = {
    "sgd_m": Method("torch-sgd", {"momentum": MOMENTUM}, MOMENTUM_GRID, f"torch.optim.SGD momentum {MOMENTUM:g}"),
    "gclip_m": Method(
        "gclip",
        {**_CLIP, "clip": GCLIP_TAU},
        MOMENTUM_GRID,
        f"GClip τ={GCLIP_TAU:g} + momentum {MOMENTUM:g}",
        {"momentum": MOMENTUM},
    ),
    "cclip_m": Method(
        "cclip",
        {**_CLIP, "clip": CCLIP_TAU},
        MOMENTUM_GRID,
        f"CClip τ={CCLIP_TAU:g} + momentum {MOMENTUM:g}",
        {"momentum": MOMENTUM},
    ),
    "signum": Method(
        "signsgd_m",
        {"beta": MOMENTUM, "lr_schedule": "constant"},
        PER_COORDINATE_GRID,
        f"Signum (sign of the momentum average, β={MOMENTUM:g})",
    ),
    "adam": Method("adam", {}, PER_COORDINATE_GRID, "torch.optim.Adam"),
}

TASKS = ("words-transformer", "digits-cnn")
#: The word task's model at a size whose full batch two CPU cores afford: one layer of width 32 on 16-word
#: windows, a vocabulary of 512 words (the rest <unk>): still a Zipfian class distribution.
SMALL_WORD_MODEL = {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64, "max_len": 16, "vocab_size": 512}


@dataclass
class GapParams(CommonParams):
    """The flags both gap studies share (a group: each study adds its tasks, its subset and its budget)."""

    methods: list = option(list(METHODS), "methods (adam, the reference, must be among them)")
    n_seeds: int = option(12, "judged seeds per run", low=1)
    n_tune_seeds: int = option(3, "tuning seeds per step size (a key set disjoint from the judged one)", low=1)
    lr_scale: float = option(1.0, "factor on every step-size grid", low=0.0)
    confidence: float = option(verdict.RULE.confidence, "level of the bootstrap intervals", low=0.0, high=1.0)
    n_boot: int = option(verdict.RULE.n_boot, "bootstrap replicates per ratio (≥ 20/(1 − confidence))", low=1)
    device: str = option("cpu", "torch device: cpu or cuda")


class GapStudy(Study):
    """What both gap studies' classes share: one output folder; each cell (the study's ``cell_tables``) on one
    intra-op thread, returning every table the runner gathers; then the gaps (``gap_table``, from the gathered
    tables) and the verdicts (``claim_rows``); a scoreboard row per verdict in the study's ``setting``."""

    #: the tables analyze adds to those the cells return
    analysed: ClassVar[tuple[str, ...]] = ("gaps", "claims")
    single_folder = True

    def cell_tables(self, cell: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
        raise NotImplementedError

    def gap_table(self, tables: Mapping[str, pd.DataFrame], *, n_boot: int, confidence: float, seed: int):
        raise NotImplementedError

    #: the ratio that judges each claim: its name → (the method against Adam, which of its gap rows)
    judged: ClassVar[Mapping[str, tuple[str, str]]] = {}

    def judge_claim(self, claim, method: str, which: str, gaps: pd.DataFrame, edge: frozenset, confidence: float):
        """The verdict row of one claim (:func:`judge`, with the columns that say which ratio), None where its
        ratio was not measured; ``edge``: the runs not tuned (:func:`untuned`)."""
        raise NotImplementedError

    def claim_rows(self, gaps: pd.DataFrame, runs: pd.DataFrame, confidence: float) -> pd.DataFrame:
        edge = untuned(runs)
        rows = (self.judge_claim(c, *self.judged[c.name], gaps, edge, confidence) for c in gap_claims(self.name))
        return pd.DataFrame([row for row in rows if row is not None])

    def setting(self, p: Mapping[str, Any]) -> str:
        raise NotImplementedError

    #: the report's line above the verdicts
    claims_heading: ClassVar[str] = f"claims (band edge {GAP_BAND:g}):"

    def intro(self, p: Mapping[str, Any]) -> str:
        """The report's first line: the seeds, the subset, the budget, the tuning."""
        raise NotImplementedError

    def task_lines(self, tables, p: Mapping[str, Any], task: str, methods: list[str]) -> list[str]:
        """The report's block of one task: its gaps against Adam for ``methods`` and its tuned step sizes."""
        raise NotImplementedError

    def quantity(self, claim: Mapping[str, Any]) -> str:
        """What a verdict line of the report says was measured."""
        return claim["quantity"]

    def report(self, tables, meta) -> str:
        """The intro and the rule, a block per task, the 'not tuned' note, each claim with its verdict, the compute."""
        p, runs = meta["params"], tables["runs"]
        lines = [self.intro(p), rule_line(p["confidence"], p["n_boot"]), ""]
        methods = [m for m in p["methods"] if m != REFERENCE]
        for task in p["tasks"]:
            lines += [*self.task_lines(tables, p, task, methods), ""]
        if runs["lr_at_grid_edge"].any():
            lines.append("* step size at the edge of its extended grid: the comparisons using it read 'not tuned'")
        lines.append(self.claims_heading)
        for _, c in tables["claims"].iterrows():
            lines.append(f"  {c['claim']} ({c['source']}): {c['statement']}")
            lines.append(
                f"    {self.quantity(c)}: {fmt(c['ratio'], c['ci_low'], c['ci_high'])} → {c['verdict']} ({c['reason']})"
            )
        total = float(runs["seconds"].sum() + runs["tune_seconds"].sum())
        lines += ["", f"compute: {total:.0f} s of training in the cells (tuning included)"]
        return "\n".join(lines).rstrip()

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        with torch_threads(SMALL_MODEL_THREADS):
            out = self.cell_tables(cell)
        if progress:
            progress(1)
        # every cell returns every table (the runner concatenates them by name), empty where it has none
        return {name: out.get(name, pd.DataFrame()) for name in self.tables if name not in self.analysed}

    def analyze(self, p, tables):
        seed = derive_seed(p.seed, self.name, "bootstrap")
        gaps = self.gap_table(tables, n_boot=p.n_boot, confidence=p.confidence, seed=seed)
        return {**tables, "gaps": gaps, "claims": self.claim_rows(gaps, tables["runs"], p.confidence)}

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return claim_scoreboard(tables["claims"], meta, self.setting(meta["params"]))


def task_kind(task: str) -> str:
    return "text" if task.startswith("words") else "vision"


@functools.lru_cache(maxsize=8)
def _full_task(name: str, device: str):
    import torch

    from ..torch import models

    kwargs = dict(SMALL_WORD_MODEL) if task_kind(name) == "text" else {}
    return models.make_task(name, dtype=torch.float32, device=device, **kwargs)


def build_task(name: str, n_examples: int, device: str = "cpu"):
    """The task on ``n_examples`` evenly spaced examples (text: windows far apart, so none overlap), as a
    ``data.Subset``: a batch of exactly ``n_examples`` is the full batch."""
    from ..torch.data import Subset

    task = _full_task(name, device)
    return dataclasses.replace(task, data=Subset(task.data, task.data.reference_indices(n_examples)))


def check_subset(name: str, n_examples: int, tasks) -> None:
    """--n-examples no larger than any task's data set (one line naming the flag and the size)."""
    for task in tasks:
        total = _full_task(task, "cpu").data.n
        if n_examples > total:
            raise StudyError(f"{flag(name)} must be <= {total}, the examples of task {task!r}, got {n_examples}")


def check_batches(sizes, n_examples: int) -> None:
    """Every batch size in [1, n]: a batch larger than the data set is refused with the data set's size."""
    for b in sizes:
        if not isinstance(b, int) or isinstance(b, bool) or b < 1:
            raise StudyError(f"--batch-sizes must be positive integers, got {b!r}")
        if b > n_examples:
            raise StudyError(
                f"--batch-sizes: {b} is larger than the data set, {n_examples} examples (--n-examples); "
                f"the full batch is {n_examples}"
            )


def batch_ladder(n: int, factor: int = 4) -> list[int]:
    """1, factor, factor², ... below n, then n (the full batch)."""
    sizes, b = [], 1
    while b < n:
        sizes.append(b)
        b *= factor
    return sizes + [n]


def steps_for(epochs: float, n: int, batch_size: int) -> int:
    """The same budget in epochs for every batch size: ⌈epochs · n / B⌉ steps."""
    return max(1, math.ceil(epochs * n / batch_size))


def check_method_names(methods) -> None:
    bad = [m for m in methods if m not in METHODS]
    if bad or len(set(methods)) != len(methods) or REFERENCE not in methods:
        raise StudyError(
            f"--methods must be distinct names among {', '.join(METHODS)} including {REFERENCE}, "
            f"got {','.join(map(str, methods))}"
        )


def validate_common(study: str, p, tasks) -> None:
    """The flag checks both gap studies share (their own flags checked before)."""
    check_choice("tasks", tasks, TASKS)
    if not tasks or len(set(tasks)) != len(tasks):
        raise StudyError(f"--tasks must be distinct names among {', '.join(TASKS)}, got {','.join(map(str, tasks))}")
    check_method_names(p.methods)
    check_positive(p, "n_seeds", "n_tune_seeds", "epochs", "n_boot", "n_examples")
    check_fit_flags(p)  # --confidence in (0, 1)
    need = verdict.runs_needed(0.5, p.confidence)
    if p.n_seeds < need:
        raise StudyError(
            f"--n-seeds {p.n_seeds} cannot bound the median across seeds at {p.confidence:g}: use --n-seeds >= {need}"
        )
    check_replicates(p)
    if not (0 < p.lr_scale and max(max(m.grid) for m in METHODS.values()) * p.lr_scale * 10 <= FLOAT32_MAX):
        raise StudyError(f"--lr-scale must be > 0 and keep every step size within float32, got {p.lr_scale!r}")
    check_torch_run(study, p)
    check_subset("n_examples", p.n_examples, tasks)


def cell_fields(study: str, p) -> dict[str, Any]:
    """The fields of every cell of a gap study: the subset, the budget, the device and the keys of the judged and
    the tuning seeds (disjoint sets)."""
    return {
        "n_examples": p.n_examples,
        "epochs": p.epochs,
        "device": p.device,
        "seed": derive_seed(p.seed, study, "judged"),
        "tune_seed": derive_seed(p.seed, study, "tune"),
    }


def tuning_fields(p) -> dict[str, Any]:
    """The fields of a cell that trains: judged and tuning seeds, the factor on the step-size grid."""
    return {"n_seeds": p.n_seeds, "n_tune_seeds": p.n_tune_seeds, "lr_scale": p.lr_scale}


# -- one run: tune on the tuning seeds, then train the judged seeds -------------------------------------------


def train(cell: Mapping[str, Any], lr: float, *, n_seeds: int, seed: int, checkpoints, observe: Callable | None = None):
    """One ensemble of ``n_seeds`` seeds (keys from ``seed``) of the cell's method at step size ``lr``."""
    from ..torch.ensemble import train_ensemble

    spec = METHODS[cell["method"]]
    task = build_task(cell["task"], cell["n_examples"], cell["device"])
    return train_ensemble(
        task,
        spec.optimizer,
        n_seeds=n_seeds,
        steps=cell["steps"],
        batch_size=cell["batch_size"],
        seed=seed,
        method_params={**spec.fixed, "lr": lr},
        optimizer_options=dict(spec.options) or None,
        checkpoints=checkpoints,
        device=cell["device"],
        observe=observe,
    )


def tune(cell: Mapping[str, Any], trainer: Callable = train) -> tuple[float, pd.DataFrame, Any]:
    """The step size of the cell's method, from its grid (× ``lr_scale``), on the tuning seeds only
    (``_torch_run.tune_on_other_seeds``)."""
    grid = [float(v) * cell["lr_scale"] for v in METHODS[cell["method"]].grid]
    return tune_on_other_seeds(cell, grid, trainer)


def run_tuned(cell: Mapping[str, Any], observe: Callable | None = None, trainer: Callable = train):
    """Tune, then the judged seeds at the chosen step size: (result, runs row, tuning table)."""
    lr, tuning, result = tune(cell, trainer)
    res = trainer(
        cell, lr, n_seeds=cell["n_seeds"], seed=cell["seed"], checkpoints=cell["checkpoints"], observe=observe
    )
    common = {
        "task": cell["task"],
        "kind": task_kind(cell["task"]),
        "batch_size": cell["batch_size"],
        "method": cell["method"],
    }
    runs = pd.DataFrame(
        [
            {
                **common,
                "text": METHODS[cell["method"]].text,
                "lr": lr,
                "lr_at_grid_edge": not result.interior,
                "n_extensions": result.n_extensions,
                "n_seeds": res.n_seeds,
                "n_failed": res.n_failed,
                "steps": res.steps,
                "n_examples": cell["n_examples"],
                "epochs": cell["epochs"],
                "seconds": res.seconds,
                "tune_seconds": float(tuning["seconds"].sum()),
                "device": res.device,
            }
        ]
    )
    return res, runs, tuning.assign(**common)


def final_losses(res) -> np.ndarray:
    """Each judged seed's final training loss on the full subset (+inf for a failed seed)."""
    return np.where(res.failed, np.inf, res.losses[:, -1])


def untuned(runs: pd.DataFrame) -> frozenset:
    """(task, batch_size, method) whose step size stayed at the edge of its extended grid."""
    edge = runs[runs["lr_at_grid_edge"].astype(bool)]
    return frozenset(zip(edge["task"], edge["batch_size"], edge["method"]))


# -- gaps and verdicts --------------------------------------------------------------------------------------


def gap(a, b, *, n_boot: int, confidence: float, seed: int) -> tuple[float, float, float]:
    """Median of a over median of b for paired seeds (a_i, b_i), with the paired percentile bootstrap of
    ``stats.quantile_ratio_ci``: (estimate, low, high)."""
    ci = stats.quantile_ratio_ci(
        np.asarray(a, float), np.asarray(b, float), 0.5, confidence_level=confidence, n_boot=n_boot, seed=seed
    )
    return ci.estimate, ci.low, ci.high


def per_seed_ratio(a, b) -> np.ndarray:
    """a_i / b_i per seed (a failed seed in either gives +inf or NaN: no ratio)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(a, float) / np.asarray(b, float)


def gap_table(
    frame: pd.DataFrame,
    key: str,
    *,
    units: Callable,
    losses: Callable,
    summary: tuple[str, int, Callable],
    measure: Callable = lambda unit, units: "gap",
    n_boot: int,
    confidence: float,
    seed: int,
) -> pd.DataFrame:
    """Per (task, method ≠ Adam), in the order they ran in ``frame``: the gap (:func:`gap`) at every unit of
    ``units(the task's rows)`` (batch sizes, class groups: the values of column ``key``), ``losses(task, method,
    unit)`` the judged seeds' losses and ``measure(unit, units)`` the row's name; then the summary row,
    ``summary = (measure, key value, ends)``: the median over seeds of the per-seed gap at ``ends(units)[0]`` over
    the per-seed gap at ``ends(units)[1]``."""
    name, value, ends = summary
    rows = []
    for task, part in frame.groupby("task", sort=False):
        us = units(part)
        for m in [m for m in dict.fromkeys(part["method"]) if m != REFERENCE]:
            for u in us:
                a = losses(task, m, u)
                est, lo, hi = gap(
                    a,
                    losses(task, REFERENCE, u),
                    n_boot=n_boot,
                    confidence=confidence,
                    seed=derive_seed(seed, task, m, u),
                )
                rows.append((task, m, u, measure(u, us), est, lo, hi, a.size))
            top, bottom = (per_seed_ratio(losses(task, m, u), losses(task, REFERENCE, u)) for u in ends(us))
            est, lo, hi = gap(top, bottom, n_boot=n_boot, confidence=confidence, seed=derive_seed(seed, task, m))
            rows.append((task, m, value, name, est, lo, hi, top.size))
    return pd.DataFrame(rows, columns=["task", "method", key, "measure", "ratio", "ci_low", "ci_high", "n_seeds"])


def judge(claim, r: Mapping[str, Any], *, confidence: float, edge_methods=(), precondition: str = "") -> dict:
    """One verdict row of a gap claim (``theory.GapClaim``) from its gap row ``r`` (a row of :func:`gap_table`),
    by the rule printed above the table: insufficient data when the seeds cannot bound a median, 'not tuned'
    when a method's step size stayed at a grid edge, inconclusive when a precondition fails (its reason), else
    ``verdict.band_word``."""
    lo, hi, n_seeds = r["ci_low"], r["ci_high"], int(r["n_seeds"])
    need = verdict.runs_needed(0.5, confidence)
    if n_seeds < need:
        word, why = verdict.INSUFFICIENT, f"{n_seeds} seeds cannot bound the median (needs {need})"
    elif edge_methods:
        word, why = verdict.NOT_TUNED, f"step size at the edge of its extended grid: {', '.join(edge_methods)}"
    elif precondition:
        word, why = verdict.INCONCLUSIVE, precondition
    else:
        word = verdict.band_word(claim.direction, lo, hi, GAP_BAND, claim.words)
        why = describe(claim.direction, lo, hi)
    return {
        "claim": claim.name,
        "statement": claim.statement,
        "source": claim.source,
        "kind": claim.kind,
        "quantity": claim.quantity,
        "direction": claim.direction,
        "task": claim.task,
        "ratio": r["ratio"],
        "ci_low": lo,
        "ci_high": hi,
        "verdict": word,
        "reason": why,
    }


def describe(direction: str, lo: float, hi: float) -> str:
    e = GAP_BAND
    band = f"[{1 / e:.3f}, {e:g}]"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "the interval is undefined (failed seeds)"
    where = (
        "inside" if 1 / e <= lo and hi <= e else "above" if lo > e else "below" if hi < 1 / e else "across an edge of"
    )
    return f"interval {where} the band {band}"


def rule_line(confidence: float, n_boot: int) -> str:
    e = GAP_BAND
    return (
        f"rule (fixed before the run, synthclip.theory.GAP_CLAIMS): a gap is a ratio of median final training "
        f"losses over the judged seeds, paired {confidence:.0%} percentile bootstrap over seeds ({n_boot} "
        f"replicates); band [1/{e:g}, {e:g}]: 'above' needs the interval above {e:g}, 'below' under 1/{e:g}, "
        f"'within' inside the band, 'at most' under {e:g}; the opposite side refutes, an interval across the "
        f"deciding edge is inconclusive; a step size at a grid edge reads 'not tuned'"
    )


def claim_scoreboard(claims: pd.DataFrame, meta: Mapping[str, Any], setting: str) -> pd.DataFrame:
    rows = [
        {
            "study": meta["study"],
            "statement": c["claim"],
            "source": c["source"],
            "setting": f"{c['task']}, {setting}",
            "quantity": c["quantity"],
            "measured": c["ratio"],
            "ci_low": c["ci_low"],
            "ci_high": c["ci_high"],
            "theory": GAP_BAND,
            "verdict": c["verdict"],
            "reason": c["reason"],
            "figure": f"{meta['study']}.png",
        }
        for _, c in claims.iterrows()
    ]
    return pd.DataFrame(rows, columns=list(verdict.SCOREBOARD_COLUMNS))


def fmt(v, lo, hi) -> str:
    return f"{v:.4g} [{lo:.4g}, {hi:.4g}]"


def gap_cell(rows: pd.DataFrame, mark: str = "") -> str:
    """A report's cell: the first gap row's ratio [interval] and ``mark``, or '-' where there is none."""
    return f"{fmt(*rows.iloc[0][['ratio', 'ci_low', 'ci_high']]) + mark:<26}" if not rows.empty else f"{'-':<26}"


def ratio_list(rows: pd.DataFrame) -> str:
    """'method ratio [interval]' of every gap row, joined by '; '."""
    return "; ".join(f"{r['method']} {fmt(r['ratio'], r['ci_low'], r['ci_high'])}" for _, r in rows.iterrows())
