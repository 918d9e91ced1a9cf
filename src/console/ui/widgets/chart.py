"""A multi-row block chart for detail pages: y axis max/min labels, x axis time range, a title.

Usage::

    chart = TimeChart(title="p95 latency", unit="ms", id="latency")   # in compose()
    chart.set_series(values, start=datetime, end=datetime)          # in a handler, values oldest first

Height comes from CSS (default 8 rows: 1 title + plot + 1 axis). Eighth blocks give 8 steps per row;
on ASCII terminals `#` fills and `.` marks partial cells. No colour is needed to read it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from console.ui.text import printable
from console.ui.widgets.sparkline import resample, unicode_ok

EIGHTHS = " ▁▂▃▄▅▆▇█"


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.1f}"
    return f"{v:.3g}"


def render_chart(values: Sequence[float | None], width: int, height: int, *, title: str = "", unit: str = "",
                 start: datetime | None = None, end: datetime | None = None, ascii: bool | None = None,
                 lo: float | None = None) -> Text:
    """The chart as `height` lines of `width` cells (title, plot rows, time axis)."""
    use_ascii = (not unicode_ok()) if ascii is None else ascii
    width, height = max(width, 12), max(height, 3)
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    vmin = min(finite) if finite else 0.0
    vmax = max(finite) if finite else 0.0
    floor = min(vmin, 0.0) if lo is None else lo
    top = vmax if vmax > floor else floor + 1.0
    labels = (f"{_fmt(top)}{unit}", f"{_fmt(floor)}{unit}")
    axis_w = max(len(s) for s in labels) + 1
    plot_w, plot_h = width - axis_w - 1, height - 2
    pts = resample(values, plot_w)
    out = Text(no_wrap=True, overflow="crop")
    head = printable(title)
    if finite:
        head += f"  last {_fmt(finite[-1])}{unit}  min {_fmt(vmin)}  max {_fmt(vmax)}"
    else:
        head += "  no data"
    out.append(head[:width] + "\n", style="bold")
    vbar = "|" if use_ascii else "│"
    for row in range(plot_h):  # row 0 is the top
        label = labels[0] if row == 0 else labels[1] if row == plot_h - 1 else ""
        out.append(label.rjust(axis_w - 1) + " " + vbar)
        cells = []
        for v in pts:
            if v is None or not math.isfinite(v):
                cells.append(" ")
                continue
            eighths = round((float(v) - floor) / (top - floor) * plot_h * 8)
            fill = eighths - (plot_h - 1 - row) * 8
            if fill >= 8:
                cells.append("#" if use_ascii else "█")
            elif fill <= 0:
                cells.append(" ")
            else:
                cells.append("." if use_ascii else EIGHTHS[fill])
        out.append("".join(cells) + "\n")
    left = f"{start:%m-%d %H:%M}" if start else ""
    right = f"{end:%m-%d %H:%M}Z" if end else ""
    gap = max(1, plot_w - len(left) - len(right))
    out.append(" " * (axis_w + 1) + (left + " " * gap + right)[:plot_w], style="dim")
    return out


class TimeChart(Widget):
    DEFAULT_CSS = """
    TimeChart { height: 8; width: 1fr; }
    """

    def __init__(self, title: str = "", unit: str = "", *, lo: float | None = None, name: str | None = None,
                 id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.title, self.unit, self.lo = title, unit, lo
        self.values: list[float | None] = []
        self.start: datetime | None = None
        self.end: datetime | None = None

    def set_series(self, values: Sequence[float | None], start: datetime | None = None,
                   end: datetime | None = None, title: str | None = None) -> None:
        new = (list(values), start, end, self.title if title is None else title)
        if new == (self.values, self.start, self.end, self.title):
            return  # nothing changed: no repaint, no bytes to the terminal
        self.values, self.start, self.end, self.title = new
        self.refresh()

    def render(self) -> Text:
        return render_chart(self.values, self.size.width, self.size.height, title=self.title, unit=self.unit,
                            start=self.start, end=self.end, lo=self.lo)
