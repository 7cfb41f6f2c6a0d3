"""A small line chart as SVG, written by hand: no plotting library to install, and the same
data always gives the same bytes, so the committed chart only changes when the numbers do."""

from __future__ import annotations

import math
from html import escape


def nice_step(span: float, ticks: int = 6) -> float:
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line] if line else lines


def step_chart(title: str, x_label: str, y_label: str, series: list[dict], x_max: float, x_step: float,
               notes: list[str] = (), right_label: str | None = None, right_tick=None) -> str:
    """series: {"label", "color", "points": [(x, y)...] (drawn as steps), "marks": [(x, y, text)...]}.
    With right_label and right_tick (a function of y giving its text), a second axis on the right."""
    notes = [line for note in notes for line in wrap(note, 112)]
    width, height = 760, 440
    left, right, top, bottom = 64, 84 if right_label else 24, 48, 72 + 16 * len(notes)
    height += 16 * len(notes)
    plot_w, plot_h = width - left - right, height - top - bottom
    y_top = max(y for s in series for _, y in s["points"]) * 1.12
    y_step = nice_step(y_top)
    y_max = math.ceil(y_top / y_step) * y_step

    def px(x: float) -> float:
        return round(left + plot_w * x / x_max, 1)

    def py(y: float) -> float:
        return round(top + plot_h * (1 - y / y_max), 1)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    y = 0.0
    while y <= y_max + 1e-9:
        out.append(f'<line x1="{left}" y1="{py(y)}" x2="{left + plot_w}" y2="{py(y)}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{left - 8}" y="{py(y) + 4}" text-anchor="end">{y:g}</text>')
        if right_tick is not None:
            out.append(f'<text x="{left + plot_w + 8}" y="{py(y) + 4}">{escape(right_tick(y))}</text>')
        y += y_step
    x = 0.0
    while x <= x_max + 1e-9:
        out.append(f'<line x1="{px(x)}" y1="{top}" x2="{px(x)}" y2="{top + plot_h}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{px(x)}" y="{top + plot_h + 18}" text-anchor="middle">{x:g}</text>')
        x += x_step
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444444"/>')
    out.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h + 40}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text transform="translate(18 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>')
    if right_label:
        out.append(f'<text transform="translate({width - 12} {top + plot_h / 2}) rotate(90)" '
                   f'text-anchor="middle">{escape(right_label)}</text>')

    for s in series:
        points = s["points"]
        path = [f"M{px(points[0][0])},{py(points[0][1])}"]
        for (_, y0), (x1, y1) in zip(points, points[1:]):
            if y1 != y0:  # a step: along to here, then up
                path.append(f"H{px(x1)} V{py(y1)}")
        path.append(f"H{px(points[-1][0])}")
        out.append(f'<path d="{" ".join(path)}" fill="none" stroke="{s["color"]}" stroke-width="2"/>')
        for x, y, text in s.get("marks", []):
            out.append(f'<circle cx="{px(x)}" cy="{py(y)}" r="4.5" fill="#ffffff" stroke="{s["color"]}" stroke-width="2"/>')
            out.append(f'<text x="{px(x) + 7}" y="{py(y) - 8}" fill="{s["color"]}">{escape(text)}</text>')

    legend_y = top + 16
    for index, s in enumerate(series):
        y = legend_y + 18 * index
        out.append(f'<line x1="{left + 14}" y1="{y}" x2="{left + 38}" y2="{y}" stroke="{s["color"]}" stroke-width="2"/>')
        out.append(f'<text x="{left + 44}" y="{y + 4}">{escape(s["label"])}</text>')
    for index, note in enumerate(notes):
        out.append(f'<text x="{left}" y="{top + plot_h + 60 + 16 * index}" fill="#555555" font-size="11">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
