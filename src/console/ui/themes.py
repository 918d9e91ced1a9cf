"""Theme files (TOML) into Textual `Theme`s: the shipped `themes/` folder, then the user's
`$XDG_CONFIG_HOME/mlops-console/themes/` (same name overrides). A broken file is reported, not fatal.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.theme import Theme

DEFAULT_THEME = "console-dark"
SHIPPED = ("console-dark", "console-light", "console-high-contrast")
COLOR_KEYS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "boost",
              "success", "warning", "error")
ALLOWED = {"name", "dark", "variables", "luminosity_spread", "text_alpha", *COLOR_KEYS}


class ThemeError(Exception):
    pass


@dataclass(frozen=True)
class ThemeLoad:
    themes: dict[str, Theme]
    errors: list[str]  # one line per broken file: "path: what is wrong"


def user_themes_dir() -> Path:
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return xdg / "mlops-console" / "themes"


def shipped_themes_dir() -> Path | None:
    from console.resources import themes_dir

    try:
        return themes_dir()
    except FileNotFoundError:
        return None


def parse_theme(data: dict, source: str = "theme") -> Theme:
    from textual.color import Color, ColorParseError

    unknown = set(data) - ALLOWED
    if unknown:
        raise ThemeError(f"unknown key(s) {', '.join(sorted(unknown))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeError("name: expected a non-empty string")
    if "primary" not in data:
        raise ThemeError("primary: required")
    kwargs: dict = {"name": name.strip()}
    for key in COLOR_KEYS:
        if key in data:
            value = data[key]
            if not isinstance(value, str):
                raise ThemeError(f"{key}: expected a colour string such as \"#4ea1ff\"")
            try:
                Color.parse(value)
            except ColorParseError:
                raise ThemeError(f"{key}: {value!r} is not a colour") from None
            kwargs[key] = value
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError("dark: expected true or false")
    kwargs["dark"] = dark
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            if not isinstance(data[key], (int, float)) or isinstance(data[key], bool):
                raise ThemeError(f"{key}: expected a number")
            kwargs[key] = float(data[key])
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeError("variables: expected a table of strings")
    kwargs["variables"] = {str(k): v for k, v in variables.items()}
    return Theme(**kwargs)


def load_theme_file(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeError(f"cannot read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ThemeError(f"not valid TOML: {exc}") from None
    return parse_theme(data, str(path))


def load_themes(dirs: list[Path | None] | None = None) -> ThemeLoad:
    if dirs is None:
        dirs = [shipped_themes_dir(), user_themes_dir()]
    themes: dict[str, Theme] = {}
    errors: list[str] = []
    for d in dirs:
        if d is None or not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                errors.append(f"{path}: {exc}")
                continue
            themes[theme.name] = theme
    return ThemeLoad(themes, errors)


def install(app, wanted: str) -> tuple[str, list[str]]:
    """Registers every theme on `app`; returns (the theme to use, problems to notify)."""
    loaded = load_themes()
    for theme in loaded.themes.values():
        app.register_theme(theme)
    problems = list(loaded.errors)
    available = app.available_themes
    if wanted in available:
        return wanted, problems
    if wanted != DEFAULT_THEME:
        problems.append(f"theme {wanted!r} is not available (broken or missing file); using {DEFAULT_THEME}")
    if DEFAULT_THEME in available:
        return DEFAULT_THEME, problems
    return "textual-dark", problems + [f"the {DEFAULT_THEME} theme file is missing; using textual-dark"]


def cycle_order(app) -> list[str]:
    """Our themes first (shipped, then the user's), then Textual's ANSI theme (uses the terminal's 16 colours)."""
    names = [n for n in SHIPPED if n in app.available_themes]
    ours = load_themes([user_themes_dir()]).themes
    names += [n for n in sorted(ours) if n not in names and n in app.available_themes]
    if "textual-ansi" in app.available_themes:
        names.append("textual-ansi")
    return names
