"""A model name longer than the file system's 255-byte name limit once percent-quoted (one of 131 characters,
mostly accented, is 786 bytes quoted) made `rollup` fail with "File name too long" (exit 4): its folder of
rollups is now a readable prefix and a hash. Two such names sharing their first 250 bytes get two folders, the
rollups of both are read back (the drift read says it scored from them), and a short name keeps its folder."""

from __future__ import annotations

import json
import urllib.parse
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from console import store_rollups as ro
from console.cli import main
from console.rollup_paths import model_dir

A = "m" + "é" * 130 + "a"
B = "m" + "é" * 130 + "b"
START = datetime(2026, 3, 10, 0, 0)


def _workspace(tmp_path):
    rows = [{"ts": (START + timedelta(minutes=i)).isoformat() + "Z", "model": A if i % 3 else B, "version": "1",
             "request_id": f"r{i}", "amount": float(i % 17)} for i in range(480)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pq.write_table(pa.table({"amount": [float(i % 13) for i in range(200)]}), tmp_path / "ref.parquet")
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[rollups]\nmin_rows = 1\n[[logs]]\nkind = "predictions"\n'
                      'path = "p.jsonl"\n' + "".join(f'[models.{json.dumps(m)}]\nreference = "ref.parquet"\n'
                                                     'features = ["amount"]\n' for m in (A, B)), encoding="utf-8")
    return config


def test_a_long_model_name_rolls_up_apart_from_its_twin(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    config = _workspace(tmp_path)
    code = main(["--config", str(config), "--at", "2026-03-10T08:00Z", "rollup", "--format", "json",
                 "--until", "2026-03-10T08:00Z"])
    out, err = capsys.readouterr()
    assert code == 0, (out[-500:], err[-500:])
    folder = tmp_path / "store" / "rollups"
    assert ro.models(folder) == [A, B]  # both names read back whole from their folders
    dirs = {model_dir(folder, m) for m in (A, B)}
    assert len(dirs) == 2 and all(d.is_dir() and len(d.name.encode()) <= 255 for d in dirs)
    assert all(ro.files(folder, m) for m in (A, B))
    # the rows of each, counted by hand: i % 3 != 0 of 480 minutes for A (320), the rest for B (160)
    for model, rows in ((A, 320), (B, 160)):
        code = main(["--config", str(config), "--at", "2026-03-10T08:00Z", "drift", model, "--window", "30d",
                     "--format", "json"])
        out, err = capsys.readouterr()
        assert code == 2, err[-500:]  # `drift`: could not evaluate (fewer rows than a verdict needs)
        assert json.loads(out)["dataset"]["status"] == "few rows"
        note = json.loads(out)["note"]
        assert f"{rows} rows in this window" in note and "scores from hourly rollups" in note, note


def test_short_names_keep_their_folders(tmp_path):
    for model in ("fraud-v2", "a/b c", "é" * 33, "x" * 200):
        assert model_dir(tmp_path, model) == tmp_path / urllib.parse.quote(model, safe="")
