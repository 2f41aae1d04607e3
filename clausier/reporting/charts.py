"""Charts as server-rendered SVG: the same markup serves the web page and the PDF.

Each chart has a <title> and <desc>, and the page shows the data as a table beside it (accessibility).
"""

import zlib
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from clausier.procurement.sizing import fr_number

BLUE = "#000091"  # DSFR blue France
GREY = "#929292"
RED = "#c9191e"


@dataclass(frozen=True)
class Point:
    label: str
    value: Decimal


def _f(value) -> str:
    return f"{value:.1f}"


def _nice_max(value: Decimal) -> Decimal:
    """A round upper bound for the axis (1, 2, 2.5 or 5 × 10^n)."""
    if value <= 0:
        return Decimal(1)
    exponent = len(str(int(value))) - 1
    base = Decimal(10) ** exponent
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * base:
            return step * base
    return 10 * base


def _frame(title: str, description: str, width: int, height: int, body: SafeString) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" '
        'aria-labelledby="{id}-t {id}-d" class="cl-chart"><title id="{id}-t">{title}</title>'
        '<desc id="{id}-d">{desc}</desc>{body}</svg>',
        w=width,
        h=height,
        id=f"c{zlib.crc32((title + description).encode()):08x}",
        title=title,
        desc=description,
        body=body,
    )


def _axis(top: Decimal, left: int, right: int, y0: int, plot_h: int) -> SafeString:
    ticks = []
    for i in range(5):
        value = top * i / 4
        y = y0 - plot_h * i / 4
        ticks.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#e5e5e5"/>'
                '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#3a3a3a">{}</text>',
                left,
                right,
                left - 6,
                y + 4,
                fr_number(value, 2),
                y=f"{y:.1f}",
            )
        )
    return mark_safe("".join(ticks))


def bar_chart(
    points: list[Point], *, title: str, description: str, width: int = 720, height: int = 300
) -> SafeString:
    left, right, top_pad, bottom = 64, width - 12, 16, height - 32
    plot_h = bottom - top_pad
    top = _nice_max(max((p.value for p in points), default=Decimal(0)))
    if top < 4 and all(p.value == int(p.value) for p in points):
        top = Decimal(4)  # counts of people: whole-number ticks
    slot = (right - left) / max(len(points), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} : {}</title></rect>'
        '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#3a3a3a">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#161616">{}</text>',
        (
            (
                _f(left + i * slot + slot * 0.15),
                _f(bottom - plot_h * float(p.value / top)),
                _f(slot * 0.7),
                _f(plot_h * float(p.value / top)),
                BLUE,
                p.label,
                fr_number(p.value),
                _f(left + i * slot + slot / 2),
                bottom + 16,
                p.label,
                _f(left + i * slot + slot / 2),
                _f(bottom - plot_h * float(p.value / top) - 4),
                fr_number(p.value),
            )
            for i, p in enumerate(points)
        ),
    )
    return _frame(title, description, width, height, _axis(top, left, right, bottom, plot_h) + bars)


def line_chart(
    points: list[Point],
    *,
    title: str,
    description: str,
    target: Decimal | None = None,
    projection: tuple[str, Decimal] | None = None,
    width: int = 720,
    height: int = 300,
) -> SafeString:
    """A cumulative curve with an optional target line and a dashed projection to the end date."""
    left, right, top_pad, bottom = 64, width - 12, 16, height - 32
    plot_h = bottom - top_pad
    values = [p.value for p in points] + [target or 0] + ([projection[1]] if projection else [])
    top = _nice_max(max(values, default=Decimal(0)))
    count = len(points) + (1 if projection else 0)
    step = (right - left) / max(count - 1, 1)

    def xy(i, value):
        return left + i * step, bottom - plot_h * float(Decimal(value) / top)

    coords = [xy(i, p.value) for i, p in enumerate(points)]
    parts = [_axis(top, left, right, bottom, plot_h)]
    if target:
        y = xy(0, target)[1]
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="{}" stroke-width="1.5"/>'
                '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="{}">Objectif {} h</text>',
                left,
                right,
                RED,
                right,
                f"{y - 4:.1f}",
                RED,
                fr_number(target),
                y=f"{y:.1f}",
            )
        )
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            format_html('<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5"/>', path, BLUE)
        )
    if projection and coords:
        x1, y1 = coords[-1]
        x2, y2 = xy(count - 1, projection[1])
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2" '
                'stroke-dasharray="6 4"/><text x="{}" y="{}" font-size="11" text-anchor="end" '
                'fill="#3a3a3a">Projection {} : {} h</text>',
                _f(x1),
                _f(y1),
                _f(x2),
                _f(y2),
                GREY,
                _f(x2),
                _f(y2 - 6),
                projection[0],
                fr_number(projection[1]),
            )
        )
    labels = points + ([Point(projection[0], projection[1])] if projection else [])
    every = max(1, len(labels) // 8)
    parts.append(
        format_html_join(
            "",
            '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#3a3a3a">{}</text>',
            ((_f(left + i * step), bottom + 16, p.label) for i, p in enumerate(labels) if i % every == 0),
        )
    )
    return _frame(title, description, width, height, mark_safe("".join(parts)))
