"""Dependency direction and purity, checked structurally on the syntax tree (not by text)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"domain", "projections", "regions", "api", "simulations", "tests"}
ALLOWED = {
    "domain": {"domain"},
    "projections": {"domain", "projections"},
    "regions": {"domain", "projections", "regions"},
    "simulations": {"domain", "projections", "regions", "simulations"},
    "api": {"domain", "projections", "regions", "simulations", "api"},
}
#: Layers inside `regions/`, each a sub-package, and the layers each may import. Lower layers
#: never import higher ones: core <- wire <- adapters <- runtime; the SDK sits beside runtime;
#: the contract generator reads everything and nothing reads it.
LAYERS = {
    "core": {"core"},
    "wire": {"core", "wire"},
    "adapters": {"core", "wire", "adapters"},
    "runtime": {"core", "wire", "adapters", "runtime"},
    "sdk": {"core", "wire", "adapters", "sdk"},
    "contract": {"core", "wire", "adapters", "runtime", "sdk", "contract"},
}
BANNED_CALLS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "perf_counter"),
    ("uuid", "uuid1"), ("uuid", "uuid4"),
}
RANDOM_FUNCS = {
    "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform",
    "gauss", "getrandbits", "seed", "randbytes", "betavariate", "expovariate", "triangular",
}


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_packages(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


def imported_layers(tree: ast.AST) -> set[str]:
    """The `regions` layers a module imports (`regions.core.node` -> "core")."""
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "regions" else [
                f"regions.{alias.name}" for alias in node.names]
        found.update(name.split(".")[1] for name in names
                     if name.startswith("regions."))
    return found


def layer_of(path: Path) -> str | None:
    """The layer a file of `regions/` belongs to; None for `regions/__init__.py` itself."""
    parts = path.relative_to(ROOT / "regions").parts
    return parts[0] if len(parts) > 1 else None


def upward_imports(path: Path, tree: ast.AST) -> list[str]:
    """Layers `path` imports that its own layer may not (a file outside a layer: any)."""
    layer = layer_of(path)
    allowed = LAYERS.get(layer, set()) if layer is not None else set()
    return sorted(imported_layers(tree) - allowed)


def dotted(node: ast.AST) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def impure_calls(tree: ast.AST) -> list[str]:
    """Calls of the clock, of random ids or of the `random` module's global functions.

    `from random import choice` then `choice(...)` is caught through the import table;
    methods of an injected `random.Random` instance (`rng.choice`) are fine.
    """
    from_imports: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                from_imports[alias.asname or alias.name] = (node.module, alias.name)
    hits: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        if not name:
            continue
        if len(name) == 1 and name[0] in from_imports:
            module, attr = from_imports[name[0]]
            name = [*module.split("."), attr]
        tail = tuple(name[-2:])
        if tail in BANNED_CALLS or (len(name) >= 2 and name[-2] == "random" and name[-1] in RANDOM_FUNCS):
            hits.append(f"line {node.lineno}: {'.'.join(name)}()")
    return hits


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependencies_point_inwards(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(ast.parse(path.read_text())) - ALLOWED[package])
        for path in python_files(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_module_of_regions_sits_in_a_layer() -> None:
    assert {layer_of(path) for path in python_files("regions")} == {None, *LAYERS}


def test_no_import_runs_upwards_between_the_layers_of_regions() -> None:
    offenders = {
        str(path.relative_to(ROOT)): upward_imports(path, ast.parse(path.read_text()))
        for path in python_files("regions")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_layer_checker_fails_on_an_upward_import() -> None:
    core_module = ROOT / "regions" / "core" / "x.py"
    bad = ast.parse("from regions.runtime.driver import NodeDriver\n"
                    "def later() -> None:\n    from regions import sdk\n")
    assert upward_imports(core_module, bad) == ["runtime", "sdk"]
    fine = ast.parse("from regions.core.node import RegionNode\nimport domain.kernel\n")
    assert upward_imports(core_module, fine) == []
    assert upward_imports(ROOT / "regions" / "wire" / "link.py", bad) == ["runtime", "sdk"]
    assert upward_imports(ROOT / "regions" / "contract" / "asyncapi.py", bad) == []


@pytest.mark.parametrize("package", ["domain", "projections"])
def test_domain_and_projections_never_read_clock_ids_or_global_randomness(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): impure_calls(ast.parse(path.read_text()))
        for path in python_files(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_purity_checker_catches_calls_but_not_mentions() -> None:
    bad = ast.parse(
        "import datetime, time, uuid, random\n"
        "from random import choice\n"
        "a = datetime.datetime.now()\nb = time.time()\nc = uuid.uuid4()\n"
        "d = random.randint(1, 2)\ne = choice([1])\n"
    )
    assert len(impure_calls(bad)) == 5
    fine = ast.parse(
        '"""We never call datetime.now() or uuid4() here."""\n'
        "import datetime, random\n"
        "t = datetime.time(17, 30)\n"
        "def f(rng: random.Random) -> int:\n    return rng.randint(1, 6)\n"
    )
    assert impure_calls(fine) == []


def test_dependency_checker_sees_forbidden_imports() -> None:
    tree = ast.parse("from regions.node import x\nimport api.cli\nimport os\n")
    assert imported_packages(tree) == {"regions", "api"}
