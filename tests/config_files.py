"""YAML text for the config files that tests and benchmarks write, and back, with ruamel.yaml
read as `crawler.config.files` reads it (YAML 1.1, where `yes`, `on` and `y` are booleans)."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML


def _yaml() -> YAML:
    # Pure Python: the C emitter quotes strings by YAML 1.2's rules and would write `yes` bare.
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 1)
    yaml.default_flow_style = False
    yaml.width = 4096  # a long value on its own line would fail tests that read lines
    return yaml


def yaml_text(data: Any) -> str:
    """`data` as a YAML document (block style, non-ASCII as is)."""
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def yaml_data(text: str) -> Any:
    """The data of a YAML document."""
    return _yaml().load(text)
