"""Replay the statistical checks of tests/ on R independent seeds and count how many pass.

A check's stated false-failure rate (e.g. 1e−3 per interval in tests/test_rates.py) is a claim like an
interval's level: this script measures it. Each test file is run by pytest itself, in this process, R times;
replicate r changes every seed the tests draw data with and nothing else:

* ``synthclip.harness.cli.parse`` gets ``--seed 1000 + r`` appended (every study flag set has ``--seed``;
  ``cli.main`` and the tests' fixtures go through ``parse``);
* ``synthclip.simulate`` and ``synthclip.noise.sample`` get ``seed = f"{seed}/replicate-{r}"`` (the rate
  checks and some exact-law checks call them directly).

Checks whose data come from their own generators (e.g. ``numpy.random.default_rng(31)``) replay the same
data every time; their pass counts say nothing and they are listed by name in ``SKIP`` where known.

So the checks, their sizes, levels and rules are the test modules' own, imported, never copied. Tests that
draw no data (bad flags, file layout) are skipped by name. Output: one row per test node with its passes
out of R, the test module's interval level (``1 − LEVEL`` where the module defines ``LEVEL``) and a flag
where a check failed on some replicate although its nominal rate is ≤ 1e−3 (R = 20 makes a single failure
at a true rate of 1e−3 a 2 % event: such a check is mis-specified until shown otherwise).

    python studies/replicate_checks.py                      # R = 20, the rate checks and every study's verdicts
    python studies/replicate_checks.py --replicates 20 --files tests/test_rates.py tests/test_study_dimension.py

Writes ``studies/results/calibration/replicate_checks.{json,csv}``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILES = (
    "tests/test_rates.py",
    "tests/test_study_confidence.py",
    "tests/test_study_tails.py",
    "tests/test_study_dimension.py",
    "tests/test_study_bias.py",
    "tests/test_study_nonconvex.py",
    "tests/test_study_lower_bound.py",
    "tests/test_study_smoothness.py",
    "tests/test_methods_extra.py",
)
#: test names that draw no data: replaying them on other seeds says nothing
SKIP = (
    "bad_flag",
    "writes",
    "rerun",
    "toml",
    "unknown_study",
    "boundary_is",
    "needs_the_power_law",
    "exact_laws",
)  # the last: its seeds are its own (Philox(7000 + r)) and its rate is exact by construction


class _Outcomes:
    """pytest plugin: records each test's call-phase outcome (setup errors count as failures)."""

    def __init__(self):
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.outcomes[report.nodeid] = "passed" if report.passed else ("skipped" if report.skipped else "failed")


def _patch_seeds(replicate: int):
    """Make every data seed of the tests depend on ``replicate``; returns an undo function."""
    import synthclip
    from synthclip import noise
    from synthclip.harness import cli

    parse, simulate, sample = cli.parse, synthclip.simulate, noise.sample

    def parse_r(argv):
        return parse([*argv, "--seed", str(1000 + replicate)])

    def reseeded(fn):
        def call(*args, **kwargs):
            kwargs["seed"] = f"{kwargs.get('seed', 0)}/replicate-{replicate}"
            return fn(*args, **kwargs)

        return call

    cli.parse, synthclip.simulate, noise.sample = parse_r, reseeded(simulate), reseeded(sample)

    def undo():
        cli.parse, synthclip.simulate, noise.sample = parse, simulate, sample

    return undo


def _level(path: str):
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        module = importlib.import_module(Path(path).stem)
    finally:
        sys.path.pop(0)
    level = getattr(module, "LEVEL", None)
    return None if level is None else 1.0 - float(level)


def replay(files, replicates: int, echo=print, after_file=None) -> list[dict]:
    import pytest

    counts: dict[str, dict] = {}
    for path in files:
        nominal = _level(path)
        for r in range(replicates):
            undo = _patch_seeds(r)
            plugin = _Outcomes()
            start = time.perf_counter()
            try:
                pytest.main(
                    # in this process (-n 0): the seed patch and the outcome plugin live here, not in worker processes
                    [
                        str(ROOT / path),
                        "-q",
                        "-n",
                        "0",
                        "-p",
                        "no:cacheprovider",
                        "-k",
                        " and ".join(f"not {s}" for s in SKIP),
                    ],
                    plugins=[plugin],
                )
            finally:
                undo()
            for node, outcome in plugin.outcomes.items():
                row = counts.setdefault(
                    node,
                    {
                        "test": node,
                        "file": path,
                        "replicates": 0,
                        "passed": 0,
                        "failed": 0,
                        "interval_miss_rate": nominal,
                    },
                )
                row["replicates"] += 1
                row["passed"] += outcome == "passed"
                row["failed"] += outcome == "failed"
            echo(
                f"{path} replicate {r}: {sum(o == 'passed' for o in plugin.outcomes.values())}/"
                f"{len(plugin.outcomes)} passed ({time.perf_counter() - start:.0f} s)"
            )
        if after_file is not None:
            after_file(_finish(counts))  # a long replay keeps what it has finished
    return _finish(counts)


def _finish(counts: dict) -> list[dict]:
    rows = [dict(row) for row in counts.values()]
    for row in rows:
        row["mis_specified"] = bool(
            row["failed"] and row["interval_miss_rate"] is not None and row["interval_miss_rate"] <= 1e-3 * (1 + 1e-9)
        )  # 1 - 0.999 is 1e-3 + ulp
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=20, help="independent seeds per check (>= 20)")
    parser.add_argument("--files", nargs="+", default=list(DEFAULT_FILES), help="test files to replay")
    parser.add_argument("--out", default=str(ROOT / "studies" / "results" / "calibration"))
    args = parser.parse_args(argv)
    if args.replicates < 1:
        parser.error(f"--replicates must be >= 1, got {args.replicates}")
    for f in args.files:
        if not (ROOT / f).is_file():
            parser.error(f"--files: no such test file {f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    from synthclip import io

    def write(rows):
        io.write_json(
            {"replicates": args.replicates, "files": args.files, "checks": rows, "environment": io.environment()},
            out / "replicate_checks.json",
        )
        pd.DataFrame(rows).to_csv(out / "replicate_checks.csv", index=False)

    rows = replay(args.files, args.replicates, after_file=write)
    frame = pd.DataFrame(rows)
    print(
        frame[["test", "replicates", "passed", "failed", "interval_miss_rate", "mis_specified"]].to_string(index=False)
    )
    print(f"wrote {out / 'replicate_checks.json'} and .csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
