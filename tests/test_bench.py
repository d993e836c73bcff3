"""The benchmark runs and writes its numbers (timings are reported, never asserted)."""
import json

import pytest

from synthclip import bench


def test_bench_writes_json(tmp_path):
    assert bench.main(["--n-traj", "256", "--work", "2e5", "--repeat", "1", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "latest.json").read_text())
    assert [r["d"] for r in result["speed"]] == [1, 10, 100]
    for r in result["speed"]:
        assert r["ratio_vs_numpy"] > 0 and r["fraction_of_noise_only"] > 0
    assert result["startup"]["second_process_s"] > 0
    assert {r["noise"] for r in result["laws"]} == {"gaussian", "pareto", "stable", "pareto-onesided", "spike"}


def test_reference_implementations_agree_in_law():
    # numpy and torch references draw from different generators: compare the law of x̄, not values.
    pytest.importorskip("torch")
    a = bench.numpy_gclip(4000, 30, 1, 1.5)[:, 0]
    b = bench.torch_gclip(4000, 30, 1, 1.5).numpy()[:, 0]
    from scipy import stats

    assert stats.ks_2samp(a, b).pvalue > 1e-4  # two correct samplers fail this with probability 1e-4
