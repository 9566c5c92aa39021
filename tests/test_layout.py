"""The import contract of docs/architecture.md: which parts may import Scrapy, SQLAlchemy and
Flask, and that imports follow the flow (config, schedule, spiders, item, pipelines, store,
review) and never run backwards. Read from the source with `ast`, so a violation fails here
before anyone runs the code."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "pipelines")

# The flow, lowest first: a part may import its own modules and those of lower ranks only.
# schedule/ holds both pure policy (cron, polling) low down and the runners at the top, so its
# modules are ranked one by one.
RANKS = {
    "crawler.errors": 0,
    "crawler.logs": 0,
    "crawler.text": 0,
    "crawler.match": 1,
    "crawler.schedule.cron": 1,
    "crawler.config": 2,
    "crawler.sources": 3,
    "crawler.schedule.polling": 3,
    "crawler.store": 4,
    "crawler.items": 5,
    "crawler.heap": 5,
    "crawler.extract": 6,
    "crawler.middlewares": 6,
    "crawler.spiders": 6,
    "pipelines": 7,
    "crawler.extensions": 6.5,  # owns the extraction pool, which the extract pipeline uses
    "crawler.addon": 7,
    "crawler.settings": 7,
    "crawler.review": 8,
    "crawler.alerts": 8,  # reads the store and the config, as review does
    "crawler.schedule.live_view": 8,
    "crawler.schedule.one_pass": 9,
    "crawler.schedule.process": 9,  # the reactor and stop signals of long-lived processes
    "crawler.schedule.broker": 9,  # the distributed mode's messages and queues
    "crawler.schedule.service": 10,
    "crawler.schedule.worker": 10,
    "crawler.schedule.dispatch": 10.5,  # `newsmon run`'s Service, handing passes out
    "crawler.cli": 11,
    "crawler.__main__": 12,
}

SCRAPY = ("scrapy", "twisted")
DATABASE = ("sqlalchemy", "alembic", "psycopg")
WEB = ("flask", "flask_wtf", "waitress", "jinja2", "werkzeug")
# Only the crawl imports Scrapy: spiders, pipelines, the project's Scrapy files and the runners.
MAY_IMPORT_SCRAPY = (
    "crawler.spiders",
    "pipelines",
    "crawler.items",
    "crawler.middlewares",
    "crawler.extensions",
    "crawler.addon",
    "crawler.settings",
    "crawler.schedule.one_pass",
    "crawler.schedule.service",
    "crawler.schedule.worker",
    "crawler.schedule.dispatch",
    "crawler.schedule.process",
)
# Pure logic: no framework, no database.
PURE = (
    "crawler.errors",
    "crawler.text",
    "crawler.match",
    "crawler.sources",
    "crawler.schedule.cron",
    "crawler.schedule.polling",
)
# The app, `serve`, and the alerts' Jinja templates (jinja2 only).
MAY_IMPORT_FLASK = ("crawler.review.web", "crawler.cli.review", "crawler.alerts.render")


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def import_nodes(path: Path) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of a file, at any depth (statements only: imports are never
    expressions, so walking every expression node would only cost time)."""
    found, todo = [], list(parsed(path).body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            todo.extend(n for n in getattr(node, field, ()) if isinstance(n, ast.AST))
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str:
    """The entry of RANKS a module belongs to (the longest matching prefix)."""
    matches = [p for p in RANKS if module == p or module.startswith(p + ".")]
    if not matches:
        raise AssertionError(f"{module} is in no part of the layout: add it to RANKS")
    return max(matches, key=len)


def within(module: str, parts: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in parts)


def imports() -> list[tuple[str, str, int]]:
    """(importing module, imported module, line) for every import in the packages."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "versions" in path.parts:  # migrations: frozen history, run by Alembic only
                continue
            me = module_name(path)
            for node in import_nodes(path):
                if isinstance(node, ast.Import):
                    found += [(me, alias.name, node.lineno) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.append((me, node.module, node.lineno))
                    # `from crawler.store import owed` imports the module crawler.store.owed
                    found += [(me, f"{node.module}.{a.name}", node.lineno) for a in node.names]
    return found


IMPORTS = imports()


def ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def violations(rule) -> list[str]:
    return [f"{me}:{line} imports {target}" for me, target, line in IMPORTS if rule(me, target)]


def test_only_the_crawl_imports_scrapy():
    assert (
        violations(
            lambda me, target: target.split(".")[0] in SCRAPY and not within(me, MAY_IMPORT_SCRAPY)
        )
        == []
    )


def test_pure_parts_import_no_framework_and_no_database():
    forbidden = SCRAPY + DATABASE + WEB
    assert (
        violations(lambda me, target: within(me, PURE) and target.split(".")[0] in forbidden) == []
    )


def test_only_the_web_app_imports_flask():
    assert (
        violations(
            lambda me, target: target.split(".")[0] in WEB and not within(me, MAY_IMPORT_FLASK)
        )
        == []
    )


def test_spiders_never_import_pipelines():
    assert (
        violations(
            lambda me, target: within(me, ("crawler.spiders",)) and target.startswith("pipelines")
        )
        == []
    )


def test_imports_follow_the_flow():
    def backwards(me: str, target: str) -> bool:
        if not ours(target) or not is_module(target):
            return False
        mine, theirs = part_of(me), part_of(target)
        return mine != theirs and RANKS[theirs] >= RANKS[mine]

    assert violations(backwards) == []


def test_every_module_has_a_place_in_the_layout():
    modules = {me for me, _, _ in IMPORTS}
    for module in modules:
        part_of(module)


def public_names(path: Path) -> set[str] | None:
    for node in parsed(path).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return None


def test_names_imported_from_other_modules_are_public():
    """A module with `__all__` is used from elsewhere only through the names it lists."""
    used: dict[str, set[str]] = {}
    for package in PACKAGES + ("tests", "bench"):
        for source in (ROOT / package).rglob("*.py"):
            if "versions" in source.parts:
                continue
            me = module_name(source)
            for node in import_nodes(source):
                if (
                    isinstance(node, ast.ImportFrom)
                    and node.module
                    and node.module != me
                    and ours(node.module)
                    and is_module(node.module)
                ):
                    used.setdefault(node.module, set()).update(a.name for a in node.names)
    problems = []
    for module, names in sorted(used.items()):
        path = ROOT.joinpath(*module.split("."))
        path = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
        public = public_names(path)
        submodules = {n for n in names if is_module(f"{module}.{n}")}
        private = {n for n in names if n.startswith("_")}  # a known trespass, named as one
        if public is not None and names - public - submodules - private:
            problems.append(
                f"{module}: {sorted(names - public - submodules - private)} not in __all__"
            )
    assert problems == []


def test_every_package_is_installed():
    """pyproject.toml lists the packages one by one (one of them maps config/ into the
    package for `newsmon init`): a folder missing there would be missing from a real install,
    which the tests, run from the source tree, would never notice."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        module_name(init) for package in PACKAGES for init in (ROOT / package).rglob("__init__.py")
    }
    assert set(declared["packages"]) == on_disk | {"crawler.config.shipped"}
    assert declared["package-dir"] == {"crawler.config.shipped": "config"}
