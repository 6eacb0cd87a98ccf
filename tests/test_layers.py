"""The house's shape: every import runs down the layers (entry points -> drivers ->
application -> domain), and no module imports itself back through a circle."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).parent.parent
LAYERS = ["domain", "application", "simulations", "portal", "billing_station"]  # low -> high


def imports() -> dict[str, set[str]]:
    """Each module of the layers -> the modules of the layers it imports."""
    modules = {
        ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): f
        for layer in LAYERS for f in (ROOT / layer).rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {t for t in found if t in modules and t != name}
    return graph


def test_every_import_runs_down_the_layers() -> None:
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = [f"{m} -> {t}" for m, targets in imports().items() for t in targets
              if rank[t.split(".")[0]] > rank[m.split(".")[0]]]
    assert upward == []


def test_no_module_imports_itself_back_through_a_circle() -> None:
    graphlib.TopologicalSorter(imports()).prepare()  # raises CycleError naming the circle
