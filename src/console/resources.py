"""Where the shipped `queries/` and `themes/` folders are.

In a wheel they sit inside the package (hatch force-include); in a source checkout or an
editable install they sit at the repository root. Both layouts must work.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    for candidate in (_PKG / name, _PKG.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the console's {name}/ folder is missing from this installation")


def queries_dir() -> Path:
    return data_dir("queries")


def themes_dir() -> Path:
    return data_dir("themes")
