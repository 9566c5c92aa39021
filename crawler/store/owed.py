"""Links owed to the next pass: the store's memory of every link not yet done.

A link is done only when its article is stored (the store pipeline deletes its row in the
article's own transaction) or deliberately dropped (not an article, a copy of a stored page,
HTTP 404, a refused address...). Any other outcome (a worker died, the store failed, the disk
was full, a timeout, a 5xx, the pass was interrupted or killed) leaves it here: the spiders
request it again at the next pass of its source, even when the feed did not change, with a
growing wait between attempts, and give it up after `link_attempts` attempts, recording why.

The row is written when the page is requested, not when it fails: a process killed with
`kill -9` can write nothing afterwards, and its links must still be owed. A link dropped on
purpose keeps its row, marked `dropped_at` with the reason, so that a feed listing it again
does not fetch it again; such rows and given-up ones are forgotten after `FORGET_AFTER`.

Spiders read and write it through `OwedLinks`; `retry_delay` is the pure back-off arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crawler.store.crawl_state import as_utc
from crawler.store.schema import owed_links

CHUNK = 500  # URLs per statement: under every bound-parameter limit
FORGET_AFTER = timedelta(days=90)  # feeds list an entry for days or weeks, not months


@dataclass(frozen=True)
class OwedLink:
    url: str
    source: str
    title: str | None = None
    published: datetime | None = None
    language: str | None = None
    summary: str | None = None  # the entry's, for a headline-only article (pipelines.extract)
    author: str | None = None  # the entry's, which may stand for the page's (`entry_metadata`)
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    gave_up_at: datetime | None = None
    dropped_at: datetime | None = None

    @property
    def done(self) -> bool:
        """Given up or dropped on purpose: never requested again."""
        return self.gave_up_at is not None or self.dropped_at is not None


@dataclass(frozen=True)
class Debt:
    """What a source owes: links still to fetch, links given up (with the latest reason)."""

    owed: int = 0
    gave_up: int = 0
    last_error: str | None = None  # of an owed or given-up link


def retry_delay(attempts: int, backoff: float, cap: float) -> float:
    """Seconds to wait before the next attempt at a link already tried `attempts` times: the
    first retry comes at the next pass, then `backoff` doubling, never past `cap`."""
    if attempts <= 1:
        return 0.0
    return min(backoff * 2 ** min(attempts - 2, 32), cap)


def _upsert(connection: Connection):
    """INSERT ... ON CONFLICT (url) DO UPDATE, in the dialect's own words: two processes may
    owe the same link (a `crawl` beside `run`)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(owed_links)
    keep = ("attempts", "last_attempt_at", "next_attempt_at")
    return statement.on_conflict_do_update(
        index_elements=[owed_links.c.url],
        set_={name: statement.excluded[name] for name in keep} | {"gave_up_at": None},
    )


class OwedLinks:
    def __init__(
        self, engine: Engine, attempts: int = 8, backoff: float = 900.0, cap: float = 86400.0
    ) -> None:
        self.engine = engine
        self.max_attempts = attempts
        self.backoff = backoff
        self.cap = cap

    def lookup(self, urls: list[str]) -> dict[str, OwedLink]:
        """The owed rows of these links (given up or not)."""
        found: dict[str, OwedLink] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(urls), CHUNK):
                rows = connection.execute(
                    select(owed_links).where(owed_links.c.url.in_(urls[start : start + CHUNK]))
                ).mappings()
                found.update((row["url"], _link(row)) for row in rows)
        return found

    def due(self, source: str, now: datetime) -> list[OwedLink]:
        """Links of `source` whose next attempt is due, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(owed_links)
                .where(
                    owed_links.c.source == source,
                    owed_links.c.gave_up_at.is_(None),
                    owed_links.c.dropped_at.is_(None),
                    (owed_links.c.next_attempt_at.is_(None))
                    | (owed_links.c.next_attempt_at <= now),
                )
                .order_by(owed_links.c.first_seen_at, owed_links.c.url)
            ).mappings()
            return [_link(row) for row in rows]

    def waiting(self, link: OwedLink, now: datetime) -> bool:
        """The link is owed but its next attempt is not due yet."""
        return link.next_attempt_at is not None and link.next_attempt_at > now

    def exhausted(self, link: OwedLink) -> bool:
        return link.attempts >= self.max_attempts

    def attempt(self, links: Iterable[OwedLink], now: datetime) -> None:
        """These links are being requested now: one more attempt each (new rows start at 1),
        and when the next would be due should this one fail."""
        rows = []
        for link in links:
            attempts = link.attempts + 1
            wait = retry_delay(attempts, self.backoff, self.cap)
            rows.append(
                {
                    "url": link.url,
                    "source": link.source,
                    "title": link.title,
                    "published": link.published,
                    "language": link.language,
                    "summary": link.summary,
                    "author": link.author,
                    "attempts": attempts,
                    "first_seen_at": now,
                    "last_attempt_at": now,
                    "next_attempt_at": now + timedelta(seconds=wait),
                }
            )
        if not rows:
            return
        with self.engine.begin() as connection:
            statement = _upsert(connection)
            for start in range(0, len(rows), CHUNK):
                connection.execute(statement, rows[start : start + CHUNK])

    def failed(self, failures: list[tuple[str, str]], now: datetime) -> None:
        """Record why each link (URL, reason) failed; a link out of attempts is given up."""
        if not failures:
            return
        statement = (
            update(owed_links)
            .where(owed_links.c.url == bindparam("b_url"))
            .values(last_error=bindparam("b_error"))
        )
        give_up = (
            update(owed_links)
            .where(
                owed_links.c.url == bindparam("b_url"), owed_links.c.attempts >= self.max_attempts
            )
            .values(gave_up_at=now)
        )
        rows = [{"b_url": url, "b_error": reason[:500]} for url, reason in failures]
        with self.engine.begin() as connection:
            connection.execute(statement, rows)
            connection.execute(give_up, [{"b_url": url} for url, _ in failures])

    def give_up(self, urls: list[str], now: datetime) -> None:
        """Links out of attempts whose last attempt left no reason (the process died)."""
        if not urls:
            return
        with self.engine.begin() as connection:
            for start in range(0, len(urls), CHUNK):
                connection.execute(
                    update(owed_links)
                    .where(owed_links.c.url.in_(urls[start : start + CHUNK]))
                    .values(
                        gave_up_at=now,
                        last_error=func.coalesce(
                            owed_links.c.last_error, "no answer (the process stopped)"
                        ),
                    )
                )

    def settle(self, urls: list[str]) -> None:
        """These links are done: their articles are stored (found under another URL)."""
        with self.engine.begin() as connection:
            settle(connection, urls)

    def drop(self, drops: list[tuple[str, str]], now: datetime) -> None:
        """These links (URL, reason) are dropped on purpose: done, and remembered as such."""
        if not drops:
            return
        with self.engine.begin() as connection:
            connection.execute(
                update(owed_links)
                .where(owed_links.c.url == bindparam("b_url"))
                .values(dropped_at=now, last_error=bindparam("b_reason"), gave_up_at=None),
                [{"b_url": url, "b_reason": reason[:500]} for url, reason in drops],
            )
            connection.execute(
                delete(owed_links).where(
                    func.coalesce(owed_links.c.dropped_at, owed_links.c.gave_up_at)
                    < now - FORGET_AFTER
                )
            )

    def debtors(self) -> set[str]:
        """Every source that owes links, in one query (a pass asks `due` only of these)."""
        with self.engine.connect() as connection:
            return set(
                connection.execute(
                    select(owed_links.c.source)
                    .distinct()
                    .where(owed_links.c.gave_up_at.is_(None), owed_links.c.dropped_at.is_(None))
                ).scalars()
            )

    def owing(self, sources: list[str]) -> set[str]:
        """Which of these sources still owe links (given-up links owe nothing)."""
        with self.engine.connect() as connection:
            return set(
                connection.execute(
                    select(owed_links.c.source)
                    .distinct()
                    .where(
                        owed_links.c.source.in_(sources),
                        owed_links.c.gave_up_at.is_(None),
                        owed_links.c.dropped_at.is_(None),
                    )
                ).scalars()
            )

    def debts(self) -> dict[str, Debt]:
        """Per source: links owed, links given up, and the latest reason recorded."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    owed_links.c.source,
                    owed_links.c.gave_up_at,
                    owed_links.c.last_error,
                    owed_links.c.last_attempt_at,
                )
                .where(owed_links.c.dropped_at.is_(None))
                .order_by(owed_links.c.last_attempt_at)
            ).all()
        debts: dict[str, Debt] = {}
        for row in rows:
            debt = debts.get(row.source, Debt())
            debts[row.source] = Debt(
                owed=debt.owed + (row.gave_up_at is None),
                gave_up=debt.gave_up + (row.gave_up_at is not None),
                last_error=row.last_error or debt.last_error,
            )
        return debts


# Built once: the store pipeline runs it with every article.
_SETTLE = delete(owed_links).where(owed_links.c.url.in_(bindparam("urls", expanding=True)))


def settle(connection: Connection, urls: list[str]) -> None:
    """Delete the owed rows of links that are done, inside the caller's transaction (the
    store pipeline's, so an article and the end of its debt commit together)."""
    urls = list(dict.fromkeys(url for url in urls if url))
    for start in range(0, len(urls), CHUNK):
        connection.execute(_SETTLE, {"urls": urls[start : start + CHUNK]})


def _link(row) -> OwedLink:
    return OwedLink(
        url=row["url"],
        source=row["source"],
        title=row["title"],
        published=as_utc(row["published"]),
        language=row["language"],
        summary=row["summary"],
        author=row["author"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=as_utc(row["next_attempt_at"]),
        gave_up_at=as_utc(row["gave_up_at"]),
        dropped_at=as_utc(row["dropped_at"]),
    )


__all__ = ["Debt", "OwedLink", "OwedLinks", "retry_delay", "settle"]
