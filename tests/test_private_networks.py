"""Private networks, fail closed: with `allow_private_networks: false`, no request reaches a
non-public address, through an HTTP proxy neither; a host that does not resolve is refused,
since the proxy would resolve it itself. IP literals in every form are in tests/test_urls.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import run_cli
from tests.outlets import TOPICS, page, rss2
from tests.proxy import ForwardProxy

# Resolves nowhere but in the proxy, which maps it to loopback (as a DNS name like
# 127.0.0.1.nip.io would, online).
INTERNAL = "intranet.newsmon-test"
# A public address, so the crawler lets it through; the proxy maps it to the fixture site, so
# nothing leaves the machine.
PUBLIC = "93.184.216.34"


def test_unresolved_host_refused_through_a_proxy(site, make_config) -> None:
    port = urlsplit(site.base).port
    site.add("/story", page("en_pentagon_ai.html"))
    site.add("/secret", page("fr_meta_llama.html"))
    site.add("/local", page("offbeat_sidebar.html"))
    site.add(
        "/feed.xml",
        rss2(
            [
                ("Story", f"http://{PUBLIC}:{port}/story"),
                ("Secret", f"http://{INTERNAL}:{port}/secret"),
                ("Local", f"http://localhost:{port}/local"),
            ]
        ),
    )
    config = make_config(
        [{"name": "outside", "url": f"http://{PUBLIC}:{port}/feed.xml"}],
        TOPICS,
        allow_private_networks=False,
    )
    proxy = ForwardProxy({INTERNAL: "127.0.0.1", PUBLIC: "127.0.0.1"})
    try:
        environment = {name: proxy.url for name in ("http_proxy", "HTTP_PROXY")}
        environment.update({"no_proxy": "", "NO_PROXY": ""})
        # INFO: the refused links are reported one line each (the default shows the summary)
        result = run_cli("crawl", "--config", str(config), "--log-level", "INFO", env=environment)
    finally:
        proxy.close()
    assert result.returncode == 0, result.stderr
    # The public article came through the proxy: the proxy path works...
    assert "Articles: 1 new" in result.stdout, (result.stdout, result.stderr[-3000:])
    assert f"http://{PUBLIC}:{port}/story" in proxy.requests
    # ...and neither the name only the proxy resolves nor one that resolves to loopback here
    # was sent to it (robots.txt included).
    assert not [url for url in proxy.requests if PUBLIC not in url], proxy.requests
    assert "/secret" not in site.hits and "/local" not in site.hits
    assert f"DNS lookup failed for {INTERNAL}" in result.stderr
    assert "localhost resolves to 127.0.0.1" in result.stderr
