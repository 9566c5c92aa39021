"""The configuration the distributed mode's scheduler runs, kept in the store by version.

`newsmon schedule` reads its config directory (the only place the distributed mode reads
YAML from), stores the files' text under the sha-256 of their content, and names that version
in each pass it hands out. A `newsmon worker`, on any host, reads the version a pass names
from here: every worker crawls with the sources, topics and settings the scheduler planned
with, and an edit reaches all of them with the next pass, with no file to copy to each host.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql

from crawler.store.schema import config_versions

__all__ = ["files_of", "load_files", "save_files", "version_of"]


def files_of(directory: Path, names: tuple[str, ...]) -> dict[str, str]:
    """The text of each config file that exists in `directory`."""
    found = {}
    for name in names:
        path = directory / name
        if path.is_file():
            found[name] = path.read_text(encoding="utf-8")
    return found


def version_of(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()


def save_files(engine: Engine, files: dict[str, str]) -> str:
    """Store the files (once per version); their version."""
    version = version_of(files)
    statement = postgresql.insert(config_versions).values(
        version=version, files=files, created_at=datetime.now(UTC)
    )
    with engine.begin() as connection:
        connection.execute(statement.on_conflict_do_nothing(index_elements=["version"]))
    return version


def load_files(engine: Engine, version: str) -> dict[str, str] | None:
    with engine.connect() as connection:
        return connection.execute(
            select(config_versions.c.files).where(config_versions.c.version == version)
        ).scalar()
