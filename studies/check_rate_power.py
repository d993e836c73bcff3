"""False failures and power of ``synthclip.testing.assert_rate`` at its defaults, on runs of exactly known rate.

The method is studies/examples/sgd_harmonic.py (SGD with η_k = 1/k on f = x²/2): its iterate is the running
mean of the noise, so on symmetric α-stable noise every quantile of f(x_k) is exactly c_q·k^(−2(α−1)/α) at every
k (k^(−1) for Gaussian noise): the slope the fit estimates is known exactly. For each of R seeds the script runs
``check_rate``'s simulation once at the defaults (N = 10^4 trajectories, K = 10^4 steps, the median, the rule's
95 % bootstrap with 1000 replicates) and judges it three times (``check_run``):

* against the exact exponent t: ``assert_rate`` fails unless the word is "consistent". The fraction failing is
  the **false-failure rate**, split into *missed* (the interval excludes t) and *inconclusive* (t inside an
  interval wider than the resolution 0.1);
* against t + 0.1 and t − 0.1 (a claim off by the resolution): the fraction failing is the **power** against
  the smallest error the rule claims to resolve (by construction ≥ 1 − (1 − c)/2 = 0.975 when the interval is
  within the resolution: docs/theory.md, "Resolution").

Each rate has its Clopper–Pearson interval (``synthclip.stats.binomial_ci``, 95 %). Run:

    python studies/check_rate_power.py                   # R = 200 per case, 5 to 25 min per case on two cores
    python studies/check_rate_power.py --cases gaussian --replicates 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import synthclip
from synthclip import methods, stats, testing, verdict
from synthclip.harness.rate_methods import rate_checkpoints

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "studies" / "examples" / "sgd_harmonic.py"
#: case → (noise law, tail index α, exact exponent of every quantile of f(x_k))
CASES = {"stable-1.5": ("stable", 1.5, -2.0 * 0.5 / 1.5), "gaussian": ("gaussian", 2.0, -1.0)}
DEFAULTS = {name: testing.check_rate.__kwdefaults__[name] for name in ("n_traj", "steps", "quantile", "confidence")}


def run_case(case: str, replicates: int, first_seed: int, threads: int | None) -> dict:
    noise, alpha, t = CASES[case]
    r = verdict.RULE.resolution
    counts = {"exact": 0, "missed": 0, "inconclusive": 0, "+r": 0, "-r": 0}
    widths = []
    start = time.perf_counter()
    for i in range(replicates):
        res = synthclip.simulate(
            "sgd_harmonic",
            noise=noise,
            alpha=alpha,
            steps=DEFAULTS["steps"],
            n_traj=DEFAULTS["n_traj"],
            seed=first_seed + i,
            checkpoints=rate_checkpoints(DEFAULTS["steps"]),
            threads=threads,
        )
        for label, exponent in (("exact", t), ("+r", t + r), ("-r", t - r)):
            row = testing.check_run(
                res, exponent=exponent, metric="f", quantile=DEFAULTS["quantile"], confidence=DEFAULTS["confidence"]
            )
            if not row.agreeing:  # what assert_rate raises on
                counts[label] += 1
                if label == "exact":
                    counts["missed" if row.verdict != verdict.INCONCLUSIVE else "inconclusive"] += 1
            if label == "exact":
                widths.append(row.ci_high - row.ci_low)
        if (i + 1) % 25 == 0:  # progress, so that a long run shows where it stands
            print(f"  {case}: {i + 1}/{replicates} seeds, failing so far {counts}", file=sys.stderr, flush=True)
    out = {
        "case": case,
        "noise": noise,
        "alpha": alpha,
        "exponent": t,
        "replicates": replicates,
        "first_seed": first_seed,
        **DEFAULTS,
        "seconds": time.perf_counter() - start,
        "median_width": sorted(widths)[len(widths) // 2],
        "max_width": max(widths),
    }
    for label, n in counts.items():
        lo, hi = stats.binomial_ci(n, replicates, confidence_level=0.95, method="clopper-pearson").confidence_interval
        out[label] = {"failed": n, "rate": n / replicates, "ci": [lo, hi]}
    return out


def line(o: dict) -> str:
    def rate(key):
        x = o[key]
        return f"{x['failed']}/{o['replicates']} = {x['rate']:.3f} [{x['ci'][0]:.3f}, {x['ci'][1]:.3f}]"

    return (
        f"{o['case']} (exponent {o['exponent']:+.3f}; N={o['n_traj']}, K={o['steps']}, q={o['quantile']:g}, "
        f"c={o['confidence']:g}): false failures {rate('exact')} (missed {o['missed']['failed']}, inconclusive "
        f"{o['inconclusive']['failed']}); power (failing) vs exponent + 0.1: {rate('+r')}, vs exponent − 0.1: "
        f"{rate('-r')}; median interval width {o['median_width']:.3f} "
        f"(max {o['max_width']:.3f}); {o['seconds']:.0f} s"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--replicates", type=int, default=200, help="seeds R per case (default 200)")
    parser.add_argument("--first-seed", type=int, default=1000, help="seeds first-seed .. first-seed + R − 1")
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: numba's)")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "studies" / "results" / "calibration",
        help="folder for check_rate_power.json",
    )
    args = parser.parse_args(argv)
    if args.replicates < 1:
        parser.error(f"--replicates must be >= 1, got {args.replicates}")
    methods.load_plugin(PLUGIN)
    results = []
    for case in args.cases:
        results.append(run_case(case, args.replicates, args.first_seed, args.threads))
        print(line(results[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"check_rate_power_{'_'.join(args.cases)}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
