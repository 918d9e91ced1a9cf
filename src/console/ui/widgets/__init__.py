"""Widgets every screen can use: the filterable table, sparklines, the chart, the breadcrumb."""

from console.ui.widgets.breadcrumb import Breadcrumb, crumb_text
from console.ui.widgets.chart import TimeChart, render_chart
from console.ui.widgets.filter_table import Col, FilterTable
from console.ui.widgets.sparkline import glyph, sparkline, unicode_ok

__all__ = ["Breadcrumb", "Col", "FilterTable", "TimeChart", "crumb_text", "glyph", "render_chart", "sparkline",
           "unicode_ok"]
