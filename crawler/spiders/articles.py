"""What every kind of source shares: from links to `Article` items.

A spider for one kind of source (feeds, sitemaps, listings) subclasses `SourceSpider`: it
requests each enabled source of its kind with conditional GET, turns the response into links
(`FeedEntry`: a URL with an optional title and date), and hands them to `follow_links`. From
there the path is the same for all: canonical URLs, known links never downloaded again, HTML
only, one item per new page. A source's validators are saved only when every one of its
articles was handled, so a pass killed midway, or an article that failed to download, is
completed by the next pass.
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

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import HtmlResponse, Response, TextResponse
from twisted.python.failure import Failure

from crawler.config import Config, Source, parse_duration
from crawler.crawl_state import CrawlState, Validators
from crawler.database import engine_for
from crawler.feeds import FeedEntry
from crawler.items import Article
from crawler.polling import Outcome
from crawler.urls import canonicalize

logger = logging.getLogger(__name__)

HTML_TYPES = (b"text/html", b"application/xhtml+xml")
RECORD_BATCH = 500  # sources' outcomes written per transaction


@dataclass
class Progress:
    """A source's pass while its parts (feed, child sitemaps, listing pages) come in."""

    parts: int = 0  # responses still expected
    entries: int = 0
    new: int = 0
    problems: list[str] = field(default_factory=list)
    fresh: Validators | None = None


class SourceSpider(scrapy.Spider):
    kind = ""  # the `kind` of source this spider polls

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources: list[Source] = []
        self.progress: dict[str, Progress] = {}
        self.pending: Counter[str] = Counter()  # articles of each source still in flight
        self.failed: Counter[str] = Counter()  # articles of each source that failed to download
        self.results: dict[str, Outcome] = {}  # what each source's pass gave
        self.scheduled: set[str] = set()  # article URLs requested in this pass
        # Outcomes not written yet: the store gets them in batches, not a transaction each.
        self.unrecorded: list[tuple[str, str, Outcome]] = []
        self.recorded_at = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.headers_received, signal=signals.headers_received)
        crawler.signals.connect(spider.closed_pass, signal=signals.spider_closed)
        return spider

    def configure(self) -> None:
        """Read the final settings (the add-on fills them after the spider is created)."""
        settings = self.crawler.settings
        config: Config = settings["NEWSMON_CONFIG"]
        self.config_settings = config.settings
        self.state = CrawlState(engine_for(settings["NEWSMON_DATABASE"]))
        names = settings.getlist("NEWSMON_SOURCES")
        self.sources = [s for s in config.enabled_sources(names) if s.kind == self.kind]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.configure()
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

    def _source_response(self, response: Response, source: Source,
                         validators: Validators) -> Iterator[scrapy.Request]:  # fmt: skip
        self.crawler.stats.inc_value(f"newsmon/{self.kind}/fetched")
        progress = self.progress[source.name]
        if response.status == 304:
            progress.parts = 0
            self._record(source, Outcome("not_modified", "not modified (304)"))
            return
        progress.fresh = Validators(
            etag=header(response, b"ETag"),
            last_modified=header(response, b"Last-Modified"),
            body_hash=hashlib.sha256(response.body).hexdigest(),
        )
        if progress.fresh.body_hash == validators.body_hash:
            progress.parts = 0
            self._record(source, Outcome("unchanged", "unchanged (same body)"))
            return
        yield from self.parse_source(response, source)
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

    def _part_response(self, response: Response, source: Source, parse: Any,
                       **cb_kwargs: Any) -> Iterator[scrapy.Request]:  # fmt: skip
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
        progress = self.progress[source.name]
        progress.parts -= 1
        if progress.parts == 0 and source.name not in self.results:
            problem = "; ".join(progress.problems[:3]) or None
            summary = f"{progress.entries} entries, {progress.new} new"
            self._record(source, Outcome("ok", summary, progress.entries, progress.new,
                                         problem=problem))  # fmt: skip
        return iter(())

    def follow_links(self, source: Source, entries: Iterable[FeedEntry],
                     language: str | None = None) -> Iterator[scrapy.Request]:  # fmt: skip
        """Requests for the entries' pages that are neither stored nor requested already."""
        links: dict[str, FeedEntry] = {}
        for entry in entries:
            try:
                links.setdefault(canonicalize(entry.link), entry)
            except ValueError:
                self.crawler.stats.inc_value("newsmon/link/bad")
        # A link shared by two sources is requested once; the dupefilter is not relied on
        # because a request it filters never reaches a callback, and requests are counted here.
        known = self.state.known_urls(list(links)) | (links.keys() & self.scheduled)
        new = {url: entry for url, entry in links.items() if url not in known}
        recheck = self._due_for_recheck(source, known - self.scheduled)
        self.scheduled.update(new)
        self.scheduled.update(recheck)
        self.crawler.stats.inc_value("newsmon/article/known", len(known))
        progress = self.progress[source.name]
        progress.entries += len(links)
        progress.new += len(new)
        for url, entry in [*new.items(), *((url, links[url]) for url in sorted(recheck))]:
            self.pending[source.name] += 1
            yield scrapy.Request(
                url,
                callback=self.parse_article,
                errback=self.article_failed,
                cb_kwargs={
                    "source": source,
                    "entry": entry,
                    "url": url,
                    "language": source.language or language,
                    "recheck": url in recheck,
                },
                meta={"newsmon_kind": "article", "newsmon_source": source.name},
                dont_filter=True,
            )

    def _due_for_recheck(self, source: Source, known: set[str]) -> set[str]:
        """Stored articles of a source with `updates` that are due for another look."""
        if not source.updates or not known:
            return set()
        every = parse_duration(source.updates)
        window = parse_duration(self.config_settings.update_window)
        due = self.state.due_for_recheck(sorted(known), every, window)
        self.crawler.stats.inc_value("newsmon/article/recheck", len(due))
        return due

    def source_failed(self, failure: Failure) -> None:
        source: Source = failure.request.cb_kwargs["source"]
        reason = describe_failure(failure)
        self._record(source, Outcome("error", reason, retry_after=retry_after(failure)))
        logger.warning("Source %s: %s failed: %s (%s)", source.name, self.kind, reason,
                       source.url)  # fmt: skip

    def fail_source(self, source: Source, reason: str) -> None:
        """The source's response is unusable (not a feed, not a sitemap...)."""
        self._record(source, Outcome("error", reason))
        logger.warning("Source %s: %s (%s)", source.name, reason, source.url)

    def _record(self, source: Source, outcome: Outcome) -> None:
        self.results[source.name] = outcome
        status = "failed" if outcome.status == "error" else "ok"
        self.crawler.stats.inc_value(f"newsmon/source/{status}")
        self.unrecorded.append((source.name, source.url, outcome))
        if len(self.unrecorded) >= RECORD_BATCH or time.monotonic() - self.recorded_at > 5:
            self.record_outcomes()

    def record_outcomes(self) -> None:
        """Write the outcomes gathered so far (at most a few seconds' worth wait here)."""
        self.state.record_all(self.unrecorded)
        self.unrecorded = []
        self.recorded_at = time.monotonic()

    # --- articles ------------------------------------------------------------------------

    def headers_received(self, headers, body_length, request, spider) -> None:  # type: ignore[no-untyped-def]
        """Stop downloading an article link as soon as its headers say it is not HTML."""
        if request.meta.get("newsmon_kind") != "article":
            return
        content_type = (headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        if content_type and content_type not in HTML_TYPES:
            raise StopDownload(fail=False)

    def parse_article(
        self, response: Response, source: Source, entry: FeedEntry, url: str,
        language: str | None, recheck: bool = False,
    ) -> Iterator[Article]:  # fmt: skip
        self.pending[source.name] -= 1
        if not isinstance(response, HtmlResponse) or not _is_html(response):
            self.crawler.stats.inc_value("newsmon/article/not_html")
            logger.info("Not an HTML page, skipped: %s (source %s)", response.url, source.name)
            return
        yield Article(
            source=source.name,
            url=url,
            recheck=recheck,
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
        # worth another try, so the source's validators are not saved and the next pass retries.
        permanent = reason.startswith("HTTP 4") or failure.check(IgnoreRequest)
        if not permanent:
            self.failed[source.name] += 1
        self.crawler.stats.inc_value("newsmon/article/failed")
        logger.info("Article failed: %s: %s (source %s)", failure.request.url, reason, source.name)

    # --- end of pass ---------------------------------------------------------------------

    def closed_pass(self, spider: scrapy.Spider, reason: str) -> None:
        self.record_outcomes()
        if reason != "finished":
            return  # an interrupted pass leaves the validators alone: the next one re-reads
        complete = []
        for source in self.sources:
            progress = self.progress.get(source.name)
            done = progress and not progress.parts and not self.pending[source.name]
            if done and progress.fresh and not self.failed[source.name]:
                complete.append((source.name, source.url, progress.fresh))
        self.state.save_all_validators(complete)


def describe_failure(failure: Failure) -> str:
    """One readable line for a failed request: HTTP status, timeout, DNS, refused..."""
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
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
