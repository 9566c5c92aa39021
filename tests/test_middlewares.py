"""`crawler.middlewares.PrivateNetworkMiddleware` in process, as Scrapy builds it for a crawl
(`get_crawler`): the decision for hosts given as IP literals, its stats counter, and that
`allow_private_networks` switches it off. Names that need resolving, proxies and the summary a
user sees are tested end to end in tests/test_private_networks.py and tests/test_crawl_e2e.py.
"""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.middlewares import PrivateAddressRefused, PrivateNetworkMiddleware

REFUSED = [
    "http://127.0.0.1/feed.xml",
    "http://127.8.9.10:8080/",
    "http://10.0.0.1/",
    "http://192.168.1.20/admin",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "http://224.0.0.1/",  # multicast
]
PUBLIC = ["http://93.184.216.34/feed.xml", "https://[2606:4700:4700::1111]/"]


def middleware(**settings: object) -> tuple[PrivateNetworkMiddleware, dict]:
    crawler = get_crawler(settings_dict=settings)
    crawler.stats.open_spider()
    return PrivateNetworkMiddleware.from_crawler(crawler), crawler.stats


@pytest.mark.parametrize("url", REFUSED)
def test_a_non_public_address_is_refused_and_counted(url: str) -> None:
    refuse, stats = middleware()
    with pytest.raises(PrivateAddressRefused, match="non-public address"):
        asyncio.run(refuse.process_request(Request(url)))
    assert stats.get_value("newsmon/refused/private_address") == 1


@pytest.mark.parametrize("url", PUBLIC)
def test_a_public_address_goes_through(url: str) -> None:
    refuse, stats = middleware()
    assert asyncio.run(refuse.process_request(Request(url))) is None
    assert stats.get_value("newsmon/refused/private_address") is None


def test_allow_private_networks_switches_it_off() -> None:
    with pytest.raises(NotConfigured):
        middleware(NEWSMON_ALLOW_PRIVATE_NETWORKS=True)
    refuse, _ = middleware(NEWSMON_ALLOW_PRIVATE_NETWORKS=False)
    assert isinstance(refuse, PrivateNetworkMiddleware)
