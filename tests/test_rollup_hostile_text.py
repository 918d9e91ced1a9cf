"""`mlops-console rollup` prints text from the logs and the config (model names in its progress lines and its
summary's first reads, the rollup folder, a skipped source's path): that text is data, inert on the terminal as
every other command's (a differential probe of every door found ESC, C1 and bidi characters printed raw here)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from console.cli import main
from console.safe_text import printable
from test_security import unsafe_in

MODEL = "m[bold]x\x1b[2J\u202e\x9b"
FOLDER = "roll[b]\x1b]0;t\x07\u202e"
START = datetime(2026, 3, 10, 0, 0)


def _workspace(tmp_path):
    rows = [{"ts": (START + timedelta(minutes=i)).isoformat() + "Z", "model": MODEL, "version": "1",
             "request_id": f"r{i}", "amount": float(i % 17)} for i in range(240)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pq.write_table(pa.table({"amount": [float(i % 13) for i in range(200)]}), tmp_path / "ref.parquet")
    cut = tmp_path / "cut\x1b[2J\u202e.parquet"  # a Parquet log that is not Parquet: a skipped source, named
    cut.write_bytes(b"not parquet")
    config = tmp_path / "mlops-console.toml"
    config.write_text(
        f'[store]\npath = "store"\n[rollups]\npath = {json.dumps(str(tmp_path / FOLDER))}\nmin_rows = 1\n'
        '[[logs]]\nkind = "predictions"\npath = "p.jsonl"\n'
        f'[[logs]]\nkind = "predictions"\nformat = "parquet"\npath = {json.dumps(str(tmp_path) + "/cut*.parquet")}\n'
        f'[models.{json.dumps(MODEL)}]\nreference = "ref.parquet"\nfeatures = ["amount"]\n', encoding="utf-8")
    return config


def test_rollup_text_and_notes_are_inert(tmp_path, capsys):
    config = _workspace(tmp_path)
    code = main(["--config", str(config), "--at", "2026-03-10T04:00Z", "rollup", "--until", "2026-03-10T04:00Z"])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)  # the cut Parquet file was skipped: not everything was built
    assert unsafe_in(out) == [] and unsafe_in(err) == [], (out, err)
    assert printable(str(tmp_path / FOLDER)) in out  # the summary names the folder, spelled out
    assert f"{printable(MODEL)} 24h" in out  # the first reads it readied, by model
    assert f"rollup: {printable(MODEL)}: 24h drift and trend ready" in err  # progress
    assert printable("cut\x1b[2J\u202e.parquet") in err  # the skipped source's note


def test_a_refused_rollup_names_its_folder_inert(tmp_path, capsys):
    config = _workspace(tmp_path)
    blocker = tmp_path / "file[bold]\x1b[2J\u202e"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    code = main(["--config", str(config), "rollup", "--path", str(blocker), "--no-ready"])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert unsafe_in(err) == [] and printable(str(blocker)) in err, err
