"""Three fixture outlets (English RSS 2.0, French Atom, German RSS 1.0 in ISO-8859-1) plus
broken and failing sources, served by `tests.sites.Site`, for end-to-end crawl tests.
"""

from __future__ import annotations

import atexit
import gzip
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import CORPUS
from tests.sites import Site

DATA = Path(__file__).with_name("data")

# The feed that times out answers after SLOW seconds, against a download timeout of TIMEOUT
# (crawl the outlets with `download_timeout=TIMEOUT`): with one retry, a pass waits about
# 2 x TIMEOUT for it. The other pages come from 127.0.0.1 in milliseconds.
TIMEOUT = 1
SLOW = 2

TOPICS = [
    {
        "name": "ai-military",
        "all": [
            [
                "AI",
                "artificial intelligence",
                "IA",
                "intelligence artificielle",
                "KI",
                "künstlich* Intelligenz",
            ],
            [
                "military",
                "militar*",
                "Pentagon",
                "usage militaire",
                "sécurité nationale",
                "Bundeswehr",
                "Streitkräfte",
            ],
        ],
        "near": 15,
    },
    {"name": "nato", "any": ["NATO"]},
]


def page(name: str) -> bytes:
    return (DATA / "pages" / name).read_bytes()


def corpus_page(lang: str, index: int = 0) -> tuple[str, bytes]:
    """The index-th full-text corpus page in `lang`: (id, raw HTML)."""
    manifest = CORPUS / "articles" / "manifest.jsonl"
    found = [
        record
        for record in map(json.loads, manifest.read_text(encoding="utf-8").splitlines())
        if record["lang"] == lang and record["ground_truth"] == "full_body"
    ]
    record = found[index]
    return record["id"], gzip.decompress((CORPUS / "articles" / record["file"]).read_bytes())


def rss2(items: list[tuple[str, str]], encoding: str = "utf-8") -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>{link.replace('&', '&amp;')}</link>"
        f"<pubDate>Mon, 04 Nov 2024 10:00:00 GMT</pubDate></item>"
        for title, link in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>Outlet</title><link>http://example.org/</link>{entries}</channel></rss>"
    ).encode(encoding)


def atom(items: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f'<entry><title>{title}</title><link href="{link}"/><id>{link}</id>'
        f"<updated>2024-11-05T09:00:00Z</updated></entry>"
        for title, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Le Fil</title><id>urn:fil</id><updated>2024-11-05T09:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


def rss1(items: list[tuple[str, str]], encoding: str) -> bytes:
    entries = "".join(
        f'<item rdf:about="{link}"><title>{title}</title><link>{link}</link></item>'
        for title, link in items
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>Nachrichten</title>'
        f"<link>http://example.de/</link></channel>{entries}</rdf:RDF>"
    ).encode(encoding)


def free_port() -> int:
    """A port free now, for a server the test starts (another process may take it meanwhile,
    rarely: the kernel picks ports for `bind(0)` at random)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_REFUSING = socket.socket()
_REFUSING.bind(("127.0.0.1", 0))  # never listens: a connection to it is refused
atexit.register(_REFUSING.close)


def refused_port() -> int:
    """A port on which nothing listens, for this process's life: bound without listening, so
    no server of a test running beside (pytest-xdist) can take it."""
    return _REFUSING.getsockname()[1]


@dataclass
class Outlets:
    sources: list[dict]
    sites: dict[str, Site]
    # canonical URL -> (source, expected topics, expected language)
    expected: dict[str, tuple[str, set[str], str]] = field(default_factory=dict)
    pentagon: str = ""  # the English on-beat article
    mirror: str = ""  # a second URL serving the English article's exact page
    recovered: str = ""  # the English article with one word changed, from a malformed feed
    article_paths: dict[str, list[str]] = field(default_factory=dict)


def build_outlets(make_site) -> Outlets:
    en, fr, de, broken, failing = (make_site() for _ in range(5))
    out = Outlets(
        sources=[], sites={"en": en, "fr": fr, "de": de, "broken": broken, "failing": failing}
    )

    # English outlet, RSS 2.0: tracking parameters, a mirror, a PDF, error pages.
    pentagon = en.add("/2024/11/pentagon-ai", page("en_pentagon_ai.html"), etag='"p1"')
    mirror = en.add("/amp/pentagon-ai", page("en_pentagon_ai.html"))
    sourdough = en.add("/2024/11/sourdough", page("offbeat_sidebar.html"))
    en_corpus_id, en_corpus = corpus_page("en")
    real = en.add("/2024/11/real-story", en_corpus)
    en.add("/files/report.pdf", b"%PDF-1.4\n" + b"0" * 5000, content_type="application/pdf")
    en.add("/gone", b"<html><body>Gone</body></html>", status=404)
    en.add("/broken", b"<html><body>Server error</body></html>", status=500)
    en.add(
        "/feed.xml",
        rss2(
            [
                ("Pentagon expands use of AI", pentagon + "?utm_source=rss&utm_medium=feed"),
                ("Pentagon expands use of AI (again)", pentagon + "?fbclid=abc#comments"),
                ("Mirror", mirror),
                ("Sourdough", sourdough),
                ("Real story", real),
                ("Report", en.url("/files/report.pdf")),
                ("Gone", en.url("/gone")),
                ("Broken", en.url("/broken")),
            ]
        ),
        content_type="application/rss+xml",
        etag='"feed-en-1"',
    )
    out.pentagon, out.mirror = pentagon, mirror
    out.expected[pentagon] = ("defense-wire", {"ai-military", "nato"}, "en")
    out.expected[sourdough] = ("defense-wire", set(), "en")
    out.expected[real] = ("defense-wire", set(), "en")

    # French outlet, Atom; the page declares a relative canonical URL that differs from the link.
    fr.add("/tech/2024/11/05/meta-ia-usage-militaire", page("fr_meta_llama.html"))
    meta_link = fr.add("/articles/12345", page("fr_meta_llama.html"))
    fr_corpus_id, fr_corpus = corpus_page("fr")
    fr_real = fr.add("/societe/real", fr_corpus)
    fr.add(
        "/atom.xml",
        atom([("Meta ouvre l'accès de ses IA", meta_link), ("Société", fr_real)]),
        content_type="application/atom+xml",
    )
    out.expected[fr.url("/tech/2024/11/05/meta-ia-usage-militaire")] = (
        "le-fil",
        {"ai-military"},
        "fr",
    )
    out.expected[fr_real] = ("le-fil", set(), "fr")

    # German outlet, RSS 1.0 in ISO-8859-1, the page in ISO-8859-1 too.
    ki = de.add("/politik/bundeswehr-ki", page("de_bundeswehr_ki.html"), content_type="text/html")
    de.add(
        "/rdf",
        rss1([("Bundeswehr testet Künstliche Intelligenz", ki)], "iso-8859-1"),
        content_type="application/rdf+xml",
    )
    out.expected[ki] = ("nachrichten", {"ai-military"}, "de")

    # A malformed feed that feedparser recovers (undeclared entity, unclosed tags).
    recovered = broken.add("/story", page("en_pentagon_ai.html").replace(b"Monday", b"Tuesday"))
    broken.add(
        "/feed",
        (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Broken &nbsp; feed</title>'
            f"<item><title>Story &eacute;</title><link>{recovered}</link></item>"
            "<item><title>Unclosed"
        ).encode(),
        content_type="application/rss+xml",
    )
    out.expected[recovered] = ("broken-feed", {"ai-military", "nato"}, "en")
    out.recovered = recovered

    # Sources that fail in each way; none may stop the pass.
    failing.add("/missing.xml", b"no", status=404)
    failing.add("/error.xml", b"oops", status=500)
    failing.add("/slow.xml", rss2([]), delay=SLOW)
    failing.add("/page.html", b"<html><body><p>Just a web page.</p></body></html>")

    out.sources = [
        {"name": "defense-wire", "url": en.url("/feed.xml"), "language": "en"},
        {"name": "le-fil", "url": fr.url("/atom.xml")},
        {"name": "nachrichten", "url": de.url("/rdf")},
        {"name": "broken-feed", "url": broken.url("/feed")},
        {"name": "feed-404", "url": failing.url("/missing.xml")},
        {"name": "feed-500", "url": failing.url("/error.xml")},
        {"name": "feed-timeout", "url": failing.url("/slow.xml")},
        {"name": "feed-refused", "url": f"http://127.0.0.1:{refused_port()}/feed"},
        {"name": "not-a-feed", "url": failing.url("/page.html")},
        {"name": "switched-off", "url": failing.url("/never.xml"), "enabled": False},
    ]
    out.article_paths = {
        "en": [
            "/2024/11/pentagon-ai",
            "/amp/pentagon-ai",
            "/2024/11/sourdough",
            "/2024/11/real-story",
        ]
    }
    return out
