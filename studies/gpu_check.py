"""GPU check of the torch bridge : one prepared script for one call of about 5 minutes.

On the GPU machine, from the repository root (nothing to install; the image has torch, numpy, scipy,
pandas, scikit-learn and usually numba):

    PYTHONUNBUFFERED=1 PYTHONPATH=. python3 studies/gpu_check.py            # writes $OUT/gpu_check.json

Here, on CPU, with tiny sizes (what the tests of this script are):

    python studies/gpu_check.py --smoke /tmp/gpu_check.json [--no-numba]

Sections, each written to the JSON as soon as it is done (a timeout keeps what finished; an error in one
section is recorded and the next runs):

1. ``preflight``: Python, package versions, the device; whether ``synthclip`` and ``synthclip.torch``
   import. ``import synthclip`` loads the numba engine; if numba is missing (or ``--no-numba``) a stub
   module whose ``njit`` returns the function unchanged is installed first, which is enough for the torch
   bridge (it calls no jitted kernel) and is reported in the JSON.
2. ``throughput``: ``synthclip.torch.ensemble.train_ensemble`` on the digits MLP (and CNN) for ≥ 256
   seeds: seeds × steps per second, both as ``EnsembleResult.throughput`` (model building and one
   evaluation included) and as the marginal rate n·(2S − S)/(t(2S) − t(S)) of training steps alone, with a
   CPU reference measured in the same run (ratios, not absolute numbers, are what carry over).
3. ``noise``: the ``torch-noise`` study's own cell function on the device: Hill (norms) and Mohammadi
   (vectors) tail indices with intervals for the transformer and the digits CNN/MLP at init and after
   Adam steps, batch sizes 1 and 8, more minibatches than the CPU default; verdicts by the study's rule.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
import types
from pathlib import Path

SETTINGS = {
    # full run on a GPU: about 5 minutes on an H200 (sizes chosen to leave half the call's limit spare)
    "full": dict(
        device="cuda",
        seeds=[256, 1024, 4096],
        steps=100,
        cnn_seeds=[256],
        cpu_seeds=256,
        cpu_steps=10,
        methods=["gclip", "adam_norm"],
        noise_batches=2000,
        probe_at=[0, 200],
        batch_sizes=[1, 8],
        full_size=0,
        coords=256,
        budget_s=420,
    ),
    # CPU smoke test of this script: about a minute with the numba stub, where the stable pool behind the
    # Mohammadi interval (synthclip.stats.tails) is drawn in pure Python (~50 s per text probe), so one trained
    # probe per model; the budget leaves room for a loaded machine so that every model is probed
    "smoke": dict(
        device="cpu",
        seeds=[4],
        steps=3,
        cnn_seeds=[4],
        cpu_seeds=4,
        cpu_steps=2,
        methods=["gclip"],
        noise_batches=16,
        probe_at=[2],
        batch_sizes=[1],
        full_size=64,
        coords=16,
        budget_s=240,
    ),
}
NOISE_MODELS = ("text-transformer", "digits-cnn", "digits-mlp")
METHOD_PARAMS = {  # the torch-rates defaults (constant schedules)
    "gclip": dict(lr=0.5, lr_schedule="constant", clip=0.2, clip_schedule="constant", clip_power=0.0),
    "adam_norm": dict(lr=0.1),
}


def install_numba_stub() -> None:
    """A stand-in ``numba`` whose decorators return the function: imports succeed, kernels run as Python."""
    stub = types.ModuleType("numba")

    def njit(*args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f

    stub.njit = stub.jit = njit
    stub.prange = range
    stub.get_num_threads = lambda: 1
    stub.set_num_threads = lambda n: None
    stub.config = types.SimpleNamespace(NUMBA_NUM_THREADS=1)
    stub.__version__ = "stub (numba missing)"
    # synthclip._vmath registers jitted versions of its bit casts; the stub keeps their Python definitions.
    stub.types = types.SimpleNamespace(float64="float64", int64="int64")
    stub.extending = types.ModuleType("numba.extending")
    stub.extending.intrinsic = lambda f: f
    stub.extending.overload = lambda f, **kwargs: lambda impl: impl
    sys.modules["numba"] = stub
    sys.modules["numba.extending"] = stub.extending


class Report:
    """The JSON document, rewritten after every section."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict = {"errors": {}, "seconds": {}}
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=_jsonable))
        tmp.replace(self.path)

    def section(self, name: str, fn, *args):
        start = time.perf_counter()
        print(f"== {name} (at {self.elapsed():.0f} s)", flush=True)
        try:
            self.data[name] = fn(*args)
        except Exception as err:  # recorded; the next section still runs
            self.data["errors"][name] = f"{type(err).__name__}: {err}"
            print(traceback.format_exc(), flush=True)
        self.data["seconds"][name] = round(time.perf_counter() - start, 2)
        self.write()
        return self.data.get(name)


def _jsonable(x):
    try:
        import numpy as np

        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
    except ImportError:
        pass
    return str(x)


def _version(name: str) -> str:
    try:
        module = __import__(name)
        return str(getattr(module, "__version__", "present"))
    except Exception as err:
        return f"missing ({type(err).__name__})"


def preflight(cfg: dict, stub: bool) -> dict:
    import torch

    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numba_stub": stub,
        "versions": {
            n: _version(n)
            for n in ("torch", "numpy", "scipy", "pandas", "sklearn", "numba", "matplotlib", "pyarrow", "joblib")
        },
        "cuda_available": torch.cuda.is_available(),
        "device": cfg["device"],
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(
            gpu=props.name,
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            multiprocessors=props.multi_processor_count,
            cuda=torch.version.cuda,
        )
    import synthclip  # noqa: F401  (the engine; needs numba or the stub)
    import synthclip.torch  # noqa: F401
    from synthclip.study import torch_noise  # noqa: F401
    from synthclip.torch import ensemble, models, probe  # noqa: F401

    info["synthclip"] = synthclip.__version__
    if cfg["device"] == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA is not available: nothing to check on the device (use --smoke on CPU)")
    print(json.dumps(info, indent=1), flush=True)
    return info


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _run(task: str, method: str, n: int, steps: int, device: str, seed: int = 0):
    import numpy as np

    from synthclip.torch.ensemble import train_ensemble

    _sync(device)
    res = train_ensemble(
        task,
        method,
        n_seeds=n,
        steps=steps,
        batch_size=32,
        seed=seed,
        method_params=METHOD_PARAMS[method],
        checkpoints=[steps],
        device=device,
    )
    _sync(device)
    final = res.losses[:, -1]
    return res, {
        "seconds": round(res.seconds, 3),
        "throughput": round(res.throughput, 1),
        "n_failed": res.n_failed,
        "median_final_loss": float(np.median(final)),
        "q90_final_loss": float(np.quantile(final, 0.9)),
    }


def throughput(cfg: dict, report: Report) -> dict:
    import torch

    out = {"runs": [], "cpu_reference": []}
    dev, s = cfg["device"], cfg["steps"]
    _run("digits-mlp", cfg["methods"][0], 8, 2, dev)  # warm-up: CUDA context, kernels, allocator
    plan = [("digits-mlp", m, n) for m in cfg["methods"] for n in cfg["seeds"]]
    plan += [("digits-cnn", cfg["methods"][0], n) for n in cfg["cnn_seeds"]]
    for task, method, n in plan:
        if report.elapsed() > cfg["budget_s"] * 0.5:
            out["skipped_for_time"] = out.get("skipped_for_time", []) + [f"{task} {method} {n}"]
            continue
        _, short = _run(task, method, n, s, dev)
        _, long = _run(task, method, n, 2 * s, dev)
        dt = long["seconds"] - short["seconds"]
        row = {
            "task": task,
            "method": method,
            "n_seeds": n,
            "steps": 2 * s,
            "device": dev,
            **long,
            "marginal_throughput": round(n * s / dt, 1) if dt > 0 else None,
        }
        if dev.startswith("cuda"):
            row["max_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        out["runs"].append(row)
        print(json.dumps(row), flush=True)
        report.data["throughput"] = out
        report.write()
    # the same ensemble on this machine's CPU (all its cores), for a ratio measured in the same run
    n, cs = cfg["cpu_seeds"], cfg["cpu_steps"]
    for method in cfg["methods"][:1]:
        _, short = _run("digits-mlp", method, n, cs, "cpu")
        _, long = _run("digits-mlp", method, n, 2 * cs, "cpu")
        dt = long["seconds"] - short["seconds"]
        row = {
            "task": "digits-mlp",
            "method": method,
            "n_seeds": n,
            "steps": 2 * cs,
            "device": "cpu",
            "cpu_threads": torch.get_num_threads(),
            **long,
            "marginal_throughput": round(n * cs / dt, 1) if dt > 0 else None,
        }
        out["cpu_reference"].append(row)
        print(json.dumps(row), flush=True)
        ref = [r for r in out["runs"] if r["task"] == "digits-mlp" and r["method"] == method and r["n_seeds"] == n]
        if ref and row["marginal_throughput"] and ref[0]["marginal_throughput"]:
            out["speedup_vs_cpu_same_seeds"] = round(ref[0]["marginal_throughput"] / row["marginal_throughput"], 1)
    return out


def noise(cfg: dict, report: Report) -> dict:
    import pandas as pd

    from synthclip.study.torch_noise import cell_verdicts, model_verdicts, noise_report, probe_cell

    parts = {"tails": [], "probes": [], "norms": []}
    for model in NOISE_MODELS:
        for step in cfg["probe_at"]:
            if report.elapsed() > cfg["budget_s"]:
                report.data.setdefault("noise_skipped_for_time", []).append(f"{model} step {step}")
                continue
            cell = {
                "label": f"{model} step={step}",
                "model": model,
                "step": step,
                "batch_sizes": cfg["batch_sizes"],
                "n_batches": cfg["noise_batches"],
                "optimizer": "adam",
                "lr": 1e-3,
                "train_batch_size": 32,
                "full_size": cfg["full_size"],
                "coords_per_layer": cfg["coords"],
                "confidence": 0.95,
                "seed": 0,
                "device": cfg["device"],
            }
            t = time.perf_counter()
            tables = probe_cell(cell)
            print(f"   {model} step {step}: {time.perf_counter() - t:.1f} s", flush=True)
            for k in parts:
                parts[k].append(tables[k])
    tables = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    verdicts = cell_verdicts(tables["tails"], tables["probes"])
    models = model_verdicts(verdicts)
    meta = {
        "params": {
            "n_batches": cfg["noise_batches"],
            "optimizer": "adam",
            "lr": 1e-3,
            "train_batch_size": 32,
            "confidence": 0.95,
        }
    }
    text = noise_report({**tables, "verdicts": verdicts, "models": models}, meta)
    print(text.split("\nper layer")[0], flush=True)
    layers = tables["tails"][tables["tails"]["sample"].isin(["norm", "vector"])]
    probes = tables["probes"].drop(columns=["device", "optimizer", "lr"])
    return {
        "n_batches": cfg["noise_batches"],
        "verdicts": verdicts.to_dict("records"),
        "models": models.to_dict("records"),
        "probes": probes.to_dict("records"),
        "per_layer": layers[
            ["model", "step", "batch_size", "layer", "sample", "alpha", "ci_low", "ci_high", "k", "n"]
        ].to_dict("records"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "json", nargs="?", default=None, help="output JSON (default $OUT/gpu_check.json, else ./gpu_check.json)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on CPU (tests this script)")
    parser.add_argument("--no-numba", action="store_true", help="use the numba stub even if numba is installed")
    args = parser.parse_args(argv)
    cfg = dict(SETTINGS["smoke" if args.smoke else "full"])
    path = Path(args.json) if args.json else Path(os.environ.get("OUT", ".")) / "gpu_check.json"

    stub = bool(args.no_numba)
    if not stub:
        try:
            import numba  # noqa: F401
        except ImportError:
            stub = True
    if stub:
        install_numba_stub()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, if PYTHONPATH is unset

    report = Report(path)
    report.data["mode"] = "smoke" if args.smoke else "full"
    report.data["settings"] = cfg
    if report.section("preflight", preflight, cfg, stub) is None:
        print(f"preflight failed: {report.data['errors'].get('preflight')}; wrote {path}", flush=True)
        return 1
    report.section("throughput", throughput, cfg, report)
    report.section("noise", noise, cfg, report)
    report.data["total_seconds"] = round(report.elapsed(), 1)
    report.write()
    tp = report.data.get("throughput") or {}
    print("== summary", flush=True)
    for r in tp.get("runs", []) + tp.get("cpu_reference", []):
        print(
            f"   {r['device']:<5} {r['task']:<11} {r['method']:<10} seeds {r['n_seeds']:>5}: "
            f"{r['throughput']:>10.0f} seed-steps/s overall, {r['marginal_throughput'] or float('nan'):>10.0f} "
            f"marginal; failed {r['n_failed']}",
            flush=True,
        )
    if "speedup_vs_cpu_same_seeds" in tp:
        print(f"   speed-up over this machine's CPU at the same seeds: {tp['speedup_vs_cpu_same_seeds']}x")
    for m in (report.data.get("noise") or {}).get("models", []):
        print(f"   noise {m['model']}: {m['verdict']} (Hill α̂ {m['min_hill_alpha']:.2f}–{m['max_hill_alpha']:.2f})")
    errors = report.data["errors"]
    print(f"   errors: {errors if errors else 'none'}; {report.data['total_seconds']} s; wrote {path}", flush=True)
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
