"""A DataTable with a `/` filter and responsive columns, fed by whole row sets that it diffs.

Usage (in a screen built on `ConsoleScreen`)::

    COLUMNS = [Col("model", "MODEL", width=22), Col("env", "ENV"), Col("cost", "COST", min_width=100)]
    yield FilterTable(COLUMNS, id="models")             # compose
    table.set_rows([(key, [cell, cell, cell]), ...])     # handler: the full current row set, in order

Cells are rich `Text` (use `console.ui.text.safe` for data); anything else is passed through `safe()`,
so a str is never read as markup. A column with `min_width` is shown only when the terminal is at least
that wide. `set_rows` touches only the cells that changed, so a steady refresh writes almost nothing.
`/` (the screen's `filter` binding) calls `open_filter()`; esc in the filter clears it; enter keeps it and
returns to the table. The filter matches a case-insensitive substring of any cell, hidden columns too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from console.ui.text import safe


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    width: int | None = None  # fixed width (cells are cut with an ellipsis); None: fit the content
    min_width: int = 0  # the terminal width from which this column shows
    wide_width: int | None = None  # width when the terminal is >= 160 columns (more room: longer names)
    priority: int = 0  # > 0: the table keeps the most important columns (1 first) that fit its width
    flex: bool = False  # takes the width left over (so truncated text gets the room the row has)
    cut_middle: bool = False  # a cut keeps the end too: names sharing a long prefix stay apart ("customer_…e_30d")


class DiffTable(DataTable):
    """A DataTable whose `update_cell` repaints only that cell (DataTable repaints the whole table), so a
    refresh that changes three numbers writes three numbers' worth of bytes to the terminal."""

    # a row table: home and end go to the first and last row (DataTable scrolls them sideways, and its ctrl+home /
    # ctrl+end often do not get through tmux or SSH)
    BINDINGS = [Binding("home", "scroll_top", "First row", show=False),
                Binding("end", "scroll_bottom", "Last row", show=False)]

    def update_cell(self, row_key, column_key, value, *, update_width: bool = False) -> None:
        from textual.coordinate import Coordinate
        from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        rk = RowKey(row_key) if isinstance(row_key, str) else row_key
        ck = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        if rk not in self._row_locations or ck not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row_key!r}, column_key={column_key!r}.")
        self._data[rk][ck] = value
        self._update_count += 1
        self.refresh_coordinate(Coordinate(self._row_locations.get(rk), self._column_locations.get(ck)))


def _cell(value) -> Text:
    return value if isinstance(value, Text) else safe(value)


def cut_middle(text: Text, width: int) -> Text:
    """`text` in `width` cells with an ellipsis in the middle: cut at the end, `feature_value_30d` and
    `feature_value_90d` were one name twice, with two verdicts."""
    if width < 5 or text.cell_len <= width:
        return text
    keep = width - 1
    head = text.copy()
    head.truncate(keep - max(4, keep // 3), overflow="crop")  # the start reads as the name, the end tells it apart
    room, start = keep - head.cell_len, len(text.plain)
    while start > 0 and cell_len(text.plain[start - 1:]) <= room:
        start -= 1
    out = head + Text("…", style=text.style) + text[start:]
    out.no_wrap, out.overflow = True, "ellipsis"
    return out


class FilterInput(Input):
    DEFAULT_CSS = """
    FilterInput, FilterInput:focus { border: none; height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("escape", "clear_filter", "Clear filter", id="filter.clear"),
        Binding("enter", "keep_filter", "Keep filter", id="filter.keep", show=False),
    ]

    def action_clear_filter(self) -> None:
        self.parent.clear_filter()  # type: ignore[union-attr]

    def action_keep_filter(self) -> None:
        self.parent.keep_filter()  # type: ignore[union-attr]


class FilterTable(Vertical):
    DEFAULT_CSS = """
    FilterTable { height: 1fr; }
    FilterTable > FilterInput { display: none; }
    FilterTable.-filtering > FilterInput { display: block; }
    FilterTable > DataTable { height: 1fr; scrollbar-size-vertical: 1; }
    FilterTable > .no-match { display: none; height: 1; padding: 0 1; color: $text-muted; }
    FilterTable.-no-match > .no-match { display: block; }
    """

    class Filtered(Message):
        def __init__(self, table: FilterTable, text: str) -> None:
            super().__init__()
            self.filter_table, self.text = table, text

    class Resized(Message):
        """The table's size changed (a Resize does not reach the screen): a screen that lists only the rows
        that fit counts them again."""

        def __init__(self, table: FilterTable) -> None:
            super().__init__()
            self.filter_table = table

    def __init__(self, columns: Sequence[Col], *, cursor_type: str = "row", id: str | None = None,
                 classes: str | None = None, zebra_stripes: bool = False):
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self._cursor_type = cursor_type
        self._zebra = zebra_stripes
        self._rows: dict[str, list[Text]] = {}  # key -> all cells (every column), in insertion order
        self._order: list[str] = []
        self._shown_cols: list[Col] = []
        self._shown_keys: list[str] = []
        self.filter_text = ""

    def compose(self) -> ComposeResult:
        box = FilterInput(placeholder="filter (esc clears)", id=f"{self.id or 'table'}-filter")
        box.can_focus = False  # until `/` opens it: tab and auto-focus go to the table
        yield box
        yield Static("", classes="no-match")  # a filter that matches no row says so (an empty table said nothing)
        yield DiffTable(cursor_type=self._cursor_type, zebra_stripes=self._zebra)

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def on_mount(self) -> None:
        self._layout_columns(force=True)

    def on_resize(self) -> None:
        self._layout_columns()
        self.post_message(self.Resized(self))

    # ------------------------------------------------------------------ data

    @property
    def row_keys(self) -> list[str]:
        """Keys of the rows shown (after the filter), top to bottom."""
        return list(self._shown_keys)

    @property
    def all_keys(self) -> list[str]:
        return list(self._order)

    @property
    def selected_key(self) -> str | None:
        table = self.table
        if not self._shown_keys or table.cursor_row < 0 or table.cursor_row >= len(self._shown_keys):
            return None
        return self._shown_keys[table.cursor_row]

    def select_key(self, key: str) -> bool:
        if key in self._shown_keys:
            self.table.move_cursor(row=self._shown_keys.index(key))
            return True
        return False

    def cells(self, key: str) -> list[Text]:
        return list(self._rows.get(key, []))

    def set_rows(self, rows: Iterable[tuple[str, Sequence[object]]]) -> None:
        new_rows: dict[str, list[Text]] = {}
        order: list[str] = []
        for key, cells in rows:
            new_rows[key] = [_cell(c) for c in cells]
            order.append(key)
        self._rows, self._order = new_rows, order
        self._sync()

    # ------------------------------------------------------------------ filter

    def open_filter(self) -> None:
        self.filter_input.can_focus = True
        self.add_class("-filtering")
        self.filter_input.focus()

    def keep_filter(self) -> None:
        if not self.filter_text:
            self.remove_class("-filtering")
            self.filter_input.can_focus = False
        self.table.focus()

    def clear_filter(self) -> None:
        self.filter_input.value = ""
        self.filter_text = ""
        self.remove_class("-filtering")
        self.filter_input.can_focus = False
        self._sync()
        self.table.focus()
        self.post_message(self.Filtered(self, ""))

    @property
    def filtering(self) -> bool:
        return self.has_class("-filtering")

    @on(Input.Changed)
    def _on_filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value
        self._sync()
        self.post_message(self.Filtered(self, event.value))

    @on(Input.Submitted)
    def _on_filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.keep_filter()

    def _matches(self, key: str) -> bool:
        needle = self.filter_text.strip().lower()
        if not needle:
            return True
        return any(needle in c.plain.lower() for c in self._rows[key])

    # ------------------------------------------------------------------ drawing

    PADDING = 2  # DataTable's cell padding, one cell each side
    SCROLLBAR = 1  # the table's vertical scrollbar (DEFAULT_CSS: Textual's own is 2 cells, one more than the
    # widths left it, so a fleet that scrolled down also scrolled one column sideways)

    def _room(self) -> int:
        width = self.size.width if self.is_attached and self.size.width else 0
        return (width or (self.app.size.width if self.is_attached else 80)) - self.SCROLLBAR

    def _width(self, c: Col, wide: bool) -> int | None:
        """The declared width (None: fit the content)."""
        return c.wide_width if wide and c.wide_width else c.width

    def _estimate(self, c: Col, wide: bool) -> int:
        return self._width(c, wide) or max(len(c.label), 8)

    def _visible_columns(self) -> list[Col]:
        width = self.app.size.width if self.is_attached else 80
        cols = [c for c in self.columns if width >= c.min_width]
        if not any(c.priority for c in cols):
            return cols
        wide, room, keep = width >= 160, self._room(), set()
        for c in sorted(cols, key=lambda c: c.priority or 99):  # most important first, while they fit
            need = self._estimate(c, wide) + self.PADDING
            if need <= room:
                keep.add(c.key)
                room -= need
        return [c for c in cols if c.key in keep]

    def _widths(self, cols: list[Col], wide: bool) -> list[int | None]:
        """Fixed widths, with what the row has left given to the flex columns."""
        widths = [self._width(c, wide) for c in cols]
        flex = [i for i, c in enumerate(cols) if c.flex and widths[i] is not None]
        spare = self._room() - sum(self._estimate(c, wide) + self.PADDING for c in cols)
        if flex and spare > 0:
            for n, i in enumerate(flex):
                widths[i] += spare // len(flex) + (1 if n < spare % len(flex) else 0)
        return widths

    def _layout_columns(self, force: bool = False) -> None:
        cols = self._visible_columns()
        wide = self.app.size.width >= 160
        widths = self._widths(cols, wide)
        if not force and cols == self._shown_cols and getattr(self, "_wide", None) == wide \
                and widths == getattr(self, "_shown_widths", None):
            return
        self._shown_cols, self._wide, self._shown_widths = cols, wide, widths
        table = self.table
        key = self.selected_key
        table.clear(columns=True)
        for c, width in zip(cols, widths):
            table.add_column(Text(c.label, style="bold"), key=c.key, width=width)
        self._shown_keys = []
        self._sync()
        if key:
            self.select_key(key)

    def _project(self, key: str) -> list[Text]:
        index = {c.key: i for i, c in enumerate(self.columns)}
        cells = self._rows[key]
        out = [cells[index[c.key]] if index[c.key] < len(cells) else Text("") for c in self._shown_cols]
        widths = getattr(self, "_shown_widths", None) or [None] * len(out)
        return [cut_middle(cell, w) if c.cut_middle and w else cell
                for c, cell, w in zip(self._shown_cols, out, widths)]

    def _sync(self) -> None:
        if not self.is_mounted or not self._shown_cols:
            return
        table = self.table
        wanted = [k for k in self._order if self._matches(k)]
        none = bool(self.filter_text.strip() and self._order and not wanted)
        if none:
            self.query_one(".no-match", Static).update(
                safe(f"no row of {len(self._order):,} matches '{self.filter_text.strip()}' (esc clears)"))
        self.set_class(none, "-no-match")
        if wanted == self._shown_keys:
            for key in wanted:  # same rows in the same order: update only the cells that changed
                new = self._project(key)
                old = table.get_row(key)
                for c, before, after in zip(self._shown_cols, old, new):
                    if before != after:
                        table.update_cell(key, c.key, after)
            return
        selected = self.selected_key
        if set(wanted) <= set(self._shown_keys) and [k for k in self._shown_keys if k in wanted] == wanted:
            for key in [k for k in self._shown_keys if k not in wanted]:  # rows only went away
                table.remove_row(key)
            self._shown_keys = [k for k in self._shown_keys if k in wanted]
            self._sync()
            return
        table.clear()
        for key in wanted:
            table.add_row(*self._project(key), key=key)
        self._shown_keys = wanted
        if selected:
            self.select_key(selected)
