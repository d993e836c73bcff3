"""``torch-rates``: does clipping matter more where the gradient noise is heavy, and does the GClip → CClip →
ACClip ladder of Zhang et al. (2020, Section 5.1) hold on a real network?

Setting: a text task (``--text-task``, a small character transformer by default) and a vision task
(``--vision-task``, the digits CNN); ``--n-seeds`` seeds train at once from the same weights, differing only in
minibatch order (``--vary-init``: in their weights too), seed i seeing the same minibatches under every method.
Methods: the clipping comparison (``--methods``: sgd → gclip, adam_norm → clip_adam_norm; adam and sgd_m as
references) on both tasks, and the ladder sgd_m → gclip_m → cclip_m → acclip against adam on the text task
(unless ``--no-ladder``); step sizes tuned on disjoint seeds from grids fixed here (LR_GRIDS, extended past an
edge optimum by synthclip.tuning; one left at an edge reads *not tuned*), clip levels fixed (GCLIP_TAU, CCLIP_TAU).
Verdicts (rule fixed before running, claim_rows): ratios of loss quantiles across seeds, final and worst over the
last decade, with a paired bootstrap over seeds; magnitude words ("largely", "far", "level with") against the
5 % band EQUIVALENCE (an amendment after the first default run, disclosed on the page), "improves" against 1.

Full description: docs/studies/torch-rates.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import methods as method_registry
from .. import stats, verdict
from .._rng import derive_seed
from ..harness import report
from ..harness._torch_gap import CCLIP_TAU, GCLIP_TAU, MOMENTUM, Method, fmt
from ..harness._torch_run import (
    FLOAT32_MAX,
    SMALL_MODEL_THREADS,
    check_batch_size,
    check_replicates,
    check_torch_run,
    torch_threads,
    tune_on_other_seeds,
)
from ..harness.base import (
    CommonParams,
    Study,
    StudyError,
    check_fit_flags,
    check_methods,
    declares,
    fields_of,
    method_overrides,
    option,
    register,
    with_overrides,
    with_registered,
)
from ..harness.rate_tables import mean_frame, quantile_frame
from ..theory import GAP_BAND
from ..tuning import edge_summary
from ..verdict import INCONCLUSIVE, NOT_REPRODUCED, NOT_TUNED, REPRODUCED

TEXT_TASKS = ("text-transformer", "chars-transformer-noformat", "words-transformer", "words-transformer-noformat")
VISION_TASKS = ("digits-cnn", "digits-mlp")
#: --text-size small: the transformer of the task, one layer of width 32 on 32-token windows (≈ 20k weights
#: with characters): what 40 seeds × 9 methods × 500 steps can afford on two CPU cores.
SMALL_TEXT_MODEL = {"d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 128, "max_len": 32}
TEXT_EVAL_SIZE = 128  # --eval-size 0 on a text task: windows of the full objective (every digit on vision)

# the gap studies' clip levels and momentum: GCLIP_TAU, global, of gclip/gclip_m and λ of clip_adam_norm;
# CCLIP_TAU, per coordinate, of cclip_m; MOMENTUM of the ladder (the paper's SGD-m) and of Figure 1(a)'s SGD

#: "comparable": the ratio of quantiles within [1/1.05, 1.05]; "largely", "far": beyond 1.05 (one band for every
#: ratio claim of the torch studies: theory.GAP_BAND)
EQUIVALENCE = GAP_BAND


_CONST = {"lr_schedule": "constant"}
_CLIP = {"clip_schedule": "constant", "clip_power": 0.0}
#: the step-size grids, one per kind of step (three values half a decade apart, fixed before any run; the interior
#: rule extends a grid past an edge optimum): SGD's (also GClip's, ACClip's and a registered method's), the Norm
#: methods', Adam's, and the momentum methods'
SGD_GRID = (0.1, 0.3, 1.0)
NORM_GRID = (0.03, 0.1, 0.3)
ADAM_GRID = (3e-4, 1e-3, 3e-3)
MOMENTUM_GRID = (0.01, 0.03, 0.1)
METHODS: dict[str, Method] = {
    "sgd": Method("sgd", _CONST, SGD_GRID, "SGD"),
    "gclip": Method("gclip", {**_CONST, "clip": GCLIP_TAU, **_CLIP}, SGD_GRID, f"GClip τ={GCLIP_TAU:g}"),
    "adam_norm": Method("adam_norm", {}, NORM_GRID, "Adam-Norm"),
    "clip_adam_norm": Method(
        "clip_adam_norm", {"clip": GCLIP_TAU, **_CLIP}, NORM_GRID, f"Clip-Adam-Norm λ={GCLIP_TAU:g}"
    ),
    "adam": Method("adam", {}, ADAM_GRID, "torch.optim.Adam"),
    "sgd_m": Method("torch-sgd", {"momentum": MOMENTUM}, MOMENTUM_GRID, f"torch.optim.SGD momentum {MOMENTUM:g}"),
    "gclip_m": Method(
        "gclip",
        {**_CONST, "clip": GCLIP_TAU, **_CLIP},
        MOMENTUM_GRID,
        f"GClip τ={GCLIP_TAU:g} + momentum {MOMENTUM:g}",
        {"momentum": MOMENTUM},
    ),
    "cclip_m": Method(
        "cclip",
        {**_CONST, "clip": CCLIP_TAU, **_CLIP},
        MOMENTUM_GRID,
        f"CClip τ={CCLIP_TAU:g} + momentum {MOMENTUM:g}",
        {"momentum": MOMENTUM},
    ),
    # Algorithm 1 steps along the clipped EMA m_k, which has the gradient's scale: SGD's grid, not Adam's
    "acclip": Method("acclip", {}, SGD_GRID, "ACClip (Algorithm 1 defaults)"),
}
LR_GRIDS = {label: m.grid for label, m in METHODS.items()}


def registered_method(name: str, overrides: Mapping[str, Mapping[str, Any]]) -> Method:
    """A registered method the table does not name (a --plugin's; its torch form is ``optimizer_for``'s): its
    registry defaults with constant schedules where it declares them (as the table's clipped methods), its
    --method-param values, and SGD's grid, extended past an edge optimum by the interior rule like every grid.
    It is run and reported; no claim names it."""
    fixed = {
        **(_CONST if declares(name, "lr_schedule") else {}),
        **(_CLIP if declares(name, "clip_schedule") else {}),
    }
    fixed = with_overrides(overrides, name, name, fixed, judged=False)
    return Method(name, fixed, SGD_GRID, f"{name} (registered method: {method_registry.get(name).doc})")


COMPARISON = ("sgd", "gclip", "adam_norm", "clip_adam_norm", "adam", "sgd_m")
LADDER = ("sgd_m", "gclip_m", "cclip_m", "acclip", "adam")
CLIP_PAIRS = (("sgd", "gclip"), ("adam_norm", "clip_adam_norm"))
AUTO_SEEDS = {"cpu": 40, "cuda": 512}  # --n-seeds 0: bounds the 0.9-quantile on CPU, the 0.99 one on a GPU

#: The ladder's claims (Zhang et al. 2020, Section 5.1 and Figure 3a): (name, a, b, kind, statement); the ratio
#: is Q(a)/Q(b); "better": b better than a; "far": b better by more than the band (a magnitude word);
#: "comparable": within the equivalence band.
RUNGS = (
    ("fig3a-gclip>sgd_m", "sgd_m", "gclip_m", "better", "global clipping speeds up SGD with momentum"),
    ("fig3a-adam>gclip", "gclip_m", "adam", "far", "GClip with momentum stays far from Adam"),
    ("fig3a-cclip>gclip", "gclip_m", "cclip_m", "better", "coordinate-wise clipping improves on global clipping"),
    ("fig3a-cclip~adam", "cclip_m", "adam", "comparable", "CClip with momentum is level with Adam"),
    ("fig3a-acclip>cclip", "cclip_m", "acclip", "better", "the moment estimate (ACClip) improves on CClip"),
    ("fig3a-acclip>adam", "adam", "acclip", "better", "ACClip beats Adam"),
)
SOURCE_SEED = "seed 000 (clipped AdaGrad/Adam under heavy-tailed noise)"
SOURCE_PAPER = "Zhang et al. 2020 (seed 002)"


def judged_upper(n_seeds: int, confidence: float) -> float:
    """The upper quantile judged: 0.99 when n seeds bound it from above, else 0.9."""
    return 0.99 if n_seeds >= verdict.runs_needed(0.99, confidence) else 0.9


def task_kind(task: str) -> str:
    return "text" if task in TEXT_TASKS else "vision"


@dataclass
class TorchRatesParams(CommonParams):
    text_task: str = option("text-transformer", "the text task (heavy-tailed noise expected)", choices=TEXT_TASKS)
    vision_task: str = option("digits-cnn", "the vision task (light noise expected)", choices=VISION_TASKS)
    text_size: str = option(
        "small",
        "text model: small (1 layer, width 32, 32-token windows) or full (the task's own size)",
        choices=("small", "full"),
    )
    methods: list = option(
        list(COMPARISON),
        "methods run on both tasks: the clipping comparison's, the ladder's, or any registered method (a --plugin's: "
        "reported, not judged); empty: the ladder only",
        optional=True,
    )
    no_ladder: bool = option(
        False, "skip Section 5.1's ladder (sgd_m, gclip_m, cclip_m, acclip, adam on the text task)"
    )
    n_seeds: int = option(
        0, f"judged seeds per (task, method) (0: {AUTO_SEEDS['cpu']} on cpu, {AUTO_SEEDS['cuda']} on cuda)", low=0
    )
    n_tune_seeds: int = option(6, "seeds per step size of the grid (disjoint from the judged seeds)", low=1)
    vary_init: bool = option(False, "each seed its own initial weights (default: the same for all seeds)")
    steps: int = option(500, "training steps K", low=1)
    batch_size: int = option(8, "minibatch size", low=1)
    lr_scale: float = option(1.0, "factor on every step-size grid", low=0.0)
    checkpoints: int = option(10, "about this many log-spaced steps at which f and ‖∇f‖ are recorded", low=2)
    eval_size: int = option(0, f"examples of the full objective (0: {TEXT_EVAL_SIZE} text windows, all digits)", low=0)
    quantiles: list = option([0.5, 0.9, 0.99], "quantile levels reported across seeds")
    confidence: float = option(
        verdict.RULE.confidence, "level of the quantile and bootstrap intervals", low=0.0, high=1.0
    )
    n_boot: int = option(verdict.RULE.n_boot, "bootstrap replicates per ratio (≥ 20/(1 − confidence))", low=1)
    device: str = option("cpu", "torch device: cpu or cuda")


@register
class TorchRates(Study):
    name = "torch-rates"
    summary = "clipping on a heavy- vs a light-noise network (seed 000, Figure 1(a)) and Figure 3a's ladder"
    Params = TorchRatesParams
    plugins = True  # --methods takes any registered method: --plugin, --method-param
    # one in-process job: the quick cells take less time than starting torch in worker processes
    quick = {"n_seeds": 8, "n_tune_seeds": 2, "steps": 20, "checkpoints": 4, "eval_size": 16, "n_boot": 400, "jobs": 1}
    tables = ("quantiles", "paths", "tuning", "runs", "ratios", "claims")
    single_folder = True

    def validate(self, p) -> None:
        # the flags' types, ranges and choices are checked by their declarations (base.check_declared) before this
        if not p.methods and p.no_ladder:
            raise StudyError(
                f"--methods is empty and --no-ladder is set: nothing to run; valid methods: {', '.join(COMPARISON)}"
            )
        check_methods("methods", p.methods, with_registered(METHODS))  # a --plugin's methods too
        if p.n_seeds == 0:
            p.n_seeds = AUTO_SEEDS["cpu" if p.device == "cpu" else "cuda"]
        check_fit_flags(p)  # --quantiles and --confidence in (0, 1)
        # the median is judged: fewer seeds than its order-statistic interval needs cannot carry any verdict
        need = verdict.runs_needed(0.5, p.confidence)
        if p.n_seeds < need:
            raise StudyError(
                f"--n-seeds {p.n_seeds} cannot bound even the median across seeds at "
                f"{p.confidence:g}: use --n-seeds >= {need}"
            )
        if p.steps < 10:
            raise StudyError(
                f"--steps must be >= 10 (the worst ratio is taken over the last decade [K/10, K]), got {p.steps}"
            )
        if p.checkpoints > p.steps:
            raise StudyError(f"--checkpoints must be <= --steps ({p.steps}), got {p.checkpoints}")
        check_replicates(p)
        if not (0 < p.lr_scale and max(max(g) for g in LR_GRIDS.values()) * p.lr_scale <= FLOAT32_MAX):
            raise StudyError(
                f"--lr-scale must be > 0 and keep every step size within float32 (the models "
                f"train in float32), got {p.lr_scale!r}"
            )
        check_torch_run(self.name, p)
        check_batch_size("batch_size", p.batch_size, [p.text_task, p.vision_task])

    def cells(self, p) -> list[dict]:
        init = None if p.vary_init else derive_seed(p.seed, "torch-rates", "init")
        runs = [(p.text_task, m) for m in p.methods] + [(p.vision_task, m) for m in p.methods]
        if not p.no_ladder:
            runs += [(p.text_task, m) for m in LADDER if m not in p.methods]
        cells = []
        for task, label in runs:
            if label in METHODS:  # the table's labels are judged at their fixed settings: an override is refused
                spec = METHODS[label]
                with_overrides(method_overrides(p), label, spec.optimizer, spec.fixed, judged=True)
            else:
                spec = registered_method(label, method_overrides(p))
            text = task_kind(task) == "text"
            cells.append(
                {
                    "label": f"{task} {label}",
                    "task": task,
                    "kind": task_kind(task),
                    "method": label,
                    "optimizer": spec.optimizer,
                    "fixed": dict(spec.fixed),
                    "options": dict(spec.options),
                    "grid": [float(lr * p.lr_scale) for lr in spec.grid],
                    "model_kwargs": dict(SMALL_TEXT_MODEL) if text and p.text_size == "small" else {},
                    **fields_of(p, "n_seeds", "n_tune_seeds", "steps", "batch_size", "checkpoints"),
                    "eval_size": p.eval_size or (TEXT_EVAL_SIZE if text else 0),
                    "quantiles": sorted({float(q) for q in p.quantiles} | {0.5, judged_upper(p.n_seeds, p.confidence)}),
                    "confidence": p.confidence,
                    "init_key": init,
                    "seed": derive_seed(p.seed, "torch-rates", "judged"),
                    "tune_seed": derive_seed(p.seed, "torch-rates", "tune"),
                    "device": p.device,
                    "text": spec.text,
                    # a --plugin's file and digest (workers load it)
                    **(method_registry.plugin_of(label) if label not in METHODS else {}),
                }
            )
        return cells

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        method_registry.ensure_plugin(cell)
        with torch_threads(SMALL_MODEL_THREADS):
            out = run_method(cell)
        if progress:
            progress(cell["n_seeds"])
        return out

    def analyze(self, p, tables):
        ratios = ratio_table(
            tables["paths"],
            n_boot=p.n_boot,
            confidence=p.confidence,
            seed=derive_seed(p.seed, "torch-rates", "bootstrap"),
        )
        edge = tables["runs"][tables["runs"]["lr_at_grid_edge"]]
        untuned = frozenset(zip(edge["task"], edge["method"]))
        return {**tables, "ratios": ratios, "claims": claim_rows(ratios, untuned)}

    def report(self, tables, meta) -> str:
        return rates_report(tables, meta)

    def plot(self, tables, meta):
        return plot_torch_rates(tables, meta)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return rates_scoreboard(tables, meta)


# -- one cell: tune the step size, then the judged ensemble ------------------------------------------------


def _train(cell, lr: float, *, n_seeds: int, seed: int, checkpoints, grad_norms: bool):
    import torch

    from ..torch.ensemble import train_ensemble
    from ..torch.models import make_task

    task = make_task(cell["task"], dtype=torch.float32, device=cell["device"], **cell["model_kwargs"])
    return train_ensemble(
        task,
        cell["optimizer"],
        n_seeds=n_seeds,
        steps=cell["steps"],
        batch_size=cell["batch_size"],
        seed=seed,
        method_params={**cell["fixed"], "lr": lr},
        optimizer_options=cell["options"] or None,
        checkpoints=checkpoints,
        device=cell["device"],
        eval_size=cell["eval_size"] or None,
        init_key=cell["init_key"],
        grad_norms=grad_norms,
    )


def run_method(cell) -> dict[str, pd.DataFrame]:
    """Tuning (``_torch_run.tune_on_other_seeds``, the package's interior rule), then ``n_seeds`` judged seeds at
    the chosen step size: quantile, per-seed, run and tuning tables."""
    lr, tuning, _ = tune_on_other_seeds(cell, cell["grid"], lambda c, lr, **kw: _train(c, lr, grad_norms=False, **kw))
    tuning.insert(0, "method", cell["method"])
    tuning.insert(0, "task", cell["task"])
    res = _train(cell, lr, n_seeds=cell["n_seeds"], seed=cell["seed"], checkpoints=cell["checkpoints"], grad_norms=True)
    common = {"task": cell["task"], "kind": cell["kind"], "method": cell["method"]}
    k = res.checkpoints
    series = {
        "loss": np.where(res.failed[:, None], np.inf, res.losses),
        "grad_norm": np.where(res.failed[:, None], np.inf, res.grad_norms),
    }
    qrows = []
    for metric, values in series.items():
        at = {**common, "metric": metric, "k": k}
        qrows += [
            quantile_frame(values, q, {**at, "statistic": "quantile"}, confidence=cell["confidence"])
            for q in cell["quantiles"]
        ]
        qrows.append(mean_frame(values, at))
    quantiles = pd.concat(qrows, ignore_index=True).assign(n_seeds=res.n_seeds, n_failed=res.n_failed)
    paths = res.to_frame().drop(columns=["task", "method"]).assign(**common)
    paths = paths[["task", "kind", "method", "seed", "step", "loss", "grad_norm", "failed"]]
    p_fail, lo, hi = stats.failure_probability(np.where(res.failed, np.inf, 0.0), 0.0, confidence=cell["confidence"])
    bad = res.fail_step[res.fail_step >= 0]
    runs = pd.DataFrame(
        [
            {
                **common,
                "text": cell["text"],
                "lr": lr,
                "grid": repr(cell["grid"]),
                "lr_at_grid_edge": bool(tuning["at_edge"].iloc[0]),
                "n_extensions": int(tuning["n_extensions"].iloc[0]),
                "n_seeds": res.n_seeds,
                "n_failed": res.n_failed,
                "p_fail": float(p_fail),
                "fail_ci_low": float(lo),
                "fail_ci_high": float(hi),
                "first_fail_step": int(bad.min()) if bad.size else -1,
                "steps": res.steps,
                "batch_size": res.batch_size,
                "seconds": res.seconds,
                "tune_seconds": float(tuning["seconds"].sum()),
                "throughput": res.throughput,
                "device": res.device,
                "dtype": res.dtype,
                "same_init": cell["init_key"] is not None,
                "model_kwargs": repr(cell["model_kwargs"]),
                "eval_size": cell["eval_size"],
                "method_params": repr({**cell["fixed"], **cell["options"], "lr": lr}),
            }
        ]
    )
    return {"quantiles": quantiles, "paths": paths, "tuning": tuning, "runs": runs}


# -- the verdicts ------------------------------------------------------------------------------------------


def _matrix(paths: pd.DataFrame, task: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(seeds × checkpoints) losses of one run, failed seeds as +inf, and the checkpoints."""
    part = paths[(paths["task"] == task) & (paths["method"] == method)]
    wide = part.pivot(index="seed", columns="step", values="loss").sort_index()
    failed = part.groupby("seed")["failed"].any().sort_index().to_numpy()
    values = wide.to_numpy(float)
    return np.where(failed[:, None] | ~np.isfinite(values), np.inf, values), wide.columns.to_numpy()


def ratio_rows(
    a: np.ndarray, b: np.ndarray, k: np.ndarray, q: float, *, n_boot: int, confidence: float, seed: int
) -> dict[str, tuple[float, float, float]]:
    """Ratios Q_q(a)/Q_q(b) with their paired bootstrap intervals (``stats.quantile_ratio_ci``), of the final
    loss and of each seed's worst loss over the last decade, max over k in [K/10, K] (a high-probability bound
    on the whole late run; a per-seed maximum, so equal laws give ratios centred on 1, unlike a minimum of
    ratios over k).

    a, b: (seeds × checkpoints) of the same seeds (common random numbers), so seeds are resampled jointly.
    """
    late = k >= k.max() / 10.0
    out = {}
    for measure in ("final", "worst"):
        xa, xb = (a[:, -1], b[:, -1]) if measure == "final" else (a[:, late].max(axis=1), b[:, late].max(axis=1))
        ci = stats.quantile_ratio_ci(xa, xb, q, confidence_level=confidence, n_boot=n_boot, seed=seed)
        out[measure] = (ci.estimate, ci.low, ci.high)
    return out


def _pairs(tasks: dict[str, str], methods_by_task: dict[str, set]) -> list[tuple]:
    """(claim, statement, source, task, a, b, rule) of every comparison whose two runs exist."""
    contrasts = [
        (
            "seed000-clipping",
            f"clipping ({a} → {b}) largely improves training under heavy-tailed noise and is not critical under "
            "light noise",
            SOURCE_SEED,
            a,
            b,
        )
        for a, b in CLIP_PAIRS
    ]
    contrasts.append(
        (
            "fig1a-adam-vs-sgd",
            "Adam is far ahead of SGD with momentum on the attention model, not on the image model",
            SOURCE_PAPER + ", Figure 1(a)/(e)",
            "sgd_m",
            "adam",
        )
    )
    out = [(*c[:3], tasks.get(kind), *c[3:], "contrast") for c in contrasts for kind in ("text", "vision")]
    ladder = SOURCE_PAPER + ", Section 5.1 / Figure 3a"
    out += [(name, statement, ladder, tasks.get("text"), a, b, rule) for name, a, b, rule, statement in RUNGS]
    return [r for r in out if r[3] is not None and {r[4], r[5]} <= methods_by_task.get(r[3], set())]


RATIO_COLUMNS = (
    "claim statement source task kind a b rule quantile measure ratio ci_low ci_high n_seeds n_failed_a n_failed_b "
    "reason"
).split()


def ratio_table(paths: pd.DataFrame, *, n_boot: int, confidence: float, seed: int) -> pd.DataFrame:
    """Every comparison's ratio of quantiles (judged ones: the median and the upper quantile), final and worst."""
    if paths.empty:
        return pd.DataFrame(columns=RATIO_COLUMNS)
    tasks = {kind: task for task, kind in paths[["task", "kind"]].drop_duplicates().itertuples(index=False)}
    methods_by_task = {t: set(part["method"]) for t, part in paths.groupby("task")}
    rows = []
    for claim, statement, source, task, a, b, rule in _pairs(tasks, methods_by_task):
        xa, k = _matrix(paths, task, a)
        xb, kb = _matrix(paths, task, b)
        if xa.shape != xb.shape or not np.array_equal(k, kb):
            raise ValueError(f"runs {a} and {b} on {task} hold different seeds or checkpoints")
        n = xa.shape[0]
        failed = (int(np.isinf(xa).any(axis=1).sum()), int(np.isinf(xb).any(axis=1).sum()))
        for q in (0.5, judged_upper(n, confidence)):
            reason = verdict.sufficiency(n, q, confidence)
            res = ratio_rows(xa, xb, k, q, n_boot=n_boot, confidence=confidence, seed=derive_seed(seed, task, a, b, q))
            for measure, (r, lo, hi) in res.items():
                why = reason or (
                    ""
                    if np.isfinite(lo) and np.isfinite(hi)
                    else "the bootstrap interval is undefined (failed seeds in both runs)"
                )
                fields = (claim, statement, source, task, task_kind(task), a, b, rule, q, measure, r, lo, hi, n)
                rows.append(dict(zip(RATIO_COLUMNS, (*fields, *failed, why))))
    return pd.DataFrame(rows, columns=RATIO_COLUMNS)


def side(lo: float, hi: float, edge: float = 1.0) -> str:
    """Where a ratio's interval lies against ``edge``: "above", "below" or "holds", with the edge written out."""
    where = "above" if lo > edge else "below" if hi < edge else "holds"
    return f"{where} {edge:g}"


def rung_verdict(rule: str, lo: float, hi: float) -> str:
    """A ladder rung: "better" needs the interval above 1, "far" above the band's edge EQUIVALENCE (a magnitude
    claim); "comparable" within the equivalence band."""
    if rule == "comparable":
        if 1.0 / EQUIVALENCE <= lo and hi <= EQUIVALENCE:
            return REPRODUCED
        if lo > EQUIVALENCE or hi < 1.0 / EQUIVALENCE:
            return NOT_REPRODUCED
        return INCONCLUSIVE
    edge = EQUIVALENCE if rule == "far" else 1.0
    return {"above": REPRODUCED, "below": NOT_REPRODUCED, "holds": INCONCLUSIVE}[side(lo, hi, edge).split()[0]]


def contrast_verdict(text: tuple[float, float], vision: tuple[float, float]) -> str:
    """The contrast claims are magnitude claims ("largely improves", "far ahead"; "not critical"): reproduced
    when the text ratio's interval lies above EQUIVALENCE (a material gain shown) and the vision one's below it
    (no material gain, shown); not reproduced when the text one lies below EQUIVALENCE (any gain on text is
    shown smaller than the band) or the vision one above it (a material gain there too); inconclusive otherwise."""
    t, v = side(*text, EQUIVALENCE).split()[0], side(*vision, EQUIVALENCE).split()[0]
    if t == "below" or v == "above":
        return NOT_REPRODUCED
    if t == "above" and v == "below":
        return REPRODUCED
    return INCONCLUSIVE


def claim_rows(ratios: pd.DataFrame, untuned: frozenset = frozenset()) -> pd.DataFrame:
    """One verdict per (claim, pair, quantile, measure) under the module's rule; a comparison that uses a
    (task, method) in ``untuned`` (its step size at the edge of its extended grid) reads 'not tuned'."""
    sides = {kind: [f"{kind}_{f}" for f in ("task", "ratio", "low", "high")] for kind in ("text", "vision")}
    columns = ["claim", "statement", "source", "a", "b", "quantile", "measure", *sum(sides.values(), [])]
    columns += ["verdict", "reason"]
    if ratios.empty:
        return pd.DataFrame(columns=columns)
    absent = {"task": "", "ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan}  # a task the claim was not run on
    rows = []
    for (claim, a, b, q, measure), part in ratios.groupby(["claim", "a", "b", "quantile", "measure"], sort=False):
        first = part.iloc[0]
        row = {"claim": claim, "statement": first["statement"], "source": first["source"], "a": a, "b": b}
        row.update(quantile=q, measure=measure)
        for kind, names in sides.items():
            sub = part[part["kind"] == kind]
            r = sub.iloc[0] if not sub.empty else absent
            row.update(zip(names, (r["task"], r["ratio"], r["ci_low"], r["ci_high"])))
        text, vision = (row["text_low"], row["text_high"]), (row["vision_low"], row["vision_high"])
        reasons = [r for r in part["reason"] if r]
        edge = sorted(f"{m} on {task}" for task in part["task"] for m in (a, b) if (task, m) in untuned)
        if reasons:
            row.update(verdict=verdict.INSUFFICIENT, reason=reasons[0])
        elif edge:
            row.update(verdict=NOT_TUNED, reason=f"step size at the edge of its extended grid: {', '.join(edge)}")
        elif first["rule"] == "contrast":
            if not (row["text_task"] and row["vision_task"]):
                row.update(verdict=verdict.INSUFFICIENT, reason="needs both tasks")
            else:
                where = f"text {side(*text, EQUIVALENCE)}, vision {side(*vision, EQUIVALENCE)}"
                row.update(verdict=contrast_verdict(text, vision), reason=where)
        else:
            words = rung_verdict(first["rule"], *text)
            band = f"band [{1 / EQUIVALENCE:.3f}, {EQUIVALENCE:g}]"
            if first["rule"] != "comparable":
                where = f"interval {side(*text, EQUIVALENCE if first['rule'] == 'far' else 1.0)}"
            else:
                where = {REPRODUCED: "within", NOT_REPRODUCED: "outside"}.get(words, "overlaps the edge of")
                where = f"interval {where} the {band}"
            row.update(verdict=words, reason=where)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


# -- report, scoreboard, figure ------------------------------------------------------------------------


def worst_at_first_checkpoint(paths: pd.DataFrame) -> tuple[int, int, int]:
    """How many (task, method, seed) runs have their largest loss of [K/10, K] at the first checkpoint there
    (a decreasing curve), out of how many, and that checkpoint."""
    late = paths[paths["step"] >= paths["step"].max() / 10.0]
    if late.empty:
        return 0, 0, 0
    k0 = int(late["step"].min())
    late = late.assign(loss=late["loss"].fillna(np.inf))  # a failed seed's NaN is its worst (+inf)
    worst = late.loc[late.groupby(["task", "method", "seed"])["loss"].idxmax()]
    return int((worst["step"] == k0).sum()), len(worst), k0


def same_paths(paths: pd.DataFrame, a: str, b: str) -> float:
    """Largest relative difference of the losses of methods a and b over every (task, seed, checkpoint) they
    share (nan when they share none): a tiny value means the two updates coincided, e.g. a clipping method
    whose clip level never bound."""
    pa = paths[paths["method"] == a].set_index(["task", "seed", "step"])["loss"]
    pb = paths[paths["method"] == b].set_index(["task", "seed", "step"])["loss"]
    both = pa.to_frame("a").join(pb.to_frame("b"), how="inner")
    if both.empty:
        return float("nan")
    return float(np.max(np.abs(both["a"] - both["b"]) / np.abs(both["b"])))


#: below this relative difference everywhere, a clipping rung is reported as not having clipped
SAME_PATH = 1e-3


def rates_report(tables, meta) -> str:
    p = meta["params"]
    runs, q, claims = tables["runs"], tables["quantiles"], tables["claims"]
    upper = judged_upper(int(p["n_seeds"]), p["confidence"])
    init = (
        "every seed from the same initial weights (seeds differ in minibatch order only)"
        if not p["vary_init"]
        else "each seed its own initial weights"
    )
    lines = [
        f"torch-rates: {p['n_seeds']} judged seeds per (task, method), K={p['steps']} steps, batch "
        f"{p['batch_size']}, {init}; step sizes tuned on {p['n_tune_seeds']} other seeds per grid point "
        f"(grid of 3, × {p['lr_scale']:g}, extended past an edge optimum; smallest mean final loss); text model: {p['text_size']}; "
        f"{p['confidence']:.0%} order-statistic intervals across seeds; failed seeds count as +inf",
        f"judged quantiles: 0.5 and {upper:g} ({'≥' if upper == 0.99 else '<'} "
        f"{verdict.runs_needed(0.99, p['confidence'])} seeds bound the 0.99-quantile)",
        "",
    ]
    for task in dict.fromkeys(runs["task"]):
        r_task = runs[runs["task"] == task]
        lines.append(
            f"{task} ({r_task['kind'].iloc[0]}; full objective: {int(r_task['eval_size'].iloc[0]) or 'all'} examples):"
        )
        header = (
            f"{'method':<15} {'lr':>7}  {'median final loss':<28} {f'q={upper:g} final loss':<28} "
            f"{'median ‖∇f(x_K)‖':<28} {'failed':>7}  {'s':>5}"
        )
        lines += [header, "-" * len(header)]
        for _, r in r_task.iterrows():
            cells = []
            for metric, qq in (("loss", 0.5), ("loss", upper), ("grad_norm", 0.5)):
                s = q[
                    (q["task"] == task)
                    & (q["method"] == r["method"])
                    & (q["metric"] == metric)
                    & np.isclose(q["quantile"].fillna(-1), qq)
                ]
                s = s[s["k"] == s["k"].max()]
                cells.append(
                    f"{fmt(s['value'].iloc[0], s['ci_low'].iloc[0], s['ci_high'].iloc[0]):<28}"
                    if not s.empty
                    else f"{'-':<28}"
                )
            edge = "*" if r["lr_at_grid_edge"] else " "
            lines.append(
                f"{r['method']:<15} {r['lr']:>7.3g}{edge} {' '.join(cells)} "
                f"{int(r['n_failed']):>3}/{int(r['n_seeds']):<3}  {r['seconds'] + r['tune_seconds']:>5.0f}"
            )
        lines.append("")
    if runs["lr_at_grid_edge"].any():
        lines.append(
            "* the chosen step size is at an end of its extended grid (the optimum may lie outside it): "
            "comparisons using it read 'not tuned'"
        )
    lines.append(edge_summary(runs.assign(interior=~runs["lr_at_grid_edge"].astype(bool))))
    lines.append(
        f"ratios R = Q_q(a)/Q_q(b) of the loss quantiles (R > 1: b lower), paired {p['confidence']:.0%} "
        f"bootstrap over seeds ({p['n_boot']} replicates); final: k = K; worst: each seed's max of L_k over k in [K/10, K]"
    )
    first, total, k0 = worst_at_first_checkpoint(tables["paths"])
    if total:
        lines.append(
            f"  the worst checkpoint of [K/10, K] is the first one (k = {k0}) for {first} of {total} seeds: "
            f"where that holds, 'worst' measures earlier progress, not a spike (none seen at the checkpoints)"
        )
    for (claim, statement), part in claims.groupby(["claim", "statement"], sort=False):
        lines.append(f"{claim}: {statement} ({part['source'].iloc[0]})")
        for _, c in part.iterrows():
            where = []
            for name in ("text", "vision"):
                if c[f"{name}_task"]:
                    where.append(f"{name} {fmt(c[f'{name}_ratio'], c[f'{name}_low'], c[f'{name}_high'])}")
            lines.append(
                f"  {c['a']} → {c['b']}, q={c['quantile']:g} {c['measure']:<6}: {'; '.join(where)} → "
                f"{c['verdict']} ({c['reason']})"
            )
    gap = same_paths(tables["paths"], "acclip", "sgd_m")
    if gap < SAME_PATH:
        lines.append(
            f"note: ACClip's losses equal SGD-m's to a relative {gap:.1e} at every checkpoint of every seed: "
            f"with Algorithm 1's defaults (τ0 = 1, β2 = 0.99) its clip level never bound the momentum here, "
            f"so its rungs compare SGD with momentum with itself, not the effect of adaptive clipping"
        )
    total = float(runs["seconds"].sum() + runs["tune_seconds"].sum())
    lines += ["", f"compute: {total:.0f} s of training in the cells (summed over cells, tuning included)"]
    return "\n".join(lines).rstrip()


def rates_scoreboard(tables, meta) -> pd.DataFrame:
    """One scoreboard row per claim verdict (judged quantile × final/worst), from the stored claims table."""
    p = meta["params"]
    rows = []
    for _, c in tables["claims"].iterrows():
        main = "text" if c["text_task"] else "vision"
        setting = (
            f"{c['a']} → {c['b']}, {c['text_task'] or ''}{' vs ' if c['text_task'] and c['vision_task'] else ''}"
            f"{c['vision_task'] or ''}, N={p['n_seeds']}, K={p['steps']}, batch {p['batch_size']}"
        )
        reason = c["reason"]
        if c["text_task"] and c["vision_task"]:
            reason = f"vision ratio {fmt(c['vision_ratio'], c['vision_low'], c['vision_high'])}; {reason}"
        rows.append(
            report.score_row(
                meta,
                c,
                setting=setting,
                quantity=f"{main} ratio of {c['quantile']:g}-quantiles of the loss, {c['measure']}",
                statement=c["claim"],
                source=c["source"],
                measured=c[f"{main}_ratio"],
                ci_low=c[f"{main}_low"],
                ci_high=c[f"{main}_high"],
                theory=1.0,
                reason=reason,
            )
        )
    return report.scoreboard(rows)


def plot_torch_rates(tables, meta):
    """The headline at page width: the training loss across seeds (median solid, the upper judged quantile dashed
    with its band) of the comparison methods on the text task and on the vision task and of the ladder on the
    text task, and a panel of every verdict row (the text task's ratio of loss quantiles with its interval, one
    line per comparison, coloured by verdict, against the claim's reference value)."""
    from .. import plotting

    q = tables["quantiles"]
    q = q[q["statistic"] == "quantile"]
    p = meta.get("params", {})
    upper = judged_upper(int(p.get("n_seeds", 40)), p.get("confidence", 0.95))
    tasks = list(dict.fromkeys(tables["runs"]["task"]))
    text = set(q[q["kind"] == "text"]["task"])
    panels = [(t, group) for t in tasks for group in (("comparison", "ladder") if t in text else ("comparison",))]
    panels = sorted(panels, key=lambda tg: (tg[0] not in text, tg[1] != "comparison"))[:3]
    fig, axes = plotting.figure(len(panels) + 1, ncols=2, size=4.0, aspect=0.8)
    methods = list(dict.fromkeys([*METHODS, *q["method"]]))
    colors = plotting.colors_of(methods)
    for ax, (task, group) in zip(axes, panels):
        names = [
            m for m in (COMPARISON if group == "comparison" else LADDER) if m in set(q[(q["task"] == task)]["method"])
        ]
        drawn = False
        for m in names:
            part = q[(q["task"] == task) & (q["method"] == m) & (q["metric"] == "loss")]
            for qq, ls in ((0.5, "-"), (upper, "--")):
                s = part[np.isclose(part["quantile"], qq)].sort_values("k")
                y = s["value"].to_numpy(float)
                y = np.where(np.isfinite(y) & (y > 0), y, np.nan)
                ax.plot(s["k"], y, ls=ls, color=colors[m], lw=1.3, label=m if qq == 0.5 else None)
                if qq == upper:
                    hi = s["ci_high"].to_numpy(float)
                    ax.fill_between(
                        s["k"],
                        np.clip(s["ci_low"].to_numpy(float), 1e-12, None),
                        np.where(np.isfinite(hi), hi, np.nan),
                        color=colors[m],
                        alpha=0.15,
                        lw=0,
                    )
                drawn = drawn or bool(np.isfinite(y).any())
        if drawn:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend(fontsize=6.5, ncol=2)
        else:
            ax.text(
                0.5, 0.5, "every quantile is +inf\n(failed seeds)", ha="center", va="center", transform=ax.transAxes
            )
        ax.set_title(f"{task}, {group}")
        ax.set_xlabel("step k")
        ax.set_ylabel("training loss f(x_k)")
    board = rates_scoreboard(tables, meta)
    ax = axes[-1]
    if board.empty:
        ax.text(0.5, 0.5, "no verdict row", transform=ax.transAxes, ha="center", va="center")
    else:
        # one line per comparison ("sgd → gclip"), a marker per quantity ("0.5 final"): the rows' own words
        rows = board.assign(
            group=board["setting"].str.split(",").str[0],
            level=board["quantity"]
            .str.extract(r"of ([0-9.]+)-quantiles.*, (\w+)$")
            .fillna("")
            .agg(" ".join, axis=1)
            .str.strip(),
        )
        plotting.slope_panel(
            ax,
            rows,
            group="group",
            level="level",
            value="measured",
            xlabel="text ratio of loss quantiles, with / without [CI]",
        )
    ax.set_title("verdicts: " + plotting.tally(board["verdict"]) if not board.empty else "verdicts")
    ax.title.set_fontsize(7.5)
    fig.suptitle(
        f"torch-rates: across {p.get('n_seeds')} seeds, median (solid) and {upper:g}-quantile (dashed, "
        f"band: {p.get('confidence', 0.95):.0%} order-statistic interval)"
    )
    fig.tight_layout()
    return fig
