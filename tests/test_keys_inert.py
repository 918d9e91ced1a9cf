"""A `[keys]` value is a key name: one holding a control, bidi or zero-width character names no key an operator can
press, and the footer drew it as it was (a probe's `refresh = "\\u001b[2J\\u202e"` cleared the line and reversed
the rest of the footer at 80x24). It is refused at load, one line naming the key, as any other wrong value."""

from __future__ import annotations

import pytest

from console.cli import main
from console.config import ConfigError, parse_file
from test_security import unsafe_in


@pytest.mark.parametrize("value", ["\\u001b[2J", "r\\u202e", "ctrl+\\u009b", "f5,\\u200br", "a\\u2028b"])
def test_a_key_with_a_character_that_is_no_key_is_refused(tmp_path, capsys, value):
    path = tmp_path / "mlops-console.toml"
    path.write_text(f'[keys]\nrefresh = "{value}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        parse_file(path)
    assert err.value.key == "keys.refresh" and "expected a key name" in str(err.value)
    assert main(["--config", str(path), "snapshot"]) == 2
    out, said = capsys.readouterr()
    assert out == "" and "keys.refresh" in said and unsafe_in(said) == [], said


def test_ordinary_keys_still_load(tmp_path):
    path = tmp_path / "mlops-console.toml"
    path.write_text('[keys]\nrefresh = "f5, ctrl+r"\n"time.back" = "["\n"time.jump" = "@"\n', encoding="utf-8")
    assert parse_file(path).keys == {"refresh": "f5, ctrl+r", "time.back": "[", "time.jump": "@"}
