"""Alembic environment: runs migrations on the connection that `crawler.store.database` hands
over."""

from __future__ import annotations

from alembic import context

from crawler.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
