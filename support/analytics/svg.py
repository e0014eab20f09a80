"""Server-rendered SVG bar charts (no JavaScript library, no network): stacked or grouped bars
with axis, gridlines, a legend and a <title> tooltip on every bar. Every text is escaped."""

from __future__ import annotations

import math

from django.utils.html import escape

PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"]
WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 72
CHAR_WIDTH = 6.2  # about how wide a character of the 11 px sans-serif labels is
ROTATED_LABEL_CHARS = 36


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _format(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def _colour(name: str, j: int, colours: dict[str, str] | None) -> str:
    return (colours or {}).get(name) or PALETTE[j % len(PALETTE)]


def bar_chart(*, labels: list[str], series: dict[str, list[float]], stacked: bool = False, percent: bool = False,
              title: str = "", unit: str = "", colours: dict[str, str] | None = None) -> str:
    """An SVG with one group (or stack) of bars per label and one colour per series (`colours` fixes
    a series' colour by name, e.g. one per sentiment level; the others take the palette's in turn).
    Labels wider than their slot are turned 40 degrees, with room below for them."""
    names = list(series)
    if stacked:
        top = max((sum(series[name][i] or 0 for name in names) for i in range(len(labels))), default=0)
    else:
        top = max((value or 0 for values in series.values() for value in values), default=0)
    top = 1.0 if percent and top <= 1 else _nice_max(top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    longest = max((len(str(label)) for label in labels), default=0)
    rotate = len(labels) > 8 or longest * CHAR_WIDTH > slot * 0.95
    shown_chars = ROTATED_LABEL_CHARS if rotate else 40
    # a label turned 40 degrees needs sin(40) ~ 0.64 of its length below the axis
    extra = max(0, round(min(longest, shown_chars) * CHAR_WIDTH * 0.64 + 24 - BOTTOM)) if rotate else 0
    height = HEIGHT + extra
    bar_w = slot * 0.7 / (1 if stacked else max(len(names), 1))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height + 20 * math.ceil(len(names) / 4)}" '
             f'role="img" aria-label="{escape(title)}" class="analytics-chart" font-family="sans-serif" font-size="11">']
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">{escape(_format(value, percent))}{escape(unit)}</text>')
    for i, label in enumerate(labels):
        x0 = LEFT + slot * i + slot * 0.15
        base = TOP + plot_h
        for j, name in enumerate(names):
            value = series[name][i] or 0
            h = plot_h * value / top
            x = x0 if stacked else x0 + bar_w * j
            y = base - h
            tip = f"{label} · {name}: {_format(value, percent)}{unit}"
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" fill="{_colour(name, j, colours)}">'
                         f'<title>{escape(tip)}</title></rect>')
            if stacked:
                base = y
        cx = LEFT + slot * (i + 0.5)
        ly = TOP + plot_h + 14
        transform = f' transform="rotate(-40 {cx:.1f} {ly:.1f})" text-anchor="end"' if rotate else ' text-anchor="middle"'
        parts.append(f'<text x="{cx:.1f}" y="{ly:.1f}"{transform} fill="#111827">{escape(str(label)[:shown_chars])}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#9ca3af"/>')
    if len(names) > 1 or names and names[0]:
        for j, name in enumerate(names):
            x = LEFT + (j % 4) * 165
            y = height - 4 + 20 * (j // 4)
            parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{_colour(name, j, colours)}"/>'
                         f'<text x="{x + 14}" y="{y}" fill="#111827">{escape(str(name)[:26])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def pivot(rows: list[tuple], *, label_index: int = 0, series_index: int = 1, value_index: int = 2,
          series_order: list | None = None) -> tuple[list, dict]:
    """(label, series, value) rows to bar_chart's labels and series (missing cells are 0); series in
    `series_order` come first in that order, the others as they appear."""
    labels = list(dict.fromkeys(row[label_index] for row in rows))
    names = list(dict.fromkeys(row[series_index] for row in rows))
    if series_order:
        rank = {name: i for i, name in enumerate(series_order)}
        names.sort(key=lambda name: rank.get(name, len(rank)))
    cells = {(row[label_index], row[series_index]): row[value_index] for row in rows}
    return [str(label) for label in labels], {str(name): [cells.get((label, name), 0) for label in labels] for name in names}
