"""The client's small chart, as inline SVG drawn on the server (nothing to load): the share of
each day's batches decided within their target, against the promised share.

Only numbers and fixed labels go into the SVG; labels pass through escape() all the same.
"""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD, TOP = 520, 150, 34, 20
PLOT_END = WIDTH - 80  # the promise's label sits in the margin to the right of the bars


def _y(pct: float) -> float:
    return HEIGHT - (HEIGHT - TOP) * max(min(pct, 100.0), 0.0) / 100


def within_target_svg(days: list[dict], promised_pct: int | None) -> SafeString:
    """One bar per day (`day`, `decided`, `within_target_pct`, as commitment_summary gives
    them): the share decided within target; the dashed line is the promise."""
    title = "Share of batches decided within target, per day (last 30 days)"
    bar_w = (PLOT_END - PAD) / max(len(days), 1)
    body = []
    for i, day in enumerate(days):
        within = day["within_target_pct"]
        y = min(_y(within), HEIGHT - 2)  # a day with none within still shows, as a sliver
        colour = "#4a7ab5" if promised_pct is None or within >= promised_pct else "#d08a2c"
        body.append(
            f'<rect x="{PAD + i * bar_w + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
            f'height="{HEIGHT - y:.1f}" fill="{colour}"><title>{escape(day["day"])}: '
            f'{within:.0f} % of {day["decided"]}</title></rect>'
        )
    if promised_pct is not None:
        y = _y(promised_pct)
        body.append(
            f'<line x1="{PAD}" y1="{y:.1f}" x2="{PLOT_END + 4}" y2="{y:.1f}" stroke="#c00" '
            f'stroke-dasharray="4 3"/><text x="{PLOT_END + 8}" y="{y + 4:.1f}" font-size="10" '
            f'fill="#c00">promise {promised_pct} %</text>'
        )
    if days:
        body.append(
            f'<text x="{PAD}" y="{HEIGHT + 14}" font-size="10">{escape(days[0]["day"])}</text>'
        )
        body.append(
            f'<text x="{PLOT_END - 58}" y="{HEIGHT + 14}" font-size="10">'
            f'{escape(days[-1]["day"])}</text>'
        )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT + PAD}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + PAD}" role="img" aria-label="{escape(title)}" '
        'class="commitment-chart" id="commitment-chart">',
        f'<text x="{PAD}" y="12" font-size="12">{escape(title)}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{PLOT_END}" y2="{HEIGHT}" stroke="#888"/>',
        f'<line x1="{PAD}" y1="{TOP}" x2="{PAD}" y2="{HEIGHT}" stroke="#888"/>',
        f'<text x="2" y="{TOP + 8}" font-size="10">100 %</text>',
        f'<text x="12" y="{HEIGHT}" font-size="10">0 %</text>',
        *body,
        "</svg>",
    ]
    return mark_safe("".join(parts))
