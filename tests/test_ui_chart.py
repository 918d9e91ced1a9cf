"""Charts that tell time: each point is drawn in the column of its own time on an axis spanning the window,
the y axis is scaled to the data and the threshold (drawn), marks sit at their times; read back from the
rendered columns. Sparklines scale per row."""

from __future__ import annotations

from datetime import datetime, timedelta

from console.ui.widgets.chart import render_chart
from console.ui.widgets.sparkline import sparkline

START = datetime(2026, 7, 4, 0, 0)
END = START + timedelta(hours=24)


def plot_area(lines: list[str]) -> tuple[int, int, list[str]]:
    """(first column inside the frame, last column inside it, the rows inside it)."""
    top = next(i for i, l in enumerate(lines) if "┌" in l or "+--" in l)
    bottom = max(i for i, l in enumerate(lines) if "└" in l or ("+" in l and "--" in l and i > top))
    frame = lines[top]
    left = frame.index("┌") if "┌" in frame else frame.index("+")
    right = frame.rindex("┐") if "┐" in frame else frame.rindex("+")
    return left + 1, right - 1, lines[top + 1:bottom]


def columns_with(rows: list[str], chars: str, left: int, right: int) -> list[int]:
    return sorted({c for row in rows for c in range(left, min(right + 1, len(row))) if row[c] in chars})


def column_of(t: datetime, left: int, right: int) -> float:
    return left + (t - START) / (END - START) * (right - left)


def test_points_span_the_axis_and_sit_at_their_times():
    # hourly points across the whole day: drawn from the left edge of the plot to its right edge
    pts = [(START + timedelta(hours=h, minutes=30), 0.95 - 0.005 * h) for h in range(24)]
    lines = render_chart(pts, 100, 14, start=START, end=END, title="accuracy", color=False, ascii=True).plain.splitlines()
    left, right, rows = plot_area(lines)
    cols = columns_with(rows, "*", left, right)
    width = right - left
    assert cols[0] - left <= 0.05 * width and right - cols[-1] <= 0.05 * width, (cols[0], cols[-1], left, right)
    # six hours of data at the end of the window: only the last quarter of the axis has points
    late = [(START + timedelta(hours=18, minutes=30 + 10 * i), 400.0 + i) for i in range(30)]
    lines = render_chart(late, 100, 14, start=START, end=END, title="p95", color=False, ascii=True).plain.splitlines()
    left, right, rows = plot_area(lines)
    cols = columns_with(rows, "*", left, right)
    assert abs(cols[0] - column_of(late[0][0], left, right)) <= 2, (cols[0], column_of(late[0][0], left, right))
    assert abs(cols[-1] - column_of(late[-1][0], left, right)) <= 2


def test_y_axis_scaled_to_the_data_and_the_threshold_line_drawn():
    # a 0.95 -> 0.83 drop fills the plot's height instead of one row near the top of a 0..1 axis
    pts = [(START + timedelta(hours=h), 0.95 if h < 12 else 0.83) for h in range(24)]
    lines = render_chart(pts, 80, 16, start=START, end=END, title="accuracy", threshold=0.9, color=False,
                         ascii=True).plain.splitlines()
    left, right, rows = plot_area(lines)
    with_points = [i for i, row in enumerate(rows) if "*" in row[left:right + 1]]
    assert with_points[-1] - with_points[0] >= len(rows) // 2  # the drop spans at least half the height
    between = [i for i, row in enumerate(rows) if row[left:right + 1].count("-") > 0.5 * (right - left)]
    assert between and with_points[0] < between[0] < with_points[-1]  # the threshold line, between the levels
    labels = " ".join(l[:left] for l in lines)
    assert "0.0" not in labels.split()  # the axis does not start at 0


def test_marks_sit_at_their_time_and_gaps_are_not_zero():
    onset = START + timedelta(hours=16)
    pts = [(START + timedelta(hours=h), 300.0 if h != 10 else None) for h in range(24)]
    lines = render_chart(pts, 100, 12, start=START, end=END, title="p95", marks=[(onset, "!")], color=False,
                         ascii=True).plain.splitlines()
    left, right, rows = plot_area(lines)
    bang = [row.index("!") for row in rows if "!" in row]
    assert bang and abs(bang[0] - column_of(onset, left, right)) <= 2
    assert "no data" not in lines[0]


def test_unicode_and_no_data():
    pts = [(START + timedelta(hours=h), float(h)) for h in range(24)]
    text = render_chart(pts, 60, 10, start=START, end=END, title="t", color=False, ascii=False).plain
    assert "•" in text and "┌" in text
    empty = render_chart([], 60, 10, start=START, end=END, title="t", color=False, ascii=True).plain
    assert "no data in this window" in empty and all(ord(c) < 128 for c in empty)


def test_sparklines_scale_per_row():
    steady_low = sparkline([2.0, 2.2, 1.8, 2.4], ascii=True)
    steady_high = sparkline([20.0, 22.0, 18.0, 24.0], ascii=True)
    assert steady_low.plain == steady_high.plain  # the same shape, whatever the level
    assert len(set(steady_low.plain)) > 2  # not a solid bar
