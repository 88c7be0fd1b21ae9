"""The bounce and complaint rates of one client's sending domain per day, as inline SVG drawn on
the server (no JavaScript, nothing loaded from elsewhere): two lines against the breaker's
threshold. Labels pass through escape(); everything else is numbers."""

from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.deliverability.selectors import Series

RATE_DAYS_DEFAULT, RATE_DAYS_MIN, RATE_DAYS_MAX = 30, 7, 90
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 600, 190, 40, 24, 22
BOUNCE, COMPLAINT, THRESHOLD = "#1f5fa8", "#b5482a", "#777"


def _y(value: float, y_max: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - min(value, y_max) / y_max)


def _line(points: list[tuple[float, str, float | None]], y_max: float, colour: str,
          dash: str = "") -> list[str]:
    """A line through the days that sent something (a day without sends has no rate); each
    point names its day and rate on hover."""
    shown = [(x, _y(v, y_max), f"{label}: {v:.2f} %") for x, label, v in points if v is not None]
    if not shown:
        return []
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in shown)
    return [f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashes}/>',
            *(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(tip)}'
              f'</title></circle>' for x, y, tip in shown)]


def rates_svg(series: Series) -> SafeString:
    threshold = float(settings.BOUNCE_BREAKER_PERCENT)
    rates = [v for d in series.days for v in (d.bounce_rate, d.complaint_rate) if v is not None]
    y_max = max([threshold * 2, 1.0, *rates])
    step = (WIDTH - LEFT - 10) / max(len(series.days) - 1, 1)
    xs = [LEFT + 5 + i * step for i in range(len(series.days))]
    title = f"Bounce and complaint rates, {series.domain} ({series.client_name}), per day"
    limit_y = _y(threshold, y_max)
    body = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
        f'<text x="2" y="{TOP + 4}" font-size="10">{y_max:.0f} %</text>',
        f'<text x="2" y="{HEIGHT - BOTTOM}" font-size="10">0 %</text>',
        f'<line x1="{LEFT}" y1="{limit_y:.1f}" x2="{WIDTH}" y2="{limit_y:.1f}" '
        f'stroke="{THRESHOLD}" stroke-dasharray="5 4"/>',
        f'<text x="{WIDTH - 150}" y="{limit_y - 4:.1f}" font-size="10" fill="{THRESHOLD}">'
        f"breaker threshold {threshold:g} %</text>",
        *_line(
            [
                (x, f"{d.day:%Y-%m-%d} hard bounces", d.bounce_rate)
                for x, d in zip(xs, series.days, strict=True)
            ],
            y_max,
            BOUNCE,
        ),
        *_line(
            [
                (x, f"{d.day:%Y-%m-%d} complaints", d.complaint_rate)
                for x, d in zip(xs, series.days, strict=True)
            ],
            y_max,
            COMPLAINT,
            "2 2",
        ),
        f'<rect x="{LEFT + 8}" y="6" width="10" height="3" fill="{BOUNCE}"/>'
        f'<text x="{LEFT + 22}" y="11" font-size="10">hard bounces</text>',
        f'<rect x="{LEFT + 110}" y="6" width="10" height="3" fill="{COMPLAINT}"/>'
        f'<text x="{LEFT + 124}" y="11" font-size="10">complaints</text>',
    ]
    if series.days:
        body += [
            f'<text x="{LEFT}" y="{HEIGHT - 6}" font-size="10">'
            f"{series.days[0].day:%Y-%m-%d}</text>",
            f'<text x="{WIDTH - 62}" y="{HEIGHT - 6}" font-size="10">'
            f"{series.days[-1].day:%Y-%m-%d}</text>",
        ]
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(body) + "</svg>"
    )


def rate_days(value: str | None) -> int:
    """The number of days a page asked for, within bounds (anything else: the default)."""
    try:
        return min(max(int(value or RATE_DAYS_DEFAULT), RATE_DAYS_MIN), RATE_DAYS_MAX)
    except ValueError:
        return RATE_DAYS_DEFAULT


def rate_rows(series: list[Series]) -> list[tuple[Series, SafeString]]:
    """What templates/deliverability/rates.html shows: each series with its chart."""
    return [(one, rates_svg(one)) for one in series]
