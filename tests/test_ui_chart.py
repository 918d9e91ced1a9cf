"""Charts that tell time: each point is drawn in the column of its own time on an axis spanning the window,
the y axis is scaled to the data and the threshold (drawn), marks sit at their times; read back from the
rendered columns. Sparklines scale per row."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

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


# ---------------------------------------------------------------------------------------- the threshold line

THRESHOLD = 0.1
# scores around a drift threshold of 0.1 ("score >= 0.1"): two within a thousandth of it, one exactly on it
SCORES = [0.02, 0.0995, 0.1005, 0.2, 0.1, 0.06, 0.099, 0.13]


def spaced(scores: list[float]) -> list[tuple[datetime, float | None]]:
    """Each score alone (a gap between any two), two hours apart: drawn as single points, no joining line."""
    out: list[tuple[datetime, float | None]] = []
    for i, s in enumerate(scores):
        out += [(START + timedelta(hours=1 + 2 * i), s), (START + timedelta(hours=2 + 2 * i), None)]
    return out


def rows_of_points(lines: list[str], points, marker: str) -> tuple[int, dict[float, int]]:
    """(the threshold line's row, each point's row), rows counted upwards from the plot's bottom, read off
    the rendered text: the line is the row mostly drawn with its dash; a point is the marker in its column."""
    left, right, rows = plot_area(lines)
    dash = "-" if marker == "*" else "─"
    line = next(i for i, row in enumerate(rows) if row[left:right + 1].count(dash) > 0.5 * (right - left))
    found = {}
    for t, v in points:
        if v is None:
            continue
        col = round(column_of(t, left, right))
        hits = [i for i, row in enumerate(rows) if marker in row[col - 1:col + 2]]
        assert len(hits) == 1, (v, hits)
        found[v] = len(rows) - 1 - hits[0]
    return len(rows) - 1 - line, found


@pytest.mark.parametrize("height", [10, 14, 16])
def test_a_score_is_drawn_past_the_threshold_line_iff_it_is_over_it(height):
    pts = spaced(SCORES)
    lines = render_chart(pts, 100, height, start=START, end=END, title="amount wasserstein", threshold=THRESHOLD,
                         breach=">=", color=False, ascii=True).plain.splitlines()
    line, rows = rows_of_points(lines, pts, "*")
    for score, row in rows.items():
        assert (row > line) == (score >= THRESHOLD), (score, row, line)  # past the line iff it drifts
    assert rows[0.0995] <= line < rows[0.1005]  # a thousandth under is not drawn over, a thousandth over is
    left = plot_area(lines)[0]
    labels = {len(plot_area(lines)[2]) - 1 - i: row[:left].strip(" +|")
              for i, row in enumerate(plot_area(lines)[2])}
    assert labels[line] == "0.1"  # the line's row says the threshold's exact value


def test_a_p_value_is_drawn_under_the_threshold_line_iff_it_drifts():
    # "p <= 0.05": drift is under the line; 0.05 itself drifts
    scores = [0.3, 0.0501, 0.0499, 0.05, 0.2, 0.001, 0.04]
    pts = spaced(scores)
    lines = render_chart(pts, 100, 12, start=START, end=END, title="x ks", threshold=0.05, breach="<=",
                         color=False, ascii=True).plain.splitlines()
    line, rows = rows_of_points(lines, pts, "*")
    for score, row in rows.items():
        assert (row < line) == (score <= 0.05), (score, row, line)


def test_a_threshold_on_the_edge_leaves_room_past_it():
    # every score under the threshold but one exactly on it: the line must not sit on the top row
    pts = spaced([0.03, 0.02, 0.01, 0.1])
    lines = render_chart(pts, 100, 10, start=START, end=END, title="t", threshold=0.1, breach=">=", color=False,
                         ascii=True).plain.splitlines()
    line, rows = rows_of_points(lines, pts, "*")
    assert rows[0.1] > line and all(rows[s] <= line for s in (0.03, 0.02, 0.01))


async def test_the_drift_chart_widget_draws_scores_on_the_right_side_of_its_line(monkeypatch):
    """Pilot: the TimeChart as a screen draws it (unicode glyphs), a score a thousandth either side."""
    from textual.app import App

    from console.ui.widgets import TimeChart

    monkeypatch.setenv("MLOPS_CONSOLE_ASCII", "0")
    pts = spaced(SCORES)

    class One(App):
        CSS = "TimeChart { height: 14; }"

        def compose(self):
            yield TimeChart(id="chart")

    app = One()
    async with app.run_test(size=(100, 16)) as pilot:
        chart = app.query_one(TimeChart)
        chart.set_series([v for _, v in pts], times=[t for t, _ in pts], window=(START, END),
                         title="amount wasserstein score, drift when score >= 0.1", threshold=THRESHOLD, breach=">=")
        await pilot.pause()
        lines = [strip.text for strip in app.screen._compositor.render_strips()][:14]
        line, rows = rows_of_points(lines, pts, "•")
        for score, row in rows.items():
            assert (row > line) == (score >= THRESHOLD), (score, row, line)
        assert rows[0.0995] <= line < rows[0.1005]


def test_an_all_zero_series_has_an_axis_from_zero():
    """An all-zero cost used to get an axis from -1 to 1 with a row labelled -0.333: a cost is never negative.
    The axis now starts at 0, its labels 0 to 1, and every point sits on the bottom row."""
    pts = [(START + timedelta(hours=h), 0.0) for h in range(24)]
    lines = render_chart(pts, 80, 16, start=START, end=END, title="cost", color=False, ascii=True).plain.splitlines()
    left, right, rows = plot_area(lines)
    labels = [l[:left - 1].strip() for l in lines[2:-2] if l[:left - 1].strip()]  # the frame's rows, not the times
    assert not any(label.startswith("-") for label in labels), labels
    # labels sit on row centres (12 rows: rows 0, 4, 7 and 11 of 0..11), so each names the row it is on
    assert [float(x) for x in labels if x.replace(".", "").isdigit()] == pytest.approx([1.0, 7 / 11, 4 / 11, 0.0],
                                                                                       abs=1e-3)
    with_points = [i for i, row in enumerate(rows) if "*" in row[left:right + 1]]
    assert with_points == [len(rows) - 1]


def test_a_chart_with_a_floor_never_labels_its_axis_below_it():
    """TUI probe: a cost chart (its widget says `lo=0.0`, which the drawing ignored) had a row labelled -0.302
    dollars: the padding under its smallest value went below zero. With a floor, the axis starts there."""
    pts = [(START + timedelta(hours=h), 0.02 + (h % 5) * 0.4) for h in range(24)]
    for floor, negative in ((None, True), (0.0, False)):
        lines = render_chart(pts, 80, 16, start=START, end=END, title="cost", color=False, ascii=True,
                             floor=floor).plain.splitlines()
        left, _, _ = plot_area(lines)
        labels = [l[:left - 1].strip() for l in lines[2:-2] if l[:left - 1].strip()]
        assert any(label.startswith("-") for label in labels) is negative, labels


def test_a_flat_latency_under_its_slo_line_has_no_negative_axis():
    # twenty-eighth session's probe: every latency 5 ms under a 300 ms SLO line labelled the axis down to -18.6ms
    pts = [(START + timedelta(hours=h), 5.0) for h in range(24)]
    plain = render_chart(pts, 80, 12, start=START, end=END, title="p95", unit="ms", threshold=300.0, color=False,
                         ascii=True, floor=0.0).plain
    ticks = [float(v) for v in re.findall(r"(-?[0-9.]+)ms\+", plain)]
    assert len(ticks) >= 3 and min(ticks) == 0.0, plain
