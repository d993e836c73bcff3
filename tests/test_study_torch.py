"""The torch studies: quick runs write their tables and figures, tail estimates come with intervals,
failed seeds are counted, and bad input (flags, a missing CUDA or torch) exits 2 with one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from synthclip.study import cli  # noqa: E402
from synthclip.study.torch_noise import verdict  # noqa: E402
from synthclip.study.torch_rates import pair_verdict  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def noise_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("torch-noise")
    assert cli.main(["torch-noise", "--quick", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def rates_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("torch-rates")
    assert cli.main(["torch-rates", "--quick", "--quiet", "--out", str(out)]) == 0
    return out


def test_torch_noise_quick_writes_tables_and_figure(noise_folder):
    for name in ("tails", "norms", "probes", "verdicts", "models"):
        assert (noise_folder / f"{name}.parquet").exists(), name
    assert (noise_folder / "torch-noise.png").stat().st_size > 0
    assert "Figure 1" in (noise_folder / "report.txt").read_text()
    verdicts = pd.read_parquet(noise_folder / "verdicts.parquet")
    # one row per (model, probe point, batch size) of the quick settings: 3 models × 2 points × 1 size
    assert len(verdicts) == 6 and set(verdicts["model"]) == {"text-transformer", "digits-cnn", "digits-mlp"}
    assert set(verdicts["verdict"]) <= {"heavy-tailed", "light", "inconclusive"}
    models = pd.read_parquet(noise_folder / "models.parquet")
    assert list(models["model"]) == ["text-transformer", "digits-cnn", "digits-mlp"]


def test_torch_noise_tail_estimates_are_finite_with_intervals(noise_folder):
    tails = pd.read_parquet(noise_folder / "tails.parquet")
    for sample in ("norm", "vector"):
        rows = tails[(tails["layer"] == "all") & (tails["sample"] == sample)]
        assert len(rows) == 6
        a, lo, hi = (rows[c].to_numpy() for c in ("alpha", "ci_low", "ci_high"))
        assert np.all(np.isfinite(a)) and np.all(np.isfinite(hi))
        assert np.all((lo <= a) & (a <= hi) & (lo < hi))
    # per-layer estimates too: the transformer's layers each have a Hill row
    layers = tails[(tails["model"] == "text-transformer") & (tails["sample"] == "norm") & (tails["layer"] != "all")]
    assert {"blocks.0.qkv", "head", "tok"} <= set(layers["layer"])
    norms = pd.read_parquet(noise_folder / "norms.parquet")
    assert np.all(norms["norm"] > 0)


def test_torch_noise_figure_redraws_from_stored_tables(noise_folder, capsys):
    (noise_folder / "torch-noise.png").unlink()
    code, out, _ = _run(["plot", str(noise_folder)], capsys)
    assert code == 0 and (noise_folder / "torch-noise.png").stat().st_size > 0


def test_torch_rates_quick_writes_quantiles_failures_and_figure(rates_folder):
    for name in ("quantiles", "endpoints", "slopes", "failures", "losses", "clipping"):
        assert (rates_folder / f"{name}.parquet").exists(), name
    assert (rates_folder / "torch-rates.png").stat().st_size > 0
    q = pd.read_parquet(rates_folder / "quantiles.parquet")
    q = q[q["statistic"] == "quantile"]
    assert set(q["method"]) == {"sgd", "gclip", "adam_norm", "clip_adam_norm"}
    assert set(q["quantile"]) == {0.5, 0.9, 0.99}
    assert np.all(np.isfinite(q["value"])) and np.all(q["ci_low"] <= q["value"])
    failures = pd.read_parquet(rates_folder / "failures.parquet")
    assert np.all(failures["n_failed"] == 0) and np.all(failures["n_seeds"] == 8)
    clipping = pd.read_parquet(rates_folder / "clipping.parquet")
    assert {(r.unclipped, r.clipped) for r in clipping.itertuples()} == {("sgd", "gclip"),
                                                                         ("adam_norm", "clip_adam_norm")}
    assert set(clipping["metric"]) == {"final", "rise"}
    assert set(clipping["verdict"]) <= {"lowers", "raises", "overlaps"}
    ends = pd.read_parquet(rates_folder / "endpoints.parquet")
    rise = ends[ends["metric"] == "rise"]
    assert np.all(rise["value"] >= 0) and len(rise) == 4 * 3


def test_torch_rates_counts_failed_seeds_with_a_huge_step(tmp_path, capsys):
    # lr 1e37 overflows float32 within a few steps: every seed fails, and failures count as +inf
    code, out, _ = _run(["torch-rates", "--quick", "--quiet", "--out", str(tmp_path), "--methods", "sgd",
                         "--lr-sgd", "1e37", "--n-seeds", "6", "--steps", "6", "--checkpoints", "3"], capsys)
    assert code == 0
    failures = pd.read_parquet(tmp_path / "failures.parquet")
    assert failures["n_failed"].iloc[0] == 6 and failures["p_fail"].iloc[0] == 1.0
    assert 1 <= failures["first_fail_step"].iloc[0] <= 6
    q = pd.read_parquet(tmp_path / "quantiles.parquet")
    assert np.all(np.isinf(q[(q["statistic"] == "quantile") & (q["k"] == 6)]["value"]))
    ends = pd.read_parquet(tmp_path / "endpoints.parquet")
    assert np.all(np.isposinf(ends["value"]))
    assert "6/6" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("study", ["torch-noise", "torch-rates"])
def test_cuda_without_cuda_exits_2_with_one_line(study, tmp_path, capsys):
    code, out, err = _run([study, "--quick", "--device", "cuda", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "CUDA is not available" in err
    assert not list(tmp_path.glob("*.parquet"))


@pytest.mark.parametrize("argv, flag", [
    (["torch-noise", "--models", "resnet"], "--models"),
    (["torch-noise", "--probe-at", "-1"], "--probe-at"),
    (["torch-noise", "--n-batches", "4"], "--n-batches"),
    (["torch-noise", "--batch-sizes", "0"], "--batch-sizes"),
    (["torch-noise", "--optimizer", "lbfgs"], "--optimizer"),
    (["torch-noise", "--lr", "-1"], "--lr"),
    (["torch-noise", "--device", "tpu"], "--device"),
    (["torch-rates", "--methods", "bogus"], "--methods"),
    (["torch-rates", "--tasks", "imagenet"], "--tasks"),
    (["torch-rates", "--lr-sgd", "0"], "--lr-sgd"),
    (["torch-rates", "--clip", "-2"], "--clip"),
    (["torch-rates", "--quantiles", "0.5,1.5"], "--quantiles"),
    (["torch-rates", "--n-seeds", "-1"], "--n-seeds"),
    (["torch-rates", "--steps", "ten"], "--steps"),
])
def test_bad_flags_exit_2_naming_the_flag(argv, flag, tmp_path, capsys):
    code, out, err = _run([*argv, "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and flag in err, err


@pytest.mark.parametrize("study", ["torch-noise", "torch-rates"])
def test_missing_torch_exits_2_with_one_line(study, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    code, out, err = _run([study, "--quick", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "needs PyTorch" in err


def test_importing_the_studies_does_not_import_torch():
    code = "import sys, synthclip.study; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_gpu_check_script_smoke_runs_on_cpu_with_the_numba_stub(tmp_path):
    # the prepared GPU script, at tiny sizes on CPU, through the path a machine without numba takes
    script = Path(__file__).resolve().parent.parent / "studies" / "gpu_check.py"
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(script), "--smoke", "--no-numba", str(out)], check=True, env=env,
                   capture_output=True, timeout=300)
    data = json.loads(out.read_text())
    assert data["errors"] == {} and data["preflight"]["numba_stub"] is True
    runs = data["throughput"]["runs"]
    assert runs and all(r["n_failed"] == 0 and r["throughput"] > 0 for r in runs)
    assert data["throughput"]["cpu_reference"]
    assert {m["model"] for m in data["noise"]["models"]} == {"text-transformer", "digits-cnn", "digits-mlp"}
    assert all(np.isfinite(v["hill_alpha"]) for v in data["noise"]["verdicts"])


def test_verdict_rules():
    assert verdict(0.8, 1.9) == "heavy-tailed"
    assert verdict(2.1, 9.0) == "light"
    assert verdict(1.5, 2.5) == "inconclusive"  # an interval containing 2 decides nothing
    assert pair_verdict((1.0, 2.0), (0.2, 0.9)) == "lowers"
    assert pair_verdict((1.0, 2.0), (2.1, 3.0)) == "raises"
    assert pair_verdict((1.0, 2.0), (1.5, np.inf)) == "overlaps"
