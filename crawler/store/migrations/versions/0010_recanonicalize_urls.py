"""Stored URLs in the canonical form of issue 14 (RFC 3986 syntax-based normalization).

Articles are found again by canonical URL ("already stored?" in `article_urls`, rechecks of
developing stories by `articles.url`, owed links by `owed_links.url`). The canonical form now
also normalizes percent-encoding, IRIs, IDN hosts, dot segments and more tracking parameters,
so a link stored as `https://x.example/actualité` is looked up as
`https://x.example/actualit%C3%A9`: without this migration every such article would be
downloaded and stored again once.

- `article_urls`: the new form of each URL is added beside the old one (the table holds every
  URL that led to an article; the old spelling did, and it costs one row).
- `articles.url`: set to the new form, unless another article already holds it (two stored
  articles that were one page all along: the older keeps its URL, the lookup finds either).
- `owed_links.url`: re-keyed to the new form; when that one is owed already, the old row goes.

The rule is `crawler.text.urls.canonicalize` as it is when this runs: re-canonicalizing is
idempotent, so a later rule would come with a migration of its own. Only rows whose form
changes are written. Downgrade leaves the URLs as they are: the old code takes the new forms
as any other URL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crawler.text.urls import canonicalize

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BATCH = 1000


def _new_form(url: str) -> str | None:
    """The URL's new canonical form when it differs, else None."""
    try:
        canonical = canonicalize(url)
    except ValueError:  # stored before the host check: left as it is
        return None
    return canonical if canonical != url else None


def _changed(connection: sa.Connection, query: sa.Select) -> list[tuple[object, str, str]]:
    """(key, old URL, new form) of the rows whose URL changes; streamed, since a store has
    millions of URLs and only a few change."""
    changed = []
    for key, url in connection.execute(query.execution_options(yield_per=10_000)):
        new = _new_form(url)
        if new is not None:
            changed.append((key, url, new))
    return changed


def _existing(connection: sa.Connection, column: sa.ColumnClause, urls: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(urls), _BATCH):  # under bound-parameter limits
        chunk = urls[start : start + _BATCH]
        found.update(connection.execute(sa.select(column).where(column.in_(chunk))).scalars())
    return found


def upgrade() -> None:
    connection = op.get_bind()
    article_urls = sa.table("article_urls", sa.column("url"), sa.column("article_id"))
    articles = sa.table("articles", sa.column("id"), sa.column("url"))
    owed_links = sa.table("owed_links", sa.column("url"))

    # Every URL that led to an article: its new form too, beside it.
    changed = _changed(connection, sa.select(article_urls.c.article_id, article_urls.c.url))
    known = _existing(connection, article_urls.c.url, [new for _, _, new in changed])
    added = []
    for article_id, _, new in changed:
        if new not in known:
            known.add(new)
            added.append({"url": new, "article_id": article_id})
    for start in range(0, len(added), _BATCH):
        connection.execute(sa.insert(article_urls), added[start : start + _BATCH])

    # The article's own URL, unless another article holds the new form (oldest id first).
    changed = _changed(connection, sa.select(articles.c.id, articles.c.url).order_by(articles.c.id))
    taken = _existing(connection, articles.c.url, [new for _, _, new in changed])
    known = _existing(connection, article_urls.c.url, [new for _, _, new in changed])
    for article_id, _, new in changed:
        if new in taken:
            continue
        taken.add(new)
        connection.execute(sa.update(articles).where(articles.c.id == article_id).values(url=new))
        if new not in known:  # rechecks join articles.url to article_urls: keep it there
            known.add(new)
            connection.execute(sa.insert(article_urls).values(url=new, article_id=article_id))

    # Owed links, re-keyed; one row per new form.
    changed = _changed(connection, sa.select(owed_links.c.url, owed_links.c.url))
    owed = _existing(connection, owed_links.c.url, [new for _, _, new in changed])
    for _, url, new in changed:
        if new in owed:
            connection.execute(sa.delete(owed_links).where(owed_links.c.url == url))
        else:
            owed.add(new)
            connection.execute(sa.update(owed_links).where(owed_links.c.url == url).values(url=new))


def downgrade() -> None:
    pass
