"""crawler.sources.listings: article links and next pages of front and section pages.

tests/data/listing/section.html is a realistic section page (site header and menu, teasers,
tag and author links, subscribe and login, pagination, a "most read" sidebar, a site footer);
hostile and one-rule pages are written inline. The last tests run over every page of the
shared corpus.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from w3lib.encoding import html_to_unicode

from crawler.sources.listings import ListingLinks, article_links
from tests.conftest import CORPUS

DATA = Path(__file__).parent / "data" / "listing"
SITE = "https://www.defense-news.example"
SECTION = f"{SITE}/section/defense-ai/"


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def anchors(*hrefs: str) -> str:
    return "".join(f'<a href="{href}">link</a>' for href in hrefs)


def section() -> str:
    return (DATA / "section.html").read_text(encoding="utf-8")


# --- the heuristic, on a realistic page ---


def test_section_page_gives_its_articles_in_page_order() -> None:
    result = article_links(section(), SECTION)
    assert result == ListingLinks(
        links=[
            f"{SITE}/2026/11/26/pentagon-ai-targeting-contract/",  # date + slug
            f"{SITE}/europe/nato-drone-wall-explained-in-five-maps",  # many-word slug
            f"{SITE}/news/1234567/eu-ai-act-military-exemption",  # numeric id
            "https://live.defense-news.example/ukraine/2026/11/26/live",  # subdomain
            f"{SITE}/article.php?id=98765",  # numeric id parameter
            f"{SITE}/politique/ia-militaire-la-france-accelere.html",
        ],
        next_page=f"{SITE}/section/defense-ai/page/2/",
        truncated=False,
    )


def test_section_page_skips_chrome_and_non_article_links() -> None:
    links = article_links(section(), SECTION).links
    for unwanted in [
        "/author/jane-doe/",  # author
        "/tag/artificial-intelligence/",  # tag
        "/category/europe/",  # category
        "subscribe.defense-news.example",  # subscribe, in the page header
        "/login",
        "/search",
        "/section/world/",  # navigation
        "/page/3/",  # page numbers
        "/newsletters/",
        "/about-us/",
        "/contact/",
        "/privacy-policy/",
        "/2026/11/\n",  # a month archive
        "an-old-but-popular-story",  # in an <aside>
        "a-story-linked-from-the-footer",  # in the site <footer>
        "partner.example.org",  # another site
        "mailto:",
        "javascript:",
        ".jpg",
        "#",
    ]:
        assert not any(unwanted in link + "\n" for link in links), unwanted


def test_teaser_headers_inside_articles_are_content_not_chrome() -> None:
    html = page(
        "<header><a href='/2026/11/26/banner-story-with-long-slug'>x</a></header>"
        "<article><header><h2><a href='/2026/11/26/teaser-story-with-long-slug'>T</a></h2>"
        "</header><footer><a href='/2026/11/26/teaser-footer-link-here'>more</a></footer>"
        "</article>"
        "<div role='navigation'><a href='/2026/11/26/menu-story-with-long-slug'>m</a></div>"
        "<div role='banner'><a href='/2026/11/26/role-banner-story-slug'>b</a></div>"
        "<div role='article'><div role='banner'><a href='/2026/11/26/in-role-article'>r</a>"
        "</div></div>"
    )
    assert article_links(html, f"{SITE}/").links == [
        f"{SITE}/2026/11/26/teaser-story-with-long-slug",
        f"{SITE}/2026/11/26/teaser-footer-link-here",
        f"{SITE}/2026/11/26/in-role-article",
    ]


@pytest.mark.parametrize(
    ("href", "is_article"),
    [
        ("/2026/11/26/floods", True),
        ("/world/2026/nov/26/floods", True),  # the Guardian's month names
        ("/2026/11/26/", False),  # a day archive
        ("/2026/11/", False),
        ("/2026/", False),
        ("/news/floods-in-the-north", True),
        ("/news/uk-politics", False),  # two words: a section as often as an article
        ("/world", False),
        ("/", False),
        ("/story/12345", True),
        ("/story/1234", False),
        ("/politik/article409956720/ampeln-tot.html", True),
        ("/politics.html", False),
        ("/index.html", False),
        ("/default.aspx", False),
        ("/world/floods-north.html", True),
        ("/?p=123", True),
        ("/?s=drones", False),
        ("/news/floods-in-the-north?page=2", False),
        ("/tag/floods-in-the-north", False),
        ("/topics/artificial-intelligence-and-war", False),
        ("/autor/max-mustermann-123456", False),
        ("/rubrique/international-et-defense-europe", False),
        ("/feed/", False),
        ("/2026/11/26/floods-in-the-north/feed/", False),  # its comments feed
        ("/wp-login.php?redirect_to=x", False),
        ("/files/annual-report-2026-final.pdf", False),
        (
            # /日本/ニュース-記事-本文: words are letters in any script
            "/%E6%97%A5%E6%9C%AC/%E3%83%8B%E3%83%A5%E3%83%BC%E3%82%B9"
            "-%E8%A8%98%E4%BA%8B-%E6%9C%AC%E6%96%87",
            True,
        ),
    ],
)
def test_article_url_heuristic(href: str, is_article: bool) -> None:
    result = article_links(page(anchors(href)), f"{SITE}/some/listing")
    assert (result.links != []) is is_article, result.links


def test_rel_tag_author_and_page_number_anchors_are_not_articles() -> None:
    html = page(
        '<a rel="tag" href="/2026/11/26/tagged-like-an-article">t</a>'
        '<a rel="author" href="/people/jane-doe-smith-jones">a</a>'
        '<a href="/2026/11/26/numbered/2">2</a>'
        '<a rel="bookmark" href="/2026/11/26/the-permalink">Permalink</a>'
    )
    assert article_links(html, f"{SITE}/").links == [f"{SITE}/2026/11/26/the-permalink"]


def test_links_are_deduplicated_ignoring_fragments_and_tracking() -> None:
    html = page(
        anchors(
            "/2026/11/26/story#comments",
            "/2026/11/26/story?utm_source=home&utm_medium=teaser",
            "https://WWW.defense-news.example/2026/11/26/story",
            "/2026/11/26/story?id=2",
        )
    )
    assert article_links(html, f"{SITE}/").links == [
        f"{SITE}/2026/11/26/story",
        f"{SITE}/2026/11/26/story?id=2",
    ]


def test_the_page_itself_is_never_a_link() -> None:
    url = f"{SITE}/2026/11/26/this-very-article-page"
    assert article_links(page(anchors(url, url + "#top")), url).links == []


def test_base_href_is_honoured() -> None:
    html = page(
        anchors("2026/11/26/story-with-slug"),
        head='<base href="https://www.defense-news.example/fr/">',
    )
    assert article_links(html, f"{SITE}/x/y").links == [f"{SITE}/fr/2026/11/26/story-with-slug"]


# --- follow, deny, domains ---


def test_follow_pattern_replaces_the_heuristic() -> None:
    pattern = r"^https://www\.defense-news\.example/(section|author)/[a-z-]+/$"
    result = article_links(section(), SECTION, follow=pattern)
    assert result.links == [
        f"{SITE}/section/world/",  # in the menu: with a pattern, the author decides
        f"{SITE}/author/jane-doe/",
    ]
    assert result.next_page == f"{SITE}/section/defense-ai/page/2/"  # pagination stays apart


def test_deny_applies_with_and_without_follow() -> None:
    assert article_links(section(), SECTION, deny=r"/20\d\d/").links == [
        f"{SITE}/europe/nato-drone-wall-explained-in-five-maps",
        f"{SITE}/news/1234567/eu-ai-act-military-exemption",
        f"{SITE}/article.php?id=98765",
        f"{SITE}/politique/ia-militaire-la-france-accelere.html",
    ]
    followed = article_links(section(), SECTION, follow=r"/20\d\d/\d\d/\d\d/", deny=r"footer|old")
    assert followed.links == [
        f"{SITE}/2026/11/26/pentagon-ai-targeting-contract/",
        "https://live.defense-news.example/ukraine/2026/11/26/live",
    ]


def test_allow_domains_replaces_the_same_site_rule() -> None:
    links = article_links(section(), SECTION, allow_domains=["partner.example.org"]).links
    assert links == ["https://partner.example.org/2026/11/26/some-partner-story-about-drones"]
    next_page = article_links(section(), SECTION, allow_domains=["partner.example.org"]).next_page
    assert next_page == f"{SITE}/section/defense-ai/page/2/"  # pagination stays on the site
    both = article_links(
        section(), SECTION, allow_domains=["defense-news.example", ".Partner.Example.org."]
    )
    assert "https://partner.example.org/2026/11/26/some-partner-story-about-drones" in both.links
    assert f"{SITE}/2026/11/26/pentagon-ai-targeting-contract/" in both.links


def test_same_site_means_host_and_subdomains_with_www_ignored() -> None:
    html = page(
        anchors(
            "https://defense-news.example/2026/11/26/apex-story",
            "https://live.defense-news.example/2026/11/26/live-story",
            "https://defense-news.example.evil.example/2026/11/26/lookalike",
            "https://notdefense-news.example/2026/11/26/suffix-lookalike",
        )
    )
    assert article_links(html, f"{SITE}/").links == [
        "https://defense-news.example/2026/11/26/apex-story",
        "https://live.defense-news.example/2026/11/26/live-story",
    ]
    # From a subdomain, the parent domain's other subdomains are other sites.
    assert article_links(html, "https://live.defense-news.example/").links == [
        "https://live.defense-news.example/2026/11/26/live-story"
    ]


def test_invalid_patterns_are_reported() -> None:
    with pytest.raises(ValueError, match="invalid follow pattern '\\(unclosed'"):
        article_links(section(), SECTION, follow="(unclosed")
    with pytest.raises(ValueError, match="invalid deny pattern"):
        article_links(section(), SECTION, deny="[z-a]")


# --- next page ---


@pytest.mark.parametrize(
    "body",
    [
        '<a href="/list?page=2">Next</a>',
        '<a href="/list?page=2">Next page</a>',
        '<a href="/list?page=2">  Next  &rsaquo; </a>',
        '<a href="/list?page=2">&raquo;</a>',
        '<a href="/list?page=2">›</a>',
        '<a href="/list?page=2">Older posts</a>',
        '<a href="/list?page=2">← Older Entries</a>',
        '<a href="/list?page=2">Page suivante</a>',
        '<a href="/list?page=2">Suivant »</a>',
        '<a href="/list?page=2">Weiter</a>',
        '<a href="/list?page=2">Nächste Seite</a>',
        '<a href="/list?page=2" aria-label="Next page"><svg></svg></a>',
        '<a href="/list?page=2" title="Suivant"><i class="icon"></i></a>',
        '<a href="/list?page=2" class="nextpostslink"><i></i></a>',
        '<a href="/list?page=2" rel="next">2</a>',
        '<nav class="pagination"><a href="/list?page=1">1</a><a href="/list?page=2">Next</a></nav>',
    ],
)
def test_next_page_link_forms(body: str) -> None:
    assert article_links(page(body), f"{SITE}/list").next_page == f"{SITE}/list?page=2"


def test_link_rel_next_wins_over_anchors() -> None:
    html = page(
        '<a href="/list?page=9">Next</a><a rel="next" href="/list?page=3">3</a>',
        head='<link rel="next" href="/list?page=2">',
    )
    assert article_links(html, f"{SITE}/list").next_page == f"{SITE}/list?page=2"
    html = page('<a href="/list?page=9">Next</a><a rel="next" href="/list?page=3">3</a>')
    assert article_links(html, f"{SITE}/list").next_page == f"{SITE}/list?page=3"


@pytest.mark.parametrize(
    "body",
    [
        '<a href="/list">Next</a>',  # the page itself
        '<a href="/list#more">Next</a>',
        '<a href="#">Next</a>',
        '<a href="javascript:next()">Next</a>',
        '<a href="https://other.example/list?page=2">Next</a>',  # another site
        '<a href="/list?page=2">Next story: drones over the Baltic and what they mean</a>',
        '<a href="/list?page=0" rel="prev">Previous</a>',
        '<a href="/list?page=9">»»</a>',  # the last page, in many paginations
        '<a href="/list?page=2" class="slick-next">x</a>',
    ],
)
def test_not_a_next_page(body: str) -> None:
    assert article_links(page(body), f"{SITE}/list").next_page is None


# --- bad input ---


def test_page_with_5000_links_is_capped_quickly_and_keeps_the_next_page() -> None:
    teasers = "".join(
        f'<article><h2><a href="/2026/11/{i % 28 + 1:02d}/story-number-{i}">Story {i}</a></h2>'
        f'<a href="/tag/topic-{i}">topic</a></article>'
        for i in range(5000)
    )
    html = page(teasers + '<nav><a rel="next" href="/archive?page=2">Next</a></nav>')
    started = time.perf_counter()
    result = article_links(html, f"{SITE}/archive")
    elapsed = time.perf_counter() - started
    assert len(result.links) == 500 and result.truncated
    assert result.links[0] == f"{SITE}/2026/11/01/story-number-0"
    assert result.next_page == f"{SITE}/archive?page=2"
    assert elapsed < 5, elapsed
    everything = article_links(html, f"{SITE}/archive", max_links=10_000)
    assert len(everything.links) == 5000 and not everything.truncated


def test_exactly_max_links_is_not_truncated() -> None:
    html = page(anchors(*(f"/2026/11/26/story-{i}" for i in range(3))))
    assert not article_links(html, f"{SITE}/", max_links=3).truncated
    assert article_links(html, f"{SITE}/", max_links=2).truncated


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "not html at all",
        "\x00\x00\x00",
        "<a<a<a<a" * 20_000,
        "<div>" * 50_000 + anchors("/2026/11/26/deep-story") + "</div>" * 10,
        "<a href='/2026/11/26/x'>" * 5_000,
        '<?xml version="1.0" encoding="iso-8859-1"?><html><body><a href="/2026/11/26/x-y-z">x</a>',
        "<html><body><a href='http://[::1/2026/11/26/a-b-c'>bad ipv6</a><a href='\ud800'>s</a>",
        "<a href='/" + "x" * 100_000 + "'>long</a>",
    ],
)
def test_hostile_or_broken_markup_never_raises(html: str) -> None:
    started = time.perf_counter()
    result = article_links(html, f"{SITE}/")
    assert time.perf_counter() - started < 5
    assert isinstance(result, ListingLinks)


# --- the shared corpus ---


def corpus_pages() -> list[tuple[str, str]]:
    manifest = CORPUS / "articles" / "manifest.jsonl"
    if not manifest.is_file():
        pytest.fail(f"the shared corpus is missing: expected {manifest}")
    pages = []
    with manifest.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                raw = gzip.decompress((manifest.parent / row["file"]).read_bytes())
                _, text = html_to_unicode(None, raw)  # as Scrapy's response.text decodes
                pages.append((row["url"], text))
    return pages


def test_article_links_on_every_corpus_page() -> None:
    pages = corpus_pages()
    assert len(pages) == 505
    started = time.perf_counter()
    with_links = 0
    for url, html in pages:
        result = article_links(html, url)
        with_links += bool(result.links)
        assert len(result.links) == len(set(result.links)) <= 500
        assert all(
            link.startswith(("http://", "https://")) and "#" not in link for link in result.links
        )
        assert result.next_page is None or result.next_page != url
    assert time.perf_counter() - started < 120
    # Article pages link to other articles: related stories, most read, teasers.
    assert with_links > 400


def test_section_page_links_carry_their_anchor_text() -> None:
    """The listing preview of `sources add` and headline-only articles show a link's title."""
    result = article_links(section(), SECTION)
    assert set(result.titles) == set(result.links)
    assert (
        result.titles["https://www.defense-news.example/2026/11/26/pentagon-ai-targeting-contract/"]
        == "Pentagon awards AI targeting contract"
    )
