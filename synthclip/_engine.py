"""The jitted simulation kernel (private: ``synthclip.simulate`` validates and calls it).

One kernel runs every (method, problem, noise law) of the registries: the branches are on integer
codes that are constant over a run, so they cost little next to the noise transform. Trajectories run
in parallel with ``prange``; each is computed by one thread from its own counter-based stream, so the
result does not depend on the thread count or on how trajectories are chunked.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import methods as M
from . import problems as P
from .noise import _fill

METRICS = ("f", "f_avg", "f_unif", "grad_norm", "grad_norm_min", "dist", "clip_frac")
_F, _F_AVG, _F_UNIF, _GRAD, _GRAD_MIN, _DIST, _CLIP_FRAC = range(len(METRICS))

# Indices into the method parameter vector (methods.KERNEL_FIELDS).
(_LR, _LR_POWER, _LR_MODE, _CLIP, _CLIP_POWER, _CLIP_MODE,
 _BETA1, _BETA2, _EPS, _B0, _ETA, _DELAYED, _MOMENT) = range(len(M.KERNEL_FIELDS))


@njit(cache=True, error_model="numpy", inline="always")
def _profile(problem, x):
    """(φ(x), φ'(x)) of the separable problem's 1-d profile."""
    if problem == P.QUADRATIC:
        return 0.5 * x * x, x
    if problem == P.NONCONVEX:
        s = 1.0 + x * x
        return x * x / s, 2.0 * x / (s * s)
    if problem == P.QUARTIC:
        x2 = x * x
        return 0.25 * x2 * x2, x2 * x
    return math.cosh(x) - 1.0, math.sinh(x)


@njit(cache=True, error_model="numpy")
def _objective(problem, lam, x):
    total = 0.0
    for i in range(x.shape[0]):
        total += lam[i] * _profile(problem, x[i])[0]
    return total


@njit(cache=True, error_model="numpy")
def _grad_norm(problem, lam, x):
    total = 0.0
    for i in range(x.shape[0]):
        gi = lam[i] * _profile(problem, x[i])[1]
        total += gi * gi
    return math.sqrt(total)


@njit(cache=True, error_model="numpy")
def _column_norm(v, t):
    """Euclidean norm of column t of a (d, nb) array without overflow for heavy-tailed entries; exactly
    |v[0, t]| when d = 1. The checkpoint metric ‖x_k‖ and the fallback of the vectorised _column_norms."""
    big = 0.0
    for i in range(v.shape[0]):
        a = abs(v[i, t])
        if not a <= big:  # also catches NaN
            big = a
    if big == 0.0 or not big < math.inf:
        return big
    total = 0.0
    for i in range(v.shape[0]):
        r = v[i, t] / big
        total += r * r
    return big * math.sqrt(total)


@njit(cache=True, error_model="numpy", inline="always")
def _clip_factor(norm, tau):
    """min(τ/‖g‖, 1): exactly 1.0 when τ = ∞, so clipped methods with τ = ∞ reproduce the unclipped ones."""
    return tau / norm if norm > tau else 1.0


@njit(cache=True, error_model="numpy")
def _step_size(mp, k, mu):
    mode = mp[_LR_MODE]
    if mode == 0.0:
        return mp[_LR]
    if mode == 1.0:
        return mp[_LR] / (k + 1.0) ** mp[_LR_POWER]
    return 4.0 / (mu * (k + 1.0))


@njit(cache=True, error_model="numpy")
def _clip_level(mp, k):
    if mp[_CLIP_MODE] == 0.0:
        return mp[_CLIP]
    return mp[_CLIP] * float(k) ** mp[_CLIP_POWER]


@njit(cache=True, error_model="numpy")
def _record(out, it, i, c, problem, lam, x, s_w, s_u, t, k, grad_min, clip_frac, tmp):
    """Write the metrics of checkpoint c (at x_k, column t of the block) for trajectory i."""
    d = x.shape[0]
    out[_CLIP_FRAC, i, c] = clip_frac
    for j in range(d):
        tmp[j] = x[j, t]
    out[_F, i, c] = _objective(problem, lam, tmp)
    gn = _grad_norm(problem, lam, tmp)
    out[_GRAD, i, c] = gn
    out[_GRAD_MIN, i, c] = min(grad_min, gn)
    out[_DIST, i, c] = _column_norm(x, t)
    if it.shape[0] > 0:
        for j in range(d):
            it[i, c, j] = x[j, t]
    w = 0.5 * k * (k + 1.0)
    for j in range(d):
        tmp[j] = s_w[j, t] / w
    out[_F_AVG, i, c] = _objective(problem, lam, tmp)
    for j in range(d):
        tmp[j] = s_u[j, t] / k
    out[_F_UNIF, i, c] = _objective(problem, lam, tmp)


@njit(cache=True, error_model="numpy", inline="always")
def _column_norms(v, norms):
    """Euclidean norms of the columns of v (d, nb) into norms (nb,); exactly |v[0, t]| when d = 1.

    The sum of squares runs over whole columns at once (vectorised); a column whose sum is not safely
    inside the normal range (overflow, underflow, NaN) is redone by the scaled, overflow-safe _column_norm.
    """
    d, nb = v.shape
    if d == 1:
        for t in range(nb):
            norms[t] = abs(v[0, t])
        return
    for t in range(nb):
        norms[t] = 0.0
    for i in range(d):
        for t in range(nb):
            norms[t] += v[i, t] * v[i, t]
    for t in range(nb):
        sq = norms[t]
        norms[t] = math.sqrt(sq) if 1e-290 < sq < 1e290 else _column_norm(v, t)


@njit(cache=True, error_model="numpy", inline="always")
def _add_gradient(problem, lam, x, g, s_w, s_u, k, grad_sq):
    """g += ∇f(x) column by column, grad_sq[t] = ‖∇f(x_t)‖², and the running sums of the averages."""
    d, nb = x.shape
    for t in range(nb):
        grad_sq[t] = 0.0
    for j in range(d):
        lj = lam[j]
        for t in range(nb):
            xj = x[j, t]
            gj = lj * _profile(problem, xj)[1]
            grad_sq[t] += gj * gj
            g[j, t] += gj
            s_w[j, t] += k * xj  # Σ j x_{j−1}: Theorem 4's weighted average
            s_u[j, t] += xj  # Σ x_{j−1}: the uniform average


@njit(cache=True, error_model="numpy", inline="always")
def _descend(x, step, direction):
    """x[:, t] −= step[t]·direction[:, t]."""
    d, nb = x.shape
    for j in range(d):
        for t in range(nb):
            x[j, t] -= step[t] * direction[j, t]


@njit(cache=True, error_model="numpy", inline="always")
def _step(method, mp, lr, tau, x, g, m, v, b2, fac, clipped):
    """Update every column of x (and the method's state m, v, b2) from the stochastic gradients g.

    One loop nest per method, each running over the block's trajectories in its inner loop. clipped[t] counts
    the clips of column t: +1 per step whose norm is clipped (GClip, Clip-AdaGrad/Adam-Norm), +1 per clipped
    coordinate (CClip, ACClip); SGD and the unclipped methods (τ = ∞) add nothing.
    """
    d, nb = x.shape
    if method == M.SGD:
        for j in range(d):
            for t in range(nb):
                x[j, t] -= lr * g[j, t]
    elif method == M.GCLIP:
        _column_norms(g, fac)
        for t in range(nb):
            clipped[t] += 1.0 if fac[t] > tau else 0.0
            fac[t] = lr * _clip_factor(fac[t], tau)
        _descend(x, fac, g)
    elif method == M.CCLIP:
        for j in range(d):
            for t in range(nb):
                mag = abs(g[j, t])
                clipped[t] += 1.0 if mag > tau else 0.0
                x[j, t] -= (lr * _clip_factor(mag, tau)) * g[j, t]
    elif method == M.ACCLIP:
        a = mp[_MOMENT]
        for j in range(d):
            for t in range(nb):
                m[j, t] = mp[_BETA1] * m[j, t] + (1.0 - mp[_BETA1]) * g[j, t]
                v[j, t] = mp[_BETA2] * v[j, t] + (1.0 - mp[_BETA2]) * abs(g[j, t]) ** a
                level = v[j, t] ** (1.0 / a)
                ratio = level / (abs(m[j, t]) + mp[_EPS])
                clipped[t] += 1.0 if ratio < 1.0 else 0.0
                x[j, t] -= (lr * min(ratio, 1.0)) * m[j, t]
    else:
        # AdaGrad-Norm / Adam-Norm and their clipped versions (τ = ∞ for the unclipped ones).
        if method == M.CLIP_ADAGRAD_NORM or method == M.CLIP_ADAM_NORM:
            _column_norms(g, fac)
            for t in range(nb):
                clipped[t] += 1.0 if fac[t] > tau else 0.0
                fac[t] = _clip_factor(fac[t], tau)
            for j in range(d):
                for t in range(nb):
                    g[j, t] *= fac[t]
        for t in range(nb):
            fac[t] = 0.0
        for j in range(d):
            for t in range(nb):
                fac[t] += g[j, t] * g[j, t]
        eta2 = mp[_ETA] * mp[_ETA]
        adagrad = method == M.ADAGRAD_NORM or method == M.CLIP_ADAGRAD_NORM
        for t in range(nb):
            b_old = math.sqrt(b2[t])
            if adagrad:
                b2[t] = b2[t] + eta2 * fac[t]
            else:
                b2[t] = mp[_BETA2] * b2[t] + (1.0 - mp[_BETA2]) * eta2 * fac[t]
            fac[t] = lr / (b_old if mp[_DELAYED] != 0.0 else math.sqrt(b2[t]))
        if adagrad:
            _descend(x, fac, g)
        else:
            for j in range(d):
                for t in range(nb):
                    m[j, t] = mp[_BETA1] * m[j, t] + (1.0 - mp[_BETA1]) * g[j, t]
            _descend(x, fac, m)


@njit(cache=True, error_model="numpy", inline="always")
def _project(x, radius, norms):
    """Project every column of x onto the ball of the given radius (proj-GClip, Theorem 4)."""
    _column_norms(x, norms)
    d, nb = x.shape
    for t in range(nb):
        norms[t] = radius / norms[t] if norms[t] > radius else 1.0
    for j in range(d):
        for t in range(nb):
            x[j, t] *= norms[t]


BLOCK = 64  # trajectories advanced in lock-step by one thread: the vector loops' length


@njit(cache=True, error_model="numpy")
def run_block(method, problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1,
              traj_start, steps, ckpts, out, failed, iterates, lo, x, g, m, v, s_w, s_u, tmp, b2, grad_min,
              acc, fac, clipped):
    """Advance trajectories lo .. lo + nb − 1 (nb = x.shape[1]) in lock-step through all steps.

    The one implementation of a run, shared by the CPU kernel (blocks of BLOCK trajectories, heap arrays)
    and the CUDA kernel (one trajectory per thread, local arrays). State and scratch arrays belong to the
    caller and are coordinate-major, one column per trajectory: x, g, m, v, s_w, s_u (d, nb); tmp (d,);
    b2, grad_min, acc, fac, clipped (nb,).
    """
    d, nb = x.shape
    n_ckpt = ckpts.shape[0]
    # clip_frac = clips / (k · units): a step of a norm-clipped method counts once, of CClip/ACClip d times
    units = float(d) if method == M.CCLIP or method == M.ACCLIP else 1.0
    for j in range(d):
        for t in range(nb):
            x[j, t] = x0[j]
            m[j, t] = 0.0
            v[j, t] = mp[_CLIP] ** mp[_MOMENT]  # ACClip's τ0^a; unused by the other methods
            s_w[j, t] = 0.0
            s_u[j, t] = 0.0
    for t in range(nb):
        b2[t] = mp[_B0] * mp[_B0]
        grad_min[t] = math.inf
        clipped[t] = 0.0
    c = 0
    for k in range(1, steps + 1):
        _fill(g, law, structure, alpha, scale, spike_p, k0, k1, traj_start + lo, k, acc)
        lr = _step_size(mp, k, mu)
        tau = _clip_level(mp, k)
        _add_gradient(problem, lam, x, g, s_w, s_u, k, acc)
        for t in range(nb):
            grad_min[t] = min(grad_min[t], math.sqrt(acc[t]))
        _step(method, mp, lr, tau, x, g, m, v, b2, fac, clipped)
        if radius < math.inf:
            _project(x, radius, fac)
        if c < n_ckpt and k == ckpts[c]:
            for t in range(nb):
                i = lo + t
                finite = True
                for j in range(d):
                    if not math.isfinite(x[j, t]):
                        finite = False
                if finite and not failed[i]:
                    _record(out, iterates, i, c, problem, lam, x, s_w, s_u, t, k, grad_min[t],
                            clipped[t] / (k * units), tmp)
                else:
                    failed[i] = True
                    for mm in range(out.shape[0]):
                        out[mm, i, c] = math.inf
                    if iterates.shape[0] > 0:
                        for j in range(d):
                            iterates[i, c, j] = math.nan
            c += 1


@njit(cache=True, parallel=True, error_model="numpy")
def simulate_kernel(method, problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu,
                    k0, k1, traj_start, steps, ckpts, out, failed, iterates):
    """Run trajectories traj_start .. traj_start + out.shape[1] − 1 for ``steps`` steps.

    out[m, i, c] receives metric m of trajectory i at step ckpts[c]; a trajectory whose iterate is not
    finite at a checkpoint is marked in ``failed`` and its metrics from there on are +inf. ``iterates``
    is either empty or (n_traj, n_ckpt, d) for the iterates themselves.
    """
    n_traj = out.shape[1]
    d = x0.shape[0]
    n_blocks = (n_traj + BLOCK - 1) // BLOCK
    for blk in prange(n_blocks):
        lo = blk * BLOCK
        nb = min(BLOCK, n_traj - lo)
        run_block(method, problem, law, structure, mp, alpha, scale, spike_p, lam, x0, radius, mu, k0, k1,
                  traj_start, steps, ckpts, out, failed, iterates, lo,
                  np.empty((d, nb)), np.empty((d, nb)), np.empty((d, nb)), np.empty((d, nb)), np.empty((d, nb)),
                  np.empty((d, nb)), np.empty(d), np.empty(nb), np.empty(nb), np.empty(nb), np.empty(nb),
                  np.empty(nb))
