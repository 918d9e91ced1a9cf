"""A `[[logs]]` path naming a folder of JSONL files: a folder is read as Parquet (README, the store), so none of its
rows is read, and the console said "configured log matches no file" (an operator looked for a typo in a path that
plainly exists), or, with `format = "jsonl"`, "matched the glob: not a file" (there was no glob). Now it says that
the path is a folder and the glob to write instead."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from console.rollup_sources import unsupported


def _rows(n: int) -> str:
    return "".join(json.dumps({"ts": f"2026-11-30T10:{i:02d}:00Z", "model": "m", "version": "1",
                               "request_id": f"r{i}", "latency_ms": 5}) + "\n" for i in range(n))


def _snapshot(tmp_path, capsys, path: str, fmt: str | None = None) -> tuple[dict, str]:
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "{path}"\n'
                      + (f'format = "{fmt}"\n' if fmt else ""), encoding="utf-8")
    assert main(["--config", str(config), "snapshot", "--format", "json", "--at", "2026-11-30T12:00Z"]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err


@pytest.mark.parametrize("fmt", [None, "jsonl"])
def test_a_folder_of_jsonl_files_is_said_to_be_a_folder_with_the_glob_to_write(tmp_path, capsys, fmt):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "p.jsonl").write_text(_rows(3), encoding="utf-8")
    data, err = _snapshot(tmp_path, capsys, "logs", fmt)
    folder = tmp_path / "logs"
    [note] = [n for n in data["log_notes"] if str(folder) in n]
    assert "is a folder" in note and f'path = "{folder}/*.jsonl"' in note, note
    assert data["missing_logs"] == [], data["missing_logs"]
    assert "matches no file" not in err and "glob" not in note and note in err, err
    # the glob it names reads the folder's rows: 3, written above
    data, err = _snapshot(tmp_path, capsys, "logs/*.jsonl", fmt)
    assert data["counts"]["predictions"] == 3 and not data["missing_logs"], (data["counts"], err)
    assert not any("is a folder" in n for n in data["log_notes"]), data["log_notes"]


def test_the_rollup_skips_such_a_folder_saying_why(tmp_path):
    (tmp_path / "logs" / "day=1").mkdir(parents=True)
    (tmp_path / "logs" / "day=1" / "p.csv").write_text("ts,model\n", encoding="utf-8")
    why = unsupported(str(tmp_path / "logs"), None)
    assert why is not None and "is a folder" in why and f"{tmp_path / 'logs'}/**/*.csv" in why, why


def test_an_empty_folder_still_matches_no_file(tmp_path, capsys):
    """A Hive folder not yet written to holds no file of any log: "matches no file" is what it is."""
    (tmp_path / "logs").mkdir()
    data, err = _snapshot(tmp_path, capsys, "logs")
    assert data["missing_logs"] == [str(tmp_path / "logs")] and "matches no file" in err, (data, err)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_text_log_naming_a_folder_of_parquet_is_skipped_by_the_rollup_as_by_the_store(tmp_path, capsys, fmt):
    """`format = "jsonl"` with a folder path: the store's tailer says the path is a folder and reads nothing; the
    rollup found the folder's Parquet (a folder is Parquet) and read it as JSON lines. Both say the same now."""
    import polars as pl

    folder = tmp_path / "logs" / "day=1"
    folder.mkdir(parents=True)
    pl.DataFrame({"ts": ["2026-11-30T10:00:00Z"], "model": ["m"], "version": ["1"], "request_id": ["r1"],
                  "latency_ms": [5.0]}).write_parquet(folder / "p.parquet")
    why = unsupported(str(tmp_path / "logs"), fmt)
    assert why is not None and "is a folder" in why, why
    data, err = _snapshot(tmp_path, capsys, "logs", fmt)
    [note] = [n for n in data["log_notes"] if str(tmp_path / "logs") in n]
    assert "is a folder" in note and data["counts"].get("predictions", 0) == 0, (note, data["counts"])
