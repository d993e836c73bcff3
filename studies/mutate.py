"""Mutation checks: apply one-line mutations to a copy of the repository and see whether the tests catch them.

Each mutation is (name, file, a substring of exactly one line of that file, the replacement line, the test
selections to run). For each, the tracked files (``git ls-files``) are copied to a temporary folder, the line
is replaced, and pytest runs the named selections there with ``PYTHONPATH`` set to the copy (the installed
package is not imported). A mutation is *caught* when pytest fails, *survived* when it passes. A baseline
row runs every selection on the unmutated copy first: a failure there makes the table meaningless.

Every run gets a fresh ``NUMBA_CACHE_DIR``: numba's on-disk cache is keyed by the source file of each
function only, so a function that inlines code from a mutated module (``_rng.uniform_pair`` inside
``noise._noise_block``) would otherwise load its stale, unmutated machine code. The price is a fresh
compile per row (tens of seconds).

    python studies/mutate.py                 # every mutation, prints the table
    python studies/mutate.py --only lag      # those whose name contains "lag"
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (name, file, a substring of the one line to replace, the new line (indentation kept), test selections)
MUTATIONS = [
    (
        "radial radius from coordinate 0's uniforms (noise.py)",
        "synthclip/noise.py",
        "_rng.uniform_pair(k0, k1, 0, step, traj0 + t, _rng.TAG_NORM)",
        "u1, u2, word = _rng.uniform_pair(k0, k1, 0, step, traj0 + t, _rng.TAG_COORD)",
        ["tests/test_noise.py::test_radial_radius_is_independent_of_its_direction"],
    ),
    (
        "stream tag TAG_NORM 1 -> 0 (_rng.py)",
        "synthclip/_rng.py",
        "TAG_NORM = 1",
        "TAG_NORM = 0",
        ["tests/test_noise.py::test_radial_radius_is_independent_of_its_direction"],
    ),
    (
        "verdict allowance 0 -> 0.1",
        "synthclip/verdict.py",
        "allowance: float = 0.0",
        "allowance: float = 0.1",
        ["tests/test_verdict.py::test_the_rule_is_pinned_field_by_field"],
    ),
    (
        "verdict allowance 0 -> 0.1 (near-miss control alone)",
        "synthclip/verdict.py",
        "allowance: float = 0.0",
        "allowance: float = 0.1",
        ["tests/test_verdict.py::test_near_miss_control_at_the_rules_allowance"],
    ),
    (
        "verdict resolution 0.1 -> 0.2",
        "synthclip/verdict.py",
        "resolution: float = 0.1",
        "resolution: float = 0.2",
        ["tests/test_verdict.py::test_the_rule_is_pinned_field_by_field"],
    ),
    (
        "verdict n_boot 1000 -> 500",
        "synthclip/verdict.py",
        "n_boot: int = 1000",
        "n_boot: int = 500",
        ["tests/test_verdict.py::test_the_rule_is_pinned_field_by_field"],
    ),
    (
        "SeedAdam weight-decay sign",
        "synthclip/torch/optim.py",
        'p.add_(p, alpha=-group["lr"] * group["weight_decay"])',
        'p.add_(p, alpha=group["lr"] * group["weight_decay"])',
        ["tests/test_torch_optim.py::test_weight_decay_two_steps_by_hand"],
    ),
    (
        "GClip/CClip weight-decay sign",
        "synthclip/torch/optim.py",
        "grads = [g.add(p, alpha=weight_decay) for p, g in zip(params, grads)]",
        "grads = [g.add(p, alpha=-weight_decay) for p, g in zip(params, grads)]",
        ["tests/test_torch_optim.py::test_weight_decay_two_steps_by_hand"],
    ),
    (
        "Philox counter: lagged trajectories (digests)",
        "synthclip/_rng.py",
        "np.uint64(coord), np.uint64(step), np.uint64(traj) & _MASK,",
        "np.uint64(coord), np.uint64(step + traj), np.uint64(0) & _MASK,",
        ["tests/test_noise.py::test_stream_known_answer_digests"],
    ),
    (
        "Philox counter: lagged trajectories (independence)",
        "synthclip/_rng.py",
        "np.uint64(coord), np.uint64(step), np.uint64(traj) & _MASK,",
        "np.uint64(coord), np.uint64(step + traj), np.uint64(0) & _MASK,",
        ["tests/test_noise.py::test_neighbouring_trajectories_and_steps_are_independent"],
    ),
    (
        "coordinate_view drops alpha = +inf (the fixed bug)",
        "synthclip/torch/probe.py",
        'if not np.isnan(row["alpha"]):',
        'if np.isfinite(row["alpha"]):',
        ["tests/test_torch_probe.py::test_coordinate_view_keeps_infinite_alpha_as_light"],
    ),
]


def tracked_copy(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def mutate(copy: Path, file: str, old: str, new: str) -> str:
    """Replace the one line of ``file`` containing ``old`` by ``new`` (indentation kept); returns the original."""
    path = copy / file
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if old in line]
    if len(hits) != 1:
        raise SystemExit(f"{file}: {old!r} is on {len(hits)} lines, need exactly 1")
    line = lines[hits[0]]
    indent = line[: len(line) - len(line.lstrip())]
    lines[hits[0]] = indent + new.strip() + "\n"
    path.write_text("".join(lines))
    return text


def run_tests(copy: Path, selections: list[str], timeout: float) -> tuple[str, float]:
    env = {**os.environ, "PYTHONPATH": str(copy), "NUMBA_CACHE_DIR": tempfile.mkdtemp(prefix="mutate-numba-")}
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            # one process (-n 0): a few selected tests, and -x under worker processes exits "interrupted" (2)
            [sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider", *selections],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        code = r.returncode
    except subprocess.TimeoutExpired:
        code = None
    finally:
        shutil.rmtree(env["NUMBA_CACHE_DIR"], ignore_errors=True)
    word = {0: "survived", 1: "caught", None: "timeout"}.get(code, f"error (pytest exit {code})")
    return word, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the mutations whose name contains this text")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per pytest run")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if args.only in m[0]]
    rows = []
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        copy = Path(tmp)
        tracked_copy(copy)
        if not args.no_baseline:
            every = list(dict.fromkeys(s for m in chosen for s in m[4]))
            word, secs = run_tests(copy, every, args.timeout)
            rows.append(("(none: baseline)", every, "passed" if word == "survived" else word, secs))
            if word != "survived":
                print("the baseline fails: fix the tests before reading the table", file=sys.stderr)
        for name, file, old, new, selections in chosen:
            original = mutate(copy, file, old, new)
            try:
                word, secs = run_tests(copy, selections, args.timeout)
            finally:
                (copy / file).write_text(original)
            rows.append((name, selections, word, secs))
            print(f"  {name}: {word} ({secs:.0f} s)", file=sys.stderr, flush=True)
    print("| mutation | tests run | result | seconds |")
    print("|---|---|---|---|")
    for name, selections, word, secs in rows:
        tests = "<br>".join(s.replace("tests/", "") for s in selections)
        print(f"| {name} | {tests} | {word} | {secs:.0f} |")
    bad = [r for r in rows[1:] if r[2] != "caught"] if not args.no_baseline else [r for r in rows if r[2] != "caught"]
    return 1 if bad or (rows and not args.no_baseline and rows[0][2] != "passed") else 0


if __name__ == "__main__":
    raise SystemExit(main())
