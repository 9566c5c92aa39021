"""The `feeds` spider: polls every enabled feed source once and yields an `Article` item for
each entry link not yet stored.

Feeds are fetched with conditional GET from the stored ETag/Last-Modified, and skipped when the
body hash is unchanged (some servers ignore validators). Parsing lives in `crawler.feeds`. The
validators are saved only when every article of the feed was handled, so a pass killed midway,
or an article that failed to download, is completed by the next pass.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Response, TextResponse
from twisted.python.failure import Failure

from crawler.config import Config, Source
from crawler.crawl_state import CrawlState, Validators
from crawler.database import engine_for
from crawler.feeds import FeedEntry, FeedError, parse_feed
from crawler.items import Article
from crawler.polling import Outcome
from crawler.urls import canonicalize

logger = logging.getLogger(__name__)

HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def describe_failure(failure: Failure) -> str:
    """One readable line for a failed request: HTTP status, timeout, DNS, refused..."""
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    name = type(failure.value).__name__
    message = str(failure.value).strip()
    return f"{name}: {message}" if message else name


class FeedsSpider(scrapy.Spider):
    name = "feeds"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources: list[Source] = []
        self.pending: Counter[str] = Counter()  # articles of each source still in flight
        self.failed: Counter[str] = Counter()  # articles of each source that failed to download
        self.new_validators: dict[str, Validators] = {}
        self.results: dict[str, Outcome] = {}  # what each source's fetch gave
        self.scheduled: set[str] = set()  # article URLs requested in this pass

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.headers_received, signal=signals.headers_received)
        crawler.signals.connect(spider.closed_pass, signal=signals.spider_closed)
        return spider

    def _configure(self) -> None:
        # Settings are final only once the crawl starts: the add-on fills them after the
        # spider is created.
        settings = self.crawler.settings
        config: Config = settings["NEWSMON_CONFIG"]
        self.state = CrawlState(engine_for(settings["NEWSMON_DATABASE"]))
        self.max_entries = settings.getint("NEWSMON_MAX_ENTRIES_PER_FEED")
        names = settings.getlist("NEWSMON_SOURCES")
        self.sources = [s for s in config.enabled_sources(names) if s.kind == "feed"]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self._configure()
        for source in self.sources:
            validators = self.state.validators(source.name, source.url)
            headers = {}
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
            yield scrapy.Request(
                source.url,
                headers=headers,
                callback=self.parse_feed,
                errback=self.feed_failed,
                cb_kwargs={"source": source, "validators": validators},
                meta={"newsmon_kind": "feed", "handle_httpstatus_list": [304]},
                dont_filter=True,
            )

    # --- feeds ---------------------------------------------------------------------------

    def parse_feed(self, response: Response, source: Source,
                   validators: Validators) -> Iterator[scrapy.Request]:  # fmt: skip
        self.crawler.stats.inc_value("newsmon/feed/fetched")
        if response.status == 304:
            self._record(source, Outcome("not_modified", "not modified (304)"))
            return
        body_hash = hashlib.sha256(response.body).hexdigest()
        fresh = Validators(
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            body_hash=body_hash,
        )
        if body_hash == validators.body_hash:
            self._record(source, Outcome("unchanged", "unchanged (same body)"))
            self.new_validators[source.name] = fresh
            return
        headers = {k.decode("latin-1"): _header(response, k) or "" for k in response.headers}
        try:
            feed = parse_feed(response.body, response.url, headers, max_entries=self.max_entries)
        except FeedError as exc:
            self._record(source, Outcome("error", str(exc)))
            logger.warning("Source %s: %s (%s)", source.name, exc, response.url)
            return
        if feed.problem:
            logger.warning("Source %s: feed recovered from a defect: %s", source.name, feed.problem)
        if feed.skipped:
            self.crawler.stats.inc_value("newsmon/feed/entry_without_link", feed.skipped)
        if feed.truncated:
            logger.info("Source %s: read only the first %d entries (max_entries_per_feed)",
                        source.name, self.max_entries)  # fmt: skip
        links = {}
        for entry in feed.entries:
            try:
                links.setdefault(canonicalize(entry.link), entry)
            except ValueError:
                self.crawler.stats.inc_value("newsmon/feed/bad_link")
        # A link shared by two feeds is requested once; the dupefilter is not relied on because
        # a request it filters never reaches a callback, and this spider counts its requests.
        known = self.state.known_urls(list(links)) | (links.keys() & self.scheduled)
        new = {url: entry for url, entry in links.items() if url not in known}
        self.scheduled.update(new)
        self.crawler.stats.inc_value("newsmon/article/known", len(known))
        summary = f"{len(links)} entries, {len(new)} new"
        self._record(source, Outcome("ok", summary, len(links), len(new), problem=feed.problem))
        self.new_validators[source.name] = fresh
        language = source.language or feed.language
        for url, entry in new.items():
            self.pending[source.name] += 1
            yield scrapy.Request(
                url,
                callback=self.parse_article,
                errback=self.article_failed,
                cb_kwargs={"source": source, "entry": entry, "url": url, "language": language},
                meta={"newsmon_kind": "article", "newsmon_source": source.name},
                dont_filter=True,
            )

    def feed_failed(self, failure: Failure) -> None:
        source: Source = failure.request.cb_kwargs["source"]
        reason = describe_failure(failure)
        self._record(source, Outcome("error", reason, retry_after=retry_after(failure)))
        logger.warning("Source %s: feed failed: %s (%s)", source.name, reason, source.url)

    def _record(self, source: Source, outcome: Outcome) -> None:
        self.results[source.name] = outcome
        self.crawler.stats.inc_value(
            f"newsmon/source/{'failed' if outcome.status == 'error' else 'ok'}"
        )
        self.state.record(source.name, source.url, outcome)

    # --- articles ------------------------------------------------------------------------

    def headers_received(self, headers, body_length, request, spider) -> None:  # type: ignore[no-untyped-def]
        """Stop downloading an article link as soon as its headers say it is not HTML."""
        if request.meta.get("newsmon_kind") != "article":
            return
        content_type = (headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        if content_type and content_type not in HTML_TYPES:
            raise StopDownload(fail=False)

    def parse_article(self, response: Response, source: Source, entry: FeedEntry,
                      url: str, language: str | None) -> Iterator[Article]:  # fmt: skip
        self.pending[source.name] -= 1
        if not isinstance(response, HtmlResponse) or not _is_html(response):
            self.crawler.stats.inc_value("newsmon/article/not_html")
            logger.info("Not an HTML page, skipped: %s (source %s)", response.url, source.name)
            return
        yield Article(
            source=source.name,
            url=url,
            response_url=response.url,
            html=page_text(response),
            html_bytes=response.body,
            encoding=response.encoding,
            fetched_at=datetime.now(UTC),
            feed_title=entry.title,
            feed_published=entry.published,
            language_hint=language,
        )

    def article_failed(self, failure: Failure) -> None:
        source: Source = failure.request.cb_kwargs["source"]
        self.pending[source.name] -= 1
        reason = describe_failure(failure)
        # A 404 or a refusal (robots.txt, private address) stays so; a timeout or a 503 is
        # worth another try, so the feed's validators are not saved and the next pass retries.
        permanent = reason.startswith("HTTP 4") or failure.check(IgnoreRequest)
        if not permanent:
            self.failed[source.name] += 1
        self.crawler.stats.inc_value("newsmon/article/failed")
        logger.info("Article failed: %s: %s (source %s)", failure.request.url, reason, source.name)

    # --- end of pass ---------------------------------------------------------------------

    def closed_pass(self, spider: scrapy.Spider, reason: str) -> None:
        if reason != "finished":
            return  # an interrupted pass leaves the validators alone: the next one re-reads
        for source in self.sources:
            fresh = self.new_validators.get(source.name)
            if fresh and not self.pending[source.name] and not self.failed[source.name]:
                self.state.save_validators(source.name, source.url, fresh)


def retry_after(failure: Failure) -> float | None:
    """Seconds a 429 or 503 response asked us to wait (`Retry-After`: seconds or a date)."""
    response = getattr(failure.value, "response", None)
    value = _header(response, b"Retry-After") if response is not None else None
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


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _is_html(response: TextResponse) -> bool:
    content_type = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return not content_type or content_type in HTML_TYPES
