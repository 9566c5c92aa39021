"""`newsmon serve`: review hits in a browser (crawler.review.web.app, crawler.review.web.views),
and the
`serve` and `review` commands (crawler.cli.review). Flask loads only when the app is made,
so registering the commands costs the `newsmon` command line nothing."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from crawler.review.web.app import create_app

        return create_app
    raise AttributeError(name)
