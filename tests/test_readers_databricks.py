"""Databricks inference tables (payload and AI Gateway), as a JSON export and as the Arrow table Delta gives."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from console.sources.readers import READERS, databricks_inference as dbx

FIX = Path(__file__).parent / "fixtures" / "formats" / "databricks"
OPTIONS = {"threshold": 0.5, "served_entities": {"se-abc": {"model": "support-bot", "version": "2"}}}
PAYLOAD_SCHEMA = pa.schema([
    ("databricks_request_id", pa.string()), ("client_request_id", pa.string()), ("date", pa.date32()),
    ("timestamp_ms", pa.int64()), ("status_code", pa.int32()), ("sampling_fraction", pa.float64()),
    ("execution_time_ms", pa.int64()), ("request", pa.string()), ("response", pa.string()),
    ("request_metadata", pa.map_(pa.string(), pa.string())),
])
GATEWAY_SCHEMA = pa.schema([
    ("request_date", pa.date32()), ("databricks_request_id", pa.string()), ("client_request_id", pa.string()),
    ("request_time", pa.timestamp("us", tz="UTC")), ("status_code", pa.int32()), ("sampling_fraction", pa.float64()),
    ("execution_duration_ms", pa.int64()), ("request", pa.string()), ("response", pa.string()),
    ("served_entity_id", pa.string()), ("logging_error_codes", pa.list_(pa.string())), ("requester", pa.string()),
])


def _as_table(path: Path, schema: pa.Schema) -> pa.Table:
    """The Delta table's Arrow shape, built from the fixture rows (dates, timestamps and the metadata map typed)."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:
        if "date" in r:
            r["date"] = datetime.strptime(r["date"], "%Y-%m-%d").date()
            r["request_metadata"] = list(r["request_metadata"].items())
        if "request_time" in r:
            r["request_date"] = datetime.strptime(r["request_date"], "%Y-%m-%d").date()
            r["request_time"] = datetime.fromisoformat(r["request_time"])
    return pa.Table.from_pylist(rows, schema=schema)


def _check_payload(out):
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert sorted(rows) == ["c-1#0", "c-1#1", "c-2", "c-4#0", "c-4#1", "c-5", "c-6", "d-3#0", "d-3#1", "d-3#2"]
    assert {r["model"] for r in rows.values()} == {"churn"} and {r["version"] for r in rows.values()} == {"7"}
    assert [(rows[k]["tenure"], rows[k]["plan"], rows[k]["score"], rows[k]["prediction"]) for k in ("c-1#0", "c-1#1")] \
        == [(3, "basic", 0.2, "0"), (40, "pro", 0.8, "1")]
    assert (rows["c-2"]["tenure"], rows["c-2"]["prediction"]) == (12, "1")  # dataframe_split
    assert [rows[f"d-3#{i}"]["prediction"] for i in range(3)] == ["0", "1", "1"]  # instances, no client id
    assert {rows[f"d-3#{i}"]["sampling_weight"] for i in range(3)} == {2.0}
    assert rows["c-1#0"]["sampling_weight"] is None
    assert [(rows[k]["tenure"], rows[k]["score"]) for k in ("c-4#0", "c-4#1")] == [(5, 0.3), (6, 0.4)]  # inputs
    assert (rows["c-5"]["status"], rows["c-5"]["error"], rows["c-5"]["prediction"]) == ("500", "model crashed", None)
    assert (rows["c-6"]["input_tokens"], rows["c-6"]["output_tokens"], rows["c-6"]["latency_ms"]) == (30, 12, 250.0)
    assert rows["c-1#1"]["latency_ms"] == 12.0 and rows["c-1#1"]["status"] == "200"
    assert rows["c-1#0"]["ts"] == datetime(2026, 11, 30, 10, 0, 1)
    reasons = {r.loc: r.reason for r in out.rejected}
    assert reasons == {7: "request is not JSON", 8: "2 examples in the request but 1 predictions",
                       9: "no request time (timestamp_ms / request_time)"}


def test_registry():
    assert READERS["databricks-inference"] is dbx


def test_payload_json_export_unpacks_every_request_shape():
    path = FIX / "payload.jsonl"
    _check_payload(dbx.parse(path.read_bytes(), source=str(path), first_line=1, options=OPTIONS))


def test_payload_delta_table_reads_the_same():
    table = _as_table(FIX / "payload.jsonl", PAYLOAD_SCHEMA)
    out = dbx.parse_table(table, source="uc://main.ml.churn_payload", first_row=1, options=OPTIONS)
    _check_payload(out)
    assert out.rejected[0].raw.startswith('{"client_request_id":"c-7"')


def test_gateway_table_maps_served_entity_and_tokens():
    table = _as_table(FIX / "gateway.jsonl", GATEWAY_SCHEMA)
    out = dbx.parse_table(table, source="uc://main.ml.gw_payload", first_row=101, options=OPTIONS)
    rows = {r["request_id"]: r for r in out.predictions.to_pylist()}
    assert sorted(rows) == ["g-2", "gc-1", "gc-3"]
    assert {(r["model"], r["version"]) for r in rows.values()} == {("support-bot", "2")}
    gc1 = rows["gc-1"]
    assert (gc1["input_tokens"], gc1["output_tokens"], gc1["latency_ms"]) == (8, 64, 820.0)
    assert (gc1["finish_reason"], gc1["llm_model"], gc1["loc"]) == ("length", "llama-70b", 101)
    assert gc1["ts"] == datetime(2026, 11, 30, 11, 0, 0, 500000)
    assert (rows["g-2"]["tenure"], rows["g-2"]["prediction"]) == (4, "1")
    assert (rows["gc-3"]["status"], rows["gc-3"]["error"]) == ("429", "rate limited")
    assert "requester" not in out.predictions.column_names and not out.rejected


def test_labels_join_on_client_request_id_late():
    preds = dbx.parse((FIX / "payload.jsonl").read_bytes(), source="p", first_line=1, options=OPTIONS).predictions
    path = FIX / "labels.jsonl"
    out = dbx.parse(path.read_bytes(), source=str(path), first_line=1, options={})
    labels = out.labels.to_pylist()
    assert [(r["request_id"], r["label"]) for r in labels] == [("c-2", "1"), ("c-4#0", "0"), ("c-1#1", "1")]
    assert {r["request_id"] for r in labels} <= set(preds["request_id"].to_pylist())
    assert labels[2]["ts"] == datetime(2026, 12, 1, 10)  # a day after the prediction
    assert [(r.loc, r.reason) for r in out.rejected] == [(4, "label row without client_request_id")]


def test_a_payload_table_as_a_parquet_file_is_read_through_parse_table(tmp_path):
    """Found by the twenty-fifth session's probe: a Parquet file under `format = "databricks-inference"` was split
    on newline bytes (about 100 'not UTF-8' rows, no prediction). The store now reads it whole through
    `parse_table`, once, as the Delta table's Arrow shape."""
    import pyarrow.parquet as pq

    from console.config import Config, LogSource
    from console.service import Service

    table = _as_table(FIX / "payload.jsonl", PAYLOAD_SCHEMA)
    (tmp_path / "logs").mkdir()
    pq.write_table(table, tmp_path / "logs" / "part-00000.parquet")
    direct = dbx.parse_table(table, source="x", first_row=1, options=OPTIONS)
    cfg = Config(source=None, root=tmp_path, store_path=tmp_path / "store",
                 logs=(LogSource("predictions", str(tmp_path / "logs" / "*.parquet"), "databricks-inference",
                                 options=OPTIONS),))
    svc = Service(cfg, clock=lambda: datetime(2026, 11, 30, 12))
    try:
        first = svc.refresh()
        again = svc.refresh()
        with svc.warehouse.cursor() as cur:
            ids = sorted(r[0] for r in cur.execute("SELECT request_id FROM predictions").fetchall())
    finally:
        svc.close()
    assert ids == sorted(direct.predictions["request_id"].to_pylist())
    assert first.malformed == len(direct.rejected) and again.rows == {} and again.malformed == 0  # read once
