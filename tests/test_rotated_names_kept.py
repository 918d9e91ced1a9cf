"""A log rotated under a name that does not end in its format keeps its rows: Python's own
`logging.handlers.TimedRotatingFileHandler` names the rotated file `p.jsonl.2026-12-06_19` (hourly), and a file
renamed by any rotation scheme (`p.jsonl.old`) is still the file the store was reading.

Found by a concurrency probe (helper h4, 2026-12-06): a writer rotating `p.jsonl*` under such names while commands
ran lost every rotated file's unread tail without a word (its cursor moved past rows no segment held), and a
rotated file first seen under such a name was one "format not known" row for all its lines. Counts are hand counts
of the rows written; each command is a real process on one store.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _workspace(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    config = tmp_path / "c.toml"
    config.write_text(f'[[logs]]\nkind = "predictions"\npath = "logs/p.jsonl*"\n[store]\npath = "{tmp_path / "store"}"\n',
                      encoding="utf-8")
    return config


def _counted(config: Path, tmp_path: Path) -> tuple[int, int, str]:
    out = subprocess.run([sys.executable, "-m", "console", "--config", str(config), "snapshot", "--format", "json"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": SRC, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    counts = json.loads(out.stdout)["counts"]
    return counts["predictions"], counts["malformed"], out.stderr


def _row(i: int) -> str:
    ts = (datetime.now(UTC) - timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    return json.dumps({"ts": ts, "model": "m", "version": "1", "request_id": f"r{i}", "latency_ms": 3.0,
                       "status": 200, "prediction": "1"})


def test_rows_rotated_by_pythons_timed_handler_are_kept(tmp_path):
    config = _workspace(tmp_path)
    log = logging.getLogger(f"rotated-{tmp_path.name}")
    log.propagate = False
    handler = logging.handlers.TimedRotatingFileHandler(tmp_path / "logs" / "p.jsonl", when="H")
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        for i in range(40):
            log.info(_row(i))
        assert _counted(config, tmp_path)[:2] == (40, 0)
        for i in range(40, 65):  # a tail no process has read when the hour's rollover renames the file
            log.info(_row(i))
        handler.doRollover()
        for i in range(65, 70):
            log.info(_row(i))
    finally:
        handler.close()
        log.removeHandler(handler)
    rotated = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert len(rotated) == 2 and rotated[1].startswith("p.jsonl.2") and "_" in rotated[1], rotated
    assert _counted(config, tmp_path)[:2] == (70, 0)
    # a store that first sees the rotated file under its rotated name reads all its rows too
    cold = tmp_path / "cold.toml"
    cold.write_text(config.read_text(encoding="utf-8").replace(str(tmp_path / "store"), str(tmp_path / "cold")),
                    encoding="utf-8")
    assert _counted(cold, tmp_path)[:2] == (70, 0)


def test_a_file_renamed_to_a_name_of_no_format_is_read_to_its_end(tmp_path):
    config = _workspace(tmp_path)
    log = tmp_path / "logs" / "p.jsonl"
    log.write_text("".join(_row(i) + "\n" for i in range(50)), encoding="utf-8")
    assert _counted(config, tmp_path)[:2] == (50, 0)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write("".join(_row(i) + "\n" for i in range(50, 70)))
    log.rename(log.with_name("p.jsonl.old"))  # the tail of 20 rows not read yet
    log.write_text("".join(_row(i) + "\n" for i in range(70, 75)), encoding="utf-8")
    assert _counted(config, tmp_path)[:2] == (75, 0)
