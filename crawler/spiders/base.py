"""What every kind of source shares: from links to `Article` items.

A spider for one kind of source (feeds, sitemaps, listings) subclasses `SourceSpider`: it
requests each enabled source of its kind with conditional GET, turns the response into links
(`ArticleLink`: a URL with an optional title and date), and hands them to `follow_links`. From
there the path is the same for all: canonical URLs, known links never downloaded again, HTML
only, one item per new page.

Nothing is lost: every link requested is owed (`crawler.store.owed`) until its article is stored or
deliberately dropped, so a download that failed, a worker that died, a store that was full or a
pass that was interrupted or killed leaves it for the next pass of its source, which requests
it even when the feed did not change. A source's validators are saved only when it owes
nothing. A source's outcome is recorded once all of its articles are settled (stored, dropped
or failed, pipelines included), so a pass whose articles failed says so ("degraded").
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Response, TextResponse
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.error import DNSLookupError  # the private-network check raises it
from twisted.python.failure import Failure

from crawler.config.files import Config, Source
from crawler.config.settings import parse_duration
from crawler.items import Article, ArticleFailed
from crawler.schedule.polling import Outcome
from crawler.sources.links import ArticleLink
from crawler.sources.search_engines import describe_resolution
from crawler.store.crawl_state import CrawlState, Validators
from crawler.store.database import storage_reason
from crawler.store.engines import crawl_store
from crawler.store.owed import OwedLink, OwedLinks
from crawler.text.urls import canonicalize

logger = logging.getLogger(__name__)

HTML_TYPES = (b"text/html", b"application/xhtml+xml")
RECORD_BATCH = 500  # sources' outcomes written per transaction
# Headline-only articles of a source without `updates` are fetched again this often (seconds)
# while their source lists them, during `update_window`: a paywall that lifts, a metered page
# read on another day, a consent wall that let us through, upgrade them in place.
HEADLINE_RECHECK = 6 * 3600.0


@dataclass
class Progress:
    """A source's pass while its parts (feed, child sitemaps, listing pages) come in and its
    articles settle."""

    parts: int = 0  # responses still expected
    entries: int = 0
    new: int = 0  # links never seen before, requested
    retried: int = 0  # owed links requested again
    waiting: int = 0  # owed links whose next attempt is not due yet
    pending: int = 0  # articles requested and not settled yet (download, then pipelines)
    failed: Counter[str] = field(default_factory=Counter)  # reasons of failed articles
    problems: list[str] = field(default_factory=list)
    fresh: Validators | None = None
    unchanged: Outcome | None = None  # the source answered 304, or with the same body
    # New search-feed entries (crawler.spiders.search): how each reached the publisher's
    # article ("bing", "decoded", "sitemap", "feed", "endpoint"), or why it stayed headline-only
    # ("headline-only: <reason>").
    resolution: Counter[str] = field(default_factory=Counter)


class SourceSpider(scrapy.Spider):
    kind = ""  # the `kind` of source this spider polls

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources: list[Source] = []
        self.by_name: dict[str, Source] = {}
        self.debtors: set[str] = set()  # sources that owed links when the pass began
        self.progress: dict[str, Progress] = {}
        self.results: dict[str, Outcome] = {}  # what each source's pass gave
        self.scheduled: set[str] = set()  # article URLs requested in this pass
        # Written in batches, not a transaction each: sources' outcomes, links dropped on
        # purpose (settled) and why links failed. Until written, a link simply stays owed.
        self.unrecorded: list[tuple[str, str, Outcome]] = []
        self.dropped: list[tuple[str, str]] = []  # (URL, reason)
        self.link_failures: list[tuple[str, str]] = []
        self.recorded_at = time.monotonic()
        # Entries of this pass reached through a search engine, by the publisher's canonical
        # URL: their article keeps the search link as an alias, the publisher and the summary.
        self.searched: dict[str, ArticleLink] = {}

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.headers_received, signal=signals.headers_received)
        crawler.signals.connect(spider.closed_pass, signal=signals.spider_closed)
        crawler.signals.connect(spider.article_stored, signal=signals.item_scraped)
        crawler.signals.connect(spider.article_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider.article_error, signal=signals.item_error)
        return spider

    def configure(self) -> None:
        """Read the final settings (the add-on fills them after the spider is created)."""
        settings = self.crawler.settings
        config: Config = settings["NEWSMON_CONFIG"]
        self.config_settings = config.settings
        engine = crawl_store(settings)
        self.state = CrawlState(engine)
        ours = config.settings
        self.owed = OwedLinks(
            engine,
            ours.link_attempts,
            parse_duration(ours.link_backoff),
            parse_duration(ours.max_backoff),
        )
        names = settings.getlist("NEWSMON_SOURCES")
        self.sources = [s for s in config.enabled_sources(names) if s.kind == self.kind]
        self.by_name = {source.name: source for source in self.sources}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.configure()
        self.debtors = self.owed.debtors()
        stored = self.state.all_validators({source.name: source.url for source in self.sources})
        for source in self.sources:
            validators = stored.get(source.name, Validators())
            headers = {}
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
            self.progress[source.name] = Progress(parts=1)
            yield scrapy.Request(
                source.url,
                headers=headers,
                callback=self._source_response,
                errback=self.source_failed,
                cb_kwargs={"source": source, "validators": validators},
                meta={"newsmon_kind": self.kind, "handle_httpstatus_list": [304]},
                dont_filter=True,
            )

    def _source_response(
        self, response: Response, source: Source, validators: Validators
    ) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value(f"newsmon/{self.kind}/fetched")
        progress = self.progress[source.name]
        if response.status == 304:
            progress.unchanged = Outcome("not_modified", "not modified (304)")
        else:
            progress.fresh = Validators(
                etag=header(response, b"ETag"),
                last_modified=header(response, b"Last-Modified"),
                body_hash=hashlib.sha256(response.body).hexdigest(),
            )
            if progress.fresh.body_hash == validators.body_hash:
                progress.unchanged = Outcome("unchanged", "unchanged (same body)")
            else:
                yield from self.parse_source(response, source)
        yield from self.follow_owed(source)
        yield from self.part_done(source)

    def parse_source(self, response: Response, source: Source) -> Iterator[scrapy.Request]:
        """Turn the source's response into `follow_links` calls (and more parts, if any)."""
        raise NotImplementedError

    def more_part(
        self, source: Source, url: str, callback: Any, **cb_kwargs: Any
    ) -> scrapy.Request:
        """A further response of the same pass: a child sitemap, the next listing page."""
        self.progress[source.name].parts += 1
        return scrapy.Request(
            url,
            callback=self._part_response,
            errback=self._part_failed,
            cb_kwargs={"source": source, "parse": callback, **cb_kwargs},
            meta={"newsmon_kind": self.kind},
        )

    def _part_response(
        self, response: Response, source: Source, parse: Any, **cb_kwargs: Any
    ) -> Iterator[scrapy.Request]:
        yield from parse(response, source, **cb_kwargs)
        yield from self.part_done(source)

    def _part_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        source: Source = failure.request.cb_kwargs["source"]
        self.problem(source, f"{failure.request.url}: {describe_failure(failure)}")
        yield from self.part_done(source)

    def problem(self, source: Source, text: str) -> None:
        logger.warning("Source %s: %s", source.name, text)
        self.progress[source.name].problems.append(text)

    def part_done(self, source: Source) -> Iterator[scrapy.Request]:
        self.progress[source.name].parts -= 1
        self._finish(source)
        return iter(())

    def _finish(self, source: Source) -> None:
        """Record the source's outcome once its parts are in and its articles settled."""
        progress = self.progress[source.name]
        if progress.parts > 0 or progress.pending > 0 or source.name in self.results:
            return
        self._record(source, summarize(progress))

    def follow_links(
        self, source: Source, entries: Iterable[ArticleLink], language: str | None = None
    ) -> Iterator[scrapy.Request]:
        """Requests for the entries' pages that are neither stored nor requested already,
        nor owed and waiting for their next attempt."""
        links: dict[str, ArticleLink] = {}
        for entry in entries:
            try:
                links.setdefault(canonicalize(entry.link), entry)
            except ValueError:
                self.crawler.stats.inc_value("newsmon/link/bad")
        # A link shared by two sources is requested once; the dupefilter is not relied on
        # because a request it filters never reaches a callback, and requests are counted here.
        known = self.state.known_urls(list(links)) | (links.keys() & self.scheduled)
        unknown = [url for url in links if url not in known]
        owed = self.owed.lookup(unknown) if unknown else {}
        recheck = self._due_for_recheck(source, known - self.scheduled)
        self.crawler.stats.inc_value("newsmon/article/known", len(known))
        progress = self.progress[source.name]
        progress.entries += len(links)
        language = source.language or language
        now = datetime.now(UTC)
        wanted: list[OwedLink] = []
        exhausted: list[str] = []
        done_searched = [links[url] for url in known if links[url].via]
        for url in unknown:
            row = owed.get(url)
            if row is None:
                entry = links[url]
                if entry.via is not None:
                    self.searched[url] = entry
                wanted.append(
                    OwedLink(
                        url,
                        source.name,
                        entry.title,
                        entry.published,
                        language,
                        entry.summary,
                        entry.author,
                    )
                )
                progress.new += 1
            elif row.dropped_at is not None:  # a 404, not an article...: done before
                self.crawler.stats.inc_value("newsmon/article/known")
                if links[url].via:
                    done_searched.append(links[url])
            elif row.gave_up_at is not None:
                self.crawler.stats.inc_value("newsmon/article/given_up")
            elif self.owed.waiting(row, now):
                progress.waiting += 1
            elif self.owed.exhausted(row):
                exhausted.append(url)
            else:
                wanted.append(row)
                progress.retried += 1
        self._settle_search_links(source, done_searched)
        yield from self._request(source, wanted, exhausted, now)
        rechecks = [
            OwedLink(
                url,
                source.name,
                links[url].title,
                links[url].published,
                language,
                links[url].summary,
                links[url].author,
            )
            for url in sorted(recheck)
        ]
        yield from self._request(source, rechecks, [], now, recheck=True)

    def _settle_search_links(self, source: Source, entries: list[ArticleLink]) -> None:
        """A search entry led to a page stored, requested already (through the outlet's own
        feed, say) or dropped before: its search link is remembered as done, so that the next
        pass skips it instead of looking for it on the publisher's site again."""
        links: dict[str, str] = {}
        for entry in entries:
            try:
                links[canonicalize(entry.via or "")] = entry.link
            except ValueError:
                continue
        if not links:
            return
        now = datetime.now(UTC)
        try:
            self.owed.attempt([OwedLink(url, source.name) for url in links], now)
            self.owed.drop(
                [(url, f"leads to {target}, known") for url, target in links.items()], now
            )
        except SQLAlchemyError as exc:
            logger.error(
                "Source %s: cannot record search links: %s", source.name, storage_reason(exc)
            )

    def follow_headlines(
        self, source: Source, entries: Iterable[ArticleLink], language: str | None = None
    ) -> Iterator[Article]:
        """Headline-only articles for entries whose page cannot be reached (a search entry
        that did not resolve): the entry itself is the article, owed like a link until the
        pipelines settle it. The caller has left out the entries already known."""
        progress = self.progress[source.name]
        language = source.language or language
        wanted: dict[str, ArticleLink] = {}
        for entry in entries:
            try:
                url = canonicalize(entry.link)
            except ValueError:
                self.crawler.stats.inc_value("newsmon/link/bad")
                continue
            if url not in self.scheduled:
                wanted.setdefault(url, entry)
        progress.entries += len(wanted)
        progress.new += len(wanted)
        links = [
            OwedLink(url, source.name, entry.title, entry.published, language, author=entry.author)
            for url, entry in wanted.items()
        ]
        yield from self._headlines(source, links, wanted, datetime.now(UTC))

    def headline_link(self, url: str) -> bool:
        """Whether an owed link stands for a headline-only article, whose page is not to be
        fetched (a search engine's link): the feeds spider knows them."""
        return False

    def _headlines(
        self,
        source: Source,
        links: list[OwedLink],
        entries: dict[str, ArticleLink],
        now: datetime,
    ) -> Iterator[Article]:
        """Owe the links (one more attempt each), then yield their headline-only articles;
        an owed one retried has only the title and date its row kept."""
        progress = self.progress[source.name]
        try:
            self.owed.attempt(links, now)
        except SQLAlchemyError as exc:
            reason = storage_reason(exc)
            self.crawler.stats.inc_value("newsmon/store/error")
            progress.failed[reason] += len(links) or 1
            return
        for link in links:
            entry = entries.get(link.url)
            self.scheduled.add(link.url)
            progress.pending += 1
            self.crawler.stats.inc_value("newsmon/article/headline_only")
            yield Article(
                source=source.name,
                url=link.url,
                link=link.url,
                fetched_at=now,
                feed_title=link.title,
                feed_published=link.published,
                feed_author=link.author,
                feed_summary=entry.summary if entry else None,
                publisher=entry.publisher if entry else None,
                language_hint=link.language,
                text_source="feed",
            )

    def follow_owed(self, source: Source) -> Iterator[scrapy.Request | Article]:
        """Requests for the source's owed links that are due, wherever its feed now stands."""
        if source.name not in self.debtors:
            return
        now = datetime.now(UTC)
        try:
            due = [
                link for link in self.owed.due(source.name, now) if link.url not in self.scheduled
            ]
            stored = self.state.known_urls([link.url for link in due]) if due else set()
            if stored:  # stored meanwhile, by another process or through another URL
                self.owed.settle(sorted(stored))
        except SQLAlchemyError as exc:
            self.problem(source, f"owed links unreadable: {storage_reason(exc)}")
            self.progress[source.name].failed[storage_reason(exc)] += 1
            return
        due = [link for link in due if link.url not in stored]
        exhausted = [link.url for link in due if self.owed.exhausted(link)]
        wanted = [link for link in due if not self.owed.exhausted(link)]
        self.progress[source.name].retried += len(wanted)
        headlines = [link for link in wanted if self.headline_link(link.url)]
        if headlines:
            yield from self._headlines(source, headlines, {}, now)
            wanted = [link for link in wanted if not self.headline_link(link.url)]
        yield from self._request(source, wanted, exhausted, now)

    def _request(
        self,
        source: Source,
        links: list[OwedLink],
        exhausted: list[str],
        now: datetime,
        recheck: bool = False,
    ) -> Iterator[scrapy.Request]:
        """Owe the links (one more attempt each), then request them; give up the exhausted."""
        progress = self.progress[source.name]
        try:
            self.owed.give_up(exhausted, now)
            if not recheck:
                self.owed.attempt(links, now)
        except SQLAlchemyError as exc:
            # The store cannot even remember the debt: nothing is requested, and the source
            # keeps its old validators, so the next pass reads these links again.
            reason = storage_reason(exc)
            self.crawler.stats.inc_value("newsmon/store/error")
            logger.error(
                "Source %s: cannot record %d link(s) to fetch: %s", source.name, len(links), reason
            )
            progress.failed[reason] += len(links) or 1
            return
        if exhausted:
            self.crawler.stats.inc_value("newsmon/article/given_up", len(exhausted))
            logger.warning(
                "Source %s: gave up %d link(s) after %d attempts",
                source.name,
                len(exhausted),
                self.owed.max_attempts,
            )
        for link in links:
            self.scheduled.add(link.url)
            progress.pending += 1
            yield scrapy.Request(
                link.url,
                callback=self.parse_article,
                errback=self.article_failed,
                cb_kwargs={"source": source, "link": link, "recheck": recheck},
                meta={"newsmon_kind": "article", "newsmon_source": source.name},
                dont_filter=True,
            )

    def _due_for_recheck(self, source: Source, known: set[str]) -> set[str]:
        """Stored articles of a source that are due for another look: with `updates`, all of
        them; otherwise headline-only ones (their page gave no text: a paywall may lift),
        every `HEADLINE_RECHECK`. Both during `update_window` after the first fetch."""
        if not known:
            return set()
        window = parse_duration(self.config_settings.update_window)
        if source.updates:
            every, headline_only = parse_duration(source.updates), False
        else:
            every, headline_only = HEADLINE_RECHECK, True
        due = self.state.due_for_recheck(sorted(known), every, window, headline_only=headline_only)
        self.crawler.stats.inc_value("newsmon/article/recheck", len(due))
        return due

    def source_failed(self, failure: Failure) -> None:
        source: Source = failure.request.cb_kwargs["source"]
        reason = describe_failure(failure)
        self._record(source, Outcome("error", reason, retry_after=retry_after(failure)))
        # INFO: a network, TLS, timeout or HTTP failure is an outcome of the pass, counted and
        # shown in the summary and `sources status`, not a fault of newsmon's.
        logger.info("Source %s: %s failed: %s (%s)", source.name, self.kind, reason, source.url)

    def fail_source(self, source: Source, reason: str) -> None:
        """The source's response is unusable (not a feed, not a sitemap...)."""
        self._record(source, Outcome("error", reason))
        logger.warning("Source %s: %s (%s)", source.name, reason, source.url)

    def _record(self, source: Source, outcome: Outcome) -> None:
        self.results[source.name] = outcome
        status = "failed" if outcome.status == "error" else "ok"
        self.crawler.stats.inc_value(f"newsmon/source/{status}")
        if outcome.degraded:
            self.crawler.stats.inc_value("newsmon/source/degraded")
        self.unrecorded.append((source.name, source.url, outcome))
        self._write_soon()

    def _write_soon(self) -> None:
        waiting = len(self.unrecorded) + len(self.dropped) + len(self.link_failures)
        if waiting >= RECORD_BATCH or time.monotonic() - self.recorded_at > 5:
            self.record_outcomes()

    def record_outcomes(self) -> None:
        """Write the outcomes gathered so far (at most a few seconds' worth wait here). A
        store that fails here loses nothing: unwritten settlements leave links owed, and the
        pass's outcome is still in `results` for the summary."""
        self.recorded_at = time.monotonic()
        dropped, self.dropped = self.dropped, []
        failures, self.link_failures = self.link_failures, []
        outcomes, self.unrecorded = self.unrecorded, []
        now = datetime.now(UTC)
        try:
            self.owed.drop(dropped, now)
            self.owed.failed(failures, now)
            self.state.record_all(outcomes)
        except SQLAlchemyError as exc:
            self.crawler.stats.inc_value("newsmon/store/error")
            logger.error("Cannot record the pass's outcomes: %s", storage_reason(exc))

    # --- articles ------------------------------------------------------------------------

    def headers_received(self, headers, body_length, request, spider) -> None:
        """Stop downloading an article link as soon as its headers say it is not HTML."""
        if request.meta.get("newsmon_kind") != "article":
            return
        content_type = (headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        if content_type and content_type not in HTML_TYPES:
            raise StopDownload(fail=False)

    def parse_article(
        self, response: Response, source: Source, link: OwedLink, recheck: bool = False
    ) -> Iterator[Article]:
        if not isinstance(response, HtmlResponse) or not _is_html(response):
            self.crawler.stats.inc_value("newsmon/article/not_html")
            logger.info("Not an HTML page, skipped: %s (source %s)", response.url, source.name)
            self._drop(source.name, link.url, "not an HTML page")
            return
        searched = self.searched.pop(link.url, None)
        yield Article(
            source=source.name,
            url=link.url,
            link=link.url,
            recheck=recheck,
            response_url=response.url,
            html=page_text(response),
            html_bytes=response.body,
            encoding=response.encoding,
            fetched_at=datetime.now(UTC),
            feed_title=link.title,
            feed_published=link.published,
            feed_author=link.author,
            language_hint=link.language,
            feed_summary=link.summary or (searched.summary if searched else None),
            publisher=searched.publisher if searched else None,
            # The search engine's link leads here too: stored as an alias, it is known at the
            # next pass without asking the publisher's site again.
            seen_urls=[canonicalize(searched.via)] if searched and searched.via else [],
        )

    def article_failed(self, failure: Failure) -> None:
        source: Source = failure.request.cb_kwargs["source"]
        link: OwedLink = failure.request.cb_kwargs["link"]
        reason = describe_failure(failure)
        self.crawler.stats.inc_value("newsmon/article/failed")
        logger.info("Article failed: %s: %s (source %s)", failure.request.url, reason, source.name)
        if deliberate(failure):
            self._drop(source.name, link.url, reason)
        else:
            self._fail(source.name, link.url, reason, failure.request.cb_kwargs["recheck"])

    # Item signals: every article the spider yielded ends in exactly one of them.

    def article_stored(self, item: Any, response: Any = None, spider: Any = None) -> None:
        """Stored: the store pipeline settled its link in the article's own transaction."""
        self._article_settled(item.source)

    def article_dropped(
        self, item: Any, response: Any = None, exception: Any = None, spider: Any = None
    ) -> None:
        if isinstance(exception, ArticleFailed):
            self._fail(item.source, item.link, str(exception), item.recheck)
        else:  # dropped on purpose: no article text, a page stored already...
            self._drop(item.source, item.link, str(exception))

    def article_error(
        self, item: Any, response: Any = None, spider: Any = None, failure: Failure | None = None
    ) -> None:
        """A pipeline raised: a bug, logged by Scrapy with its traceback. The link stays owed."""
        reason = describe_failure(failure) if failure is not None else "pipeline error"
        self._fail(item.source, item.link, reason, item.recheck)

    def _drop(self, name: str, url: str, reason: str) -> None:
        """Dropped on purpose: the link is done, and remembered as such."""
        self.dropped.append((url, reason))
        self._write_soon()
        self._article_settled(name)

    def _fail(self, name: str, url: str, reason: str, recheck: bool) -> None:
        """The article failed: its link stays owed, with the reason, for the next pass."""
        self.link_failures.append((url, reason))
        self._write_soon()
        progress = self.progress.get(name)
        if progress is not None and not recheck:
            progress.failed[reason] += 1
        self._article_settled(name)

    def _article_settled(self, name: str) -> None:
        progress = self.progress.get(name)
        if progress is None:
            return
        progress.pending -= 1
        source = self.by_name.get(name)
        if source is not None:
            self._finish(source)

    # --- end of pass ---------------------------------------------------------------------

    def closed_pass(self, spider: scrapy.Spider, reason: str) -> None:
        """Every source gets an outcome: an interrupted pass says so, with what it owes. Its
        validators are saved only when the pass finished and the source owes nothing."""
        for source in self.sources:
            progress = self.progress.get(source.name)
            if progress is None or source.name in self.results:
                continue
            if reason == "finished":  # an article never settled (a bug): it stays owed
                progress.failed["lost in the pass"] += max(progress.pending, 0)
                progress.pending = 0
                self._record(source, summarize(progress))
            else:
                self._record(source, interrupted(progress, reason))
        self.record_outcomes()
        if reason != "finished":
            return  # an interrupted pass leaves the validators alone: the next one re-reads
        candidates = [
            source
            for source in self.sources
            if (progress := self.progress.get(source.name)) is not None
            and progress.fresh
            and not progress.failed
            and not progress.waiting
            and self.results[source.name].status != "error"
        ]
        try:
            owing = self.owed.owing([source.name for source in candidates])
            self.state.save_all_validators(
                [
                    (source.name, source.url, self.progress[source.name].fresh)
                    for source in candidates
                    if source.name not in owing
                ]
            )
        except SQLAlchemyError as exc:
            self.crawler.stats.inc_value("newsmon/store/error")
            logger.error("Cannot save the sources' validators: %s", storage_reason(exc))


def summarize(progress: Progress) -> Outcome:
    """A finished pass of one source: ok, or degraded when articles failed."""
    base = progress.unchanged or Outcome("ok")
    if progress.unchanged is None:
        summary = f"{progress.entries} entries, {progress.new} new"
    else:
        summary = base.summary
    if progress.retried:
        summary += f", {progress.retried} owed retried"
    failed = sum(progress.failed.values())
    failure = None
    if failed:
        tried = max(progress.new + progress.retried, failed)
        failure = f"{failed} of {tried} articles failed ({progress.failed.most_common(1)[0][0]})"
        summary += f"; {failure}"
    if progress.waiting:
        summary += f"; {progress.waiting} owed, waiting to retry"
    if progress.resolution:
        summary += f"; search entries: {describe_resolution(progress.resolution)}"
    problem = "; ".join(progress.problems[:3]) or None
    return Outcome(
        base.status,
        summary,
        progress.entries,
        progress.new,
        problem=problem,
        failed=failed,
        failure=failure,
        resolution=dict(progress.resolution),
    )


def interrupted(progress: Progress, reason: str) -> Outcome:
    """A pass stopped before its end (Ctrl-C, SIGTERM): what it did and what it owes."""
    done = progress.new + progress.retried - progress.pending - sum(progress.failed.values())
    owed = progress.pending + sum(progress.failed.values())
    summary = (
        f"interrupted ({reason}): {progress.entries} entries, {max(done, 0)} articles "
        f"done, {owed} owed to the next pass"
    )
    return Outcome(
        "interrupted", summary, progress.entries, progress.new, failed=owed, failure="interrupted"
    )


def deliberate(failure: Failure) -> bool:
    """Whether a failed article request ends its link for good (dropped on purpose): HTTP
    404, 410 and other client errors but 408, 425 and 429; a refused request (robots.txt, a
    private address); a page over `max_download_size`. A refusal that may pass next time (a
    DNS lookup that failed) says so with a true `transient` attribute."""
    response = getattr(failure.value, "response", None)
    if response is not None:
        return 400 <= response.status < 500 and response.status not in (408, 425, 429)
    if failure.check(IgnoreRequest):
        return not getattr(failure.value, "transient", False)
    return "larger than download max size" in str(failure.value)


def describe_failure(failure: Failure) -> str:
    """One readable line for a failed request: HTTP status, timeout, DNS, refused..."""
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    if failure.check(CannotResolveHostError, DNSLookupError):  # Scrapy's, Twisted's or ours
        host = urlsplit(failure.request.url).hostname or "(no host)"
        return f"DNS lookup failed for {host}"
    name = type(failure.value).__name__
    message = str(failure.value).strip()
    return f"{name}: {message}" if message else name


def retry_after(failure: Failure) -> float | None:
    """Seconds a 429 or 503 response asked us to wait (`Retry-After`: seconds or a date)."""
    response = getattr(failure.value, "response", None)
    value = header(response, b"Retry-After") if response is not None else None
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def page_text(response: TextResponse) -> str:
    """The page as text. A body that is valid UTF-8 with non-ASCII bytes is read as UTF-8
    whatever it declares: legacy encodings almost never form valid UTF-8 by chance, while
    pages that are UTF-8 but declare a legacy charset (a CMS template's leftover) are common."""
    body = response.body
    if response.encoding.lower().replace("-", "") != "utf8" and not body.isascii():
        try:
            return body.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    return response.text


def header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _is_html(response: TextResponse) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return not content_type or content_type in HTML_TYPES
