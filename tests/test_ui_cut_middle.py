"""Drift's FEATURE column at 80 columns keeps the end of a long name (thirty-second session's TUI probe: cut at
16 cells, `customer_lifetime_value_30d` and `customer_lifetime_value_90d` both read `customer_lifeti…`, one
DRIFT and one ok, and nothing on the row told them apart)."""

from __future__ import annotations

from textual.app import App

from console.ui.screens.drift import DriftScreen
from console.ui.widgets.filter_table import FilterTable


class OneTable(App):
    def compose(self):
        yield FilterTable(DriftScreen.COLUMNS, id="features")

    def on_mount(self):
        self.query_one(FilterTable).set_rows(
            (name, [name, "0.5", "score >= 0.1", verdict, "100", ""])
            for name, verdict in (("customer_lifetime_value_30d", "DRIFT"), ("customer_lifetime_value_90d", "ok"),
                                  ("[red]客户终身价值_30天", "ok"), ("items", "ok")))


async def test_names_sharing_a_long_prefix_stay_apart_at_80_columns():
    app = OneTable()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(FilterTable)
        first = [row[0].plain for row in (table.table.get_row(k) for k in table.row_keys)]
        assert len(set(first)) == 4, first
        assert first[0].endswith("_30d") and first[1].endswith("_90d") and first[3] == "items", first
        assert all(len(name) <= 16 and name.count("…") == 1 for name in first[:3]), first
        assert table.row_keys[0] == "customer_lifetime_value_30d"  # the key (what `y` copies) stays whole
        table.open_filter()
        await pilot.press(*"value_90")  # the filter reads the whole name
        await pilot.pause()
        assert table.row_keys == ["customer_lifetime_value_90d"]
