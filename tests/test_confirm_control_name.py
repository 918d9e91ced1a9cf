"""A model whose registry name holds a control character could not be confirmed in production: the dialog shows
the name spelled out (`fraud\\x1bv2`, never a raw ESC), and only the raw name was accepted, which no keyboard
types into the field. The form shown is accepted now; a name that is neither is still refused."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input

from console.actions.operator import Plan
from console.ui.screens.confirm import ActionChoice, ActionDialog, ActionRequest
from ui_fixtures import screen_text, until

MODEL = "fraud\x1bv2"
SHOWN = "fraud\\x1bv2"  # what the dialog draws, typed key by key below


def _request() -> ActionRequest:
    plan = Plan("rollback", MODEL, "production", "direct", "rollback", "1", "2", "champion",
                summary="roll champion back: v2 -> v1 in production")
    return ActionRequest("rollback", "Rollback", MODEL, "production", plans={"": plan}, typed=True,
                         production=True, reason="bad release")


async def _typed(keys: list[str]) -> tuple[list, str]:
    """What the dialog dismissed with (nothing while it stays open) after `keys` and enter, and its text."""
    results: list = []

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(ActionDialog(_request()), results.append)

    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ActionDialog) and app.screen.focused is not None
                    and app.screen.focused.id == "typed", "the dialog, the name field focused")
        await pilot.pause()
        shown = screen_text(app)
        await pilot.press(*keys, "enter")
        await pilot.pause()
        if isinstance(app.screen, ActionDialog):
            assert app.screen.query_one("#typed", Input).value != ""
    return results, shown


async def test_the_name_as_shown_confirms_it():
    keys = ["backslash" if ch == "\\" else ch for ch in SHOWN]
    results, shown = await _typed(keys)
    assert SHOWN in shown and "\x1b" not in shown  # the form typed is the form on screen
    assert len(results) == 1 and isinstance(results[0], ActionChoice), results
    assert results[0].plan.model == MODEL


async def test_another_name_does_not():
    results, _ = await _typed(list("fraudv2"))  # the name with its control character left out
    assert results == []


def test_the_cli_prompt_takes_the_same_forms():
    from console.actions.policy import name_confirmed  # (the one test of what both doors accept)

    assert name_confirmed(SHOWN + "\n", MODEL) and name_confirmed(MODEL, MODEL)
    assert not name_confirmed("fraudv2", MODEL) and not name_confirmed("fraud", MODEL)
