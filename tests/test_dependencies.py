"""Every third-party package the code imports is declared in pyproject.toml: what crawler/ and
pipelines/ import in `dependencies`, what tests/ and bench/ import there or in the `test`
extra. A package that arrives with another (lxml with trafilatura, twisted with Scrapy) is
declared all the same: the other may stop requiring it. Import names map to distributions through
`importlib.metadata.packages_distributions()`; an import guarded by `except ImportError` is
optional and not counted."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = {"crawler", "pipelines", "tests", "bench"}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _declared(requirements: list[str]) -> set[str]:
    return {
        _normalized(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
        for requirement in requirements
    }


def _optional(tree: ast.AST) -> set[ast.AST]:
    """Import statements inside `try` blocks that catch ImportError."""
    guarded: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            "ImportError" in ast.unparse(handler.type or ast.Name("BaseException"))
            for handler in node.handlers
        ):
            guarded.update(inner for statement in node.body for inner in ast.walk(statement))
    return guarded


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    optional = _optional(tree)
    for node in ast.walk(tree):
        if node in optional:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def third_party_imports(*folders: str) -> dict[str, str]:
    """Top-level module → the first file importing it, for modules neither standard nor ours."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            for module in _imports(path):
                if module not in sys.stdlib_module_names and module not in OURS | {"__future__"}:
                    found.setdefault(module, str(path.relative_to(REPO)))
    return found


def undeclared(imports: dict[str, str], declared: set[str]) -> list[str]:
    distributions = packages_distributions()
    problems = []
    for module, where in sorted(imports.items()):
        names = {_normalized(name) for name in distributions.get(module, [])}
        if not names:
            problems.append(f"{module} (imported in {where}) is not installed")
        elif not names & declared:
            problems.append(f"{module} (imported in {where}) comes from {sorted(names)}")
    return problems


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_package_declares_what_it_imports(project: dict) -> None:
    imports = third_party_imports("crawler", "pipelines")
    assert {"scrapy", "lxml", "htmldate", "numpy"} <= set(imports)  # the scan sees them
    assert undeclared(imports, _declared(project["dependencies"])) == []


def test_tests_and_benchmarks_declare_what_they_import(project: dict) -> None:
    declared = _declared(project["dependencies"] + project["optional-dependencies"]["test"])
    imports = third_party_imports("tests", "bench")
    assert {"pytest", "datasketch"} <= set(imports)
    assert "yaml" not in imports  # bench/config_load.py compares with PyYAML only if present
    assert undeclared(imports, declared) == []


def test_an_undeclared_import_is_found(tmp_path: Path) -> None:
    declared = _declared(["scrapy>=2.13,<3", "ruamel.yaml>=0.18", "psycopg[binary]>=3.1"])
    assert declared == {"scrapy", "ruamel-yaml", "psycopg"}
    imports = {"scrapy": "a.py", "lxml": "b.py", "ruamel": "c.py", "no_such_module_x": "d.py"}
    assert undeclared(imports, declared) == [
        "lxml (imported in b.py) comes from ['lxml']",
        "no_such_module_x (imported in d.py) is not installed",
    ]
