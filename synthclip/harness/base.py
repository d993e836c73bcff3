"""The study framework: a registry of studies, each a dataclass of parameters with defaults.

A study turns its parameters into independent *cells* (one method × one parameter set, a JSON-able
dict that fully determines the cell's result), computes each cell into small tidy tables, then
*analyses* the tables of a group of cells (verdicts against ``synthclip.theory``), writes them under
``studies/results/<study>/<group>/`` and draws its figure from the stored tables alone.

Parameters come from the dataclass defaults < a TOML file (``--config``) < command-line flags;
``--quick`` swaps in the study's small settings before the TOML file and the flags are applied.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from .. import methods as method_registry
from .. import noise as noise_registry
from ..verdict import RULE as _RULE

STUDIES: dict[str, Study] = {}


class StudyError(ValueError):
    """A bad study parameter: the message is one line that names the flag and the valid range."""


class MissingDependency(StudyError):
    """An optional package a study needs is not installed (``all`` skips such studies)."""


def register(cls):
    """Class decorator: add a study (an instance of ``cls``) to the registry under ``cls.name``."""
    if "defaults" in cls.__dict__:  # the study's own defaults of the shared groups' fields
        cls.Params = with_defaults(cls.Params, cls.defaults)
    STUDIES[cls.name] = cls()
    return cls


def registered() -> dict[str, Study]:
    """The registry with the package's own studies in it: importing ``synthclip.study`` registers them, which a
    worker process (or a caller that imported only the harness) has not yet done."""
    import synthclip.study  # noqa: F401

    return STUDIES


def option(default, help: str, **meta):
    """A study parameter: its default, its --help text, and what it accepts: ``choices``, closed bounds
    ``low``/``high`` (≥, ≤), open bounds ``gt``/``lt`` (>, <). A number must be finite unless
    ``infinite=True``; a list whose default has values needs one unless ``optional=True``. :func:`check_declared` enforces all of it, with one message per kind."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help, **meta})
    return field(default=default, metadata={"help": help, **meta})


def range_text(meta: Mapping[str, Any]) -> str:
    """The declared range of a numeric option in words: '> 0', 'in (0, 1)', '>= 1', '' if unbounded."""
    low = ("[", meta["low"]) if "low" in meta else ("(", meta["gt"]) if "gt" in meta else None
    high = ("]", meta["high"]) if "high" in meta else (")", meta["lt"]) if "lt" in meta else None
    if low and high:
        return f"in {low[0]}{low[1]:g}, {high[1]:g}{high[0]}"
    if low:
        return f"{'>=' if low[0] == '[' else '>'} {low[1]:g}"
    if high:
        return f"{'<=' if high[0] == ']' else '<'} {high[1]:g}"
    return ""


def in_range(meta: Mapping[str, Any], v: float) -> bool:
    """Whether a number lies in the declared range (NaN never does; ±inf only where ``infinite``)."""
    if not (math.isfinite(v) or (meta.get("infinite") and not math.isnan(v))):
        return False
    return (
        v >= meta.get("low", -math.inf)
        and v <= meta.get("high", math.inf)
        and ("gt" not in meta or v > meta["gt"])
        and ("lt" not in meta or v < meta["lt"])
    )


@dataclass
class CommonParams:
    """Flags every study shares (execution, output), not part of any cell's result."""

    seed: int = option(0, "seed of the noise stream (all methods of a run share it: common random numbers)", low=0)
    out: str = option("", "output folder (default studies/results/<study>)")
    jobs: int = option(0, "parallel cells (0: all cores); numba threads per job = cores // jobs", low=0)
    backend: str = option("loky", "joblib backend for the cells", choices=("loky", "threading", "dask"))
    scheduler: str = option("", "dask scheduler address tcp://HOST:PORT (default: a local cluster)")
    force: bool = option(False, "recompute cells even if they are cached")
    quiet: bool = option(False, "no progress bars")
    quick: bool = option(False, "small, fast settings (smoke runs, CI)")


@dataclass
class IntervalParams(CommonParams):
    """The interval options of every study that states intervals, with the defaults of ``verdict.RULE``."""

    n_boot: int = option(_RULE.n_boot, "bootstrap replicates per interval (≥ 20/(1 − confidence))", low=1)
    confidence: float = option(_RULE.confidence, "level of the intervals", gt=0.0, lt=1.0)


@dataclass
class SlopeParams(IntervalParams):
    """The options of every study that fits slopes."""

    allowance: float = option(_RULE.allowance, "model-error allowance added to each side of a slope interval", low=0.0)


@dataclass
class FitParams(SlopeParams):
    """The fit options of every study that fits rates of quantiles."""

    quantiles: list = option(list(_RULE.quantiles), "quantile levels to fit (1 − δ)", gt=0.0, lt=1.0)


@dataclass
class SimulationParams:
    """The size of a simulation (a group: studies mix it into their parameters and set its defaults)."""

    n_traj: int = option(10_000, "independent trajectories per cell", low=1)
    steps: int = option(10_000, "horizon K: steps per trajectory", low=1)


def simulation_fields(p) -> dict[str, Any]:
    """The fields of a cell that a ``SimulationParams`` group fixes: K, N and the seed every cell shares."""
    return fields_of(p, "steps", "n_traj", "seed")


@dataclass
class NoiseParams:
    """The noise law of a simulation (a group); each study checks α against the law's range."""

    noise: str = option("stable", "noise law", choices=tuple(noise_registry.NOISES))


#: The range of the theorems' α (Assumption 1: E‖g‖^α ≤ σ^α with α ∈ (1, 2]; docs/theory.md).
THEOREM_ALPHA = {"gt": 1.0, "high": 2.0}


@dataclass
class TheoremAlphaParams:
    """The theorems' α (a group): it sets the exponents, the clip and step schedules; each value its own folder."""

    alpha: list = option(
        [1.5],
        "α of the theorems (Assumption 1: E‖g‖^α bounded), which sets the exponents and the "
        "schedules; a comma list sweeps several (each its own folder)",
        **THEOREM_ALPHA,
    )


#: Symmetric heavy-tailed laws whose tail index a is a parameter: the noise of a p-th moment statement.
MOMENT_LAWS = ("pareto", "stable")


@dataclass
class MomentTailParams(NoiseParams):
    """A p-th moment statement's noise (a group): a symmetric heavy-tailed law of tail index a > p, so that
    E|ξ|^p < ∞; p is the study's ``alpha`` (checked by :func:`check_moment_tail`)."""

    tail: float = option(1.8, "tail index a of the noise (> p, so the p-th moment is finite)", gt=1.0)


def moment_tail_fields(p) -> dict[str, Any]:
    """The fields of a cell that a ``MomentTailParams`` study fixes: the theorem's p (``alpha``), the noise's
    tail index a (``tail``) and its law (``noise``)."""
    return {"alpha": float(p.alpha), "tail": float(p.tail), "noise": p.noise}


def check_moment_tail(p) -> None:
    """The noise of a :class:`MomentTailParams` study: a law of ``MOMENT_LAWS``, a in its range, a > p."""
    check_alpha(p.noise, [p.tail], "--tail")
    if p.noise not in MOMENT_LAWS:
        raise StudyError(f"--noise must be a symmetric heavy-tailed law ({', '.join(MOMENT_LAWS)}), got {p.noise!r}")
    if not p.tail > p.alpha:
        raise StudyError(f"--tail must be > --alpha = {p.alpha:g} (a finite p-th moment), got {p.tail!r}")


def check_start_inside(p) -> None:
    """The start inside the projection ball around x* = 0: ``--radius`` > |``--x0``|."""
    if not p.radius > abs(p.x0):
        raise StudyError(f"--radius must exceed |--x0| = {abs(p.x0):g}, got {p.radius!r}")


@dataclass
class HorizonParams:
    """Horizons K, each its own run (a group: the schedules depend on K)."""

    horizons: list = option(
        [100, 316, 1000, 3162, 10000],
        "horizons K, each its own run (the schedules depend on K); at least two distinct",
        low=2,
    )


@dataclass
class DeviceParams:
    """Where the work runs (a group)."""

    device: str = option(
        "cpu", "where trajectories run: cpu (numba or torch, all cores) or cuda (one GPU)", choices=("cpu", "cuda")
    )


def with_defaults(params: type, defaults: Mapping[str, Any]) -> type:
    """``params`` with other defaults for some fields: a field is declared once (help, bounds, choices) in its
    group and each study sets only its value. Unknown names are a programming error."""
    fields = {f.name: f for f in dataclasses.fields(params)}
    unknown = sorted(set(defaults) - set(fields))
    if unknown:
        raise TypeError(f"{params.__name__} has no field {unknown[0]!r}")
    changed = [(name, fields[name].type, option(value, **fields[name].metadata)) for name, value in defaults.items()]
    return dataclasses.make_dataclass(params.__name__, changed, bases=(params,))


class Study:
    """Base class: subclasses set ``name``, ``Params`` (a dataclass deriving from CommonParams),
    ``quick`` (overrides for --quick) and implement cells / run_cell / analyze / report / plot."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Params: ClassVar[type] = CommonParams
    defaults: ClassVar[Mapping[str, Any]] = {}
    quick: ClassVar[Mapping[str, Any]] = {}
    tables: ClassVar[tuple[str, ...]] = ()
    #: its --methods runs registered methods: the command line offers --plugin and --method-param (``method_overrides``)
    plugins: ClassVar[bool] = False
    #: every cell's results go to the output folder itself, analysed together (no alpha=α sub-folders)
    single_folder: ClassVar[bool] = False

    # -- parameters -------------------------------------------------------------------------------
    def make_params(self, values: Mapping[str, Any], *, quick: bool = False) -> Any:
        fields = {f.name for f in dataclasses.fields(self.Params)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise StudyError(
                f"unknown parameter {unknown[0]!r} for study {self.name!r}; valid: {', '.join(sorted(fields))}"
            )
        merged = {**(dict(self.quick) if quick else {}), **values}
        params = self.Params(**merged)
        params.quick = quick or params.quick
        check_declared(params)  # types and declared low/high/choices of every field, for every study
        check_simulation_sizes(params)
        self.validate(params)
        return params

    def validate(self, p) -> None:
        """Check parameters up front, raising StudyError naming the flag; subclasses extend."""
        check_positive(p, "n_traj", "steps", "dim")

    # -- the work ---------------------------------------------------------------------------------
    def cells(self, p) -> list[dict]:
        raise NotImplementedError

    def group(self, cell: Mapping[str, Any]) -> str:
        """The output sub-folder of a cell (cells of a group are analysed together): alpha=α, or none at all
        with ``single_folder``."""
        return "" if self.single_folder else f"alpha={cell['alpha']:g}"

    def run_cell(
        self, cell: Mapping[str, Any], *, threads: int | None = None, progress=None
    ) -> dict[str, pd.DataFrame]:
        raise NotImplementedError

    def analyze(self, p, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        return tables

    def report(self, tables: dict[str, pd.DataFrame], meta: Mapping[str, Any]) -> str:
        return ""

    def plot(self, tables: dict[str, pd.DataFrame], meta: Mapping[str, Any]):
        return None

    def scoreboard(self, tables: dict[str, pd.DataFrame], meta: Mapping[str, Any]) -> pd.DataFrame:
        """The study's verdict rows in ``verdict.SCOREBOARD_COLUMNS`` (one per judged statement), read from the
        stored tables alone; ``study summary`` gathers them from every results folder."""
        from ..verdict import SCOREBOARD_COLUMNS

        return pd.DataFrame(columns=list(SCOREBOARD_COLUMNS))

    def default_out(self) -> Path:
        return Path("studies") / "results" / self.name


# -- shared validation helpers ------------------------------------------------------------------------


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _kind(default) -> tuple[type, str]:
    """The Python type a field's values must have (from its default) and its name in messages."""
    if isinstance(default, bool):
        return bool, "true or false"
    if isinstance(default, int):
        return int, "an integer"
    if isinstance(default, float):
        return (int, float), "a number"
    return str, "a string"


def check_declared(p) -> None:
    """Every field against what its ``option`` declares: the type of its default (a TOML file can give
    any type), ``low``/``high`` (NaN is outside every range) and, for a single string, ``choices``.
    The studies' own ``validate`` then adds the rules between fields."""
    for f in dataclasses.fields(p):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        value, meta = getattr(p, f.name), f.metadata
        if isinstance(default, list):
            if not isinstance(value, list):
                raise StudyError(f"{flag(f.name)} must be a comma-separated list, got {value!r}")
            values = value
            twice = sorted({repr(v) for v in values if values.count(v) > 1})
            if twice:  # the same cell or row twice: never what was meant
                raise StudyError(f"{flag(f.name)} lists {twice[0]} twice: {value!r}")
            if not default:
                continue
            if not values and not meta.get("optional"):  # a list the study needs values of
                valid = f"; valid: {', '.join(meta['choices'])}" if "choices" in meta else ""
                raise StudyError(f"{flag(f.name)} needs at least one value{valid}")
            default = default[0]
        else:
            values = [value]
        kind, words = _kind(default)
        for v in values:
            if not isinstance(v, kind) or (kind is not bool and isinstance(v, bool)):
                raise StudyError(f"{flag(f.name)} must be {words}, got {v!r}")
            if "choices" in meta and isinstance(v, str) and v not in meta["choices"]:
                raise StudyError(f"{flag(f.name)}: unknown value {v!r}; valid: {', '.join(meta['choices'])}")
            if kind is bool or isinstance(v, str):
                continue
            if not in_range(meta, v):
                if kind is int and meta.get("low") == 1 and len(set(meta) & {"high", "gt", "lt"}) == 0:
                    raise StudyError(f"{flag(f.name)} must be a positive integer, got {v!r}")  # check_positive's words
                where = range_text(meta)
                if kind is not int and not meta.get("infinite"):
                    words = "a finite number"
                raise StudyError(f"{flag(f.name)} must be {words} {where}".rstrip() + f", got {v!r}")


#: Largest --dim of a simulation study. A run holds 6 (d × 64) float64 blocks per thread (the engine's
#: lock-step state), 3 KB·d: 0.3 GB per thread at d = 10^5, 30 GB at the engine's own limit of 10^7.
MAX_DIM = 100_000


def check_dim(name: str, dims) -> None:
    """Each dimension an integer in [1, MAX_DIM] (the memory of a run grows with d × threads)."""
    words = "positive integers" if isinstance(dims, (list, tuple)) else "a positive integer"
    for d in _as_list(dims):
        if not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= MAX_DIM:
            raise StudyError(
                f"{flag(name)} must be {words} <= {MAX_DIM} (a run holds about 3 KB × d per thread: "
                f"0.3 GB at d = {MAX_DIM}), got {d!r}"
            )


def available_memory() -> float:
    """Bytes available to new allocations (Linux's MemAvailable; +inf where it cannot be read)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return math.inf


def check_memory(what: str, n_bytes: float, hint: str) -> None:
    """Refuse up front a run whose arrays cannot fit in the memory available now (else: MemoryError in a cell)."""
    free = available_memory()
    if n_bytes > free:
        raise StudyError(
            f"{what} needs about {n_bytes / 2**30:.3g} GiB of arrays, more than the "
            f"{free / 2**30:.3g} GiB available: {hint}"
        )


#: The engine's own limits (synthclip.engine.simulate): steps count in 32 bits, trajectories in 40.
MAX_STEPS = 2**31 - 2
MAX_TRAJ = 2**40


def check_simulation_sizes(p) -> None:
    """The sizes every simulation study passes to the engine, by their shared names: --steps and each of
    --horizons within the engine's step counter, --dim/--dims within MAX_DIM, and --n-traj within the
    engine's limit and the memory its output needs at the least (7 metrics × 8 bytes per trajectory and
    checkpoint; a study with many checkpoints checks the full size itself)."""
    for name in ("steps", "horizons"):
        for k in _as_list(getattr(p, name, [])):
            if isinstance(k, int) and k > MAX_STEPS:
                raise StudyError(f"{flag(name)} must be <= {MAX_STEPS} (the engine counts steps in 32 bits), got {k!r}")
    if hasattr(p, "horizons"):
        check_distinct(p, "horizons")
    for name in ("dim", "dims"):
        if hasattr(p, name):
            check_dim(name, getattr(p, name))
    n_traj = getattr(p, "n_traj", None)
    if isinstance(n_traj, int):
        if n_traj > MAX_TRAJ:
            raise StudyError(f"--n-traj must be <= {MAX_TRAJ}, got {n_traj!r}")
        check_memory(f"--n-traj {n_traj}", 7 * 8 * n_traj, "lower --n-traj")


def check_distinct(p, name: str, *, at_least: int = 2, what: str = "values") -> None:
    """A list option needs ``at_least`` distinct entries (a fit across them): the message says "--flag needs at
    least 2 distinct <what>, got [...]", ``what`` naming the entries and, if wanted, what they are for."""
    values = getattr(p, name)
    if len(set(values)) < at_least:
        raise StudyError(f"{flag(name)} needs at least {at_least} distinct {what}, got {values!r}")


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def check_fit_horizon(name: str, steps, min_k: float) -> None:
    """A rate fit over the last decade [K/10, K] needs K/10 >= min_k: before min_k the error is still the
    initial distance, not a rate (verdict.RULE.min_k); the window then holds several checkpoints."""
    least = int(math.ceil(10 * min_k))
    for k in steps if isinstance(steps, (list, tuple)) else [steps]:
        if not isinstance(k, int) or isinstance(k, bool) or k < least:
            raise StudyError(
                f"{flag(name)} must be >= {least}: the rate is fitted over the last decade [K/10, K], "
                f"which must start at k >= {min_k:g} (earlier steps show the start, not a rate), got {k!r}"
            )


def check_delta_min(p, name: str, n_name: str, delta_max: float, max_text: str) -> None:
    """The smallest δ of a (1 − δ)-quantile grid (field ``name``): in (0, ``delta_max``), written ``max_text``, and
    at least 10/N (N the field ``n_name``), so that its quantile has a real interval."""
    delta_min, n = getattr(p, name), getattr(p, n_name)
    if not 0 < delta_min < delta_max:
        raise StudyError(f"{flag(name)} must be in (0, {max_text}), got {delta_min!r}")
    if delta_min * n < 10:
        raise StudyError(
            f"{flag(name)} must be >= 10/{flag(n_name)} = {10 / n:g} so the smallest δ has a real interval, "
            f"got {delta_min!r}"
        )


def check_positive(p, *names: str) -> None:
    for name in names:
        if hasattr(p, name):
            value = getattr(p, name)
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    raise StudyError(f"{flag(name)} must be a positive integer, got {v!r}")


def noise_tails(p) -> list[tuple[float, float]]:
    """(theorem α, noise tail index a) pairs of a run with ``alpha``, ``noise``, ``noise_alpha`` and ``tail_offsets``:
    --noise-alpha when given, else α + each offset that lies in the noise law's range (stable: a ≤ 2)."""
    if p.noise_alpha:
        return [(float(alpha), float(p.noise_alpha)) for alpha in p.alpha]
    rng = noise_registry.get(p.noise).param("alpha")
    pairs = []
    for alpha in p.alpha:
        for o in p.tail_offsets:
            a = round(float(alpha) + float(o), 12)
            try:
                rng.check(a)
            except ValueError:
                continue  # e.g. stable noise above a = 2: no law there
            pairs.append((float(alpha), a))
    return pairs


def check_claims(path: str) -> None:
    """A --claims file must load (``testing.load_claims``): its error names the flag."""
    from .. import testing

    if path:
        try:
            testing.load_claims(path)
        except ValueError as err:
            raise StudyError(f"--claims: {err}") from None


def check_alpha(noise: str, alphas, flag_name: str = "--alpha") -> None:
    """Each α must lie in the noise law's range (stable: (1, 2], pareto: > 1, ...)."""
    try:
        spec = noise_registry.get(noise)
    except ValueError as err:
        raise StudyError(f"--noise: {err}") from None
    rng = spec.param("alpha")
    for a in alphas:
        try:
            rng.check(a)
        except ValueError:
            raise StudyError(f"{flag_name} must be in {rng.range_text()} for noise {noise!r}, got {a!r}") from None


def check_choice(name: str, value, valid) -> None:
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if v not in valid:
            raise StudyError(f"{flag(name)}: unknown value {v!r}; valid: {', '.join(map(str, valid))}")


def check_methods(name: str, labels, known: Mapping[str, Any]) -> None:
    if not labels:
        raise StudyError(f"{flag(name)} needs at least one method; valid: {', '.join(known)}")
    check_choice(name, labels, list(known))


def with_registered(table: Mapping[str, Any]) -> dict:
    """A study's method labels and, after them, every registered method the table does not name (a
    --plugin's, say): what its --methods accepts."""
    return {**table, **{name: None for name in method_registry.METHODS if name not in table}}


def declares(method: str, name: str) -> bool:
    """Whether registered ``method`` declares parameter ``name``: how a study routes its own knobs (τ0 to the
    methods with the shared clip schedule, γ and b0 to those with the scale b_k), never by the method's name."""
    return name in method_registry.get(method).defaults


def with_overrides(
    overrides: Mapping[str, Mapping[str, Any]], label: str, method: str, params: Mapping[str, Any], *, judged: bool
) -> dict:
    """``params`` with the --method-param values (``method_overrides(p)``) for ``method``: never a parameter the
    study sets itself, nor any of a ``judged`` label's (a label judged by the statement of its own settings, which
    an override would leave)."""
    out = dict(params)
    for key, value in (overrides or {}).get(method, {}).items():
        if judged:
            raise StudyError(
                f"--method-param {method}.{key}: the label {label!r} is judged by the statement of its "
                f"own settings; set the parameters of a plugin or of a method the table does not name"
            )
        if key in out:
            raise StudyError(
                f"--method-param {method}.{key}: set by the study for {label!r} (its own flags or the "
                f"label); choose another parameter"
            )
        out[key] = value
    return out


def plugin_cell(p, label: str, params_key: str) -> dict:
    """The cell fields of a registered method a study's table does not name (a --plugin's, say): the method, its
    parameters under ``params_key`` (its defaults and the --method-param values) and its plugin file."""
    params = with_overrides(method_overrides(p), label, label, {}, judged=False)
    return {"method": label, params_key: params, **method_registry.plugin_of(label)}


def method_overrides(p) -> dict[str, dict[str, Any]]:
    """--method-param NAME.KEY=VALUE of a study that takes plugins: registry name → {parameter: checked value}
    (``cli.parse_method_params``); {} when none was given or the parameters were made without the command line."""
    return dict(getattr(p, "method_param", None) or {})


def method_params(method: str, params: Mapping[str, Any], flag_name: str) -> dict:
    """Validate a method's parameters through its registry entry, naming the study flag on error."""
    try:
        return method_registry.get(method).validate(params, "method")
    except ValueError as err:
        raise StudyError(f"{flag_name}: {err}") from None


def check_fit_flags(p) -> None:
    """--quantiles in (0, 1), --confidence in (0, 1), --allowance >= 0 (for the studies that have them)."""
    for q in getattr(p, "quantiles", ()):
        if not 0 < q < 1:
            raise StudyError(f"--quantiles must lie in (0, 1), got {q!r}")
    if hasattr(p, "confidence") and not 0 < p.confidence < 1:
        raise StudyError(f"--confidence must be in (0, 1), got {p.confidence!r}")
    if hasattr(p, "allowance") and not p.allowance >= 0:
        raise StudyError(f"--allowance must be >= 0, got {p.allowance!r}")


def check_device(device: str, dim: int = 1) -> None:
    """--device cuda needs a usable GPU: say so in one line up front, not after the first cells."""
    check_choice("device", device, ("cpu", "cuda"))
    if device == "cuda":
        from .. import _cuda

        usable, why = _cuda.available()
        if not usable:
            raise StudyError(f"--device cuda: {why}")
        if dim > _cuda.MAX_DIM:
            raise StudyError(f"--device cuda supports --dim up to {_cuda.MAX_DIM}, got {dim}")


def progress_chunk(n_traj: int, updates: int = 20) -> int:
    """Trajectories per kernel call when a progress bar is shown: about 20 updates, whole blocks of 256
    (results do not depend on the chunking)."""
    return max(256, -(-n_traj // updates // 256) * 256)


def fields_of(p, *names: str) -> dict[str, Any]:
    """Parameters of ``p`` by name, as cell fields: a cell carries every value that determines its result."""
    return {name: getattr(p, name) for name in names}


def routed(method: str, fixed: Mapping[str, Any], *, clip: float, **family: float) -> dict:
    """``fixed`` with a study's knobs routed by what ``method`` declares (:func:`declares`): the clip level τ0 (λ)
    to a method that clips on the shared schedule, ``family`` (γ as ``lr``, ``b0``) to the AdaGrad/Adam-Norm
    family (it declares the scale's ``b0``: x −= γ·(g or m)/b_k)."""
    params = dict(fixed)
    if declares(method, "clip_schedule"):
        params["clip"] = clip
    if declares(method, "b0"):
        params.update(family)
    return params
