"""Data shows literally everywhere: markup-looking names, ESC sequences, click actions never act."""

from __future__ import annotations

from rich.text import Text
from textual.widgets._toast import Toast

from console.ui.commands import entries
from console.ui.screens.base import ConsoleScreen
from console.ui.widgets.breadcrumb import crumb_text
from console.ui.widgets.filter_table import Col, FilterTable
from test_ui_keys import palette_options
from ui_fixtures import CLICK_MODEL, HOSTILE_MODEL, make_app, raw_control_chars, screen_text, wait_for_snapshot


class ModelPage(ConsoleScreen):
    SCREEN_TITLE = "Drift"

    def compose_body(self):
        yield FilterTable([Col("k", "KEY"), Col("v", "VALUE")], id="t")

    def on_mount(self):
        self.query_one(FilterTable).set_rows([("a", ["tag", "\x1b[2J\x07"]), ("b", ["note", "[@click=app.quit]"]),
                                              ("c", ["plain str", "[bold red]x"])])


def svg_text(app) -> str:
    import html

    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


async def test_hostile_names_render_literally_everywhere(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for_snapshot(app, pilot)
        text = screen_text(app)
        assert HOSTILE_MODEL in text and CLICK_MODEL in text  # the overview table
        assert "v7\\x" in text  # the champion version with an ESC, spelled out (cut to the column)
        assert raw_control_chars(text) == []
        assert "\x1b" not in app.export_screenshot()

        # clicking the click-markup cell does nothing (it is text, not an action)
        await pilot.click("#models", offset=(5, 2))
        await pilot.pause()
        assert app.is_running

        # breadcrumb of a model-scoped page, its table, and a notification carrying data
        app.push_screen(ModelPage(model=HOSTILE_MODEL, environment="production"))
        await pilot.pause()
        app.notify(f"{CLICK_MODEL} \x1b[2J")
        await pilot.pause()
        text = screen_text(app)
        assert f"Overview › {HOSTILE_MODEL} › Drift" in text or f"Overview > {HOSTILE_MODEL} > Drift" in text
        assert "PROD" in text
        assert "[@click=app.quit]" in text and "\\x1b[2J\\x07" in text and "plain str" in text
        toasts = []
        for _ in range(50):
            toasts = [str(t.render()) for t in app.screen.query(Toast)]
            if toasts:
                break
            await pilot.pause(0.02)
        assert f"{CLICK_MODEL} \\x1b[2J" in toasts[-1] and "\x1b" not in toasts[-1]
        # line separators other than "\n" (a carriage return, a vertical tab, U+2028) are data too: they split a
        # toast into lines a registry text chose (actions probe)
        app.notify("v3 by ops\rok: promoted v9\x0bline\u2028forged")
        for _ in range(50):
            toasts = [str(t.render()) for t in app.screen.query(Toast)]
            if any("forged" in t for t in toasts):
                break
            await pilot.pause(0.02)
        (forged,) = [t for t in toasts if "forged" in t]
        assert len(forged.splitlines()) == 1 and not any(c in forged for c in "\r\x0b\u2028"), repr(forged)
        assert raw_control_chars(text) == []
        assert "\x1b" not in app.export_screenshot()
        assert HOSTILE_MODEL in svg_text(app)

        # help and the palette
        await pilot.press("question_mark")
        await pilot.pause()
        assert HOSTILE_MODEL in screen_text(app)  # "Keys for Overview > [bold red]x > Drift"
        await pilot.press("escape")
        await pilot.pause()
        options = await palette_options(app, pilot, "")
        assert any(HOSTILE_MODEL in o for o in options) and any(CLICK_MODEL in o for o in options)
        assert raw_control_chars(screen_text(app)) == []
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running


async def test_palette_entries_are_plain(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        labels = [e.label for e in entries(app, app.screen)]
        assert f"model {HOSTILE_MODEL} (production) PROD" in labels


def test_crumb_text_is_literal():
    t = crumb_text(["Overview", "[b]x\x1b[2J"], production=True, workspace="[@click=app.quit]")
    assert isinstance(t, Text)
    assert "[b]x\\x1b[2J" in t.plain and "[@click=app.quit]" in t.plain and "PROD" in t.plain
    assert "\x1b" not in t.plain
