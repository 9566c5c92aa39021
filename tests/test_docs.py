"""The docs are a tested reference: every setting, command, option and export field is
documented under its own heading or row in docs/, the CLI reference is what the code prints,
the README's test command is the one CI runs, links lead somewhere and the performance figures
are those bench/RESULTS.md measured.
"""

from __future__ import annotations

import re

import click

from crawler.cli.main import cli
from crawler.cli.reference import render
from crawler.config.settings import SETTINGS, Derived, with_reference
from crawler.store.queries import FIELDS
from tests.conftest import REPO

DOCS = REPO / "docs"
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")
README = (REPO / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def read(name: str) -> str:
    return (REPO / name).read_text(encoding="utf-8")


def sections(markdown: str) -> dict[str, str]:
    """Heading text (backticks dropped) -> the text under it up to the next heading, code
    blocks included; a `#` line inside a code block is not a heading."""
    found: dict[str, str] = {}
    title, lines, fenced = "", [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else HEADING.match(line)
        if heading:
            found[title] = "\n".join(lines)
            title, lines = heading.group(2).replace("`", ""), []
        else:
            lines.append(line)
    found[title] = "\n".join(lines)
    return found


def table_rows(text: str) -> list[list[str]]:
    """The cells of each row of the Markdown tables in `text`, header and rule left out."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return [row for row in rows if row and row[0] not in {"field", "key", "benchmark", ""}]


def commands(group: click.Group, prefix: str = "newsmon") -> dict[str, click.Command]:
    """Every command and group under `group`, by its path (`newsmon sources add`)."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found[path] = command
        if isinstance(command, click.Group):
            found.update(commands(command, path))
    return found


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def setting_sections(markdown: str, level: str = "###") -> dict[str, str]:
    """The text under each heading of `level`, by heading, up to the next heading."""
    found: dict[str, str] = {}
    heading = None
    for line in markdown.splitlines():
        if line.startswith("#"):
            heading = (
                line.removeprefix(level + " ").strip() if line.startswith(level + " ") else None
            )
            if heading is not None:
                assert heading not in found, f"heading {heading} appears twice"
                found[heading] = ""
        elif heading is not None:
            found[heading] += line + "\n"
    return found


def yaml_text(value: object) -> str:
    """A default as settings.yaml writes it, worked out apart from the generator."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_setting_documented_under_its_own_heading() -> None:
    found = setting_sections(CONFIGURATION)
    for spec in SETTINGS:
        assert spec.name in found, f"setting {spec.name} has no `### {spec.name}` heading"
        body = found[spec.name]
        assert spec.help in body, f"docs give {spec.name} another help text"
        assert f"- Default: `{yaml_text(spec.default)}`\n" in body, spec.name
        assert f"- Allowed: {spec.allowed()}\n" in body, spec.name
        for target in spec.scrapy:
            name = target.name if isinstance(target, Derived) else target
            assert f"`{name}`" in body, f"{spec.name} does not name Scrapy's {name}"


def test_settings_reference_is_current() -> None:
    assert with_reference(CONFIGURATION) == CONFIGURATION, (
        "docs/configuration.md is stale: run `python -m crawler.config.settings --write`"
    )


def test_readme_links_the_configuration_reference() -> None:
    assert "docs/configuration.md" in README


def test_cli_reference_is_current() -> None:
    assert read("docs/cli.md") == render(), (
        "docs/cli.md is stale: run `python -m crawler.cli.reference > docs/cli.md`"
    )


def test_every_command_and_option_documented_under_its_heading() -> None:
    reference = sections(read("docs/cli.md"))
    for path, command in commands(cli).items():
        assert path in reference, f"{path} has no heading in docs/cli.md"
        section = reference[path]
        assert f"Usage: {path}" in section, f"the section of {path} does not give its usage"
        assert command.help, f"{path} has no help text"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{path} {param.opts[0]} has no help text"
                for opt in param.opts:
                    assert re.search(rf"(?<![\w-]){re.escape(opt)}\b", section), (
                        f"{path} {opt} is not under its heading in docs/cli.md"
                    )


def test_every_export_field_documented_in_its_own_row() -> None:
    fields_section = sections(read("docs/exports.md"))["Fields"]
    documented = [
        name.strip("`") for row in table_rows(fields_section) for name in row[0].split(", ")
    ]
    for field in FIELDS:
        assert field in documented, f"export field {field} has no row in docs/exports.md"
    assert set(documented) <= set(FIELDS), "docs/exports.md documents a field exports lack"


def test_readme_test_command_is_the_one_ci_runs() -> None:
    ci = [
        line
        for line in read(".ci/run").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    command = ci[-1]
    readme_blocks = re.findall(r"```sh\n(.*?)```", read("README.md"), re.S)
    assert any(command in block.splitlines() for block in readme_blocks), (
        f".ci/run runs {command!r}, which is not the README's test command"
    )


def test_links_lead_somewhere() -> None:
    pages = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
    for page in pages:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # http(s) and mailto: not checked offline
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(REPO)} links to {target}"
            assert linked.exists(), f"{where}, which does not exist"
            if anchor and linked.suffix == ".md":
                anchors = {slug(title) for title in sections(linked.read_text(encoding="utf-8"))}
                assert anchor in anchors, f"{where}, a heading that does not exist"


def test_readme_stays_an_introduction() -> None:
    """The reference lives in docs/; the README says what newsmon is and where to read on."""
    size = len(read("README.md").encode())
    assert size <= 9000, f"README.md is {size} bytes: move reference material to docs/"


def test_performance_figures_are_those_of_bench_results() -> None:
    numbers = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
    measured = set(numbers.findall(read("bench/RESULTS.md")))
    figures = sections(read("docs/performance.md"))["Figures"]
    rows = table_rows(figures)
    assert rows, "docs/performance.md has no table of figures"
    for row in rows:
        for number in numbers.findall(" ".join(row[1:])):
            assert number in measured, (
                f"docs/performance.md gives {number} ({row[0][:40]}...), "
                "which bench/RESULTS.md does not"
            )
