"""Server-rendered SVG bar charts: no JavaScript, no chart library, nothing fetched.

Each chart carries a <title> for screen readers and one per bar for the exact value, so
the picture never hides a number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

COLORS = ("var(--accent, #0b6e63)", "var(--warn, #8a5a00)")
WIDTH, HEIGHT, PAD, AXIS = 640, 220, 8, 28


def _svg(title: str, body: list[str], height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, s: str, anchor: str = "middle", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="currentColor">{escape(s)}</text>'
    )


def _bar(x: float, y: float, w: float, h: float, color: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{max(h, 0):.1f}" '
        f'style="fill: {color}"><title>{escape(tip)}</title></rect>'
    )


def columns(
    title: str,
    points: Sequence[tuple[str, Sequence[float]]],
    fmt: Callable[[float], str],
    legend: Sequence[str] = (),
) -> str:
    """Vertical bars, one group per label, one bar per series (at most two)."""
    series = max((len(v) for _, v in points), default=1)
    top = max((x for _, v in points for x in v), default=0) or 1
    slot = (WIDTH - 2 * PAD) / max(len(points), 1)
    bar_w = slot * 0.7 / series
    chart_h = HEIGHT - AXIS - PAD - 14
    body = [_text(PAD, 12, f"max {fmt(top)}", "start", 10)]
    for i, (label, values) in enumerate(points):
        x0 = PAD + i * slot + slot * 0.15
        for j, value in enumerate(values):
            h = chart_h * value / top
            name = f"{legend[j]}: " if legend else ""
            body.append(
                _bar(
                    x0 + j * bar_w,
                    HEIGHT - AXIS - h,
                    bar_w - 1,
                    h,
                    COLORS[j % 2],
                    f"{label} {name}{fmt(value)}",
                )
            )
        body.append(_text(PAD + (i + 0.5) * slot, HEIGHT - AXIS + 14, label, size=10))
    for j, name in enumerate(legend):
        x = WIDTH - PAD - 150 * (len(legend) - j)
        body.append(_bar(x, 4, 10, 10, COLORS[j % 2], name))
        body.append(_text(x + 14, 13, name, "start", 10))
    return _svg(title, body)


def rows(title: str, points: Sequence[tuple[str, float]], fmt: Callable[[float], str]) -> str:
    """Horizontal bars, largest first as given: for tiers and top clips."""
    line = 22
    height = max(len(points), 1) * line + PAD * 2
    label_w, value_w = 220, 100
    top = max((v for _, v in points), default=0) or 1
    body = []
    for i, (label, value) in enumerate(points):
        y = PAD + i * line
        w = (WIDTH - label_w - value_w - PAD) * value / top
        short = label if len(label) <= 32 else label[:31] + "…"
        body.append(_text(label_w - 6, y + 15, short, "end"))
        body.append(_bar(label_w, y + 3, w, line - 6, COLORS[0], f"{label}: {fmt(value)}"))
        body.append(_text(label_w + w + 6, y + 15, fmt(value), "start"))
    return _svg(title, body, height)
