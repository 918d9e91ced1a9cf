"""`pip install .` (not only -e) must work: the wheel carries queries/ and themes/ and finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_queries_and_themes(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True)
    wheel = next(tmp_path.glob("mlops_console-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for sql in (ROOT / "queries").glob("*.sql"):
        assert f"console/queries/{sql.name}" in names
    for theme in (ROOT / "themes").iterdir():
        assert f"console/themes/{theme.name}" in names
    assert any(n.endswith(".tcss") for n in names)
    # unpacked, the package resolves its data inside itself, not from a checkout
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    out = subprocess.run([sys.executable, "-c", "from console.resources import queries_dir, themes_dir;"
                          "print(queries_dir()); print(themes_dir())"],
                         capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                         check=True)
    q, t = out.stdout.split()
    assert q == str(site / "console" / "queries") and t == str(site / "console" / "themes")
