"""`newsmon serve`: review hits in a browser (crawler.web.app, crawler.web.views), and the
`serve` and `review` commands (crawler.web.commands). Flask loads only when the app is made,
so registering the commands costs the `newsmon` command line nothing."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from crawler.web.app import create_app

        return create_app
    raise AttributeError(name)
