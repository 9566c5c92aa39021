"""The dashboard chart: hits (tagged articles) per day as bars, in inline SVG drawn on the
server. A bar counts each article once: its segments are the articles with one topic, by
topic, and those with several topics in one grey segment (stacking every topic's hits counted
an article with two topics twice: a day of 5 hits drew a bar of 7). A day's tooltip gives the
total and each topic's hits. No chart library and no script: the Content-Security-Policy
allows none from elsewhere, and a few rectangles need none. Colours are presentation
attributes and the rest is styled by the app's stylesheet (inline styles are forbidden by the
same policy).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

__all__ = ["PALETTE", "SEVERAL_COLOR", "daily_chart"]

# Muted, distinguishable, and readable on white.
PALETTE = ("#3d6ea8", "#d08a3c", "#4f9a6a", "#8a63b0", "#c0565e", "#3f97a3", "#a39a3f", "#7b8794")
SEVERAL_COLOR = "#b3bac5"  # articles with several topics: neutral, apart from the palette
WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 14, 26


def _nice_max(peak: int) -> tuple[int, int]:
    """A round top for the axis and its step (1, 2, 5, 10, 20...): at most four gridlines."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if peak <= 4 * step:
                return max(step, -(-peak // step) * step), step
        magnitude *= 10


def daily_chart(
    dates: Sequence[date],
    series: dict[str, list[int]],
    colors: dict[str, str],
    several: Sequence[int] = (),
    tagged: dict[str, list[int]] | None = None,
) -> Markup:
    """One bar per day: `series[topic]` the articles with that topic alone, `several` those
    with more than one topic (grey, on top); `tagged[topic]` every hit of the topic, for the
    day's tooltip."""
    days = len(dates)
    several = list(several) or [0] * days
    totals = [sum(values[i] for values in series.values()) + several[i] for i in range(days)]
    peak = max(totals, default=0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    label = f"Hits per day over the last {days} days"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    top, step = _nice_max(peak or 1)
    for value in range(0, top + 1, step):
        y = TOP + plot_h - value / top * plot_h
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{value}</text>'
        )
    slot = plot_w / max(days, 1)
    bar = max(1.0, slot * 0.72)
    every = 7 if days <= 31 else 14
    segments = [(colors.get(t, PALETTE[-1]), v) for t, v in series.items()]
    segments.append((SEVERAL_COLOR, several))
    for i, day in enumerate(dates):
        x = LEFT + i * slot + (slot - bar) / 2
        if totals[i]:
            tip = _tip(day, totals[i], i, tagged or series)
            parts.append(f'<g class="day" data-total="{totals[i]}"><title>{escape(tip)}</title>')
            base = TOP + plot_h
            for color, values in segments:
                if not values[i]:
                    continue
                height = values[i] / top * plot_h
                base -= height
                parts.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" '
                    f'height="{height:.1f}" fill="{escape(color)}"/>'
                )
            parts.append("</g>")
        if (days - 1 - i) % every == 0:
            parts.append(
                f'<text class="tick" x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{day:%d %b}</text>'
            )
    if not peak:
        parts.append(
            f'<text class="empty" x="{LEFT + plot_w / 2:.0f}" y="{TOP + plot_h / 2:.0f}" '
            f'text-anchor="middle">No hits in these {days} days</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _tip(day: date, total: int, i: int, tagged: dict[str, list[int]]) -> str:
    """ "Tue 01 Dec: 5 hits (ai-military 4, nato 2)": the topics' figures may add up to more
    than the total, as an article can have several topics."""
    topics = ", ".join(f"{topic} {values[i]}" for topic, values in tagged.items() if values[i])
    return f"{day:%a %d %b}: {total} {'hit' if total == 1 else 'hits'}" + (
        f" ({topics})" if topics else ""
    )
