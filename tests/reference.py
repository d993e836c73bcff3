"""A plain numpy, step-by-step re-implementation of every method (the formulas of synthclip/methods.py).

Written independently of the kernel, vectorised over trajectories, float64. Tests compare the engine
(and the torch optimizers) against it on the engine's own noise.
"""
from __future__ import annotations

import numpy as np

from synthclip import methods, problems


def _clip(g: np.ndarray, tau: float) -> np.ndarray:
    norm = np.linalg.norm(g, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        fac = np.where(norm > tau, tau / norm, 1.0)
    return fac * g


def run(method: str, params: dict, *, problem: str, mu: float, lam: np.ndarray, x0: np.ndarray,
        radius: float, alpha: float, xi: np.ndarray) -> np.ndarray:
    """Iterates x_1..x_K, shape (n_traj, K, d), given the noise xi of shape (n_traj, K, d)."""
    n, steps, d = xi.shape
    p = methods.get(method).validate(params, "method")
    x = np.tile(x0, (n, 1)).astype(float)
    m = np.zeros_like(x)
    v = np.full_like(x, p.get("clip", 1.0) ** p.get("moment", 1.0))
    b2 = np.full((n, 1), p.get("b0", 1.0) ** 2)
    out = np.empty((n, steps, d))
    for k in range(1, steps + 1):
        g = problems.gradient(problem, x, lam) + xi[:, k - 1]
        lr = methods.step_size(p, k, mu)
        tau = methods.clip_level(p, k, alpha)
        if method == "sgd":
            x = x - lr * g
        elif method == "gclip":
            x = x - lr * _clip(g, tau)
        elif method == "cclip":
            x = x - lr * np.where(np.abs(g) > tau, tau / np.abs(g), 1.0) * g
        elif method == "acclip":
            a = p["moment"]
            m = p["beta1"] * m + (1 - p["beta1"]) * g
            v = p["beta2"] * v + (1 - p["beta2"]) * np.abs(g) ** a
            level = v ** (1 / a)
            x = x - lr * np.minimum(level / (np.abs(m) + p["eps"]), 1.0) * m
        else:
            gc = _clip(g, tau) if method.startswith("clip_") else g
            sq = np.sum(gc * gc, axis=1, keepdims=True)
            b_prev = np.sqrt(b2)
            eta = p["lr"] if p["eta"] == "lr" else p["eta"]  # "lr": the seed notebook's b² += γ²‖g‖²
            if "adagrad" in method:
                b2 = b2 + eta ** 2 * sq
            else:
                b2 = p["beta2"] * b2 + (1 - p["beta2"]) * eta ** 2 * sq
            denom = b_prev if p["delayed"] else np.sqrt(b2)
            if "adam" in method:
                m = p["beta1"] * m + (1 - p["beta1"]) * gc
                x = x - lr / denom * m
            else:
                x = x - lr / denom * gc
        if np.isfinite(radius):
            r = np.linalg.norm(x, axis=1, keepdims=True)
            x = np.where(r > radius, x * (radius / r), x)
        out[:, k - 1] = x
    return out
