"""Every setting is documented under its own heading in docs/configuration.md, generated from
the settings table; every command, option and export field in the README."""

from __future__ import annotations

import click

from crawler.cli.main import cli
from crawler.config.settings import SETTINGS, Derived, with_reference
from crawler.review.export import FIELDS
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "newsmon") -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.update(commands(command, path))
        else:
            found[path] = command
    return found


def sections(markdown: str, level: str = "###") -> dict[str, str]:
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
    found = sections(CONFIGURATION)
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


def test_every_command_and_option_documented() -> None:
    for path, command in commands(cli).items():
        assert f"`{path}" in README, f"{path} is not in the README"
        assert command.help, f"{path} has no help text"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{path} {param.opts[0]} has no help text"
                assert any(opt in README for opt in param.opts), f"{path} {param.opts[0]}"


def test_every_export_field_documented() -> None:
    for field in FIELDS:
        assert f"`{field}`" in README, f"export field {field} is not in the README"
