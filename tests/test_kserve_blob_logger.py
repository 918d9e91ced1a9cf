"""KServe's blob-storage logger (`pkg/logger/store.go`): one object per event,
`{ns}/{isvc}/{component}/{Id}-request.json` and `{Id}-response.json`, each one JSON record with no trailing newline
and no time; a larger batch size writes a JSON array of records per object. The store dates a record by when its
object was written (the file's mtime, set here to known values; an S3 object's LastModified) and reads a complete
object whole. Counts checked by hand."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.config import Config, LogSource, S3Storage
from console.sources.readers.kserve_cloudevents import DATED_NOTE
from console.warehouse import Warehouse
from s3_server import s3_server  # noqa: F401  (session fixture)

FOLDER = "default/sklearn-iris/predictor"
# a day ago, on a whole second: every object is long past the partial-line grace, and no row is in the future
T0 = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(days=1)


def record(rid: str, kind: str, body: dict) -> dict:
    """A LogRequest as the logger's JSON marshaller writes it (no time among its fields)."""
    return {"Url": {"Scheme": "s3", "Host": "logs", "Path": "/kserve"},
            "Bytes": base64.b64encode(json.dumps(body).encode()).decode(), "ContentType": "application/json",
            "ReqType": f"org.kubeflow.serving.inference.{kind}", "Id": rid, "InferenceService": "sklearn-iris",
            "Namespace": "default", "Component": "predictor", "Endpoint": "", "Metadata": {}, "Annotations": {},
            "CertName": "", "TlsSkipVerify": False}


def pair(i: int) -> tuple[str, dict, dict]:
    rid = f"{i:08x}-1111-2222-3333-{i:012x}"
    return (rid, record(rid, "request", {"instances": [[5.0 + i % 3, 3.0, 1.4, 0.2]]}),
            record(rid, "response", {"predictions": [i % 3]}))


def ns(t: datetime) -> int:
    return (t - datetime(1970, 1, 1)) // timedelta(microseconds=1) * 1000


def put(path: Path, value, when: datetime) -> None:
    """One object: compact JSON without a newline (Go's json.Marshal), its mtime `when`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(value, separators=(",", ":")).encode())
    os.utime(path, ns=(ns(when), ns(when)))


def config(tmp_path: Path, path: str, s3: S3Storage | None = None) -> Config:
    extra = {"s3": s3} if s3 is not None else {}
    return Config(source=None, root=tmp_path, logs=(LogSource("predictions", path, "kserve-cloudevents"),), **extra)


def stored(w: Warehouse) -> tuple[dict[str, tuple], list[tuple]]:
    """(request id -> (ts, latency ms, prediction) of every stored prediction, (reason, count) set aside)."""
    with w.cursor() as cur:
        rows = cur.execute("SELECT request_id, ts, latency_ms, prediction FROM predictions").fetchall()
        bad = cur.execute("SELECT reason, count(*) FROM malformed GROUP BY 1 ORDER BY 1").fetchall()
    got = {rid: (ts, None if lat is None else round(lat, 3), pred) for rid, ts, lat, pred in rows}
    assert len(got) == len(rows), "a prediction stored twice"
    return got, bad


def refreshed(cfg: Config, store: Path, **kw):
    w = Warehouse(cfg, store, **kw)
    try:
        stats = w.refresh()
        return stats, *stored(w)
    finally:
        w.close()


def test_one_object_per_event_is_dated_by_its_mtime_and_timed_by_the_two(tmp_path):
    """Request i written at T0 + i min + a fraction, its response 20 + 7i ms later: ts is the request object's mtime,
    latency the two mtimes' difference. The last request has no response yet: it waits, and only it is said to."""
    logs = tmp_path / "logs"
    want = {}
    for i in range(12):
        rid, req, resp = pair(i)
        t_req = T0 + timedelta(minutes=i, microseconds=123_457 + 1000 * i)
        put(logs / FOLDER / f"{rid}-request.json", req, t_req)
        if i == 11:
            continue
        t_resp = t_req + timedelta(microseconds=20_000 + 7000 * i)
        put(logs / FOLDER / f"{rid}-response.json", resp, t_resp)
        want[rid] = (t_req, 20.0 + 7 * i, str(i % 3))
    cfg = config(tmp_path, str(logs / "**" / "*.json"))
    stats, got, bad = refreshed(cfg, tmp_path / "store")
    assert (got, bad) == (want, [])
    assert stats.rows == {"predictions": 11}
    source = str(logs / "**" / "*.json")
    assert sorted(n for n in stats.notes if source in n) == sorted([
        f"{source} (23 files): {DATED_NOTE}", f"{source}: 1 events wait for their pair"]), stats.notes

    # its response arrives: the pair is made, nothing waits, and the 11 before are not read again
    rid, _, resp = pair(11)
    t_req = T0 + timedelta(minutes=11, microseconds=123_457 + 11_000)
    put(logs / FOLDER / f"{rid}-response.json", resp, t_req + timedelta(milliseconds=50))
    stats, got, bad = refreshed(cfg, tmp_path / "store")
    assert (got, bad) == ({**want, rid: (t_req, 50.0, "2")}, [])
    assert stats.rows == {"predictions": 1}
    assert not any("wait for their pair" in n for n in stats.notes), stats.notes


def test_whole_second_or_equal_mtimes_give_no_latency(tmp_path):
    """A filesystem that keeps whole seconds (or objects copied with one time) cannot time an inference: ts is still
    the request object's time, the latency none rather than a made-up 0."""
    logs = tmp_path / "logs"
    want = {}
    for i in range(4):
        rid, req, resp = pair(i)
        # whole seconds, a second apart; or (i = 3) both at one sub-second instant
        t_req = T0 + timedelta(seconds=10 * i, microseconds=250_000 if i == 3 else 0)
        t_resp = t_req if i == 3 else t_req + timedelta(seconds=1)
        put(logs / FOLDER / f"{rid}-request.json", req, t_req)
        put(logs / FOLDER / f"{rid}-response.json", resp, t_resp)
        want[rid] = (t_req, None, str(i % 3))
    _, got, bad = refreshed(config(tmp_path, str(logs / "**" / "*.json")), tmp_path / "store")
    assert (got, bad) == (want, [])


def test_batched_objects_are_json_arrays_read_whole(tmp_path):
    """Batch size 3: each object an array of three records (no newline), so a pair may straddle two objects. Every
    pair is made, none set aside as a truncated line; ts is the mtime of the object holding the request; no latency
    (several events share an object's time)."""
    logs = tmp_path / "logs"
    records = [r for i in range(10) for r in pair(i)[1:]]  # request 0, response 0, request 1, ...
    want = {}
    for n in range(7):  # six of three records, the last of two
        batch, when = records[3 * n:3 * n + 3], T0 + timedelta(seconds=n, microseconds=500_001)
        last = batch[-1]  # the object is named by its batch's last record
        put(logs / FOLDER / f"{last['Id']}-{last['ReqType'].rsplit('.', 1)[1]}.json", batch, when)
        want.update({r["Id"]: (when, None, str(int(r["Id"][:8], 16) % 3)) for r in batch
                     if r["ReqType"].endswith("request")})
    assert len(want) == 10
    stats, got, bad = refreshed(config(tmp_path, str(logs / "**" / "*.json")), tmp_path / "store")
    assert (got, bad) == (want, [])
    assert [n for n in stats.notes if DATED_NOTE in n] == [f"{logs / '**' / '*.json'} (7 files): {DATED_NOTE}"]


def test_a_fresh_object_waits_its_grace_then_is_read_whole(tmp_path):
    """An object written just now might still be written, as a JSONL tail might: it waits for the grace (not set aside),
    then is read whole, array or object, not as "truncated last line"."""
    logs = tmp_path / "logs"
    rid, req, resp = pair(1)
    now = datetime.now(UTC).replace(tzinfo=None)
    put(logs / FOLDER / f"{rid}-request.json", req, now)
    put(logs / FOLDER / f"{rid}-response.json", [resp], now + timedelta(milliseconds=30))
    wall = [time.time()]
    cfg = config(tmp_path, str(logs / "**" / "*.json"))
    w = Warehouse(cfg, tmp_path / "store", grace_s=120.0, wall=lambda: wall[0])
    try:
        w.refresh()
        assert stored(w) == ({}, [])
        wall[0] += 121
        w.refresh()
        got, bad = stored(w)
    finally:
        w.close()
    # (an array of one record is still one event per object: its time is that event's)
    assert (got, bad) == ({rid: (now, 30.0, "1")}, [])


def test_s3_objects_are_dated_by_their_last_modified(s3_server, tmp_path):  # noqa: F811
    """The same objects in a bucket: ts is the request object's LastModified. S3 keeps whole seconds, so no latency."""
    client = s3_server.client()
    client.create_bucket(Bucket="kslogs")
    for i in range(5):
        rid, req, resp = pair(i)
        for kind, value in (("request", req), ("response", resp)):
            client.put_object(Bucket="kslogs", Key=f"kserve/{FOLDER}/{rid}-{kind}.json",
                              Body=json.dumps(value, separators=(",", ":")).encode())
    listed = client.list_objects_v2(Bucket="kslogs", Prefix="kserve/")["Contents"]
    modified = {o["Key"].rsplit("/", 1)[1].removesuffix("-request.json"): o["LastModified"] for o in listed
                if o["Key"].endswith("-request.json")}
    want = {pair(i)[0]: (modified[pair(i)[0]].astimezone(UTC).replace(tzinfo=None), None, str(i % 3))
            for i in range(5)}
    storage = S3Storage(endpoint_url=s3_server.endpoint, region="us-east-1", access_key_id=s3_server.access_key_id,
                        secret_access_key=s3_server.secret_access_key)
    stats, got, bad = refreshed(config(tmp_path, "s3://kslogs/kserve/", storage), tmp_path / "store")
    assert (got, bad) == (want, []), stats.notes
    assert [n for n in stats.notes if DATED_NOTE in n] == [f"s3://kslogs/kserve/ (10 files): {DATED_NOTE}"]
