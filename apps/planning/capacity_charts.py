"""The capacity pages' charts as inline SVG, drawn on the server (no JavaScript, nothing to
load): load per tier against the 80 % line, the roster's capacity in the hours ahead, and
arrivals by hour of the week. Only numbers and fixed or escaped labels go into the SVG."""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" class="capacity-chart">'
        f'<text x="4" y="14" font-size="12">{escape(title)}</text>{"".join(body)}</svg>'
    )


def load_svg(loads, threshold: float) -> SafeString:
    """One bar per tier: its load in % of what the roster can do within the target, with the
    threshold as a dashed line (a bar past it is red). Loads over 200 % are drawn at 200 %."""
    left, width, row, top = 150, 360, 26, 24
    scale = 2.0
    body = []
    for i, tier in enumerate(loads):
        y = top + i * row
        load = tier.load if tier.load is not None else scale
        bar = width * min(load, scale) / scale
        colour = "#b3261e" if tier.over_threshold else "#4a7ab5"
        shown = f"{tier.load:.0%}" if tier.load is not None else "nobody on shift"
        body.append(
            f'<text x="4" y="{y + 14}" font-size="11">{escape(tier.label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{bar:.1f}" height="16" fill="{colour}">'
            f"<title>{escape(tier.label)}: {shown}</title></rect>"
            f'<text x="{left + bar + 4:.1f}" y="{y + 15}" font-size="11">{escape(shown)}</text>'
        )
    x = left + width * threshold / scale
    bottom = top + row * len(loads)
    body.append(
        f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#b3261e" '
        f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{bottom + 12}" font-size="10" '
        f'fill="#b3261e">{threshold:.0%}</text>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#888"/>'
    )
    return _svg(left + width + 60, bottom + 18, "Load against the roster's capacity", body)


def capacity_svg(hours) -> SafeString:
    """Messages the roster can review in each hour ahead, with the reviewers on shift."""
    left, height, bar_w, top = 40, 120, 34, 24
    peak = max([h.messages_per_hour for h in hours] + [1.0])
    body = [f'<text x="2" y="{top + 10}" font-size="10">{peak:.0f}</text>']
    for i, hour in enumerate(hours):
        h = height * hour.messages_per_hour / peak
        x = left + i * (bar_w + 4)
        body.append(
            f'<rect x="{x}" y="{top + height - h:.1f}" width="{bar_w}" height="{h:.1f}" '
            f'fill="#4a7ab5"><title>{hour.start:%H}:00 UTC: {hour.reviewers} reviewer(s), '
            f"{hour.messages_per_hour:.0f} messages</title></rect>"
            f'<text x="{x + 2}" y="{top + height + 12}" font-size="10">{hour.start:%H}h</text>'
            f'<text x="{x + 2}" y="{top + height + 24}" font-size="10">{hour.reviewers} rev</text>'
        )
    width = left + len(hours) * (bar_w + 4) + 10
    title = "Messages the roster can review, hour by hour (UTC)"
    return _svg(max(width, 300), top + height + 30, title, body)


def arrivals_svg(means: list[float]) -> SafeString:
    """A week as 7 rows of 24 cells, darker for more batches entering review in that hour."""
    left, top, cell = 34, 24, 18
    peak = max(means + [0.0]) or 1.0
    body = []
    for day in range(7):
        y = top + day * cell
        body.append(f'<text x="2" y="{y + 13}" font-size="10">{WEEKDAYS[day]}</text>')
        for hour in range(24):
            mean = means[day * 24 + hour]
            shade = 0.08 + 0.92 * mean / peak if mean else 0.0
            body.append(
                f'<rect x="{left + hour * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="#4a7ab5" fill-opacity="{shade:.2f}" stroke="#ddd">'
                f"<title>{WEEKDAYS[day]} {hour:02d}:00 UTC: {mean:.1f} batches</title></rect>"
            )
    for hour in range(0, 24, 3):
        body.append(
            f'<text x="{left + hour * cell}" y="{top + 7 * cell + 12}" font-size="10">'
            f"{hour:02d}</text>"
        )
    title = f"Batches entering review per hour of the week (peak {peak:.1f})"
    return _svg(left + 24 * cell + 10, top + 7 * cell + 20, title, body)
