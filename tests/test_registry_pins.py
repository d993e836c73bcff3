"""The registry's defaults and schedules, pinned by hand from docs/theory.md and the papers.

tests/reference.py re-implements the update rules but reads step sizes, clip levels and defaults from
``synthclip.methods``, so a wrong default or schedule there would pass the engine-equality tests. Here
every number is written out literally: the defaults of every method, Theorem 4's η_k = 4/(μ(k+1)), the
clip levels τ_k = τ0·k^(α−1) (Theorem 4/8 as printed) and τ0·k^(1/α) (the proof's balance) at a few k,
in the plain-Python twins, in the kernel's parameter vector and in the kernel's own trajectories.
"""

import math

import numpy as np
import pytest

import synthclip
from synthclip import methods

# Every method's defaults, literally. ACClip's are the paper's (docs/methods.md: α=1, τ0=1,
# η=1e−4, β1=.9, β2=.99, ε=1e−5); SGD/GClip/CClip default to Theorem 4's step and the printed q = α − 1.
DEFAULTS = {
    "sgd": {"lr": 4.0, "lr_schedule": "theorem4", "lr_power": 1.0},
    "gclip": {
        "lr": 4.0,
        "lr_schedule": "theorem4",
        "lr_power": 1.0,
        "clip": 1.0,
        "clip_schedule": "poly",
        "clip_power": "alpha-1",
    },
    "cclip": {
        "lr": 4.0,
        "lr_schedule": "theorem4",
        "lr_power": 1.0,
        "clip": 1.0,
        "clip_schedule": "poly",
        "clip_power": "alpha-1",
    },
    "acclip": {
        "lr": 1e-4,
        "lr_schedule": "constant",
        "lr_power": 1.0,
        "clip": 1.0,
        "beta1": 0.9,
        "beta2": 0.99,
        "eps": 1e-5,
        "moment": 1.0,
    },
    "adagrad_norm": {"lr": 1.0, "lr_schedule": "constant", "lr_power": 1.0, "b0": 1.0, "eta": 1.0, "delayed": False},
    "adam_norm": {
        "lr": 1.0,
        "lr_schedule": "constant",
        "lr_power": 1.0,
        "beta1": 0.9,
        "beta2": 0.999,
        "b0": 1.0,
        "eta": 1.0,
        "delayed": False,
    },
    "clip_adagrad_norm": {
        "lr": 1.0,
        "lr_schedule": "constant",
        "lr_power": 1.0,
        "clip": 1.0,
        "clip_schedule": "constant",
        "clip_power": 0.0,
        "b0": 1.0,
        "eta": 1.0,
        "delayed": False,
    },
    "clip_adam_norm": {
        "lr": 1.0,
        "lr_schedule": "constant",
        "lr_power": 1.0,
        "clip": 1.0,
        "clip_schedule": "constant",
        "clip_power": 0.0,
        "beta1": 0.9,
        "beta2": 0.999,
        "b0": 1.0,
        "eta": 1.0,
        "delayed": False,
    },
    # the methods after the seeds (synthclip/methods_extra.py): torch.optim.RMSprop's lr, β2 (its alpha) and ε; SMoM keeps GClip's
    "nsgd_m": {"lr": 0.01, "lr_schedule": "constant", "lr_power": 1.0, "beta": 0.9},
    "clip_nsgd_m": {
        "lr": 0.01,
        "lr_schedule": "constant",
        "lr_power": 1.0,
        "clip": 1.0,
        "clip_schedule": "constant",
        "clip_power": 0.0,
        "beta": 0.9,
    },
    "signsgd_m": {"lr": 0.01, "lr_schedule": "constant", "lr_power": 1.0, "beta": 0.9},
    "rmsprop": {"lr": 0.01, "lr_schedule": "constant", "lr_power": 1.0, "beta2": 0.99, "eps": 1e-8},
    "smom_clip": {
        "lr": 4.0,
        "lr_schedule": "theorem4",
        "lr_power": 1.0,
        "clip": 1.0,
        "clip_schedule": "poly",
        "clip_power": "alpha-1",
    },
}


def test_every_method_is_pinned():
    assert set(DEFAULTS) == set(methods.METHODS)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults_are_the_documented_ones(name):
    got = methods.get(name).defaults
    assert got == DEFAULTS[name]
    # == between 1 and True would let a bool pass for a number: the types are pinned too
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in DEFAULTS[name].items()}


# (μ, k, η_k = 4/(μ(k+1))) worked by hand
THEOREM4_STEPS = [(1.0, 1, 2.0), (1.0, 9, 0.4), (0.5, 1, 4.0), (0.5, 9, 0.8), (2.0, 99, 0.02)]
# (τ0, α, k, τ_k): q = α − 1 ("alpha-1") and q = 1/α ("1/alpha")
CLIP_LEVELS = [
    ("alpha-1", 1.0, 1.5, 1, 1.0),
    ("alpha-1", 1.0, 1.5, 4, 2.0),
    ("alpha-1", 2.0, 1.5, 100, 20.0),
    ("alpha-1", 1.0, 2.0, 7, 7.0),
    ("alpha-1", 3.0, 1.25, 16, 6.0),
    ("1/alpha", 1.0, 1.5, 8, 4.0),
    ("1/alpha", 2.0, 1.5, 27, 18.0),
    ("1/alpha", 1.0, 2.0, 9, 3.0),
]


@pytest.mark.parametrize("mu,k,want", THEOREM4_STEPS)
def test_theorem4_step_size(mu, k, want):
    p = methods.get("sgd").validate({}, "method")  # the default schedule is Theorem 4's
    assert methods.step_size(p, k, mu) == pytest.approx(want, rel=1e-15)
    # negative control: the printed-elsewhere 1/(μk) would differ at every k pinned here
    assert 1.0 / (mu * k) != pytest.approx(want, rel=1e-3)


def test_poly_step_size():
    p = methods.get("sgd").validate({"lr_schedule": "poly", "lr": 0.5, "lr_power": 2.0}, "method")
    assert methods.step_size(p, 3, mu=1.0) == 0.5 / 16  # η0/(k+1)^p at k = 3


@pytest.mark.parametrize("power,tau0,alpha,k,want", CLIP_LEVELS)
def test_clip_schedule(power, tau0, alpha, k, want):
    p = methods.get("gclip").validate({"clip": tau0, "clip_power": power}, "method")
    assert methods.clip_level(p, k, alpha) == pytest.approx(want, rel=1e-14)
    q = {"alpha-1": alpha - 1.0, "1/alpha": 1.0 / alpha}[power]
    vector = dict(zip(methods.KERNEL_FIELDS, methods.kernel_vector(methods.get("gclip"), p, alpha)))
    assert vector["clip_power"] == pytest.approx(q, rel=1e-15) and vector["clip"] == tau0
    assert vector["clip_mode"] == 1.0 and vector["lr_mode"] == 2.0  # poly clip, Theorem 4 step


@pytest.mark.parametrize("method", ["gclip", "cclip"])
@pytest.mark.parametrize(
    "power,alpha,hand",
    [
        ("alpha-1", 1.5, {1: 2.0, 4: 1.6, 9: 1.2, 49: 0.56}),  # η_k τ_k = 4/(k+1) · k^(1/2)
        ("1/alpha", 1.5, {1: 2.0, 8: 16.0 / 9.0, 27: 9.0 / 7.0}),  # η_k τ_k = 4/(k+1) · k^(2/3)
    ],
)
def test_the_kernel_steps_by_eta_k_times_tau_k_when_every_step_clips(method, power, alpha, hand):
    # Spike noise with p = 1/2 has |ξ| = s·2^(1/α) every step; with s = 1e6 every gradient is clipped, so
    # in d = 1 each step of GClip/CClip moves by exactly η_k τ_k (μ = 1, τ0 = 1, the default schedules).
    steps = max(hand)
    res = synthclip.simulate(
        method,
        noise="spike",
        alpha=alpha,
        scale=1e6,
        spike_prob=0.5,
        x0=0.0,
        clip_power=power,
        dim=1,
        steps=steps,
        n_traj=3,
        seed=4,
        checkpoints=range(1, steps + 1),
        keep_iterates=True,
    )
    x = np.concatenate([np.zeros((3, 1)), res.iterates[:, :, 0]], axis=1)
    moves = np.abs(np.diff(x, axis=1))
    for k, want in hand.items():
        np.testing.assert_allclose(moves[:, k - 1], want, rtol=1e-12)
    # negative control: the other clip exponent gives other moves at k > 1
    other = {"alpha-1": 1.0 / alpha, "1/alpha": alpha - 1.0}[power]
    k = max(hand)
    assert not np.allclose(moves[:, k - 1], 4.0 / (k + 1) * k**other, rtol=1e-6)


def test_kernel_vector_resolves_eta_lr_to_the_step_size():
    spec = methods.get("adam_norm")
    vector = dict(
        zip(methods.KERNEL_FIELDS, methods.kernel_vector(spec, spec.validate({"eta": "lr", "lr": 0.25}, "method"), 1.5))
    )
    assert vector["eta"] == 0.25 and vector["lr"] == 0.25
    assert math.isclose(
        dict(zip(methods.KERNEL_FIELDS, methods.kernel_vector(spec, spec.validate({}, "method"), 1.5)))["eta"], 1.0
    )
