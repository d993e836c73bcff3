"""``simulate``: validate, allocate, call the jitted kernel, and wrap the result.

Memory grows with n_traj × (dim + checkpoints), never with steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import methods, problems
from . import noise as noise_laws
from ._engine import METRICS, kernel_module
from ._params import Param

_INT_LIMIT = 2**31 - 1


def log_checkpoints(steps: int, n: int = 30) -> np.ndarray:
    """About ``n`` log-spaced step counts from 1 to ``steps`` (always including both)."""
    pts = np.unique(np.round(np.geomspace(1, steps, max(int(n), 2))).astype(np.int64))
    return np.union1d(pts, [steps]).astype(np.int64)


def _positive_int(name: str, value: Any, high: int = _INT_LIMIT) -> int:
    return Param(name, None, "", kind="int", low=1, high=high).check(value)


@dataclass
class SimulationResult:
    """All trajectories of one run: metrics at checkpoints, failures, and the parameters that made them."""

    method: str
    problem: str
    noise: str
    alpha: float
    dim: int
    steps: int
    n_traj: int
    seed: Any
    checkpoints: np.ndarray
    params: dict
    failed: np.ndarray
    _metrics: np.ndarray = field(repr=False)
    iterates: np.ndarray | None = field(default=None, repr=False)
    seconds: float = 0.0

    METRICS = METRICS

    def metric(self, name: str) -> np.ndarray:
        """Array (n_traj, n_checkpoints) of metric ``name``: f, f_avg, f_unif, grad_norm, grad_norm_min, dist,
        clip_frac.

        f is f(x_k) − f*, f_avg is at Theorem 4's weighted average x̄_k = Σ j x_{j−1} / Σ j, f_unif at the
        uniform average of x_0..x_{k−1}, grad_norm is ‖∇f(x_k)‖, grad_norm_min is min_{j≤k} ‖∇f(x_j)‖ and
        dist is ‖x_k − x*‖. clip_frac is the fraction of steps 1..k at which the clip was active: ‖g_j‖ > τ_j
        for GClip and Clip-AdaGrad/Adam-Norm, the fraction of clipped coordinates (|g_ji| > τ_j for CClip,
        ACClip's |m_ji| + ε > τ_ji) averaged over the steps, 0 for SGD and the unclipped methods.
        Failed (non-finite) trajectories hold +inf from their failure on.
        """
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; valid: {', '.join(METRICS)}")
        return self._metrics[METRICS.index(name)]

    @property
    def n_failed(self) -> int:
        return int(self.failed.sum())

    def to_frame(self, metrics: Iterable[str] | None = None) -> pd.DataFrame:
        """Tidy table: one row per (trajectory, metric, checkpoint) with the run's labels."""
        names = list(metrics or METRICS)
        n_ckpt = len(self.checkpoints)
        frames = []
        for name in names:
            values = self.metric(name)
            frames.append(
                pd.DataFrame(
                    {
                        "method": self.method,
                        "problem": self.problem,
                        "noise": self.noise,
                        "alpha": self.alpha,
                        "dim": self.dim,
                        "metric": name,
                        "trajectory": np.repeat(np.arange(self.n_traj), n_ckpt),
                        "k": np.tile(self.checkpoints, self.n_traj),
                        "value": values.ravel(),
                        "failed": np.repeat(self.failed, n_ckpt),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)


def split_params(method: str, problem: str, noise_law: str, params: dict[str, Any]):
    """Route keyword parameters to the method, problem or noise law that owns them."""
    owners = {"method": methods.get(method), "problem": problems.get(problem), "noise": noise_laws.get(noise_law)}
    routed: dict[str, dict[str, Any]] = {k: {} for k in owners}
    for name, val in params.items():
        for kind, spec in owners.items():
            if any(p.name == name for p in spec.params) and name not in ("alpha", "scale"):
                routed[kind][name] = val
                break
        else:
            valid = sorted({p.name for s in owners.values() for p in s.params} - {"alpha", "scale"})
            raise ValueError(
                f"unknown parameter {name!r} for method {method!r} on problem {problem!r} with noise "
                f"{noise_law!r}; valid parameters: {', '.join(valid)}"
            )
    return routed


def simulate(
    method: str,
    *,
    problem: str = "quadratic",
    noise: str = "pareto",
    alpha: float = 1.5,
    scale: float = 1.0,
    structure: str = "iid",
    dim: int = 1,
    steps: int = 10_000,
    n_traj: int = 10_000,
    seed: Any = 0,
    checkpoints: Iterable[int] | int | None = None,
    chunk_size: int | None = None,
    threads: int | None = None,
    keep_iterates: bool = False,
    progress: Callable[[int], None] | None = None,
    device: str = "cpu",
    **params: Any,
) -> SimulationResult:
    """Run ``n_traj`` independent trajectories of ``method`` on ``problem`` with ``noise`` in parallel.

    Parameters
    ----------
    method : one of ``synthclip.methods.METHODS`` (sgd, gclip, cclip, acclip, adagrad_norm, adam_norm,
        clip_adagrad_norm, clip_adam_norm, and any method registered with ``synthclip.methods.register``);
        its parameters (lr, clip, ...) are passed as keywords.
    problem : one of ``synthclip.problems.PROBLEMS``; its parameters (mu, L, x0, radius) as keywords.
    noise, alpha, scale, structure : the noise law (``synthclip.noise``), its tail index and scale, and
        ``"iid"`` (per coordinate), ``"radial"``, or ``"graded"``/``"axis"`` (i.i.d. coordinates with spread
        scales at a fixed trace, ``synthclip.noise.coordinate_weights``) vector noise; ``spike_prob`` for the spike law (default
        1/steps there: one spike per run is likely, as in Theorem 5's construction). ``alpha`` also sets
        the clip schedule whenever ``clip_power`` is "alpha-1" or "1/alpha" (gclip and cclip by default),
        and it does so for the gaussian law too, which ignores alpha: gclip on gaussian noise at the
        default α = 1.5 clips at τ0·k^0.5, not at the exponent of the Gaussian's tail index 2. The α a
        schedule used is recorded in ``result.params["schedule_alpha"]`` (with a ``schedule_note`` when
        the law ignores it).
    dim, steps, n_traj : problem dimension, number of steps K, number of trajectories.
    seed : int or str; the noise stream depends on the seed only, so methods run with the same seed see
        the same noise (common random numbers).
    checkpoints : step counts at which metrics are recorded (default: about 30 log-spaced ones), or an int
        asking for that many log-spaced ones.
    chunk_size : trajectories per kernel call (results are identical for any chunking); threads: numba
        threads for this call (default: numba's setting).
    keep_iterates : also keep x at every checkpoint (memory n_traj × checkpoints × dim).
    progress : called with the number of trajectories finished after each chunk.
    device : "cpu" (numba, all cores) or "cuda" (one GPU thread per trajectory, dim ≤ 32; the same Philox
        stream, so the same noise; libdevice math may differ from the CPU's in the last bits).
    """
    spec = methods.get(method)
    problem_spec = problems.get(problem)
    law_spec = noise_laws.get(noise)
    dim = _positive_int("dim", dim, 10**7)
    steps = _positive_int("steps", steps, _INT_LIMIT - 1)
    n_traj = _positive_int("n_traj", n_traj, 2**40)
    routed = split_params(spec.name, problem_spec.name, law_spec.name, params)
    if law_spec.name == "spike" and "spike_prob" not in routed["noise"]:
        routed["noise"]["spike_prob"] = min(0.5, 1.0 / steps)
    method_values = spec.validate(routed["method"], "method")
    _, law_args = noise_laws.resolve(law_spec.name, alpha, scale, structure, **routed["noise"])
    _, problem_values, lam, x0 = problems.resolve(problem_spec.name, dim, **routed["problem"])
    alpha = float(law_args[2])
    mp = np.array(methods.kernel_vector(spec, method_values, alpha))
    ckpts = _checkpoints(checkpoints, steps)
    chunk = n_traj if chunk_size is None else _positive_int("chunk_size", chunk_size, 2**40)
    threads = None if threads is None else _positive_int("threads", threads, 4096)
    k0, k1 = noise_laws.key(seed)
    run_chunk = _backend(device, dim, spec)

    out = np.empty((len(METRICS), n_traj, len(ckpts)))
    failed = np.zeros(n_traj, dtype=np.bool_)
    iterates = np.empty((n_traj, len(ckpts), dim)) if keep_iterates else np.empty((0, 0, 0))
    start = time.perf_counter()
    previous = _set_threads(threads)
    try:
        for lo in range(0, n_traj, chunk):
            hi = min(n_traj, lo + chunk)
            run_chunk(
                (
                    problem_spec.code,
                    law_args[0],
                    law_args[1],
                    mp,
                    alpha,
                    law_args[3],
                    law_args[4],
                    lam,
                    x0,
                    problem_values["radius"],
                    problem_values["mu"],
                    np.uint64(k0),
                    np.uint64(k1),
                    lo,
                    steps,
                    ckpts,
                ),
                out[:, lo:hi],
                failed[lo:hi],
                iterates[lo:hi] if keep_iterates else iterates,
            )
            if progress is not None:
                progress(hi - lo)
    finally:
        _set_threads(previous)
    all_params = {
        **method_values,
        **problem_values,
        **routed["noise"],
        "scale": float(law_args[3]),
        "structure": structure,
    }
    if method_values.get("clip_schedule") == "poly" and method_values.get("clip_power") in methods.CLIP_POWER_ALIASES:
        all_params["schedule_alpha"] = alpha
        if law_spec.name == "gaussian":
            q = methods.resolve_clip_power(method_values["clip_power"], alpha)
            all_params["schedule_note"] = (
                f"the gaussian law ignores alpha; alpha = {alpha:g} sets only the clip "
                f"schedule: clip_power {method_values['clip_power']!r} = {q:g}"
            )
    return SimulationResult(
        method=spec.name,
        problem=problem_spec.name,
        noise=law_spec.name,
        alpha=alpha,
        dim=dim,
        steps=steps,
        n_traj=n_traj,
        seed=seed,
        checkpoints=ckpts,
        params=all_params,
        failed=failed,
        _metrics=out,
        iterates=iterates if keep_iterates else None,
        seconds=time.perf_counter() - start,
    )


def _backend(device: str, dim: int, spec):
    """The function that runs one chunk of trajectories of method ``spec`` on ``device`` (ValueError in one
    line if unusable). The method's kernel module is compiled (or loaded from the disk cache) here."""
    if device == "cpu":
        kernel = kernel_module(spec).simulate_kernel
        return lambda args, out, failed, iterates: kernel(*args, out, failed, iterates)
    if device != "cuda":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    from . import _cuda

    usable, why = _cuda.available()
    if not usable:
        raise ValueError(f"device='cuda' is not available: {why}")
    if dim > _cuda.MAX_DIM:
        raise ValueError(f"device='cuda' supports dim <= {_cuda.MAX_DIM}, got dim={dim}")
    return _cuda.runner(spec)


def _checkpoints(checkpoints, steps: int) -> np.ndarray:
    if checkpoints is None:
        return log_checkpoints(steps)
    if np.isscalar(checkpoints):
        return log_checkpoints(steps, _positive_int("checkpoints", checkpoints, 10**6))
    pts = np.asarray(list(checkpoints))
    if pts.size == 0 or pts.ndim != 1 or not np.all(np.isfinite(pts)) or np.any(pts != np.round(pts)):
        raise ValueError("checkpoints must be a non-empty list of step counts in [1, steps]")
    pts = np.unique(pts.astype(np.int64))
    if pts[0] < 1 or pts[-1] > steps:
        raise ValueError(f"checkpoints must lie in [1, steps={steps}], got {pts[0]}..{pts[-1]}")
    return pts


def _set_threads(threads: int | None) -> int | None:
    """Set numba's thread count for this call; returns the previous one to restore."""
    if threads is None:
        return None
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return previous
