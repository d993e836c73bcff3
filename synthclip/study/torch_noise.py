"""``torch-noise``: is the stochastic-gradient noise of real networks heavy-tailed? (Zhang et al. 2020, Figure 1)

For each model (``--models``: the character-level transformer language model on CPython's pydoc text, the
digits CNN and MLP; ``synthclip.torch.models``) and each probe point (``--probe-at``: steps of training
with ``--optimizer`` before probing, 0 = at initialisation), the study computes the full gradient ∇f (over
``--full-size`` evenly spaced examples; default all 1797 digits, 2048 text windows) and the noise ξ_b = g_b − ∇f of
``--n-batches`` independent minibatches of each size in ``--batch-sizes``
(``synthclip.torch.probe.gradient_noise``). One cell per (model, probe point); the minibatches of the
different sizes share their first examples (common random numbers). Per layer and overall it estimates:

* Hill on the noise norms ‖ξ_b‖ (k = √N upper order statistics, asymptotic normal interval): the quantity
  histogrammed in the seed paper's Figure 1 (a light tail gives a large α that grows with N);
* Mohammadi on the noise vectors restricted to ``--coords-per-layer`` fixed coordinates per layer
  (block size √N, Student-t interval): the estimator of Şimşekli et al. 2019; it targets the stability
  index, so it saturates at 2 for finite-variance noise;
* (stored, not used for verdicts) Hill on median-standardised coordinates, see ``synthclip.torch.probe``.

Verdict rule (fixed before looking at data), per (model, probe point, batch size B), on the 95% (or
``--confidence``) interval [lo, hi] of Hill's α for the overall norm ‖ξ‖: **heavy-tailed** if hi < 2 (the
whole interval lies in the infinite-variance range of Assumption 1 with α < 2), **light** if lo > 2,
**inconclusive** otherwise. A model is *heavy-tailed* if every one of its settings is, *not heavy-tailed*
if none is, and *heavy-tailed at ... only* in between. The seed paper's Figure 1 expects the attention
model heavy-tailed and the image models lighter: a setting (probe point, B) *agrees* with it if the
transformer is heavy-tailed there and no image model is; the report says at how many settings the data
agree, and orders the models by their Hill α̂ at each setting (descriptive, no interval).

Caveats stated up front: a finite data set has bounded noise, so "heavy-tailed" means a power-law-like
tail over the range that N minibatches can see, not an infinite moment; at small scale the transformer's
norm tail is heaviest at initialisation and for small batches (B = 1), which is why both are probed.

Figure: per model and probe point, log-binned histograms of ‖ξ‖ / median‖ξ‖ (one per batch size, log-log
axes, as the histograms of Figure 1) with the fitted Hill tail (k/N)·α/u·(x/u)^(−α−1) above its threshold u.
``--device cuda`` runs the probes on a GPU; it exits with one line when CUDA is missing.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .base import CommonParams, MissingDependency, Study, StudyError, check_choice, check_fit_flags, check_positive, flag, \
    option, register

# The torch tasks (synthclip.torch.models.TASKS, repeated so that validation does not import torch; a test
# checks the two agree), text tasks first: the order of the report's rows.
TASKS = ("text-transformer", "chars-transformer-noformat", "words-transformer", "words-transformer-noformat",
         "words-noattn", "words-transformer-gauss", "words-noattn-gauss", "digits-cnn", "digits-mlp")
ATTENTION = "text-transformer"
OPTIMIZERS = ("adam", "sgd")
HEAVY_BELOW = 2.0  # α < 2: infinite variance, the heavy-tailed regime of Assumption 1
# Intra-op threads per cell: these small models gain nothing from more, and oversubscribed OpenMP
# barriers on a loaded machine make every op many times slower (cells run in parallel instead).
SMALL_MODEL_THREADS = 1


# -- shared with torch-rates: lazy torch, devices, threads ---------------------------------------------

def require_torch(study: str, device: str) -> None:
    """Fail with one line (a StudyError) if PyTorch or the requested device is missing; imports torch."""
    try:
        import torch
    except ImportError:
        raise MissingDependency(f"{study} needs PyTorch: pip install torch (the 'torch' extra of synthclip)") from None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise StudyError(f"--device: unknown device {device!r}; use cpu or cuda") from None
    if dev.type not in ("cpu", "cuda"):
        raise StudyError(f"--device: unsupported device {device!r}; use cpu or cuda")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise StudyError(f"--device {device}: CUDA is not available (torch {torch.__version__}); use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise StudyError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible")


def one_job_on_gpu(p) -> None:
    """--jobs 0 means all cores; on one GPU the cells run one after another instead."""
    if p.device != "cpu" and p.jobs == 0:
        p.jobs = 1


@contextlib.contextmanager
def torch_threads(threads):
    """Run with ``threads`` intra-op torch threads (the runner's share of the cores), then restore."""
    import torch

    if not threads:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def check_torch_run(study: str, p) -> None:
    """The checks every torch study ends its validation with: device, PyTorch present, one job per GPU."""
    check_torch_device(p)
    require_torch(study, p.device)
    one_job_on_gpu(p)


@functools.lru_cache(maxsize=None)
def _task_examples(task: str) -> int:
    from ..torch import models

    return models.make_task(task).data.n


FLOAT32_MAX = float(np.finfo(np.float32).max)  # a hyper-parameter above it overflows in the float32 models


def check_batch_size(name: str, sizes, tasks) -> None:
    """A minibatch no larger than the task's data set (after check_torch_run: loads the data once). Batches
    draw examples with replacement, so a larger one only repeats examples, at the cost of its size."""
    for task in tasks:
        n = _task_examples(task)
        for b in sizes if isinstance(sizes, (list, tuple)) else [sizes]:
            if b > n:
                raise StudyError(f"{flag(name)} must be <= {n}, the examples of task {task!r} (a larger batch "
                                 f"only repeats examples, at its full cost), got {b!r}")


def check_torch_device(p) -> None:
    if not isinstance(p.device, str) or not p.device:
        raise StudyError(f"--device must be cpu or cuda, got {p.device!r}")


# -- the study -----------------------------------------------------------------------------------------

MAX_PROBE_STEP = 100_000  # about a few minutes of training per probe point on one CPU core


@dataclass
class TorchNoiseParams(CommonParams):
    models: list = option(["text-transformer", "digits-cnn", "digits-mlp"], "models (tasks of synthclip.torch.models)")
    probe_at: list = option([0, 200], "training steps before each probe (0: at initialisation)")
    batch_sizes: list = option([1, 8], "minibatch sizes B of the noise g_B − ∇f")
    n_batches: int = option(1000, "minibatches N per probe (Hill uses the √N largest norms)", low=16)
    optimizer: str = option("adam", "optimizer of the training before a probe", choices=OPTIMIZERS)
    lr: float = option(1e-3, "learning rate of that training", low=0.0)
    train_batch_size: int = option(32, "minibatch size of that training", low=1)
    full_size: int = option(0, "examples in the full gradient ∇f (0: the task's own, all digits / 2048 "
                               "text windows)", low=0)
    coords_per_layer: int = option(256, "coordinates kept per layer for the vector estimator", low=1)
    confidence: float = option(0.95, "level of the tail-index intervals", low=0.0, high=1.0)
    device: str = option("cpu", "torch device: cpu or cuda")


@register
class TorchNoise(Study):
    name = "torch-noise"
    summary = "tail index of minibatch-gradient noise of a transformer LM and digits CNN/MLP (Fig. 1)"
    Params = TorchNoiseParams
    # one in-process job: the quick cells take less time than starting torch in worker processes
    quick = {"probe_at": [0, 10], "batch_sizes": [1], "n_batches": 32, "full_size": 128,
             "coords_per_layer": 16, "jobs": 1}
    tables = ("tails", "norms", "probes", "verdicts", "models")

    def validate(self, p) -> None:
        if not p.models:
            raise StudyError(f"--models needs at least one of {', '.join(TASKS)}")
        check_choice("models", p.models, TASKS)
        if len(set(p.models)) != len(p.models):
            raise StudyError(f"--models lists a model twice: {','.join(p.models)}")
        if not p.probe_at:
            raise StudyError("--probe-at needs at least one step (0: at initialisation)")
        for s in p.probe_at:
            if not isinstance(s, int) or isinstance(s, bool) or not 0 <= s <= MAX_PROBE_STEP:
                raise StudyError(f"--probe-at must be integers in [0, {MAX_PROBE_STEP}] (training steps before a probe; "
                                 f"each costs milliseconds on a CPU), got {s!r}")
        if not p.batch_sizes:
            raise StudyError("--batch-sizes needs at least one minibatch size")
        check_positive(p, "batch_sizes", "train_batch_size", "coords_per_layer", "n_batches")
        if p.n_batches < 16:
            raise StudyError(f"--n-batches must be >= 16 for a tail estimate, got {p.n_batches}")
        from .base import check_memory
        # at the least a norm and one coordinate of every minibatch's noise, in float64
        check_memory(f"--n-batches {p.n_batches}", 2 * 8 * p.n_batches, "lower --n-batches")
        if not isinstance(p.full_size, int) or p.full_size < 0:
            raise StudyError(f"--full-size must be >= 0 (0: the task's own), got {p.full_size!r}")
        check_choice("optimizer", p.optimizer, OPTIMIZERS)
        if not (p.lr > 0 and p.lr <= FLOAT32_MAX):
            raise StudyError(f"--lr must be > 0 and at most {FLOAT32_MAX:.4g} (the models train in float32), "
                             f"got {p.lr!r}")
        check_fit_flags(p)
        check_torch_run(self.name, p)
        check_batch_size("batch_sizes", p.batch_sizes, p.models)
        check_batch_size("train_batch_size", p.train_batch_size, p.models)

    def group(self, cell) -> str:
        return ""

    def cells(self, p) -> list[dict]:
        return [{
            "label": f"{model} step={step}", "model": model, "step": int(step),
            "batch_sizes": sorted(set(int(b) for b in p.batch_sizes)), "n_batches": p.n_batches,
            "optimizer": p.optimizer, "lr": p.lr, "train_batch_size": p.train_batch_size,
            "full_size": p.full_size, "coords_per_layer": p.coords_per_layer, "confidence": p.confidence,
            "seed": p.seed, "device": p.device,
        } for model in p.models for step in sorted(set(p.probe_at))]

    def run_cell(self, cell: Mapping[str, Any], *, threads=None, progress=None) -> dict[str, pd.DataFrame]:
        with torch_threads(SMALL_MODEL_THREADS):
            return probe_cell(cell)

    def analyze(self, p, tables):
        verdicts = cell_verdicts(tables["tails"], tables["probes"])
        return {**{k: tables[k] for k in ("tails", "norms", "probes")}, "verdicts": verdicts,
                "models": model_verdicts(verdicts)}

    def report(self, tables, meta) -> str:
        return noise_report(tables, meta)

    def plot(self, tables, meta):
        return plot_noise(tables, meta)


def _optimizer(name: str, params, lr: float):
    import torch

    return torch.optim.Adam(params, lr=lr) if name == "adam" else torch.optim.SGD(params, lr=lr)


def probe_cell(cell: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Train to the probe point (the stream of ``probe.probe_training``), then probe each batch size."""
    import time

    from ..torch import models, probe
    from ..torch.data import derive_seed

    t0 = time.perf_counter()
    task = models.make_task(cell["model"], device=cell["device"])
    key = derive_seed(cell["seed"], "torch-noise", cell["model"])
    model = task.build_model(key)
    opt = _optimizer(cell["optimizer"], model.parameters(), cell["lr"])
    train_key = derive_seed(key, "train")
    for k in range(1, cell["step"] + 1):
        x, y = task.data.batch(train_key, k, cell["train_batch_size"])
        opt.zero_grad(set_to_none=True)
        task.loss_fn(model(x), y).backward()
        opt.step()
    full_size = cell["full_size"] or None
    loss = _full_loss(model, task, full_size)
    train_seconds = time.perf_counter() - t0

    tails, norms, probes = [], [], []
    for b in cell["batch_sizes"]:
        pr = probe.gradient_noise(model, task.loss_fn, task.data, n_batches=cell["n_batches"], batch_size=b,
                                  key=key, step=cell["step"], full_size=full_size,
                                  coords_per_layer=cell["coords_per_layer"], confidence=cell["confidence"])
        common = {"model": cell["model"], "step": cell["step"], "batch_size": b}
        t = pr.tails.drop(columns=["step"]).assign(**common)
        tails.append(t[["model", "step", "batch_size", *[c for c in t.columns if c not in common]]])
        layers = ["all", *pr.layers]
        values = np.column_stack([pr.norms, pr.layer_norms])
        norms.append(pd.DataFrame({
            **common, "batch": np.repeat(np.arange(pr.norms.size), len(layers)),
            "layer": np.tile(layers, pr.norms.size), "norm": values.ravel(),
        }))
        full_norm = float(np.sqrt(np.sum(pr.full_grad_norms ** 2)))
        probes.append({**common, "n_batches": pr.norms.size, "full_size": pr.full_size, "loss": loss,
                       "full_grad_norm": full_norm, "noise_norm_median": float(np.median(pr.norms)),
                       "noise_norm_max": float(pr.norms.max()), "n_layers": len(pr.layers),
                       "n_params": int(sum(p.numel() for p in model.parameters())),
                       "seconds": pr.seconds, "train_seconds": train_seconds,
                       "device": str(cell["device"]), "optimizer": cell["optimizer"], "lr": cell["lr"]})
    return {"tails": pd.concat(tails, ignore_index=True), "norms": pd.concat(norms, ignore_index=True),
            "probes": pd.DataFrame(probes)}


def _full_loss(model, task, full_size, chunk: int = 256) -> float:
    import torch

    idx = task.data.reference_indices(full_size)
    total = 0.0
    with torch.no_grad():
        for start in range(0, idx.numel(), chunk):
            x, y = task.data.take(idx[start:start + chunk])
            total += float(task.loss_fn(model(x), y)) * y.shape[0]
    return total / idx.numel()


# -- verdicts ------------------------------------------------------------------------------------------

def verdict(ci_low: float, ci_high: float) -> str:
    """The rule of the module docstring on Hill's interval for ‖ξ‖."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "no estimate" if not np.isfinite(ci_low) else ("light" if ci_low > HEAVY_BELOW else "inconclusive")
    if ci_high < HEAVY_BELOW:
        return "heavy-tailed"
    if ci_low > HEAVY_BELOW:
        return "light"
    return "inconclusive"


def cell_verdicts(tails: pd.DataFrame, probes: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, step, batch size): the overall Hill-norm and Mohammadi-vector estimates."""
    whole = tails[tails["layer"] == "all"]
    keys = ["model", "step", "batch_size"]
    hill = whole[whole["sample"] == "norm"].set_index(keys)[["alpha", "ci_low", "ci_high", "k", "n"]]
    moh = whole[whole["sample"] == "vector"].set_index(keys)[["alpha", "ci_low", "ci_high"]]
    out = hill.add_prefix("hill_").join(moh.add_prefix("mohammadi_")).reset_index()
    out = out.merge(probes[keys + ["loss", "full_grad_norm", "noise_norm_median"]], on=keys, how="left")
    out["verdict"] = [verdict(lo, hi) for lo, hi in zip(out["hill_ci_low"], out["hill_ci_high"])]
    order = {m: i for i, m in enumerate(TASKS)}
    return out.sort_values(keys, key=lambda s: s.map(order) if s.name == "model" else s).reset_index(drop=True)


def _setting(r) -> str:
    return f"step {int(r['step'])}, B={int(r['batch_size'])}"


def model_verdicts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per model: its verdict over all settings, the expectation of Figure 1, agreement."""
    rows = []
    settings = verdicts[["step", "batch_size"]].drop_duplicates().sort_values(["step", "batch_size"])
    agree_at = []
    for _, s in settings.iterrows():
        part = verdicts[(verdicts["step"] == s["step"]) & (verdicts["batch_size"] == s["batch_size"])]
        att = part[part["model"] == ATTENTION]
        img = part[part["model"] != ATTENTION]
        if not att.empty and not img.empty and att.iloc[0]["verdict"] == "heavy-tailed" \
                and not (img["verdict"] == "heavy-tailed").any():
            agree_at.append(_setting(s))
    for model, part in verdicts.groupby("model", sort=False):
        heavy = part[part["verdict"] == "heavy-tailed"]
        if len(heavy) == len(part):
            v = "heavy-tailed"
        elif heavy.empty:
            v = "light" if (part["verdict"] == "light").all() else "not heavy-tailed"
        else:
            v = "heavy-tailed at " + "; ".join(_setting(r) for _, r in heavy.iterrows()) + " only"
        rows.append({"model": model, "verdict": v, "n_settings": len(part), "n_heavy": len(heavy),
                     "expected": "heavy-tailed" if model == ATTENTION else "lighter",
                     "min_hill_alpha": float(part["hill_alpha"].min()),
                     "max_hill_alpha": float(part["hill_alpha"].max()),
                     "figure1_agrees_at": "; ".join(agree_at), "n_settings_compared": len(settings)})
    return pd.DataFrame(rows)


# -- report and figure ---------------------------------------------------------------------------------

def _ci(a, lo, hi) -> str:
    return f"{a:6.2f} [{lo:5.2f}, {hi:6.2f}]" if np.isfinite(a) else f"{'n/a':>6} {'':15}"


def noise_report(tables, meta) -> str:
    p = meta["params"]
    v = tables["verdicts"]
    n = int(v["hill_n"].max()) if not v.empty else 0
    lines = [f"torch-noise: noise ξ = g_B − ∇f over N={p['n_batches']} minibatches per (model, step, B); "
             f"training before a probe: {p['optimizer']} lr={p['lr']:g}, batch {p['train_batch_size']}; "
             f"Hill on ‖ξ‖ (k={int(v['hill_k'].max()) if n else 0}), Mohammadi on ξ; "
             f"{p['confidence']:.0%} intervals. Rule: heavy-tailed if Hill's interval lies below "
             f"{HEAVY_BELOW:g}, light if above, inconclusive otherwise.",
             ""]
    header = (f"{'model':<17} {'step':>5} {'B':>3} {'loss':>6}  {'Hill α of ‖ξ‖ [CI]':<23} "
              f"{'Mohammadi α of ξ [CI]':<23} {'‖∇f‖/med‖ξ‖':>11}  verdict")
    lines += [header, "-" * len(header)]
    for _, r in v.iterrows():
        ratio = r["full_grad_norm"] / r["noise_norm_median"] if r["noise_norm_median"] > 0 else np.nan
        lines.append(f"{r['model']:<17} {int(r['step']):>5} {int(r['batch_size']):>3} {r['loss']:6.3f}  "
                     f"{_ci(r['hill_alpha'], r['hill_ci_low'], r['hill_ci_high']):<23} "
                     f"{_ci(r['mohammadi_alpha'], r['mohammadi_ci_low'], r['mohammadi_ci_high']):<23} "
                     f"{ratio:11.3f}  {r['verdict']}")
    models = tables["models"]
    lines.append("")
    for _, r in models.iterrows():
        lines.append(f"{r['model']}: {r['verdict']} ({int(r['n_heavy'])}/{int(r['n_settings'])} settings "
                     f"heavy-tailed; Hill α̂ from {r['min_hill_alpha']:.2f} to {r['max_hill_alpha']:.2f}); "
                     f"Figure 1 expects {r['expected']}.")
    lines.append(figure1_conclusion(v, models))
    lines += ["", "per layer (Hill α of ‖ξ_layer‖ [CI] | Mohammadi α of ξ_layer [CI]):"]
    t = tables["tails"]
    t = t[t["layer"] != "all"]
    for (model, step, b), part in t.groupby(["model", "step", "batch_size"], sort=False):
        lines.append(f"  {model} step {int(step)} B={int(b)}")
        hill = part[part["sample"] == "norm"].set_index("layer")
        moh = part[part["sample"] == "vector"].set_index("layer")
        for layer in hill.index:
            h, m = hill.loc[layer], moh.loc[layer]
            lines.append(f"    {layer:<22} {_ci(h['alpha'], h['ci_low'], h['ci_high'])} | "
                         f"{_ci(m['alpha'], m['ci_low'], m['ci_high'])}")
    return "\n".join(lines)


def figure1_conclusion(verdicts: pd.DataFrame, models: pd.DataFrame) -> str:
    """Whether the data agree with Figure 1 (attention heavy, images lighter), per the docstring's rule."""
    if ATTENTION not in set(verdicts["model"]) or set(verdicts["model"]) == {ATTENTION}:
        return "Figure 1 comparison: needs the transformer and an image model (not both run)."
    n = int(models["n_settings_compared"].iloc[0])
    agree = models["figure1_agrees_at"].iloc[0]
    k = len(agree.split("; ")) if agree else 0
    orders = []
    for (step, b), part in verdicts.groupby(["step", "batch_size"]):
        ranked = part.sort_values("hill_alpha")["model"].tolist()
        orders.append(f"step {int(step)} B={int(b)}: {' < '.join(ranked)}")
    said = ("the data agree with Figure 1 at every setting" if k == n else
            f"the data agree with Figure 1 at {k} of {n} settings ({agree})" if k else
            f"the data do not agree with Figure 1 at any of the {n} settings")
    return (f"Figure 1 (attention model heavy-tailed, CNN/MLP lighter): {said}. "
            f"Order of Hill α̂ (heaviest first): {'; '.join(orders)}.")


def hill_tail(norms: np.ndarray, alpha: float, k: int):
    """(x, density) of the fitted Pareto tail above the Hill threshold u = X_(k+1) of ``norms``."""
    x = np.sort(np.asarray(norms, float))[::-1]
    n = x.size
    if not (np.isfinite(alpha) and 1 <= k < n and x[k] > 0):
        return None
    u = x[k]
    grid = np.geomspace(u, x[0], 30)
    return grid, (k / n) * alpha / u * (grid / u) ** (-alpha - 1)


X_TICKS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def plot_noise(tables, meta):
    from matplotlib.ticker import NullFormatter

    from .. import plotting

    norms = tables["norms"]
    norms = norms[(norms["layer"] == "all") & np.isfinite(norms["norm"]) & (norms["norm"] > 0)]
    tails = tables["tails"]
    hill = tails[(tails["layer"] == "all") & (tails["sample"] == "norm")]
    models = [m for m in TASKS if m in set(norms["model"])] + sorted(set(norms["model"]) - set(TASKS))
    steps = sorted(norms["step"].unique())
    sizes = sorted(norms["batch_size"].unique())
    # one x range for every panel (norms over their median), so the models' spreads compare at a glance
    scaled = norms["norm"] / norms.groupby(["model", "step", "batch_size"])["norm"].transform("median")
    lo, hi = min(float(scaled.min()), 0.5), max(float(scaled.max()), 2.0)
    fig, axes = plotting.figure(len(models) * len(steps), ncols=len(models), size=3.4)
    _, sns = plotting._mpl()
    colors = dict(zip(sizes, sns.color_palette("crest", len(sizes))))
    for i, step in enumerate(steps):
        for j, model in enumerate(models):
            ax = axes[i * len(models) + j]
            for b in sizes:
                sel = (norms["model"] == model) & (norms["step"] == step) & (norms["batch_size"] == b)
                y = scaled[sel].to_numpy(float)
                if y.size == 0:
                    continue
                h = hill[(hill["model"] == model) & (hill["step"] == step) & (hill["batch_size"] == b)]
                label, fit = f"B={b}", None
                if not h.empty:
                    r = h.iloc[0]
                    label += f": α̂={r['alpha']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"
                    fit = hill_tail(y, r["alpha"], int(r["k"]))
                ax.hist(y, bins=np.geomspace(lo, hi, 40), density=True, color=colors[b], alpha=0.45, label=label)
                if fit is not None:
                    ax.plot(*fit, color=colors[b], ls="--", lw=1.3)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(lo, hi)
            ticks = [t for t in X_TICKS if lo <= t <= hi]
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_title(f"{model}, step {step}", fontsize=9)
            ax.set_xlabel("‖ξ‖ / median ‖ξ‖")
            if j == 0:
                ax.set_ylabel("density")
            ax.legend(fontsize=6)
    p = meta.get("params", {})
    fig.suptitle(f"torch-noise: minibatch gradient-noise norms (N={p.get('n_batches')}), dashed: fitted "
                 f"Hill tail; heavy-tailed if α's {p.get('confidence', 0.95):.0%} interval < {HEAVY_BELOW:g}",
                 fontsize=9)
    fig.tight_layout()
    return fig
