"""Every setting, command, option and export field is documented in the README."""

from __future__ import annotations

import click

from crawler.cli.main import cli
from crawler.config.files import SETTINGS
from crawler.store.queries import FIELDS
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "newsmon") -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.update(commands(command, path))
        else:
            found[path] = command
    return found


def test_every_setting_documented_with_its_default() -> None:
    for spec in SETTINGS:
        rows = [line for line in README.splitlines() if line.startswith(f"| `{spec.name}` |")]
        assert rows, f"setting {spec.name} is not in the README's settings table"
        default = str(spec.default).lower() if isinstance(spec.default, bool) else spec.default
        if default is None:
            default = "null"
        if isinstance(default, float) and default.is_integer():
            default = int(default)
        assert f"`{default}`" in rows[0], f"README gives another default for {spec.name}"


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
