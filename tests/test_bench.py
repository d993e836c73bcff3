"""The benchmark runs and writes its numbers (timings are reported, never asserted)."""

import json

import numpy as np
import pytest

from synthclip import bench


def test_bench_writes_json(tmp_path):
    assert bench.main(["--n-traj", "256", "--work", "2e5", "--repeat", "1", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "latest.json").read_text())
    assert [r["d"] for r in result["speed"]] == [1, 10, 100]
    # timings are not asserted; each reported ratio must be the quotient of the two rates it names
    for r in result["speed"]:
        engine = r["engine_coord_steps_per_s"]
        for ratio, other in (
            ("ratio_vs_numpy", "numpy_coord_steps_per_s"),
            ("fraction_of_noise_only", "noise_only_coord_steps_per_s"),
            ("ratio_vs_reference_kernel", "reference_kernel_coord_steps_per_s"),
        ):
            assert np.isfinite(r[other]) and r[other] > 0, other
            assert r[ratio] == engine / r[other], ratio
    assert set(result["startup"]) == {"first_process_s", "second_process_s"}
    from synthclip.noise import NOISES

    assert {r["noise"] for r in result["laws"]} == set(NOISES)  # every registered law is timed


@pytest.mark.parametrize("d", [1, 5])
def test_the_frozen_reference_kernel_is_the_contracts_gclip_bit_for_bit(d):
    # the bench times the contract's GClip against the pre-contract kernel: both must compute the same run
    frozen = bench.reference_gclip(100, 300, d, 1.5)
    res = bench.simulate("gclip", noise="pareto", alpha=1.5, dim=d, steps=300, n_traj=100, checkpoints=10)
    np.testing.assert_array_equal(frozen, res._metrics)
    # negative control: another seed is another run
    assert not np.array_equal(bench.reference_gclip(100, 300, d, 1.5, seed=1), res._metrics)


def test_reference_implementations_agree_in_law():
    # numpy and torch references draw from different generators: compare the law of x̄, not values.
    pytest.importorskip("torch")
    a = bench.numpy_gclip(4000, 30, 1, 1.5)[:, 0]
    b = bench.torch_gclip(4000, 30, 1, 1.5).numpy()[:, 0]
    from scipy import stats

    assert stats.ks_2samp(a, b).pvalue > 1e-4  # two correct samplers fail this with probability 1e-4
