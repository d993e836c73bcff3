"""Running a study's cells: cache, parallel execution (joblib, or dask.distributed through joblib), progress.

A cell's result depends only on the cell dict (which holds its parameters and seed) and the package
version, so it is cached under ``sha256(study, cell, version)``: each finished cell is written atomically
(one parquet per table, then a JSON marker last), a rerun skips cells whose marker and tables load, and
a cell whose files are corrupt is recomputed. Killing a run therefore loses only the cells in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__, io
from .base import StudyError, registered


def cell_key(study: str, cell: Mapping[str, Any]) -> str:
    text = json.dumps({"study": study, "cell": cell, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class CellCache:
    """One folder per study holding ``<key>.<table>.parquet`` files and a ``<key>.json`` marker."""

    def __init__(self, root: Path, study: str):
        self.dir = Path(root) / ".cache" / study
        self.study = study

    def _marker(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def load(self, key: str) -> dict[str, pd.DataFrame] | None:
        marker = self._marker(key)
        if not marker.exists():
            return None
        try:
            info = io.read_json(marker)
            return {name: io.read_parquet(self.dir / f"{key}.{name}.parquet") for name in info["tables"]}
        except Exception:  # a truncated or corrupt cell is recomputed, never trusted
            marker.unlink(missing_ok=True)
            return None

    def store(self, key: str, cell: Mapping[str, Any], tables: Mapping[str, pd.DataFrame], seconds: float) -> None:
        for name, frame in tables.items():
            io.write_parquet(frame, self.dir / f"{key}.{name}.parquet")
        io.write_json(
            {"cell": cell, "tables": sorted(tables), "seconds": seconds, "version": __version__}, self._marker(key)
        )

    def seconds(self, key: str) -> float:
        try:
            return float(io.read_json(self._marker(key)).get("seconds", 0.0))
        except Exception:
            return 0.0


def _execute(study_name: str, cell: Mapping[str, Any], key: str, cache_root: str, threads: int | None, progress=None):
    """Compute one cell and store it (runs in a worker process; module-level so it pickles)."""
    study = registered()[study_name]
    start = time.perf_counter()
    tables = study.run_cell(cell, threads=threads, progress=progress)
    seconds = time.perf_counter() - start
    CellCache(Path(cache_root), study_name).store(key, cell, tables, seconds)
    return key, seconds


def _show_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty() and not os.environ.get("CI")


def run_cells(
    study_name: str,
    cells: list[dict],
    *,
    cache_root: Path,
    jobs: int = 0,
    backend: str = "loky",
    scheduler: str = "",
    force: bool = False,
    quiet: bool = False,
) -> tuple[list[dict], dict]:
    """Results of every cell, in order, computing the missing ones; returns (tables per cell, timing info)."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    cache = CellCache(cache_root, study_name)
    keys = [cell_key(study_name, c) for c in cells]
    todo = [i for i, k in enumerate(keys) if force or cache.load(k) is None]
    cores = os.cpu_count() or 1
    n_jobs = min(len(todo), jobs or cores) if todo else 1
    threads = max(1, cores // max(1, n_jobs))
    start = time.perf_counter()
    bar = tqdm(
        total=len(cells),
        initial=len(cells) - len(todo),
        desc=study_name,
        unit="cell",
        disable=not _show_progress(quiet),
    )
    calls = [delayed(_execute)(study_name, cells[i], keys[i], str(cache_root), threads) for i in todo]
    if todo:
        if backend == "dask":
            _run_dask(calls, n_jobs, scheduler, bar)
        elif n_jobs == 1:
            for i in todo:
                # In-process cells also show a bar over their trajectories (chunks of the simulation).
                with tqdm(
                    total=cells[i].get("n_traj", 0),
                    desc=str(cells[i].get("label", "")),
                    unit="traj",
                    leave=False,
                    disable=not _show_progress(quiet),
                ) as inner:
                    _execute(
                        study_name, cells[i], keys[i], str(cache_root), threads, None if inner.disable else inner.update
                    )
                bar.update()
        else:
            for _ in Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")(calls):
                bar.update()
    bar.close()
    results = []
    for i, k in enumerate(keys):
        tables = cache.load(k)
        if tables is None:
            raise RuntimeError(f"cell {i} of study {study_name!r} produced no readable result")
        results.append(tables)
    timing = {
        "wall_seconds": time.perf_counter() - start,
        "cells": len(cells),
        "computed": len(todo),
        "cached": len(cells) - len(todo),
        "jobs": n_jobs,
        "threads_per_job": threads,
        "backend": backend,
        "cell_seconds": [cache.seconds(k) for k in keys],
    }
    return results, timing


def _run_dask(calls, n_jobs: int, scheduler: str, bar) -> None:
    """Run the calls on a dask.distributed cluster through joblib's dask backend."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise StudyError("--backend dask needs dask.distributed: pip install 'dask[distributed]'") from None
    from joblib import Parallel, parallel_config

    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="5s")
            except (OSError, TimeoutError) as err:
                raise StudyError(f"--scheduler: cannot reach dask scheduler {scheduler!r} ({err})") from None
        else:
            cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        with client, parallel_config(backend="dask"):
            for _ in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(calls):
                bar.update()
    finally:
        if cluster is not None:
            cluster.close()
