"""Politeness: a host never has more requests in flight than `concurrent_requests_per_host`,
and requests carry newsmon's User-Agent."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.outlets import page, rss2


@pytest.mark.parametrize("per_host", [1, 2])
def test_concurrency_per_host_is_enforced(site_factory, make_config, per_host: int) -> None:
    host = site_factory()
    body = page("en_pentagon_ai.html")
    links = []
    for number in range(12):
        # Distinct texts, so every page is a new article; slow, so requests would overlap.
        text = body.replace(b"Monday", f"day {number}".encode())
        links.append((f"Story {number}", host.add(f"/story/{number}", text, delay=0.3)))
    host.add("/feed.xml", rss2(links), content_type="application/rss+xml")
    config = make_config(
        [{"name": "busy", "url": host.url("/feed.xml")}],
        concurrent_requests=16,
        concurrent_requests_per_host=per_host,
    )
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Articles: 12 new" in result.stdout, result.stdout
    assert 1 <= host.max_in_flight <= per_host
    (agent,) = host.user_agents
    assert agent.startswith("newsmon/") and "http" in agent and "Scrapy" not in agent
    assert host.hits["/robots.txt"] == 1  # robots.txt is asked for
