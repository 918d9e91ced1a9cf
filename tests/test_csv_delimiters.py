"""CSV logs split by a tab (`.tsv`), a semicolon (a spreadsheet's export where the comma is the decimal mark) or a
bar, read from the header: the one of them that splits it into the most fields.

Before, every row of such a log was set aside as "missing ts" (the whole line was one field) and a `.tsv` file's
format was not known from its name. The tailer (where a quoted record ends), the store's parser and the rollup
take the delimiter from the same header by the same rule (`csv_records.delimiter_of`). Counts are hand counts.
"""

from __future__ import annotations

import json

import pytest

from console.cli import main
from console.config import parse_file
from console.sources.csv_records import delimiter_of, fields_of
from console.sources.files import format_by_name
from console.warehouse import Warehouse

HEAD = ["ts", "model", "version", "request_id", "latency_ms", "prediction", "prompt"]


@pytest.mark.parametrize("header, sep", [
    ("ts,model,version", ","), ("ts\tmodel\tversion", "\t"), ("ts;model;version", ";"), ("ts|model|version", "|"),
    ("ts", ","), ("", ","), ('"a,b"\tc\td', "\t"), ("a;b,c,d", ","), ('"x;y";z', ";"),
])
def test_the_delimiter_is_the_one_that_splits_the_header_into_the_most_fields(header, sep):
    assert delimiter_of(header) == sep


def test_a_tsv_file_is_a_csv_log_by_its_name():
    assert fields_of("ts\tmodel") == ["ts", "model"]
    assert format_by_name("/x/p.tsv") == format_by_name("/x/p.tsv.1") == format_by_name("/x/p.tsv.2.gz") == "csv"


def _line(sep: str, i: int, prompt: str) -> str:
    return sep.join([f"2026-11-20T00:{i // 60:02d}:{i % 60:02d}Z", "m", "1", f"r{i}", str(10 + i % 7), "1", prompt])


def test_tab_and_semicolon_logs_are_read_whole_by_the_store_the_cli_and_the_rollup(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    tsv = ["\t".join(HEAD)] + [_line("\t", i, f"ask {i}") for i in range(100)]
    tsv.append(_line("\t", 100, '"a tab\tand a\nline break"'))  # one quoted record of two lines
    tsv.append("2026-11-20T02:00:00Z\tm\t1\tshort")  # 4 fields of 7: set aside alone
    (logs / "p.tsv").write_text("\n".join(tsv) + "\n")
    semi = [";".join(HEAD)] + [_line(";", i, f'"one; two {i}"') for i in range(200, 260)]
    (logs / "q.csv").write_text("\n".join(semi) + "\n")
    toml = tmp_path / "console.toml"
    toml.write_text(f'[[logs]]\nkind = "predictions"\npath = "{logs}/*.tsv"\n'
                    f'[[logs]]\nkind = "predictions"\npath = "{logs}/*.csv"\n[models.m]\ntask = "classification"\n')
    assert main(["snapshot", "--config", str(toml), "--at", "latest", "--format", "json"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert (snap["counts"]["predictions"], snap["malformed"]) == (161, 1), snap

    w = Warehouse(parse_file(toml), tmp_path / "store")
    w.refresh()
    with w.cursor() as cur:
        got = dict(cur.execute("SELECT request_id, prompt FROM predictions").fetchall())
        reasons = cur.execute("SELECT reason, location FROM malformed").fetchall()
        p95 = cur.execute("SELECT max(latency_ms) FROM predictions").fetchone()[0]
    w.close()
    assert (got["r5"], got["r100"], got["r259"], p95) == ("ask 5", "a tab\tand a\nline break", "one; two 259", 16)
    assert [r for r, _ in reasons] == ["CSV row has 4 fields, expected 7"] and reasons[0][1] == "104"  # its line

    rc = main(["rollup", "--config", str(toml), "--path", str(tmp_path / "rollups"), "--until", "2026-11-21T00:00:00",
               "--no-ready", "--format", "json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert json.loads(out.out)["rows"] == 161


def test_a_quoted_record_written_in_two_parts_to_a_tsv_log_is_read_once_whole(tmp_path):
    log = tmp_path / "p.tsv"
    log.write_text("\t".join(HEAD) + "\n" + "\n".join(_line("\t", i, "x") for i in range(10)) + "\n")
    toml = tmp_path / "console.toml"
    toml.write_text(f'[[logs]]\nkind = "predictions"\npath = "{log}"\n[models.m]\ntask = "classification"\n')
    w = Warehouse(parse_file(toml), tmp_path / "store")
    w.refresh()
    with open(log, "a") as fh:  # the writer is half way through a quoted field that holds a line break
        fh.write(_line("\t", 10, '"first half\n'))
    w.refresh()
    with open(log, "a") as fh:
        fh.write('second\thalf"\n' + _line("\t", 11, "y") + "\n")
    w.refresh()
    with w.cursor() as cur:
        got = dict(cur.execute("SELECT request_id, prompt FROM predictions").fetchall())
        bad = cur.execute("SELECT count(*) FROM malformed").fetchone()[0]
    w.close()
    assert (len(got), bad, got["r10"], got["r11"]) == (12, 0, "first half\nsecond\thalf", "y")


@pytest.mark.parametrize("rows", [300, 5])  # read natively, and line by line
def test_decimal_commas_in_a_semicolon_csv_are_numbers(tmp_path, rows):
    """A spreadsheet's export in a locale that writes `12,5`: before, every latency was "not a number" (the row set
    aside) and a feature of such numbers was text (scored as categories). Now a column whose every value is such
    a number is read as one; a text column stays text, and so do the contract's names."""
    head = "ts;model;version;request_id;latency_ms;amount;code"
    lines = [f"2026-11-20T00:{i // 60:02d}:{i % 60:02d}Z;m;1,{i % 3};r{i};{10 + i % 7},{i % 10};{i},25;"
             + ("A,1" if i % 2 else "7") for i in range(rows)]
    (tmp_path / "p.csv").write_text(head + "\n" + "\n".join(lines) + "\n")
    (tmp_path / "mlops-console.toml").write_text('[[logs]]\nkind = "predictions"\npath = "p.csv"\n')
    wh = Warehouse(parse_file(tmp_path / "mlops-console.toml"), tmp_path / "store")
    wh.refresh()
    with wh.cursor() as cur:
        got = cur.execute("SELECT request_id, version, latency_ms, amount, code FROM predictions ORDER BY ts").fetchall()
        malformed = cur.execute("SELECT count(*) FROM malformed").fetchone()[0]
    wh.close()
    assert malformed == 0
    assert got == [(f"r{i}", f"1,{i % 3}", 10 + i % 7 + (i % 10) / 10, i + 0.25, "A,1" if i % 2 else "7")
                   for i in range(rows)]


def test_a_semicolon_reference_with_decimal_commas_is_read_as_the_log_is(tmp_path, capsys):
    """The reference CSV from the same spreadsheet: before, its header was split by commas (the config then asked
    for features it said were missing) and its numbers were text. Now `drift` scores the log against it, and the
    KS statistic equals scipy's over the same numbers."""
    import numpy as np
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(3)
    ref = np.round(rng.normal(100, 10, 400), 2)
    cur = np.round(rng.normal(104, 10, 600), 2)  # a verdict needs 500 rows (MIN_DRIFT_ROWS)
    comma = lambda x: f"{x:.2f}".replace(".", ",")  # noqa: E731
    (tmp_path / "ref.csv").write_text("amount;country\n" + "".join(f"{comma(x)};DE\n" for x in ref))
    lines = [f"2026-11-20T{i // 60:02d}:{i % 60:02d}:00Z;m;1;r{i};{comma(x)};DE" for i, x in enumerate(cur)]
    (tmp_path / "p.csv").write_text("ts;model;version;request_id;amount;country\n" + "\n".join(lines) + "\n")
    (tmp_path / "mlops-console.toml").write_text('[[logs]]\nkind = "predictions"\npath = "p.csv"\n'
                                                 '[models.m]\nreference = "ref.csv"\nfeatures = ["amount", "country"]\n'
                                                 '[store]\npath = "store"\n')
    assert main(["--config", str(tmp_path / "mlops-console.toml"), "drift", "m", "--at", "latest", "--window", "12h",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    amount = next(f for f in out["features"] if f["column"] == "amount")
    assert amount["test"] == "ks" and (amount["n_ref"], amount["n_cur"]) == (400, 600)
    assert abs(amount["stats"]["statistic"] - ks_2samp(ref, cur).statistic) < 1e-12
