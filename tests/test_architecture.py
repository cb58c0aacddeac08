"""The package's shape: no import circle (function-level imports included), and data flows one way through the wings
data -> features -> routers -> metrics -> experiments -> report."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mmr_utils"
WINGS = ("data", "features", "routers", "metrics", "experiments", "report")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (an import of a parent package is no edge)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rsplit(".", 1)[0] if "." in target else ""
                if target and target != name and not name.startswith(target + "."):
                    edges.add(target)
        graph[name] = edges
    return graph


def _wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in WINGS else None


def test_no_import_circle():
    graph, state, circles = import_graph(), {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_no_wing_imports_one_listed_after_it():
    backwards = sorted((a, b) for a, targets in import_graph().items() for b in targets
                       if _wing(a) and _wing(b) and WINGS.index(_wing(b)) > WINGS.index(_wing(a)))
    assert backwards == []


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "mmr_utils.experiments.runs" in graph["mmr_utils.experiments.learnable_signal"]  # imported in a function
