"""The layout's rules, read from the imports of every module (issue 11 §2): layers import only layers below
them, an area only areas below it (or `common`), no module imports another inside a function, and the import
graph has no cycle. A new upward import or cycle fails here with the offending edge."""

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import api.app  # noqa: F401 - what the API process loads
import worker  # noqa: F401 - what the worker process loads
from api.approvals.decisions import OUTCOME_WAITS
from services.approvals.engine import APPROVED_ENTITIES

ROOT = Path(__file__).resolve().parents[2]
# Bottom up. A layer may import itself and anything listed before it.
LAYERS = ["core", "dto", "models", "services", "activities", "workflows", "api", "worker", "scripts", "bench",
          "tests"]
# Bottom up. In every layer an area may import itself and the areas before it. `audit` is the lowest: every area
# (identity's sign-ins and user changes too) writes audit rows, and the trail needs no other area.
AREAS = ["audit", "identity", "notifications", "catalog", "approvals", "quality", "production", "procurement",
         "stock", "mes", "fleet"]
# Modules of a layer that belong to no area: the layer's own plumbing, importable by every area of the layer.
LAYER_PLUMBING = {"api": {"app", "deps", "lifecycle", "routes", "health", "contracts", "middleware",
                          "transitions", "workflow_transitions"},
                  "workflows": {"lifecycle", "schedules"},
                  "activities": {"base", "context", "failures"},
                  "services": {"common"},
                  "dto": {"activity"}}


def modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        base = ROOT / layer
        paths = [ROOT / f"{layer}.py"] if not base.is_dir() else sorted(base.rglob("*.py"))
        for path in paths:
            if not path.exists() or "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = modules()


def imports(path: Path) -> Iterator[tuple[str, bool]]:
    """Every of our modules `path` imports, and whether the import sits inside a function."""
    tree = ast.parse(path.read_text())
    nested = {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
              for node in ast.walk(fn)}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name:
                yield name, id(node) in nested


def edges() -> set[tuple[str, str]]:
    found = set()
    for name, path in MODULES.items():
        for target, _ in imports(path):
            if target != name and not name.startswith(target + "."):  # a package's own __init__ is no edge
                found.add((name, target))
    return found


EDGES = edges()


def layer_of(module: str) -> str:
    return module.split(".")[0]


def area_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] in {"core", "worker", "scripts", "bench", "tests"}:
        return None
    head = parts[1]
    if head in LAYER_PLUMBING.get(parts[0], set()):
        return None
    return head if head in AREAS else None


def test_every_area_module_is_named_for_an_area():
    """Inside api, workflows, activities, services, dto and models every module belongs to an area or is the
    layer's plumbing (models: `base`, and `operations`, the bookkeeping that makes retries harmless)."""
    plumbing = {**LAYER_PLUMBING, "models": {"base", "operations"}}
    strays = [m for m in MODULES if layer_of(m) in plumbing and "." in m and area_of(m) is None
              and m.split(".")[1] not in plumbing[layer_of(m)]]
    assert not strays, f"modules outside every area and the layer's plumbing: {strays}"


def test_layers_import_only_layers_below():
    upward = sorted((a, b) for a, b in EDGES if LAYERS.index(layer_of(b)) > LAYERS.index(layer_of(a)))
    assert not upward, f"imports of a higher layer: {upward}"


def test_areas_import_only_areas_below():
    upward = sorted((a, b) for a, b in EDGES
                    if layer_of(a) not in {"tests", "bench", "scripts"}
                    and (area_a := area_of(a)) and (area_b := area_of(b)) and AREAS.index(area_b) > AREAS.index(area_a))
    assert not upward, f"imports of a higher area: {upward}"


def test_no_import_inside_a_function():
    late = sorted((name, target) for name, path in MODULES.items() for target, inside in imports(path)
                  if inside and not name.startswith(("tests.", "bench.")))
    assert not late, f"imports inside a function (a dodged cycle?): {late}"


def test_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for a, b in EDGES:
        graph.setdefault(a, set()).add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in list(MODULES):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("rule", [test_layers_import_only_layers_below, test_areas_import_only_areas_below])
def test_the_rules_see_a_violation(rule, monkeypatch):
    """The checks above can fail: an added upward edge is reported."""
    added = {("core.db", "api.app"), ("services.identity", "services.stock.ledger")}
    monkeypatch.setattr(sys.modules[__name__], "EDGES", EDGES | added)
    with pytest.raises(AssertionError):
        rule()


def test_the_areas_register_what_a_decision_does_to_their_entities():
    """The approval engine imports no caller: what a decision does to a purchase order or a transfer is registered by
    procurement and stock when the worker (which runs the decisions) and the API load them."""
    assert {"purchase_order", "transfer"} <= APPROVED_ENTITIES.keys()
    assert all(APPROVED_ENTITIES[kind].on_decision is not None for kind in ("purchase_order", "transfer"))
    assert "purchase_order" in OUTCOME_WAITS


def routers() -> set[str]:
    """The API modules that declare a router (a module-level `router = ...`)."""
    found = set()
    for name, path in MODULES.items():
        if layer_of(name) == "api":
            tree = ast.parse(path.read_text())
            if any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "router" for t in node.targets)
                   for node in tree.body):
                found.add(name)
    return found


def test_routers_do_not_import_routers():
    """What two routers share lives in a module of calls or schemas beside them (api/routes.py lists them all)."""
    declared = routers()
    assert len(declared) > 30  # the rule looks at the real routers
    crossing = sorted((a, b) for a, b in EDGES if a in declared and b in declared)
    assert not crossing, f"routers importing routers: {crossing}"
