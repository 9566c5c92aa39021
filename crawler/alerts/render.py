"""What an alert says: its subject and body, from Jinja templates, as text and as HTML.

Part of the alerts stage (review side of the flow): `crawler.alerts.deliver` hands it the
export records of the hits to send. Scraped titles and texts are hostile, so the HTML body is
rendered with autoescaping and links only ever point to http(s). Templates come from
alerts.yaml (`subject`, `body`, `html`) or are the defaults below; they run sandboxed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from crawler.config.alerts import AlertRule
from crawler.errors import ConfigError
from crawler.match.terms import term_spans
from crawler.text.urls import safe_href

__all__ = ["Message", "article_context", "check_templates", "render"]

SUBJECT = (
    "{% if articles|length == 1 %}[{{ articles[0].topics|join(', ') }}] {{ articles[0].title }}"
    "{% else %}{{ articles|length }} new hits for {{ rule }}{% endif %}"
)
BODY = """\
{% for a in articles %}{{ a.title }}
{{ a.outlet }} · {{ a.published or "undated" }} · {{ a.language or "language unknown" }}\
{% if a.copies %} · {{ a.copies }} near copies{% endif %}
{% for m in a.terms %}  {{ m.topic }}: {{ m.term }}{% if m.context %}: “{{ m.context }}”{% endif %}
{% endfor %}{% if a.review_url %}Review: {{ a.review_url }}
{% endif %}Original: {{ a.url }}
{% if not loop.last %}
{% endif %}{% endfor %}"""
HTML = """\
{% for a in articles %}<div style="margin-bottom:1.2em">
<div><b>{% if a.link %}<a href="{{ a.link }}">{{ a.title }}</a>{% else %}{{ a.title }}{% endif %}\
</b></div>
<div style="color:#555">{{ a.outlet }} · {{ a.published or "undated" }} · \
{{ a.language or "language unknown" }}{% if a.copies %} · {{ a.copies }} near copies{% endif %}\
</div>
<ul>{% for m in a.terms %}<li>{{ m.topic }}: <b>{{ m.term }}</b>\
{% if m.context %}: “{{ m.context }}”{% endif %}</li>{% endfor %}</ul>
<div>{% if a.review_url %}<a href="{{ a.review_url }}">Review</a> · {% endif %}\
{% if a.link %}<a href="{{ a.link }}">Original</a>{% endif %}</div>
</div>
{% endfor %}"""
CONTEXT = 60  # characters shown on each side of a matched term
TERMS_SHOWN = 5  # matched terms shown per article


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def _environment(html: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=html, trim_blocks=False, keep_trailing_newline=True)


def check_templates(rule: AlertRule, where: str) -> None:
    """Raise ConfigError when one of the rule's templates is not valid Jinja."""
    for field, html in (("subject", False), ("body", False), ("html", True)):
        source = getattr(rule, field)
        if source is None:
            continue
        try:
            _environment(html).from_string(source)
        except TemplateError as exc:
            raise ConfigError(f"{where}: rule {rule.name!r}: field {field!r}: {exc}") from None


def _snippet(text: str, start: int, stop: int) -> str:
    """The words around `text[start:stop]`, on one line, cut with ellipses."""
    left, right = max(0, start - CONTEXT), min(len(text), stop + CONTEXT)
    while left > 0 and not text[left - 1].isspace() and start - left < CONTEXT + 20:
        left -= 1
    while right < len(text) and not text[right].isspace() and right - stop < CONTEXT + 20:
        right += 1
    piece = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + piece + ("…" if right < len(text) else "")


def article_context(
    record: dict[str, Any], topics: tuple[str, ...] | None, zone: ZoneInfo, public_url: str | None
) -> dict[str, Any]:
    """What the templates know of one article (`a` in the defaults)."""
    terms = []
    for topic, matched in record["matches"].items():
        if topics is not None and topic not in topics:
            continue
        for term in matched:
            if len(terms) == TERMS_SHOWN:
                break
            context = ""
            # The text first: the title is shown already.
            for part in (record.get("text") or "", record.get("title") or ""):
                spans = term_spans(part, [term])
                if spans:
                    context = _snippet(part, *spans[0])
                    break
            terms.append({"topic": topic, "term": term, "context": context})
    published = record.get("published")
    when = (
        datetime.fromisoformat(published).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        if published
        else None
    )
    review_url = f"{public_url.rstrip('/')}/articles/{record['id']}" if public_url else None
    return {
        "id": record["id"],
        "title": " ".join((record.get("title") or record["url"]).split()),
        "outlet": record["source"],
        "published": when,
        "language": record.get("language"),
        "url": record["url"],
        "link": safe_href(record["url"]),
        "review_url": safe_href(review_url),
        "topics": [t for t in record["topics"] if topics is None or t in topics],
        "terms": terms,
        "copies": record.get("copies") or 0,
    }


def render(
    rule: AlertRule, records: list[dict[str, Any]], public_url: str | None = None
) -> Message:
    """The message of `rule` about these hits. Raises jinja2's TemplateError for a template
    that fails on them (an unknown filter...)."""
    context = {
        "rule": rule.name,
        "articles": [article_context(r, rule.topics, rule.zone, public_url) for r in records],
    }
    subject = _environment(False).from_string(rule.subject or SUBJECT).render(context)
    return Message(
        subject=" ".join(subject.split())[:250],  # one header line
        text=_environment(False).from_string(rule.body or BODY).render(context),
        html=_environment(True).from_string(rule.html or HTML).render(context),
    )
