"""The gradient-noise probe: is the stochastic-gradient noise of a real network heavy-tailed?

At a point x of training the probe computes the full (or large-batch) gradient ∇f(x) once and then, for
many independent minibatches b, the noise ξ_b = g_b(x) − ∇f(x): the quantity of Assumption 1
(E‖ξ‖^α ≤ σ^α) and Assumption 2 (coordinate-wise). It records the norms ‖ξ_b‖ (overall and per layer;
Zhang et al.'s Figure 1 histograms these), a fixed subset of coordinates ξ_{b,i}, and tail-index
estimates with confidence intervals from ``synthclip.stats`` per layer:

* ``sample="norm"``: Hill on the per-batch norms ‖ξ_b‖ (light-tailed noise gives a large α that grows
  with the number of batches; heavy tails a small, stable one);
* ``sample="vector"``: Mohammadi et al.'s block-sum estimator on the noise vectors restricted to the
  kept coordinates (the estimator of Şimşekli et al. 2019), saturating at α = 2 for finite variance; its
  interval is the parametric pivot of ``stats.mohammadi`` (simulated on the probe's own shape, calibrated
  on stable vectors; docs/studies/calibrate.md);
* ``sample="coord"``: Hill on the pooled coordinates, each divided by its own median |ξ_i| first
  (pooling coordinates of different scales would itself manufacture a heavy tail: a scale mixture).
  Sparse inputs (digit pixels that are rarely on, embedding rows of rare characters) make single
  coordinates heavy-tailed even when the noise vector is not; "norm" is the quantity of Figure 1.

A "layer" is a module that owns parameters (its weight and bias together), named as in the model.

Statistics of the norm sample as the seeds measure it (:func:`norm_statistics`): max/median, the share
of Σ‖ξ‖² carried by the largest 1 % of draws, seed 000's outlier ratios (the rate of draws above
Q3 + 1.5·IQR and Q3 + 3·IQR over a Gaussian's 0.0035 and 1.2e−6), the KS distance to a fitted Gaussian
(the paper's Figure 1 reference), and how far the running estimate of E‖ξ‖² still moves over the last
90 % of draws (Figure 1(d, h)); :func:`hill_plot` gives Hill and the moment estimator over a grid of k;
:func:`coordinate_view` the tail index over the coordinates of single draws (Appendix H of the paper);
:func:`pooled_view` Şimşekli et al.'s practice, every coordinate of every draw pooled as one scalar sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .data import Data, derive_seed, sample_indices

ALL = "all"


@dataclass
class NoiseProbe:
    """The noise ξ_b = g_b − ∇f at one point of training (``step``), over ``n_batches`` minibatches.

    norms: (n_batches,) ‖ξ_b‖ over all parameters; layer_norms: (n_batches, n_layers); coords:
    (n_batches, n_coords) a fixed subset of coordinates, coord_layer: (n_coords,) their layer index;
    full_grad_norms: (n_layers,) ‖∇f‖ per layer; tails: a tidy table (pandas DataFrame), one row per
    (layer, sample, method) with alpha, ci_low, ci_high, k, n and a note when an estimate was impossible.
    """

    step: int
    layers: list[str]
    norms: np.ndarray
    layer_norms: np.ndarray
    coords: np.ndarray
    coord_layer: np.ndarray
    full_grad_norms: np.ndarray
    batch_size: int
    full_size: int
    seconds: float = 0.0
    tails: object = field(default=None, repr=False)
    indices: np.ndarray | None = field(default=None, repr=False)  # (n_batches, batch_size) example indices

    def tail(self, layer: str = ALL, sample: str = "norm") -> dict:
        """The tail row for ``layer`` and ``sample`` ("norm", "vector" or "coord") as a dict."""
        t = self.tails
        rows = t[(t["layer"] == layer) & (t["sample"] == sample)]
        if rows.empty:
            raise KeyError(f"no tail estimate for layer {layer!r} and sample {sample!r}")
        return rows.iloc[0].to_dict()


def _layers(model: torch.nn.Module) -> tuple[list[str], list[list[torch.nn.Parameter]]]:
    names, groups = [], []
    for pname, p in model.named_parameters():
        if not p.requires_grad:
            continue
        owner = pname.rsplit(".", 1)[0] if "." in pname else pname
        if not names or names[-1] != owner:
            names.append(owner)
            groups.append([])
        groups[-1].append(p)
    return names, groups


def _flat_grads(groups) -> list[torch.Tensor]:
    out = []
    for params in groups:
        out.append(
            torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).detach().reshape(-1) for p in params])
        )
    return out


def _gradient(model, loss_fn, x, y, groups) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        loss_fn(model(x), y).backward()
    return _flat_grads(groups)


def full_gradient(
    model, loss_fn, data: Data, *, full_size: int | None = None, chunk_size: int = 128, groups=None
) -> tuple[list[torch.Tensor], int]:
    """∇f over ``data.reference_indices(full_size)`` (all examples by default), per layer, flattened.

    Computed in chunks; the loss is a mean, so chunk gradients are weighted by chunk size.
    """
    if groups is None:
        groups = _layers(model)[1]
    idx = data.reference_indices(full_size)
    total = None
    for start in range(0, idx.numel(), chunk_size):
        chunk = idx[start : start + chunk_size]
        grads = _gradient(model, loss_fn, *data.take(chunk), groups)
        w = chunk.numel() / idx.numel()
        total = [g * w for g in grads] if total is None else [t + g * w for t, g in zip(total, grads)]
    model.zero_grad(set_to_none=True)
    return total, int(idx.numel())


def gradient_noise(
    model: torch.nn.Module,
    loss_fn: Callable,
    data: Data,
    *,
    n_batches: int = 200,
    batch_size: int = 32,
    key: int = 0,
    step: int = 0,
    full_size: int | None = None,
    chunk_size: int = 128,
    coords_per_layer: int = 1024,
    confidence: float = 0.95,
    full=None,
) -> NoiseProbe:
    """Probe the minibatch-gradient noise of ``model`` at its current parameters.

    ``n_batches`` minibatches of ``batch_size`` examples (drawn i.i.d. from the counter-based stream of
    ``(key, "probe", step)``); ``full_size`` limits the "full" gradient to that many evenly spaced
    examples (None: all of them; a language model wants a large batch instead of 400k windows).
    ``coords_per_layer`` coordinates per layer (a fixed random subset) are kept as samples. ``full``: the
    ``(per-layer gradients, n_examples)`` of :func:`full_gradient` at these parameters, when already
    computed (probing several batch sizes at one point needs it once).
    """
    import time

    if n_batches < 8:
        raise ValueError(f"n_batches must be >= 8 for a tail estimate, got {n_batches}")
    t0 = time.perf_counter()
    names, groups = _layers(model)
    if full is None:
        full = full_gradient(model, loss_fn, data, full_size=full_size, chunk_size=chunk_size, groups=groups)
    full, n_full = full
    # a fixed coordinate subset per layer, so every batch reports the same coordinates
    subsets = []
    for j, g in enumerate(full):
        if g.numel() <= coords_per_layer:
            subsets.append(torch.arange(g.numel(), device=g.device))
        else:
            gen = torch.Generator().manual_seed(derive_seed(key, "coords", names[j]))
            subsets.append(torch.randperm(g.numel(), generator=gen)[:coords_per_layer].sort().values.to(g.device))
    coord_layer = np.concatenate([np.full(s.numel(), j) for j, s in enumerate(subsets)])

    batch_key = derive_seed(key, "probe", step)
    layer_norms = np.empty((n_batches, len(names)))
    coords = np.empty((n_batches, coord_layer.size))
    indices = np.empty((n_batches, batch_size), dtype=np.int64)
    for b in range(n_batches):
        idx = sample_indices(batch_key, b, batch_size, data.n, data.device)  # = data.batch's draw
        indices[b] = idx.cpu().numpy()
        x, y = data.take(idx)
        noise = [g - f for g, f in zip(_gradient(model, loss_fn, x, y, groups), full)]
        layer_norms[b] = torch.stack([torch.linalg.vector_norm(z) for z in noise]).double().cpu().numpy()
        coords[b] = torch.cat([z[s] for z, s in zip(noise, subsets)]).double().cpu().numpy()
    model.zero_grad(set_to_none=True)

    probe = NoiseProbe(
        step=int(step),
        layers=names,
        norms=np.sqrt((layer_norms**2).sum(axis=1)),
        layer_norms=layer_norms,
        coords=coords,
        coord_layer=coord_layer,
        full_grad_norms=np.array([float(torch.linalg.vector_norm(f)) for f in full]),
        batch_size=int(batch_size),
        full_size=n_full,
        indices=indices,
    )
    probe.tails = tail_estimates(probe, confidence=confidence)
    probe.seconds = time.perf_counter() - t0
    return probe


def _estimate(fn, x, **kw) -> dict:
    try:
        est = fn(x, **kw)
    except ValueError as err:  # too few nonzero samples, exact zeros, ...: recorded, not raised
        return dict(
            alpha=np.nan, ci_low=np.nan, ci_high=np.nan, k=0, n=int(np.shape(x)[0]), method=fn.__name__, note=str(err)
        )
    return dict(alpha=est.alpha, ci_low=est.ci_low, ci_high=est.ci_high, k=est.k, n=est.n, method=est.method, note="")


def _standardized(cols: np.ndarray) -> np.ndarray:
    """Coordinates (columns) divided by their median |ξ_i|; columns that are mostly 0 are dropped."""
    scale = np.median(np.abs(cols), axis=0)
    keep = scale > 0
    return cols[:, keep] / scale[keep]


def tail_estimates(probe: NoiseProbe, confidence: float = 0.95):
    """The tidy tail table of a probe (see the module docstring for the three samples)."""
    import pandas as pd

    from .. import stats

    rows = []
    layer_sets = [(ALL, probe.norms, np.ones(probe.coord_layer.size, bool))]
    layer_sets += [(name, probe.layer_norms[:, j], probe.coord_layer == j) for j, name in enumerate(probe.layers)]
    for name, norms, cols in layer_sets:
        vectors = probe.coords[:, cols]
        samples = [
            ("norm", stats.hill, norms),
            ("vector", stats.mohammadi, vectors),
            ("coord", stats.hill, _standardized(vectors).reshape(-1)),
        ]
        for sample, fn, x in samples:
            if np.size(x) == 0:
                row = dict(
                    alpha=np.nan,
                    ci_low=np.nan,
                    ci_high=np.nan,
                    k=0,
                    n=0,
                    method=fn.__name__,
                    note="no coordinate with nonzero noise in most batches",
                )
            elif sample == "vector" and name != ALL:
                # the calibrated vector interval simulates the probe's shape (three pools of stable blocks): the
                # whole vector gets it; a layer's row keeps its point estimate and states no interval, since the
                # cheap block bootstrap under-covers on vectors (docs/studies/calibrate.md)
                row = {**_estimate(fn, x, confidence=confidence, method="t"), "ci_low": np.nan, "ci_high": np.nan}
                row["note"] = row["note"] or "interval on the whole vector only (layer 'all')"
            else:
                row = _estimate(fn, x, confidence=confidence)
            rows.append(dict(step=probe.step, layer=name, sample=sample, **row))
    return pd.DataFrame(rows)


def probe_training(
    model: torch.nn.Module,
    loss_fn: Callable,
    data: Data,
    optimizer: torch.optim.Optimizer,
    *,
    probe_at: Sequence[int],
    train_batch_size: int = 32,
    key: int = 0,
    **probe_kwargs,
) -> list[NoiseProbe]:
    """Train ``model`` with ``optimizer`` on minibatches of ``data`` and probe the noise at the steps in
    ``probe_at`` (0 = before the first step); returns one :class:`NoiseProbe` per probe step.

    Training batches come from the stream of ``(key, "train")`` and have ``train_batch_size`` examples;
    the probe's own arguments (``n_batches``, ``batch_size``, ``full_size``, ...) go through ``probe_kwargs``.
    """
    probe_at = sorted({int(s) for s in probe_at})
    if not probe_at or probe_at[0] < 0:
        raise ValueError(f"probe_at must be non-negative steps, got {probe_at}")
    train_key = derive_seed(key, "train")
    probes = []
    for k in range(probe_at[-1] + 1):
        if k > 0:
            x, y = data.batch(train_key, k, train_batch_size)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()
        if k in probe_at:
            probes.append(gradient_noise(model, loss_fn, data, key=key, step=k, **probe_kwargs))
    return probes


def tail_table(probes: Sequence[NoiseProbe]):
    """All probes' tail rows in one tidy table."""
    import pandas as pd

    return pd.concat([p.tails for p in probes], ignore_index=True)


# -- the norm sample as the seeds measure it ------------------------------------------------------------

#: P(X > Q3 + c·IQR) for a Gaussian X: seed 000's references (c = 1.5: 0.0035; c = 3: 1.2e−6)
GAUSS_MILD, GAUSS_EXTREME = 0.0034883, 1.1710e-06
TOP_SHARE = 0.01  # the share of Σ‖ξ‖² carried by the largest 1 % of draws


def norm_statistics(norms) -> dict:
    """Scale-free statistics of a sample of noise norms ‖ξ_b‖ (see the module docstring).

    ``top1_share``: Σ of the largest ⌈N/100⌉ squared norms over Σ of all (≈ 0.01 when every draw has the
    same size; a heavy tail puts much more into a few draws). ``mild_ratio`` / ``extreme_ratio``: the
    fraction of draws above Q3 + 1.5·IQR / Q3 + 3·IQR over a Gaussian's (seed 000's statistics), and
    ``mild_count`` / ``extreme_count`` those draws' numbers.
    ``ks_gauss``: the Kolmogorov–Smirnov distance between the norms and the normal law with their mean
    and standard deviation. ``running_drift``: max over n ∈ [N/10, N] of |m_n / m_N − 1|, m_n the running
    mean of ‖ξ‖² over the first n draws (Figure 1(d, h): a finite variance settles, a heavy tail jumps).
    """
    from scipy import stats as sps

    x = np.asarray(norms, dtype=np.float64)
    if x.ndim != 1 or x.size < 8 or not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"norms must be >= 8 finite non-negative values, got shape {x.shape}")
    n = x.size
    sq = x**2
    top = int(np.ceil(TOP_SHARE * n))
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    running = np.cumsum(sq) / np.arange(1, n + 1)
    start = max(int(np.ceil(n / 10)) - 1, 0)
    sd = float(x.std(ddof=1))
    return {
        "median": float(med),
        "max_over_median": float(x.max() / med) if med > 0 else np.inf,
        "top1_share": float(np.sort(sq)[-top:].sum() / sq.sum()) if sq.sum() > 0 else np.nan,
        "mild_ratio": float(np.mean(x > q3 + 1.5 * iqr) / GAUSS_MILD),
        "extreme_ratio": float(np.mean(x > q3 + 3.0 * iqr) / GAUSS_EXTREME),
        "mild_count": int(np.count_nonzero(x > q3 + 1.5 * iqr)),
        "extreme_count": int(np.count_nonzero(x > q3 + 3.0 * iqr)),
        "ks_gauss": float(sps.kstest(x, sps.norm(x.mean(), sd).cdf).statistic) if sd > 0 else 1.0,
        "running_drift": float(np.max(np.abs(running[start:] / running[-1] - 1.0))),
        "mean_sq": float(running[-1]),
    }


def hill_ks(n: int, n_points: int = 16) -> np.ndarray:
    """The k grid of a Hill plot: ``n_points`` log-spaced integers in [5, n/2] (√n among them)."""
    grid = np.unique(np.round(np.geomspace(5, max(n // 2, 6), n_points)).astype(int))
    return np.unique(np.append(grid, int(np.floor(np.sqrt(n)))))


def hill_plot(norms, ks=None, confidence: float = 0.95, moment_ks=None):
    """Hill's α̂ with its interval at every k of ``ks`` (default :func:`hill_ks`) and the moment
    estimator at ``moment_ks`` (default: every second k of the grid and √N): a tidy table with columns
    estimator, k, alpha, ci_low, ci_high. A single power law gives a flat Hill plot; a mixture bends."""
    import pandas as pd

    from .. import stats

    x = np.asarray(norms, dtype=np.float64)
    ks = hill_ks(x.size) if ks is None else np.asarray(ks, dtype=int)
    if moment_ks is None:
        moment_ks = np.unique(np.append(ks[::2], int(np.floor(np.sqrt(x.size)))))
    rows = []
    for name, fn, grid in (("hill", stats.hill, ks), ("moment", stats.moment_estimator, moment_ks)):
        for k in grid:
            row = _estimate(fn, x, k=int(k), confidence=confidence)
            rows.append({"estimator": name, "k": int(k), **{c: row[c] for c in ("alpha", "ci_low", "ci_high")}})
    return pd.DataFrame(rows)


def coordinate_view(probe: NoiseProbe, n_draws: int = 16, confidence: float = 0.95) -> dict:
    """Şimşekli et al.'s view: Mohammadi's α over the kept coordinates of one draw ξ_b (its coordinates as
    scalar samples, exact zeros dropped), for the first ``n_draws`` draws: the median α̂ over draws, the
    fraction of draws whose interval lies below 2 (a draw with α̂ = +inf counts, as light), and the span of the
    draws' intervals (lowest low, highest high; NaN if a draw has no interval), which lies below (above) 2
    exactly when every draw's interval does. Coordinates of different layers have different scales, so this
    view sees a scale mixture, which looks heavy-tailed even for a well-concentrated vector."""
    from .. import stats

    alphas, lows, highs = [], [], []
    for b in range(min(n_draws, probe.coords.shape[0])):
        z = probe.coords[b]
        z = z[z != 0]
        if z.size < 16:
            continue
        row = _estimate(stats.mohammadi, z, confidence=confidence)
        # α̂ = +inf (1/α̂ ≤ 0) is evidence of a light tail, kept (it is above 2); only NaN (no estimate) is dropped
        if not np.isnan(row["alpha"]):
            alphas.append(row["alpha"])
            lows.append(row["ci_low"])
            highs.append(row["ci_high"])
    if not alphas:
        return {
            "coord_alpha": np.nan,
            "coord_below2": np.nan,
            "coord_ci_low": np.nan,
            "coord_ci_high": np.nan,
            "coord_draws": 0,
        }
    return {
        "coord_alpha": float(np.median(alphas)),
        "coord_below2": float(np.mean(np.asarray(highs) < 2.0)),
        # np.min / np.max propagate NaN: a draw without an interval leaves the span undefined
        "coord_ci_low": float(np.min(lows)),
        "coord_ci_high": float(np.max(highs)),
        "coord_draws": len(alphas),
    }


def largest_divisor_at_most_sqrt(n: int) -> int:
    """The block size of Şimşekli et al.'s experiments: the largest divisor K1 of N with K1 ≤ √N (N = K1·K2
    exactly, no sample left over)."""
    for k in range(int(np.floor(np.sqrt(n))), 0, -1):
        if n % k == 0:
            return k
    return 1


def pooled_view(probe: NoiseProbe, confidence: float = 0.95) -> dict:
    """Şimşekli et al.'s practice: Mohammadi's α over every kept coordinate of every draw pooled as one scalar
    sample (the noise is already centred: ξ_b = g_b − ∇f), block size the largest divisor of N ≤ √N (⌊√N⌋ with the
    remainder dropped when that divisor is below ⌊√N⌋/2, e.g. for a prime N). Pooling
    coordinates of different scales measures a scale mixture, which reads heavy even for Gaussian vectors
    (the seed's Appendix H contrasts its vector view with this practice); reported beside the vector view
    and :func:`coordinate_view`, never as the noise's tail index."""
    from .. import stats

    z = probe.coords.reshape(-1)
    z = z[z != 0]
    n = int(z.size)
    if n < 4:
        return {
            "pooled_alpha": np.nan,
            "pooled_ci_low": np.nan,
            "pooled_ci_high": np.nan,
            "pooled_k1": 1,
            "pooled_n": n,
        }
    k1 = largest_divisor_at_most_sqrt(n)
    root = int(np.floor(np.sqrt(n)))
    if k1 < root // 2:
        # N without a divisor near √N (a prime, 2·prime...): the rule would give tiny blocks and ~N of them,
        # a poor estimator whose bootstrap needs (replicates × N) memory; use √N blocks of √N and drop the
        # remainder (< 2√N + 1 samples) instead
        k1 = root
    row = _estimate(stats.mohammadi, z, k1=k1, confidence=confidence)
    return {
        "pooled_alpha": row["alpha"],
        "pooled_ci_low": row["ci_low"],
        "pooled_ci_high": row["ci_high"],
        "pooled_k1": k1,
        "pooled_n": n,
    }
