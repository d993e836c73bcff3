"""Every study's flags, tried as a careless user would: any value is either accepted or refused with a
one-line StudyError (exit 2 on the command line) before any cell runs; never another exception.

A property test (hypothesis) draws values for every option field of every registered study, bad ones
included (negatives, zero, huge, NaN, ±inf, empty lists, duplicates, unknown names), and calls only
``make_params`` (which validates); no study is run. An accepted value must also respect the field's own
declared ``low``/``high``/``gt``/``lt``/``choices``, so a declared range that validation does not enforce is caught.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthclip.study import STUDIES, StudyError

_INTS = st.one_of(
    st.integers(-3, 12), st.sampled_from([-(10**9), 10**5, 10**8, 10**12, 2**63]), st.integers(-(10**12), 10**12)
)
_FLOATS = st.one_of(
    st.sampled_from([0.0, -0.0, -1.0, 0.5, 1.0, 2.0, 1e-300, 1e300, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_BAD_WORDS = ["", "bogus", "ALL"]


def _element(default_list: list, meta: dict):
    """Elements for a list field, of the type its default holds (what the command line's parser gives)."""
    sample = default_list[0] if default_list else ""
    if isinstance(sample, bool):
        return st.booleans()
    if isinstance(sample, int):
        return _INTS
    if isinstance(sample, float):
        return _FLOATS
    return st.sampled_from(sorted({*map(str, default_list), *meta.get("choices", ()), *_BAD_WORDS}))


def _values(field: dataclasses.Field):
    default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
    meta = dict(field.metadata)
    if isinstance(default, bool):
        return st.booleans()
    # a declared bound and its neighbours are drawn on purpose: that is where a validate goes wrong
    edges = [meta[k] for k in ("low", "high", "gt", "lt") if k in meta]
    if isinstance(default, int):
        near = [int(e) + d for e in edges for d in (-1, 0, 1) if math.isfinite(e)]
        return st.one_of(st.just(default), st.sampled_from(near or [0]), _INTS)
    if isinstance(default, float):
        near = [float(e) + d for e in edges for d in (-1e-9, 0.0, 1e-9)]
        return st.one_of(st.just(default), st.sampled_from(near or [0.0]), _FLOATS)
    if isinstance(default, str):
        return st.sampled_from([default, *meta.get("choices", ()), *_BAD_WORDS])
    if isinstance(default, list):
        element = _element(default, meta)
        return st.one_of(
            st.just(list(default)),
            st.lists(element, max_size=4),  # empty lists included
            st.lists(element, min_size=1, max_size=3).map(lambda xs: xs + xs[:1]),  # a duplicate
        )
    return st.just(default)


def _params_strategy(study):
    """One to three fields at a time, the others at their defaults: a bad value in one field must not
    hide the checks of the next (with every field drawn at once, nearly every draw fails the first check)."""
    fields = {f.name: _values(f) for f in dataclasses.fields(study.Params) if f.name not in ("quick",)}
    names = st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=3, unique=True)
    return names.flatmap(lambda chosen: st.fixed_dictionaries({n: fields[n] for n in chosen}))


def _in_declared_range(field: dataclasses.Field, value) -> bool:
    meta = field.metadata
    values = value if isinstance(value, list) else [value]
    for v in values:
        if "choices" in meta and not isinstance(field.default, list) and v not in meta["choices"]:
            return False
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "low" in meta and not v >= meta["low"]:
                return False
            if "high" in meta and not v <= meta["high"]:
                return False
            if "gt" in meta and not v > meta["gt"]:
                return False
            if "lt" in meta and not v < meta["lt"]:
                return False
            if not (math.isfinite(v) or meta.get("infinite")):
                return False
    return True


def _property(name: str, study):
    """The property over ``study``'s parameter space, as a hypothesis test to call."""

    @settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(values=_params_strategy(study), quick=st.booleans())
    def check(values, quick):
        try:
            p = study.make_params(dict(values), quick=quick)
        except StudyError as err:
            text = str(err)
            assert text and "\n" not in text, f"{name}: a multi-line error for {values}: {text!r}"
            return
        # Accepted: every field lies in its own declared range (the --help text promises it)
        for f in dataclasses.fields(study.Params):
            assert _in_declared_range(f, getattr(p, f.name)), (
                f"{name}: --{f.name.replace('_', '-')}={getattr(p, f.name)!r} accepted outside its declared range"
            )

    return check


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_any_flag_value_is_accepted_or_refused_in_one_line(name):
    _property(name, STUDIES[name])()


def test_the_property_catches_a_validate_that_lets_a_bad_value_through():
    # negative control: a study whose validate takes log(--noise-alpha) unchecked (0 passes the declared
    # low = 0) raises a plain ValueError, which the property must report
    class Careless(type(STUDIES["rates"])):
        def validate(self, p):
            math.log(p.noise_alpha)

    with pytest.raises(ValueError, match="math domain error"):
        _property("careless", Careless())()


# -- the reported cases, end to end through the command line (exit status 2, one line, no traceback) --
REPORTED = [
    ["rates", "--steps", "1"],
    ["rates", "--steps", "99"],
    ["rates", "--dim", "100000000"],
    ["rates", "--quantiles", "0.5,0.5"],
    ["torch-rates", "--quick", "--batch-size", "100000"],
    ["torch-rates", "--n-seeds", "1"],
]


@pytest.mark.parametrize("argv", REPORTED, ids=[" ".join(a) for a in REPORTED])
def test_reported_bad_flags_exit_2_with_one_line(argv, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "synthclip.study", *argv, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert not any(tmp_path.iterdir()) or not any((tmp_path / ".cache").glob("**/*.json"))  # no cell ran


# -- gaps the property and the probes found, one line each through cli.main (in process) --------------
FOUND = [
    (["nonconvex", "--quick", "--dim", "100000000"], "--dim must be a positive integer <= 100000"),
    (["nonconvex", "--quick", "--horizons", "100,10000000000"], "--horizons must be <= 2147483646"),
    (["dimension", "--quick", "--n-traj", "1000000000000"], "--n-traj 1000000000000 needs about"),
    (["tails", "--quick", "--sizes", "100,1000000000000"], "--sizes 1000000000000 needs about"),
    (["bias", "--quick", "--lrs", "0.1,0.1"], "--lrs lists 0.1 twice"),
    (["bias", "--quick", "--tail-points", "0"], "--tail-points must be a positive integer"),
    (["rates", "--quick", "--seed", "-1"], "--seed must be an integer >= 0"),
    (["rates", "--quick", "--backend", "spark"], "--backend: unknown value 'spark'"),
    (["rates", "--quick", "--mu", "inf"], "--mu must be a finite number > 0"),
    (["torch-rates", "--quick", "--lr-scale", "1e300"], "--lr-scale must be > 0 and keep every step size"),
    (["torch-noise", "--quick", "--n-batches", "100000000000"], "--n-batches 100000000000 needs about"),
    (["torch-noise", "--quick", "--batch-sizes", "1,100000"], "--batch-sizes must be <= 1797"),
]


@pytest.mark.parametrize("argv,needle", FOUND, ids=[" ".join(a[:1] + a[2:]) for a, _ in FOUND])
def test_found_gaps_exit_2_with_one_line(argv, needle, tmp_path, capsys):
    from synthclip.harness import cli

    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    "toml,needle",
    [
        ('n_traj = "many"', "--n-traj must be an integer, got 'many'"),
        ("steps = 1000.5", "--steps must be an integer, got 1000.5"),
        ('methods = "sgd"', "--methods must be a comma-separated list, got 'sgd'"),
        ("quantiles = [0.5, true]", "--quantiles must be a number, got True"),
    ],
)
def test_a_toml_file_of_the_wrong_types_is_refused_in_one_line(toml, needle, tmp_path, capsys):
    from synthclip.harness import cli

    config = tmp_path / "c.toml"
    config.write_text(toml + "\n")
    assert cli.main(["rates", "--config", str(config), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err, err


def test_torch_noise_probe_step_is_capped(capsys):
    from synthclip.harness import cli

    assert cli.main(["torch-noise", "--probe-at", "100000000000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--probe-at must be integers in [0, 100000]" in err


# -- --plugin and --method-param: offered by the studies whose --methods run registered methods -------------
EXAMPLE = __import__("pathlib").Path(__file__).resolve().parents[1] / "studies" / "examples" / "my_method.py"


@pytest.fixture
def registry():
    """The method registry as it was before the test (a plugin a test loads does not leak)."""
    from synthclip import methods

    saved, plugins = dict(methods.METHODS), dict(methods._PLUGINS)
    yield methods
    methods.METHODS.clear()
    methods.METHODS.update(saved)
    methods._PLUGINS.clear()
    methods._PLUGINS.update(plugins)


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_only_the_studies_that_take_plugins_offer_them(name, capsys):
    from synthclip.harness import cli

    study = STUDIES[name]
    with pytest.raises(SystemExit):
        cli.parse([name, "--help"])
    text = capsys.readouterr().out
    assert ("--plugin" in text) == ("--method-param" in text) == study.plugins
    if study.plugins:
        assert "methods" in {f.name for f in dataclasses.fields(study.Params)}  # a plugin goes to its --methods
        return
    # the others refuse both flags in one line naming the flag, before any plugin file is read
    for flag_name in ("--plugin", "--method-param"):
        assert cli.main([name, flag_name, "no/such/file.py"]) == 2
        err = capsys.readouterr().err.strip()
        assert f"{flag_name}: study {name!r} runs no registered methods" in err and "\n" not in err, err


METHOD_PARAM_ERRORS = [
    (["rates", "--method-param", "gclipclip=2"], "--method-param must be NAME.KEY=VALUE"),
    (["rates", "--method-param", "nosuch.clip=2"], "--method-param: unknown method 'nosuch'"),
    (["rates", "--method-param", "gclip.bogus=2"], "--method-param: unknown parameter 'bogus' for method 'gclip'"),
    (
        ["rates", "--method-param", "gclip.clip_power=-1"],
        "--method-param: method 'gclip' parameter 'clip_power' must be in [0, inf) or one of 'alpha-1', '1/alpha', got -1.0",
    ),
    (
        ["rates", "--method-param", "adam_norm.beta1=1"],
        "--method-param: method 'adam_norm' parameter 'beta1' must be in [0, 1), got 1.0",
    ),
    (
        ["rates", "--methods", "my_method", "--plugin", str(EXAMPLE), "--method-param", "my_method.beta=1.5"],
        "--method-param: method 'my_method' parameter 'beta' must be in [0, 1), got 1.5",
    ),
    (
        [
            "rates",
            "--methods",
            "my_method",
            "--plugin",
            str(EXAMPLE),
            "--method-param",
            "my_method.beta=0.1",
            "--method-param",
            "my_method.beta=0.2",
        ],
        "--method-param my_method.beta is given twice",
    ),
    (
        ["rates", "--methods", "gclip", "--method-param", "gclip.clip_power=0.5"],
        "--method-param gclip.clip_power: the label 'gclip' is judged by the statement of its own settings",
    ),
    (
        ["lower-bound", "--methods", "gclip", "--method-param", "gclip.clip=0.5"],
        "--method-param gclip.clip: set by the study for 'gclip'",
    ),
    (
        ["lower-bound", "--methods", "gclip-balanced", "--method-param", "gclip.clip_power=0.5"],
        "--method-param gclip.clip_power: set by the study for 'gclip-balanced'",
    ),
]


@pytest.mark.parametrize("argv,needle", METHOD_PARAM_ERRORS, ids=[a[-1] for a, _ in METHOD_PARAM_ERRORS])
def test_a_bad_method_param_exits_2_in_one_line(registry, argv, needle, tmp_path, capsys):
    from synthclip.harness import cli

    assert cli.main([*argv, "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err, err
    assert not (tmp_path / ".cache").exists()  # refused before any cell ran


def _cell_params(argv):
    from synthclip.harness import cli

    study, p = cli.parse(argv)
    return [(c.get("label"), c["method"], c["method_params"]) for c in study.cells(p)]


def test_method_param_sets_a_plugins_parameter_in_its_cells(registry):
    base = ["rates", "--quick", "--plugin", str(EXAMPLE), "--methods", "my_method,gclip"]
    # control: without the flag the plugin runs at its default β = 0.5 (and the study's τ0, its clip schedule)
    plain = _cell_params(base)
    assert {(m, prm.get("beta"), prm["clip"]) for _, m, prm in plain} == {
        ("my_method", None, 1.0),
        ("gclip", None, 1.0),
    }
    set_ = _cell_params(
        [*base, "--method-param", "my_method.beta=0.9", "--method-param", "my_method.clip_power=1/alpha"]
    )
    mine = [prm for _, m, prm in set_ if m == "my_method"]
    assert mine and all(prm["beta"] == 0.9 and prm["clip_power"] == 1 / 1.5 for prm in mine)  # alias at α = 1.5
    assert [prm for _, m, prm in set_ if m == "gclip"] == [prm for _, m, prm in plain if m == "gclip"]


def test_method_param_sets_a_builtins_parameter_in_lower_bound(registry):
    plain = _cell_params(["lower-bound", "--quick", "--methods", "adam_norm"])
    set_ = _cell_params(["lower-bound", "--quick", "--methods", "adam_norm", "--method-param", "adam_norm.beta1=0.5"])
    assert all("beta1" not in prm for _, _, prm in plain)
    assert all(prm["beta1"] == 0.5 and prm["lr"] == 1.0 for _, _, prm in set_) and len(set_) == len(plain)


def test_nonconvex_confidence_smoothness_run_a_plugin_at_its_defaults_and_method_params(registry):
    plugin = ["--plugin", str(EXAMPLE), "--methods", "my_method,gclip"]
    from synthclip.harness import cli

    study, p = cli.parse(["nonconvex", "--quick", *plugin, "--method-param", "my_method.beta=0.25"])
    mine = [c for c in study.cells(p) if c["label"] == "my_method"]
    assert len(mine) == len(p.horizons) and all(
        c["method"] == "my_method" and c["params"] == {"beta": 0.25} and c["plugin"] == str(EXAMPLE.resolve())
        for c in mine
    )
    gclip = [c for c in study.cells(p) if c["label"] == "gclip"]
    assert gclip and all("method" not in c for c in gclip)  # the study's own labels keep their cells (cache keys)
    study, p = cli.parse(["confidence", "--quick", "--instances", "reference", *plugin])
    cells = {c["label"]: c for c in study.cells(p)}
    # routed by declared parameters: the plugin clips on the shared schedule, so it gets λ = --clip (1.0)
    assert cells["my_method"]["method_params"] == {"clip": 1.0} and cells["gclip"]["method_params"] == {"clip": 1.0}
    # a label the study judges keeps its settings: --method-param for it is refused in one line
    assert cli.main(["confidence", "--quick", "--methods", "adagrad_norm", "--method-param", "adagrad_norm.b0=2"]) == 2
    study, p = cli.parse(
        [
            "smoothness",
            "--quick",
            "--plugin",
            str(EXAMPLE),
            "--methods",
            "my_method,clip",
            "--method-param",
            "my_method.clip=2",
        ]
    )
    mine = [c for c in study.cells(p) if c["label"] == "my_method"]
    assert mine and all(c["method_params"] == {"clip": 2.0} for c in mine)
    assert all(c["method_params"]["lr_schedule"] == "constant" for c in study.cells(p) if c["label"] == "clip")


def test_torch_rates_runs_a_plugin_method_with_its_torch_form(registry, tmp_path, capsys):
    # a plugin's method in torch-rates' --methods: trained through optimizer_for (its compiled step) with the
    # --method-param value, tuned on the same grid rule, reported, and named by no claim
    pytest.importorskip("torch")
    import pandas as pd

    from synthclip.harness import cli

    argv = ["torch-rates", "--quick", "--no-ladder", "--steps", "10", "--n-seeds", "6", "--checkpoints", "2"]
    argv += ["--methods", "sgd,my_method", "--plugin", str(EXAMPLE), "--method-param", "my_method.beta=0.9"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0, capsys.readouterr().err
    runs = pd.read_parquet(tmp_path / "runs.parquet")
    mine = runs[runs["method"] == "my_method"]
    assert len(mine) == 2 and mine["text"].str.startswith("my_method (registered method").all()
    assert "my_method" in capsys.readouterr().out
    claims = pd.read_parquet(tmp_path / "claims.parquet")
    assert not claims.astype(str).apply(lambda c: c.str.contains("my_method")).any().any()


def test_torch_rates_refuses_a_method_param_on_its_own_labels(tmp_path, capsys):
    pytest.importorskip("torch")
    from synthclip.harness import cli

    assert cli.main(["torch-rates", "--quick", "--method-param", "gclip.clip=2", "--out", str(tmp_path)]) == 2
    assert not list(tmp_path.glob("*.parquet"))
    err = capsys.readouterr().err.strip()
    assert "--method-param gclip.clip: the label 'gclip' is judged by the statement" in err and "\n" not in err, err
