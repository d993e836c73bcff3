"""Methods from a user's file (the method contract): the worked example, minibatch draws, the kernel cache,
and bad plugins (one-line errors naming the plugin and the field, before any kernel compiles)."""

import dataclasses
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import reference
from test_engine import (
    _same,
    check_against_reference,
    check_chunk_invariance,
    check_clip_frac_against_reference,
    thread_digests,
)

import synthclip
from synthclip import _engine, methods
from synthclip.harness import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "studies" / "examples" / "my_method.py"


@pytest.fixture
def registry():
    """The registry as it was before the test: plugins registered by a test do not leak into other files."""
    saved, plugins = dict(methods.METHODS), dict(methods._PLUGINS)
    yield methods
    methods.METHODS.clear()
    methods.METHODS.update(saved)
    methods._PLUGINS.clear()
    methods._PLUGINS.update(plugins)


def write_plugin(folder: Path, name: str, body: str, header: bool = True) -> Path:
    """A plugin file: the imports every plugin here uses, then ``body``."""
    path = folder / f"{name}.py"
    path.write_text((_HEADER if header else "") + textwrap.dedent(body))
    return path


_HEADER = """
import math
import numpy as np
from synthclip.methods import Method, Param, lr_params, register
"""


def test_the_example_is_short_and_registers_one_method(registry):
    assert len(EXAMPLE.read_text().splitlines()) <= 40
    assert registry.load_plugin(EXAMPLE) == ("my_method",)
    method = registry.get("my_method")
    assert method.origin == str(EXAMPLE.resolve()) and method.fields[-1] == "beta"
    assert registry.load_plugin(EXAMPLE) == ("my_method",)  # loading the unchanged file again is a no-op
    assert registry.get("my_method") is method


@pytest.mark.parametrize("variant", [0, 1])
def test_the_example_runs_the_registry_driven_checks(registry, variant):
    # the same checks every built-in passes (tests/test_engine.py), on a method from outside the package
    registry.load_plugin(EXAMPLE)
    params = ({}, *registry.get("my_method").variants)[variant]
    check_against_reference("my_method", params, "quadratic", "pareto", "iid", 3, math.inf)
    check_against_reference("my_method", params, "nonconvex", "stable", "radial", 4, 2.0)
    res = check_clip_frac_against_reference("my_method", params)
    assert res.metric("clip_frac")[:, -1].mean() > 0  # the counter counts (the reference's count is not all 0)
    check_chunk_invariance("my_method", params)


def test_the_example_does_not_depend_on_thread_count():
    one, two = thread_digests(EXAMPLE)
    assert one == two and "my_method " in one


def test_a_plugin_copy_of_sgd_gives_sgd_bit_for_bit(registry, tmp_path):
    # one path: a method from a user's file goes through the same engine as the built-ins, bit for bit
    path = write_plugin(
        tmp_path,
        "copy_of_sgd",
        """
    from synthclip import _builtin_methods as B
    register(Method("copy_of_sgd", lr_params(4.0, "theorem4"), "SGD again", step=B.sgd_step,
                    reference=B.sgd_reference))
    """,
    )
    registry.load_plugin(path)
    kw = dict(dim=3, steps=200, n_traj=70, seed=3, noise="stable", alpha=1.3)
    _same(synthclip.simulate("copy_of_sgd", **kw), synthclip.simulate("sgd", **kw))
    # negative control: another step size is another run
    with pytest.raises(AssertionError):
        _same(synthclip.simulate("copy_of_sgd", lr_schedule="constant", lr=0.1, **kw), synthclip.simulate("sgd", **kw))


_MINIBATCH = """
def step(p, k, lr, tau, x, g, clipped, work):
    draws, d, nb = g.shape
    for j in range(d):
        for t in range(nb):
            s = 0.0
            for r in range(draws):
                s += g[r, j, t]
            x[j, t] -= lr * s / draws


def reference(p, k, lr, tau, x, g, state):
    return x - lr * g.mean(axis=1), np.zeros(len(x))


register(Method("minibatch_sgd", lr_params(4.0, "theorem4"), "SGD on the mean of 4 draws", step=step,
                reference=reference, draws=4))
"""


def test_a_minibatch_method_draws_independent_keyed_noise(registry, tmp_path):
    registry.load_plugin(write_plugin(tmp_path, "minibatch", _MINIBATCH))
    check_against_reference("minibatch_sgd", {}, "quadratic", "pareto", "iid", 3, math.inf)
    check_against_reference("minibatch_sgd", {}, "nonconvex", "stable", "radial", 2, 2.0)
    check_chunk_invariance("minibatch_sgd")
    # the draws are distinct streams, and draw 0 is the single-draw stream itself
    xi = reference.draws_noise("minibatch_sgd", "pareto", 1.5, n_traj=50, steps=20, dim=2, structure="iid", seed=0)
    single = synthclip.noise.engine_noise("pareto", 1.5, n_traj=50, steps=20, dim=2, seed=0)
    np.testing.assert_array_equal(xi[:, :, 0], single)
    assert all(not np.any(xi[:, :, r] == xi[:, :, s]) for r in range(4) for s in range(r))
    # negative control: the kernel does not match a reference fed the first draw four times
    res = synthclip.simulate(
        "minibatch_sgd", dim=2, steps=20, n_traj=50, seed=0, checkpoints=[20], keep_iterates=True, x0=1.5
    )
    wrong = reference.run(
        "minibatch_sgd",
        {},
        problem="quadratic",
        mu=1.0,
        lam=np.ones(2),
        x0=np.full(2, 1.5),
        radius=math.inf,
        alpha=1.5,
        xi=np.repeat(xi[:, :, :1], 4, axis=2),
    )
    assert not np.allclose(res.iterates[:, -1], wrong[:, -1], rtol=1e-6)


# -- the kernel cache ---------------------------------------------------------------------------------------

_TIMED = """
import sys, time
t0 = time.perf_counter()
import synthclip
from synthclip import _engine, methods
methods.load_plugin(sys.argv[1])
t1 = time.perf_counter()
synthclip.simulate("my_method", dim=2, steps=20, n_traj=10)
kernel = _engine.kernel_module(methods.get("my_method")).simulate_kernel
print(time.perf_counter() - t1, len(kernel.stats.cache_hits), len(kernel.stats.cache_misses), _engine.kernel_path(
    methods.get("my_method")))
"""


def test_a_plugin_compiles_once_and_the_next_process_loads_it(tmp_path):
    env = {**os.environ, "SYNTHCLIP_KERNEL_DIR": str(tmp_path / "kernels")}
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", _TIMED, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=900
        )
        assert out.returncode == 0, out.stderr[-2000:]
        seconds, hits, misses, path = out.stdout.split()
        runs.append((float(seconds), int(hits), int(misses), path))
    (_, hits1, misses1, path1), (_, hits2, misses2, path2) = runs
    assert (hits1, misses1) == (0, 1)  # the first process compiled the kernel ...
    assert (hits2, misses2) == (1, 0) and path2 == path1  # ... the second loaded it from disk, same module
    assert Path(path1).parent == tmp_path / "kernels"


def test_the_kernel_key_follows_the_plugin_source(registry, tmp_path):
    text = EXAMPLE.read_text()
    path = write_plugin(tmp_path, "my_method", text, header=False)
    registry.load_plugin(path)
    before = _engine.kernel_key(registry.get("my_method"))
    halved = text.replace("x[j, t] -= lr * m[j, t]", "x[j, t] -= 0.5 * lr * m[j, t]")
    path.write_text(halved.replace("return x - lr * state", "return x - 0.5 * lr * state"))  # step and reference
    assert registry.load_plugin(path) == ("my_method",)  # a changed file replaces its own method
    assert _engine.kernel_key(registry.get("my_method")) != before


# -- bad plugins: one line naming the plugin and the field, before any kernel compiles -----------------------

_GOOD_STEP = """
def step(p, k, lr, tau, x, g, clipped, work):
    x -= lr * g


def reference(p, k, lr, tau, x, g, state):
    return x - lr * g, np.zeros(len(x))
"""

BAD_PLUGINS = [
    (
        "missing_field",
        _GOOD_STEP
        + """
register(Method("no_reference", lr_params(1.0, "constant"), "no reference", step=step))
""",
        "method 'no_reference': field 'reference' is missing",
    ),
    (
        "bad_default",
        _GOOD_STEP
        + """
register(Method("bad_default", (Param("beta", 1.5, "β", low=0.0, high=1.0, high_open=True),), "β out of range",
                step=step, reference=reference))
""",
        "method 'bad_default': field 'params' default out of its declared range",
    ),
    (
        "bad_arity",
        """
def step(p, k, lr, tau, x, g, clipped):
    pass
"""
        + """
register(Method("bad_arity", (), "a step short of one argument", step=step, reference=lambda *a: None))
""",
        "method 'bad_arity': field 'step' must take 8 arguments, takes 7",
    ),
    (
        "reserved",
        _GOOD_STEP
        + """
register(Method("reserved", (Param("mu", 1.0, "a problem's"),), "shadows mu", step=step, reference=reference))
""",
        "method 'reserved': field 'params' may not declare 'mu'",
    ),
    (
        "builtin_name",
        _GOOD_STEP
        + """
register(Method("gclip", (), "not GClip", step=step, reference=reference))
""",
        "method 'gclip': field 'name' is a built-in method's",
    ),
    ("no_register", _GOOD_STEP, "registered no method"),
    ("syntax", "def step(:\n", "SyntaxError while loading"),
]


@pytest.mark.parametrize("name,body,message", BAD_PLUGINS, ids=[b[0] for b in BAD_PLUGINS])
def test_a_bad_plugin_is_one_line_naming_plugin_and_field(registry, tmp_path, name, body, message):
    path = write_plugin(tmp_path, name, body)
    before = dict(registry.METHODS)
    with pytest.raises(ValueError) as err:
        registry.load_plugin(path)
    text = str(err.value)
    assert text.startswith(f"plugin {path}: ") and message in text and "\n" not in text, text
    assert registry.METHODS == before  # nothing of a failed plugin stays registered


_NOT_JITTABLE = """
def helper(x):  # a plain Python function: numba cannot call it from jitted code
    return x


def step(p, k, lr, tau, x, g, clipped, work):
    x[0, 0] = helper(x[0, 0])


def reference(p, k, lr, tau, x, g, state):
    return x, np.zeros(len(x))


register(Method("not_jittable", (), "a step numba cannot compile", step=step, reference=reference))
"""


def test_a_step_numba_cannot_compile_fails_before_the_kernel(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHCLIP_KERNEL_DIR", str(tmp_path / "kernels"))
    path = write_plugin(tmp_path, "not_jittable", _NOT_JITTABLE)  # its fields are fine
    with pytest.raises(ValueError) as err:
        registry.load_plugin(path)  # the load's check compiles the step alone
    text = str(err.value)
    assert text.startswith(f"plugin {path}: method 'not_jittable': field 'step' is not jittable by numba"), text
    assert "helper" in text and "\n" not in text  # says what numba could not type
    assert "not_jittable" not in registry.METHODS
    # registered without the check, simulate refuses it the same way before any kernel is generated
    registry.load_plugin(path, check=False)
    with pytest.raises(ValueError) as err:
        synthclip.simulate("not_jittable", steps=2, n_traj=1)
    text = str(err.value)
    assert text.startswith("method 'not_jittable': field 'step' is not jittable by numba") and "\n" not in text
    assert not list((tmp_path / "kernels").glob("not_jittable*.py"))  # no kernel was generated or compiled


def test_a_parameter_outside_its_range_names_the_plugin_method(registry):
    registry.load_plugin(EXAMPLE)
    with pytest.raises(ValueError) as err:
        synthclip.simulate("my_method", beta=1.0, steps=2, n_traj=1)
    assert str(err.value) == "method 'my_method' parameter 'beta' must be in [0, 1), got 1.0"


# -- the study command line ---------------------------------------------------------------------------------


def test_rates_runs_the_example_plugin(registry, tmp_path, capsys):
    # as in the README: python -m synthclip.study rates --plugin studies/examples/my_method.py --methods my_method
    out = tmp_path / "rates"
    assert (
        cli.main(
            [
                "rates",
                "--plugin",
                str(EXAMPLE),
                "--methods",
                "my_method,gclip",
                "--quick",
                "--quiet",
                "--n-traj",
                "500",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = (out / "alpha=1.5" / "report.txt").read_text()
    assert "my_method" in report and "gclip" in report
    meta = synthclip.io.read_json(out / "alpha=1.5" / "meta.json")
    cell = next(c for c in meta["cells"] if c["method"] == "my_method")
    assert cell["plugin"] == str(EXAMPLE.resolve()) and len(cell["plugin_sha256"]) == 64


def test_lower_bound_runs_and_judges_the_example_plugin(registry, tmp_path, capsys):
    # Theorem 5 bounds every algorithm of its class, so a plugin's rows are judged like the built-ins'
    out = tmp_path / "lower-bound"
    assert (
        cli.main(
            [
                "lower-bound",
                "--plugin",
                str(EXAMPLE),
                "--methods",
                "my_method,sgd",
                "--quick",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    slopes = pd.read_parquet(next(out.rglob("slopes.parquet")))
    mine = slopes[slopes["method"] == "my_method"]
    assert len(mine) and (mine["theory_source"].str.contains("Theorem 5")).all(), mine


def test_rates_loads_the_plugin_in_worker_processes(tmp_path):
    # two cells on two loky workers: each worker loads the plugin named in its cell
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthclip.study",
            "rates",
            "--plugin",
            str(EXAMPLE),
            "--methods",
            "my_method,sgd",
            "--quick",
            "--quiet",
            "--n-traj",
            "300",
            "--jobs",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "my_method" in (tmp_path / "alpha=1.5" / "report.txt").read_text()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--plugin", "no/such/file.py", "--methods", "my_method"], "--plugin: plugin no/such/file.py: no such file"),
        (["--methods", "my_method"], "--methods: unknown value 'my_method'"),
    ],
)
def test_rates_plugin_errors_exit_2_in_one_line(registry, capsys, argv, message):
    assert cli.main(["rates", *argv, "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_rates_bad_plugin_exits_2_naming_the_field(registry, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SYNTHCLIP_KERNEL_DIR", str(tmp_path / "kernels"))
    path = write_plugin(tmp_path, "not_jittable", _NOT_JITTABLE)
    assert cli.main(["rates", "--plugin", str(path), "--methods", "not_jittable", "--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--plugin: plugin {path}: method 'not_jittable': field 'step' is not jittable" in err and "\n" not in err


def test_a_step_without_readable_source_is_refused():
    # the source keys the kernel cache: a function made by exec has none
    namespace = {}
    exec("def step(p, k, lr, tau, x, g, clipped, work):\n    pass\n", namespace)
    with pytest.raises(ValueError) as err:
        methods.Method("from_exec", (), "a step made by exec", step=namespace["step"], reference=lambda *a: None)
    assert str(err.value) == (
        "method 'from_exec': field 'step' must be a function whose source Python can read (it keys the kernel cache)"
    )


# -- the load's check: what the fields do (synthclip.methods.check) ------------------------------------------

_CLIPPED_SGD = """
def step(p, k, lr, tau, x, g, clipped, work):
    d, nb = x.shape
    for t in range(nb):
        sq = 0.0
        for j in range(d):
            sq += g[j, t] * g[j, t]
        norm = math.sqrt(sq)
        clipped[t] += 1.0 if norm > tau else 0.0
        work[t] = tau / norm if norm > tau else 1.0
    for j in range(d):
        for t in range(nb):
            x[j, t] -= lr * work[t] * g[j, t]


def reference(p, k, lr, tau, x, g, state):
    norm = np.linalg.norm(g, axis=1, keepdims=True)
    return x - lr * np.minimum(1.0, tau / norm) * g, (norm[:, 0] > tau).astype(float)


register(Method("clipped_sgd", lr_params(4.0, "theorem4") + clip_params(1.0, "poly", "alpha-1"), "GClip again",
                step=step, reference=reference))
"""
_WITH_CLIP = "from synthclip.methods import clip_params\n"

# (name, how the good plugin above is broken, the field and words of the refusal). The lr/tau swap is made in
# the step *and* the reference (a reference written from the same wrong reading of the contract), so only the
# argument-order probes can catch it.
CHECKED_PLUGINS = [
    (
        "x_and_g_swapped",  # the new user's plugin: every slope +0.000 (x never moved)
        [("def step(p, k, lr, tau, x, g, clipped, work):", "def step(p, k, lr, tau, g, x, clipped, work):")],
        "field 'step' left x unchanged in 3 steps with nonzero gradients",
    ),
    (
        "lr_and_tau_swapped",
        [
            ("def step(p, k, lr, tau, x, g, clipped, work):", "def step(p, k, tau, lr, x, g, clipped, work):"),
            ("def reference(p, k, lr, tau, x, g, state):", "def reference(p, k, tau, lr, x, g, state):"),
        ],
        "field 'step' made x non-finite in 3 steps from finite x and g at clip = inf",
    ),
    (
        "clipped_and_work_swapped",
        [("def step(p, k, lr, tau, x, g, clipped, work):", "def step(p, k, lr, tau, x, g, work, clipped):")],
        "field 'step' added",
    ),
    (
        "wrong_reference",  # a reference that forgot the clip
        [("return x - lr * np.minimum(1.0, tau / norm) * g", "return x - lr * g")],
        "field 'reference' disagrees with the compiled step at the defaults",
    ),
    (
        "wrong_clip_count",
        [("(norm[:, 0] > tau).astype(float)", "(norm[:, 0] >= 0).astype(float)")],
        "field 'reference' counts",
    ),
]


def _broken(text: str, edits) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_the_unbroken_plugin_passes_the_check(registry, tmp_path):
    # the control of every refusal below: the same file, unbroken, loads and equals GClip
    path = write_plugin(tmp_path, "clipped_sgd", _WITH_CLIP + _CLIPPED_SGD)
    assert registry.load_plugin(path) == ("clipped_sgd",)
    assert registry.check(registry.get("clipped_sgd")) is None
    kw = dict(dim=3, steps=100, n_traj=40, seed=5, noise="pareto", alpha=1.5)
    a, b = synthclip.simulate("clipped_sgd", **kw), synthclip.simulate("gclip", **kw)
    np.testing.assert_allclose(a.metric("f"), b.metric("f"), rtol=1e-12)


@pytest.mark.parametrize("name,edits,message", CHECKED_PLUGINS, ids=[c[0] for c in CHECKED_PLUGINS])
def test_the_load_refuses_a_plugin_that_runs_wrong(registry, tmp_path, name, edits, message):
    path = write_plugin(tmp_path, name, _WITH_CLIP + _broken(_CLIPPED_SGD, edits))
    before = dict(registry.METHODS)
    with pytest.raises(ValueError) as err:
        registry.load_plugin(path)
    text = str(err.value)
    assert text.startswith(f"plugin {path}: method 'clipped_sgd': ") and message in text and "\n" not in text, text
    assert registry.METHODS == before  # nothing of a refused plugin stays registered
    # unchecked, the same file loads: the refusal came from the check, not from the fields
    assert registry.load_plugin(path, check=False) == ("clipped_sgd",)


def test_the_x_and_g_swap_runs_flat_when_unchecked(registry, tmp_path):
    # what the check prevents: the new user's plugin (x and g swapped in both) ran with f constant
    path = write_plugin(tmp_path, "x_and_g_swapped", _WITH_CLIP + _broken(_CLIPPED_SGD, CHECKED_PLUGINS[0][1]))
    registry.load_plugin(path, check=False)
    res = synthclip.simulate("clipped_sgd", dim=3, steps=50, n_traj=20, seed=1, x0=1.5)
    f = res.metric("f")
    assert np.all(f == f[:, :1])


def test_register_checks_a_method_made_in_python(registry, tmp_path):
    path = write_plugin(tmp_path, "wrong_reference", _WITH_CLIP + _broken(_CLIPPED_SGD, CHECKED_PLUGINS[3][1]))
    registry.load_plugin(path, check=False)
    method = registry.get("clipped_sgd")
    with pytest.raises(ValueError, match="^method 'clipped_sgd': field 'reference' disagrees"):
        registry.check(method)
    renamed = dataclasses.replace(method, name="clipped_sgd_2", origin="")
    with pytest.raises(ValueError, match="^method 'clipped_sgd_2': field 'reference' disagrees"):
        registry.register(renamed)
    assert "clipped_sgd_2" not in registry.METHODS


def test_every_builtin_passes_the_check():
    for name in methods.BUILTIN_NAMES + tuple(m.name for m in methods.EXTRA):
        methods.check(methods.get(name))
