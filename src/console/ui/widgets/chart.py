"""A time chart for detail pages, drawn by plotext (through textual-plotext's per-widget figure).

Usage::

    chart = TimeChart(title="p95 latency", unit="ms", id="latency")          # in compose()
    chart.set_series(values, times=buckets, window=(start, end), threshold=300.0,
                     marks=[(onset, "!"), (deployed_at, "D")], title="p95 per 30m, 24h")

The x axis is the window's time range, and each point sits at its own time, so a gap or an onset can be
read off the axis; the y axis is scaled to the data and to the threshold, which is drawn as a line;
marks (an open incident's onset `!`, deployments `D`) are vertical lines. Height comes from CSS.

Colour is a help, never the message: under NO_COLOR the plot is monochrome, and on terminals that cannot
draw Unicode (vt100, MLOPS_CONSOLE_ASCII=1) every glyph is mapped to 7-bit ASCII (`*` points, `-` `|` `+`
for lines and the frame), so the chart reads the same over a serial console.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import datetime, timedelta

from rich.text import Text
from textual.widget import Widget

from console.ui.text import printable
from console.ui.widgets.sparkline import unicode_ok

Point = tuple[datetime, float | None]
# box drawing, blocks and braille to 7-bit: lines become - | +, anything drawn as a point becomes *
_ASCII = {**{c: "-" for c in "─━╌╍┄┅┈┉╴╶╼╾▁▔"}, **{c: "|" for c in "│┃╎╏┆┇┊┋╵╷╽╿▏▕"},
          **{c: "+" for c in "┌┐└┘├┤┬┴┼╭╮╯╰┏┓┗┛┣┫┳┻╋"}, "•": "*", "·": ".", "…": "."}


def fmt(v: float) -> str:
    """Compact numbers for labels: 23.9k, 1.2M, 0.0123."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.1f}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.1f}"
    return f"{v:.3g}"


def to_ascii(text: str) -> str:
    return "".join(_ASCII.get(c, c) if ord(c) < 128 or c in _ASCII else "*" for c in text)


_STEPS = [timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)]


def _ticks(start: datetime, end: datetime, n: int) -> tuple[list[float], list[str]]:
    """At most `n` time labels at round times (every 5 min, 1 h, 6 h, 1 day ...) inside [start, end],
    as offsets in seconds from start."""
    span = end - start
    step = next((s for s in _STEPS if span / s <= max(n - 1, 1)), _STEPS[-1])
    epoch = datetime(2000, 1, 3)  # a Monday at midnight: day and week steps land on midnights
    first = epoch + math.ceil((start - epoch) / step) * step
    form = "%H:%M" if step < timedelta(days=1) else "%m-%d"
    pos, labels, t = [], [], first
    while t <= end:
        pos.append((t - start).total_seconds())
        labels.append(f"{t:{form}}")
        t += step
    return pos, labels


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Runs of finite points: a gap (None, NaN) breaks the line instead of being drawn as zero."""
    out: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None or not math.isfinite(y):
            if out[-1]:
                out.append([])
            continue
        out[-1].append((x, float(y)))
    return [s for s in out if s]


BREACH = {">=": lambda v, t: v >= t, ">": lambda v, t: v > t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t}


def _row(v: float, lo: float, hi: float, rows: int) -> int:
    """The canvas row plotext draws `v` on (0 at the bottom): its own mapping (`get_matrix_data`), used for
    the points and the threshold line alike."""
    return math.floor(round(0.5 + (rows - 1) * (v - lo) / (hi - lo), 8))


def _centre(row: int, lo: float, hi: float, rows: int) -> float:
    return lo + row * (hi - lo) / (rows - 1)


def _past_the_line(xy: list[tuple[float, float | None]], threshold: float, breach: str, lo: float, hi: float,
                   rows: int) -> tuple[list[tuple[float, float | None]], float, float]:
    """(points, lo, hi) such that a point is drawn past the threshold's row iff it breaches: a breaching
    point that would land on the line's own row (it is within half a row of the threshold) is drawn one row
    past it, and the axis is widened when the line sits on the edge a breaching point must pass. A point
    that does not breach already lands on the line's row or before it (one rounding for both)."""
    up = breach.startswith(">")
    hit = BREACH[breach]
    finite = [v for _, v in xy if v is not None and math.isfinite(v)]
    if rows < 3 or not any(hit(v, threshold) for v in finite):
        return xy, lo, hi
    line = _row(threshold, lo, hi, rows)
    if up and line >= rows - 1:  # the threshold on the top row: move it to the middle of the one under it
        hi = lo + (threshold - lo) * (rows - 1) / (rows - 2)
    elif not up and line <= 0:
        lo = ((rows - 1) * threshold - hi) / (rows - 2)
    line = _row(threshold, lo, hi, rows)
    out = []
    for x, v in xy:
        if v is not None and math.isfinite(v) and hit(v, threshold):
            r = _row(v, lo, hi, rows)
            if up and r <= line:
                v = _centre(line + 1, lo, hi, rows)
            elif not up and r >= line:
                v = _centre(line - 1, lo, hi, rows)
        out.append((x, v))
    return out, lo, hi


def render_chart(points: Sequence[Point], width: int, height: int, *, start: datetime, end: datetime,
                 title: str = "", unit: str = "", threshold: float | None = None,
                 marks: Sequence[tuple[datetime, str]] = (), ascii: bool | None = None,
                 color: bool = True, breach: str | None = None, floor: float | None = None) -> Text:
    """The chart as `height` lines of `width` cells.

    `breach` (">=", ">", "<=" or "<"): how a value compares with `threshold` to breach it (a drift score
    over its threshold, a p-value under it). Then a point is drawn past the threshold line iff it breaches,
    whatever the rounding to text rows, and the line's row is labelled with the threshold's exact value."""
    from textual_plotext.plot import Plot

    use_ascii = (not unicode_ok()) if ascii is None else ascii
    width, height = max(width, 20), max(height, 5)
    span = max((end - start).total_seconds(), 1.0)
    xy = [((t - start).total_seconds(), v) for t, v in points if start <= t <= end]
    finite = [float(v) for _, v in xy if v is not None and math.isfinite(v)]
    plt = Plot()
    plt.plotsize(width, height - 1)  # the title is ours (plotext drops a title longer than its frame)
    plt._set_size(width, height - 1)
    plt.theme("clear")
    head = printable(title)
    if finite:
        head += f"  last {fmt(finite[-1])}{unit}  min {fmt(min(finite))}  max {fmt(max(finite))}"
    else:
        head += "  no data in this window"
    lows = finite + ([threshold] if threshold is not None else [])
    lo, hi = (min(lows), max(lows)) if lows else (0.0, 1.0)
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 1.0)
    flat_from_zero = bool(lows) and lo == hi and lo >= 0 and lo - pad < 0
    lo, hi = lo - pad, hi + pad
    if flat_from_zero:  # a flat series near zero (an all-zero cost): the axis starts at 0, no negative row
        lo = 0.0
    if floor is not None and lo < floor <= min(lows, default=floor):  # no value below it: nor the axis (a cost
        lo = floor                                                     # axis labelled -0.302 dollars)
    rows = (height - 1) - 2 - 1  # the plot's canvas: the figure less its frame and the time labels
    if threshold is not None and breach in BREACH:
        xy, lo, hi = _past_the_line(xy, threshold, breach, lo, hi, rows)
    marker = "*" if use_ascii else "•"
    series_color = "cyan" if color else None
    for seg in _segments(xy):
        xs, ys = [p[0] for p in seg], [p[1] for p in seg]
        if len(seg) == 1:
            plt.scatter(xs, ys, marker=marker, color=series_color)
        else:
            plt.plot(xs, ys, marker=marker, color=series_color)
    if threshold is not None:
        plt.hline(threshold, "red" if color else None)
    for when, label in marks:
        if start <= when <= end:
            x = (when - start).total_seconds()
            plt.vline(x, "orange" if color else None)
            plt.text(label, x, hi, color="orange" if color else None, alignment="center")
    plt.xlim(0, span)
    plt.ylim(lo, hi)
    pos, labels = _ticks(start, end, max(2, min(6, width // 14)))
    plt.xticks(pos, labels)
    # up to four labels, each on the centre of a canvas row: a label between rows went to the row it is nearest,
    # so a flat line at 1.68 on a 3-row chart (rows at 0.68, 1.68, 2.68) was labelled 2.0
    yt = [_centre(r, lo, hi, rows) for r in sorted({round(i * (rows - 1) / 3) for i in range(4)})]
    labels = [f"{fmt(v)}{unit}" for v in yt]
    if threshold is not None and breach in BREACH:  # the line's row says the threshold's exact value
        line = _row(threshold, lo, hi, rows)
        keep = [i for i, v in enumerate(yt) if _row(v, lo, hi, rows) != line]
        yt, labels = [yt[i] for i in keep] + [threshold], [labels[i] for i in keep] + [f"{threshold:g}{unit}"]
    plt.yticks(yt, labels)
    out = plt.build()
    if not color:
        out = _strip_ansi(out)
    if use_ascii:
        out = to_ascii(out)
        head = to_ascii(head)
    title_line = Text(head, style="bold", no_wrap=True, overflow="ellipsis")
    title_line.truncate(width, overflow="ellipsis")
    return Text("\n", no_wrap=True, overflow="crop").join([title_line, Text.from_ansi(out, no_wrap=True,
                                                                                        overflow="crop")])


def _strip_ansi(s: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", s)


def points_of(values: Sequence[float | None], times: Sequence[datetime] | None, start: datetime | None,
              end: datetime | None) -> list[Point]:
    """Pairs each value with its time: given times, else spread evenly from start to end (old callers)."""
    if times is not None:
        return list(zip(times, values))
    if start is None or end is None or not values:
        return []
    n = len(values)
    step = (end - start) / (n - 1) if n > 1 else timedelta(0)
    return [(start + i * step, v) for i, v in enumerate(values)]


class TimeChart(Widget):
    DEFAULT_CSS = """
    TimeChart { height: 10; width: 1fr; }
    """

    def __init__(self, title: str = "", unit: str = "", *, lo: float | None = None, name: str | None = None,
                 id: str | None = None, classes: str | None = None):
        super().__init__(name=name, id=id, classes=classes)
        self.title, self.unit, self.lo = title, unit, lo
        self.points: list[Point] = []
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.threshold: float | None = None
        self.breach: str | None = None
        self.marks: tuple = ()

    def set_series(self, values: Sequence[float | None], start: datetime | None = None,
                   end: datetime | None = None, title: str | None = None, *,
                   times: Sequence[datetime] | None = None, window: tuple[datetime, datetime] | None = None,
                   threshold: float | None = None, marks: Sequence[tuple[datetime, str]] = (),
                   breach: str | None = None) -> None:
        """`window`: the x axis's range (the screen's window); without it, the first to the last point.
        `breach`: see `render_chart` (points past the threshold line iff they breach it)."""
        points = points_of(values, times, start, end)
        if window is not None:
            start, end = window
        elif points:
            start, end = points[0][0], points[-1][0]
        new = (points, start, end, self.title if title is None else title, threshold, tuple(marks), breach)
        if new == (self.points, self.start, self.end, self.title, self.threshold, self.marks, self.breach):
            return  # nothing changed: no repaint, no bytes to the terminal
        self.points, self.start, self.end, self.title, self.threshold, self.marks, self.breach = new
        self.refresh()

    def render(self) -> Text:
        w, h = self.size.width, self.size.height
        if self.start is None or self.end is None or self.end <= self.start:
            return Text(f"{printable(self.title)}  no data", no_wrap=True, overflow="crop")
        no_color = bool(getattr(self.app, "no_color", False) or os.environ.get("NO_COLOR"))
        return render_chart(self.points, w, h, start=self.start, end=self.end, title=self.title, unit=self.unit,
                            threshold=self.threshold, marks=self.marks, color=not no_color, breach=self.breach,
                            floor=self.lo)
