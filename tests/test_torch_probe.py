"""The gradient-noise probe: shapes and finite tail indices with intervals on the digits model, and a
positive/negative control on least squares where the tail index of the noise is known."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("one_torch_thread")

from synthclip.torch import models, probe  # noqa: E402
from synthclip.torch.data import ArrayData  # noqa: E402


def test_probe_on_digits_gives_finite_tail_indices_with_intervals():
    task = models.make_task("digits-mlp", hidden=16)
    model = task.build_model(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    probes = probe.probe_training(model, task.loss_fn, task.data, opt, probe_at=[0, 20], train_batch_size=16,
                                  batch_size=16,
                                  n_batches=100, coords_per_layer=64)
    assert [p.step for p in probes] == [0, 20]
    p = probes[-1]
    assert p.layers == ["layers.0", "layers.1", "head"]
    assert p.norms.shape == (100,) and p.layer_norms.shape == (100, 3)
    assert p.coords.shape == (100, 3 * 64) and p.coord_layer.shape == (3 * 64,)
    np.testing.assert_allclose(p.norms, np.linalg.norm(p.layer_norms, axis=1), rtol=1e-6)
    assert p.full_size == 1797 and np.all(p.full_grad_norms > 0)
    # the noise is centred: its batch average is small next to its typical size
    assert np.abs(p.coords.mean(axis=0)).max() < 0.5 * np.abs(p.coords).max()
    tails = probe.tail_table(probes)
    assert set(tails["sample"]) == {"norm", "vector", "coord"}
    assert set(tails["layer"]) == {"all", "layers.0", "layers.1", "head"}
    for sample in ("norm", "vector"):
        row = p.tail("all", sample)
        assert np.isfinite(row["alpha"]) and row["ci_low"] <= row["alpha"] <= row["ci_high"] < np.inf
    head = tails[(tails["layer"] == "head") & (tails["sample"] == "norm")]
    assert np.all(np.isfinite(head[["alpha", "ci_low", "ci_high"]].to_numpy()))


def _regression(noise: str, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 3))
    eps = rng.standard_t(1.5, size=n) if noise == "t1.5" else rng.standard_normal(n)
    y = x @ np.array([1.0, -2.0, 0.5]) + eps
    return ArrayData(torch.tensor(x), torch.tensor(y))


def _mse(out, y):
    return ((out.squeeze(-1) - y) ** 2).mean()


@pytest.mark.parametrize("noise", ["t1.5", "gauss"])
def test_probe_sees_the_known_tail_of_least_squares(noise):
    # with batch size 1, ξ = x_i (x_i·w − y_i) − ∇f has the tail of the residual: index 1.5 for Student t
    # with 1.5 degrees of freedom, no power tail for Gaussian residuals (Hill's α grows past 3)
    model = torch.nn.Linear(3, 1).double()
    p = probe.gradient_noise(model, _mse, _regression(noise), n_batches=400, batch_size=1)
    row = p.tail("all", "norm")
    if noise == "t1.5":
        assert row["ci_low"] <= 1.5 <= row["ci_high"]
    else:
        assert row["alpha"] > 3.0


def test_too_few_batches_is_a_value_error():
    model = torch.nn.Linear(3, 1).double()
    with pytest.raises(ValueError, match="n_batches"):
        probe.gradient_noise(model, _mse, _regression("gauss"), n_batches=4)
