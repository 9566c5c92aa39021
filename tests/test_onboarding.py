"""`newsmon sources add/check/import/export`, tried as a new user would, against fixture
outlets on 127.0.0.1: a homepage with `<link rel=alternate>` feeds, a sitemap-only site, a site
with nothing to offer, and a feed reader's OPML export."""

from __future__ import annotations

from pathlib import Path

from crawler.config.files import load_config
from crawler.sources.opml import parse_opml
from tests.config_files import yaml_data
from tests.conftest import REPO, run_cli
from tests.outlets import TOPICS, page, rss2

HEADER = "# My sources, kept by hand.\n# Second line of the header.\nsources:\n"


def homepage(feed_path: str) -> str:
    return (
        "<html><head><title>Defense Wire | News</title>"
        f'<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed">'
        f'<link rel="alternate" type="application/rss+xml" title="All stories" href="{feed_path}">'
        "</head><body><h1>Defense Wire</h1></body></html>"
    )


def test_add_from_homepage_then_crawl(site, make_config) -> None:
    story = site.add("/2026/11/pentagon-ai", page("en_pentagon_ai.html"))
    site.add("/", homepage("/rss/all.xml"))
    site.add(
        "/rss/all.xml",
        rss2([("Pentagon expands use of AI", story)]),
        content_type="application/rss+xml",
    )
    site.add("/comments/feed", rss2([("A comment", site.url("/c/1"))]))
    config = make_config([], TOPICS)
    (config / "sources.yaml").write_text(
        HEADER + "  # An existing outlet.\n  - name: existing\n    url: https://e.org/feed\n"
    )
    result = run_cli("sources", "add", site.url("/"), "--yes", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"Found a feed: {site.url('/rss/all.xml')}" in result.stdout
    assert "Pentagon expands use of AI" in result.stdout  # latest entries previewed
    assert "ai-military: " in result.stdout  # an extracted article, with its topics
    text = (config / "sources.yaml").read_text()
    assert text.startswith(HEADER + "  # An existing outlet.\n")  # comments and layout kept
    assert "# Defense Wire | News (added by newsmon sources add" in text
    added = load_config(config).sources[-1]
    assert (added.name, added.kind, added.url) == ("127-0-0-1", "feed", site.url("/rss/all.xml"))
    assert "/comments/feed" not in site.hits  # comment feeds are never chosen

    crawl = run_cli("crawl", "--config", str(config), "--source", added.name)
    assert crawl.returncode == 0, crawl.stderr
    assert "Articles: 1 new" in crawl.stdout
    again = run_cli("sources", "add", site.url("/"), "--yes", "--config", str(config))
    assert "already a source; nothing added" in again.stdout


def test_add_sitemap_only_site(site, make_config) -> None:
    story = site.add("/2026/11/27/sitemap-only-story", page("en_pentagon_ai.html"))
    site.add("/", "<html><head><title>Quiet Site</title></head><body>Hello</body></html>")
    site.add("/robots.txt", f"Sitemap: {site.url('/news.xml')}\n", content_type="text/plain")
    site.add(
        "/news.xml",
        '<?xml version="1.0"?><urlset '
        'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{story}</loc></url></urlset>",
        content_type="application/xml",
    )
    config = make_config([], TOPICS)
    result = run_cli(
        "sources", "add", site.url("/"), "--yes", "--name", "quiet", "--config", str(config)
    )
    assert result.returncode == 0, result.stderr
    source = load_config(config).sources[0]
    assert (source.name, source.kind, source.url) == ("quiet", "sitemap", site.url("/news.xml"))
    crawl = run_cli("crawl", "--config", str(config))
    assert "quiet: ok, 1 entries, 1 new" in crawl.stdout, crawl.stdout


def test_nothing_found_says_what_was_tried(site, make_config) -> None:
    site.add("/", "<html><head><title>No feeds here</title></head><body>Hi</body></html>")
    config = make_config([], TOPICS)
    before = (config / "sources.yaml").read_text()
    result = run_cli("sources", "add", site.url("/"), "--yes", "--config", str(config))
    assert result.returncode == 2  # the URL given has nothing to add: the user's to fix
    assert "no feed or sitemap found" in result.stderr and "--kind listing" in result.stderr
    assert f"tried {site.url('/feed')}: HTTP 404" in result.stdout
    assert f"tried {site.url('/robots.txt')}: HTTP 404" in result.stdout
    assert (config / "sources.yaml").read_text() == before
    blocked = run_cli("sources", "add", "http://127.0.0.1:9/", "--yes", "--config", str(config))
    assert blocked.returncode == 2 and "tried http://127.0.0.1:9/" in blocked.stdout


def test_check_stores_nothing(site, make_config, tmp_path: Path) -> None:
    story = site.add("/a", page("fr_meta_llama.html"))
    site.add("/feed.xml", rss2([("Meta", story)]))
    config = make_config([{"name": "fil", "url": site.url("/feed.xml")}], TOPICS)
    result = run_cli("sources", "check", "fil", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Meta ouvre" in result.stdout and "ai-military: IA" in result.stdout
    assert not (tmp_path / "newsmon.db").exists()


def test_opml_import_and_export(make_config, tmp_path: Path) -> None:
    config = make_config([{"name": "heise-de", "url": "https://www.heise.de/rss/heise-atom.xml"}])
    opml = REPO / "tests" / "data" / "opml" / "feedly.opml"
    feeds = parse_opml(opml.read_bytes())
    result = run_cli("sources", "import", str(opml), "--config", str(config))
    assert result.returncode == 0, result.stderr
    sources = load_config(config).sources
    urls = {source.url for source in sources}
    assert {feed.xml_url for feed in feeds} <= urls | {"https://www.heise.de/rss/heise-atom.xml"}
    assert len({source.name for source in sources}) == len(sources)
    assert "# Imported from feedly.opml" in (config / "sources.yaml").read_text()
    again = run_cli("sources", "import", str(opml), "--config", str(config))
    assert "Imported 0 feeds" in again.stdout
    exported = run_cli("sources", "export", "--format", "opml", "--config", str(config))
    assert exported.returncode == 0, exported.stderr
    back = parse_opml(exported.stdout.encode())
    assert {feed.xml_url for feed in back} == urls
    yaml_data((config / "sources.yaml").read_text())  # still plain YAML
