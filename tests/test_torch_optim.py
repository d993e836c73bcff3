"""The torch optimizers: exactness against a float64 reference written from ``synthclip/methods.py``,
the corner cases docs/theory.md says must hold bit for bit, and the torch.optim conventions.

The exactness test is registry-driven (it iterates over ``OPTIMIZERS`` and every schedule/option of each
method) and feeds the torch optimizer a noise array of shape (steps, dim) taken from each entry of
``REFERENCES``: injected Student-t noise for the numpy reference, synthclip's own Philox stream
(``noise.engine_noise``) for the numba engine. Both must agree with torch to rtol 1e-10 in float64.
"""

from __future__ import annotations

import copy
import inspect
import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("one_torch_thread")

from synthclip import methods  # noqa: E402
from synthclip.torch import optim  # noqa: E402
from synthclip.torch.optim import OPTIMIZERS, SeedAdam, from_method  # noqa: E402

ALL_CLASSES = list(OPTIMIZERS.values()) + [SeedAdam]


# ------------------------------------------------------------------------------ float64 reference
def numpy_trajectory(name, params, lam, x0, noise, mu, alpha):
    """x_0..x_K of method ``name`` on f(x) = ½ Σ λ_i x_i² with g_k = λ⊙x_{k−1} + noise[k−1].

    Written from the formulas in the docstring of synthclip/methods.py, step by step in float64, without
    the package's own schedule helpers, so that a wrong schedule in either place shows up.
    """
    p = methods.get(name).validate(params, "method")

    def eta(k):
        if p["lr_schedule"] == "constant":
            return p["lr"]
        if p["lr_schedule"] == "poly":
            return p["lr"] / (k + 1) ** p["lr_power"]
        return 4.0 / (mu * (k + 1))

    def tau(k):
        if "clip_schedule" not in p:
            return math.inf
        if p["clip_schedule"] == "constant":
            return p["clip"]
        q = {"alpha-1": alpha - 1.0, "1/alpha": 1.0 / alpha}.get(p["clip_power"], p["clip_power"])
        return p["clip"] * k ** float(q)

    def gclip(g, t):
        n = math.sqrt(float(np.sum(g * g)))
        return g if n <= t else (t / n) * g

    x = np.array(x0, dtype=np.float64)
    m = np.zeros_like(x)
    # ACClip's τ_0^a = clip^a; RMSProp's v_0 = 0
    v = np.full_like(x, p["clip"] ** p["moment"]) if name == "acclip" else np.zeros_like(x)
    b_sq = p.get("b0", 1.0) ** 2
    out = [x.copy()]
    for k in range(1, len(noise) + 1):
        g = lam * x + noise[k - 1]
        if name == "sgd":
            x = x - eta(k) * g
        elif name == "gclip":
            x = x - eta(k) * gclip(g, tau(k))
        elif name == "cclip":
            x = x - eta(k) * np.where(np.abs(g) <= tau(k), g, tau(k) * np.sign(g))
        elif name == "acclip":
            m = p["beta1"] * m + (1 - p["beta1"]) * g
            v = p["beta2"] * v + (1 - p["beta2"]) * np.abs(g) ** p["moment"]
            t = v ** (1.0 / p["moment"])
            x = x - eta(k) * np.minimum(t / (np.abs(m) + p["eps"]), 1.0) * m
        elif name in ("nsgd_m", "clip_nsgd_m", "signsgd_m"):
            if name == "clip_nsgd_m":
                g = gclip(g, tau(k))
            m = p["beta"] * m + (1 - p["beta"]) * g
            if name == "signsgd_m":
                x = x - eta(k) * np.sign(m)
            else:
                n = math.sqrt(float(np.sum(m * m)))
                x = x - (eta(k) / n if n > 0 else 0.0) * m
        elif name == "rmsprop":
            v = p["beta2"] * v + (1 - p["beta2"]) * g * g
            x = x - eta(k) * g / (p["eps"] + np.sqrt(v))
        else:
            if name.startswith("clip_"):
                g = gclip(g, tau(k))
            b_prev = math.sqrt(b_sq)
            e = p["lr"] if p["eta"] == "lr" else p["eta"]  # "lr": the notebook's b² += γ²‖g‖²
            if name.endswith("adagrad_norm"):
                b_sq = b_sq + e**2 * float(np.sum(g * g))
                direction = g
            else:
                m = p["beta1"] * m + (1 - p["beta1"]) * g
                b_sq = p["beta2"] * b_sq + (1 - p["beta2"]) * e**2 * float(np.sum(g * g))
                direction = m
            b = b_prev if p["delayed"] else math.sqrt(b_sq)
            x = x - eta(k) * direction / b
        out.append(x.copy())
    return np.array(out)


def torch_trajectory(name, params, lam, x0, noise, mu, alpha):
    """The same trajectory through ``from_method`` (float64), the gradient injected into ``.grad``."""
    x = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = from_method(name, [x], mu=mu, alpha=alpha, **params)
    lam_t, noise_t = torch.as_tensor(lam), torch.as_tensor(noise)
    out = [x.detach().clone()]
    for k in range(len(noise)):
        x.grad = lam_t * x.detach() + noise_t[k]
        opt.step()
        out.append(x.detach().clone())
    return torch.stack(out).numpy()


def injected_noise(steps: int, dim: int, seed: int = 0) -> np.ndarray:
    """Fixed heavy-tailed noise of shape (steps, dim): Student t with 1.5 degrees of freedom."""
    return 0.5 * np.random.default_rng(seed).standard_t(1.5, size=(steps, dim))


MU, L, ALPHA = 0.5, 1.0, 1.5


def numpy_case(name, params, steps, dim, seed):
    """(λ, x0, noise, x_0..x_K): the numpy reference on injected Student-t noise."""
    lam, x0 = np.linspace(MU, L, dim), np.linspace(-3.0, 2.0, dim)
    noise = injected_noise(steps, dim, seed)
    return lam, x0, noise, numpy_trajectory(name, params, lam, x0, noise, MU, ALPHA)


def engine_case(name, params, steps, dim, seed):
    """(λ, x0, noise, x_0..x_K): the numba engine on its own noise stream (Pareto, i.i.d. coordinates)."""
    import synthclip
    from synthclip import noise as noise_laws
    from synthclip import problems

    x0 = np.linspace(-3.0, 2.0, dim)
    res = synthclip.simulate(
        name,
        problem="quadratic",
        noise="pareto",
        alpha=ALPHA,
        dim=dim,
        steps=steps,
        n_traj=1,
        seed=seed,
        checkpoints=range(1, steps + 1),
        keep_iterates=True,
        mu=MU,
        L=L,
        x0=x0.tolist(),
        **params,
    )
    assert res.n_failed == 0
    xi = noise_laws.engine_noise("pareto", ALPHA, n_traj=1, steps=steps, dim=dim, seed=seed)[0]
    return problems.weights(MU, L, dim), x0, xi, np.vstack([x0, res.iterates[0]])


# Each reference returns (λ, x0, noise of shape (steps, dim), trajectory); the torch optimizer is run on
# the same λ, x0 and noise and must reproduce the trajectory.
REFERENCES = {"numpy": numpy_case, "engine": engine_case}


def variants(name):
    """Parameter settings that visit every schedule and option the method has (defaults first)."""
    names = {p.name for p in methods.get(name).params}
    out = [{}, {"lr_schedule": "poly", "lr": 0.5, "lr_power": 0.6}, {"lr_schedule": "constant", "lr": 0.05}]
    if "clip_schedule" in names:
        out += [
            {"clip_schedule": "poly", "clip_power": "1/alpha", "clip": 0.3},
            {"clip_schedule": "poly", "clip_power": 0.25, "clip": 0.2, "lr_schedule": "constant", "lr": 0.1},
            {"clip": math.inf},
            {"clip": 0.05, "clip_schedule": "constant"},
        ]
    if "delayed" in names:
        out += [
            {"delayed": True},
            {"eta": 0.5, "b0": 0.3},
            {"delayed": True, "eta": 2.0, "lr": 0.3},
            {"eta": "lr", "lr": 0.3},
        ]
    if "beta1" in names:
        out += [{"beta1": 0.5, "beta2": 0.8}]
    if "moment" in names:
        out += [{"moment": 2.0, "lr": 0.01}, {"moment": 1.5, "clip": 0.1, "eps": 1e-3, "lr": 0.05}]
    if "beta" in names:
        out += [{"beta": 0.5}, {"beta": 0.0, "lr": 0.02}]
    if name == "rmsprop":
        out += [{"beta2": 0.9, "eps": 1e-3}, {"beta2": 0.0, "eps": 0.5, "lr": 0.1}]
    return out


MULTI_DRAW = {n for n in OPTIMIZERS if methods.get(n).draws > 1}  # their own exactness test below
CASES = [(name, i, v) for name in OPTIMIZERS if name not in MULTI_DRAW for i, v in enumerate(variants(name))]


@pytest.mark.parametrize("reference", list(REFERENCES))
@pytest.mark.parametrize("name,i,params", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_trajectory_matches_reference(reference, name, i, params):
    lam, x0, noise, want = REFERENCES[reference](name, params, steps=200, dim=5, seed=i)
    assert noise.shape == (200, 5)
    got = torch_trajectory(name, params, lam, x0, noise, mu=MU, alpha=ALPHA)
    assert np.all(np.isfinite(want))
    assert not np.allclose(want[-1], want[0])  # the run moved, so the comparison can fail
    # absolute floor relative to the trajectory's scale: a coordinate crossing 0 has no relative error
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


# ------------------------------------------------------------- multi-draw methods (smom_clip)
def numpy_smom_trajectory(params, lam, x0, draws, mu, alpha):
    """x_0..x_K of smom_clip from draws of shape (steps, 3, dim): GClip's step on the coordinate-wise median
    of the three gradients λ⊙x_{k−1} + draws[k−1, r] (synthclip/methods_extra.py)."""
    p = methods.get("smom_clip").validate(params, "method")
    x = np.array(x0, dtype=np.float64)
    out = [x.copy()]
    for k in range(1, len(draws) + 1):
        g = np.sort(lam * x + draws[k - 1], axis=0)[1]  # the middle of three
        eta = {"constant": p["lr"], "poly": p["lr"] / (k + 1) ** p["lr_power"]}.get(
            p["lr_schedule"], 4.0 / (mu * (k + 1))
        )
        q = {"alpha-1": alpha - 1.0, "1/alpha": 1.0 / alpha}.get(p["clip_power"], p["clip_power"])
        tau = p["clip"] if p["clip_schedule"] == "constant" else p["clip"] * k ** float(q)
        n = math.sqrt(float(np.sum(g * g)))
        x = x - eta * (g if n <= tau else (tau / n) * g)
        out.append(x.copy())
    return np.array(out)


def torch_smom_trajectory(params, lam, x0, draws, mu, alpha):
    """The same through ``from_method`` and ``step(closure)``: the closure hands out draw r of step k."""
    x = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = from_method("smom_clip", [x], mu=mu, alpha=alpha, **params)
    lam_t, draws_t = torch.as_tensor(lam), torch.as_tensor(draws)
    out = [x.detach().clone()]
    for k in range(len(draws)):
        calls = iter(range(draws.shape[1]))

        def closure():
            x.grad = lam_t * x.detach() + draws_t[k, next(calls)]
            return torch.tensor(0.0)

        opt.step(closure)
        assert next(calls, None) is None  # every draw was used, once
        out.append(x.detach().clone())
    return torch.stack(out).numpy()


def smom_engine_case(params, steps, dim, seed):
    """(λ, x0, draws (steps, 3, dim), trajectory) of the numba engine: draw r is keyed as trajectory r·2^40."""
    import synthclip
    from synthclip import noise as noise_laws
    from synthclip import problems

    x0 = np.linspace(-3.0, 2.0, dim)
    res = synthclip.simulate(
        "smom_clip",
        problem="quadratic",
        noise="pareto",
        alpha=ALPHA,
        dim=dim,
        steps=steps,
        n_traj=1,
        seed=seed,
        checkpoints=range(1, steps + 1),
        keep_iterates=True,
        mu=MU,
        L=L,
        x0=x0.tolist(),
        **params,
    )
    assert res.n_failed == 0
    draws = np.stack(
        [
            noise_laws.engine_noise("pareto", ALPHA, n_traj=1, steps=steps, dim=dim, seed=seed, traj_start=r * 2**40)[0]
            for r in range(3)
        ],
        axis=1,
    )
    return problems.weights(MU, L, dim), x0, draws, np.vstack([x0, res.iterates[0]])


def smom_numpy_case(params, steps, dim, seed):
    lam, x0 = np.linspace(MU, L, dim), np.linspace(-3.0, 2.0, dim)
    draws = np.stack([injected_noise(steps, dim, seed + 100 * r) for r in range(3)], axis=1)
    return lam, x0, draws, numpy_smom_trajectory(params, lam, x0, draws, MU, ALPHA)


SMOM_CASES = [(i, v) for i, v in enumerate(variants("smom_clip"))]


@pytest.mark.parametrize("reference", ["numpy", "engine"])
@pytest.mark.parametrize("i,params", SMOM_CASES, ids=[f"smom_clip-{i}" for i, _ in SMOM_CASES])
def test_smom_trajectory_matches_reference(reference, i, params):
    case = smom_numpy_case if reference == "numpy" else smom_engine_case
    lam, x0, draws, want = case(params, steps=200, dim=5, seed=i)
    assert draws.shape == (200, 3, 5)
    got = torch_smom_trajectory(params, lam, x0, draws, mu=MU, alpha=ALPHA)
    assert np.all(np.isfinite(want)) and not np.allclose(want[-1], want[0])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())
    # negative control: GClip on the first draw alone is another trajectory
    first = numpy_trajectory("gclip", params, lam, x0, draws[:, 0], MU, ALPHA)
    assert not np.allclose(first, want, rtol=1e-3)


def test_smom_draws_the_closure_and_smooths_with_its_generator():
    x = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
    gen = np.random.default_rng(7).normal(size=(5 * 2, 4))
    calls = []

    def closure():
        calls.append(len(calls))
        x.grad = torch.as_tensor(gen[len(calls) - 1])
        return torch.tensor(float(len(calls)))

    opt = optim.SMoMClip(
        [x], lr=1.0, clip=math.inf, blocks=5, block_size=2, smoothing=0.5, generator=torch.Generator().manual_seed(3)
    )
    loss = opt.step(closure)
    assert calls == list(range(10)) and loss.item() == 1.0  # ten draws, the first loss returned
    smooth = torch.Generator().manual_seed(3)  # one θ·N(0, I) per block, drawn block by block
    shift = np.stack([0.5 * torch.randn(4, generator=smooth, dtype=torch.float64).numpy() for _ in range(5)])
    means = gen.reshape(5, 2, 4).mean(axis=1) + shift
    np.testing.assert_allclose(x.detach().numpy(), -np.median(means, axis=0), rtol=1e-14)
    with pytest.raises(RuntimeError, match="takes 10 gradient draws per step"):
        opt.step()


def test_smom_with_one_draw_is_gclip_exactly():
    a = _run(lambda p: optim.SMoMClip(p, lr=0.2, clip=0.3, blocks=1), 4)
    b = _run(lambda p: optim.GClip(p, lr=0.2, clip=0.3), 4)
    np.testing.assert_array_equal(a, b)


def test_single_draw_update_refuses_a_multi_draw_method():
    from synthclip.torch import functional as F

    with pytest.raises(ValueError, match="smom_clip takes 3 gradient draws per step"):
        F.update("smom_clip", [torch.zeros(2)], [torch.ones(2)], {}, [{}], {"lr": 0.1, "lr_schedule": "constant"}, 1)


def test_reference_rejects_a_wrong_method():
    # negative control: the comparison above can tell two methods apart on this noise
    lam, x0, noise = np.linspace(0.5, 1.0, 5), np.linspace(-3.0, 2.0, 5), injected_noise(200, 5)
    a = numpy_trajectory(
        "gclip",
        {"clip": 0.3, "clip_schedule": "constant", "lr_schedule": "constant", "lr": 0.1},
        lam,
        x0,
        noise,
        MU,
        ALPHA,
    )
    b = torch_trajectory(
        "cclip",
        {"clip": 0.3, "clip_schedule": "constant", "lr_schedule": "constant", "lr": 0.1},
        lam,
        x0,
        noise,
        MU,
        ALPHA,
    )
    assert not np.allclose(a, b, rtol=1e-3)


def test_registry_covers_every_method():
    assert set(OPTIMIZERS) == set(methods.METHODS)
    for name, cls in OPTIMIZERS.items():
        assert cls.method == name


# ------------------------------------------------------------------------- exact corner cases
def _run(opt_factory, dim, steps=30, seed=1):
    lam = torch.linspace(0.5, 1.0, dim, dtype=torch.float64)
    noise = torch.as_tensor(injected_noise(steps, dim, seed))
    x = torch.nn.Parameter(torch.linspace(-3.0, 2.0, dim, dtype=torch.float64))
    opt = opt_factory([x])
    for k in range(steps):
        x.grad = lam * x.detach() + noise[k]
        opt.step()
    return x.detach().numpy()


@pytest.mark.parametrize(
    "clipped,plain",
    [
        (lambda p: optim.GClip(p, lr=0.1, clip=math.inf), lambda p: optim.SGDRef(p, lr=0.1)),
        (lambda p: optim.ClipNSGDM(p, lr=0.1, clip=math.inf), lambda p: optim.NSGDM(p, lr=0.1)),
        (lambda p: optim.ClipAdaGradNorm(p, clip=math.inf), lambda p: optim.AdaGradNorm(p)),
        (lambda p: optim.ClipAdamNorm(p, clip=math.inf, delayed=True), lambda p: optim.AdamNorm(p, delayed=True)),
    ],
    ids=["gclip-inf-is-sgd", "clip-nsgd-m-inf-is-nsgd-m", "clip-adagrad-inf-is-adagrad", "clip-adam-inf-is-adam"],
)
def test_infinite_clip_is_the_unclipped_method_exactly(clipped, plain):
    np.testing.assert_array_equal(_run(clipped, 4), _run(plain, 4))


def test_cclip_in_one_dimension_is_gclip_exactly():
    g = _run(lambda p: optim.GClip(p, lr=0.2, clip=0.3), 1, steps=100)
    c = _run(lambda p: optim.CClip(p, lr=0.2, clip=0.3), 1, steps=100)
    np.testing.assert_array_equal(c, g)


def test_rmsprop_is_torch_rmsprop():
    # the Discussion's RMSProp is torch.optim.RMSprop (no momentum, not centred) with alpha = β2
    a = _run(lambda p: optim.RMSProp(p, lr=0.05, beta2=0.9, eps=1e-3), 4, steps=50)
    b = _run(lambda p: torch.optim.RMSprop(p, lr=0.05, alpha=0.9, eps=1e-3), 4, steps=50)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=0.0)
    c = _run(lambda p: torch.optim.RMSprop(p, lr=0.05, alpha=0.9, eps=1e-3, centered=True), 4, steps=50)
    assert not np.allclose(a, c, rtol=1e-3)  # negative control: the centred variant is another method


def test_rmsprop_step_is_the_discussions_effective_step():
    # x_{k+1} = x_k − h_Adam g_k with the h_Adam of synthclip.theory (the erratum's formula)
    from synthclip import theory

    x = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = optim.RMSProp([x], lr=0.1, beta2=0.75, eps=0.5)
    g1, g2 = np.array([1.0, -2.0, 0.0]), np.array([0.5, 3.0, -1.0])
    for g in (g1, g2):
        before = x.detach().numpy().copy()
        v = opt.state[x]["square_avg"].numpy().copy() if opt.state[x] else np.zeros(3)
        x.grad = torch.as_tensor(g)
        opt.step()
        step = before - x.detach().numpy()  # the displacement: no cancellation against x
        np.testing.assert_allclose(step, theory.rmsprop_effective_step(g, v, 0.75, 0.5, 0.1) * g, rtol=1e-14)


def test_signsgd_without_momentum_steps_by_the_sign():
    x = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = optim.SignSGDM([x], lr=0.25, beta=0.0)
    x.grad = torch.tensor([3.0, -1e-300, 0.0], dtype=torch.float64)
    opt.step()
    assert x.detach().tolist() == [-0.25, 0.25, 0.0]


def test_normalized_step_has_length_lr_over_the_group():
    a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = optim.NSGDM([a, b], lr=0.5, beta=0.3)
    a.grad = torch.tensor([3.0, 0.0], dtype=torch.float64)
    b.grad = torch.tensor([4.0], dtype=torch.float64)
    opt.step()
    np.testing.assert_allclose(torch.cat([a, b]).detach().numpy(), [-0.3, 0.0, -0.4], rtol=1e-15)
    a.grad.zero_()
    b.grad.zero_()
    opt.step()  # m ≠ 0 still (momentum): it moves on by η
    np.testing.assert_allclose(torch.cat([a, b]).detach().numpy(), [-0.6, 0.0, -0.8], rtol=1e-15)
    c = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    still = optim.NSGDM([c], lr=0.5)
    c.grad = torch.zeros(2, dtype=torch.float64)
    still.step()  # m = 0: no move (0/0 := 0), not NaN
    assert c.detach().tolist() == [1.0, 1.0]


def test_step_counter_starts_at_one():
    x = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = optim.SGDRef([x], lr=0.5, lr_schedule="poly", lr_power=1.0)
    x.grad = torch.tensor([1.0], dtype=torch.float64)
    opt.step()
    assert x.item() == 1.0 - 0.5 / 2.0  # η_1 = lr/(1+1)
    assert opt.state[x]["step"] == 1


# ----------------------------------------------------------------------------- torch conventions
BAD = {
    "lr": [-1.0, float("nan"), float("inf")],
    "clip": [-1.0, 0.0],
    "betas": [(1.0, 0.9), (0.9, -0.1)],
    "eps": [-1.0],
    "b0": [0.0],
    "eta": [-1.0],
    "moment": [0.0],
    "lr_schedule": ["cosine"],
    "clip_schedule": ["exponential"],
    "clip_power": [-1.0],
    "delayed": ["yes"],
    "clipping": ["global"],
    "max_grad_norm": [-1.0],
    "weight_decay": [-0.1],
    "momentum": [-0.5, float("nan")],
    "dampening": [float("nan")],
    "nesterov": ["yes"],
    "beta": [1.0, -0.1, float("nan")],
    "beta2": [1.0, -0.5],
    "blocks": [2, 0, 1.5],
    "block_size": [0],
    "smoothing": [-1.0, float("inf")],
}
BAD_CASES = [
    (cls, key, value)
    for cls in ALL_CLASSES
    for key, values in BAD.items()
    if key in inspect.signature(cls.__init__).parameters
    for value in values
]


def _param():
    return torch.nn.Parameter(torch.zeros(3))


@pytest.mark.parametrize("cls,key,value", BAD_CASES, ids=[f"{c.__name__}-{k}-{v}" for c, k, v in BAD_CASES])
def test_bad_hyper_parameter_raises_in_init(cls, key, value):
    with pytest.raises(ValueError, match="Invalid"):
        cls([_param()], **{key: value})
    # a param group overriding a default is validated too
    with pytest.raises(ValueError, match="Invalid"):
        cls([{"params": [_param()], key: value}])


def test_error_messages_follow_torch():
    with pytest.raises(ValueError, match=r"^Invalid clipping level: -1.0$"):
        optim.GClip([_param()], clip=-1.0)
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0.5$"):
        optim.AdamNorm([_param()], lr=-0.5)
    with pytest.raises(ValueError, match="needs mu"):
        optim.SGDRef([_param()], lr_schedule="theorem4")
    with pytest.raises(ValueError, match="needs alpha"):
        optim.GClip([_param()], clip_schedule="poly", clip_power="alpha-1")
    with pytest.raises(ValueError, match="needs clip_power"):
        optim.ClipAdamNorm([_param()], clip_schedule="poly")


def test_from_method_validates_with_the_method_registry():
    with pytest.raises(ValueError, match="unknown parameter 'momentum'"):
        from_method("gclip", [_param()], momentum=0.9)
    with pytest.raises(ValueError, match="needs alpha"):
        from_method("gclip", [_param()], mu=1.0)  # default clip_power is "alpha-1"
    opt = from_method("adam-norm", [_param()], beta1=0.8)
    assert isinstance(opt, optim.AdamNorm) and opt.defaults["betas"] == (0.8, 0.999)
    acc = from_method("acclip", [_param()])
    assert (acc.defaults["lr"], acc.defaults["betas"], acc.defaults["eps"]) == (1e-4, (0.9, 0.99), 1e-5)


def _kwargs(cls):
    """Hyper-parameters that make every class move visibly and clip on the test problem."""
    params = inspect.signature(cls.__init__).parameters
    kw = {"lr": 0.05}
    if "clip" in params:
        kw["clip"] = 0.5
    if cls is SeedAdam:
        kw.update(clipping="local", max_grad_norm=0.5)
    if cls is optim.ACClip:
        kw["lr"] = 0.01
    if cls is optim.SMoMClip:
        kw["blocks"] = 1  # one draw: the plain backward()/step() loops of these tests
    return kw


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(4, 3)
        self.b = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


def _net(seed=0):
    torch.manual_seed(seed)
    return _Net().double()


def _loss(net, step):
    gen = torch.Generator().manual_seed(step)
    x = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(16, 2, generator=gen, dtype=torch.float64)
    return ((net(x) - y) ** 2).mean()


def _train(net, opt, steps, start=0):
    for k in range(start, start + steps):
        opt.zero_grad()
        _loss(net, k).backward()
        opt.step()


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_state_dict_round_trip_resumes_identically(cls):
    net = _net()
    opt = cls(net.parameters(), **_kwargs(cls))
    _train(net, opt, 5)
    saved_params = copy.deepcopy(net.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())
    _train(net, opt, 5, start=5)

    resumed = _net(seed=123)
    resumed.load_state_dict(saved_params)
    opt2 = cls(resumed.parameters(), **_kwargs(cls))
    opt2.load_state_dict(saved_opt)
    _train(resumed, opt2, 5, start=5)
    for a, b in zip(net.parameters(), resumed.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    fresh = _net(seed=123)
    fresh.load_state_dict(saved_params)
    _train(fresh, cls(fresh.parameters(), **_kwargs(cls)), 5, start=5)
    if cls not in (optim.SGDRef, optim.GClip, optim.CClip, optim.SMoMClip):  # stateless: resume trivially
        assert any(not torch.equal(a, b) for a, b in zip(net.parameters(), fresh.parameters()))


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_step_with_closure_returns_the_loss(cls):
    net_a, net_b = _net(), _net()
    opt_a = cls(net_a.parameters(), **_kwargs(cls))
    opt_b = cls(net_b.parameters(), **_kwargs(cls))
    for k in range(3):

        def closure():
            opt_a.zero_grad()
            loss = _loss(net_a, k)
            loss.backward()
            return loss

        loss = opt_a.step(closure)
        assert torch.equal(loss, _loss(net_b, k))
        _train(net_b, opt_b, 1, start=k)
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_param_groups_are_independent(cls):
    kw = _kwargs(cls)
    net, ref = _net(), _net()
    opt = cls([{"params": net.a.parameters(), "lr": kw["lr"] / 2}, {"params": net.b.parameters()}], **kw)
    ref_a = cls(ref.a.parameters(), **{**kw, "lr": kw["lr"] / 2})
    ref_b = cls(ref.b.parameters(), **kw)
    for k in range(4):
        for o in (opt, ref_a, ref_b):
            o.zero_grad()
        _loss(net, k).backward()
        _loss(ref, k).backward()
        opt.step()
        ref_a.step()
        ref_b.step()
    for a, b in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_sparse_gradient_raises(cls):
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = cls(emb.parameters(), **_kwargs(cls))
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


def test_gclip_norm_is_over_the_whole_group():
    a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = optim.GClip([a, b], lr=1.0, clip=1.0)
    a.grad = torch.tensor([3.0, 0.0], dtype=torch.float64)
    b.grad = torch.tensor([4.0], dtype=torch.float64)
    opt.step()
    np.testing.assert_allclose(torch.cat([a, b]).detach().numpy(), [-0.6, 0.0, -0.8], rtol=1e-15)


# ------------------------------------------------------------------------------------ SeedAdam
def test_seed_adam_without_clipping_is_adam():
    # with eps = 0, √(1−β2^t)/(1−β1^t)·m/√v is torch's bias-corrected Adam step exactly in exact arithmetic
    net_a, net_b = _net(), _net()
    opt_a = SeedAdam(net_a.parameters(), lr=0.01, eps=0.0, clipping="no")
    opt_b = torch.optim.Adam(net_b.parameters(), lr=0.01, eps=0.0)
    _train(net_a, opt_a, 10)
    _train(net_b, opt_b, 10)
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_seed_adam_local_clipping_is_per_tensor_clip_grad_norm():
    net_a, net_b = _net(), _net()
    opt_a = SeedAdam(net_a.parameters(), lr=0.01, clipping="local", max_grad_norm=0.05)
    opt_b = SeedAdam(net_b.parameters(), lr=0.01, clipping="no")
    for k in range(5):
        opt_a.zero_grad()
        opt_b.zero_grad()
        _loss(net_a, k).backward()
        _loss(net_b, k).backward()
        for p in net_b.parameters():
            torch.nn.utils.clip_grad_norm_(p, 0.05)  # what the seed's code calls
        opt_a.step()
        opt_b.step()
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_seed_adam_elementwise_and_delayed():
    x = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = SeedAdam(
        [x],
        lr=1.0,
        betas=(0.0, 0.5),
        eps=0.0,
        clipping="elementwise",
        max_grad_norm=1.0,
        delayed=True,
        exp_avg_sq_value=4.0,
        etta=1.0,
    )
    assert opt.param_groups[0]["correct_bias"] is False  # the seed's delayed class default
    x.grad = torch.tensor([3.0, -0.5], dtype=torch.float64)
    opt.step()
    # clamp to [-1, 1]; v_1 = 0.5·4 + 0.5·0² = 2 (delayed: the previous gradient is 0); m_1 = g
    np.testing.assert_allclose(x.detach().numpy(), [-1 / math.sqrt(2), 0.5 / math.sqrt(2)], rtol=1e-15)
    x.grad = torch.tensor([0.0, 0.0], dtype=torch.float64)
    opt.step()
    # v_2 = 0.5·2 + 0.5·g_1² with g_1 = (1, −0.5); m_2 = 0
    np.testing.assert_allclose(opt.state[x]["exp_avg_sq"].numpy(), [1.5, 1.125], rtol=1e-15)


# ---------------------------------------------------------------------------------- import hygiene
def test_import_synthclip_does_not_import_torch():
    code = "import sys, synthclip, synthclip.methods; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_torch_gives_one_line_import_error():
    code = (
        "import sys\nsys.modules['torch'] = None\n"
        "try:\n    import synthclip.torch\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "synthclip.torch needs PyTorch: pip install torch==2.13.0"


# ------------------------------------------------------------------ torch.optim conventions and fixes
@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_a_rejected_param_group_is_not_kept(cls):
    opt = cls([_param()], **_kwargs(cls))
    bad = {"params": [_param()], "lr": -1.0}
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group(bad)
    assert len(opt.param_groups) == 1  # before the fix the rejected group stayed, and step() used it
    good = _param()
    opt.add_param_group({"params": [good]})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["params"] == [good]


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_zero_learning_rate_is_valid_and_does_not_move(cls):
    x = torch.nn.Parameter(torch.linspace(-1.0, 2.0, 4, dtype=torch.float64))
    start = x.detach().clone()
    opt = cls([x], **{**_kwargs(cls), "lr": 0.0})
    for k in range(3):
        x.grad = torch.full_like(x, 1.0 + k)
        opt.step()
    assert torch.equal(x.detach(), start)


SGD_SETTINGS = [
    dict(momentum=0.9, weight_decay=0.01),
    dict(momentum=0.9, dampening=0.3, weight_decay=0.05),
    dict(momentum=0.8, nesterov=True, weight_decay=0.01),
    dict(momentum=0.0, weight_decay=0.1),
    dict(momentum=0.5),
]


def _sgd_run(make, steps=20, seed=3):
    """Two parameters (a matrix and a vector) of one group, float64, the gradient λ⊙x + heavy noise."""
    gen = np.random.default_rng(seed)
    w = torch.nn.Parameter(torch.as_tensor(gen.normal(size=(3, 2))))
    b = torch.nn.Parameter(torch.as_tensor(gen.normal(size=2)))
    opt = make([w, b])
    noise_w, noise_b = injected_noise(steps, 6, seed).reshape(steps, 3, 2), injected_noise(steps, 2, seed + 1)
    for k in range(steps):
        w.grad = 0.7 * w.detach() + torch.as_tensor(noise_w[k])
        b.grad = 1.3 * b.detach() + torch.as_tensor(noise_b[k])
        opt.step()
    return np.concatenate([w.detach().numpy().ravel(), b.detach().numpy()])


@pytest.mark.parametrize("cls", [optim.GClip, optim.CClip], ids=lambda c: c.__name__)
@pytest.mark.parametrize("settings", SGD_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_unclipped_gclip_and_cclip_are_torch_sgd_with_momentum_and_weight_decay(cls, settings):
    got = _sgd_run(lambda p: cls(p, lr=0.05, clip=math.inf, **settings))
    want = _sgd_run(lambda p: torch.optim.SGD(p, lr=0.05, **settings))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0)
    # negative control: a clip level that binds gives another trajectory, so the comparison can fail
    clipped = _sgd_run(lambda p: cls(p, lr=0.05, clip=0.3, **settings))
    assert not np.allclose(clipped, want, rtol=1e-3)


def _clipped_sgd_reference(coordinatewise, lr, clip, momentum, dampening, weight_decay, nesterov, steps=20, seed=3):
    """The GClip/CClip docstring's formulas in numpy, on the same problem as _sgd_run (flattened)."""
    gen = np.random.default_rng(seed)
    x = np.concatenate([gen.normal(size=(3, 2)).ravel(), gen.normal(size=2)])
    lam = np.array([0.7] * 6 + [1.3] * 2)
    noise = np.concatenate([injected_noise(steps, 6, seed), injected_noise(steps, 2, seed + 1)], axis=1)
    buf = None
    for k in range(steps):
        g = lam * x + noise[k] + weight_decay * x  # weight decay joins the gradient before clipping
        if coordinatewise:
            d = np.where(np.abs(g) > clip, clip * np.sign(g), g)
        else:
            n = np.linalg.norm(g)
            d = g if n <= clip else g * (clip / n)
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d  # buffer of clipped steps
            d = d + momentum * buf if nesterov else buf
        x = x - lr * d
    return x


@pytest.mark.parametrize("cls", [optim.GClip, optim.CClip], ids=lambda c: c.__name__)
@pytest.mark.parametrize("settings", SGD_SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_clipped_momentum_and_weight_decay_follow_the_docstring(cls, settings):
    kw = {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False, **settings}
    got = _sgd_run(lambda p: cls(p, lr=0.05, clip=0.3, **kw))
    want = _clipped_sgd_reference(cls is optim.CClip, 0.05, 0.3, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # negative control: momentum of the raw (unclipped) gradient is another method
    if kw["momentum"]:
        raw = _clipped_sgd_reference(cls is optim.CClip, 0.05, math.inf, **kw)
        assert not np.allclose(raw, want, rtol=1e-3)


def test_momentum_buffer_travels_in_the_state_dict():
    make = lambda p: optim.GClip(p, lr=0.05, clip=0.3, momentum=0.9, weight_decay=0.01)  # noqa: E731
    x = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = make([x])
    x.grad = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    opt.step()
    assert "momentum_buffer" in opt.state_dict()["state"][0]
    y = torch.nn.Parameter(x.detach().clone())
    resumed = make([y])
    resumed.load_state_dict(copy.deepcopy(opt.state_dict()))  # torch shares the tensors otherwise
    for o, p in ((opt, x), (resumed, y)):
        p.grad = torch.tensor([0.5, 0.5, -4.0], dtype=torch.float64)
        o.step()
    assert torch.equal(x.detach(), y.detach())


def test_nesterov_needs_momentum_and_zero_dampening():
    with pytest.raises(ValueError, match="^Nesterov momentum requires a momentum and zero dampening$"):
        optim.GClip([_param()], nesterov=True)
    with pytest.raises(ValueError, match="^Nesterov momentum requires a momentum and zero dampening$"):
        optim.CClip([_param()], momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"^Invalid momentum value: -0.5$"):
        optim.GClip([_param()], momentum=-0.5)


@pytest.mark.parametrize(
    "cls", [optim.AdaGradNorm, optim.AdamNorm, optim.ClipAdaGradNorm, optim.ClipAdamNorm], ids=lambda c: c.__name__
)
def test_eta_lr_uses_the_current_step_size(cls):
    # eta = "lr" (the notebook's b² += γ²‖g‖²) is eta = γ as a number, bit for bit...
    a = _run(lambda p: cls(p, lr=0.3, eta="lr"), 4)
    b = _run(lambda p: cls(p, lr=0.3, eta=0.3), 4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, _run(lambda p: cls(p, lr=0.3), 4), rtol=1e-3)  # and not eta = 1
    # ...and γ is read at each step, so an lr scheduler moves the accumulator's factor with the step
    x = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = cls([x], lr=0.3, eta="lr")
    x.grad = torch.ones(2, dtype=torch.float64)
    opt.param_groups[0]["lr"] = 0.1
    opt.step()
    y = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    ref = cls([y], lr=0.1, eta=0.1)
    y.grad = torch.ones(2, dtype=torch.float64)
    ref.step()
    assert torch.equal(x.detach(), y.detach())
    with pytest.raises(ValueError, match="Invalid eta value"):
        cls([_param()], eta="gamma")


# ------------------------------------------------------------------ weight decay against a hand-written update
def _wd_gclip(x, g, lr, wd, clip, coordinatewise):
    d = g + wd * x  # weight decay is part of the clipped gradient
    if coordinatewise:
        return x - lr * np.clip(d, -clip, clip)
    return x - lr * d * min(1.0, clip / np.linalg.norm(d))


def _wd_seed_adam(x, grads, lr, wd, betas, eps):
    """Two steps of the seed's Adam written out: bias-corrected step, then x ← x − lr·wd·x (decoupled, after)."""
    b1, b2 = betas
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        x = x - lr * wd * x
        out.append(x)
    return out


WD_CASES = {
    optim.GClip: dict(lr=0.1, clip=0.5, weight_decay=0.3),
    optim.CClip: dict(lr=0.1, clip=0.5, weight_decay=0.3),
    SeedAdam: dict(lr=0.1, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.3),
}


def test_every_optimizer_with_weight_decay_has_a_hand_written_check():
    with_wd = {cls for cls in ALL_CLASSES if "weight_decay" in inspect.signature(cls.__init__).parameters}
    assert with_wd == set(WD_CASES)


@pytest.mark.parametrize("cls", list(WD_CASES), ids=lambda c: c.__name__)
def test_weight_decay_two_steps_by_hand(cls):
    kw = WD_CASES[cls]
    x0 = np.array([2.0, -1.0, 0.5])
    grads = [np.array([0.4, -0.2, 0.1]), np.array([-0.3, 0.05, 0.2])]  # fixed gradients, set by hand
    x = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = cls([x], **kw)
    got = []
    for g in grads:
        x.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        got.append(x.detach().numpy().copy())
    if cls is SeedAdam:
        want = _wd_seed_adam(x0, grads, kw["lr"], kw["weight_decay"], kw["betas"], kw["eps"])
    else:
        want, y = [], x0
        for g in grads:
            y = _wd_gclip(y, g, kw["lr"], kw["weight_decay"], kw["clip"], cls is optim.CClip)
            want.append(y)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    # negative control: without weight decay the same steps land elsewhere (the decay is not a no-op here)
    assert not np.allclose(got[-1], _without_weight_decay(cls, kw, x0, grads), rtol=1e-6)


def _without_weight_decay(cls, kw, x0, grads):
    x = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = cls([x], **{**kw, "weight_decay": 0.0})
    for g in grads:
        x.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return x.detach().numpy()


# ----------------------------------------------- any registered method: optimizer_for and its compiled step
from pathlib import Path  # noqa: E402

from synthclip.torch.optim import StepOptimizer, optimizer_for  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "studies" / "examples" / "my_method.py"


@pytest.fixture
def registry():
    """The method registry as it was before the test (a plugin a test registers does not leak)."""
    saved, plugins = dict(methods.METHODS), dict(methods._PLUGINS)
    yield methods
    methods.METHODS.clear()
    methods.METHODS.update(saved)
    methods._PLUGINS.clear()
    methods._PLUGINS.update(plugins)


def test_a_plugin_gets_an_optimizer_equal_to_the_engine(registry):
    registry.load_plugin(EXAMPLE)
    cls = optimizer_for("my_method")
    assert issubclass(cls, torch.optim.Optimizer) and issubclass(cls, StepOptimizer) and cls.method == "my_method"
    assert optimizer_for(registry.get("my_method")) is cls  # one class per method
    for i, params in enumerate(({}, *registry.get("my_method").variants)):
        lam, x0, noise, want = engine_case("my_method", params, steps=200, dim=5, seed=i)
        got = torch_trajectory("my_method", params, lam, x0, noise, mu=MU, alpha=ALPHA)
        assert not np.allclose(want[-1], want[0])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())
    # negative control: another β is another trajectory, so the comparison can fail
    other = torch_trajectory("my_method", {"beta": 0.9}, lam, x0, noise, mu=MU, alpha=ALPHA)
    assert not np.allclose(other, want, rtol=1e-3)


SINGLE_DRAW = [n for n in methods.BUILTIN_NAMES + tuple(m.name for m in methods.EXTRA) if methods.get(n).draws == 1]


@pytest.mark.parametrize("name", SINGLE_DRAW)
def test_the_compiled_step_optimizer_equals_the_torch_class_on_every_method(registry, name):
    # each built-in, registered again without its torch rule, runs through optimizer_for's compiled step:
    # the same numbers as its hand-written torch class (defaults and the last schedule variant)
    import dataclasses

    copy_ = registry.register(dataclasses.replace(registry.get(name), name=f"{name}_copy", torch=None))
    assert optimizer_for(copy_.name).__bases__ == (StepOptimizer,)
    for i, params in enumerate((variants(name)[0], variants(name)[-1])):
        lam, x0, noise, want = numpy_case(name, params, steps=100, dim=4, seed=i)
        got = torch_trajectory(copy_.name, params, lam, x0, noise, mu=MU, alpha=ALPHA)
        native = torch_trajectory(name, params, lam, x0, noise, mu=MU, alpha=ALPHA)
        np.testing.assert_allclose(got, native, rtol=1e-10, atol=1e-12 * np.abs(native).max())
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def test_a_plugins_optimizer_validates_with_the_registrys_messages(registry):
    import synthclip

    registry.load_plugin(EXAMPLE)
    cls = optimizer_for("my_method")
    with pytest.raises(ValueError) as err:
        cls([_param()], beta=1.0, mu=1.0, alpha=1.5)
    with pytest.raises(ValueError) as same:
        synthclip.simulate("my_method", beta=1.0, steps=2, n_traj=1)
    assert str(err.value) == str(same.value) == "method 'my_method' parameter 'beta' must be in [0, 1), got 1.0"
    with pytest.raises(ValueError, match="^method 'my_method': lr_schedule='theorem4' .* needs mu > 0$"):
        cls([_param()], alpha=1.5)
    with pytest.raises(ValueError, match="needs alpha"):
        cls([_param()], mu=1.0)
    with pytest.raises(ValueError, match="unknown parameter 'momentum' for method 'my_method'"):
        from_method("my_method", [_param()], mu=1.0, alpha=1.5, momentum=0.9)
    with pytest.raises(ValueError, match="must be in"):  # a param group is validated too
        cls([{"params": [_param()], "beta": -0.5}], mu=1.0, alpha=1.5)
    assert cls([_param()], mu=1.0, alpha=1.5).defaults["beta"] == 0.5


def test_a_plugins_optimizer_resumes_from_its_state_dict(registry):
    registry.load_plugin(EXAMPLE)

    def run(steps, resume_at=None):
        x = torch.nn.Parameter(torch.linspace(-3.0, 2.0, 4, dtype=torch.float64))
        opt = from_method("my_method", [x], mu=MU, alpha=ALPHA, beta=0.7)
        noise = torch.as_tensor(injected_noise(steps, 4, seed=3))
        for k in range(steps):
            if k == resume_at:
                saved = copy.deepcopy(opt.state_dict())
                opt = from_method("my_method", [x], mu=MU, alpha=ALPHA, beta=0.7)
                opt.load_state_dict(saved)
            x.grad = 0.7 * x.detach() + noise[k]
            opt.step()
        return x.detach().numpy(), opt

    whole, opt = run(20)
    resumed, _ = run(20, resume_at=9)
    np.testing.assert_array_equal(whole, resumed)
    assert (
        opt.state[opt.param_groups[0]["params"][0]]["step"] == 20 and "m" in opt.state[opt.param_groups[0]["params"][0]]
    )
    # negative control: dropping the momentum state changes the trajectory
    x = torch.nn.Parameter(torch.linspace(-3.0, 2.0, 4, dtype=torch.float64))
    assert not np.array_equal(whole, x.detach().numpy())


_MINIBATCH = """
import numpy as np
from synthclip.methods import Method, lr_params, register


def step(p, k, lr, tau, x, g, clipped, work):
    draws, d, nb = g.shape
    for j in range(d):
        for t in range(nb):
            s = 0.0
            for r in range(draws):
                s += g[r, j, t]
            x[j, t] -= lr * s / draws


def reference(p, k, lr, tau, x, g, state):
    return x - lr * g.mean(axis=1), np.zeros(len(x))


register(Method("minibatch_sgd", lr_params(0.1, "constant"), "SGD on the mean of 4 draws", step=step,
                reference=reference, draws=4))
"""


def test_a_multi_draw_plugin_draws_through_the_closure(registry, tmp_path):
    path = tmp_path / "minibatch.py"
    path.write_text(_MINIBATCH)
    registry.load_plugin(path)
    x = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = from_method("minibatch_sgd", [x], lr=0.1)
    calls = []

    def closure():
        calls.append(len(calls))
        x.grad = torch.full((3,), float(len(calls)), dtype=torch.float64)  # draw r is r + 1
        return torch.tensor(float(len(calls)))

    loss = opt.step(closure)
    assert calls == [0, 1, 2, 3] and loss.item() == 1.0
    np.testing.assert_allclose(x.detach().numpy(), -0.1 * 2.5)  # the mean of 1, 2, 3, 4
    with pytest.raises(RuntimeError, match="takes 4 gradient draws per step"):
        opt.step()


def test_a_plugins_optimizer_trains_a_float32_model(registry):
    registry.load_plugin(EXAMPLE)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    data = torch.randn(64, 3)
    target = data @ torch.tensor([[1.0], [-2.0], [0.5]])
    opt = from_method(
        "my_method",
        model.parameters(),
        alpha=1.5,
        lr_schedule="constant",
        lr=0.05,
        clip=10.0,
        clip_schedule="constant",
        beta=0.5,
    )
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert model.weight.dtype == torch.float32 and losses[-1] < 1e-2 * losses[0]
