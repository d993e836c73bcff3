"""Sweeps: the same bits for any number of jobs and on dask, kill-and-resume, corrupt cache cells."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from synthclip.harness import cli

# one tail index per α (--tail-offsets 0): the sweep machinery is under test, not the tails
SWEEP = [
    "rates",
    "--alpha",
    "1.2,1.5,1.8,2.0",
    "--tail-offsets",
    "0",
    "--methods",
    "gclip,sgd",
    "--n-traj",
    "300",
    "--steps",
    "400",
    "--n-boot",
    "40",
    "--quiet",
]


def tables(root: Path) -> dict:
    """Every parquet table under a results root, keyed by relative path (meta.json holds timings)."""
    return {str(p.relative_to(root)): pd.read_parquet(p) for p in sorted(root.glob("alpha=*/*.parquet"))}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) == 8
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    root = tmp_path_factory.mktemp("serial")
    assert cli.main([*SWEEP, "--jobs", "1", "--out", str(root)]) == 0
    return root


def test_sweep_expands_lists_into_one_folder_per_alpha(serial):
    assert sorted(p.name for p in serial.glob("alpha=*")) == ["alpha=1.2", "alpha=1.5", "alpha=1.8", "alpha=2"]


def test_two_jobs_give_identical_tables(serial, tmp_path):
    assert cli.main([*SWEEP, "--jobs", "2", "--out", str(tmp_path)]) == 0
    assert_same(tables(serial), tables(tmp_path))


def test_dask_backend_gives_identical_tables(serial, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        assert (
            cli.main([*SWEEP, "--backend", "dask", "--scheduler", cluster.scheduler_address, "--out", str(tmp_path)])
            == 0
        )
    assert_same(tables(serial), tables(tmp_path))


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    code = cli.main([*SWEEP, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--scheduler: cannot reach dask scheduler" in err and "\n" not in err


def test_corrupt_cached_cell_is_recomputed(serial, tmp_path, capsys):
    assert cli.main([*SWEEP, "--out", str(tmp_path)]) == 0
    cells = sorted((tmp_path / ".cache" / "rates").glob("*.quantiles.parquet"))
    cells[0].write_bytes(cells[0].read_bytes()[:100])  # truncate one finished cell
    capsys.readouterr()
    assert cli.main([*SWEEP, "--out", str(tmp_path)]) == 0
    assert "1 cells computed, 7 cached" in capsys.readouterr().out
    assert_same(tables(serial), tables(tmp_path))


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    # Cells big enough that the SIGKILL lands mid-sweep, once two cells are on disk.
    big = [
        "rates",
        "--alpha",
        "1.2,1.5,1.8,2.0",
        "--tail-offsets",
        "0",
        "--methods",
        "gclip,sgd",
        "--n-traj",
        "3000",
        "--steps",
        "3000",
        "--n-boot",
        "40",
        "--quiet",
        "--jobs",
        "1",
        "--out",
    ]
    command = [sys.executable, "-m", "synthclip.study", *big]
    proc = subprocess.Popen([*command, str(tmp_path / "killed")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cache = tmp_path / "killed" / ".cache" / "rates"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(cache.glob("*.json"))) < 2 and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= len(list(cache.glob("*.json"))) < 8
    assert not list((tmp_path / "killed").glob("alpha=*/quantiles.parquet"))  # outputs come after all cells
    resumed = subprocess.run([*command, str(tmp_path / "killed")], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "cached" in resumed.stdout
    uninterrupted = subprocess.run([*command, str(tmp_path / "whole")], capture_output=True, text=True)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert_same(tables(tmp_path / "whole"), tables(tmp_path / "killed"))
