"""Opening the store: one SQLAlchemy engine per database URL, schema brought to the newest
Alembic revision on first use. SQLite runs in WAL mode with foreign keys on; PostgreSQL needs
nothing special. Every reader and writer of the store gets its engine here.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

MIGRATIONS = Path(__file__).with_name("migrations")


class StorageError(Exception):
    """The store cannot be opened or written; the message names the database."""


def storage_reason(exc: Exception) -> str:
    """One line for a storage failure, in the driver's own words ("storage: database or disk
    is full"), without SQLAlchemy's statement and parameters (scraped text)."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"storage: {lines[0] if lines else type(original).__name__}"


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@functools.cache
def engine_for(url: str) -> Engine:
    """The engine for `url`, migrated to the newest schema. Raises StorageError."""
    try:
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A server can drop idle connections; a SQLite file cannot, and the ping was one more
        # statement for every connection a crawl takes (several per article).
        engine = create_engine(parsed, pool_pre_ping=not sqlite)
        if sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        migrate(engine)
    except (SQLAlchemyError, OSError, ArgumentError, ImportError) as exc:
        raise StorageError(f"database {safe_url(url)}: {exc}") from exc
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the crawler's writes
    # In WAL mode, NORMAL syncs at checkpoints rather than at every commit: a killed process
    # loses nothing it committed, and a power cut can only drop the last commits, never
    # corrupt the file. FULL would cost a disk flush per article.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # wait for another writer instead of failing
    cursor.close()


def migrate(engine: Engine, revision: str = "head") -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one, and with foreign
            # keys on, that drop deletes the rows that reference it (ON DELETE CASCADE: every
            # URL and topic of every article). SQLite's procedure for such changes: keys off
            # (outside a transaction), migrate, check them, keys on.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # ends SQLAlchemy's transaction; SQLite began none for a PRAGMA
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise StorageError(
                            f"migration broke {len(broken)} references: {broken[:3]}"
                        )
        finally:
            if sqlite:
                connection.rollback()  # whatever failed: the PRAGMA must run outside it
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
