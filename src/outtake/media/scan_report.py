"""The scan as one self-contained HTML page: thumbnails inline, value by tier as an SVG chart."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from outtake.core.money import Money

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222}
h1{margin-bottom:.2rem} .muted{color:#666} table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
img{max-width:240px;border-radius:4px} .tag{background:#eef;border-radius:3px;padding:0 .3rem;
margin-right:.2rem;font-size:.85em} .warn{color:#a60} .total{font-size:1.6rem;font-weight:600}
.dups{color:#555;font-size:.9em}
"""


def _money(minor: int, currency: str) -> str:
    return str(Money(int(minor), currency))


def tier_chart(tiers: dict[str, dict[str, Any]], currency: str) -> str:
    """A horizontal bar per tier, its length the tier's value."""
    rows = sorted(tiers.items(), key=lambda kv: -kv[1]["value_minor"])
    top = max((t["value_minor"] for _, t in rows), default=0) or 1
    bar_h, width, label_w = 26, 640, 120
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{bar_h * len(rows) + 4}" role="img" aria-label="Value by tier">'
    ]
    for i, (code, tier) in enumerate(rows):
        y = i * bar_h + 2
        length = (width - label_w - 160) * tier["value_minor"] / top
        parts.append(
            f'<text x="0" y="{y + 17}">{escape(code)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{bar_h - 8}" '
            f'fill="#4a6fd8"/><text x="{label_w + length + 6:.1f}" y="{y + 17}">'
            f"{escape(_money(tier['value_minor'], currency))} · {tier['minutes']:.1f} min</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _row(entry: dict[str, Any], currency: str, copies: list[str]) -> str:
    name = escape(Path(entry["path"]).name)
    if "error" in entry:
        error = escape(entry["error"])
        return f'<tr><td></td><td>{name}</td><td colspan="3" class="warn">{error}</td></tr>'
    thumb = f'<img src="{entry["thumbnail"]}" alt="">' if entry.get("thumbnail") else ""
    size = f"{entry['width']}×{entry['height']}"
    length = f"{entry['duration_s']:.1f} s" if entry.get("duration_s") else "photo"
    tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in entry["tags"])
    problems = "<br>".join(escape(p) for p in entry["problems"]) or "none"
    worth = escape(_money(entry["value_minor"], currency))
    people = entry["people_needing_releases"]
    releases = f"<br><b>{people} identifiable: releases needed</b>" if people else ""
    if copies:
        listed = ", ".join(escape(Path(c).name) for c in copies)
        name += f"<br><span class='dups'>near-duplicates (value counted once): {listed}</span>"
    return (
        f"<tr><td>{thumb}</td><td>{name}<br><span class='muted'>{length}, {size}, "
        f"{len(entry['clips'])} clip(s)</span></td><td>{tags}{releases}</td>"
        f"<td class='warn'>{problems}</td><td>{worth}</td></tr>"
    )


def render_html(report: dict[str, Any]) -> str:
    currency = report["currency"]
    copies = {g["representative"]: g["near_duplicates"] for g in report.get("groups", [])}
    # Each group of near-duplicates is one row, under its representative.
    rows = "".join(
        _row(e, currency, copies.get(e["path"], []))
        for e in report["files"]
        if not e.get("duplicate_of")
    )
    grouped = sum(len(c) for c in copies.values())
    shown = len(report["files"]) - grouped
    dups = f", {grouped} near-duplicate(s) grouped under them" if grouped else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>What my footage is worth — Outtake scan</title><style>{_STYLE}</style></head><body>
<h1>What this footage is worth</h1>
<p class="muted">Scanned on this computer by Outtake; nothing was uploaded.</p>
<p class="total">{escape(_money(report["value_minor"], currency))}
<span class="muted">for {report["minutes"]:.1f} minutes in {shown} files{dups}</span></p>
<p>{report["people_needing_releases"]} identifiable people would need releases.</p>
<h2>Value by tier</h2>{tier_chart(report["tiers"], currency)}
<h2>Files</h2><table><tr><th></th><th>File</th><th>Tags</th><th>Problems</th><th>Value</th></tr>
{rows}</table></body></html>"""
