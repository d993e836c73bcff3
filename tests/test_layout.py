"""The house's layout: the judgement layer is the one home of intervals (synthclip/stats/)."""

import ast
import re
from pathlib import Path

import synthclip

PACKAGE = Path(synthclip.__file__).parent
#: calls that compute an interval or a quantile of a reference law: only synthclip/stats/ may make them
INTERVAL_CALLS = {"ppf", "isf", "binomtest", "proportion_ci", "ndtri", "interval", "bootstrap", "t_interval"}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            yield name, node.lineno


def _offences(source: str) -> list[str]:
    tree = ast.parse(source)
    bad = [f"line {line}: {name}()" for name, line in _calls(tree) if name in INTERVAL_CALLS]
    bad += [
        f"line {n.lineno}: defines {n.name}"
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef)
        and (n.name.endswith("_interval") or n.name.endswith("_ci") or n.name == "clopper_pearson")
    ]
    return bad


def test_no_module_outside_stats_computes_an_interval():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "stats":
            continue
        bad = _offences(path.read_text())
        if bad:
            found[str(rel)] = bad
    assert not found, f"intervals computed outside synthclip/stats/: {found}"


def test_the_walker_catches_an_interval_written_in_a_study():
    # negative control: the patterns the package used to have in its studies are caught
    assert _offences("from scipy import stats as sps\nlo = sps.beta.ppf(0.025, 3, 5)\n")
    assert _offences("def clopper_pearson(k, n, c):\n    return 0, 1\n")
    assert _offences("import scipy.stats as s\nci = s.binomtest(3, 10).proportion_ci()\n")
    assert _offences("def _interval(x, c):\n    return 0, 1\n")
    assert not _offences("from synthclip import stats\nci = stats.binomial_ci(3, 10)\n")


def test_every_interval_procedure_has_calibration_cases():
    from synthclip import stats
    from synthclip.study import calibrate

    missing = [name for name in stats.PROCEDURES if not calibrate.CASES.get(name)]
    assert not missing, f"procedures without calibrate cases: {missing}"
    assert set(stats.PROCEDURES) <= set(calibrate.PROCEDURES)


def _study_modules() -> set[str]:
    from synthclip.study import STUDIES

    return {type(s).__module__.rsplit(".", 1)[-1] for s in STUDIES.values()}


def test_no_study_imports_another():
    studies = {f"synthclip.study.{m}" for m in _study_modules()}
    assert {"synthclip.study.rates", "synthclip.study.torch_noise", "synthclip.study.torch_rates"} <= studies
    graph = _import_graph(nested=True)  # lazy imports inside functions count too
    edges = {(m, n) for m in studies for n in graph[m] if n in studies}
    assert not edges, f"studies importing studies (move what they share to the harness): {edges}"
    # negative control: the walker sees both relative forms, the absolute one and a lazy import
    source = "from .rates import table\nfrom . import dimension as d\ndef f():\n    from synthclip.study import bias\n"
    found = _imports(source, "synthclip.study", studies, nested=True)
    assert found == {"synthclip.study.rates", "synthclip.study.dimension", "synthclip.study.bias"}


#: what code may not cite: a path outside the repository, or the tracker's issue numbers (the docs say why)
OUTSIDE = re.compile(r"\.\./shared|(?<![/\w])THEORY\.md|(?i:\bissues? #?\d+\b)")


def _outside_citations(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]


def test_no_code_cites_a_path_outside_the_repo_or_an_issue_number():
    root = PACKAGE.parent
    files = [
        *PACKAGE.rglob("*.py"),
        *(root / "tests").glob("*.py"),
        *(root / "studies").rglob("*.py"),
        *(root / "paper_figures").glob("*.py"),
    ]
    found = {
        str(f.relative_to(root)): lines
        for f in files
        if f.name != "test_layout.py"
        for lines in [_outside_citations(f.read_text())]
        if lines
    }
    assert not found, found


def test_the_citation_check_catches_an_issue_number_and_a_shared_path():
    assert _outside_citations("x = 1  # fixed in issue 15\ny = 2\n") == [1]
    assert _outside_citations('"""see ../shared/seeds/002.txt"""') == [1]
    assert _outside_citations("the THEORY.md corner case") == [1]
    assert _outside_citations("# an issue with the window") == []


def test_every_mutation_of_the_mutation_script_names_one_line_and_a_test():
    # studies/mutate.py replaces one line by its text: an edit or a reformat that moves the line must fail here,
    # not leave the script reporting an error (or nothing) when it is next run
    import importlib.util

    root = PACKAGE.parent
    spec = importlib.util.spec_from_file_location("mutate", root / "studies" / "mutate.py")
    mutate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutate)
    for name, file, old, _new, selections in mutate.MUTATIONS:
        lines = (root / file).read_text().splitlines()
        assert sum(old in line for line in lines) == 1, f"{name}: {old!r} is not on exactly one line of {file}"
        for sel in selections:
            path, _, test = sel.partition("::")
            assert f"def {test}(" in (root / path).read_text(), f"{name}: {sel} does not exist"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, package: str, modules: set[str], *, nested: bool = False) -> set[str]:
    """The package's modules that a module of ``package`` (its ``source``) imports: at module level, or anywhere
    in it with ``nested`` (a function's lazy import too). Relative imports are resolved; an imported name that
    is a module counts as that module, else its package."""
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree) if nested else tree.body:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            source_module = ".".join(p for p in (base, node.module or "") if p)
            for a in node.names:
                target = f"{source_module}.{a.name}"
                found.add(target if target in modules else source_module)
    return found & modules


def _import_graph(*, nested: bool = False) -> dict[str, set[str]]:
    """Module → the package's modules it imports (at module level, or anywhere with ``nested``)."""
    paths = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    graph = {}
    for name, path in paths.items():
        package = name if path.stem == "__init__" else name.rpartition(".")[0]
        graph[name] = _imports(path.read_text(), package, set(paths), nested=nested) - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (module → modules it imports), or [] if there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n) :] + [n]
            if n not in state and (found := visit(n)):
                return found
        state[m] = 2
        path.pop()
        return []

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return []


def test_the_package_has_no_import_cycle_and_the_harness_imports_no_study():
    graph = _import_graph()
    assert {"synthclip.harness.base", "synthclip.study.rates"} <= set(graph)
    assert not _cycle(graph), f"import cycle: {' -> '.join(_cycle(graph))}"
    upward = {(m, n) for m, deps in graph.items() if m.startswith("synthclip.harness") for n in deps if ".study" in n}
    assert not upward, f"the harness imports studies: {upward}"
    # negative controls: the walker sees a cycle, and resolves relative imports to modules
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert "synthclip.harness.report" in graph["synthclip.study.rates"]


def test_a_process_that_imports_only_the_harness_finds_every_study():
    # a worker process unpickles the runner from the harness alone: the registry must load the studies itself
    import subprocess
    import sys

    code = "from synthclip.harness import base; n = len(base.STUDIES); print(n, len(base.registered()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    from synthclip.study import STUDIES

    assert out == ["0", str(len(STUDIES))]
