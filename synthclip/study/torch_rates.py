"""``torch-rates``: high-probability behaviour of the training loss of a real network across many seeds.

For each task (``--tasks``: the digits MLP by default; the digits CNN and the transformer language model
optionally) and each optimizer label (``--methods``), ``--n-seeds`` copies of the same training run are
trained at once (``synthclip.torch.ensemble.train_ensemble``, a ``torch.func`` vmap ensemble; the default
``--n-seeds 0`` means 48 seeds on CPU and 512 with ``--device cuda``). Seed i starts from the same initial weights
and sees the same minibatches under every optimizer (common random numbers), so the methods differ only
in the update. The loss of x_k on the full objective (all digits; a fixed set of text windows) is
recorded at about ``--checkpoints`` log-spaced steps k.

Per (task, method) and checkpoint the study reports the quantiles ``--quantiles`` (default 0.5, 0.9,
0.99) of the loss across seeds with distribution-free order-statistic intervals (``stats.quantile_ci``;
the 0.99 quantile needs ≳ 300 seeds for a finite upper end) and the mean. A seed whose loss is ever
non-finite (overflow, NaN) is *failed*: it is counted (with a Wilson interval for the failure
probability), kept, and its loss counts as +∞, so failures raise the upper quantiles, as they should.
Two numbers summarise each seed: its *final* loss (k = K) and its largest *rise*, max over checkpoints k
of L_k − min_{j ≤ k} L_j (how far the loss climbed back above its best value so far: a spike or a
divergence, the instability a high-probability bound is about, separated from slow progress, which a
plain maximum would mix in); the ``endpoints`` table has their quantiles across seeds with the same
intervals.

What is *not* claimed: a network's training loss has no known floor (it need not reach 0 within the run,
and the nonconvex theorems bound gradient norms, not the loss), so no exponent is compared with theory.
The slope of log(q-quantile of the loss) against log k over k ≥ √K, with a bootstrap interval over seeds
(``stats.fit_rate``), is reported as a descriptive decay rate only.

Verdict rule (fixed before looking at data), per task, clipped/unclipped pair present in ``--methods``
(sgd vs gclip, sgd vs cclip, adagrad_norm vs clip_adagrad_norm, adam_norm vs clip_adam_norm) and quantile
q, on the intervals of the q-quantile of the final loss and, separately, of the largest rise: clipping
**lowers** the quantile if the clipped method's interval lies entirely below the unclipped one's,
**raises** it if entirely above, and the pair **overlaps** otherwise (no difference shown at this number
of seeds; "both +inf" when both quantiles are failures).

Hyper-parameters: constant step sizes (``--lr-sgd`` for sgd/gclip/cclip/acclip, ``--lr-adaptive`` for the
AdaGrad/Adam-Norm family) and a constant clip level ``--clip`` (τ for gclip/cclip, λ for the clipped
AdaGrad/Adam-Norm, τ0 for acclip); the default τ = 0.2 lies below the digits MLP's initial gradient norm
(≈ 0.6), so clipping acts. ``--device cuda`` exits with one line when CUDA is missing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import stats, verdict
from .._rng import derive_seed
from .base import (CommonParams, Study, StudyError, check_choice, check_fit_flags, check_methods, check_positive, flag,
                   method_params, option, register)
from .torch_noise import SMALL_MODEL_THREADS, TASKS, check_torch_run, torch_threads

# Study labels → (registry method, which step size it takes, clipped).
RATE_METHODS: dict[str, tuple[str, str, bool]] = {
    "sgd": ("sgd", "sgd", False),
    "gclip": ("gclip", "sgd", True),
    "cclip": ("cclip", "sgd", True),
    "acclip": ("acclip", "sgd", True),
    "adagrad_norm": ("adagrad_norm", "adaptive", False),
    "clip_adagrad_norm": ("clip_adagrad_norm", "adaptive", True),
    "adam_norm": ("adam_norm", "adaptive", False),
    "clip_adam_norm": ("clip_adam_norm", "adaptive", True),
}
PAIRS = (("sgd", "gclip"), ("sgd", "cclip"), ("adagrad_norm", "clip_adagrad_norm"),
         ("adam_norm", "clip_adam_norm"))
AUTO_SEEDS = {"cpu": 48, "cuda": 512}  # --n-seeds 0: a few dozen on CPU, hundreds on a GPU
DEFAULT_METHODS = ["sgd", "gclip", "adagrad_norm", "clip_adagrad_norm", "adam_norm", "clip_adam_norm"]


def label_params(label: str, p) -> dict:
    """The synthclip method parameters of a study label (constant schedules)."""
    method, kind, clipped = RATE_METHODS[label]
    params: dict[str, Any] = {"lr": p.lr_sgd if kind == "sgd" else p.lr_adaptive}
    if kind == "sgd" and method != "acclip":
        params["lr_schedule"] = "constant"
    if clipped:
        params["clip"] = p.clip
        if method in ("gclip", "cclip"):
            params.update(clip_schedule="constant", clip_power=0.0)
    return params


@dataclass
class TorchRatesParams(CommonParams):
    tasks: list = option(["digits-mlp"], "tasks (synthclip.torch.models); each its own panel row")
    methods: list = option(list(DEFAULT_METHODS), "optimizers (synthclip methods with constant schedules)")
    n_seeds: int = option(0, f"seeds per (task, method), each its own initialisation and minibatch stream "
                             f"(0: {AUTO_SEEDS['cpu']} on cpu, {AUTO_SEEDS['cuda']} on cuda)", low=0)
    steps: int = option(1000, "training steps K", low=1)
    batch_size: int = option(16, "minibatch size", low=1)
    lr_sgd: float = option(0.5, "step size of sgd, gclip, cclip and acclip", low=0.0)
    lr_adaptive: float = option(0.1, "step size γ of the AdaGrad/Adam-Norm family", low=0.0)
    clip: float = option(0.2, "clip level (τ of gclip/cclip, λ of the clipped AdaGrad/Adam-Norm)", low=0.0)
    checkpoints: int = option(20, "about this many log-spaced steps at which the full loss is recorded", low=2)
    eval_size: int = option(0, "examples of the full objective (0: the task's own, all digits / 2048 windows)",
                            low=0)
    quantiles: list = option([0.5, 0.9, 0.99], "quantile levels of the loss across seeds")
    confidence: float = option(verdict.RULE.confidence, "level of the quantile, slope and failure intervals", low=0.0,
                               high=1.0)
    n_boot: int = option(verdict.RULE.n_boot, "bootstrap replicates per slope (≥ 20/(1 − confidence))", low=1)
    device: str = option("cpu", "torch device: cpu or cuda")


@register
class TorchRates(Study):
    name = "torch-rates"
    summary = "loss quantiles across many seeds of a real network per optimizer, clipped vs unclipped"
    Params = TorchRatesParams
    # one in-process job: the quick cells take less time than starting torch in worker processes
    quick = {"methods": ["sgd", "gclip", "adam_norm", "clip_adam_norm"], "n_seeds": 8, "steps": 30,
             "checkpoints": 8, "n_boot": 50, "jobs": 1}
    tables = ("quantiles", "endpoints", "slopes", "failures", "losses", "clipping")

    def validate(self, p) -> None:
        if not p.tasks:
            raise StudyError(f"--tasks needs at least one of {', '.join(TASKS)}")
        check_choice("tasks", p.tasks, TASKS)
        if len(set(p.tasks)) != len(p.tasks):
            raise StudyError(f"--tasks lists a task twice: {','.join(p.tasks)}")
        check_methods("methods", p.methods, RATE_METHODS)
        if len(set(p.methods)) != len(p.methods):
            raise StudyError(f"--methods lists a method twice: {','.join(p.methods)}")
        if isinstance(p.n_seeds, int) and p.n_seeds == 0:
            p.n_seeds = AUTO_SEEDS["cpu" if p.device == "cpu" else "cuda"]
        check_positive(p, "n_seeds", "steps", "batch_size", "checkpoints", "n_boot")
        if p.checkpoints < 2:
            raise StudyError(f"--checkpoints must be >= 2, got {p.checkpoints}")
        if not isinstance(p.eval_size, int) or p.eval_size < 0:
            raise StudyError(f"--eval-size must be >= 0 (0: the task's own), got {p.eval_size!r}")
        from .torch_noise import FLOAT32_MAX
        for name in ("lr_sgd", "lr_adaptive", "clip"):
            value = getattr(p, name)
            if not (value > 0 and value <= FLOAT32_MAX):
                raise StudyError(f"{flag(name)} must be > 0 and at most {FLOAT32_MAX:.4g} (the models train in "
                                 f"float32), got {value!r}")
        if not p.quantiles:
            raise StudyError("--quantiles needs at least one level in (0, 1)")
        check_fit_flags(p)
        for label in p.methods:
            method_params(RATE_METHODS[label][0], label_params(label, p), "--methods " + label)
        # Intervals across seeds: with too few seeds no quantile has a finite order-statistic interval and a
        # bootstrap over seeds has (near) zero width, so the run could only print empty intervals. Both ends
        # of stats.quantile_ci's interval for q are finite iff max(q, 1 − q)^n <= (1 − confidence)/2.
        half = (1.0 - p.confidence) / 2.0
        need = min(math.ceil(math.log(half) / math.log(max(q, 1.0 - q)) - 1e-9) for q in p.quantiles)
        if p.n_seeds < need:
            raise StudyError(f"--n-seeds {p.n_seeds} gives no quantile of --quantiles a finite {p.confidence:g} interval "
                             f"across seeds (and a bootstrap over them near-zero width): use --n-seeds >= {need}")
        check_torch_run(self.name, p)
        from .torch_noise import check_batch_size
        check_batch_size("batch_size", p.batch_size, p.tasks)

    def group(self, cell) -> str:
        return ""

    def cells(self, p) -> list[dict]:
        return [{
            "label": f"{task} {label}", "task": task, "method": label, "registry_method": RATE_METHODS[label][0],
            "method_params": label_params(label, p), "n_seeds": p.n_seeds, "steps": p.steps,
            "batch_size": p.batch_size, "checkpoints": p.checkpoints, "eval_size": p.eval_size,
            "quantiles": sorted(float(q) for q in p.quantiles), "confidence": p.confidence,
            "n_boot": p.n_boot, "seed": p.seed, "device": p.device,
        } for task in p.tasks for label in p.methods]

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        from ..torch.ensemble import train_ensemble

        with torch_threads(SMALL_MODEL_THREADS):
            res = train_ensemble(cell["task"], cell["registry_method"], n_seeds=cell["n_seeds"],
                                 steps=cell["steps"], batch_size=cell["batch_size"], seed=cell["seed"],
                                 method_params=cell["method_params"], checkpoints=cell["checkpoints"],
                                 device=cell["device"], eval_size=cell["eval_size"] or None)
        if progress:
            progress(cell["n_seeds"])
        return summarize_ensemble(res, cell)

    def analyze(self, p, tables):
        return {**tables, "clipping": clipping_table(tables["endpoints"])}

    def report(self, tables, meta) -> str:
        return rates_report(tables, meta)

    def plot(self, tables, meta):
        return plot_torch_rates(tables, meta)


def summarize_ensemble(res, cell: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Quantile, slope, failure and per-seed tables of one ensemble run."""
    k = res.checkpoints
    losses = np.where(res.failed[:, None], np.inf, res.losses)  # a failed seed counts as +inf throughout
    common = {"task": cell["task"], "method": cell["method"]}
    qrows = []
    for q in cell["quantiles"]:
        est, lo, hi = stats.quantile_ci(losses, q, confidence=cell["confidence"])
        qrows.append(pd.DataFrame({**common, "k": k, "statistic": "quantile", "quantile": q, "value": est,
                                   "ci_low": lo, "ci_high": hi}))
    with np.errstate(invalid="ignore", over="ignore"):
        mean = losses.mean(axis=0)
    qrows.append(pd.DataFrame({**common, "k": k, "statistic": "mean", "quantile": np.nan, "value": mean,
                               "ci_low": np.nan, "ci_high": np.nan}))
    quantiles = pd.concat(qrows, ignore_index=True).assign(n_seeds=res.n_seeds, n_failed=res.n_failed)

    srows = []
    for q in cell["quantiles"]:
        try:
            fit = stats.fit_rate(k, losses, q, n_boot=cell["n_boot"], confidence=cell["confidence"],
                                 seed=derive_seed(cell["seed"], "torch-rates", cell["task"], cell["method"], q))
        except ValueError as err:  # too few checkpoints in k >= √K for a line: recorded, not raised
            srows.append({**common, "quantile": str(q), "slope": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                          "intercept": np.nan, "kmin": np.nan, "kmax": np.nan, "n_points": 0, "reason": str(err)})
            continue
        srows.append({**common, "quantile": str(q), "slope": fit.slope, "ci_low": fit.ci_low,
                      "ci_high": fit.ci_high, "intercept": fit.intercept, "kmin": fit.kmin, "kmax": fit.kmax,
                      "n_points": fit.n_points, "reason": fit.reason})
    slopes = pd.DataFrame(srows).assign(n_seeds=res.n_seeds, n_failed=res.n_failed)

    erows = []
    with np.errstate(invalid="ignore"):
        rise = np.max(losses - np.minimum.accumulate(losses, axis=1), axis=1)
    rise = np.where(res.failed, np.inf, rise)
    for metric, values in (("final", losses[:, -1]), ("rise", rise)):
        for q in cell["quantiles"]:
            est, lo, hi = stats.quantile_ci(values, q, confidence=cell["confidence"])
            erows.append({**common, "metric": metric, "quantile": q, "value": float(est), "ci_low": float(lo),
                          "ci_high": float(hi)})
    endpoints = pd.DataFrame(erows).assign(n_seeds=res.n_seeds, n_failed=res.n_failed, k_end=int(k[-1]))

    p_fail, lo, hi = stats.failure_probability(np.where(res.failed, np.inf, 0.0), 0.0,
                                               confidence=cell["confidence"])
    bad = res.fail_step[res.fail_step >= 0]
    failures = pd.DataFrame([{**common, "n_seeds": res.n_seeds, "n_failed": res.n_failed,
                              "p_fail": float(p_fail), "ci_low": float(lo), "ci_high": float(hi),
                              "first_fail_step": int(bad.min()) if bad.size else -1, "steps": res.steps,
                              "batch_size": res.batch_size, "seconds": res.seconds,
                              "throughput": res.throughput, "device": res.device, "dtype": res.dtype,
                              "method_params": repr(dict(cell["method_params"]))}])
    frame = res.to_frame().drop(columns=["task", "method"])
    losses_table = frame.assign(**common)[["task", "method", "seed", "step", "loss", "failed"]]
    return {"quantiles": quantiles, "endpoints": endpoints, "slopes": slopes, "failures": failures,
            "losses": losses_table}


def pair_verdict(unclipped: tuple[float, float], clipped: tuple[float, float]) -> str:
    """The rule of the module docstring on the two intervals (lo, hi)."""
    if math.isinf(clipped[0]) and math.isinf(unclipped[0]) and clipped[0] > 0 and unclipped[0] > 0:
        return "both +inf"
    if clipped[1] < unclipped[0]:
        return "lowers"
    if clipped[0] > unclipped[1]:
        return "raises"
    return "overlaps"


def clipping_table(endpoints: pd.DataFrame) -> pd.DataFrame:
    """Each clipped/unclipped pair's quantiles of the final loss and of the largest rise, with the verdict."""
    rows = []
    for (task, metric), part in endpoints.groupby(["task", "metric"], sort=False):
        present = set(part["method"])
        for plain, clipped in PAIRS:
            if plain not in present or clipped not in present:
                continue
            for q in sorted(part["quantile"].unique()):
                a = part[(part["method"] == plain) & np.isclose(part["quantile"], q)].iloc[0]
                b = part[(part["method"] == clipped) & np.isclose(part["quantile"], q)].iloc[0]
                rows.append({"task": task, "metric": metric, "unclipped": plain, "clipped": clipped,
                             "quantile": q, "unclipped_value": a["value"], "unclipped_low": a["ci_low"],
                             "unclipped_high": a["ci_high"], "clipped_value": b["value"],
                             "clipped_low": b["ci_low"], "clipped_high": b["ci_high"],
                             "verdict": pair_verdict((a["ci_low"], a["ci_high"]), (b["ci_low"], b["ci_high"]))})
    columns = ["task", "metric", "unclipped", "clipped", "quantile", "unclipped_value", "unclipped_low",
               "unclipped_high", "clipped_value", "clipped_low", "clipped_high", "verdict"]
    return pd.DataFrame(rows, columns=columns)


def _ci(v, lo, hi) -> str:
    return f"{v:.4g} [{lo:.4g}, {hi:.4g}]"


METRIC_TEXT = {"final": "final loss (k = K)",
               "rise": "largest rise of the loss above its best so far, max_k L_k − min_{j≤k} L_j"}


def rates_report(tables, meta) -> str:
    p = meta["params"]
    ends = tables["endpoints"]
    fails = tables["failures"]
    slopes = tables["slopes"]
    lines = []
    for task in dict.fromkeys(fails["task"]):
        f_task = fails[fails["task"] == task]
        lines.append(f"torch-rates: {task}, {p['n_seeds']} seeds per optimizer, K={p['steps']} steps, batch "
                     f"{p['batch_size']}, device {f_task['device'].iloc[0]}; loss on the full objective; "
                     f"{p['confidence']:.0%} order-statistic intervals across seeds; failed seeds count as +inf")
        qs = sorted(ends["quantile"].unique())
        for metric in ("final", "rise"):
            e = ends[(ends["task"] == task) & (ends["metric"] == metric)]
            lines.append(f"quantiles across seeds of the {METRIC_TEXT[metric]}:")
            header = (f"{'method':<18} " + " ".join(f"{'q=' + format(q, 'g'):<30}" for q in qs)
                      + (f" {'failed':>9}  {'slope of median [CI]':<24}" if metric == "final" else ""))
            lines += [header, "-" * len(header)]
            for _, fr in f_task.iterrows():
                m = fr["method"]
                cells = []
                for q in qs:
                    r = e[(e["method"] == m) & np.isclose(e["quantile"], q)]
                    cells.append(f"{_ci(r['value'].iloc[0], r['ci_low'].iloc[0], r['ci_high'].iloc[0]):<30}")
                line = f"{m:<18} " + " ".join(cells)
                if metric == "final":
                    s = slopes[(slopes["task"] == task) & (slopes["method"] == m) & (slopes["quantile"] == "0.5")]
                    if s.empty or not np.isfinite(s["slope"].iloc[0]):
                        slope = f"n/a ({s['reason'].iloc[0]})" if not s.empty and s["reason"].iloc[0] else "n/a"
                    else:
                        slope = (f"{s['slope'].iloc[0]:+.3f} [{s['ci_low'].iloc[0]:+.3f}, "
                                 f"{s['ci_high'].iloc[0]:+.3f}]")
                    line += f" {int(fr['n_failed']):>4}/{int(fr['n_seeds']):<4}  {slope}"
                lines.append(line)
        clip = tables["clipping"]
        clip = clip[clip["task"] == task]
        if clip.empty:
            lines.append("clipped vs unclipped: no pair of methods run.")
        for _, r in clip.iterrows():
            what = "final loss" if r["metric"] == "final" else "largest rise"
            lines.append(f"clipping ({r['unclipped']} → {r['clipped']}) {r['verdict']} the "
                         f"{r['quantile']:g}-quantile of the {what}: "
                         f"{_ci(r['unclipped_value'], r['unclipped_low'], r['unclipped_high'])}"
                         f" → {_ci(r['clipped_value'], r['clipped_low'], r['clipped_high'])}")
        lines.append("slopes: log quantile vs log k for k ≥ √K, descriptive only (no theory for a network's "
                     "loss, whose floor is unknown).")
        thr = ", ".join(f"{r['method']} {r['throughput']:.0f}" for _, r in f_task.iterrows())
        lines.append(f"throughput (seeds × steps / s, evaluation included): {thr}")
        lines.append("")
    return "\n".join(lines).rstrip()


def plot_torch_rates(tables, meta):
    from .. import plotting

    q = tables["quantiles"]
    q = q[q["statistic"] == "quantile"]
    fails = tables["failures"]
    panels = [(t, m) for t in dict.fromkeys(q["task"]) for m in dict.fromkeys(q[q["task"] == t]["method"])]
    fig, axes = plotting.figure(len(panels), ncols=min(4, len(panels)))
    for ax, (task, method) in zip(axes, panels):
        part = q[(q["task"] == task) & (q["method"] == method)]
        if np.isfinite(part["value"]).any():
            plotting.quantile_bands(ax, part)
            ax.legend(fontsize=6)
            # one y range per task, so the optimizers' bands compare across panels
            shown = q[q["task"] == task][["value", "ci_low", "ci_high"]].to_numpy(float).ravel()
            shown = shown[np.isfinite(shown) & (shown > 0)]
            ax.set_ylim(shown.min() / 1.2, shown.max() * 1.2)
        else:  # every quantile is +inf: nothing to draw on log axes
            ax.text(0.5, 0.5, "every quantile is +inf\n(failed seeds)", ha="center", va="center",
                    transform=ax.transAxes, fontsize=8)
        f = fails[(fails["task"] == task) & (fails["method"] == method)]
        failed = f"; failed {int(f['n_failed'].iloc[0])}/{int(f['n_seeds'].iloc[0])}" if not f.empty else ""
        ax.set_title(f"{task}: {method}{failed}", fontsize=8)
        ax.set_xlabel("step k")
    for ax in axes[::4]:
        ax.set_ylabel("training loss")
    p = meta.get("params", {})
    fig.suptitle(f"torch-rates: loss quantiles across {p.get('n_seeds')} seeds; bands: "
                 f"{p.get('confidence', 0.95):.0%} order-statistic intervals", fontsize=10)
    fig.tight_layout()
    return fig
