"""Themes: shipped files load, user themes add, a broken one falls back with a notice, NO_COLOR stays readable."""

from __future__ import annotations

import pytest

from console.ui.themes import DEFAULT_THEME, SHIPPED, ThemeError, load_theme_file, load_themes, parse_theme
from console.ui.widgets.sparkline import sparkline
from ui_fixtures import HOSTILE_MODEL, make_app, screen_text, wait_for_snapshot


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    home = tmp_path / "xdg"
    (home / "mlops-console" / "themes").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home / "mlops-console" / "themes"


def test_shipped_themes_load():
    loaded = load_themes()
    assert set(SHIPPED) <= set(loaded.themes)
    assert loaded.themes["console-light"].dark is False
    assert loaded.errors == []


def test_theme_file_errors_are_named(tmp_path):
    with pytest.raises(ThemeError, match="primary"):
        parse_theme({"name": "x"})
    with pytest.raises(ThemeError, match="not a colour"):
        parse_theme({"name": "x", "primary": "blurple"})
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ThemeError, match="TOML"):
        load_theme_file(bad)


async def test_user_theme_is_used(tmp_path, xdg):
    (xdg / "mine.toml").write_text('name = "mine"\ndark = true\nprimary = "#ff8800"\n', encoding="utf-8")
    app = make_app(tmp_path / "ws", theme="mine")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        assert app.theme == "mine"
        assert "mine" in app.theme_names()


async def test_broken_theme_falls_back_with_a_notice(tmp_path, xdg):
    (xdg / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n', encoding="utf-8")
    app = make_app(tmp_path / "ws", theme="broken")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for_snapshot(app, pilot)
        assert app.theme == DEFAULT_THEME
        messages = [n.message for n in app._notifications]
        assert any("broken.toml" in m and "not a colour" in m for m in messages), messages
        assert any("'broken' is not available" in m and DEFAULT_THEME in m for m in messages), messages
        assert app.is_running


async def test_theme_key_cycles(tmp_path, xdg):
    app = make_app(tmp_path / "ws")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        assert app.theme == DEFAULT_THEME
        seen = [app.theme]
        for _ in range(len(app.theme_names())):
            await pilot.press("t")
            await pilot.pause()
            seen.append(app.theme)
        assert set(SHIPPED) <= set(seen) and seen[-1] == DEFAULT_THEME


async def test_no_color_renders_readably(tmp_path, xdg, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path / "ws")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        assert app.no_color and app.screen.has_class("-no-color")
        text = screen_text(app)
        assert HOSTILE_MODEL in text and "◆ production" in text  # production marked by a symbol
        cursor = app.screen.query_one("DataTable").get_component_styles("datatable--cursor")
        assert "reverse" in str(cursor.text_style) and "bold" in str(cursor.text_style)


def test_sparkline_unicode_and_ascii():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], ascii=False).plain == "▁▂▃▄▅▆▇█"
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], ascii=True).plain == "_.-~=+*#"
    assert sparkline([1, None, 3], ascii=True).plain == "_ #"
    assert len(sparkline(list(range(100)), 10, ascii=False).plain) == 10


def test_ascii_on_vt100(monkeypatch):
    import importlib

    mod = importlib.import_module("console.ui.widgets.sparkline")

    mod.unicode_ok.cache_clear()
    monkeypatch.setenv("TERM", "vt100")
    monkeypatch.delenv("MLOPS_CONSOLE_ASCII", raising=False)
    try:
        assert mod.unicode_ok() is False
        assert set(sparkline([1, 2, 3]).plain) <= set(mod.ASCII)
    finally:
        mod.unicode_ok.cache_clear()
