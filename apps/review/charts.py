"""Two small charts as inline SVG, drawn on the server (no JavaScript, nothing to load):
the review-time distribution and the daily p95, each against the SLA target line.

Only numbers and fixed labels go into the SVG; labels pass through escape() all the same.
"""

from collections import defaultdict

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.review.stats import Sample, percentile

WIDTH, HEIGHT, PAD = 560, 200, 34


def _frame(title: str, body: list[str], y_max: float, unit: str) -> SafeString:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT + PAD}" '
        f'role="img" aria-label="{escape(title)}" class="review-chart">',
        f'<text x="{PAD}" y="14" font-size="12">{escape(title)}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" stroke="#888"/>',
        f'<line x1="{PAD}" y1="24" x2="{PAD}" y2="{HEIGHT}" stroke="#888"/>',
        f'<text x="2" y="30" font-size="10">{y_max:.0f}{escape(unit)}</text>',
        *body,
        "</svg>",
    ]
    return mark_safe("".join(parts))


def _y(value: float, y_max: float) -> float:
    return HEIGHT - (HEIGHT - 26) * min(value, y_max) / y_max if y_max else HEIGHT


def _target_line(target_min: float, y_max: float) -> str:
    y = _y(target_min, y_max)
    return (
        f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}" '
        f'stroke="#c00" stroke-dasharray="4 3"/>'
        f'<text x="{WIDTH - 90}" y="{y - 3:.1f}" font-size="10" fill="#c00">'
        f"target {target_min:.0f} min</text>"
    )


def distribution_svg(samples: list[Sample], target_min: float, bins: int = 20) -> SafeString:
    """A histogram of total review time (minutes); the dashed line marks the target on x."""
    totals = [s.total_s / 60 for s in samples]
    x_max = max([target_min * 1.5, *totals]) or 1
    width = x_max / bins
    counts = [0] * bins
    for value in totals:
        counts[min(int(value / width), bins - 1)] += 1
    top = max(counts) or 1
    bar_w = (WIDTH - PAD) / bins
    body = [
        f'<rect x="{PAD + i * bar_w + 1:.1f}" y="{_y(c, top):.1f}" width="{bar_w - 2:.1f}" '
        f'height="{HEIGHT - _y(c, top):.1f}" fill="#4a7ab5">'
        f"<title>{i * width:.0f}–{(i + 1) * width:.0f} min: {c}</title></rect>"
        for i, c in enumerate(counts)
    ]
    x_target = PAD + (WIDTH - PAD) * target_min / x_max
    body.append(
        f'<line x1="{x_target:.1f}" y1="24" x2="{x_target:.1f}" y2="{HEIGHT}" '
        f'stroke="#c00" stroke-dasharray="4 3"/>'
        f'<text x="{x_target + 3:.1f}" y="36" font-size="10" fill="#c00">target</text>'
        f'<text x="{WIDTH - 80}" y="{HEIGHT + 14}" font-size="10">{x_max:.0f} min</text>'
    )
    return _frame("Review time (total) distribution", body, top, "")


def _p95(values: list[float]) -> float:
    """The p95 of one day's samples (a day is listed only when it has some)."""
    p95 = percentile(values, 95)
    if p95 is None:
        raise ValueError("a day without samples has no p95")
    return p95


def p95_over_time_svg(samples: list[Sample], target_min: float) -> SafeString:
    """The p95 of total review time per UTC day, with the target as a dashed line."""
    by_day: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_day[sample.decided_at.strftime("%Y-%m-%d")].append(sample.total_s / 60)
    days = sorted(by_day)
    p95s = [_p95(by_day[day]) for day in days]
    y_max = max([target_min * 1.5, *p95s]) or 1
    step = (WIDTH - PAD - 10) / max(len(days) - 1, 1)
    points = " ".join(f"{PAD + 5 + i * step:.1f},{_y(v, y_max):.1f}" for i, v in enumerate(p95s))
    body = [_target_line(target_min, y_max)]
    if points:
        body.append(f'<polyline points="{points}" fill="none" stroke="#4a7ab5" stroke-width="2"/>')
    for i, (day, value) in enumerate(zip(days, p95s, strict=True)):
        body.append(
            f'<circle cx="{PAD + 5 + i * step:.1f}" cy="{_y(value, y_max):.1f}" r="3" '
            f'fill="#4a7ab5">'
            f"<title>{escape(day)}: p95 {value:.1f} min</title></circle>"
        )
    if days:
        body.append(f'<text x="{PAD}" y="{HEIGHT + 14}" font-size="10">{escape(days[0])}</text>')
        body.append(
            f'<text x="{WIDTH - 70}" y="{HEIGHT + 14}" font-size="10">{escape(days[-1])}</text>'
        )
    return _frame("p95 review time per day (minutes)", body, y_max, " min")
