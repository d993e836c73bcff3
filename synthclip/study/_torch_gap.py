"""What torch-batch and torch-imbalance share: the five methods and their step-size grids, the tasks on a subset
small enough for a full batch, one tuned run per (task, batch size, method), and the gap ratios with their
paired bootstrap intervals.

A study-layer module, not a study (neither study imports the other). Torch is imported lazily.

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
from typing import Any

import numpy as np
import pandas as pd

from .. import stats, verdict
from ..theory import GAP_BAND
from ._torch_run import FLOAT32_MAX, check_torch_run, tune_on_other_seeds
from .base import StudyError, check_choice, check_fit_flags, check_positive, flag

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
#: gradients, so SGD-m's steps are ten times its learning rate (0.01–0.3); Adam's and Signum's steps have length
#: about γ per coordinate (3e-4–1e-2).
METHODS: dict[str, Method] = {
    "sgd_m": Method(
        "torch-sgd", {"momentum": MOMENTUM}, (0.01, 0.03, 0.1, 0.3), f"torch.optim.SGD momentum {MOMENTUM:g}"
    ),
    "gclip_m": Method(
        "gclip",
        {**_CLIP, "clip": GCLIP_TAU},
        (0.01, 0.03, 0.1, 0.3),
        f"GClip τ={GCLIP_TAU:g} + momentum {MOMENTUM:g}",
        {"momentum": MOMENTUM},
    ),
    "cclip_m": Method(
        "cclip",
        {**_CLIP, "clip": CCLIP_TAU},
        (0.01, 0.03, 0.1, 0.3),
        f"CClip τ={CCLIP_TAU:g} + momentum {MOMENTUM:g}",
        {"momentum": MOMENTUM},
    ),
    "signum": Method(
        "signsgd_m",
        {"beta": MOMENTUM, "lr_schedule": "constant"},
        (3e-4, 1e-3, 3e-3, 1e-2),
        f"Signum (sign of the momentum average, β={MOMENTUM:g})",
    ),
    "adam": Method("adam", {}, (3e-4, 1e-3, 3e-3, 1e-2), "torch.optim.Adam"),
}

TASKS = ("words-transformer", "digits-cnn")
#: The word task's model at a size whose full batch two CPU cores afford: one layer of width 32 on 16-word
#: windows, a vocabulary of 512 words (the rest <unk>): still a Zipfian class distribution.
SMALL_WORD_MODEL = {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64, "max_len": 16, "vocab_size": 512}


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
    if p.n_boot * (1.0 - p.confidence) < 20:
        raise StudyError(
            f"--n-boot must be >= {int(np.ceil(20 / (1 - p.confidence)))} at --confidence "
            f"{p.confidence:g} (20 replicates beyond each end), got {p.n_boot}"
        )
    if not (0 < p.lr_scale and max(max(m.grid) for m in METHODS.values()) * p.lr_scale * 10 <= FLOAT32_MAX):
        raise StudyError(f"--lr-scale must be > 0 and keep every step size within float32, got {p.lr_scale!r}")
    check_torch_run(study, p)
    check_subset("n_examples", p.n_examples, tasks)


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


def judge(
    claim, est: float, lo: float, hi: float, *, n_seeds: int, confidence: float, edge_methods=(), precondition: str = ""
) -> dict:
    """One verdict row of a gap claim (``theory.GapClaim``) from its ratio and interval, by the rule printed
    above the table: insufficient data when the seeds cannot bound a median, 'not tuned' when a method's
    step size stayed at a grid edge, inconclusive when a precondition fails (its reason), else
    ``verdict.band_word``."""
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
        "ratio": est,
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
