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

from synthclip.harness import cli  # noqa: E402
from synthclip.study.torch_noise import verdict  # noqa: E402

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


def test_torch_noise_quick_writes_tables_and_figure(noise_folder):
    from synthclip.study.torch_noise import FIGURE4_ONLY, TASKS

    for name in ("tails", "norms", "probes", "hill", "windows", "claims", "verdicts", "models"):
        assert (noise_folder / f"{name}.parquet").exists(), name
    assert (noise_folder / "torch-noise.png").stat().st_size > 0
    assert "Figure 1" in (noise_folder / "report.txt").read_text()
    verdicts = pd.read_parquet(noise_folder / "verdicts.parquet")
    # one row per probe of the quick settings: 2 replicates × (6 tasks × 2 points + Figure 4's 3 at step 0)
    assert len(FIGURE4_ONLY) == 3 and len(verdicts) == 2 * (6 * 2 + 3) and set(verdicts["model"]) == set(TASKS)
    # on the quick run's data: no probe reads heavy-tailed at this size, and the vision tasks read light
    assert set(verdicts["verdict"]) == {"light", "inconclusive"}
    digits = verdicts[verdicts["model"].str.startswith("digits")]
    assert len(digits) == 8 and (digits["verdict"] == "light").all()
    models = pd.read_parquet(noise_folder / "models.parquet")
    assert list(models["model"]) == list(TASKS)
    claims = pd.read_parquet(noise_folder / "claims.parquet")
    assert set(claims["verdict"]) == {"reproduced", "not reproduced", "inconclusive"}
    # seed 000's tier (text norms heavy-tailed, vision not) is reproduced on both replicates
    seed000 = claims[claims["claim"].str.startswith("seed 000")]
    assert len(seed000) == 2 and (seed000["verdict"] == "reproduced").all()
    # 2 replicates give no finite Mann–Whitney interval: every comparison of two tasks is inconclusive
    fig1 = claims[claims["claim"] == "Figure 1 (tier i)"]
    assert len(fig1) == 2 and (fig1["verdict"] == "inconclusive").all()
    windows = pd.read_parquet(noise_folder / "windows.parquet")
    assert set(windows["model"]) == {t for t in TASKS if not t.startswith("digits")}
    assert windows["text"].str.len().min() > 0


def test_torch_noise_tail_estimates_are_finite_with_intervals(noise_folder):
    tails = pd.read_parquet(noise_folder / "tails.parquet")
    for sample in ("norm", "vector"):
        rows = tails[(tails["layer"] == "all") & (tails["sample"] == sample)]
        assert len(rows) == 30
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("study", ["torch-noise"])  # torch-rates: tests/test_study_torch_rates.py
def test_cuda_without_cuda_exits_2_with_one_line(study, tmp_path, capsys):
    code, out, err = _run([study, "--quick", "--device", "cuda", "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "CUDA is not available" in err
    assert not list(tmp_path.glob("*.parquet"))


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["torch-noise", "--models", "resnet"], "--models"),
        (["torch-noise", "--probe-at", "-1"], "--probe-at"),
        (["torch-noise", "--n-batches", "4"], "--n-batches"),
        (["torch-noise", "--batch-sizes", "0"], "--batch-sizes"),
        (["torch-noise", "--optimizer", "lbfgs"], "--optimizer"),
        (["torch-noise", "--lr", "-1"], "--lr"),
        (["torch-noise", "--device", "tpu"], "--device"),
        (["torch-noise", "--n-seeds", "0"], "--n-seeds"),
        (["torch-noise", "--verdict-step", "-3"], "--verdict-step"),
        (["torch-noise", "--models", "words-transformer,words-transformer"], "--models"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv, flag, tmp_path, capsys):
    code, out, err = _run([*argv, "--out", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and flag in err, err


@pytest.mark.parametrize("study", ["torch-noise"])  # torch-rates: tests/test_study_torch_rates.py
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
    subprocess.run(
        [sys.executable, str(script), "--smoke", "--no-numba", str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=400,
    )
    data = json.loads(out.read_text())
    assert data["errors"] == {} and data["preflight"]["numba_stub"] is True
    runs = data["throughput"]["runs"]
    assert runs and all(r["n_failed"] == 0 and r["throughput"] > 0 for r in runs)
    assert data["throughput"]["cpu_reference"]
    # every model is probed, or (a machine slower than the smoke budget allows) recorded as skipped for time
    probed = {m["model"] for m in data["noise"]["models"]}
    skipped = {s.rsplit(" step ", 1)[0] for s in data.get("noise_skipped_for_time", [])}
    assert "text-transformer" in probed and probed | skipped == {"text-transformer", "digits-cnn", "digits-mlp"}
    assert all(np.isfinite(v["hill_alpha"]) for v in data["noise"]["verdicts"])


def test_verdict_rules():
    assert verdict(0.8, 1.9) == "heavy-tailed"
    assert verdict(2.1, 9.0) == "light"
    assert verdict(1.5, 2.5) == "inconclusive"  # an interval containing 2 decides nothing
