"""The shape of the code: no import circle anywhere, libraries free of the web, the database and MLflow,
and no core module of the service importing a task module (registration flows from the entry points)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "models", "forecasting", "speech", "social_listening", "experiments")
LIBRARIES = ("forecasting", "speech", "social_listening")
#: What a library may never import: web, storage, MLflow, or the service's own packages.
FORBIDDEN_IN_LIBRARIES = ("fastapi", "starlette", "sqlalchemy", "alembic", "mlflow", "huey", "api", "models")
#: Modules that may import api.tasks: the entry points.
ENTRY_POINTS = {"api.app", "api.cli", "api.cli_users", "api.worker"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names imported at run time (imports under ``if TYPE_CHECKING:`` do not run)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
            ):
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            names.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            # ``from pkg import name``: the submodule pkg.name when there is one, else pkg itself
            names.update(f"{base}.{alias.name}" for alias in node.names)

    Visitor().visit(ast.parse(path.read_text("utf-8")))
    return names


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(n) for n in _imports(path, module)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_the_checker_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("library", LIBRARIES)
def test_libraries_import_no_web_storage_or_mlflow(library: str) -> None:
    offenders = {}
    for path in (ROOT / library).rglob("*.py"):
        module = _module_name(path)
        bad = sorted(n for n in _imports(path, module) if n.split(".")[0] in FORBIDDEN_IN_LIBRARIES)
        if bad:
            offenders[module] = bad
    assert offenders == {}


def test_only_entry_points_import_task_modules() -> None:
    graph = _graph()
    offenders = {
        m: sorted(t for t in targets if t == "api.tasks" or t.startswith("api.tasks."))
        for m, targets in graph.items()
        if m.startswith(("api.", "models")) and not m.startswith("api.tasks") and m not in ENTRY_POINTS
    }
    assert {m: t for m, t in offenders.items() if t} == {}
