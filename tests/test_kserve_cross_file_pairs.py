"""KServe CloudEvents whose request and response are in different files of one source: a logger sink run as two
replicas writes each event to either pod's file. The events waiting for their pair are the source's, so any of its
files completes a pair another holds, across refreshes, a relaunch, a failed refresh and a crash between steps.
Each count is checked against the events written, by hand."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from console.config import Config, LogSource
from console.warehouse import Warehouse

T0 = datetime(2026, 11, 29)
OPTIONS = {"variant_versions": {"default": "3", "canary": "4"}}
PAIRS = "pairs|"  # the manifest's key of a source's waiting events, before its source id (`store.ingest.pairs_id`)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # nanoseconds, as Go writes them


def inferences(n: int, seed: int = 7) -> list[dict]:
    """n inferences 30 s apart, each its request and response event, its latency in whole microseconds, every
    fourth a batch of two, one in 25 failed; `rows` is what a reader must make of it (request id -> latency ms)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = T0 + timedelta(seconds=30 * i, microseconds=rng.randrange(1_000_000))
        lat_us = rng.randrange(5_000, 2_500_000)
        k = 2 if i % 4 == 0 else 1
        rid = f"{i:08x}-aaaa-bbbb-cccc-{i:012x}"
        common = {"specversion": "1.0", "source": "http://localhost:9081/", "inferenceservicename": "sklearn-iris",
                  "namespace": "default", "endpoint": "canary" if i % 7 == 0 else "default", "id": rid,
                  "datacontenttype": "application/json"}
        body = {"error": "model failed"} if i % 25 == 3 else {"predictions": [rng.randrange(3) for _ in range(k)]}
        request = {**common, "type": "org.kubeflow.serving.inference.request", "time": _stamp(t),
                   "data": {"instances": [[round(rng.uniform(0, 10), 3)] * 2 for _ in range(k)]}}
        response = {**common, "type": "org.kubeflow.serving.inference.response",
                    "time": _stamp(t + timedelta(microseconds=lat_us)), "data": body}
        rows = {rid if k == 1 else f"{rid}#{j}": lat_us / 1000 for j in range(k)}
        out.append({"t": t, "lat_us": lat_us, "events": [(t, request), (t + timedelta(microseconds=lat_us), response)],
                    "rows": rows})
    return out


def events(infs: list[dict]) -> list[tuple[datetime, dict]]:
    """Every event, in the order the logger sink received them (by time)."""
    return sorted((e for inf in infs for e in inf["events"]), key=lambda e: e[0])


def config(tmp_path: Path, options: dict | None = None) -> Config:
    (tmp_path / "logs").mkdir(exist_ok=True)
    return Config(source=None, root=tmp_path, logs=(
        LogSource("predictions", str(tmp_path / "logs" / "events*.jsonl"), "kserve-cloudevents",
                  options={**OPTIONS, **(options or {})}),))


def append(path: Path, evs: list[tuple[datetime, dict]]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(e) + "\n" for _, e in evs)


def replicas(tmp_path: Path, evs: list[tuple[datetime, dict]], seed: int = 11) -> None:
    """Each event to pod a's file or pod b's, at random, as a load balancer in front of two sink pods spreads them."""
    rng = random.Random(seed)
    pods = {"a": [], "b": []}
    for e in evs:
        pods[rng.choice("ab")].append(e)
    for pod, mine in pods.items():
        append(tmp_path / "logs" / f"events-pod-{pod}.jsonl", mine)


def stored(w: Warehouse) -> tuple[dict[str, float], int]:
    """(request id -> latency ms of every stored prediction, rows set aside); a request id stored twice fails."""
    with w.cursor() as cur:
        rows = cur.execute("SELECT request_id, latency_ms FROM predictions").fetchall()
        bad = cur.execute("SELECT count(*) FROM malformed").fetchone()[0]
    got = {rid: round(lat, 6) for rid, lat in rows}
    assert len(got) == len(rows), "a prediction stored twice"
    return got, bad


def expected(infs: list[dict]) -> dict[str, float]:
    return {rid: round(lat, 6) for inf in infs for rid, lat in inf["rows"].items()}


def test_two_replicas_each_event_in_either_pods_file(tmp_path):
    infs = inferences(400)
    cfg = config(tmp_path)
    replicas(tmp_path, events(infs))
    w = Warehouse(cfg, tmp_path / "store")
    try:
        w.refresh()
        got, bad = stored(w)
    finally:
        w.close()
    assert len(expected(infs)) == 500  # 400 inferences, 100 of them batches of two
    assert (got, bad) == (expected(infs), 0)
    assert PAIRS + "predictions|kserve-cloudevents|" + str(tmp_path / "logs" / "events*.jsonl") in w.manifest.cursors


def test_requests_in_one_file_and_responses_in_the_other(tmp_path):
    infs = inferences(300)
    cfg = config(tmp_path)
    evs = events(infs)
    append(tmp_path / "logs" / "events-req.jsonl", [e for e in evs if e[1]["type"].endswith("request")])
    append(tmp_path / "logs" / "events-resp.jsonl", [e for e in evs if e[1]["type"].endswith("response")])
    w = Warehouse(cfg, tmp_path / "store")
    try:
        w.refresh()
        got, bad = stored(w)
        with w.cursor() as cur:  # a prediction is its request's line: named by the request's file
            sources = cur.execute("SELECT DISTINCT source FROM predictions").fetchall()
    finally:
        w.close()
    assert (got, bad) == (expected(infs), 0)
    assert sources == [(str(tmp_path / "logs" / "events-req.jsonl"),)]
    sid = "predictions|kserve-cloudevents|" + str(tmp_path / "logs" / "events*.jsonl")
    assert not w.manifest.cursors.get(PAIRS + sid, {}).get("waiting")  # nothing left waiting


def test_live_replicas_over_two_refreshes_and_a_relaunch(tmp_path):
    """A third of the events, a refresh, the next third, a refresh, the process gone, the rest, a new process: after
    each, exactly the inferences both of whose events were written, whichever pod's file holds each."""
    infs = inferences(450)
    cfg = config(tmp_path)
    evs = events(infs)
    cuts = [0, len(evs) // 3 + 1, 2 * len(evs) // 3 + 1, len(evs)]  # odd: each cut falls inside a pair
    store = tmp_path / "store"
    w = Warehouse(cfg, store)
    try:
        for part in range(3):
            if part == 2:  # a relaunch: a new process on the same store
                w.close()
                w = Warehouse(cfg, store)
            written = evs[:cuts[part + 1]]
            replicas(tmp_path, evs[cuts[part]:cuts[part + 1]], seed=part)
            w.refresh()
            done = {id(e) for _, e in written}
            want = expected([inf for inf in infs if all(id(e) in done for _, e in inf["events"])])
            assert 0 < len(want) and stored(w) == (want, 0), part
        assert len(want) == len(expected(infs))
    finally:
        w.close()


def test_a_failed_refresh_and_a_crash_between_steps_lose_and_double_nothing(tmp_path, monkeypatch):
    infs = inferences(600)
    cfg = config(tmp_path)
    replicas(tmp_path, events(infs))
    store = tmp_path / "store"
    w = Warehouse(cfg, store)
    w.first_step_rows, w.step_rows, w.chunk_bytes = 40, 60, 8 << 10  # steps inside each file
    steps: list[int] = []

    def crash(manifest) -> None:
        steps.append(manifest.generation)
        if len(steps) == 3:
            raise KeyboardInterrupt  # the process dies between steps, with pairs waiting across the files

    w.on_step = crash
    with pytest.raises(KeyboardInterrupt):
        w.refresh()
    w.close()
    again = Warehouse(cfg, store)
    try:
        got, _ = stored(again)
        assert 0 < len(got) < len(expected(infs))
        # the next refresh fails at its commit: nothing of it is kept, the waiting events neither
        real = Warehouse._commit
        monkeypatch.setattr(Warehouse, "_commit", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk gone")))
        with pytest.raises(RuntimeError):
            again.refresh()
        monkeypatch.setattr(Warehouse, "_commit", real)
        again.refresh()
        assert stored(again) == (expected(infs), 0)
    finally:
        again.close()


def test_the_timeout_runs_on_the_sources_clock_and_sets_aside_under_the_events_own_file(tmp_path):
    """Pod a stops writing after an unanswered request; pod b goes on. The request is set aside once the source's
    newest event (pod b's) is 300 s past it, named by pod a's file and line; a pair 200 s apart across the files
    is kept."""
    cfg = config(tmp_path)
    infs = inferences(40)
    lone = infs[0]["events"][0]  # its response never comes
    slow_req, slow_resp = infs[1]["events"]
    late = slow_req[0] + timedelta(seconds=200)
    slow_resp = (late, {**slow_resp[1], "time": _stamp(late)})
    append(tmp_path / "logs" / "events-pod-a.jsonl", [lone, slow_req])
    append(tmp_path / "logs" / "events-pod-b.jsonl", [slow_resp] + events(infs[2:]))
    w = Warehouse(cfg, tmp_path / "store")
    try:
        w.refresh()
        got, bad = stored(w)
        with w.cursor() as cur:
            aside = cur.execute("SELECT source, location, reason FROM malformed").fetchall()
    finally:
        w.close()
    assert got == {**{k: 200_000.0 for k in infs[1]["rows"]}, **expected(infs[2:])}
    assert aside == [(str(tmp_path / "logs" / "events-pod-a.jsonl"), "1",
                      f"unpaired request {lone[1]['id']}: no response within 300 s")]


def test_a_store_that_kept_a_carry_per_file_hands_it_to_the_source(tmp_path):
    """A store written when each file kept its own carry: the request waiting on pod a's cursor pairs with the
    response that comes in pod b's file."""
    cfg = config(tmp_path)
    (inf,) = inferences(1)
    request, response = inf["events"]
    append(tmp_path / "logs" / "events-pod-a.jsonl", [request])
    store = tmp_path / "store"
    w = Warehouse(cfg, store)
    w.refresh()
    w.close()
    manifest = json.loads((store / "manifest.json").read_text())
    sid = "predictions|kserve-cloudevents|" + str(tmp_path / "logs" / "events*.jsonl")
    (cursor,) = manifest["cursors"][sid].values()
    cursor["carry"] = manifest["cursors"].pop(PAIRS + sid)  # as the carry was kept before
    (store / "manifest.json").write_text(json.dumps(manifest))
    append(tmp_path / "logs" / "events-pod-b.jsonl", [response])
    w = Warehouse(cfg, store)
    try:
        w.refresh()
        assert stored(w) == (expected([inf]), 0)
        assert all(c.get("carry") is None for c in w.manifest.cursors[sid].values())
    finally:
        w.close()
