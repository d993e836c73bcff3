"""The gradient-noise probe: is the stochastic-gradient noise of a real network heavy-tailed?

At a point x of training the probe computes the full (or large-batch) gradient ∇f(x) once and then, for
many independent minibatches b, the noise ξ_b = g_b(x) − ∇f(x): the quantity of Assumption 1
(E‖ξ‖^α ≤ σ^α) and Assumption 2 (coordinate-wise). It records the norms ‖ξ_b‖ (overall and per layer;
Zhang et al.'s Figure 1 histograms these), a fixed subset of coordinates ξ_{b,i}, and tail-index
estimates with confidence intervals from ``synthclip.stats`` per layer:

* ``sample="norm"``: Hill on the per-batch norms ‖ξ_b‖ (light-tailed noise gives a large α that grows
  with the number of batches; heavy tails a small, stable one);
* ``sample="vector"``: Mohammadi et al.'s block-sum estimator on the noise vectors restricted to the
  kept coordinates (the estimator of Şimşekli et al. 2019), saturating at α = 2 for finite variance;
* ``sample="coord"``: Hill on the pooled coordinates, each divided by its own median |ξ_i| first
  (pooling coordinates of different scales would itself manufacture a heavy tail: a scale mixture).
  Sparse inputs (digit pixels that are rarely on, embedding rows of rare characters) make single
  coordinates heavy-tailed even when the noise vector is not; "norm" is the quantity of Figure 1.

A "layer" is a module that owns parameters (its weight and bias together), named as in the model.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .data import Data, derive_seed

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
        out.append(torch.cat([
            (p.grad if p.grad is not None else torch.zeros_like(p)).detach().reshape(-1) for p in params
        ]))
    return out


def _gradient(model, loss_fn, x, y, groups) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        loss_fn(model(x), y).backward()
    return _flat_grads(groups)


def full_gradient(model, loss_fn, data: Data, *, full_size: Optional[int] = None, chunk_size: int = 128,
                  groups=None) -> tuple[list[torch.Tensor], int]:
    """∇f over ``data.reference_indices(full_size)`` (all examples by default), per layer, flattened.

    Computed in chunks; the loss is a mean, so chunk gradients are weighted by chunk size.
    """
    if groups is None:
        groups = _layers(model)[1]
    idx = data.reference_indices(full_size)
    total = None
    for start in range(0, idx.numel(), chunk_size):
        chunk = idx[start:start + chunk_size]
        grads = _gradient(model, loss_fn, *data.take(chunk), groups)
        w = chunk.numel() / idx.numel()
        total = [g * w for g in grads] if total is None else [t + g * w for t, g in zip(total, grads)]
    model.zero_grad(set_to_none=True)
    return total, int(idx.numel())


def gradient_noise(model: torch.nn.Module, loss_fn: Callable, data: Data, *, n_batches: int = 200,
                   batch_size: int = 32, key: int = 0, step: int = 0, full_size: Optional[int] = None,
                   chunk_size: int = 128, coords_per_layer: int = 1024, confidence: float = 0.95) -> NoiseProbe:
    """Probe the minibatch-gradient noise of ``model`` at its current parameters.

    ``n_batches`` minibatches of ``batch_size`` examples (drawn i.i.d. from the counter-based stream of
    ``(key, "probe", step)``); ``full_size`` limits the "full" gradient to that many evenly spaced
    examples (None: all of them; a language model wants a large batch instead of 400k windows).
    ``coords_per_layer`` coordinates per layer (a fixed random subset) are kept as samples.
    """
    import time

    if n_batches < 8:
        raise ValueError(f"n_batches must be >= 8 for a tail estimate, got {n_batches}")
    t0 = time.perf_counter()
    names, groups = _layers(model)
    full, n_full = full_gradient(model, loss_fn, data, full_size=full_size, chunk_size=chunk_size,
                                 groups=groups)
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
    for b in range(n_batches):
        x, y = data.batch(batch_key, b, batch_size)
        noise = [g - f for g, f in zip(_gradient(model, loss_fn, x, y, groups), full)]
        layer_norms[b] = torch.stack([torch.linalg.vector_norm(z) for z in noise]).double().cpu().numpy()
        coords[b] = torch.cat([z[s] for z, s in zip(noise, subsets)]).double().cpu().numpy()
    model.zero_grad(set_to_none=True)

    probe = NoiseProbe(
        step=int(step), layers=names, norms=np.sqrt((layer_norms ** 2).sum(axis=1)), layer_norms=layer_norms,
        coords=coords, coord_layer=coord_layer,
        full_grad_norms=np.array([float(torch.linalg.vector_norm(f)) for f in full]),
        batch_size=int(batch_size), full_size=n_full,
    )
    probe.tails = tail_estimates(probe, confidence=confidence)
    probe.seconds = time.perf_counter() - t0
    return probe


def _estimate(fn, x, **kw) -> dict:
    try:
        est = fn(x, **kw)
    except ValueError as err:  # too few nonzero samples, exact zeros, ...: recorded, not raised
        return dict(alpha=np.nan, ci_low=np.nan, ci_high=np.nan, k=0, n=int(np.shape(x)[0]),
                    method=fn.__name__, note=str(err))
    return dict(alpha=est.alpha, ci_low=est.ci_low, ci_high=est.ci_high, k=est.k, n=est.n, method=est.method,
                note="")


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
                row = dict(alpha=np.nan, ci_low=np.nan, ci_high=np.nan, k=0, n=0, method=fn.__name__,
                           note="no coordinate with nonzero noise in most batches")
            else:
                row = _estimate(fn, x, confidence=confidence)
            rows.append(dict(step=probe.step, layer=name, sample=sample, **row))
    return pd.DataFrame(rows)


def probe_training(model: torch.nn.Module, loss_fn: Callable, data: Data, optimizer: torch.optim.Optimizer,
                   *, probe_at: Sequence[int], train_batch_size: int = 32, key: int = 0,
                   **probe_kwargs) -> list[NoiseProbe]:
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
