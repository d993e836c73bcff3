"""Samplers against scipy or the exact CDF, and the random stream's known answers.

Every KS test rejects at P_KS = 1e-4: a correct sampler fails it with probability 1e-4 on a fresh seed
(seeds are fixed, so a run is deterministic; the rate says how unlucky the fixed seed could be).
"""

import hashlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import synthclip
from synthclip import _rng, noise

P_KS = 1e-4
N = 20_000


def test_philox_known_answers():
    # Known-answer vectors of Random123's Philox-4x32-10 (kat_vectors).
    u = np.uint64
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ]
    for ctr, key, want in cases:
        got = _rng.philox4x32(*map(u, ctr), *map(u, key))
        assert tuple(int(g) for g in got) == want


def test_keys_come_from_hashlib_and_are_stable():
    assert _rng.derive_key(0, "noise") == _rng.derive_key(0, "noise")
    assert _rng.derive_key(0, "noise") != _rng.derive_key(1, "noise")
    assert _rng.derive_key("0", "noise") == _rng.derive_key(0, "noise")  # documented: seeds are text
    # pinned to the documented derivation: a change here silently changes every stored result
    digest = hashlib.sha256(b"synthclip/0/noise").digest()
    assert _rng.derive_key(0, "noise") == (int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little"))


def _ks(sample, cdf):
    return stats.kstest(sample, cdf).pvalue


@pytest.mark.parametrize("alpha", [1.1, 1.5, 2.0, 3.0])
def test_pareto_is_symmetrised_lomax(alpha):
    x = noise.sample("pareto", alpha, N, scale=2.0, seed="pareto")
    assert _ks(np.abs(x), stats.lomax(c=alpha, scale=2.0).cdf) > P_KS
    # sign: Binomial(N, 1/2)
    assert stats.binomtest(int(np.sum(x > 0)), N).pvalue > P_KS


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.9])
def test_stable_matches_scipy_levy_stable(alpha):
    x = noise.sample("stable", alpha, N, scale=0.7, seed="stable")
    y = stats.levy_stable.rvs(alpha, 0.0, scale=0.7, size=N, random_state=np.random.default_rng(1))
    assert stats.ks_2samp(x, y).pvalue > P_KS


def test_stable_at_two_is_gaussian_with_variance_two_s2():
    x = noise.sample("stable", 2.0, N, scale=1.5, seed=3)
    assert _ks(x, stats.norm(scale=math.sqrt(2) * 1.5).cdf) > P_KS


def test_gaussian():
    x = noise.sample("gaussian", 2.0, N, scale=3.0, seed=4)
    assert _ks(x, stats.norm(scale=3.0).cdf) > P_KS


def test_onesided_pareto_is_centred_lomax():
    alpha, s = 1.5, 1.0
    x = noise.sample("pareto-onesided", alpha, N, scale=s, seed=5)
    assert _ks(x + s / (alpha - 1), stats.lomax(c=alpha, scale=s).cdf) > P_KS


def test_spike_two_point_law_is_centred():
    p, alpha, s = 0.01, 1.5, 1.0
    x = noise.sample("spike", alpha, N, scale=s, seed=6, spike_prob=p)
    big = s * p ** (-1 / alpha)
    values = np.unique(x)
    np.testing.assert_allclose(values, [-big * p / (1 - p), big])
    assert stats.binomtest(int(np.sum(x > 0)), N, p).pvalue > P_KS
    # Centred: the mean of the law on the sampler's own two values is 0 up to rounding...
    low, high = values
    assert abs(p * high + (1 - p) * low) <= 1e-13 * high
    # ...which a mis-centred level would fail (the negative control: −big·p forgets the 1/(1 − p)).
    assert abs(p * high + (1 - p) * (-big * p)) > 1e-6 * high
    # and the sample mean is 0 within a z-bound at two-sided P = P_KS (σ from the same two values).
    sd = math.sqrt(p * high**2 + (1 - p) * low**2)
    assert abs(x.mean()) < stats.norm.isf(P_KS / 2) * sd / math.sqrt(N)


def test_radial_noise_has_heavy_norm_and_uniform_direction():
    alpha, d = 1.5, 3
    x = noise.sample("pareto", alpha, (N, d), structure="radial", seed=7)
    r = np.linalg.norm(x, axis=1)
    assert _ks(r, stats.lomax(c=alpha).cdf) > P_KS
    # On the sphere in R^3 each coordinate of the direction is Uniform(−1, 1) (Archimedes).
    assert _ks(x[:, 0] / r, stats.uniform(loc=-1, scale=2).cdf) > P_KS


def test_iid_coordinates_are_independent_draws():
    x = noise.sample("pareto", 1.5, (N, 2), seed=8)
    assert _ks(np.abs(x[:, 1]), stats.lomax(c=1.5).cdf) > P_KS
    assert abs(stats.spearmanr(x[:, 0], x[:, 1]).statistic) < 4.0 / math.sqrt(N)  # ≈ 4σ: P ≈ 6e-5


def test_engine_adds_exactly_engine_noise():
    # SGD from x0 = 0 with a constant step: x_1 = −η ξ_1, so the engine's first noise draw is visible.
    res = synthclip.simulate(
        "sgd",
        lr_schedule="constant",
        lr=1.0,
        x0=0.0,
        dim=2,
        steps=3,
        n_traj=50,
        seed=12,
        checkpoints=[1],
        keep_iterates=True,
    )
    xi = noise.engine_noise("pareto", 1.5, n_traj=50, steps=3, dim=2, seed=12)
    np.testing.assert_array_equal(res.iterates[:, 0], -xi[:, 0])


@pytest.mark.parametrize("structure", ["graded", "axis"])
@pytest.mark.parametrize("law", ["pareto", "stable", "pareto-onesided", "gaussian"])
def test_scaled_structures_are_the_iid_draws_times_their_weights(law, structure):
    # the same uniforms as iid, coordinate i times w_i, bit for bit: a wrong weight, a lost coordinate or
    # another stream would differ; the engine adds exactly these draws (it calls the same _fill)
    d = 5
    iid = noise.engine_noise(law, 1.5, n_traj=40, steps=2, dim=d, seed="weights")
    got = noise.engine_noise(law, 1.5, n_traj=40, steps=2, dim=d, structure=structure, seed="weights")
    np.testing.assert_array_equal(got, iid * noise.coordinate_weights(structure, d))
    res = synthclip.simulate(
        "sgd", noise=law, alpha=1.5, lr_schedule="constant", lr=1.0, x0=0.0, dim=d, steps=2, n_traj=40,
        seed="weights", structure=structure, checkpoints=[1], keep_iterates=True,
    )  # fmt: skip
    np.testing.assert_array_equal(res.iterates[:, 0], -got[:, 0])


def test_scaled_structures_keep_the_trace_and_order_the_effective_rank():
    for d in (1, 2, 16, 100):
        for structure in ("iid", "graded", "axis"):
            w = noise.coordinate_weights(structure, d)
            assert w.shape == (d,) and math.isclose(np.sum(w**2), d, rel_tol=1e-12)
        ranks = [noise.effective_rank(s, d) for s in ("iid", "graded", "axis")]
        harmonic, harmonic2 = sum(1 / i for i in range(1, d + 1)), sum(1 / i**2 for i in range(1, d + 1))
        assert ranks[0] == pytest.approx(d) and ranks[2] == 1.0
        assert ranks[1] == pytest.approx(harmonic**2 / harmonic2, rel=1e-12)
    assert noise.effective_rank("graded", 16) == pytest.approx(7.21, abs=0.01)  # the docstring's number
    # one-dimensional noise: the other coordinates are exactly 0 even where the law's draws are huge
    x = noise.sample("stable", 1.05, (2000, 3), structure="axis", seed=3)
    assert np.all(x[:, 1:] == 0.0) and np.max(np.abs(x[:, 0])) > 1e3
    with pytest.raises(ValueError, match="radial"):
        noise.coordinate_weights("radial", 3)
    with pytest.raises(ValueError, match="structure must be one of 'iid', 'radial', 'graded', 'axis'"):
        noise.sample("pareto", 1.5, (3, 2), structure="spread")


def test_sample_bad_input():
    with pytest.raises(ValueError, match="unknown noise 'levy'"):
        noise.sample("levy", 1.5, 10)
    with pytest.raises(ValueError, match=r"'alpha' must be in \(1, 2\]"):
        noise.sample("stable", 2.1, 10)
    with pytest.raises(ValueError, match="spike_prob"):
        noise.sample("spike", 1.5, 10, spike_prob=1.5)


@settings(max_examples=30, deadline=None)
@given(
    law=st.sampled_from(sorted(noise.NOISES)),
    alpha=st.floats(1.05, 2.0),
    scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**40),
)
def test_every_law_gives_finite_draws(law, alpha, scale, seed):
    # Open-interval uniforms: no draw is ever inf or NaN, whatever the parameters.
    x = noise.sample(law, alpha, (200, 3), scale=scale, seed=seed)
    assert np.all(np.isfinite(x))


# --------------------------------------------------------------- the open uniform at its extreme bits
def _uniform_of_bits(bits: int) -> float:
    """open_uniform of the two 32-bit words whose top 53 bits are ``bits`` (the low 11 are dropped)."""
    x = int(bits) << 11
    return _rng.open_uniform(np.uint64(x >> 32), np.uint64(x & 0xFFFFFFFF))


EXTREME_BITS = [0, 2**52 - 1, 2**52, 2**53 - 1]


def test_open_uniform_stays_inside_zero_one_at_the_extreme_bits():
    # Before the fix (b + 0.5)·2^−53 rounded to even: 2^53 − 1 gave exactly 1.0.
    got = [_uniform_of_bits(b) for b in EXTREME_BITS]
    assert got == [2.0**-54, 0.5 - 2.0**-54, 0.5, 1.0 - 2.0**-53]
    assert all(0.0 < u < 1.0 for u in got)


def test_open_uniform_below_one_half_is_bit_identical_to_the_old_formula():
    # The fix must not move any draw with b < 2^52 (stored results stay valid there): the old
    # (b + 0.5)·2^−53 is exact for those b, and so is the new (2b + 1)·2^−54.
    bits = np.random.default_rng(11).integers(0, 2**52, 5000)
    bits[:2] = [0, 2**52 - 1]
    new = np.array([_uniform_of_bits(b) for b in bits])
    old = (bits.astype(np.float64) + 0.5) * 2.0**-53
    assert np.array_equal(new, old)
    # Above 1/2 every double of [1/2, 1) is one b's value (b·2^−53), none twice, none rounded up to 1.
    top = np.random.default_rng(12).integers(2**52, 2**53, 5000)
    assert np.array_equal([_uniform_of_bits(b) for b in top], top.astype(np.float64) * 2.0**-53)


def _centred_exact(bits: int) -> float:
    return float(2 * int(bits) + 1 - 2**53) * 2.0**-54  # |2b + 1 − 2^53| < 2^53: exact


def test_centred_uniform_is_the_integer_formula_symmetric_and_never_zero():
    bits = [*EXTREME_BITS, *np.random.default_rng(13).integers(0, 2**53, 2000).tolist()]
    got = np.array([_rng.centred(_uniform_of_bits(b)) for b in bits])
    assert np.array_equal(got, [_centred_exact(b) for b in bits])
    assert np.all(got != 0.0)
    mirrored = np.array([_rng.centred(_uniform_of_bits(2**53 - 1 - b)) for b in bits])
    assert np.array_equal(got, -mirrored)


def _cms_reference(alpha: float, c: float, u2: float) -> float:
    """Chambers–Mallows–Stuck (β = 0) in 50-digit arithmetic at the kernel's angle, the double V = π·c
    (near ±π/2 cos V is ill-conditioned in V, so the reference must start from the same double)."""
    import mpmath

    with mpmath.workdps(50):
        a, v, w = mpmath.mpf(alpha), mpmath.mpf(math.pi * c), -mpmath.log(mpmath.mpf(u2))
        if alpha == 2.0:
            return float(2 * mpmath.sin(v) * mpmath.sqrt(w))
        return float(mpmath.sin(a * v) / mpmath.cos(v) ** (1 / a) * (mpmath.cos((1 - a) * v) / w) ** ((1 - a) / a))


@pytest.mark.parametrize("alpha", [1.2, 1.5, 2.0])
def test_stable_transform_is_finite_and_correct_at_the_extreme_uniforms(alpha):
    # At U1 = 1/2 the old angle V was exactly 0 and log|sin αV| = −inf (inf or 3.6e307 came out, where
    # the value is 0); at U2 = 1 W was 0. The relative error bound is the kernel's documented ~1e−14.
    for b1 in EXTREME_BITS:
        for b2 in EXTREME_BITS:
            u1, u2 = _uniform_of_bits(b1), _uniform_of_bits(b2)
            got = noise._stable(alpha, 1.0, u1, u2)
            want = _cms_reference(alpha, _centred_exact(b1), u2)
            assert math.isfinite(got) and got != 0.0
            assert got == pytest.approx(want, rel=1e-12), (b1, b2)


def test_radial_direction_is_finite_at_the_extreme_uniforms():
    # Radial noise in d = 1 divides z by |z|, z = √(−2 log U1)·cos(2πU2) (Box–Muller): at U1 = 1 it was
    # 0/0. Now z is never 0 and matches Box–Muller in 50 digits; the d = 1 draw is ±|ξ|.
    import mpmath

    for b1 in EXTREME_BITS:
        for b2 in EXTREME_BITS:
            u1, u2 = _uniform_of_bits(b1), _uniform_of_bits(b2)
            z = noise._gaussian(1.0, u1, u2)
            with mpmath.workdps(50):
                want = float(mpmath.sqrt(-2 * mpmath.log(mpmath.mpf(u1))) * mpmath.cos(mpmath.mpf(2.0 * math.pi * u2)))
            assert math.isfinite(z) and z != 0.0
            assert z == pytest.approx(want, rel=1e-12), (b1, b2)
            radius = noise._magnitude(noise.PARETO, 1.5, 1.0, 0.0, u1, u2, np.uint64(0))
            assert abs(radius / math.sqrt(z * z) * z) == pytest.approx(radius, rel=1e-15)


# --------------------------------------------------------------- the stream's own known answers
# sha256 (first 16 hex digits) of the raw little-endian float64 bytes of engine_noise(law, 1.5, n_traj=4,
# steps=3, dim=3, structure, seed="known-answer"), one digest per step k = 1, 2, 3 (the block of 4 trajectories
# × 3 coordinates drawn at that step). Computed once from the stream as documented in synthclip/_rng.py: any
# change of the counter layout (which words carry coordinate, step, trajectory and tag), of the key derivation
# or of a law's transform changes them, and with them every stored result. Spike at p = 0.3 so its 12 draws
# are not all the same value.
STREAM_DIGESTS = {
    ("gaussian", "iid"): ("4c6ca527e81e8f2b", "b20023e49dfb6e29", "f29b206e1ac58101"),
    ("gaussian", "radial"): ("bd82631c03f16f51", "ddc4c90688cecc5e", "d46e7931389308da"),
    ("pareto", "iid"): ("237f0dd8ba64e6af", "2d6448448afa8978", "39be3505a84129ee"),
    ("pareto", "radial"): ("b70872bde49c42be", "67bd68ed3f8f1da4", "b7c933446b4a8168"),
    ("pareto-onesided", "iid"): ("63cbe7e100c6feda", "009e8332272253f2", "62a873d176f2736a"),
    ("pareto-onesided", "radial"): ("b33b5df0aa073ce3", "36050adb218cf8e2", "8f46f8734c094c3e"),
    ("spike", "iid"): ("ac63cbe796accf61", "33525c199a8edcf6", "14fa7682a9484976"),
    ("spike", "radial"): ("bd2c05fdf675383f", "2911711acba454b5", "7c589eda1040f64c"),
    ("stable", "iid"): ("6968f98a3a8d342d", "a69e1a329b0b5357", "a48d0d465e09df95"),
    ("stable", "radial"): ("4b0c6b3ebbcecc3a", "cfd7ce1a7b5c6871", "bcc1abeafbf61123"),
}


def _law_params(law):
    return {"spike_prob": 0.3} if law == "spike" else {}


@pytest.mark.parametrize("law,structure", sorted(STREAM_DIGESTS))
def test_stream_known_answer_digests(law, structure):
    x = noise.engine_noise(
        law, 1.5, n_traj=4, steps=3, dim=3, structure=structure, seed="known-answer", **_law_params(law)
    )
    got = tuple(
        hashlib.sha256(np.ascontiguousarray(x[:, j, :], dtype="<f8").tobytes()).hexdigest()[:16] for j in range(3)
    )
    assert got == STREAM_DIGESTS[law, structure]
    assert len(set(got)) == 3  # the three steps are different draws


# --------------------------------------------------------------- independence across the counter's words
# Under independence the rank correlation of n pairs of fixed values has variance exactly 1/(n − 1) (the
# permutation law) and is asymptotically normal, so |ρ| > z/√(n − 1) with z = Φ⁻¹(1 − P/2) has probability
# ≈ P. P_INDEP = 1e-6 is the false-failure rate of one whole test: it is split equally (Bonferroni) over its
# checks. A lagged copy (trajectory i+1 at step k equal to trajectory i at step k+1) or a radius drawn from a
# coordinate's own uniforms gives |ρ| of order 0.5–1, far above the bound (≈ 0.05 at n = 10 000).
P_INDEP = 1e-6
N_PAIRS = 10_000


def _rho_bound(n, checks):
    return stats.norm.isf(P_INDEP / checks / 2) / math.sqrt(n - 1)


@pytest.mark.parametrize(
    "law,structure", [("pareto", "iid"), ("stable", "iid"), ("pareto", "radial"), ("gaussian", "radial")]
)
def test_neighbouring_trajectories_and_steps_are_independent(law, structure):
    # trajectories 2m and 2m+1 (independent pairs), steps 1 and 2, coordinate 0
    x = noise.engine_noise(law, 1.5, n_traj=2 * N_PAIRS, steps=2, dim=2, structure=structure, seed="indep")
    even, odd = x[0::2, :, 0], x[1::2, :, 0]
    pairs = {
        "trajectory i vs i+1, same step": (even[:, 0], odd[:, 0]),
        "trajectory i step 2 vs i+1 step 1": (even[:, 1], odd[:, 0]),
        "trajectory i step 1 vs i+1 step 2": (even[:, 0], odd[:, 1]),
        "one trajectory, step 1 vs step 2": (even[:, 0], even[:, 1]),
        "one trajectory and step, coordinate 0 vs 1": (x[0::2, 0, 0], x[0::2, 0, 1]),
    }
    bound = _rho_bound(N_PAIRS, len(pairs))
    for what, (a, b) in pairs.items():
        assert abs(stats.spearmanr(a, b).statistic) < bound, what
    # magnitudes too (a radial law couples coordinates only through their sign-free size)
    bound_abs = _rho_bound(N_PAIRS, 1)
    assert abs(stats.spearmanr(np.abs(even[:, 0]), np.abs(odd[:, 1])).statistic) < bound_abs


@pytest.mark.parametrize("law", sorted(noise.NOISES))
def test_radial_radius_is_independent_of_its_direction(law):
    # the radius has its own stream tag (TAG_NORM); drawn from coordinate 0's uniforms it correlates with
    # |direction_0| (measured ρ ≈ 0.51 against 0.009, Pareto 1.5, d = 3)
    d = 3
    x = noise.sample(law, 1.5, (N_PAIRS, d), structure="radial", seed="radius", **_law_params(law))
    r = np.linalg.norm(x, axis=1)
    bound = _rho_bound(N_PAIRS, d)
    for i in range(d):
        assert abs(stats.spearmanr(r, np.abs(x[:, i]) / r).statistic) < bound, i


def test_the_stream_tags_are_distinct():
    assert (_rng.TAG_COORD, _rng.TAG_NORM) == (0, 1)
