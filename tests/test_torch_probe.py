"""The gradient-noise probe: shapes and finite tail indices with intervals on the digits model, and a
positive/negative control on least squares where the tail index of the noise is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("one_torch_thread")

from synthclip.torch import models, probe  # noqa: E402
from synthclip.torch.data import ArrayData  # noqa: E402


def test_probe_on_digits_gives_finite_tail_indices_with_intervals():
    task = models.make_task("digits-mlp", hidden=16)
    model = task.build_model(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    probes = probe.probe_training(
        model,
        task.loss_fn,
        task.data,
        opt,
        probe_at=[0, 20],
        train_batch_size=16,
        batch_size=16,
        n_batches=100,
        coords_per_layer=64,
    )
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


def test_probe_records_its_draws_and_a_shared_full_gradient_changes_nothing():
    task = models.make_task("digits-cnn")
    model = task.build_model(3)
    a = probe.gradient_noise(
        model, task.loss_fn, task.data, n_batches=20, batch_size=2, key=5, step=7, coords_per_layer=8
    )
    full = probe.full_gradient(model, task.loss_fn, task.data)
    b = probe.gradient_noise(
        model, task.loss_fn, task.data, n_batches=20, batch_size=2, key=5, step=7, coords_per_layer=8, full=full
    )
    assert np.array_equal(a.norms, b.norms) and np.array_equal(a.coords, b.coords)  # bit for bit
    from synthclip.torch.data import derive_seed

    want = [task.data.batch(derive_seed(5, "probe", 7), i, 2)[1] for i in range(20)]
    assert a.indices.shape == (20, 2)
    assert all(torch.equal(task.data.targets[torch.as_tensor(a.indices[i])], want[i]) for i in range(20))


def test_coordinate_view_sees_a_scale_mixture_as_heavy():
    # the noise vector's coordinates: Gaussian, but at scales spread over four decades (as across layers):
    # Mohammadi's α over one draw's coordinates lies far below 2; with equal scales (the negative control)
    # it is near 2
    rng = np.random.default_rng(0)
    scales = 10.0 ** rng.uniform(-2, 2, 2000)
    fake = probe.NoiseProbe(
        step=0,
        layers=["a"],
        norms=np.ones(16),
        layer_norms=np.ones((16, 1)),
        coords=rng.standard_normal((16, 2000)) * scales,
        coord_layer=np.zeros(2000, int),
        full_grad_norms=np.ones(1),
        batch_size=1,
        full_size=1,
    )
    mixed = probe.coordinate_view(fake)
    fake.coords = rng.standard_normal((16, 2000))
    equal = probe.coordinate_view(fake)
    assert mixed["coord_draws"] == equal["coord_draws"] == 16
    assert mixed["coord_alpha"] < 1.2 and mixed["coord_below2"] == 1.0
    assert 1.7 < equal["coord_alpha"] < 2.3


def test_same_seed_gives_bit_identical_study_cells():
    from synthclip.study.torch_noise import probe_cell

    cell = {
        "model": "words-transformer",
        "replicate": 1,
        "steps": [0, 2],
        "wide_steps": [2],
        "batch_sizes": [1, 2],
        "n_batches": 16,
        "optimizer": "adam",
        "lr": 1e-3,
        "train_batch_size": 4,
        "full_size": 32,
        "coords_per_layer": 4,
        "confidence": 0.95,
        "seed": 0,
        "device": "cpu",
    }
    one, two = probe_cell(cell), probe_cell(cell)
    assert set(one) == {"tails", "norms", "probes", "hill", "windows"}
    for name in ("norms", "hill", "windows"):
        pd.testing.assert_frame_equal(one[name], two[name])
    drop = ["seconds", "train_seconds"]
    pd.testing.assert_frame_equal(one["probes"].drop(columns=drop), two["probes"].drop(columns=drop))
    assert sorted(zip(one["probes"]["step"], one["probes"]["batch_size"])) == [(0, 1), (2, 1), (2, 2)]
    assert len(one["windows"]) == 2 * 5 and one["windows"]["text"].str.len().min() > 0
    other = probe_cell({**cell, "replicate": 2})
    assert not np.array_equal(other["norms"]["norm"], one["norms"]["norm"])


def test_pooled_view_reads_a_scale_mixture_as_heavy_and_equal_scales_as_light():
    # Şimşekli et al.'s practice pools every coordinate of every draw: Gaussian coordinates at scales spread
    # over three decades read far below 2 (a scale mixture), equal scales (the negative control) read 2.
    # Measured at this seed: 1.53 [1.49, 1.57] and 2.01 [1.93, 2.11].
    rng = np.random.default_rng(0)
    scales = 10.0 ** np.linspace(-1.5, 1.5, 500)
    views = {}
    for name, coords in (
        ("mixed", rng.standard_normal((200, 500)) * scales),
        ("equal", rng.standard_normal((200, 500))),
    ):
        fake = probe.NoiseProbe(
            step=0,
            layers=["a"],
            norms=np.ones(200),
            layer_norms=np.ones((200, 1)),
            coords=coords,
            coord_layer=np.zeros(500, int),
            full_grad_norms=np.ones(1),
            batch_size=1,
            full_size=1,
        )
        views[name] = probe.pooled_view(fake)
    assert views["mixed"]["pooled_k1"] == 250 and views["mixed"]["pooled_n"] == 100_000  # 250 = max divisor ≤ √N
    assert views["mixed"]["pooled_ci_high"] < 1.8
    assert views["equal"]["pooled_ci_low"] <= 2.0 <= views["equal"]["pooled_ci_high"] + 0.1


def test_largest_divisor_block_rule():
    assert probe.largest_divisor_at_most_sqrt(100) == 10
    assert probe.largest_divisor_at_most_sqrt(96) == 8
    assert probe.largest_divisor_at_most_sqrt(97) == 1  # prime: pooled_view falls back to ⌊√N⌋ blocks


def test_pooled_view_of_a_prime_count_uses_root_n_blocks():
    # N = 9973 (prime): the divisor rule would give blocks of 1; the view uses ⌊√N⌋ = 99 and stays small
    rng = np.random.default_rng(1)
    coords = rng.standard_normal((1, 9973))
    fake = probe.NoiseProbe(
        step=0,
        layers=["a"],
        norms=np.ones(1),
        layer_norms=np.ones((1, 1)),
        coords=coords,
        coord_layer=np.zeros(9973, int),
        full_grad_norms=np.ones(1),
        batch_size=1,
        full_size=1,
    )
    view = probe.pooled_view(fake)
    assert view["pooled_k1"] == 99 and view["pooled_n"] == 9973 and np.isfinite(view["pooled_alpha"])


def test_coordinate_view_keeps_infinite_alpha_as_light():
    # Gaussian coordinates, 16 per draw: Mohammadi's 1/α̂ is ≤ 0 on some draws (α̂ = +inf, a light tail).
    # Those draws count: dropping them would move the median and the "below 2" fraction toward heavy.
    from synthclip import stats

    rng = np.random.default_rng(3)
    coords = rng.standard_normal((64, 16))
    fake = probe.NoiseProbe(
        step=0,
        layers=["a"],
        norms=np.ones(64),
        layer_norms=np.ones((64, 1)),
        coords=coords,
        coord_layer=np.zeros(16, int),
        full_grad_norms=np.ones(1),
        batch_size=1,
        full_size=1,
    )
    est = [stats.mohammadi(row, confidence=0.95) for row in coords]
    alphas = np.array([e.alpha for e in est])
    assert np.sum(np.isposinf(alphas)) == 3  # the data hold draws with α̂ = +inf
    view = probe.coordinate_view(fake, n_draws=64)
    assert view["coord_draws"] == 64
    assert view["coord_alpha"] == np.median(alphas)
    assert view["coord_below2"] == np.mean([e.ci_high < 2.0 for e in est])
    # the span of the draws' intervals: below (above) 2 exactly when every draw's interval is
    assert view["coord_ci_low"] == min(e.ci_low for e in est)
    assert view["coord_ci_high"] == max(e.ci_high for e in est) == np.inf
    # the biased reading (finite α̂ only) differs on these data: the test can tell the two apart
    assert np.median(alphas[np.isfinite(alphas)]) < view["coord_alpha"]
