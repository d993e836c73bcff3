"""The engine against an independent numpy reference, exact couplings, reproducibility, bad input."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import reference

import synthclip
from synthclip import methods, noise, problems

# Every registered method (the built-ins, the package's later methods and any registered before collection)
# at its defaults and at its own ``variants``: the non-default parameters that exercise its branches.
CASES = [(name, i, params) for name, m in methods.METHODS.items() for i, params in enumerate(({}, *m.variants))]
BUILTIN_CASES = [c for c in CASES if c[0] in methods.BUILTIN_NAMES]


def test_every_builtin_has_variants():
    # the built-ins' branches (schedules, delay, the eta variant) are exercised, not just their defaults
    assert all(methods.get(name).variants for name in methods.BUILTIN_NAMES)


def check_against_reference(method, params, problem, law, structure, dim, radius):
    """The kernel's iterates and metrics against the method's numpy reference on the engine's own noise."""
    n, steps, alpha = 37, 60, 1.5  # n not a multiple of the kernel's block: a partial block is checked too
    res = synthclip.simulate(
        method,
        problem=problem,
        noise=law,
        alpha=alpha,
        structure=structure,
        dim=dim,
        steps=steps,
        n_traj=n,
        seed=11,
        checkpoints=range(1, steps + 1),
        keep_iterates=True,
        mu=0.5,
        L=2.0,
        x0=1.5,
        radius=radius,
        **params,
    )
    xi = reference.draws_noise(method, law, alpha, n_traj=n, steps=steps, dim=dim, structure=structure, seed=11)
    lam = problems.weights(0.5, 2.0, dim)
    ref = reference.run(
        method, params, problem=problem, mu=0.5, lam=lam, x0=np.full(dim, 1.5), radius=radius, alpha=alpha, xi=xi
    )
    assert res.n_failed == 0
    scale = np.max(np.abs(ref), axis=(1, 2), keepdims=True)
    # rtol 1e-12 relative to each trajectory's size: entries that pass near 0 have no relative meaning.
    assert np.all(np.abs(res.iterates - ref) <= 1e-12 * scale)
    # the metrics are functions of those iterates
    np.testing.assert_allclose(res.metric("f"), problems.value(problem, ref, lam), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(res.metric("dist"), np.linalg.norm(ref, axis=2), rtol=1e-10)


@pytest.mark.parametrize("method,variant,params", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
@pytest.mark.parametrize(
    "problem,law,structure,dim,radius",
    [
        ("quadratic", "pareto", "iid", 3, math.inf),
        ("nonconvex", "stable", "radial", 4, 2.0),
    ],
)
def test_kernel_matches_numpy_reference(method, variant, params, problem, law, structure, dim, radius):
    check_against_reference(method, params, problem, law, structure, dim, radius)


def test_weighted_average_is_theorem4_average():
    steps, dim = 50, 2
    res = synthclip.simulate(
        "gclip", dim=dim, steps=steps, n_traj=5, seed=3, checkpoints=range(1, steps + 1), keep_iterates=True, x0=2.0
    )
    xs = np.concatenate([np.full((5, 1, dim), 2.0), res.iterates[:, :-1]], axis=1)  # x_0..x_{K−1}
    j = np.arange(1, steps + 1)
    xbar = np.cumsum(j[None, :, None] * xs, axis=1) / np.cumsum(j)[None, :, None]
    np.testing.assert_allclose(res.metric("f_avg"), 0.5 * np.sum(xbar**2, axis=2), rtol=1e-12)
    xu = np.cumsum(xs, axis=1) / j[None, :, None]
    np.testing.assert_allclose(res.metric("f_unif"), 0.5 * np.sum(xu**2, axis=2), rtol=1e-12)
    gn = np.linalg.norm(xs, axis=2)
    gmin = np.minimum.accumulate(np.concatenate([gn, np.linalg.norm(res.iterates[:, -1:], axis=2)], 1), axis=1)
    np.testing.assert_allclose(res.metric("grad_norm_min"), gmin[:, 1:], rtol=1e-12)


def _same(a, b):
    for name in synthclip.SimulationResult.METRICS:
        np.testing.assert_array_equal(a.metric(name), b.metric(name))


@pytest.mark.parametrize("dim", [1, 5])
def test_gclip_with_infinite_clip_is_sgd_bit_for_bit(dim):
    kw = dict(dim=dim, steps=300, n_traj=70, seed="coupling", alpha=1.3)
    _same(synthclip.simulate("gclip", clip=math.inf, **kw), synthclip.simulate("sgd", **kw))


@pytest.mark.parametrize("base", ["adagrad_norm", "adam_norm"])
@pytest.mark.parametrize("delayed", [False, True])
def test_clipped_adaptive_with_infinite_level_is_unclipped(base, delayed):
    kw = dict(dim=3, steps=300, n_traj=70, seed=5, delayed=delayed)
    _same(synthclip.simulate("clip_" + base, clip=math.inf, **kw), synthclip.simulate(base, **kw))


@pytest.mark.parametrize("clip_power", ["alpha-1", "1/alpha", 0.0])
def test_cclip_in_one_dimension_is_gclip(clip_power):
    kw = dict(dim=1, steps=400, n_traj=70, seed=9, noise="stable", alpha=1.2, clip_power=clip_power)
    _same(synthclip.simulate("cclip", **kw), synthclip.simulate("gclip", **kw))


@pytest.mark.parametrize(
    "method, extra",
    [
        ("clip_adam_norm", dict(noise="pareto")),
        ("gclip", dict(noise="stable", problem="nonconvex")),
        ("cclip", dict(noise="gaussian", problem="quartic", lr=0.01, lr_schedule="constant")),
        ("acclip", dict(noise="pareto-onesided")),
        ("adagrad_norm", dict(noise="spike", spike_prob=0.05, problem="cosh")),
        ("gclip", dict(noise="pareto", structure="radial", radius=0.5)),
        ("sgd", dict(noise="stable", structure="radial")),
    ],
)
def test_chunking_does_not_change_bits(method, extra):
    # The kernel advances blocks of 64 trajectories in vectorised lock-step with a scalar remainder:
    # a trajectory's bits must not depend on its lane, whatever the law, structure, problem and method.
    kw = dict(dim=3, steps=200, n_traj=101, seed=2, alpha=1.4, **extra)
    whole = synthclip.simulate(method, **kw)
    for chunk in (1, 7, 64):
        _same(whole, synthclip.simulate(method, chunk_size=chunk, **kw))


def check_chunk_invariance(method, params=None):
    kw = dict(dim=3, steps=120, n_traj=101, seed=2, alpha=1.4, noise="stable", **(params or {}))
    whole = synthclip.simulate(method, **kw)
    for chunk in (1, 37):
        _same(whole, synthclip.simulate(method, chunk_size=chunk, **kw))


@pytest.mark.parametrize("method", list(methods.METHODS))
def test_every_method_is_chunk_invariant(method):
    check_chunk_invariance(method)


_THREAD_SCRIPT = """
import hashlib, sys, synthclip
for path in sys.argv[1:]:
    synthclip.methods.load_plugin(path)
for name in sorted(synthclip.methods.METHODS):
    r = synthclip.simulate(name, dim=4, steps=200, n_traj=257, seed=7, noise='stable', alpha=1.7)
    print(name, hashlib.sha256(r._metrics.tobytes() + r.failed.tobytes()).hexdigest())
"""


def thread_digests(*plugins) -> list[str]:
    """The results of every registered method (and the plugins'), in processes of 1 and of 2 numba threads."""
    outputs = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        out = subprocess.run(
            [sys.executable, "-c", _THREAD_SCRIPT, *map(str, plugins)],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        outputs.append(out.stdout)
    return outputs


def test_thread_count_does_not_change_bits():
    one, two = thread_digests()
    assert one == two
    assert set(methods.METHODS) <= {line.split()[0] for line in one.splitlines()}


def test_bad_parameters_of_every_method_are_one_line_errors():
    # Registry-driven: each declared bound of each method's parameters is enforced with a one-line error
    # that names the method and the parameter; a value just inside the bound passes (the negative control).
    checked = 0
    for name, spec in methods.METHODS.items():
        for p in spec.params:
            if p.kind == "choice":
                bad, good = "no-such-choice", p.choices[0]
            elif p.kind == "bool":
                bad, good = "maybe", True
            elif p.low > -math.inf:
                bad, good = p.low - 1.0, p.low + (0.5 if p.high > p.low + 1 else (p.high - p.low) / 2)
            elif p.high < math.inf:
                bad, good = p.high + 1.0, p.high - 0.5
            else:
                continue
            with pytest.raises(ValueError) as err:
                synthclip.simulate(name, steps=2, n_traj=1, **{p.name: bad})
            text = str(err.value)
            assert f"method {name!r} parameter {p.name!r}" in text and "\n" not in text, text
            assert spec.validate({p.name: good}, "method")[p.name] is not None
            checked += 1
    assert checked >= 3 * len(methods.METHODS)


def test_non_finite_trajectories_are_counted_not_dropped():
    # x ← x − η(x³ + ξ) diverges once a noise spike throws |x| past ~sqrt(2/η): some trajectories only.
    res = synthclip.simulate(
        "sgd",
        problem="quartic",
        lr_schedule="constant",
        lr=0.02,
        noise="pareto",
        alpha=1.1,
        steps=200,
        n_traj=500,
        seed=1,
    )
    f = res.metric("f")
    assert 0 < res.n_failed < 500
    assert f.shape == (500, len(res.checkpoints))
    assert np.all(np.isinf(f[res.failed, -1]))
    assert not np.any(np.isnan(f))


_PEAK_MEMORY_SCRIPT = """
import sys
import numpy as np
import synthclip

def status_mib(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key)) / 1024  # KiB

def peak_growth(work):
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS, so a peak reached
    # earlier (numba compiling) cannot hide what ``work`` allocates.
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    base = status_mib("VmRSS")
    kept = work()
    return status_mib("VmHWM") - base, kept

n_traj, short, long = (int(a) for a in sys.argv[1:4])
run = lambda steps: synthclip.simulate("gclip", steps=steps, n_traj=n_traj, checkpoints=5, threads=1)
run(short)  # compiles or loads the kernels
g_short, _ = peak_growth(lambda: run(short))
g_long, res = peak_growth(lambda: run(long))
assert res.metric("f").shape == (n_traj, 5) and np.all(np.isfinite(res.metric("f")))
# negative control: what one float64 per (trajectory, step) would cost, measured the same way
g_control, _ = peak_growth(lambda: np.ones((n_traj, long)))
print(g_short, g_long, g_control)
"""


def test_memory_does_not_grow_with_steps():
    # The peak resident memory (everything: numpy, numba's allocations) of a fresh process while it runs
    # K and 500·K steps. One float64 per trajectory and step would cost n_traj·K·8 bytes = 244 MiB at the
    # long run; the two peaks may differ by at most 16 MiB (allocator noise), and the control allocation
    # of exactly that array must show up in the same measure.
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak RSS")
    n_traj, short, long = 64, 1000, 500_000
    per_step_mib = n_traj * long * 8 / 2**20
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_MEMORY_SCRIPT, str(n_traj), str(short), str(long)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    g_short, g_long, control = map(float, out.stdout.split()[-3:])
    assert g_long - g_short < 16.0, f"peak memory {g_short:.1f} MiB at {short} steps, {g_long:.1f} MiB at {long}"
    assert control > 0.9 * per_step_mib, f"the control's {per_step_mib:.0f} MiB showed up as {control:.1f} MiB"


def test_to_frame_is_tidy():
    res = synthclip.simulate("gclip", steps=20, n_traj=4, checkpoints=[5, 20])
    frame = res.to_frame(["f", "dist"])
    assert len(frame) == 4 * 2 * 2
    assert set(frame.columns) >= {"method", "noise", "alpha", "dim", "metric", "trajectory", "k", "value", "failed"}


BAD = [
    (dict(method="adamw"), "unknown method 'adamw'"),
    (dict(noise="cauchy"), "unknown noise 'cauchy'"),
    (dict(problem="rosenbrock"), "unknown problem 'rosenbrock'"),
    (dict(momentum=0.9), "unknown parameter 'momentum'"),
    (dict(noise="stable", alpha=2.5), "'alpha' must be in (1, 2]"),
    (dict(noise="stable", alpha=1.0), "'alpha' must be in (1, 2]"),
    (dict(noise="pareto", alpha=0.9), "'alpha' must be in (1, inf)"),
    (dict(steps=0), "'steps' must be in [1,"),
    (dict(n_traj=-3), "'n_traj' must be in [1,"),
    (dict(dim=0), "'dim' must be in [1,"),
    (dict(scale=0.0), "'scale' must be in (0, inf)"),
    (dict(lr=-0.1), "'lr' must be in [0, inf)"),
    (dict(lr=float("nan")), "'lr' must be in [0, inf)"),
    (dict(method="adagrad_norm", eta="gamma"), "'eta' must be a number in (0, inf) or one of 'lr'"),
    (dict(clip=-1.0), "'clip' must be in (0, inf]"),
    (dict(clip=float("-inf")), "'clip' must be in (0, inf]"),
    (dict(lr_schedule="cosine"), "'lr_schedule' must be one of"),
    (dict(clip_power="alpha"), "'clip_power' must be a number"),
    (dict(structure="diagonal"), "structure must be one of"),
    (dict(x0=[1.0, 2.0]), "'x0' must be a finite number or a vector of length dim=1"),
    (dict(checkpoints=[0, 5]), "checkpoints must lie in [1, steps"),
    (dict(seed=-1), "seed must be a non-negative integer"),
]


@pytest.mark.parametrize("kwargs,message", BAD, ids=[b[1][:30] for b in BAD])
def test_bad_input_is_one_line_value_error(kwargs, message):
    kwargs = {"method": "gclip", "steps": 10, "n_traj": 2, **kwargs}
    with pytest.raises(ValueError) as err:
        synthclip.simulate(kwargs.pop("method"), **kwargs)
    text = str(err.value)
    assert message in text and "\n" not in text
    if "unknown" in message:
        assert "valid" in text  # the valid names are listed


def test_zero_step_size_is_valid_and_stays_put():
    # lr = 0 is valid (as in torch.optim): the iterate never moves, whatever the noise.
    res = synthclip.simulate(
        "sgd", lr_schedule="constant", lr=0.0, x0=1.5, steps=50, n_traj=4, seed=1, checkpoints=[50], keep_iterates=True
    )
    assert np.all(res.iterates == 1.5)


def test_eta_lr_is_the_notebook_variant_and_differs_from_eta_one():
    # eta = "lr" is b² += γ²‖g‖² with γ = lr: the same run as eta = γ given as a number, bit for bit,
    # and (negative control) not the default eta = 1.
    common = dict(lr=0.3, steps=200, n_traj=8, seed=5, checkpoints=[200], keep_iterates=True)
    by_name = synthclip.simulate("adam_norm", eta="lr", **common).iterates
    by_value = synthclip.simulate("adam_norm", eta=0.3, **common).iterates
    default = synthclip.simulate("adam_norm", **common).iterates
    np.testing.assert_array_equal(by_name, by_value)
    assert not np.allclose(by_name, default, rtol=1e-3)


@pytest.mark.parametrize(
    "noise_law,clip_power,recorded",
    [("gaussian", "alpha-1", True), ("pareto", "1/alpha", True), ("gaussian", 0.25, False)],
)
def test_the_alpha_of_the_clip_schedule_is_recorded(noise_law, clip_power, recorded):
    res = synthclip.simulate("gclip", noise=noise_law, alpha=1.5, clip_power=clip_power, steps=5, n_traj=2)
    if not recorded:  # a numeric power does not read alpha
        assert "schedule_alpha" not in res.params and "schedule_note" not in res.params
        return
    assert res.params["schedule_alpha"] == 1.5
    # the note is there exactly when the law itself ignores alpha
    assert ("schedule_note" in res.params) == (noise_law == "gaussian")
    if noise_law == "gaussian":
        assert "ignores alpha" in res.params["schedule_note"] and "= 0.5" in res.params["schedule_note"]


# -- clip_frac: the fraction of steps (GClip, Clip-AdaGrad/Adam-Norm) or of coordinate-steps (CClip, ACClip)
# at which the clip was active, counted by brute force in numpy from the run's own iterates ---------------


def _clip_frac_by_hand(method, params, res, lam, x0, alpha):
    """Rebuild g_k = ∇f(x_{k−1}) + ξ_k from the stored iterates and count the clips step by step."""
    n, steps, d = res.iterates.shape
    xi = noise.engine_noise(
        res.noise, alpha, n_traj=n, steps=steps, dim=d, structure=res.params["structure"], seed=res.seed
    )
    p = methods.get(method).validate(params, "method")
    xs = np.concatenate([np.tile(x0, (n, 1, 1)), res.iterates[:, :-1]], axis=1)  # x_0..x_{K−1}
    m = np.zeros((n, d))
    v = np.full((n, d), p.get("clip", 1.0) ** p.get("moment", 1.0))
    count = np.zeros(n)
    frac = np.empty((n, steps))
    for k in range(1, steps + 1):
        g = problems.gradient(res.problem, xs[:, k - 1], lam) + xi[:, k - 1]
        tau = methods.clip_level(p, k, alpha)
        if method in ("gclip", "clip_adagrad_norm", "clip_adam_norm"):
            count += np.linalg.norm(g, axis=1) > tau
        elif method == "cclip":
            count += np.sum(np.abs(g) > tau, axis=1)
        elif method == "acclip":
            a = p["moment"]
            m = p["beta1"] * m + (1 - p["beta1"]) * g
            v = p["beta2"] * v + (1 - p["beta2"]) * np.abs(g) ** a
            count += np.sum(v ** (1 / a) / (np.abs(m) + p["eps"]) < 1.0, axis=1)
        units = d if method in ("cclip", "acclip") else 1
        frac[:, k - 1] = count / (k * units)
    return frac


@pytest.mark.parametrize("method,variant,params", BUILTIN_CASES, ids=[f"{c[0]}-{c[1]}" for c in BUILTIN_CASES])
@pytest.mark.parametrize("structure", ["iid", "radial"])
def test_clip_frac_is_a_brute_force_count(method, variant, params, structure):
    # The count is of integers and the division is the same IEEE operation, so the fractions agree exactly
    # (a norm within an ulp of τ could flip a comparison: measure zero for continuous noise).
    n, steps, dim, alpha = 37, 60, 3, 1.5
    res = synthclip.simulate(
        method,
        noise="pareto",
        alpha=alpha,
        structure=structure,
        dim=dim,
        steps=steps,
        n_traj=n,
        seed=13,
        checkpoints=range(1, steps + 1),
        keep_iterates=True,
        x0=1.5,
        **params,
    )
    lam = problems.weights(1.0, 1.0, dim)
    expected = _clip_frac_by_hand(method, params, res, lam, np.full(dim, 1.5), alpha)
    np.testing.assert_array_equal(res.metric("clip_frac"), expected)
    clipped_method = method in ("gclip", "cclip", "acclip", "clip_adagrad_norm", "clip_adam_norm")
    if clipped_method:
        # negative control for a counter that never counts: every clipped variant here clips some steps
        assert 0.0 < res.metric("clip_frac")[:, -1].mean() <= 1.0
    else:
        assert np.all(res.metric("clip_frac") == 0.0)  # SGD and the unclipped adaptive methods never clip


def test_clip_frac_of_cclip_counts_coordinates_not_steps():
    # d = 4 i.i.d. coordinates at a constant level: CClip's fraction is the per-coordinate clip rate, GClip's
    # the (larger) rate at which the norm exceeds the same level; in d = 1 the two coincide exactly.
    kw = dict(
        noise="pareto", alpha=1.5, steps=200, n_traj=256, seed=2, clip_schedule="constant", clip=1.0, checkpoints=[200]
    )
    g4, c4 = (synthclip.simulate(m, dim=4, **kw).metric("clip_frac")[:, -1] for m in ("gclip", "cclip"))
    assert g4.mean() > c4.mean() > 0.0
    g1, c1 = (synthclip.simulate(m, dim=1, **kw).metric("clip_frac") for m in ("gclip", "cclip"))
    np.testing.assert_array_equal(g1, c1)


def check_clip_frac_against_reference(method, params, structure="iid"):
    """clip_frac = (clips counted by the method's reference up to k) / (k · units), exactly."""
    n, steps, dim, alpha = 37, 60, 3, 1.5
    res = synthclip.simulate(
        method,
        noise="pareto",
        alpha=alpha,
        structure=structure,
        dim=dim,
        steps=steps,
        n_traj=n,
        seed=13,
        checkpoints=range(1, steps + 1),
        x0=1.5,
        **params,
    )
    xi = reference.draws_noise(method, "pareto", alpha, n_traj=n, steps=steps, dim=dim, structure=structure, seed=13)
    _, clips = reference.run(
        method,
        params,
        problem="quadratic",
        mu=1.0,
        lam=problems.weights(1.0, 1.0, dim),
        x0=np.full(dim, 1.5),
        radius=math.inf,
        alpha=alpha,
        xi=xi,
        with_clips=True,
    )
    units = dim if methods.get(method).clip_units == "coordinate" else 1
    k = np.arange(1, steps + 1)
    np.testing.assert_array_equal(res.metric("clip_frac"), np.cumsum(clips, axis=1) / (k * units))
    return res


@pytest.mark.parametrize("method,variant,params", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_clip_frac_is_the_references_count(method, variant, params):
    check_clip_frac_against_reference(method, params)
