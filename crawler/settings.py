"""Scrapy settings of newsmon that do not depend on the config directory.

Everything a user may change lives in config/settings.yaml and reaches Scrapy through
`crawler.addon.NewsmonAddon`.
"""

from scrapy.settings import default_settings

BOT_NAME = "newsmon"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

ADDONS = {"crawler.addon.NewsmonAddon": 0}

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.dedup.DedupPipeline": 200,
    "pipelines.tag.TagPipeline": 300,
    "pipelines.story.StoryPipeline": 350,
    "pipelines.store.StorePipeline": 400,
}

# The extraction workers and the heap's housekeeping, for as long as the process runs.
EXTENSIONS = {"crawler.extensions.ProcessResources": 0}

# Nothing here may set a setting that crawler/addon.py maps from settings.yaml: this module
# has Scrapy's "project" priority, which beats the add-on's, so the YAML value would be ignored
# (tests/test_settings.py checks every mapped setting).

DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100) so even robots.txt requests never reach a private address.
    "crawler.middlewares.PrivateNetworkMiddleware": 50,
    # Innermost, so a request holds its host's place only while it is being downloaded.
    "crawler.middlewares.HostConcurrencyMiddleware": 990,
    # Inside it: a process asks the store for a shared permit only for a request that already
    # has a place among its own; off unless NEWSMON_SHARED_HOST_LIMITS (distributed workers).
    "crawler.middlewares.SharedHostLimitsMiddleware": 995,
}

# Both open local control ports; a crawler of untrusted pages needs neither.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# The components switched off here (cookies below, the two control ports above) are left out
# of Scrapy's base lists too, so that their modules are not even imported: Scrapy imports
# every listed component, a disabled one included (and one set to None in
# DOWNLOADER_MIDDLEWARES or EXTENSIONS, to match it against the base list), before asking it
# whether it is enabled. The remote control imports aiohttp (0.12 s), the cookies middleware
# tldextract (0.05 s): a tenth of a crawl that finds nothing new.
_OFF = {
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.telnet.TelnetConsole",
}
DOWNLOADER_MIDDLEWARES_BASE = {
    name: order
    for name, order in default_settings.DOWNLOADER_MIDDLEWARES_BASE.items()
    if name not in _OFF
}
EXTENSIONS_BASE = {
    name: order for name, order in default_settings.EXTENSIONS_BASE.items() if name not in _OFF
}
del _OFF  # Scrapy reads every upper-case name of this module as a setting

COOKIES_ENABLED = False  # news sites' session cookies only track us
# Not 429: a site that says "too many requests" gets its Retry-After from the scheduler, not
# an immediate retry.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
DEFAULT_DROPITEM_LOG_LEVEL = "INFO"  # a dropped page is a normal outcome, counted in stats
REDIRECT_MAX_TIMES = 5
DNS_TIMEOUT = 20
LOG_LEVEL = "INFO"
STATS_DUMP = False  # `newsmon crawl` prints its own summary
FEED_EXPORT_ENCODING = "utf-8"
# The check reads and parses a callback's source whenever it meets it uncached, and its cache
# is keyed on the bound method, made anew for every response: 5% of a polling pass's CPU.
WARN_ON_GENERATOR_RETURN_VALUE = False
# Scrapy starts this many asyncio tasks for the output of every response; ours yield one item
# or a feed's few new links, so the default 100 was a third of a polling pass's CPU.
CONCURRENT_ITEMS = 4
