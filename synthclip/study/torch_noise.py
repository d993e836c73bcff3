"""``torch-noise``: is the minibatch-gradient noise of real networks heavy-tailed, as the seeds measure it?

Claims (docs/theory.md, "Sources"): Zhang et al. 2020's Figures 1, 2 and 4 and Appendix H, and seed 000's
sentence that NLP gradient norms are heavy-tailed and vision's are not.
Tasks (``synthclip.torch.models``): character and word transformers on text, their no-formatting ablations and
Figure 4's grid (no attention, Gaussian inputs), against a digits CNN and MLP.
Probe (``synthclip.torch.probe``): at a training step, ξ_b = g_b − ∇f for ``--n-batches`` i.i.d. minibatches
of size B; per probe Hill's and the moment estimator's α̂ on ‖ξ‖, the top-1 % share of Σ‖ξ‖², seed 000's
outlier ratios, and Mohammadi's α on the vectors, on one draw's coordinates and on every coordinate pooled.
Verdicts (:data:`CLAIMS_RULE`, fixed before any run): reproduced / not reproduced / inconclusive from intervals
over seed replicates: distribution-free shift intervals (tier (i), Figures 2 and 4), every replicate's
calibrated interval of α (tier (ii) and Appendix H, rule version 2), exact binomial intervals (seed 000).
``--device cuda`` runs the probes on a GPU; it exits with one line when CUDA is missing.

Full description: docs/studies/torch-noise.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import stats
from ..harness import report
from ..harness._torch_run import FLOAT32_MAX, SMALL_MODEL_THREADS, check_batch_size, check_torch_run, torch_threads  # noqa: F401
from ..harness.base import (
    CommonParams,
    Study,
    StudyError,
    check_choice,
    check_fit_flags,
    check_memory,
    check_positive,
    fields_of,
    flag,
    option,
    register,
)
from ..verdict import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

# The torch tasks (synthclip.torch.models.TASKS, repeated so that validation does not import torch; a test
# checks the two agree), text tasks first: the order of the report's rows.
TASKS = (
    "text-transformer",
    "chars-transformer-noformat",
    "words-transformer",
    "words-transformer-noformat",
    "words-noattn",
    "words-transformer-gauss",
    "words-noattn-gauss",
    "digits-cnn",
    "digits-mlp",
)
TASK_ORDER = {m: i for i, m in enumerate(TASKS)}
OPTIMIZERS = ("adam", "sgd")
HEAVY_BELOW = 2.0  # α < 2: infinite variance, the heavy-tailed regime of Assumption 1


# -- the study -----------------------------------------------------------------------------------------

MAX_PROBE_STEP = 100_000  # about a few minutes of training per probe point on one CPU core
MAX_SEEDS = 1000
# Bumped when a cell's tables change meaning (the cell cache is keyed by the cell dict and the version).
PROBE_VERSION = 4  # 3: Mohammadi's vector intervals from the parametric pivot; 4: the coordinate view's span

VISION = "digits-cnn"
TEXT_TASKS = ("text-transformer", "words-transformer")
ABLATIONS = {"text-transformer": "chars-transformer-noformat", "words-transformer": "words-transformer-noformat"}
# Figure 4's grid on the word task, (architecture, input) → task (as synthclip.torch.models.FIGURE4)
FIGURE4 = {
    ("attention", "text"): "words-transformer",
    ("no attention", "text"): "words-noattn",
    ("attention", "gaussian"): "words-transformer-gauss",
    ("no attention", "gaussian"): "words-noattn-gauss",
}
FIGURE4_ONLY = ("words-noattn", "words-transformer-gauss", "words-noattn-gauss")  # probed at step 0 only
VERDICT_STATISTIC = "top1_share"  # tier (i)'s named statistic, compared on the log scale
INTERVAL = ("alpha", "ci_low", "ci_high")  # an estimate of α with its interval
N_WINDOWS = 5  # decoded windows kept per text probe (the largest norms)
# What the paper expects of each task's noise (Figures 1 and 4; the ablations are this project's own)
EXPECTED = {
    "text-transformer": "heavy-tailed",
    "words-transformer": "heavy-tailed",
    "chars-transformer-noformat": "heavy-tailed if not formatting",
    "words-transformer-noformat": "heavy-tailed if not formatting",
    "words-noattn": "heavy-tailed (Fig. 4: data)",
    "words-transformer-gauss": "heavy-tailed (Fig. 4: architecture)",
    "words-noattn-gauss": "Gaussian",
    "digits-cnn": "lighter",
    "digits-mlp": "lighter",
}
CLAIMS_RULE = (
    "rule (fixed before the run): tier (i) Figure 1 = Hodges–Lehmann shift of log top-1 % share of "
    "Σ‖ξ‖² (text − digits-cnn) with its exact Mann–Whitney interval over seed replicates, step 0, "
    "smallest B: reproduced if above 0, not reproduced if below, else inconclusive; tier (ii) α < 2 "
    "(version 2) = each replicate's interval of α from Hill on ‖ξ‖ at k = √N and from Mohammadi on ξ "
    "(parametric pivot): reproduced if every interval of one estimator lies below 2 and not every one "
    "of the other above, not reproduced if every Hill interval lies above 2 and not every Mohammadi "
    "one below, else inconclusive; seed 000 = mild-outlier ratio (exact binomial, replicates pooled) above 1 for text and "
    "not for vision; Figure 2 "
    "= shift of scale drift |Δ log median‖ξ‖| (text − vision) above 0; Figure 4 = architecture and "
    "data shifts of log top-1 % share both above 0; Appendix H (version 2) = where every "
    "replicate's Hill interval on ‖ξ‖ lies above 2 (the vector view light), reproduced if every draw's "
    "coordinate-view Mohammadi interval lies below 2, not reproduced if every one lies above, else inconclusive"
)


@dataclass
class TorchNoiseParams(CommonParams):
    models: list = option(list(TASKS), "tasks of synthclip.torch.models")
    n_seeds: int = option(5, "seed replicates (independent initialisations and minibatches) per task", low=1)
    verdict_step: int = option(100, "the later training step of the verdict settings (step 0 is the other)", low=0)
    probe_at: list = option([0, 30, 100, 300], "Figure 2's training steps, probed on the first replicate")
    batch_sizes: list = option(
        [1, 8],
        "minibatch sizes B (the verdicts use the smallest; the others on the first replicate at the verdict steps)",
    )
    n_batches: int = option(1000, "minibatches N per probe", low=16)
    full: bool = option(False, "probe every step and batch size on every replicate (the full grid)")
    optimizer: str = option("adam", "optimizer of the training before a probe", choices=OPTIMIZERS)
    lr: float = option(1e-3, "learning rate of that training", low=0.0)
    train_batch_size: int = option(32, "minibatch size of that training", low=1)
    full_size: int = option(
        0, "examples in the full gradient ∇f (0: the task's own, all digits / 2048 text windows)", low=0
    )
    coords_per_layer: int = option(256, "coordinates kept per layer (Mohammadi's vector and coordinate views)", low=1)
    confidence: float = option(0.95, "level of every interval", low=0.0, high=1.0)
    device: str = option("cpu", "torch device: cpu or cuda")


# the parameters every cell carries as they are
CELL_FIELDS = "n_batches optimizer lr train_batch_size full_size coords_per_layer confidence seed device".split()


@register
class TorchNoise(Study):
    name = "torch-noise"
    single_folder = True
    summary = "gradient-noise tails of transformer LMs (chars, words) vs a digits CNN (Figures 1, 2, 4, App. H)"
    Params = TorchNoiseParams
    # one in-process job: the quick cells take less time than starting torch in worker processes
    quick = {
        "n_seeds": 2,
        "verdict_step": 5,
        "probe_at": [0, 5],
        "batch_sizes": [1],
        "n_batches": 32,
        "full_size": 128,
        "coords_per_layer": 16,
        "jobs": 1,
    }
    tables = ("tails", "norms", "probes", "hill", "windows", "claims", "verdicts", "models")

    def validate(self, p) -> None:
        # check_declared has run: the types, the declared bounds, and lists neither empty nor repeating
        check_choice("models", p.models, TASKS)
        if p.n_seeds > MAX_SEEDS:
            raise StudyError(f"--n-seeds must be an integer in [1, {MAX_SEEDS}], got {p.n_seeds!r}")
        for name, steps in (("probe_at", p.probe_at), ("verdict_step", [p.verdict_step])):
            for s in steps:
                if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s <= MAX_PROBE_STEP:
                    what = "integers" if name == "probe_at" else "an integer"
                    raise StudyError(
                        f"{flag(name)} must be {what} in [0, {MAX_PROBE_STEP}] (training steps "
                        f"before a probe; each costs milliseconds on a CPU), got {s!r}"
                    )
        check_positive(p, "batch_sizes")
        # at the least a norm and one coordinate of every minibatch's noise, in float64
        check_memory(f"--n-batches {p.n_batches}", 2 * 8 * p.n_batches, "lower --n-batches")
        if not (p.lr > 0 and p.lr <= FLOAT32_MAX):
            raise StudyError(
                f"--lr must be > 0 and at most {FLOAT32_MAX:.4g} (the models train in float32), got {p.lr!r}"
            )
        check_fit_flags(p)
        check_torch_run(self.name, p)
        check_batch_size("batch_sizes", p.batch_sizes, p.models)
        check_batch_size("train_batch_size", p.train_batch_size, p.models)

    def cells(self, p) -> list[dict]:
        sizes = sorted(set(int(b) for b in p.batch_sizes))
        verdict_steps = sorted({0, int(p.verdict_step)})
        detail_steps = sorted(set(verdict_steps) | {int(s) for s in p.probe_at})
        out = []
        for r in range(p.n_seeds):
            for model in p.models:
                detail = p.full or r == 0
                if model in FIGURE4_ONLY and not p.full:
                    steps, wide = [0], ([0] if detail else [])
                else:
                    steps = detail_steps if detail else verdict_steps
                    wide = (detail_steps if p.full else verdict_steps) if detail else []
                out.append(
                    {
                        "label": f"{model} seed#{r}",
                        "model": model,
                        "replicate": r,
                        "steps": steps,
                        "wide_steps": wide,
                        "batch_sizes": sizes,
                        **fields_of(p, *CELL_FIELDS),
                        "version": PROBE_VERSION,
                    }
                )
        # the longest cells (word models, the detailed first replicate) first, so parallel jobs finish together
        return sorted(out, key=lambda c: (c["replicate"] != 0, not c["model"].startswith("words"), c["replicate"]))

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        with torch_threads(SMALL_MODEL_THREADS):
            return probe_cell(cell)

    def analyze(self, p, tables):
        probes = tables["probes"]
        verdicts = cell_verdicts(tables["tails"], probes)
        return {
            **{k: tables[k] for k in ("tails", "norms", "probes", "hill", "windows")},
            "claims": claims(probes, int(p.verdict_step), p.confidence),
            "verdicts": verdicts,
            "models": model_verdicts(verdicts),
        }

    def report(self, tables, meta) -> str:
        return noise_report(tables, meta)

    def plot(self, tables, meta):
        return plot_noise(tables, meta)

    def scoreboard(self, tables, meta) -> pd.DataFrame:
        return noise_scoreboard(tables, meta, self.name)


def _optimizer(name: str, params, lr: float):
    import torch

    return torch.optim.Adam(params, lr=lr) if name == "adam" else torch.optim.SGD(params, lr=lr)


def probe_cell(cell: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Train one replicate of one task through its probe steps (the stream of ``probe.probe_training``) and
    probe each (step, batch size) of the cell. A cell with a single ``step`` (no ``steps``) probes there
    with every batch size (the form ``studies/gpu_check.py`` uses)."""
    import time

    from ..torch import models, probe
    from ..torch.data import TokenData, derive_seed

    t0 = time.perf_counter()
    steps = sorted(set(cell.get("steps") or [cell["step"]]))
    wide = set(cell.get("wide_steps", steps))
    sizes = sorted(cell["batch_sizes"])
    replicate = int(cell.get("replicate", 0))
    task = models.make_task(cell["model"], device=cell["device"])
    key = derive_seed(cell["seed"], "torch-noise", cell["model"], replicate)
    model = task.build_model(key)
    opt = _optimizer(cell["optimizer"], model.parameters(), cell["lr"])
    train_key = derive_seed(key, "train")
    full_size = cell["full_size"] or None
    text = isinstance(task.data, TokenData)
    confidence = cell["confidence"]
    # every probe's draws and intervals
    sampling = {k: cell[k] for k in ("n_batches", "coords_per_layer", "confidence")}
    sampling.update(key=key, full_size=full_size)
    parts = {"tails": [], "norms": [], "probes": [], "hill": [], "windows": []}
    trained = 0
    for step in steps:
        for k in range(trained + 1, step + 1):
            x, y = task.data.batch(train_key, k, cell["train_batch_size"])
            opt.zero_grad(set_to_none=True)
            task.loss_fn(model(x), y).backward()
            opt.step()
        trained = step
        loss = _full_loss(model, task, full_size)
        full = probe.full_gradient(model, task.loss_fn, task.data, full_size=full_size)
        for b in sizes if step in wide else sizes[:1]:
            pr = probe.gradient_noise(model, task.loss_fn, task.data, batch_size=b, step=step, full=full, **sampling)
            common = {"model": cell["model"], "replicate": replicate, "step": step, "batch_size": b}
            t = pr.tails.drop(columns=["step"]).assign(**common)
            parts["tails"].append(t[[*common, *[c for c in t.columns if c not in common]]])
            draws = {"batch": np.arange(pr.norms.size), "layer": "all", "norm": pr.norms, "window": pr.indices[:, 0]}
            parts["norms"].append(pd.DataFrame({**common, **draws}))
            h = probe.hill_plot(pr.norms, confidence=confidence).assign(**common)
            parts["hill"].append(h)
            stats_ = probe.norm_statistics(pr.norms)
            views = {**probe.coordinate_view(pr, confidence=confidence), **probe.pooled_view(pr, confidence=confidence)}
            row = {**common, **stats_, **views}
            for est in ("hill", "moment"):
                at = h[(h["estimator"] == est) & (h["k"] == int(np.floor(np.sqrt(pr.norms.size))))].iloc[0]
                row.update(report.prefixed(est, {c: at[c] for c in INTERVAL}))
            vec = pr.tail("all", "vector")
            row.update(report.prefixed("mohammadi", {c: vec[c] for c in INTERVAL}))
            if text and b == 1:
                row.update(_window_rows(pr, task.data, common, parts["windows"]))
            full_norm = float(np.sqrt(np.sum(pr.full_grad_norms**2)))
            row.update(
                n_batches=pr.norms.size,
                full_size=pr.full_size,
                loss=loss,
                full_grad_norm=full_norm,
                noise_norm_median=stats_["median"],
                noise_norm_max=float(pr.norms.max()),
                n_layers=len(pr.layers),
                n_params=int(sum(q.numel() for q in model.parameters())),
                seconds=pr.seconds,
                train_seconds=time.perf_counter() - t0,
                device=str(cell["device"]),
                optimizer=cell["optimizer"],
                lr=cell["lr"],
            )
            parts["probes"].append(pd.DataFrame([row]))
    out = {k: pd.concat(v, ignore_index=True) for k, v in parts.items() if v}
    out.setdefault("windows", pd.DataFrame(columns=WINDOW_COLUMNS))
    return out


WINDOW_COLUMNS = "model replicate step batch_size rank norm over_median window text formatting".split()


def _window_rows(pr, data, common, sink) -> dict:
    """The decoded windows of the largest norms (into ``sink``), and the formatting fractions of the
    top 1 % of draws and of all draws (B = 1: one window per draw)."""
    from ..torch.corpus import _FORMAT_RUN

    x, windows = pr.norms, pr.indices[:, 0]
    order = np.argsort(x)[::-1]
    med = float(np.median(x))
    texts = [data.window_text(w) for w in windows]
    flags = np.array([_FORMAT_RUN.search(t) is not None for t in texts])
    top = order[: max(1, int(np.ceil(0.01 * order.size)))]
    rows = [
        (*common.values(), i + 1, float(x[j]), float(x[j] / med), int(windows[j]), texts[j], bool(flags[j]))
        for i, j in enumerate(order[:N_WINDOWS])
    ]
    sink.append(pd.DataFrame(rows, columns=WINDOW_COLUMNS))
    return {"top1_formatting": float(flags[top].mean()), "all_formatting": float(flags.mean())}


def _full_loss(model, task, full_size, chunk: int = 256) -> float:
    import torch

    idx = task.data.reference_indices(full_size)
    total = 0.0
    with torch.no_grad():
        for start in range(0, idx.numel(), chunk):
            x, y = task.data.take(idx[start : start + chunk])
            total += float(task.loss_fn(model(x), y)) * y.shape[0]
    return total / idx.numel()


# -- seed-replicate statistics (their intervals: synthclip.stats) ----------------------------------------


def side(lo: float, hi: float, threshold: float) -> str:
    """ "above" / "below" / "holds" the threshold, or "none" when the interval is undefined or unbounded."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "none"
    return "above" if lo > threshold else "below" if hi < threshold else "holds"


# -- claims ------------------------------------------------------------------------------------------


def _at(probes: pd.DataFrame, model: str, step: int) -> pd.DataFrame:
    """The replicates of ``model`` at ``step`` and the smallest batch size (the verdict setting)."""
    part = probes[(probes["model"] == model) & (probes["step"] == step)]
    if part.empty:
        return part
    return part[part["batch_size"] == part["batch_size"].min()]


CLAIM_FIELDS = "claim source setting statistic estimate ci_low ci_high threshold verdict reason".split()
NO_ESTIMATE = (np.nan, np.nan, np.nan)  # estimate, ci_low, ci_high of a claim that could not be measured


def _claim(*values, **extra) -> dict:
    """A claims-table row: the values of :data:`CLAIM_FIELDS` in order, then ``extra`` (replicate counts)."""
    return {**dict(zip(CLAIM_FIELDS, values, strict=True)), **extra}


def _shift_claim(claim, source, a, b, name_a, name_b, statistic, confidence, *, log=True, setting="") -> dict:
    """A claim that ``a``'s statistic exceeds ``b``'s (replicates of each), by the shift interval."""
    setting = setting or f"{name_a} vs {name_b}"
    if a.empty or b.empty:
        missing = name_a if a.empty else name_b
        return _claim(
            claim, source, setting, statistic, *NO_ESTIMATE, 0.0, INCONCLUSIVE, f"{missing} not run at this setting"
        )
    f = np.log if log else (lambda v: v)
    with np.errstate(divide="ignore"):
        ci = stats.shift_ci(
            f(a[statistic].to_numpy(float)), f(b[statistic].to_numpy(float)), confidence_level=confidence
        )
    where = side(ci.low, ci.high, 0.0)
    means = f"{name_a} {np.median(a[statistic]):.4g} vs {name_b} {np.median(b[statistic]):.4g} (medians)"
    if where == "none":
        verdict = INCONCLUSIVE
        reason = f"{len(a)} + {len(b)} replicates give no finite {confidence:.0%} interval; {means}"
    else:
        verdict = {"above": REPRODUCED, "below": NOT_REPRODUCED, "holds": INCONCLUSIVE}[where]
        reason = (
            f"shift {where} 0 ({ci.achieved:.1%} exact Mann–Whitney interval, {len(a)} + {len(b)} replicates); {means}"
        )
    label = f"{'log ' if log else ''}{statistic}"
    return _claim(
        claim, source, setting, label, ci.estimate, ci.low, ci.high, 0.0, verdict, reason, n_a=len(a), n_b=len(b)
    )


def _task_shift(probes, confidence, claim, source, task, other, step, statistic=VERDICT_STATISTIC, setting=None):
    """:func:`_shift_claim` of ``task`` against ``other``, each at ``step`` and its smallest batch size."""
    a, b = _at(probes, task, step), _at(probes, other, step)
    setting = f"{task} vs {other}, step {step}" if setting is None else setting
    return _shift_claim(claim, source, a, b, task, other, statistic, confidence, setting=setting)


PAPER = "Zhang et al. 2020 (seed 002)"


def claims(probes: pd.DataFrame, verdict_step: int, confidence: float = 0.95) -> pd.DataFrame:
    """Every seed claim's row under :data:`CLAIMS_RULE` (see the module docstring), from the probes table."""
    rows = []
    text_tasks = [*TEXT_TASKS, *[ABLATIONS[t] for t in TEXT_TASKS]]
    for task in text_tasks:
        for step in sorted({0, verdict_step}):
            name = "Figure 1 (tier i)" if task in TEXT_TASKS else "Figure 1 (tier i), formatting removed"
            name += f", at step {step}" if step else ""
            rows.append(_task_shift(probes, confidence, name, PAPER + ", Fig. 1(b, f)", task, VISION, step))
    for task in TEXT_TASKS:
        drift = "Figure 1(d, h): running E‖ξ‖² does not settle"
        rows.append(_task_shift(probes, confidence, drift, PAPER + ", Fig. 1(d, h)", task, VISION, 0, "running_drift"))
        source = "the char probe's decoded windows (reST borders)"
        rows.append(
            _task_shift(probes, confidence, "formatting carries part of the tail", source, task, ABLATIONS[task], 0)
        )
    for task in dict.fromkeys([*TEXT_TASKS, *text_tasks[2:], VISION, "digits-mlp", *FIGURE4_ONLY]):
        for step in sorted({0, verdict_step}):
            part = _at(probes, task, step)
            if not part.empty:
                rows.append(_infinite_variance(part, task, step, confidence))
    vision0 = _at(probes, VISION, 0)
    for task in TEXT_TASKS:
        rows.append(_seed000(_at(probes, task, 0), vision0, task, confidence))
    for task in TEXT_TASKS:
        rows.append(_figure2(probes, task, verdict_step, confidence))
    rows.extend(_figure4(probes, confidence))
    for task in dict.fromkeys([VISION, *text_tasks, "digits-mlp", *FIGURE4_ONLY]):
        part = _at(probes, task, 0)
        if not part.empty:
            rows.append(_appendix_h(part, task, confidence))
    return pd.DataFrame(rows)


#: what each tier (ii) estimator is calibrated for, and where it is biased (calibrate's tail-index cases)
TIER2_ESTIMATORS = {
    "hill": ("Hill on ‖ξ‖ at k = √N", "exact for Pareto-type tails; reads α too large on stable laws near 2"),
    "mohammadi": (
        "Mohammadi on ξ (parametric pivot)",
        "exact for stable vectors; biased toward 2 on Pareto and Student-t vectors, which are not stable",
    ),
}


def alpha_side(lo: float, hi: float, threshold: float = HEAVY_BELOW) -> str:
    """An interval of α against ``threshold``: "above" / "below" / "holds", "none" when undefined (an end at
    α = +inf is defined: an interval [lo, inf] with lo above the threshold lies above it)."""
    if np.isnan(lo) or np.isnan(hi):
        return "none"
    return "above" if lo > threshold else "below" if hi < threshold else "holds"


def every_replicate(lows, highs, threshold: float = HEAVY_BELOW) -> str:
    """ "below" / "above" if every replicate's interval lies below / above ``threshold``, "none" if one is
    undefined (or there is none), else "holds". If some replicate's α were on the other side, the conjunction
    would need that replicate's interval to miss it, so it errs at most as often as one interval does."""
    sides = [alpha_side(lo, hi, threshold) for lo, hi in zip(lows, highs)]
    if not sides or "none" in sides:
        return "none"
    return sides[0] if len(set(sides)) == 1 and sides[0] != "holds" else "holds"


def replicate_span(part: pd.DataFrame, prefix: str) -> tuple[str, float, float, float]:
    """(:func:`every_replicate`'s reading against 2, the median α̂, the lowest low and the highest high) of the
    replicates' ``prefix`` intervals (columns ``prefix_alpha``, ``prefix_ci_low``, ``prefix_ci_high``)."""
    lo, hi = part[f"{prefix}_ci_low"].to_numpy(float), part[f"{prefix}_ci_high"].to_numpy(float)
    return every_replicate(lo, hi), float(np.median(part[f"{prefix}_alpha"])), float(np.min(lo)), float(np.max(hi))


READINGS = {
    "below": "every interval below 2",
    "above": "every interval above 2",
    "holds": "not every interval on one side of 2",
    "none": "an interval undefined",
}


DISAGREE = (
    "the estimators disagree: a tail neither Pareto-type nor stable at this N "
    "(each estimator is biased on the other's family)"
)


def _infinite_variance(part, task, step, confidence) -> dict:
    """Tier (ii), rule version 2 (module docstring): every replicate's calibrated interval of α, Hill on
    ‖ξ‖ and Mohammadi on ξ, against 2."""
    reads, spans, desc = {}, {}, []
    for est, (label, scope) in TIER2_ESTIMATORS.items():
        reads[est], *spans[est] = replicate_span(part, est)
        median, lo, hi = spans[est]
        desc.append(
            f"{label}: α̂ median {median:.2f}, intervals from {lo:.2f} to {hi:.2f} over {len(part)} replicate(s): "
            f"{READINGS[reads[est]]} ({scope})"
        )
    if "moment_alpha" in part:
        desc.append(f"moment estimator α̂ median {np.median(part['moment_alpha']):.2f} (shown)")
    h, m = reads["hill"], reads["mohammadi"]
    if "none" in (h, m):
        verdict, why = INCONCLUSIVE, "no interval"
    elif h == "above" and m == "below":
        verdict, why = INCONCLUSIVE, DISAGREE
    elif (m == "below" and h != "above") or (h == "below" and m != "above"):
        verdict, why = REPRODUCED, "one estimator below 2, the other not above"
    elif h == "above":
        verdict, why = NOT_REPRODUCED, "Hill above 2, Mohammadi not below"
    else:
        verdict, why = INCONCLUSIVE, "neither estimator on one side of 2"
    measured = spans["mohammadi"]
    statistic = f"α̂ Mohammadi on ξ (median; interval: the replicates' {confidence:.0%} intervals' span)"
    claim = ("α < 2 (tier ii)", PAPER + ", Assumption 1", f"{task}, step {step}", statistic)
    return _claim(*claim, *measured, HEAVY_BELOW, verdict, f"{why}; " + "; ".join(desc), n_a=len(part), n_b=0)


def _seed000(text, vision, task, confidence) -> dict:
    name, src = "seed 000: NLP norms heavy-tailed, vision not", "seed 000 (clipped AdaGrad/Adam README)"
    setting = f"{task} vs {VISION}, step 0"
    if text.empty or vision.empty:
        missing = f"{task if text.empty else VISION} not run"
        return _claim(name, src, setting, "mild-outlier ratio", *NO_ESTIMATE, 1.0, INCONCLUSIVE, missing)
    t, v, te, ve = (
        pooled_ratio(part[f"{kind}_count"], part["n_batches"], rate, confidence)
        for kind, rate in (("mild", GAUSS_MILD_RATE), ("extreme", GAUSS_EXTREME_RATE))
        for part in (text, vision)
    )
    ts, vs = side(t[1], t[2], 1.0), side(v[1], v[2], 1.0)
    ext = (
        f"P(X > Q3 + 3 IQR)/1.2e-6: {task} {te[0]:.3g} [{te[1]:.3g}, {te[2]:.3g}], {VISION} {ve[0]:.3g} "
        f"[{ve[1]:.3g}, {ve[2]:.3g}]"
    )
    desc = (
        f"P(X > Q3 + 1.5 IQR)/0.0035: {task} {t[0]:.2f} [{t[1]:.2f}, {t[2]:.2f}], {VISION} {v[0]:.2f} "
        f"[{v[1]:.2f}, {v[2]:.2f}] (exact binomial intervals, replicates pooled); {ext}"
    )
    if "none" in (ts, vs):
        verdict = INCONCLUSIVE
    elif ts == "above" and vs != "above":
        verdict = REPRODUCED
    elif ts == "below" or vs == "above":
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    return _claim(name, src, setting, "mild-outlier ratio", t[0], t[1], t[2], 1.0, verdict, desc, n_a=t[3], n_b=v[3])


# = probe.GAUSS_MILD / GAUSS_EXTREME: P(X > Q3 + 1.5·IQR), P(X > Q3 + 3·IQR) for a Gaussian (repeated: the
# claims need no torch import; a test checks they agree)
GAUSS_MILD_RATE, GAUSS_EXTREME_RATE = 0.0034883, 1.1710e-06


def pooled_ratio(counts, n_draws, rate: float, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Seed 000's outlier ratio of the replicates pooled: (Σ counts / Σ draws) / ``rate`` with the exact
    (Clopper–Pearson) binomial interval, and the number of replicates. Counts of a discrete statistic tie
    across replicates, which a Student-t interval would read as zero spread."""
    k, n = int(np.sum(counts)), int(np.sum(n_draws))
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    ci = stats.binomial_ci(k, n, confidence_level=confidence, method="clopper-pearson")
    return k / n / rate, ci.low / rate, ci.high / rate, int(np.size(counts))


def _drift(probes, task, verdict_step) -> pd.DataFrame:
    """Per replicate: |log(median‖ξ‖ at the verdict step / at step 0)| and the same for the top-1 % share."""
    a, b = _at(probes, task, 0), _at(probes, task, verdict_step)
    if a.empty or b.empty or verdict_step == 0:
        return pd.DataFrame(columns=["replicate", "scale_drift", "shape_drift"])
    m = a.merge(b, on="replicate", suffixes=("_0", "_s"))
    return pd.DataFrame(
        {
            "replicate": m["replicate"],
            "scale_drift": np.abs(np.log(m["median_s"] / m["median_0"])),
            "shape_drift": np.abs(np.log(m["top1_share_s"] / m["top1_share_0"])),
        }
    )


def _figure2(probes, task, verdict_step, confidence) -> dict:
    text, vision = _drift(probes, task, verdict_step), _drift(probes, VISION, verdict_step)
    claim, setting = (
        "Figure 2: text noise drifts in training, vision stays",
        f"{task} vs {VISION}, steps 0 → {verdict_step}",
    )
    row = _shift_claim(
        claim, PAPER + ", Fig. 2", text, vision, task, VISION, "scale_drift", confidence, log=False, setting=setting
    )
    if not text.empty and not vision.empty:
        row["reason"] += (
            f"; shape drift |Δ log top-1 % share| {text['shape_drift'].median():.3f} vs "
            f"{vision['shape_drift'].median():.3f}"
        )
    return row


# Figure 4's effects on log top-1 % share, each (claim, the cell with the factor, the cell without it); the first
# two are the ones the paper states
FIGURE4_EFFECTS = (
    ("Figure 4: architecture effect (Gaussian inputs)", ("attention", "gaussian"), ("no attention", "gaussian")),
    ("Figure 4: data effect (no attention)", ("no attention", "text"), ("no attention", "gaussian")),
    ("Figure 4: architecture effect (text)", ("attention", "text"), ("no attention", "text")),
    ("Figure 4: data effect (attention)", ("attention", "text"), ("attention", "gaussian")),
)


def _figure4(probes, confidence) -> list[dict]:
    arch, data, *others = (
        _task_shift(probes, confidence, name, PAPER + ", Fig. 4", FIGURE4[a], FIGURE4[b], 0, setting="")
        for name, a, b in FIGURE4_EFFECTS
    )
    verdicts = (arch["verdict"], data["verdict"])
    carries = [name for name, r in (("architecture", arch), ("data", data)) if r["verdict"] == REPRODUCED]
    answer = " and ".join(carries) if carries else "neither (at this resolution)"
    if all(v == REPRODUCED for v in verdicts):
        verdict = REPRODUCED
    elif NOT_REPRODUCED in verdicts:
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    claim, why = (
        "Figure 4: both architecture and data carry the tail",
        f"here: {answer} (architecture effect {arch['verdict']}, data effect {data['verdict']})",
    )
    both = _claim(
        claim, PAPER + ", Fig. 4", "words grid, step 0", f"log {VERDICT_STATISTIC}", *NO_ESTIMATE, 0.0, verdict, why
    )
    return [both, arch, data, *others]


def _appendix_h(part, task, confidence) -> dict:
    """Appendix H, rule version 2 (module docstring): the vector view is light if every replicate's Hill
    interval on ‖ξ‖ lies above 2; the coordinate view reads below (above) 2 if every draw's Mohammadi interval
    of every replicate does (each replicate's ``coord_ci_low``/``coord_ci_high`` is its draws' span)."""
    name, src = "Appendix H: coordinates look heavy where the vector is not", PAPER + ", App. H"
    vector, *hill = replicate_span(part, "hill")
    coordinates, *measured = replicate_span(part, "coord")
    draws = int(part["coord_draws"].sum())  # replicates may keep different numbers of draws: weight by them
    below = float((part["coord_below2"] * part["coord_draws"]).sum() / draws) if draws else np.nan
    desc = (
        f"vector view: Hill α̂ of ‖ξ‖ median {hill[0]:.2f}, intervals from "
        f"{hill[1]:.2f} to {hill[2]:.2f}: {READINGS[vector]}; Mohammadi "
        f"on vectors median {np.median(part['mohammadi_alpha']):.2f}; coordinate view: Mohammadi α̂ median "
        f"{measured[0]:.2f} over {draws} draws, {below:.0%} of their intervals below 2: {READINGS[coordinates]}"
        + (
            f"; pooled (Şimşekli et al.'s practice: every coordinate of every draw as one sample) median "
            f"{np.median(part['pooled_alpha']):.2f}"
            if "pooled_alpha" in part
            else ""
        )
    )
    if vector == "none":
        verdict, why = INCONCLUSIVE, "the vector view's interval is undefined (premise not measured); " + desc
    elif vector != "above":
        verdict, why = INCONCLUSIVE, "the vector view is not light here (premise absent); " + desc
    else:
        verdict, why = {"below": REPRODUCED, "above": NOT_REPRODUCED}.get(coordinates, INCONCLUSIVE), desc
    statistic = f"coordinate-view α (Mohammadi per draw, median; interval: the draws' {confidence:.0%} intervals' span)"
    return _claim(name, src, f"{task}, step 0", statistic, *measured, HEAVY_BELOW, verdict, why, n_a=len(part), n_b=0)


# -- the per-probe Hill table (every replicate; also what studies/gpu_check.py reports) ----------------


def verdict(ci_low: float, ci_high: float) -> str:
    """One probe's Hill interval for ‖ξ‖ at k = √N against α = 2 (descriptive; the claims use replicates)."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "no estimate" if not np.isfinite(ci_low) else ("light" if ci_low > HEAVY_BELOW else "inconclusive")
    if ci_high < HEAVY_BELOW:
        return "heavy-tailed"
    if ci_low > HEAVY_BELOW:
        return "light"
    return "inconclusive"


def _keys(frame) -> list[str]:
    return ["model", *(["replicate"] if "replicate" in frame.columns else []), "step", "batch_size"]


def cell_verdicts(tails: pd.DataFrame, probes: pd.DataFrame) -> pd.DataFrame:
    """One row per probe (model, replicate, step, batch size): Hill on ‖ξ‖ and Mohammadi on ξ at the
    defaults of ``synthclip.stats`` (k = √N), with the single-probe reading of Hill's interval."""
    whole = tails[tails["layer"] == "all"]
    keys = _keys(whole)
    hill = whole[whole["sample"] == "norm"].set_index(keys)[["alpha", "ci_low", "ci_high", "k", "n"]]
    moh = whole[whole["sample"] == "vector"].set_index(keys)[["alpha", "ci_low", "ci_high"]]
    out = hill.add_prefix("hill_").join(moh.add_prefix("mohammadi_")).reset_index()
    extra = [c for c in ("loss", "full_grad_norm", "noise_norm_median") if c in probes.columns]
    out = out.merge(probes[keys + extra], on=keys, how="left")
    out["verdict"] = [verdict(lo, hi) for lo, hi in zip(out["hill_ci_low"], out["hill_ci_high"])]
    return out.sort_values(keys, key=lambda s: s.map(TASK_ORDER) if s.name == "model" else s).reset_index(drop=True)


def _setting(r) -> str:
    return f"step {int(r['step'])}, B={int(r['batch_size'])}"


def model_verdicts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per model: how many of its probes read heavy-tailed / light by the single-probe rule."""
    rows = []
    for model, part in verdicts.groupby("model", sort=False):
        heavy = part[part["verdict"] == "heavy-tailed"]
        if len(heavy) == len(part):
            v = "heavy-tailed"
        elif heavy.empty:
            v = "light" if (part["verdict"] == "light").all() else "not heavy-tailed"
        else:
            v = "heavy-tailed at " + "; ".join(sorted({_setting(r) for _, r in heavy.iterrows()})) + " only"
        rows.append(
            {
                "model": model,
                "verdict": v,
                "n_settings": len(part),
                "n_heavy": len(heavy),
                "expected": EXPECTED.get(model, "lighter"),
                "min_hill_alpha": float(part["hill_alpha"].min()),
                "max_hill_alpha": float(part["hill_alpha"].max()),
            }
        )
    return pd.DataFrame(rows)


# -- report, scoreboard and figure -----------------------------------------------------------------------


def _fmt(a, lo, hi) -> str:
    return f"{a:6.2f} [{lo:5.2f}, {hi:6.2f}]" if np.isfinite(a) else f"{'n/a':>6} {'':15}"


def _num(x, fmt=".3g") -> str:
    return format(x, fmt) if np.isfinite(x) else "n/a"


#: the three views of the noise's tail (the vector view by two estimators), each (label, column prefix of its α̂ and
#: interval in the probes table)
VIEWS = (
    ("vector: Hill on ‖ξ‖", "hill"),
    ("vector: Mohammadi on ξ", "mohammadi"),
    ("coordinates of one draw", "coord"),
    ("pooled coordinates", "pooled"),
)


SIGNS = {"below": "< 2", "above": "> 2", "holds": "~ 2", "none": "n/a"}  # a reading, as the views table prints it


def views_lines(probes: pd.DataFrame) -> list[str]:
    """The three views side by side at step 0, smallest B: per task the median α̂ over replicates and the
    lowest and highest end of their intervals (the coordinate view's: of every draw's), read against 2 as
    the claims read them (every interval below / above 2)."""
    views = [(label, pre) for label, pre in VIEWS if f"{pre}_ci_low" in probes.columns]
    lines = [
        "",
        "the three views at step 0, smallest B: median α̂ over replicates [lowest, highest end of the "
        "replicates' intervals; the coordinate view's: of every draw's] and the reading against 2",
        f"{'task':<27} " + " ".join(f"{label:<31}" for label, _ in views),
    ]
    for task in sorted(probes["model"].unique(), key=lambda m: TASK_ORDER.get(m, 99)):
        part = _at(probes, task, 0)
        if part.empty:
            continue
        cells = []
        for _, pre in views:
            reading, median, lo, hi = replicate_span(part, pre)
            cells.append(f"{_fmt(median, lo, hi)} {SIGNS[reading]:<8}")
        lines.append(f"{task:<27} " + " ".join(cells))
    return lines


def noise_report(tables, meta) -> str:
    p = meta["params"]
    v = tables["verdicts"]
    lines = [
        f"torch-noise: noise ξ = g_B − ∇f over N={p['n_batches']} minibatches per probe; training before a "
        f"probe: {p['optimizer']} lr={p['lr']:g}, batch {p['train_batch_size']}; {p['confidence']:.0%} "
        f"intervals; {p.get('n_seeds', 1)} seed replicate(s) per task."
    ]
    if "claims" in tables:
        lines += ["", CLAIMS_RULE, "", "seed claims (reproduced / not reproduced / inconclusive):"]
        for _, r in tables["claims"].iterrows():
            est = (
                f"{_num(r['estimate'], '+.3f')} [{_num(r['ci_low'], '+.3f')}, {_num(r['ci_high'], '+.3f')}]"
                if np.isfinite(r["estimate"])
                else ""
            )
            lines.append(f"  {r['claim']} | {r['setting']} | {r['statistic']} {est} → {r['verdict'].upper()}")
            lines.append(f"      {r['reason']}")
    if "probes" in tables and "top1_share" in tables["probes"].columns:
        lines += [
            "",
            "per (task, step, B): medians over replicates of the seeds' statistics",
            f"{'task':<27} {'step':>5} {'B':>3} {'n':>3} {'loss':>6} {'max/med':>8} {'top1%':>7} "
            f"{'mild':>6} {'extreme':>8} {'KS(G)':>6} {'runΔ':>6} {'Hill√N':>7} {'moment':>7} "
            f"{'Moh.vec':>7} {'coord':>6} {'pooled':>6}",
        ]
        probes = tables["probes"]
        grouped = probes.groupby(["model", "step", "batch_size"], sort=False)
        for (model, step, b), part in sorted(
            grouped, key=lambda kv: (TASK_ORDER.get(kv[0][0], 99), kv[0][1], kv[0][2])
        ):
            med = part.median(numeric_only=True)
            lines.append(
                f"{model:<27} {int(step):>5} {int(b):>3} {len(part):>3} {med['loss']:6.3f} "
                f"{med['max_over_median']:8.2f} {med['top1_share']:7.3f} {med['mild_ratio']:6.2f} "
                f"{med['extreme_ratio']:8.3g} {med['ks_gauss']:6.3f} {med['running_drift']:6.3f} "
                f"{med['hill_alpha']:7.2f} {med['moment_alpha']:7.2f} {med['mohammadi_alpha']:7.2f} "
                f"{med['coord_alpha']:6.2f} {med.get('pooled_alpha', np.nan):6.2f}"
            )
        lines.append(
            "(top1%: share of Σ‖ξ‖² in the largest 1 % of draws, ≈ 0.01 for equal draws; mild/extreme: "
            "outlier rates over a Gaussian's; KS(G): distance to the fitted Gaussian; runΔ: max |m_n/m_N − 1| "
            "of the running E‖ξ‖² over n ≥ N/10; Hill√N, moment: α̂ at k = √N; Moh.vec: Mohammadi on the noise "
            "vectors (the seed's vector view); coord: Appendix H's coordinate view (per draw); pooled: "
            "Şimşekli et al.'s practice, all coordinates of all draws pooled, block size the largest divisor "
            "of N ≤ √N: coordinates of different scales pooled form a scale mixture, which reads heavy "
            "even when every coordinate is Gaussian)"
        )
        lines += views_lines(probes)
        lines.append(
            "views: the seed's Figure 1 histograms the noise norms ‖ξ‖ (the vector view; Hill√N and moment "
            "read their tail); its Appendix H contrasts that with the coordinates of a single minibatch (coord) "
            "and applies Mohammadi's estimator to the norms. Intervals, each calibrated on these shapes by "
            "`python -m synthclip.study calibrate --procedures mohammadi,hill` (docs/studies/calibrate.md): "
            "Mohammadi on ξ by a parametric pivot simulated on the probe's own shape (stable coordinates at "
            "the data's scales), exact for stable vectors, biased toward 2 on Pareto and Student-t vectors; "
            "Hill's gamma interval on ‖ξ‖, exact for Pareto-type tails, reading α too large on stable laws "
            "near 2: tier (ii) needs both"
        )
        first = probes[(probes["replicate"] == 0)]
        first = first[first["batch_size"] == first.groupby("model")["batch_size"].transform("min")]
        if first["step"].nunique() > 2:
            lines += [
                "",
                "Figure 2 (replicate 0, smallest B): median ‖ξ‖ over its step-0 value, and the top-1 % "
                "share, at each probe step",
            ]
            for model, part in sorted(first.groupby("model"), key=lambda kv: TASK_ORDER.get(kv[0], 99)):
                part = part.sort_values("step")
                base = part["median"].iloc[0]
                lines.append(
                    f"  {model:<27} "
                    + ", ".join(
                        f"step {int(r['step'])}: {r['median'] / base:.2f} / {r['top1_share']:.3f}"
                        for _, r in part.iterrows()
                    )
                )
        fmt = probes[probes["step"] == 0].dropna(subset=["top1_formatting"]) if "top1_formatting" in probes else None
        if fmt is not None and not fmt.empty:
            lines += [
                "",
                "formatting behind the largest norms (step 0, B = 1, medians over replicates): share of "
                "the top 1 % of draws whose window holds a run of ≥ 4 identical punctuation characters, "
                "against all draws",
            ]
            for model, part in fmt.groupby("model", sort=False):
                lines.append(
                    f"  {model:<27} top 1 %: {part['top1_formatting'].median():.2f}   all draws: "
                    f"{part['all_formatting'].median():.3f}"
                )
    if "windows" in tables and not tables["windows"].empty:
        w = tables["windows"]
        w = w[(w["replicate"] == 0) & (w["step"] == 0)]
        lines += ["", "decoded windows of the largest norms (replicate 0, step 0, B = 1):"]
        for model, part in w.groupby("model", sort=False):
            lines.append(f"  {model}:")
            for _, r in part.sort_values("rank").iterrows():
                lines.append(f"    #{int(r['rank'])} ‖ξ‖/median {r['over_median']:.2f}: {r['text']!r}")
    if "hill" in tables and not tables["hill"].empty:
        h = tables["hill"]
        h = h[(h["replicate"] == 0) & (h["step"] == 0)]
        h = h[h["batch_size"] == h.groupby("model")["batch_size"].transform("min")]
        lines += ["", "Hill plot (replicate 0, step 0, smallest B): α̂ at k (moment estimator in brackets)"]
        for model, part in h.groupby("model", sort=False):
            hill = part[part["estimator"] == "hill"].set_index("k")["alpha"]
            mom = part[part["estimator"] == "moment"].set_index("k")["alpha"]
            cells = [f"{k}: {hill[k]:.2f}" + (f" ({mom[k]:.2f})" if k in mom.index else "") for k in hill.index]
            lines.append(f"  {model:<27} " + ", ".join(cells))
    lines += [
        "",
        "per probe (Hill α of ‖ξ‖ at k = √N [CI] | Mohammadi α of ξ [CI]; single-probe reading of "
        f"Hill's interval against {HEAVY_BELOW:g}):",
    ]
    keys = _keys(v)
    for _, r in v.iterrows():
        rep = f" #{int(r['replicate'])}" if "replicate" in keys else ""
        lines.append(
            f"  {r['model']:<27}{rep:>4} step {int(r['step']):>5} B={int(r['batch_size']):<3} "
            f"{_fmt(r['hill_alpha'], r['hill_ci_low'], r['hill_ci_high'])} | "
            f"{_fmt(r['mohammadi_alpha'], r['mohammadi_ci_low'], r['mohammadi_ci_high'])}  {r['verdict']}"
        )
    lines += ["", "per model (single-probe readings):"]
    for _, r in tables["models"].iterrows():
        lines.append(
            f"  {r['model']}: {r['verdict']} ({int(r['n_heavy'])}/{int(r['n_settings'])} probes heavy-tailed; "
            f"Hill α̂ from {r['min_hill_alpha']:.2f} to {r['max_hill_alpha']:.2f}); the paper expects "
            f"{r['expected']}."
        )
    return "\n".join(lines)


def noise_scoreboard(tables, meta, study: str = "torch-noise") -> pd.DataFrame:
    """One scoreboard row per seed claim, read from the stored claims table."""
    claims = tables.get("claims", pd.DataFrame()).rename(columns=SCOREBOARD_NAMES)
    return report.scoreboard(claims.assign(study=study, figure="torch-noise.png").to_dict("records"))


# the claims table's columns under their scoreboard names (the others keep theirs)
SCOREBOARD_NAMES = {"claim": "statement", "statistic": "quantity", "estimate": "measured", "threshold": "theory"}


X_TICKS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
STABLE_DIM = 100  # coordinates of the α-stable reference vector (Figure 1(g): a sum of squared stables)


def _norms_of(tables, model, step=0, replicate=0, batch_size=None) -> np.ndarray:
    n = tables["norms"]
    sel = (n["model"] == model) & (n["step"] == step) & (n["layer"] == "all")
    if "replicate" in n.columns:
        sel &= n["replicate"] == replicate
    part = n[sel]
    if part.empty:
        return np.array([])
    b = part["batch_size"].min() if batch_size is None else batch_size
    part = part[part["batch_size"] == b].sort_values("batch")
    return part["norm"].to_numpy(float)


def _scaled_norms(ax, tables, model) -> np.ndarray | None:
    """‖ξ‖ / median of replicate 0 at step 0, smallest B; None (and ``ax`` hidden) where the task has no probe."""
    y = _norms_of(tables, model)
    if y.size == 0:
        ax.set_visible(False)
        return None
    return y / np.median(y)


def stable_reference(alpha: float, n: int, dim: int = STABLE_DIM, seed: int = 0) -> np.ndarray:
    """‖ζ‖ / median‖ζ‖ of n vectors of ``dim`` i.i.d. symmetric α-stable coordinates (scipy's sampler)."""
    from scipy import stats as sps

    z = sps.levy_stable.rvs(alpha, 0.0, size=(n, dim), random_state=np.random.default_rng(seed))
    r = np.linalg.norm(z, axis=1)
    return r / np.median(r)


def _log_axes(ax, lo, hi):
    from .. import plotting

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    plotting.value_ticks(ax, [t for t in X_TICKS if lo <= t <= hi])


def draw_figure1(ax, tables, model) -> None:
    """Figure 1(b, c, f, g): ‖ξ‖/median at step 0 against the fitted Gaussian and an α-stable reference."""
    from scipy import stats as sps

    y = _scaled_norms(ax, tables, model)
    if y is None:
        return
    pr = tables["probes"]
    part = pr[(pr["model"] == model) & (pr["step"] == 0)]
    # the reference's index: Mohammadi's stability index of the noise vectors (at most 2: then Gaussian)
    alpha = float(np.clip(np.nanmedian(part["mohammadi_alpha"]), 0.6, 2.0)) if not part.empty else 2.0
    ref = stable_reference(alpha, y.size)
    lo, hi = min(y.min(), 0.3), max(y.max(), 3.0, np.quantile(ref, 0.999))
    bins = np.geomspace(lo, hi, 40)
    ax.hist(y, bins=bins, density=True, color="C0", alpha=0.5, label="‖ξ‖ / median")
    label = f"α-stable ref. (α = {alpha:.2f}, d = {STABLE_DIM})"
    ax.hist(ref, bins=bins, density=True, histtype="step", color="C3", lw=1.0, label=label)
    grid = np.geomspace(lo, hi, 200)
    dens = sps.norm(y.mean(), y.std(ddof=1)).pdf(grid)
    ax.plot(grid, np.where(dens > 1e-6, dens, np.nan), color="k", lw=1.0, ls="--", label="fitted Gaussian")
    _log_axes(ax, lo, hi)
    med = part.median(numeric_only=True)
    extra = (
        f"\ntop-1 % share {med['top1_share']:.3f}, max/med {med['max_over_median']:.2f}, KS(G) {med['ks_gauss']:.2f}"
    )
    extra = extra if not part.empty else ""
    ax.set_title(f"Fig. 1: {model}, step 0{extra}", fontsize=7)
    ax.set_xlabel("‖ξ‖ / median ‖ξ‖")
    ax.legend(fontsize=5)


def draw_running(ax, tables, models) -> None:
    """Figure 1(d, h): the running mean of ‖ξ‖² over the first n draws, over its final value."""
    for model in models:
        y = _norms_of(tables, model)
        if y.size == 0:
            continue
        run = np.cumsum(y**2) / np.arange(1, y.size + 1)
        ax.plot(np.arange(1, y.size + 1), run / run[-1], lw=1.0, label=model)
    ax.set_xscale("log")
    ax.axhline(1.0, color="0.5", lw=0.6)
    ax.set(xlabel="draws n", ylabel="running E‖ξ‖² / final")
    ax.set_title("Fig. 1(d, h): running E‖ξ‖² (replicate 0, step 0)", fontsize=7)
    ax.legend(fontsize=5)


def draw_hill(ax, tables, models) -> None:
    """Hill plots (α̂ against k, band: its interval) with the moment estimator's α̂ as points."""
    h = tables["hill"]
    for i, model in enumerate(models):
        part = h[(h["model"] == model) & (h["step"] == 0) & (h["replicate"] == 0)]
        if part.empty:
            continue
        part = part[part["batch_size"] == part["batch_size"].min()]
        hill = part[part["estimator"] == "hill"].sort_values("k")
        mom = part[part["estimator"] == "moment"].sort_values("k")
        color = f"C{i}"
        ax.plot(hill["k"], hill["alpha"], color=color, lw=1.2, label=model)
        ax.fill_between(hill["k"], hill["ci_low"], hill["ci_high"], color=color, alpha=0.15)
        ax.plot(mom["k"], mom["alpha"].clip(upper=50), "o", ms=2.5, color=color)
    ax.axhline(HEAVY_BELOW, color="k", lw=0.7, ls=":")
    ax.set(xscale="log", yscale="log", xlabel="k (upper order statistics)", ylabel="α̂")
    ax.set_title("Hill plot (line, band) and moment estimator (dots; ∞ drawn at 50), step 0", fontsize=7)
    ax.legend(fontsize=5)


def draw_shares(ax, tables, models) -> None:
    """The top-1 % share of Σ‖ξ‖² of every replicate at step 0 (tier (i)'s statistic)."""
    pr = tables["probes"]
    for i, model in enumerate(models):
        part = _at(pr, model, 0)
        ax.plot(np.full(len(part), i), part["top1_share"], "o", ms=3, alpha=0.7)
    ax.axhline(0.01, color="0.5", lw=0.6, ls=":")
    ax.set_xticks(range(len(models)), [m.replace("-transformer", "-tf") for m in models], rotation=60, fontsize=5)
    ax.set(yscale="log", ylabel="top-1 % share of Σ‖ξ‖²")
    ax.set_title("tier (i) statistic per replicate, step 0, smallest B", fontsize=7)


def draw_figure2(ax, tables, model) -> None:
    """Figure 2: ‖ξ‖ at each probe step of replicate 0 over the step-0 median (scale drift shows)."""
    import seaborn as sns

    n = tables["norms"]
    part = n[(n["model"] == model) & (n["replicate"] == 0) & (n["layer"] == "all")]
    if part.empty:
        ax.set_visible(False)
        return
    part = part[part["batch_size"] == part["batch_size"].min()]
    steps = sorted(part["step"].unique())
    base = np.median(part[part["step"] == steps[0]]["norm"])
    scaled = part["norm"] / base
    lo, hi = max(scaled.min(), 1e-3), scaled.max()
    bins = np.geomspace(lo, hi, 40)
    colors = sns.color_palette("crest", len(steps))
    for step, color in zip(steps, colors):
        y = scaled[part["step"] == step].to_numpy(float)
        ax.hist(
            y,
            bins=bins,
            density=True,
            histtype="step",
            color=color,
            lw=1.2,
            label=f"step {step}: median {np.median(y):.2f}",
        )
    _log_axes(ax, lo, hi)
    ax.set_title(f"Fig. 2: {model} over training", fontsize=7)
    ax.set_xlabel("‖ξ‖ / median ‖ξ‖ at step 0")
    ax.legend(fontsize=5)


def draw_figure4(ax, tables, key) -> None:
    model = FIGURE4[key]
    y = _scaled_norms(ax, tables, model)
    if y is None:
        return
    lo, hi = min(y.min(), 0.3), max(y.max(), 3.0)
    ax.hist(y, bins=np.geomspace(lo, hi, 40), density=True, color="C2", alpha=0.55)
    _log_axes(ax, lo, hi)
    pr = tables["probes"]
    part = pr[(pr["model"] == model) & (pr["step"] == 0)]
    share = f", top-1 % share {part['top1_share'].median():.3f}" if not part.empty else ""
    ax.set_title(f"Fig. 4: {key[0]} + {key[1]}{share}", fontsize=7)
    ax.set_xlabel("‖ξ‖ / median ‖ξ‖")


def figure1_models(tables) -> list[str]:
    have = set(tables["norms"]["model"])
    return [m for m in (VISION, *TEXT_TASKS) if m in have]


def plot_noise(tables, meta):
    """The headline at page width: Figure 1's norm histograms of the vision task and the first text task, the
    tier (i) statistic per replicate of every task, and the Hill plot; the verdicts counted in the title. The
    other views (Figure 1's running second moment, Figure 2 over training, Figure 4's ablation grid) are drawn
    by the paper_figures notebook from the same tables."""
    from .. import plotting

    have = set(tables["norms"]["model"])
    main = figure1_models(tables)
    shown = ([VISION] if VISION in main else []) + [m for m in main if m != VISION][:1] or main[:2]
    shares = [m for m in TASKS if m in have]
    fig, axes = plotting.figure(len(shown) + 2, ncols=2, size=4.0, aspect=0.8)
    it = iter(axes)
    for model in shown:
        draw_figure1(next(it), tables, model)
    draw_shares(next(it), tables, shares)
    draw_hill(next(it), tables, [m for m in (*main, *ABLATIONS.values()) if m in have])
    for ax in axes:
        ax.title.set_fontsize(8)
    p = meta.get("params", {})
    board = noise_scoreboard(tables, meta, meta.get("study", "torch-noise"))
    title = (
        f"torch-noise: minibatch gradient-noise norms (N={p.get('n_batches')}, "
        f"{p.get('n_seeds', 1)} replicates)\nverdicts: {plotting.tally(board['verdict'])}"
    )
    return plotting.finish(fig, title, fontsize=10)
