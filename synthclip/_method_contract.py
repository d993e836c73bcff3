"""The method contract: what a method is, checked field by field (``synthclip.methods`` holds the registry).

A method is one :class:`Method` value: a name, its parameters (:class:`synthclip._params.Param`), a doc line,
the names of its per-trajectory state, the number of gradient draws per step, how its clips are counted,
a jittable ``step`` (plus an optional jittable ``init``) and a numpy ``reference`` of the same update.
The engine (``synthclip._engine``) compiles ``step`` into a kernel of its own; nothing else about a method
is known to the kernel. The conventions (step numbering, schedules) are those of ``synthclip/methods.py``.

Layouts (coordinate-major, one column per trajectory of a block of nb trajectories)::

    step(p, k, lr, tau, x, g, clipped, work, *state)   # jittable (numba nopython), returns nothing
      p        the parameters as a named tuple of floats: KERNEL_FIELDS (lr, clip, beta1, ...) followed by
               the method's own parameters, by name (p.beta1); a choice is its index, a bool 0.0/1.0
      k        the step number (1, 2, ...); lr = η_k and tau = τ_k of the shared schedules
      x        (d, nb) iterates x_{k−1}, updated in place to x_k
      g        (d, nb) stochastic gradients g_k = ∇f(x_{k−1}) + ξ_k when draws == 1,
               (draws, d, nb) when draws > 1 (draw r has its own noise ξ_k^(r)); the step may overwrite g
      clipped  (nb,) clip counts: add to clipped[t] the clips of column t (clip_frac = count / (k·units))
      work     (nb,) scratch
      state    the arrays named in ``vectors`` ((d, nb) each) then ``scalars`` ((nb,) each), in that order
    init(p, *state)    sets the initial state in place (state starts at 0 without it)
    reference(p, k, lr, tau, x, g, state) -> (x_new, clips)   # numpy, trajectory-major
      x (n, d), g (n, d) or (n, draws, d), state a dict name → (n, d) / (n, 1) array updated in place,
      clips an (n,) array of this step's clip counts.

Every check raises a one-line ValueError naming the method and the field.
"""

from __future__ import annotations

import collections
import hashlib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._params import Param, Spec

# The shared leading fields of every parameter vector (the schedules and the built-ins' constants).
KERNEL_FIELDS = (
    "lr",
    "lr_power",
    "lr_mode",
    "clip",
    "clip_power",
    "clip_mode",
    "beta1",
    "beta2",
    "eps",
    "b0",
    "eta",
    "delayed",
    "moment",
)
CLIP_UNITS = ("step", "coordinate")
MAX_DRAWS = 2**16  # draw r of trajectory i is keyed as trajectory i + r·2^40 (see _engine.DRAW_STRIDE)
# Parameter names owned by the problems, noise laws and simulate() itself: a method may not shadow them.
RESERVED = frozenset(
    {
        "alpha",
        "scale",
        "structure",
        "spike_prob",
        "mu",
        "L",
        "x0",
        "radius",
        "dim",
        "steps",
        "n_traj",
        "seed",
        "checkpoints",
        "chunk_size",
        "threads",
        "keep_iterates",
        "progress",
        "device",
        "problem",
        "noise",
        "method",
    }
)
# Parameters of KERNEL_FIELDS whose user value is not the vector's value (resolved by methods.kernel_vector).
SCHEDULE_PARAMS = ("lr_schedule", "clip_schedule")
LR_MODES = {"constant": 0, "poly": 1, "theorem4": 2}
CLIP_MODES = {"constant": 0, "poly": 1}
CLIP_POWER_ALIASES = ("alpha-1", "1/alpha")
ETA_IS_LR = "lr"  # eta="lr": the scale accumulates γ²‖g‖² (the seed notebook's variant, see methods.py)
STEP_ARGS = ("p", "k", "lr", "tau", "x", "g", "clipped", "work")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class MethodError(ValueError):
    """A method that does not meet the contract (one line: the method and the field)."""


@dataclass(frozen=True)
class Method(Spec):
    """One optimization method under the contract (module docstring). Every field is checked on creation."""

    name: str = None
    params: tuple = None
    doc: str = None
    code: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)
    step: Callable = None
    reference: Callable = None
    init: Callable | None = None
    vectors: tuple = ()
    scalars: tuple = ()
    draws: int = 1
    clip_units: str = "step"
    variants: tuple = ()  # non-default parameter sets the registry-driven tests run (besides the defaults)
    source: str = ""  # citation of the method
    claims: tuple = ()  # synthclip.theory.Claim entries for a method defined outside the package
    origin: str = ""  # the plugin file it came from ("" for the package's own methods)
    # its torch-native rule (synthclip.torch.functional.Rule) or "module:attribute" naming one, imported only by
    # synthclip.torch; None: synthclip.torch.optimizer_for runs the compiled step (docs/methods.md, "Torch")
    torch: Any = None
    # SHA-256 of the step's and init's source files as they were when the method was made (keys its kernel)
    code_digest: str = field(default="", init=False, compare=False, repr=False)

    def __post_init__(self):
        check(self)
        object.__setattr__(self, "code_digest", _code_digest(self))

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the parameter vector's entries: KERNEL_FIELDS, then the method's own parameters."""
        return KERNEL_FIELDS + own_fields(self)


def own_fields(method: Method) -> tuple[str, ...]:
    return tuple(p.name for p in method.params if p.name not in KERNEL_FIELDS and p.name not in SCHEDULE_PARAMS)


def _fail(method_name: Any, field_name: str, what: str):
    raise MethodError(f"method {method_name!r}: field {field_name!r} {what}")


def _arity(fn: Callable) -> int | None:
    fn = getattr(fn, "py_func", fn)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        return None
    return len(sig.parameters)


def check(m: Method) -> None:
    """The cheap checks of every field (the jit check of ``step`` is ``_engine.check_jittable``)."""
    name = m.name
    if not isinstance(name, str) or not _NAME.match(name):
        _fail(name, "name", "must be a lower-case identifier (letters, digits, _), got " + repr(name))
    for required in ("params", "doc", "step", "reference"):
        if getattr(m, required) is None:
            _fail(name, required, "is missing")
    if not isinstance(m.doc, str) or not m.doc.strip() or "\n" in m.doc.strip():
        _fail(name, "doc", "must be a one-line description")
    if not isinstance(m.params, tuple) or not all(isinstance(p, Param) for p in m.params):
        _fail(name, "params", "must be a tuple of synthclip.methods.Param")
    seen = set()
    for p in m.params:
        if p.name in seen:
            _fail(name, "params", f"declares {p.name!r} twice")
        seen.add(p.name)
        if p.name in RESERVED:
            _fail(name, "params", f"may not declare {p.name!r} (a problem, noise or simulate parameter)")
        if not p.name.isidentifier():
            _fail(name, "params", f"has a parameter name that is not an identifier: {p.name!r}")
        try:
            p.check(p.default, f"method {name!r}")
        except ValueError as err:
            _fail(name, "params", f"default out of its declared range: {err}")
        if p.aliases and p.name not in ("clip_power", "eta"):
            _fail(name, "params", f"{p.name!r}: string aliases are resolved only for clip_power and eta")
    for kind in ("vectors", "scalars"):
        names = getattr(m, kind)
        if not isinstance(names, tuple) or not all(isinstance(s, str) and s.isidentifier() for s in names):
            _fail(name, kind, "must be a tuple of identifiers (the state's names)")
    if len(set(m.vectors + m.scalars)) != len(m.vectors) + len(m.scalars):
        _fail(name, "vectors", "and scalars must not repeat a name")
    if isinstance(m.draws, bool) or not isinstance(m.draws, int) or not 1 <= m.draws <= MAX_DRAWS:
        _fail(name, "draws", f"must be an integer in [1, {MAX_DRAWS}], got {m.draws!r}")
    if m.clip_units not in CLIP_UNITS:
        _fail(name, "clip_units", f"must be one of {', '.join(map(repr, CLIP_UNITS))}, got {m.clip_units!r}")
    n_state = len(m.vectors) + len(m.scalars)
    for fname, fn, want in (
        ("step", m.step, len(STEP_ARGS) + n_state),
        ("init", m.init, 1 + n_state),
        ("reference", m.reference, 7),
    ):
        if fn is None:
            continue
        if not callable(fn):
            _fail(name, fname, "must be a function")
        n = _arity(fn)
        if n is not None and n != want:
            _fail(name, fname, f"must take {want} arguments, takes {n}")
    for fname in ("step", "init"):
        fn = getattr(m, fname)
        if fn is not None:
            try:
                source_text(fn)
            except (OSError, TypeError):
                _fail(name, fname, "must be a function whose source Python can read (it keys the kernel cache)")
    if not isinstance(m.variants, tuple) or not all(isinstance(v, Mapping) for v in m.variants):
        _fail(name, "variants", "must be a tuple of parameter dicts")
    spec = Spec(name, m.params, m.doc)
    for v in m.variants:
        try:
            spec.validate(v, "method")
        except ValueError as err:
            _fail(name, "variants", f"holds an invalid parameter set: {err}")
    if m.torch is not None and not (
        callable(getattr(m.torch, "update", None))
        or (isinstance(m.torch, str) and re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", m.torch))
    ):
        _fail(
            name,
            "torch",
            f"must be None, a synthclip.torch.functional.Rule or 'module:attribute' naming one, got {m.torch!r}",
        )
    if not isinstance(m.claims, tuple):
        _fail(name, "claims", "must be a tuple of synthclip.theory.Claim")
    for c in m.claims:
        if getattr(c, "method", None) != name:
            _fail(
                name, "claims", f"must be stated for this method (a claim names method {getattr(c, 'method', None)!r})"
            )


def _code_digest(m: Method) -> str:
    digest = hashlib.sha256()
    for fn in (m.step, m.init):
        if fn is not None:
            digest.update(getattr(fn, "py_func", fn).__qualname__.encode() + b"\0" + source_text(fn) + b"\0")
    return digest.hexdigest()


def source_file(fn: Callable) -> str | None:
    fn = getattr(fn, "py_func", fn)
    try:
        path = inspect.getsourcefile(fn)
    except TypeError:
        return None
    return path if path and not path.startswith("<") else None


def source_text(fn: Callable) -> bytes:
    """The text that keys a step's kernel: its whole file (helpers it calls included), or, for a function
    whose file is not on disk (a notebook cell), the function's own source."""
    path = source_file(fn)
    if path and Path(path).is_file():
        return Path(path).read_bytes()
    return inspect.getsource(getattr(fn, "py_func", fn)).encode()


def params_class(method: Method):
    """The named tuple type of the method's parameter vector (one per method, built once)."""
    cached = _PARAM_CLASSES.get((method.name, method.fields))
    if cached is None:
        cached = collections.namedtuple(f"{method.name}_params", method.fields)
        _PARAM_CLASSES[(method.name, method.fields)] = cached
    return cached


_PARAM_CLASSES: dict = {}


def own_value(p: Param, value: Any) -> float:
    """A method-specific parameter as the float the kernel reads: a choice is its index, a bool 0/1."""
    if p.kind == "choice":
        return float(list(p.choices).index(value))
    return float(value)


# -- parameter builders shared by the methods (the schedules of methods.py) ---------------------------------


def lr_params(default: float, schedule: str) -> tuple[Param, ...]:
    """lr, lr_schedule, lr_power: the step-size schedule η_k."""
    return (
        Param("lr", default, "step size η0 (γ for the AdaGrad/Adam family); 0 is valid, as in torch", low=0.0),
        Param(
            "lr_schedule",
            schedule,
            "constant: η0; poly: η0/(k+1)^lr_power; theorem4: 4/(μ(k+1))",
            kind="choice",
            choices=tuple(LR_MODES),
        ),
        Param("lr_power", 1.0, "exponent p of the poly step schedule", low=0.0),
    )


def clip_params(default: float, schedule: str, power: Any, doc: str = "clip level τ0") -> tuple[Param, ...]:
    """clip, clip_schedule, clip_power: the clip-level schedule τ_k."""
    return (
        Param("clip", default, doc, low=0.0, low_open=True, allow_inf=True),
        Param(
            "clip_schedule", schedule, "constant: τ0; poly: τ0·k^clip_power", kind="choice", choices=tuple(CLIP_MODES)
        ),
        Param("clip_power", power, "exponent q of the poly clip schedule", low=0.0, aliases=CLIP_POWER_ALIASES),
    )


def torch_rule(attribute: str) -> str:
    """``Method.torch`` of a built-in: its rule in synthclip.torch.functional (imported only by synthclip.torch)."""
    return f"synthclip.torch.functional:{attribute}"


def beta_param(name: str, default: float, doc: str) -> Param:
    """An averaging weight in [0, 1)."""
    return Param(name, default, doc, low=0.0, high=1.0, high_open=True)


DELAYED = Param("delayed", False, "divide the step by b_{k−1} (the scale before g_k is seen)", kind="bool")
B0 = Param("b0", 1.0, "initial scale b_0", low=0.0, low_open=True)
ETA = Param(
    "eta",
    1.0,
    "b_k² accumulates eta²‖g_k‖² (1 = the paper's method; 'lr': eta = γ, the seed notebook's variant)",
    low=0.0,
    low_open=True,
    aliases=(ETA_IS_LR,),
)
