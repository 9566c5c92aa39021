"""The pages of `newsmon serve`: hits, article, topic quality, dashboard, Atom feeds and
downloads. Thin: each view reads the request (checked by `crawler.review.web.inputs`: a value it
cannot use is a 400 page saying which), calls the store-side functions of `crawler.store.search`
and `crawler.store.reviews`, and renders a template.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import exists, select

from crawler.config.settings import Settings, parse_duration
from crawler.review.export import write_csv, write_jsonl
from crawler.review.web import inputs
from crawler.review.web.app import Store
from crawler.review.web.atom import atom_feed
from crawler.review.web.chart import PALETTE, SEVERAL_COLOR, daily_chart
from crawler.review.web.highlight import marked, safe_href
from crawler.review.web.inputs import BadInput
from crawler.store import source_requests
from crawler.store.alerts_sent import RuleStatus, rule_status
from crawler.store.crawl_state import CrawlState, describe_seconds, source_flags
from crawler.store.queries import count_articles
from crawler.store.reviews import (
    ACTIONS,
    UnknownArticle,
    daily_articles,
    daily_hits,
    set_review,
    set_reviews,
    top_outlets,
)
from crawler.store.reviews import topic_quality as quality_of
from crawler.store.schema import article_topics, articles
from crawler.store.search import (
    ALL_ARTICLES,
    KEPT,
    REVIEW_STATES,
    SORTS,
    HitFilter,
    HitPage,
    article_record,
    iter_hits,
    neighbors,
    page_of_hits,
    search_terms,
)

__all__ = ["views"]

views = Blueprint("views", __name__)
FILTER_KEYS = ("q", "topic", "source", "language", "since", "until", "review", "sort", "copies")
FEED_ENTRIES = 50
DASHBOARD_DAYS = {"30": 30, "90": 90}
BULK_ACTIONS = ("relevant", "irrelevant", "clear")


@views.errorhandler(BadInput)
def bad_input(error: BadInput) -> tuple[str, int]:
    return render_template("error.html", title="Bad request", message=str(error)), 400


def store() -> Store:
    return current_app.extensions["newsmon"]


@views.app_template_global()
def with_args(endpoint: str, args: dict[str, str], **changes: Any) -> str:
    """URL of `endpoint` with the current filter `args`, some changed or removed (None)."""
    merged = {**args, **changes}
    return url_for(endpoint, **{k: v for k, v in merged.items() if v not in (None, "")})


views.add_app_template_filter(safe_href, "safe_href")


@views.app_template_filter("day")
def day(moment: str | None) -> str:
    return moment[:10] if moment else ""


def _known(column: Any, value: str) -> bool:
    """Whether some stored article has `value` in `column` (its source, its topics)."""
    with store().engine.connect() as connection:
        return bool(connection.execute(select(exists().where(column == value))).scalar())


def current_filter() -> tuple[HitFilter, dict[str, str]]:
    """The filter of the query string, and its non-empty arguments (to carry in links).
    Raises BadInput for a value that names nothing or cannot be read."""
    args = {key: inputs.plain(key, request.args.get(key, "").strip()) for key in FILTER_KEYS}
    args = {key: value for key, value in args.items() if value}
    if len(args.get("q", "")) > inputs.MAX_QUERY:
        raise BadInput(f"q: a search has at most {inputs.MAX_QUERY} characters")
    topic, source, language = args.get("topic"), args.get("source"), args.get("language")
    config = store().config
    if (
        topic
        and topic != ALL_ARTICLES
        and topic not in store().topics
        and not _known(article_topics.c.topic, topic)
    ):
        raise BadInput(f"topic: no topic named {topic[:60]!r}")
    configured = {s.name for s in config.sources} if config else set()
    if source and source not in configured and not _known(articles.c.source, source):
        raise BadInput(f"source: no source named {source[:60]!r}")
    if language and not (len(language) <= 8 and language.replace("-", "").isalpha()):
        raise BadInput(f"language: not a language code like fr: {language[:60]!r}")
    hits = HitFilter(
        topic=topic,
        source=source,
        language=language.lower() if language else None,
        since=inputs.day("since", args.get("since")),
        until=inputs.day("until", args.get("until")),
        review=inputs.choice("review", args.get("review"), REVIEW_STATES),
        q=args.get("q", ""),
        sort=inputs.choice("sort", args.get("sort"), SORTS) or "published",
        copies=inputs.choice("copies", args.get("copies"), ("0", "1")) == "1",
    )
    return hits, args


def _article_or_404(article_id: int) -> None:
    """An id larger than the store's key column overflows it: no such article."""
    if not inputs.article_id_fits(article_id, store().engine.dialect.name):
        abort(404)


@views.get("/")
def index() -> Response:
    return redirect(url_for("views.hits"))


@views.get("/hits")
def hits() -> Any:
    try:
        hits, args = current_filter()
        number = inputs.page_number(request.args.get("page"))
    except BadInput as error:
        return _hits_page(HitPage([], 0, 1, 1), HitFilter(), _typed(error), [], refused=error)
    page = page_of_hits(store().engine, hits, number)
    notices = []
    if page.page != number:  # past the end: the last page, said so
        notices.append(f"There is no page {number:,}: this is the last page, {page.page}.")
    notices += inputs.search_notes(hits.q, len(search_terms(hits.q)))
    if hits.since and hits.until and hits.since > hits.until:
        notices.append(f"From {hits.since} to {hits.until}: the range is empty, no article fits.")
    stored = count_articles(store().engine) if not page.records and not args else None
    return _hits_page(page, hits, args, notices, stored=stored)


def _hits_page(
    page: HitPage,
    hits: HitFilter,
    args: dict[str, str],
    notices: list[str],
    refused: BadInput | None = None,
    stored: int | None = None,
) -> Any:
    """The hits page; with `refused`, a 400 that keeps the filter form to correct the value."""
    sources, languages, stored_topics = store().facets()
    topics = list(dict.fromkeys([*store().topics, *stored_topics]))
    html = render_template(
        "hits.html",
        page=page,
        hits=hits,
        args=args,
        topics=topics,
        sources=sources,
        languages=languages,
        states=REVIEW_STATES,
        all_articles=ALL_ARTICLES,
        notices=notices,
        refused=str(refused) if refused else None,
        stored=stored,  # articles in the store, for the empty state of an unfiltered list
    )
    return (html, 400) if refused else html


def _typed(error: BadInput) -> dict[str, str]:
    """The filter values as typed, for the form of a refused request: all but the refused
    one (its name starts the message) and any holding a control character."""
    refused = str(error).split(":", 1)[0]
    typed = {key: request.args.get(key, "").strip() for key in FILTER_KEYS if key != refused}
    return {key: value for key, value in typed.items() if value and value.isprintable()}


@views.post("/hits/review")
def bulk_review() -> Any:
    """Mark the ticked hits (or every hit of the page) in one request and one transaction."""
    action = inputs.choice("action", request.form.get("action"), BULK_ACTIONS)
    if action is None:
        raise BadInput(f"action: choose one of {', '.join(BULK_ACTIONS)}")
    _, args = current_filter()  # the list to return to: checked before anything changes
    dialect = store().engine.dialect.name
    ids = inputs.article_ids("id", request.form.getlist("id"), dialect)
    if request.form.get("all") == "1":
        shown = [i for i in request.form.get("page_ids", "").split(",") if i]
        ids = list(dict.fromkeys([*ids, *inputs.article_ids("page_ids", shown, dialect)]))
    back = inputs.same_site_path(request.form.get("back")) or with_args("views.hits", args)
    if not ids:
        flash("Nothing marked: tick the hits to mark, or “All on this page”.")
        return redirect(back)
    try:
        set_reviews(store().engine, ids, action)
    except UnknownArticle as error:
        raise BadInput(f"id: {error}") from None
    done = "taken back" if action == "clear" else f"marked {action}"
    flash(f"{len(ids)} {'hit' if len(ids) == 1 else 'hits'} {done}.")
    return redirect(back)


def _download(
    write: Callable[[Iterable[dict[str, Any]], Any], int], header: bool, batch: int = 200
) -> Iterator[str]:
    """Records of the current filter written in batches, so a large download streams. The
    filter is checked here, before the response starts: a bad value is a 400 page, not a
    download cut short."""
    hits, _ = current_filter()
    return _batches(write, header, iter_hits(store().engine, hits), batch)


def _batches(
    write: Callable[[Iterable[dict[str, Any]], Any], int],
    header: bool,
    records: Iterator[dict[str, Any]],
    batch: int,
) -> Iterator[str]:
    """CSV writes its header with each batch: it is kept only the first time."""
    first = True
    while True:
        chunk = [record for _, record in zip(range(batch), records, strict=False)]
        if not chunk and not first:
            return
        out = io.StringIO()
        write(chunk, out)
        text = out.getvalue()
        if header and not first:
            text = text.split("\n", 1)[1]
        yield text
        first = False
        if len(chunk) < batch:
            return


@views.get("/hits.csv")
def hits_csv() -> Response:
    return _attachment(_download(write_csv, header=True), "csv", "text/csv")


@views.get("/hits.jsonl")
def hits_jsonl() -> Response:
    return _attachment(_download(write_jsonl, header=False), "jsonl", "application/x-ndjson")


def _attachment(body: Iterator[str], extension: str, mimetype: str) -> Response:
    name = f"newsmon-hits-{datetime.now(UTC):%Y%m%d-%H%M}.{extension}"
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@views.get("/articles/<int:article_id>")
def article(article_id: int) -> str:
    _article_or_404(article_id)
    record = article_record(store().engine, article_id)
    if record is None:
        abort(404)
    hits, args = current_filter()
    hits, args, widened = _list_holding(record, hits, args)
    previous, following = neighbors(store().engine, hits, article_id)
    title, text = marked(store().matcher, record["title"], record["text"], record["matches"])
    return render_template(
        "article.html",
        record=record,
        args=args,
        previous=previous,
        following=following,
        title=title,
        paragraphs=text,
        widened=widened,
    )


def _list_holding(
    record: dict[str, Any], hits: HitFilter, args: dict[str, str]
) -> tuple[HitFilter, dict[str, str], str | None]:
    """The list that Previous and Next follow. An article that its filter does not list (an
    untagged article or a copy, opened from a story, a copy link or a bookmark) follows the
    list that holds it, every article or copies too, and says so: in a list it is not part
    of, its neighbours were those of wherever its date fell, often none ("Next" greyed)."""
    changes: dict[str, str] = {}
    if not record["topics"] and hits.topic is None:
        changes["topic"] = ALL_ARTICLES
    if record["duplicate_of"] and not hits.copies:
        changes["copies"] = "1"
    if not changes:
        return hits, args, None
    wider = replace(
        hits, topic=changes.get("topic", hits.topic), copies=hits.copies or "copies" in changes
    )
    what = " and ".join(
        name
        for name, key in (("untagged articles", "topic"), ("copies", "copies"))
        if key in changes
    )
    return wider, {**args, **changes}, f"Not in the hits list: Previous and Next include {what}."


@views.post("/articles/<int:article_id>/review")
def review(article_id: int) -> Any:
    _article_or_404(article_id)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise BadInput(f"action: {action[:40]!r} is not one of {', '.join(ACTIONS)}")
    note = inputs.note_text(request.form["note"]) if "note" in request.form else None
    go = inputs.choice("go", request.form.get("go"), ("next",))
    hits, args = current_filter()  # the list to go on with: checked before anything changes
    try:
        decision = set_review(store().engine, article_id, action, note)
    except UnknownArticle:
        abort(404)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            id=article_id,
            verdict=decision.verdict,
            starred=decision.starred,
            note=decision.note,
            mark=decision.mark,
        )
    if go == "next" and action in ("relevant", "irrelevant"):
        _, following = neighbors(store().engine, hits, article_id)
        if following is not None:
            return redirect(with_args("views.article", args, article_id=following))
        return redirect(with_args("views.hits", args))
    back = inputs.same_site_path(request.form.get("back"))  # no open redirect
    return redirect(back or with_args("views.article", args, article_id=article_id))


@views.get("/topics")
def topics() -> str:
    found = quality_of(store().engine, store().topics)
    return render_template(
        "topics.html", topics=found, describe=store().description, rule_of=store().rule
    )


@views.get("/dashboard")
def dashboard() -> str:
    days = DASHBOARD_DAYS[inputs.choice("days", request.args.get("days"), DASHBOARD_DAYS) or "30"]
    engine = store().engine
    _, series = daily_hits(engine, days)  # every hit of each topic: the tooltips, the legend
    daily = daily_articles(engine, days)  # each article once: the bars
    names = list(dict.fromkeys([*store().topics, *series]))
    colors = {name: PALETTE[n % len(PALETTE)] for n, name in enumerate(names)}
    alone = {n: daily.single[n] for n in names if n in daily.single}
    several = daily.single.get(None, [0] * days)
    chart = daily_chart(daily.dates, alone, colors, several, tagged=series)
    return render_template(
        "dashboard.html",
        days=days,
        chart=chart,
        colors=colors,
        several=(SEVERAL_COLOR, sum(several)),
        articles=sum(daily.totals),
        totals={n: sum(series.get(n, [])) for n in names},
        outlets=top_outlets(engine, days),
        health=_health(engine),
        alerts=_alerts(engine),
    )


def _alerts(engine: Any) -> list[RuleStatus]:
    """What each alert rule of alerts.yaml sent and owes, as `newsmon alerts status` shows it
    (errors are stored with the channels' secrets masked)."""
    config = store().config
    if config is None or not config.alerts.rules:
        return []
    return list(rule_status(engine, [rule.name for rule in config.alerts.rules]).values())


def _health(engine: Any) -> list[dict[str, Any]]:
    """The scheduler's view of every source, as `newsmon sources status` shows it."""
    # The same flags as `newsmon sources status`.

    state = CrawlState(engine)
    rows = state.all()
    config = store().config
    if not rows and config is None:
        return []
    now = datetime.now(UTC)
    day, week = (state.new_articles_since(now - timedelta(days=n)) for n in (1, 7))
    settings = config.settings if config else Settings()  # the defaults without a config
    silent = timedelta(seconds=parse_duration(settings.silent_after))
    enabled = {s.name: s.enabled for s in config.sources} if config else {}
    names = list(dict.fromkeys([*enabled, *rows]))
    stored = set(store().facets()[0])
    health = []
    for name in names:
        row = rows.get(name, {})
        interval = row.get("interval")
        health.append(
            {
                "name": name,
                "row": row,
                "day": day.get(name, 0),
                "week": week.get(name, 0),
                "flags": source_flags(row, enabled.get(name, True), now, silent),
                "interval": describe_seconds(interval) if isinstance(interval, float) else "",
                "pollable": enabled.get(name, False),  # configured and enabled: `run` polls it
                "listed": name in enabled or name in stored,  # the hits page accepts it
            }
        )
    # Sources that need a look first.
    return sorted(health, key=lambda s: not (s["flags"] and s["flags"] != ["disabled"]))


@views.post("/sources/<name>/poll")
def poll_source(name: str) -> Any:
    """The dashboard's "Poll now": a request that a running `newsmon run` honours within
    seconds (see crawler.store.source_requests)."""
    config = store().config
    source = next((s for s in config.sources if s.name == name), None) if config else None
    if source is None:
        abort(404)
    if not source.enabled:
        raise BadInput(f"{name} is disabled: `newsmon run` does not poll it")
    source_requests.request_poll(store().engine, {source.name: source.url})
    flash(
        f"Poll requested for {name}: a running `newsmon run` polls it within seconds (without "
        f"one, the request waits; `newsmon crawl --source {name}` polls it now)."
    )
    return redirect(url_for("views.dashboard"))


@views.get("/feeds/<topic>.atom")
def feed(topic: str) -> Response:
    inputs.plain("topic", topic)
    engine = store().engine
    hits = HitFilter(topic=topic, sort="fetched", review=KEPT)
    entries = list(iter_hits(engine, hits, limit=FEED_ENTRIES))
    if topic not in store().topics and not entries:
        abort(404)
    body = atom_feed(
        topic,
        store().description(topic),
        entries,
        self_url=request.base_url,
        list_url=url_for("views.hits", topic=topic, _external=True),
        article_url=lambda i: url_for("views.article", article_id=i, _external=True),
    )
    return Response(body, mimetype="application/atom+xml")
