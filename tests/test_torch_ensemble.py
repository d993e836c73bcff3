"""The vmap ensemble: a 1-seed ensemble is the plain training loop with the optimizer class, per-seed
norms, failure counting, device errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("one_torch_thread")

from synthclip.torch import ensemble, models  # noqa: E402
from synthclip.torch.optim import OPTIMIZERS, from_method  # noqa: E402

# Hyper-parameters that make each method clip / adapt on the digits MLP within a few steps (the initial
# gradient norm is about 0.6, its largest coordinate about 0.15).
PARAMS = {
    "sgd": dict(lr=0.5, lr_schedule="constant"),
    "gclip": dict(lr=0.5, lr_schedule="constant", clip=0.1, clip_schedule="poly", clip_power="1/alpha"),
    "cclip": dict(lr=0.5, lr_schedule="constant", clip=0.01, clip_schedule="constant"),
    "acclip": dict(lr=0.01),
    "adagrad_norm": dict(lr=0.5, delayed=True),
    "adam_norm": dict(lr=0.1, eta=2.0),
    "clip_adagrad_norm": dict(lr=0.5, clip=0.2),
    "clip_adam_norm": dict(lr=0.1, clip=0.2, delayed=True),
    # the methods after the seeds (synthclip/methods_extra.py); smom_clip takes 3 draws per step and the ensemble draws one
    "nsgd_m": dict(lr=0.05, beta=0.5),
    "clip_nsgd_m": dict(lr=0.05, clip=0.2, beta=0.5),
    "signsgd_m": dict(lr=0.01, beta=0.5),
    "rmsprop": dict(lr=0.01, beta2=0.9),
    "smom_clip": None,
}


@pytest.fixture(scope="module")
def task64():
    return models.make_task("digits-mlp", dtype=torch.float64, hidden=16)


def plain_loop(task, method, params, key, steps, batch_size, checkpoints, alpha=1.5):
    """The reference: one model, the optimizer class, the same seed key and minibatch stream."""
    model = task.build_model(key)
    opt = from_method(method, model.parameters(), alpha=alpha, **params)
    x_full, y_full = task.data.take(task.data.reference_indices())
    out = []
    for k in range(1, steps + 1):
        x, y = task.data.batch(key, k, batch_size)
        opt.zero_grad()
        task.loss_fn(model(x), y).backward()
        opt.step()
        if k in checkpoints:
            with torch.no_grad():
                out.append(task.loss_fn(model(x_full), y_full).item())
    return np.array(out)


def test_every_method_has_parameters():
    assert set(PARAMS) == set(OPTIMIZERS)


@pytest.mark.parametrize("method", list(OPTIMIZERS))
def test_one_seed_ensemble_is_the_plain_loop(task64, method):
    if PARAMS[method] is None:
        pytest.skip(f"{method} takes several gradient draws per step (see the multi-draw test)")
    steps, batch = 12, 16
    res = ensemble.train_ensemble(
        task64,
        method,
        n_seeds=1,
        steps=steps,
        batch_size=batch,
        seed=3,
        method_params=PARAMS[method],
        alpha=1.5,
        checkpoints=[1, 5, 12],
    )
    want = plain_loop(task64, method, PARAMS[method], res.keys[0], steps, batch, set(res.checkpoints))
    assert res.losses.shape == (1, 3) and not res.failed[0]
    assert abs(want[-1] - want[0]) > 1e-3  # training moved, so the comparison can fail
    np.testing.assert_allclose(res.losses[0], want, rtol=1e-10)


def test_multi_draw_method_is_a_one_line_error(task64):
    with pytest.raises(ValueError, match="smom_clip takes 3 gradient draws per step"):
        ensemble.train_ensemble(
            task64, "smom_clip", n_seeds=2, steps=2, batch_size=16, alpha=1.5, mu=1.0, checkpoints=[2]
        )


@pytest.mark.parametrize("method", ["gclip", "clip_adam_norm"])
def test_norms_are_per_seed(task64, method):
    # seed i sees the same init and batches in any ensemble, and GClip's ‖g‖ and Adam-Norm's b_k are over
    # that seed's parameters only: the first seed's losses do not depend on the other seeds
    kw = dict(steps=8, batch_size=16, seed=5, method_params=PARAMS[method], alpha=1.5, checkpoints=[4, 8])
    one = ensemble.train_ensemble(task64, method, n_seeds=1, **kw)
    three = ensemble.train_ensemble(task64, method, n_seeds=3, **kw)
    np.testing.assert_allclose(three.losses[0], one.losses[0], rtol=1e-10)
    assert not np.allclose(three.losses[1], three.losses[0])


def test_huge_step_size_fails_are_counted_not_dropped(task64):
    # float32: the tanh MLP's gradients are bounded, so the loss only grows like lr and must overflow
    task32 = models.make_task("digits-mlp", dtype=torch.float32, hidden=16)
    res = ensemble.train_ensemble(
        task32,
        "sgd",
        n_seeds=4,
        steps=30,
        batch_size=16,
        method_params={"lr": 1e37, "lr_schedule": "constant"},
        checkpoints=[10, 30],
    )
    assert res.n_failed == 4 and res.losses.shape == (4, 2)
    assert np.all((res.fail_step >= 1) & (res.fail_step <= 30))
    # negative control: the same run with a sane step size fails nowhere
    ok = ensemble.train_ensemble(
        task32,
        "sgd",
        n_seeds=4,
        steps=30,
        batch_size=16,
        method_params={"lr": 0.1, "lr_schedule": "constant"},
        checkpoints=[10, 30],
    )
    assert ok.n_failed == 0 and np.all(ok.fail_step == -1) and np.all(np.isfinite(ok.losses))
    frame = res.to_frame()
    assert len(frame) == 8 and frame["failed"].all()


def test_cuda_without_cuda_is_a_one_line_value_error(task64):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="^device 'cuda' requested but CUDA is not available$"):
        ensemble.train_ensemble(task64, "sgd", device="cuda", method_params={"lr_schedule": "constant"})


def test_bad_method_parameters_raise_before_training(task64):
    with pytest.raises(ValueError, match="unknown parameter"):
        ensemble.train_ensemble(task64, "gclip", method_params={"momentum": 0.9})
    with pytest.raises(ValueError, match="needs mu"):
        ensemble.train_ensemble(task64, "sgd")  # Theorem 4's schedule is the sgd default


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_ensemble_matches_cpu(task64):
    kw = dict(n_seeds=4, steps=10, batch_size=16, method_params=PARAMS["clip_adam_norm"], checkpoints=[5, 10])
    cpu = ensemble.train_ensemble(task64, "clip_adam_norm", **kw)
    gpu = ensemble.train_ensemble(task64, "clip_adam_norm", device="cuda", **kw)
    np.testing.assert_allclose(gpu.losses, cpu.losses, rtol=1e-8)


def test_a_plugin_trains_in_an_ensemble_like_its_plain_loop(task64):
    # a method without a torch rule runs its compiled step, one param group per seed (vmap cannot batch it)
    from pathlib import Path

    from synthclip import methods

    saved, plugins = dict(methods.METHODS), dict(methods._PLUGINS)
    try:
        methods.load_plugin(Path(__file__).resolve().parents[1] / "studies" / "examples" / "my_method.py")
        params = dict(lr_schedule="constant", lr=0.05, clip_schedule="constant", clip=1.0, beta=0.5)
        steps, batch = 12, 16
        res = ensemble.train_ensemble(
            task64,
            "my_method",
            n_seeds=2,
            steps=steps,
            batch_size=batch,
            seed=3,
            method_params=params,
            alpha=1.5,
            checkpoints=[1, 5, 12],
        )
        want = plain_loop(task64, "my_method", params, res.keys[0], steps, batch, set(res.checkpoints))
        assert abs(want[-1] - want[0]) > 1e-3
        np.testing.assert_allclose(res.losses[0], want, rtol=1e-10)
        assert not np.allclose(res.losses[1], res.losses[0])  # seed 1 is another run (per-seed norms and data)
    finally:
        methods.METHODS.clear()
        methods.METHODS.update(saved)
        methods._PLUGINS.clear()
        methods._PLUGINS.update(plugins)
