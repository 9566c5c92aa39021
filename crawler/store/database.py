"""Opening the store: a SQLAlchemy engine for a database URL.

Commands that write (`crawl`, `run`, `retag`, `review`) open it with `engine_for`, which
creates the store and brings its schema to the newest Alembic revision. Commands that only
read open it with `open_store`, which creates and migrates nothing: a missing store, or one at
an older revision, is `StoreNotReady`. SQLite runs in WAL mode with foreign keys on; PostgreSQL
needs nothing special. Every reader and writer of the store gets its engine here; each call
makes a new one (a pool of connections), which its caller keeps as long as it needs it and
disposes: the crawls of one process share theirs through `crawler.store.engines.Engines`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from crawler.errors import StorageError, StoreNotReady

__all__ = [
    "HEAD",
    "MIGRATIONS",
    "StorageError",
    "StoreNotReady",
    "check_url",
    "describe_store",
    "engine_for",
    "migrate",
    "open_store",
    "safe_url",
    "storage_reason",
]

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision of the migrations, known without reading them (`migrate` skips Alembic
# for a store already there); tests/test_schema.py checks it against the migrations' head.
HEAD = "0017"
# The databases the migrations and queries are written and tested for.
DIALECTS = ("sqlite", "postgresql")
URL_FORMS = "sqlite:///path.db or postgresql+psycopg://user@host/db"
CREATES = "`newsmon crawl` (or `newsmon run`)"


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


def check_url(url: str) -> URL:
    """The parsed URL, if newsmon can open it: SQLite or PostgreSQL, with an installed
    driver. Raises StoreNotReady naming the problem (connecting is not tried)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreNotReady(f"not a database URL ({URL_FORMS}): {url!r}") from None
    backend = parsed.get_backend_name()
    if backend not in DIALECTS:
        raise StoreNotReady(
            f"{safe_url(url)}: unknown kind of database {backend!r} (newsmon stores in "
            f"{' or '.join(DIALECTS)}: {URL_FORMS})"
        )
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise StoreNotReady(
            f"{safe_url(url)}: unknown {backend} driver {parsed.get_driver_name()!r}"
        ) from None
    except ImportError as exc:
        raise StoreNotReady(
            f"{safe_url(url)}: the {parsed.get_driver_name()} driver is not installed ({exc})"
        ) from None
    return parsed


def engine_for(url: str) -> Engine:
    """The engine for `url`, the store created if missing and migrated to the newest schema.
    For commands that write. Raises StoreNotReady for a URL it cannot use, StorageError."""
    parsed = check_url(url)
    engine = None
    try:
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = _engine(parsed)
        migrate(engine)
    except (SQLAlchemyError, OSError, ArgumentError, ImportError) as exc:
        if engine is not None:
            engine.dispose()
        raise StorageError(f"database {safe_url(url)}: {_reason(exc)}") from exc
    return engine


def open_store(url: str) -> Engine:
    """The engine of an existing store at the newest schema, for commands that only read:
    nothing is created or migrated. Raises StoreNotReady when there is no store at `url`
    (no SQLite file; a database without newsmon's tables) or it is at an older revision,
    StorageError when it cannot be opened."""
    engine, current = _revision(url)
    try:
        _must_be_newest(url, current)
    except (StoreNotReady, StorageError):
        engine.dispose()
        raise
    return engine


def _must_be_newest(url: str, current: str | None) -> None:
    if current is None:
        raise StoreNotReady(f"no newsmon store in {safe_url(url)}: {CREATES} creates it")
    head, known = _revisions()
    if current not in known:
        raise StorageError(
            f"the store {safe_url(url)} has schema revision {current}, unknown "
            "to this newsmon (written by a newer version?)"
        )
    if current != head:
        raise StoreNotReady(
            f"the store {safe_url(url)} has schema revision {current}, older than this "
            f"newsmon's {head}: {CREATES} upgrades it"
        )


def describe_store(url: str) -> str:
    """One line on the store at `url`, for `newsmon config check --connect`: its schema
    revision, or that it does not exist yet. Creates and migrates nothing. Raises
    StoreNotReady for a URL it cannot use, StorageError when it cannot be opened."""
    try:
        engine, current = _revision(url)
    except StoreNotReady as missing:
        return str(missing)
    engine.dispose()
    head, known = _revisions()
    if current is None:
        return f"reachable, no newsmon tables yet: {CREATES} creates them"
    if current == head:
        return f"reachable, schema revision {current} (the newest)"
    if current not in known:
        return f"reachable, schema revision {current}, unknown to this newsmon (a newer one's?)"
    return f"reachable, schema revision {current}: {CREATES} upgrades it to {head}"


def _revision(url: str) -> tuple[Engine, str | None]:
    """The engine of the store at `url` and its schema revision (None: no newsmon tables).
    A missing SQLite file is StoreNotReady: connecting would create it."""
    parsed = check_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if parsed.database in (None, "", ":memory:") or not path.is_file():
            raise StoreNotReady(
                f"no newsmon store in {safe_url(url)}: no file "
                f"{os.path.abspath(path)}; {CREATES} creates it"
            )
    from alembic.runtime.migration import MigrationContext

    engine = _engine(make_url(url), writer=False)
    try:
        with engine.connect() as connection:
            return engine, MigrationContext.configure(connection).get_current_revision()
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise StorageError(f"database {safe_url(url)}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    """The driver's message, on one line (SQLAlchemy adds the statement and a link)."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _engine(parsed: URL, writer: bool = True) -> Engine:
    sqlite = parsed.get_backend_name() == "sqlite"
    # A server can drop idle connections; a SQLite file cannot, and the ping was one more
    # statement for every connection a crawl takes (several per article).
    engine = create_engine(parsed, pool_pre_ping=not sqlite)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas if writer else _sqlite_reader_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the crawler's writes
    # In WAL mode, NORMAL syncs at checkpoints rather than at every commit: a killed process
    # loses nothing it committed, and a power cut can only drop the last commits, never
    # corrupt the file. FULL would cost a disk flush per article.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # wait for another writer instead of failing
    cursor.close()


def _sqlite_reader_pragmas(dbapi_connection, _record) -> None:
    # Not journal_mode: setting it writes to the file (WAL, set by the writer, persists).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config():
    from alembic.config import Config as AlembicConfig  # Alembic: only to open a store

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def _revisions() -> tuple[str, frozenset[str]]:
    """The newest schema revision, and every revision the migrations know."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config())
    known = frozenset(revision.revision for revision in script.walk_revisions())
    return script.get_current_head(), known


MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext('migrate'))"


def _stored_revision(engine: Engine) -> str | None:
    """The schema revision Alembic recorded in the store (None: no newsmon tables yet), read
    without importing Alembic. Raises SQLAlchemyError."""
    with engine.connect() as connection:
        # Where Alembic keeps it: its default table, in the connection's default schema.
        if not inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    # More than one line: branches, which newsmon's migrations never make; Alembic decides.
    return versions[0][0] if len(versions) == 1 else None


def migrate(engine: Engine, revision: str = "head") -> None:
    # A store already at the newest revision, as most are when a command opens it, needs no
    # Alembic: importing it and reading the migrations took 0.12 s, a twelfth of a crawl that
    # finds nothing new.
    if revision == "head" and _stored_revision(engine) == HEAD:
        return
    from alembic import command

    config = _alembic_config()
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
                if connection.dialect.name == "postgresql":
                    # Processes that open a new store at once (a scheduler and its workers)
                    # migrate one after the other: the next finds the schema at its head.
                    connection.execute(text(MIGRATION_LOCK))
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
