"""Every error newsmon raises on purpose, in one tree.

Each is raised where the problem is found, with a message that names the culprit (a file, a
setting, a source, a URL, a database); only the CLI (`crawler.cli.base`) turns them into
messages and exit codes, and only the crawl turns them into counted outcomes.

    NewsmonError
    ├── ConfigError          the config directory: a file, a setting, a source or a topic is wrong
    ├── TermError            a topic term or rule that cannot be matched (also a ValueError)
    ├── ScheduleError        a schedule that never fires (also a ValueError)
    ├── SourceError          a source document or page cannot be used
    │   ├── FeedError        not a usable feed (HTML page, empty, broken with no entries)
    │   ├── SitemapError     not a sitemap at all
    │   ├── OpmlError        not usable OPML
    │   └── FetchError       a one-off fetch of the command line failed
    ├── WorkerLost           an extraction worker died with a page in it
    ├── StorageError         the store cannot be opened or written
    │   └── StoreNotReady    ... and it is the user's to fix (bad URL, missing or old schema)
    ├── UnknownArticle       no stored article has this id (also a LookupError)
    └── EvalFileError        a labelled file for `topics eval` cannot be read (also a ValueError)

Errors that belong to a framework's own tree stay there, beside the code that raises them:
`crawler.items.ArticleFailed` (a Scrapy `DropItem`: the link stays owed),
`crawler.middlewares.UnresolvedHostRefused` (a Twisted `DNSLookupError`),
`crawler.cli.base.UserError` and `crawler.cli.review.UsageProblem` (click exceptions), and
`crawler.review.web.inputs.BadInput` (a request the web app refuses).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EvalFileError",
    "FeedError",
    "FetchError",
    "NewsmonError",
    "OpmlError",
    "ScheduleError",
    "SitemapError",
    "SourceError",
    "StorageError",
    "StoreNotReady",
    "TermError",
    "UnknownArticle",
    "WorkerLost",
]


class NewsmonError(Exception):
    """Base of every error newsmon raises on purpose."""


class ConfigError(NewsmonError):
    """A configuration problem, with the file, entry and field it concerns in the message."""


class TermError(NewsmonError, ValueError):
    """A term, or a topic rule, that cannot be matched; the message names it and says why."""


class ScheduleError(NewsmonError, ValueError):
    """No next run can be computed for this policy (a crontab expression that never fires)."""


class SourceError(NewsmonError):
    """A source document or page cannot be used; the message is short and readable, and the
    caller adds the URL and the source's name when it logs it."""


class FeedError(SourceError):
    """The body is not a usable feed: HTML page, empty, garbage, or broken with no entries
    ("not a feed: looks like an HTML page")."""


class SitemapError(SourceError):
    """The body is not a sitemap at all: empty, HTML, another XML document, unreadable gzip
    ("not a sitemap: root element <html>")."""


class OpmlError(SourceError):
    """The body is not usable OPML: not XML, not an <opml> document, no <body>; the message
    says where ("not well-formed XML: line 12: ..."), the caller adds the file name."""


class FetchError(SourceError):
    """The URL could not be fetched; the message says why, naming the URL."""


class WorkerLost(NewsmonError):
    """A worker died (killed, out of memory, crashed in native code) with this page in it."""


class StorageError(NewsmonError):
    """The store cannot be opened or written; the message names the database."""


class StoreNotReady(StorageError):
    """The store cannot be used as configured, and it is the user's to fix: a URL newsmon
    cannot open (unknown kind of database, driver not installed), or, for a command that only
    reads, no store at that URL or one at an older schema revision."""


class UnknownArticle(NewsmonError, LookupError):
    """No stored article has this id."""


class EvalFileError(NewsmonError, ValueError):
    """A labelled file that cannot be read, or one of its records; names the file and line."""
