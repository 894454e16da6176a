"""Imports go one way (README "Layout"): an AST scan of lib/actionrec for import cycles, imports outside
the allowed edges, imports of another module's ``_private`` names and function-local project imports;
and of notebooks/*.py for function or class definitions (reusable logic lives in the library)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "lib" / "actionrec"
# package -> packages it may import (transitively closed below). Top-level modules count as packages.
EDGES = {"utils": set(), "layers": {"utils"}, "models": {"layers"}, "data": {"utils"},
         "analysis": {"models"}, "train": {"models", "data"}, "experiments": {"train", "analysis"},
         "papers": {"experiments"}, "viz": {"utils"}, "cli": {"train"}}
SHIMS = {"actionrec.train.__main__", "actionrec.evaluate", "actionrec.data.prepare"}  # `python -m` entry points → cli


def _closure(pkg, seen=None):
    seen = set() if seen is None else seen
    for dep in EDGES.get(pkg, ()):
        if dep not in seen:
            seen.add(dep)
            _closure(dep, seen)
    return seen | {pkg}


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(name, path):
    """(imported module, imported names, line, function-local?) for each project import in ``path``."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    local = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "actionrec":  # `from actionrec import viz`: each name is a module
                for a in node.names:
                    yield f"actionrec.{a.name}", [], node.lineno, id(node) in local
            elif mod.startswith("actionrec."):
                yield mod, [a.name for a in node.names], node.lineno, id(node) in local
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("actionrec"):
                    yield a.name, [], node.lineno, id(node) in local


def _package(mod):
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


MODULES = dict(_modules())


def test_imports_follow_the_allowed_edges_with_no_private_names_and_no_local_imports():
    problems = []
    for name, path in MODULES.items():
        src = _package(name)
        for mod, names, line, local in _imports(name, path):
            where = f"{path.relative_to(ROOT)}:{line}"
            dst = _package(mod)
            if local and src != "cli":
                problems.append(f"{where}: function-local import of {mod} (move the code so it imports at the top)")
            if name in SHIMS and dst in ("cli", ""):
                continue
            if dst and dst != src and dst not in _closure(src):
                problems.append(f"{where}: {src} may not import {dst} ({mod})")
            for n in names:
                sub = f"{mod}.{n}"
                if n.startswith("_") and sub not in MODULES and mod != name:
                    problems.append(f"{where}: imports private {n} from {mod}")
    assert not problems, "\n".join(problems)


def test_no_import_cycles_between_modules():
    graph = {}
    for name, path in MODULES.items():
        deps = set()
        for mod, names, _, _ in _imports(name, path):
            deps |= {f"{mod}.{n}" for n in names if f"{mod}.{n}" in MODULES} or ({mod} & MODULES.keys())
        graph[name] = deps - {name}
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in graph.get(n, ()):
            if state.get(d) == 1 and not n.startswith(d + ".") and not d.startswith(n + "."):
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n)
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.py")), ids=lambda p: p.name)
def test_notebooks_define_no_functions_or_classes(path):
    defs = [f"{path.name}:{n.lineno} {n.name}" for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assert not defs, "notebooks call into actionrec; move these to lib/: " + ", ".join(defs)
