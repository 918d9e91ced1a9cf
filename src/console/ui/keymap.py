"""Key bindings by id: the defaults, the user's `[keys]` remaps, and the keys we never bind by default.

`[keys]` in the config maps a binding id to a key string (`refresh = "f5"`, or several: `"f5,ctrl+r"`);
`ConsoleApp` passes it to `App.set_keymap`, which rebinds that id on every screen and widget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# tmux prefix (ctrl+a / ctrl+b), readline/vim/shell keys and flow control that ssh/tmux may swallow
HOSTILE_KEYS = frozenset({"ctrl+a", "ctrl+b", "ctrl+d", "ctrl+k", "ctrl+j", "ctrl+s", "ctrl+z", "ctrl+enter",
                          "ctrl+w", "ctrl+u", "ctrl+l"})


def normalize(key: str) -> str:
    from textual.keys import _character_to_key

    parts = [p.strip() for p in key.split("+")]
    if len(parts[-1]) == 1:
        parts[-1] = _character_to_key(parts[-1])
    return "+".join(parts)


def binding_ids(bindings: Iterable) -> dict[str, str]:
    """{id: key} for bindings that have an id."""
    out = {}
    for b in bindings:
        bid = getattr(b, "id", None)
        if bid:
            out[bid] = b.key
    return out


def known_ids(app_cls, screen_classes: Iterable[type]) -> dict[str, str]:
    """Every binding id the console defines, with its default key (app, registered screens, our widgets)."""
    from textual.binding import Binding

    from console.ui.widgets.filter_table import FilterInput

    ids: dict[str, str] = {}
    for cls in (app_cls, FilterInput, *screen_classes):
        for klass in reversed(cls.__mro__):
            for b in klass.__dict__.get("BINDINGS", []):
                if isinstance(b, Binding) and b.id:
                    ids[b.id] = b.key
    return ids


def check_keymap(keymap: Mapping[str, str], known: Mapping[str, str]) -> list[str]:
    """Warnings for a user keymap: unknown ids (typos) and keys that tmux/ssh/shells eat."""
    warnings = []
    for bid, keys in keymap.items():
        if bid not in known:
            warnings.append(f"keys.{bid}: no binding has this id (known: {', '.join(sorted(known))})")
        for key in keys.split(","):
            if normalize(key.strip()) in HOSTILE_KEYS:
                warnings.append(f"keys.{bid}: {key.strip()} is often taken by tmux, the shell or the terminal")
    return warnings
