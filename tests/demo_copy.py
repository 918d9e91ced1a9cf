"""The demo workspace built once per session and copied wherever a test asks for one.

A build takes 12-20 s on the 2-core box and some thirty modules and tests asked for their own (same seed, same
`now`): minutes of a suite that neared CI's 90. A copy is what those tests got before, file for file; only the
registry's absolute artifact paths are moved to the copy's folder, so an action that logs to MLflow writes under
the copy, never into the shared build.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

from fixed_time import DEMO_NOW

ROOT: Path | None = None  # set by conftest's session fixture: a folder of the session's basetemp
_BUILT: dict[tuple[int, datetime], Path] = {}


def demo_at(directory: Path, *, now: datetime = DEMO_NOW, seed: int = 7) -> Path:
    """As `console.demo.workspace.build_workspace(directory, now=now, seed=seed)`; returns the config's path."""
    from console.demo.workspace import CONFIG_NAME, build_workspace

    if ROOT is None:
        raise RuntimeError("demo_copy.ROOT is set by tests/conftest.py's session fixture")
    key = (seed, now)
    if key not in _BUILT:
        source = ROOT / f"seed{seed}-{now:%Y%m%dT%H%M%S}" / "ws"
        build_workspace(source, now=now, seed=seed)
        _BUILT[key] = source
    source = _BUILT[key]
    target = Path(directory).expanduser().resolve()
    shutil.copytree(source, target, dirs_exist_ok=True)
    relocate_registry(target / "mlflow.db", str(source), str(target))
    return target / CONFIG_NAME


def relocate_registry(db: Path, old: str, new: str) -> None:
    """Every text value of the sqlite registry that names `old` names `new` instead (artifact locations, sources)."""
    con = sqlite3.connect(db)
    try:
        cur = con.cursor()
        tables = [r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        cells = [(t, r[1]) for t in tables for r in cur.execute(f'PRAGMA table_info("{t}")').fetchall()]
        for table, column in cells:
            cur.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '
                        f'WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0', (old, new, old))
        con.commit()
        left = sum(cur.execute(f'SELECT COUNT(*) FROM "{t}" WHERE instr(CAST("{c}" AS TEXT), ?) > 0', (old,))
                   .fetchone()[0] for t, c in cells)
        assert not left, f"{db} still names {old}"
    finally:
        con.close()
