"""Tiny SVG plotting helpers for the run report: scales, ticks, axes, marks and legends.

Only what `harness.report` needs, as plain strings: no plotting library, no network. Every
chart is drawn in a fixed coordinate space (`viewBox`) and stretched to the page width by CSS,
so one drawing reads at 800 px and at 1600 px. All text goes through `esc`.

    svg = Svg(960, 300, "Decision latency")
    x = Scale(0, 1000, 60, 940)
    y = Scale(0, 1, 260, 20)
    axes(svg, x, y, "latency (ms)", "share of decisions")
    svg.polyline([(x(v), y(q)) for v, q in points], stroke="#0072B2")
    html = svg.render()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape

FONT_SIZE = 13
CHAR_WIDTH = 7.0  # average width of a character at FONT_SIZE, for layout estimates
AXIS_COLOUR = "#555"
GRID_COLOUR = "#e3e3e3"


def esc(text: object) -> str:
    """Text or attribute value, escaped for HTML and SVG."""
    return escape(str(text), quote=True)


def fmt(value: float) -> str:
    """A number for a tick or a label: 0.25, 12.5, 250, 1,250."""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * CHAR_WIDTH * size / FONT_SIZE


def clip_text(text: str, width: float, size: float = FONT_SIZE) -> str:
    """`text` cut to fit `width` (with an ellipsis), or "" when not even one character fits."""
    fits = int(width / (CHAR_WIDTH * size / FONT_SIZE))
    if len(text) <= fits:
        return text
    return text[: fits - 1] + "…" if fits >= 2 else ""


# -- scales and ticks -------------------------------------------------------------------------


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals."""
    raw = span / max(count, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw:
            return multiple * magnitude
    return 10 * magnitude


def nice_max(value: float, count: int = 5) -> float:
    """`value` rounded up to a tick, so the axis ends on a labelled number."""
    if value <= 0:
        return 1.0
    step = nice_step(value, count)
    return math.ceil(value / step - 1e-9) * step


@dataclass(frozen=True)
class Scale:
    """Maps data values in [lo, hi] onto pixels [start, end]; linear or log10.

    Values outside the domain are clamped, so a stray outlier stays on the plot's edge.
    """

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        lo, hi = self.lo, self.hi
        value = min(max(value, lo), hi)
        if self.log:
            lo, hi, value = math.log10(lo), math.log10(hi), math.log10(value)
        span = hi - lo
        fraction = (value - lo) / span if span else 0.0
        return self.start + fraction * (self.end - self.start)

    def ticks(self, count: int = 6) -> list[float]:
        if self.log:
            return log_ticks(self.lo, self.hi)
        step = nice_step(self.hi - self.lo, count)
        first = math.ceil(self.lo / step - 1e-9) * step
        ticks: list[float] = []
        value = first
        while value <= self.hi + step * 1e-9:
            ticks.append(round(value, 10))
            value += step
        return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5, 10, 20, 50… within [lo, hi]; just the powers of ten when the range is wide."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    multiples = (1,) if len(decades) > 4 else (1, 2, 5)
    return [m * 10.0**d for d in decades for m in multiples if lo <= m * 10.0**d <= hi]


# -- the drawing ------------------------------------------------------------------------------


def _attrs(**attributes: object) -> str:
    """`key="value"` pairs, skipping None; underscores in names become hyphens."""
    return "".join(f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
                   for key, value in attributes.items() if value is not None)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _title(title: str | None) -> str:
    return f"<title>{esc(title)}</title>" if title else ""


class Svg:
    """An SVG drawing built element by element; `render()` returns the markup."""

    def __init__(self, width: float, height: float, label: str) -> None:
        self.width, self.height, self.label = width, height, label
        self.parts: list[str] = []

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = AXIS_COLOUR,
             width: float = 1, dash: str | None = None, title: str | None = None) -> None:
        self.add(f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"'
                 f'{_attrs(stroke=stroke, stroke_width=width, stroke_dasharray=dash)}>'
                 f'{_title(title)}</line>')

    def rect(self, x: float, y: float, width: float, height: float, fill: str,
             title: str | None = None, opacity: float | None = None,
             stroke: str | None = None) -> None:
        self.add(f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(width, 0))}"'
                 f' height="{_num(max(height, 0))}"'
                 f'{_attrs(fill=fill, fill_opacity=opacity, stroke=stroke)}>{_title(title)}</rect>')

    def text(self, x: float, y: float, text: str, anchor: str = "start",
             size: float | None = None, fill: str | None = None, weight: str | None = None,
             rotate: float | None = None, title: str | None = None) -> None:
        transform = f"rotate({rotate} {_num(x)} {_num(y)})" if rotate else None
        attributes = _attrs(text_anchor=anchor, font_size=size, fill=fill, font_weight=weight,
                            transform=transform)
        self.add(f'<text x="{_num(x)}" y="{_num(y)}"{attributes}>'
                 f'{_title(title)}{esc(text)}</text>')

    def circle(self, cx: float, cy: float, r: float, fill: str | None = None,
               title: str | None = None, stroke: str | None = None) -> None:
        self.add(f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(r)}"'
                 f'{_attrs(fill=fill, stroke=stroke)}>{_title(title)}</circle>')

    def polyline(self, points: Sequence[tuple[float, float]], stroke: str, width: float = 2,
                 dash: str | None = None) -> None:
        coordinates = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        self.add(f'<polyline points="{coordinates}" fill="none"'
                 f'{_attrs(stroke=stroke, stroke_width=width, stroke_dasharray=dash)}/>')

    def marker(self, x: float, y: float, shape: str, colour: str, size: float = 4,
               title: str | None = None) -> None:
        """A point mark: "circle", "cross", "down" (a triangle pointing down) or "square"."""
        if shape == "circle":
            self.circle(x, y, size, fill=colour, title=title)
        elif shape == "square":
            self.rect(x - size, y - size, 2 * size, 2 * size, fill=colour, title=title)
        else:
            attributes = _attrs(fill=colour if shape == "down" else "none", stroke=colour,
                                stroke_width=2 if shape == "cross" else None)
            self.add(f'<path d="{marker_path(x, y, shape, size)}"{attributes}>'
                     f'{_title(title)}</path>')

    def render(self) -> str:
        return (f'<svg viewBox="0 0 {_num(self.width)} {_num(self.height)}" role="img"'
                f' aria-label="{esc(self.label)}" font-size="{FONT_SIZE}">'
                + "".join(self.parts) + "</svg>")


def marker_path(x: float, y: float, shape: str, size: float) -> str:
    """Path data for the "cross" and "down" markers, centred on (x, y)."""
    s = size
    if shape == "cross":
        return (f"M{_num(x - s)} {_num(y - s)}L{_num(x + s)} {_num(y + s)}"
                f"M{_num(x - s)} {_num(y + s)}L{_num(x + s)} {_num(y - s)}")
    return f"M{_num(x - s)} {_num(y - s)}L{_num(x + s)} {_num(y - s)}L{_num(x)} {_num(y + s)}Z"


def axes(svg: Svg, x: Scale, y: Scale, x_label: str, y_label: str,
         x_format: Callable[[float], str] = fmt, y_format: Callable[[float], str] = fmt,
         x_ticks: Iterable[float] | None = None, y_ticks: Iterable[float] | None = None) -> None:
    """Grid lines, tick labels, the two axis lines and their labels around the plot area."""
    left, right = min(x.start, x.end), max(x.start, x.end)
    top, bottom = min(y.start, y.end), max(y.start, y.end)
    for tick in y.ticks() if y_ticks is None else y_ticks:
        ty = y(tick)
        svg.line(left, ty, right, ty, stroke=GRID_COLOUR)
        svg.text(left - 6, ty + 4, y_format(tick), anchor="end", fill=AXIS_COLOUR)
    last_label_end = -math.inf
    for tick in x.ticks() if x_ticks is None else x_ticks:
        tx = x(tick)
        svg.line(tx, top, tx, bottom, stroke=GRID_COLOUR)
        svg.line(tx, bottom, tx, bottom + 4)
        label = x_format(tick)
        half = text_width(label) / 2
        if tx - half > last_label_end + 4:  # skip a label that would overlap its neighbour
            svg.text(tx, bottom + 17, label, anchor="middle", fill=AXIS_COLOUR)
            last_label_end = tx + half
    svg.line(left, bottom, right, bottom)
    svg.line(left, top, left, bottom)
    svg.text((left + right) / 2, bottom + 36, x_label, anchor="middle", fill="#333")
    svg.text(14, (top + bottom) / 2, y_label, anchor="middle", fill="#333", rotate=-90)


@dataclass(frozen=True)
class LegendItem:
    label: str
    colour: str
    shape: str = "square"  # a marker shape, or "line" / "dash" for a line sample


def legend(svg: Svg, x: float, y: float, items: Sequence[LegendItem], max_width: float) -> float:
    """Lay the items out left to right from (x, y), wrapping rows; returns the height used."""
    row_height = 20
    cx, cy = x, y
    for item in items:
        width = 18 + text_width(item.label) + 18
        if cx + width > x + max_width and cx > x:
            cx, cy = x, cy + row_height
        if item.shape in ("line", "dash"):
            svg.line(cx, cy, cx + 14, cy, stroke=item.colour, width=2.5,
                     dash="5 3" if item.shape == "dash" else None)
        else:
            svg.marker(cx + 7, cy, item.shape, item.colour, size=5)
        svg.text(cx + 19, cy + 4, item.label, fill="#333")
        cx += width
    return cy - y + row_height if items else 0
