"""Dependencies point one way (docs/architecture.md): a package imports only packages of lower layers.

Plain Python over the import statements of every module, function-level imports and migrations
included, so a lazy import cannot hide a cycle.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. Packages in one layer are peers: they do not import each other.
LAYERS = [
    {"core"},
    {"staff"},
    {"contacts"},
    {"webhooks"},
    {"consent"},
    {"subscriptions"},
    {"journeys", "dsr", "imports"},
    {"mailsignals", "breaches"},
    {"reports"},
    {"operations"},
    {"bench", "demo"},
    {"config"},
]
LAYER_OF = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def project_packages() -> set[str]:
    return {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "scripts"} and not path.parent.name.startswith(".")
    }


def imported_packages(path: Path) -> set[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the module, wherever it stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


def layer_violations(packages: set[str]) -> list[str]:
    problems = []
    for package in sorted(packages):
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, target in sorted(imported_packages(path)):
                if target == package or target not in LAYER_OF:
                    continue
                if LAYER_OF[target] >= LAYER_OF[package]:
                    where = path.relative_to(ROOT)
                    problems.append(f"{where}:{line} imports {target} ({package} may not)")
    return problems


def test_every_package_has_a_layer():
    assert project_packages() - set(LAYER_OF) == set(), "place the new package in LAYERS and the docs"


def test_no_import_runs_against_the_layers():
    assert layer_violations(project_packages()) == []


def test_the_check_sees_a_lazy_upward_import(tmp_path, monkeypatch):
    """The test itself can fail: a function-level import from a higher layer is reported."""
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "links.py").write_text("def f():\n    from dsr.models import X\n    return X\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert layer_violations({"core"}) == ["core/links.py:2 imports dsr (core may not)"]
