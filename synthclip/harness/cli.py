"""Command line of the studies: ``python -m synthclip.study NAME [flags]``, ``plot DIR``, ``summary [DIR]``, ``all``.

Parameters: the study's defaults < ``--quick`` settings < a TOML file (``--config``) < flags. Bad input
exits with status 2 and one line naming the flag and the valid range.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import io
from .base import MissingDependency, Study, StudyError, range_text, registered
from .runner import run_cells

PROG = "python -m synthclip.study"
COMMANDS = ("all", "plot", "summary")


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors in one line (no usage block) with exit status 2."""

    def error(self, message: str):
        raise StudyError(message)


def _list_type(element):
    def parse(text: str):
        items = [t.strip() for t in str(text).split(",") if t.strip()]
        try:
            return [element(t) for t in items]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {element.__name__}, got {text!r}"
            ) from None

    return parse


def _scalar_type(kind, name: str):
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None

    parse.__name__ = kind.__name__
    return parse


def _add_flags(parser: argparse.ArgumentParser, study: Study) -> None:
    quick = dict(study.quick)
    for f in dataclasses.fields(study.Params):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        meta = f.metadata
        flag = "--" + f.name.replace("_", "-")
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        text = f"{meta.get('help', '')} (default: {shown!s}"
        text += f"; --quick: {quick[f.name]})" if f.name in quick else ")"
        if "choices" in meta:
            text += f" [{', '.join(meta['choices'])}]" if not isinstance(default, list) else ""
        elif range_text(meta):
            text += f" [{range_text(meta)}]"
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=text)
        elif isinstance(default, list):
            element = type(default[0]) if default else str
            parser.add_argument(flag, type=_list_type(element), default=argparse.SUPPRESS, metavar="LIST", help=text)
        else:
            parser.add_argument(
                flag,
                type=_scalar_type(type(default), f.name),
                default=argparse.SUPPRESS,
                metavar=type(default).__name__.upper(),
                help=text,
            )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE.toml",
        help="TOML file of parameters (keys as the flags, with underscores); flags override it",
    )
    if not study.plugins:
        return  # its --methods (if any) are its own labels: no --plugin, no --method-param
    parser.add_argument(
        "--plugin",
        type=Path,
        action="append",
        default=[],
        metavar="FILE.py",
        help="a Python file that registers methods (synthclip.methods.register), which --methods "
        "then accepts; each is checked as it loads (synthclip.methods.check); repeat for "
        "several files",
    )
    parser.add_argument(
        "--method-param",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="set parameter KEY of method NAME (a registry name, a plugin's too) within its declared "
        "range, e.g. my_method.beta=0.9; not one the study sets itself; repeatable",
    )


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as err:
        raise StudyError(f"--config: cannot read {path} ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise StudyError(f"--config: {path} is not valid TOML ({err})") from None


def _main_parser() -> _Parser:
    lines = [f"  {name:<12} {study.summary}" for name, study in registered().items()]
    parser = _Parser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Studies that check gradient-clipping theory by simulation.\n\nstudies:\n"
        + "\n".join(lines)
        + "\n  all          every study (use with --quick for a smoke run)"
        + "\n  plot DIR     redraw a study's figure from its stored results"
        + "\n  summary [DIR] the scoreboard: every stored verdict row and the seed's errata (DIR: studies/results)",
        epilog=f"{PROG} NAME --help documents every parameter of a study.",
    )
    parser.add_argument("study", choices=[*registered(), *COMMANDS], metavar="STUDY")
    return parser


def parse(argv: Sequence[str]) -> tuple[Study, Any]:
    """(study, validated parameters) for ``NAME [flags]``."""
    name, rest = argv[0], list(argv[1:])
    study = registered()[name]
    doc = sys.modules[type(study).__module__].__doc__ or study.summary
    parser = _Parser(prog=f"{PROG} {name}", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_flags(parser, study)
    if not study.plugins:
        given = next((a.split("=")[0] for a in rest if a.split("=")[0] in ("--plugin", "--method-param")), None)
        if given:
            takers = ", ".join(n for n, s in registered().items() if s.plugins)
            raise StudyError(
                f"{given}: study {name!r} runs no registered methods (its methods, if any, are its own "
                f"labels); the studies that take plugins: {takers}"
            )
    args = vars(parser.parse_args(rest))
    config = args.pop("config", None)
    load_plugins(args.pop("plugin", []))
    overrides = parse_method_params(args.pop("method_param", []))
    values = _load_toml(config) if config else {}
    values.update(args)
    quick = bool(values.pop("quick", False))
    p = study.make_params(values, quick=quick)
    if overrides:
        p.method_param = overrides  # read by base.method_overrides; recorded in meta.json beside the parameters
    return study, p


def parse_method_params(texts: Sequence[str]) -> dict[str, dict[str, Any]]:
    """--method-param NAME.KEY=VALUE (each): registry name → {parameter: value checked against its declared
    range}; a malformed text, an unknown method or parameter, or a value out of range is one line."""
    from .. import methods

    out: dict[str, dict[str, Any]] = {}
    for text in texts:
        name_key, sep, value = str(text).partition("=")
        name, dot, key = name_key.rpartition(".")
        if not (sep and dot and name and key):
            raise StudyError(
                f"--method-param must be NAME.KEY=VALUE (a method, one of its parameters, a value), got {text!r}"
            )
        try:
            method = methods.get(name)
        except ValueError as err:
            raise StudyError(f"--method-param: {err}") from None
        try:
            param = method.param(key)
        except KeyError:
            raise StudyError(
                f"--method-param: unknown parameter {key!r} for method {method.name!r}; valid "
                f"parameters: {', '.join(sorted(method.defaults))}"
            ) from None
        given: Any = value
        if param.kind in ("float", "int") and value not in param.aliases:
            try:
                given = float(value)  # the message then shows the number, and "1e-3" reads as a number
            except ValueError:
                pass
        try:
            checked = param.check(given, f"method {method.name!r}")
        except ValueError as err:
            raise StudyError(f"--method-param: {err}") from None
        if key in out.get(method.name, {}):
            raise StudyError(f"--method-param {method.name}.{key} is given twice")
        out.setdefault(method.name, {})[key] = checked
    return out


def load_plugins(paths) -> None:
    """Register the methods of each --plugin file; each is checked as it registers (``methods.check``:
    compiled step against its reference, argument order), so a broken plugin is one line now, not a
    traceback from a worker or a table of wrong numbers."""
    from .. import methods

    for path in paths:
        try:
            methods.load_plugin(path)
        except ValueError as err:
            raise StudyError(f"--plugin: {err}") from None


def check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise StudyError(f"--out: cannot write to {folder} ({err.strerror or err})") from None


def run_study(study: Study, p, *, echo=print) -> dict[str, Path]:
    """Run, analyse, write and report a study; returns the output folder of each group."""
    root = Path(p.out) if p.out else study.default_out()
    check_writable(root)
    cells = study.cells(p)
    start = time.perf_counter()
    results, timing = run_cells(
        study.name,
        cells,
        cache_root=root,
        jobs=p.jobs,
        backend=p.backend,
        scheduler=p.scheduler,
        force=p.force,
        quiet=p.quiet,
    )
    groups: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        groups.setdefault(study.group(cell), []).append(i)
    folders = {}
    for group, idx in groups.items():
        import pandas as pd

        tables = {name: pd.concat([results[i][name] for i in idx], ignore_index=True) for name in results[idx[0]]}
        tables = study.analyze(p, tables)
        folder = root / group if group else root
        meta = {
            "study": study.name,
            "group": group,
            "seed": p.seed,
            "params": {
                **dataclasses.asdict(p),
                **({"method_param": p.method_param} if getattr(p, "method_param", None) else {}),
            },
            "cells": [cells[i] for i in idx],
            "timing": {**timing, "total_seconds": time.perf_counter() - start},
            "environment": io.environment(),
        }
        previous = folder / "meta.json"
        if previous.exists():
            try:
                old = io.read_json(previous).get("params")
            except Exception:
                old = None
            if old is not None and old != json.loads(json.dumps(meta["params"], default=str)):
                echo(f"note: replacing the results in {folder} (made with other parameters)")
        write_outputs(study, folder, tables, meta)
        echo(study.report(tables, meta))
        files = [f"{name}.parquet" for name in sorted(tables)] + ["meta.json", "report.txt"]
        files += [f"{study.name}.png"] if (folder / f"{study.name}.png").exists() else []
        echo(
            f"results: {folder}/ ({', '.join(files)}); "
            f"{timing['computed']} cells computed, {timing['cached']} cached, {timing['wall_seconds']:.1f} s"
        )
        folders[group] = folder
    return folders


def write_outputs(study: Study, folder: Path, tables, meta) -> None:
    """Tables, meta.json, report.txt and the figure, each written atomically."""
    for name, frame in tables.items():
        io.write_parquet(frame, folder / f"{name}.parquet")
    io.write_json(meta, folder / "meta.json")
    report = study.report(tables, meta)
    with io.atomic_path(folder / "report.txt") as tmp:
        tmp.write_text(report + "\n")
    redraw(study, folder, tables, meta)


def redraw(study: Study, folder: Path, tables=None, meta=None) -> Path | None:
    """Draw ``<study>.png`` from the stored tables of ``folder``."""
    from .. import plotting

    meta = meta or io.read_json(folder / "meta.json")
    if tables is None:
        tables = {p.stem: io.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}
    fig = None
    try:
        fig = study.plot(tables, meta)
        if fig is None:
            return None
        return io.save_figure(fig, folder / f"{study.name}.png")
    except (ValueError, OverflowError) as err:
        # Extreme but valid settings (errors near the float range) can defeat matplotlib's axes; the tables,
        # report and verdicts are already written, so say so in one line instead of losing the run.
        print(f"note: figure {folder / (study.name + '.png')} not drawn ({type(err).__name__}: {err})", file=sys.stderr)
        return None
    finally:
        if fig is not None:
            plotting.close(fig)


def plot_command(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        raise StudyError("plot needs one argument: the results folder (holding meta.json)")
    folder = Path(argv[0])
    if not (folder / "meta.json").exists():
        raise StudyError(f"plot: {folder} holds no meta.json (not a study results folder)")
    meta = io.read_json(folder / "meta.json")
    study = registered().get(meta.get("study"))
    if study is None:
        raise StudyError(f"plot: unknown study {meta.get('study')!r} in {folder / 'meta.json'}")
    path = redraw(study, folder)
    print(f"wrote {path}")
    return 0


def summary_command(argv: Sequence[str]) -> int:
    from .summary import write_summary

    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        raise StudyError("summary takes at most one argument: the results root (default studies/results)")
    write_summary(Path(argv[0]) if argv else Path("studies") / "results")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv or argv[0] in ("-h", "--help"):
            _main_parser().print_help()
            return 0
        if argv[0] not in (*registered(), *COMMANDS):
            raise StudyError(f"unknown study {argv[0]!r}; valid: {', '.join([*registered(), *COMMANDS])}")
        if argv[0] == "plot":
            return plot_command(argv[1:])
        if argv[0] == "summary":
            return summary_command(argv[1:])
        if argv[0] == "all":
            # --out names the results root here: each study writes to <out>/<study>.
            for name in registered():
                try:
                    study, p = parse([name, *argv[1:]])
                except MissingDependency as err:
                    print(f"skipped {name}: {err}", file=sys.stderr)
                    continue
                root = Path(p.out) if p.out else study.default_out().parent
                if p.out:
                    p.out = str(Path(p.out) / name)
                run_study(study, p)
            from .summary import write_summary

            write_summary(root)
            return 0
        study, p = parse(argv)
        run_study(study, p)
        return 0
    except StudyError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; finished cells are cached and will be reused", file=sys.stderr)
        return 130
