"""Noise laws (docs/theory.md, "Noise model"), sampled by the very kernels the engine uses.

All laws are centred and float64; each takes a tail index ``alpha`` and a ``scale`` s:

* ``gaussian``         N(0, s²); alpha is accepted and ignored (the light-tailed control).
* ``pareto``           symmetrised Lomax: |ξ| = s·(U^(−1/α) − 1) with a random sign; P(|ξ| > t) ~ t^(−α).
* ``stable``           symmetric α-stable (β = 0) by Chambers–Mallows–Stuck, in the scale convention of
                       ``scipy.stats.levy_stable`` (S1, which equals S0 when β = 0); α = 2 is N(0, 2s²).
* ``stable-wide``      the same law and draws as ``stable`` with α ∈ (0, 2]: for α ≤ 1 it has no mean (it is
                       symmetric about 0, its centre), the noise of Armacki et al. 2025's symmetric setting.
* ``pareto-onesided``  s·(U^(−1/α) − 1) − s/(α − 1): one heavy right tail, mean exactly 0 (clipping is biased).
* ``spike``            two-point law of the lower bound (Theorem 5, Appendix F): +s·p^(−1/α) with probability
                       p, −s·p^(−1/α)·p/(1−p) otherwise; mean 0 and E|ξ|^α = O(s^α) whatever p.
                       Theorem 5's randomised pair of instances built on it: :func:`spike_pair` and
                       :func:`pair_signs`.

Vector noise is ``iid`` per coordinate (Assumption 2) or ``radial``: a uniform direction times the
law's magnitude |ξ| (Assumption 1 with a d-free σ). Two structures spread the i.i.d. coordinates' scales at a
fixed trace Σ_i w_i² = d of the scale matrix diag(w) (coordinate i is w_i times its i.i.d. draw): ``graded``,
w_i² = d / (H_d (i + 1)) with H_d the d-th harmonic number, and ``axis``, w_0 = √d and every other coordinate 0
(one-dimensional noise). The effective rank (Σ w_i²)² / Σ w_i⁴ (:func:`effective_rank`) is d for ``iid``,
H_d² / Σ_{i≤d} i⁻² for ``graded`` (7.2 at d = 16) and 1 for ``axis``: the knob the log-confidence study turns
for Liu's d_eff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from . import _rng, _vmath
from ._params import Param, Spec, lookup

GAUSSIAN, PARETO, STABLE, PARETO_ONESIDED, SPIKE = range(5)
IID, RADIAL, GRADED, AXIS = range(4)
STRUCTURES = {"iid": IID, "radial": RADIAL, "graded": GRADED, "axis": AXIS}

_SCALE = Param("scale", 1.0, "scale s of the law", low=0.0, low_open=True)

NOISES: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec(
            "gaussian",
            (Param("alpha", 2.0, "ignored (light-tailed control)", low=0.0, low_open=True), _SCALE),
            "N(0, scale²)",
            code=GAUSSIAN,
        ),
        Spec(
            "pareto",
            (Param("alpha", 1.5, "tail index (> 1 so the noise is centred)", low=1.0, low_open=True), _SCALE),
            "symmetrised Lomax with tail index alpha",
            code=PARETO,
        ),
        Spec(
            "stable",
            (Param("alpha", 1.5, "stability index", low=1.0, high=2.0, low_open=True), _SCALE),
            "symmetric alpha-stable, scipy levy_stable scale",
            code=STABLE,
        ),
        Spec(
            "stable-wide",
            (
                Param(
                    "alpha",
                    0.8,
                    "stability index, α ≤ 1 allowed (no mean: symmetric about 0)",
                    low=0.0,
                    high=2.0,
                    low_open=True,
                ),
                _SCALE,
            ),
            "symmetric alpha-stable on (0, 2], the same draws as stable where both apply",
            code=STABLE,
        ),
        Spec(
            "pareto-onesided",
            (Param("alpha", 1.5, "tail index (> 1 so the noise is centred)", low=1.0, low_open=True), _SCALE),
            "centred one-sided Lomax (asymmetric)",
            code=PARETO_ONESIDED,
        ),
        Spec(
            "spike",
            (
                Param("alpha", 1.5, "tail index of the spike size", low=1.0, low_open=True),
                _SCALE,
                Param(
                    "spike_prob",
                    0.01,
                    "probability p of the spike (Theorem 5 ties it to ~1/k)",
                    low=0.0,
                    high=1.0,
                    low_open=True,
                    high_open=True,
                ),
            ),
            "two-point lower-bound law",
            code=SPIKE,
        ),
    )
}


def get(name: str) -> Spec:
    """The noise law called ``name`` (ValueError listing the valid ones otherwise)."""
    return lookup(NOISES, name, "noise")


def check_structure(structure: str) -> int:
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {', '.join(map(repr, STRUCTURES))}, got {structure!r}")
    return STRUCTURES[structure]


@njit(cache=True, error_model="numpy", inline="always")
def _lomax(inv_alpha, u):
    """U^(−1/α) − 1 for an open uniform U: the magnitude of the Pareto laws, in vectorisable arithmetic."""
    return _vmath.exp(-_vmath.log(u) * inv_alpha) - 1.0


@njit(cache=True, error_model="numpy", inline="always")
def _pareto(inv_alpha, scale, u1, word):
    mag = scale * _lomax(inv_alpha, u1)
    return mag if (word >> np.uint64(31)) & np.uint64(1) else -mag


@njit(cache=True, error_model="numpy", inline="always")
def _onesided_mean(alpha, scale):
    """E[s·(U^(−1/α) − 1)] = s/(α − 1): subtracted so that the one-sided law is centred."""
    return scale / (alpha - 1.0)


@njit(cache=True, error_model="numpy", inline="always")
def _spike(big, small, p, u1):
    return big if u1 < p else -small


@njit(cache=True, error_model="numpy", inline="always")
def _stable(alpha, scale, u1, u2):
    """Chambers–Mallows–Stuck with β = 0: sin(αV)/cos(V)^(1/α)·(cos((1−α)V)/W)^((1−α)/α), V uniform on
    (−π/2, π/2), W = −log U2 exponential; the powers are taken as one exp of a sum of logs, so the whole
    draw is _vmath arithmetic (relative error ~1e−14, from rounding the exponent)."""
    v = math.pi * _rng.centred(u1)  # never exactly 0: at V = 0 the log of |sin αV| below would be −inf
    w = -_vmath.log(u2)
    if alpha == 2.0:
        # CMS at alpha = 2 is 2 sin(v) sqrt(w): N(0, 2) with the S1 scale.
        return scale * 2.0 * _vmath.sin(v) * math.sqrt(w)
    s = _vmath.sin(alpha * v)
    power = (1.0 - alpha) / alpha
    mag = _vmath.exp(
        _vmath.log(abs(s))
        - _vmath.log(_vmath.cos(v)) / alpha
        + power * (_vmath.log(_vmath.cos((1.0 - alpha) * v)) - _vmath.log(w))
    )
    return scale * (mag if s > 0.0 else -mag)


@njit(cache=True, error_model="numpy", inline="always")
def _gaussian(scale, u1, u2):
    # Box-Muller on the two uniforms.
    return scale * math.sqrt(-2.0 * _vmath.log(u1)) * _vmath.cos(2.0 * math.pi * u2)


@njit(cache=True, error_model="numpy", inline="always")
def _spike_levels(alpha, scale, p):
    """The spike law's two values: +big with probability p, −small otherwise (mean 0)."""
    big = scale * p ** (-1.0 / alpha)
    return big, big * p / (1.0 - p)


@njit(cache=True, error_model="numpy")
def _magnitude(law, alpha, scale, p, u1, u2, word):
    """|one draw of the law| (the radius of radial noise), from two open uniforms and a random word."""
    if law == PARETO or law == PARETO_ONESIDED:
        # radial noise is symmetric: the centred one-sided law gives its magnitude shifted by its mean
        mag = scale * _lomax(1.0 / alpha, u1)
        return mag if law == PARETO else abs(mag - _onesided_mean(alpha, scale))
    if law == STABLE:
        return abs(_stable(alpha, scale, u1, u2))
    if law == SPIKE:
        big, small = _spike_levels(alpha, scale, p)
        return abs(_spike(big, small, p, u1))
    return abs(_gaussian(scale, u1, u2))


@njit(cache=True, error_model="numpy")
def _fill(out, law, structure, alpha, scale, p, k0, k1, traj0, step, col):
    """The noise ξ of trajectories traj0..traj0+nb−1 at one step into out (d, nb): the only place noise
    is drawn. ``col`` is an (nb,) scratch array.

    The layout is coordinate-major and each law has its own loop, the branch hoisted out: the inner
    loop runs over trajectories with unit stride and calls nothing but inlined arithmetic (Philox,
    _vmath), so the compiler vectorises the counter-based draws and the transform together. Every value
    is a function of (coordinate, step, trajectory) only, so it does not depend on nb or on the lane.
    """
    d, nb = out.shape
    if structure != RADIAL:
        if law == PARETO:
            inv_alpha = 1.0 / alpha
            for i in range(d):
                for t in range(nb):
                    u1, u2, word = _rng.uniform_pair(k0, k1, i, step, traj0 + t, _rng.TAG_COORD)
                    out[i, t] = _pareto(inv_alpha, scale, u1, word)
        elif law == PARETO_ONESIDED:
            inv_alpha, mean = 1.0 / alpha, _onesided_mean(alpha, scale)
            for i in range(d):
                for t in range(nb):
                    u1, u2, word = _rng.uniform_pair(k0, k1, i, step, traj0 + t, _rng.TAG_COORD)
                    out[i, t] = scale * _lomax(inv_alpha, u1) - mean
        elif law == SPIKE:
            big, small = _spike_levels(alpha, scale, p)
            for i in range(d):
                for t in range(nb):
                    u1, u2, word = _rng.uniform_pair(k0, k1, i, step, traj0 + t, _rng.TAG_COORD)
                    out[i, t] = _spike(big, small, p, u1)
        elif law == STABLE:
            for i in range(d):
                for t in range(nb):
                    u1, u2, word = _rng.uniform_pair(k0, k1, i, step, traj0 + t, _rng.TAG_COORD)
                    out[i, t] = _stable(alpha, scale, u1, u2)
        else:
            for i in range(d):
                for t in range(nb):
                    u1, u2, word = _rng.uniform_pair(k0, k1, i, step, traj0 + t, _rng.TAG_COORD)
                    out[i, t] = _gaussian(scale, u1, u2)
        if structure != IID:
            _weigh_coordinates(out, structure)
        return
    # Radial: uniform direction from d standard Gaussians, radius = |one draw of the law|.
    for t in range(nb):
        col[t] = 0.0
    for i in range(d):
        for t in range(nb):
            u1, u2, word = _rng.uniform_pair(k0, k1, i, step, traj0 + t, _rng.TAG_COORD)
            z = _gaussian(1.0, u1, u2)
            out[i, t] = z
            col[t] += z * z
    for t in range(nb):
        u1, u2, word = _rng.uniform_pair(k0, k1, 0, step, traj0 + t, _rng.TAG_NORM)
        col[t] = _magnitude(law, alpha, scale, p, u1, u2, word) / math.sqrt(col[t])
    for i in range(d):
        for t in range(nb):
            out[i, t] *= col[t]


@njit(cache=True, inline="always")
def _weigh_coordinates(out, structure):
    """Coordinate i of i.i.d. draws times w_i (``graded`` or ``axis``; Σ w_i² = d, see the module docstring)."""
    d, nb = out.shape
    if structure == AXIS:
        w0 = math.sqrt(d)
        for t in range(nb):
            out[0, t] *= w0
        for i in range(1, d):
            for t in range(nb):
                out[i, t] = 0.0  # set, not scaled: 0 · a huge draw must stay 0
        return
    harmonic = 0.0
    for j in range(1, d + 1):
        harmonic += 1.0 / j
    for i in range(d):
        w = math.sqrt(d / (harmonic * (i + 1)))
        for t in range(nb):
            out[i, t] *= w


def coordinate_weights(structure: str, dim: int) -> np.ndarray:
    """The coordinate scales w of a structure in dimension ``dim`` (ones for ``iid``; ``radial`` has none)."""
    code = check_structure(structure)
    if code == RADIAL:
        raise ValueError("structure 'radial' has no coordinate scales: its coordinates share one random radius")
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim!r}")
    if code == IID:
        return np.ones(dim)
    if code == AXIS:
        return np.concatenate([[math.sqrt(dim)], np.zeros(dim - 1)])
    i = np.arange(1, dim + 1)
    return np.sqrt(dim / (np.sum(1.0 / i) * i))


def effective_rank(structure: str, dim: int) -> float:
    """(Σ w_i²)² / Σ w_i⁴ of :func:`coordinate_weights`: d for ``iid``, 1 for ``axis``, in between for ``graded``
    (a proxy of how many directions carry the noise; it is not Liu's d_eff, whose definition the text available
    does not give)."""
    w2 = coordinate_weights(structure, dim) ** 2
    return float(np.sum(w2) ** 2 / np.sum(w2**2))


_SAMPLE_BLOCK = 32  # trajectories per _fill call in _noise_block; the draws do not depend on it


@njit(cache=True, parallel=True, error_model="numpy")
def _noise_block(law, structure, alpha, scale, p, k0, k1, traj0, n, step0, steps, d):
    """ξ for trajectories traj0..traj0+n−1 and steps step0..step0+steps−1, shape (n, steps, d)."""
    out = np.empty((n, steps, d))
    n_blocks = (n + _SAMPLE_BLOCK - 1) // _SAMPLE_BLOCK
    for b in prange(n_blocks):
        lo = b * _SAMPLE_BLOCK
        nb = min(_SAMPLE_BLOCK, n - lo)
        buf = np.empty((d, nb))
        col = np.empty(nb)
        for j in range(steps):
            _fill(buf, law, structure, alpha, scale, p, k0, k1, traj0 + lo, step0 + j, col)
            for t in range(nb):
                for i in range(d):
                    out[lo + t, j, i] = buf[i, t]
    return out


def resolve(law: str, alpha: float, scale: float = 1.0, structure: str = "iid", **params: Any):
    """Validated (spec, kernel arguments) for a law; raises a one-line ValueError on bad input."""
    spec = get(law)
    values = spec.validate({"alpha": alpha, "scale": scale, **params}, "noise")
    return spec, (
        spec.code,
        check_structure(structure),
        values["alpha"],
        values["scale"],
        values.get("spike_prob", 0.0),
    )


def sample(
    law: str, alpha: float, size, *, scale: float = 1.0, structure: str = "iid", seed=0, **params: Any
) -> np.ndarray:
    """Draw noise of shape ``size``; the last axis is the coordinate axis of a vector draw.

    An int ``size`` gives that many scalars (d = 1). Draws come from the engine's kernel at step 0
    (the engine uses steps 1..K), one trajectory index per vector, keyed by ``seed`` through hashlib.
    Extra ``params`` are the law's own (``spike_prob`` for ``spike``).
    """
    shape = (int(size),) if np.ndim(size) == 0 else tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise ValueError(f"size must be non-negative, got {size!r}")
    spec, args = resolve(law, alpha, scale, structure, **params)
    d = shape[-1] if len(shape) > 1 else 1
    n = int(np.prod(shape)) // d if d else 0
    k0, k1 = key(seed)
    block = _noise_block(*args, np.uint64(k0), np.uint64(k1), 0, n, 0, 1, d)
    return block.reshape(shape)


def engine_noise(
    law: str,
    alpha: float,
    *,
    n_traj: int,
    steps: int,
    dim: int,
    scale: float = 1.0,
    structure: str = "iid",
    seed=0,
    traj_start: int = 0,
    **params: Any,
) -> np.ndarray:
    """The exact noise ξ_k the engine adds at steps k = 1..steps, shape (n_traj, steps, dim).

    For references and tests (numpy re-implementations, the torch optimizers): memory grows with steps.
    """
    _, args = resolve(law, alpha, scale, structure, **params)
    k0, k1 = key(seed)
    return _noise_block(*args, np.uint64(k0), np.uint64(k1), traj_start, n_traj, 1, steps, dim)


def key(seed) -> tuple[int, int]:
    """The Philox key of the noise stream for ``seed``: shared by every method, so runs with the same
    seed see common random numbers and couplings (e.g. GClip with τ = ∞ vs SGD) are exact."""
    return _rng.derive_key(seed, "noise")


# -- Theorem 5's randomised pair (Appendix F) -------------------------------------------------------------------

#: The sign of each instance of the pair as stored in tables: ν = +1 ↦ "+", ν = −1 ↦ "-".
PAIR_LABELS = {1: "+", -1: "-"}


@dataclass(frozen=True)
class SpikeInstance:
    """One instance of Theorem 5's pair: f_ν(x) = (x − x_star)²/2 with gradient samples x + big (probability
    ``spike_prob``) or x − small, as the engine runs it in the frame y = x − x_star: the spike law with
    ``spike_prob`` and ``scale`` (centred, so f = y²/2 is f_ν − f_ν*), started at y0 = x0 − x_star."""

    sign: int
    spike_prob: float
    scale: float
    x_star: float
    big: float  # the sample x + big of a spike, the same in both instances
    small: float  # the sample x − small otherwise, the same in both instances

    @property
    def label(self) -> str:
        return PAIR_LABELS[self.sign]


def spike_pair(alpha: float, scale: float, spike_prob: float, tilt: float, sign: int) -> SpikeInstance:
    """Instance ν = ``sign`` (±1) of Theorem 5's randomised pair around the spike law (alpha, scale, p).

    Appendix F's construction: the two instances give gradient samples with the *same two values*, x + B and
    x − S (B = s·p^(−1/α), S = B·p/(1 − p): the spike law's), and differ only in the frequency of the spike,
    p_ν = p·(1 + ν·δ) with δ = ``tilt`` ∈ (0, 1); the optimum follows the mean gradient, x*_ν = S − p_ν·(B + S)
    = −ν·δ·S. An algorithm sees Bernoulli(p_ν) events only (the seed's bijective mapping), so telling ν needs
    ~1/(p δ²) samples; with p ~ 1/K it cannot, and it pays ~(δS)² ~ K^(−2(α−1)/α) on one of the two. A flip of
    the spike's direction alone would keep x* = 0 for both (the constant output 0 solves both), and a flip of
    the optimum alone would change the samples' values (one sample tells ν): neither is the construction.

    In the frame y = x − x*_ν the noise ξ = g − ∇f_ν(x) is the spike law with probability p_ν and scale
    s_ν = (1 − p_ν)(B + S)·p_ν^(1/α): values (1 − p_ν)(B + S) and −p_ν(B + S), mean 0.
    """
    if sign not in PAIR_LABELS:
        raise ValueError(f"sign must be +1 or -1, got {sign!r}")
    if not 0.0 < tilt < 1.0:
        raise ValueError(f"tilt must be in (0, 1), got {tilt!r}")
    if not 0.0 < spike_prob * (1.0 + tilt) < 1.0:
        raise ValueError(f"spike_prob·(1 + tilt) must be in (0, 1), got {spike_prob!r}·(1 + {tilt!r})")
    big = scale * spike_prob ** (-1.0 / alpha)
    small = big * spike_prob / (1.0 - spike_prob)
    p_nu = spike_prob * (1.0 + sign * tilt)
    span = big + small
    return SpikeInstance(
        sign=sign,
        spike_prob=p_nu,
        scale=(1.0 - p_nu) * span * p_nu ** (1.0 / alpha),
        x_star=-sign * tilt * small,
        big=big,
        small=small,
    )


@njit(cache=True, error_model="numpy")
def _coin_signs(k0, k1, traj0, n):
    out = np.empty(n, np.int8)
    for t in range(n):
        u1, u2, word = _rng.uniform_pair(k0, k1, 0, 0, traj0 + t, _rng.TAG_COORD)
        out[t] = 1 if u1 < 0.5 else -1
    return out


def pair_signs(seed, n_traj: int, *, traj_start: int = 0) -> np.ndarray:
    """The instance ν_i = ±1 of trajectories traj_start..traj_start + n_traj − 1 in Theorem 5's randomised pair:
    a fair coin per trajectory, the Philox draw of its own counter (trajectory i) under the key
    derive_key(seed, "pair-instance"), so independent of the noise (key "noise") and a function of (seed, i)
    alone: the same for every method and horizon run with that seed, whatever n_traj."""
    n = int(n_traj)
    if n < 0 or int(traj_start) < 0:
        raise ValueError(f"n_traj and traj_start must be non-negative, got {n_traj!r}, {traj_start!r}")
    k0, k1 = _rng.derive_key(seed, "pair-instance")
    return _coin_signs(np.uint64(k0), np.uint64(k1), int(traj_start), n)
