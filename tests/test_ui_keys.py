"""Keys: palette reaches every screen and model, `?` lists the screen's keys, remaps work, `/` filters, esc backs."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette

from console.ui.keymap import HOSTILE_KEYS, check_keymap, known_ids, normalize
from console.ui.navigation import SCREENS, load_screens, screens
from console.ui.screens.help import HelpScreen
from console.ui.screens.overview import OverviewScreen
from console.ui.widgets.filter_table import FilterTable
from ui_fixtures import HOSTILE_MODEL, make_app, screen_text, wait_for_snapshot


async def palette_options(app, pilot, query: str) -> list[str]:
    await pilot.press("colon")
    for _ in range(100):
        if isinstance(app.screen, CommandPalette):
            break
        await pilot.pause(0.02)
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*query) if query else None
    options: list[str] = []
    for _ in range(200):  # results stream in from an async search: poll until they settle
        await pilot.pause(0.02)
        listing = app.screen.query_one(CommandList)
        now = [str(listing.get_option_at_index(i).prompt).split("\n")[0] for i in range(listing.option_count)]
        if now and now == options:
            break
        options = now
    return options


async def test_palette_reaches_every_registered_screen_and_model(tmp_path):
    load_screens()
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        models = {r.name for r in app.snapshot.rows}
        assert HOSTILE_MODEL in models
        opened = []
        real_open = app.open_screen
        app.open_screen = lambda name, *a, **k: opened.append(name)  # other screens test themselves
        for spec in screens():
            options = await palette_options(app, pilot, f":{spec.name}")
            assert any(f":{spec.name}" in o for o in options), (spec.name, options)
            await pilot.press("enter")
            await pilot.pause()
            assert opened[-1] == spec.name
        assert opened == [s.name for s in screens()]
        app.open_screen = real_open
        for model in models:
            options = await palette_options(app, pilot, "")  # discovery lists every model
            assert any(f"model {model} (" in o for o in options), (model, options)
            await pilot.press("escape")
            await pilot.pause()
        # choosing a model from the palette selects it (or opens its screen when one is registered)
        options = await palette_options(app, pilot, "model fraud")
        assert options and options[0].startswith("model fraud-detector")
        await pilot.press("enter")
        await pilot.pause()
        if "model" not in SCREENS:
            assert isinstance(app.screen, OverviewScreen)
            assert app.screen.context()[0] == "fraud-detector"


async def test_help_lists_the_keys_of_the_current_screen(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {cells[3].plain for cells in (app.screen.query_one(FilterTable).cells(k)
                                            for k in app.screen.query_one(FilterTable).all_keys)}
        assert {"overview.open", "filter", "back", "copy"} <= ids  # the overview's own keys
        assert {"quit", "refresh", "help", "palette", "palette.colon", "theme", "screenshot"} <= ids  # global
        text = screen_text(app)
        assert "Keys for Overview" in text and "overview.open" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_remapped_key_works_and_old_one_does_not(tmp_path):
    app = make_app(tmp_path, keys={"refresh": "f5"})
    calls = []
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        app.poll = lambda: calls.append("poll")  # the refresh action calls poll(); count without I/O
        app.check_registry = lambda: None
        await pilot.press("r")
        await pilot.pause()
        assert calls == []
        await pilot.press("f5")
        await pilot.pause()
        assert calls == ["poll"]
        # help shows the new key for the id
        await pilot.press("question_mark")
        await pilot.pause()
        table = app.screen.query_one(FilterTable)
        rows = [table.cells(k) for k in table.all_keys]
        assert any(c[3].plain == "refresh" and c[1].plain.lower() == "f5" for c in rows)


async def test_help_title_names_the_remapped_back_and_filter_keys(tmp_path):
    """The help title said "/ filters, esc goes back" whatever `[keys]` mapped them to (TUI probe)."""
    from textual.widgets import Static

    app = make_app(tmp_path, keys={"back": "backspace", "filter": "f"})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        title = str(app.screen.query_one("#help-title", Static).render())
        assert "f filters, " in title and "esc" not in title.lower(), title
        assert "⌫ goes back" in title or "backspace goes back" in title.lower(), title  # as Textual shows the key
        await pilot.press("backspace")
        await pilot.pause()
        assert app.screen.SCREEN_NAME != "help"


async def test_filter_shows_matching_rows_and_esc_clears(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        table = app.screen.query_one(FilterTable)
        total = len(table.row_keys)
        await pilot.press("slash", *"fraud")
        await pilot.pause()
        assert table.filtering and len(table.row_keys) == 2
        assert all(k.startswith("fraud-detector") for k in table.row_keys)
        await pilot.press("q")  # typed into the filter, does not quit
        await pilot.pause()
        assert app.is_running and table.filter_text == "fraudq" and table.row_keys == []
        # a filter that matches nothing says so (TUI probe: an empty table said nothing)
        assert f"no row of {total} matches 'fraudq' (esc clears)" in screen_text(app), screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not table.filtering and len(table.row_keys) == total
        assert "matches 'fraudq'" not in screen_text(app)


async def test_copy_selected_id_uses_the_clipboard(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_snapshot(app, pilot)
        app.screen.select_model("fraud-detector", "production")
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == "models:/fraud-detector/3"


async def test_too_small_terminal_says_so(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(50, 12)) as pilot:
        await wait_for_snapshot(app, pilot)
        assert "terminal too small (need 60x15, have 50x12)" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        text = screen_text(app)
        assert "too small" not in text and "fraud-detector" in text


def test_defaults_avoid_tmux_and_shell_keys():
    from console.ui.app import ConsoleApp

    load_screens()
    known = known_ids(ConsoleApp, [s.factory for s in SCREENS.values() if isinstance(s.factory, type)])
    assert {"quit", "quit.ctrl", "refresh", "help", "palette", "palette.colon", "filter", "back", "copy",
            "screenshot", "theme"} <= set(known)
    assert known["quit"] == "q" and known["quit.ctrl"] == "ctrl+q"
    for bid, key in known.items():
        assert normalize(key) not in HOSTILE_KEYS, (bid, key)
    assert check_keymap({"refresh": "ctrl+a"}, known)
    assert check_keymap({"refersh": "f5"}, known)
    assert check_keymap({"refresh": "f5"}, known) == []
