"""An LLM's yes/no fields (`refused`, `guardrail_blocked`) however they are written, and one bad value costing only
its row.

Found by the thirtieth session's LLM probe: one row logging `"refused": "n/a"` among JSON booleans made the store
type the field as text, and the strict cast to a number failed `cost` (exit 4, "a remote system failed") and every
rule of the model (`check`: "could not be evaluated", the refusal incident lost), while `snapshot` showed no alert. A
log writing "yes"/"no" for every row failed the same way. The oracle is a hand count of the rows written here.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from console import cli, exit_codes
from console.analytics.cost import llm_usage_table


def test_a_flag_is_read_however_it_is_written_and_anything_else_is_unknown():
    frame = pl.DataFrame({
        "model": ["m"] * 8,
        "refused": ["true", "False", "YES", "no", "n/a", None, "1", "0.0"],
        "guardrail_blocked": ["y", "n", "t", "f", "maybe", "1.0", "0", None],
    })
    got = llm_usage_table(frame, ("model",)).row(0, named=True)
    assert got["requests"] == 8
    assert got["refusal_rate"] == pytest.approx(3 / 6)  # true, YES, 1 of the 6 rows that say yes or no
    assert got["guardrail_blocks"] == 3 and got["guardrail_block_rate"] == pytest.approx(3 / 6)
    booleans = pl.DataFrame({"model": ["m"] * 4, "refused": [True, False, None, True]})
    assert llm_usage_table(booleans, ("model",)).row(0, named=True)["refusal_rate"] == pytest.approx(2 / 3)


def test_one_bad_refused_value_costs_only_its_row(tmp_path, capsys):
    rows, t = [], datetime(2026, 11, 20)
    while t < datetime(2026, 11, 21):  # one row a minute; from noon every second row refused
        i = len(rows)
        rows.append({"ts": f"{t + timedelta(seconds=30):%Y-%m-%dT%H:%M:%S}Z", "model": "chat", "version": "1",
                     "request_id": f"r{i}", "prediction": "x", "latency_ms": 100, "input_tokens": 1000,
                     "output_tokens": 100, "refused": t.hour >= 12 and i % 2 == 0})
        t += timedelta(minutes=1)
    rows[5]["refused"] = "n/a"
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "mlops-console.toml"
    config.write_text('[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n'
                      '[models.chat]\ntask = "llm"\n[models.chat.prices]\ninput_per_1m = 2.0\noutput_per_1m = 10.0\n'
                      '[[alerts]]\nname = "refusals"\nmetric = "refusal_rate"\nop = ">"\nthreshold = 0.1\n'
                      'window = "1h"\n')
    base = ["--config", str(config)]
    assert cli.main([*base, "cost", "chat", "--window", "2026-11-20", "--format", "json"]) == exit_codes.OK
    cost = json.loads(capsys.readouterr().out)
    assert cost["window_spend"]["requests"] == len(rows)
    assert cost["window_spend"]["usd"] == pytest.approx(len(rows) * (1000 * 2.0 + 100 * 10.0) / 1e6)
    code = cli.main([*base, "--at", "2026-11-20T23:00Z", "check", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    firing = [i for i in out["incidents"] if i["state"] == "firing" and i["rule"] == "refusals"]
    assert code == exit_codes.REFUSED and len(firing) == 1, out
    assert firing[0]["value"] == pytest.approx(0.5)  # a refusal every second row, as written


BAD_USAGE = [("neg-in", {"input_tokens": -1_000_000}, "input_tokens is negative"),
             ("neg-out", {"output_tokens": -500_000}, "output_tokens is negative"),
             ("neg-cost", {"cost_usd": -1.0}, "cost_usd is negative"),
             ("frac", {"input_tokens": 0.6, "output_tokens": 0.4}, "input_tokens is not a whole number"),
             ("huge", {"input_tokens": 1e20}, "input_tokens is out of range")]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_negative_or_broken_usage_is_set_aside_and_spend_stays_the_hand_sum(tmp_path, capsys, fmt):
    """Thirtieth session's LLM probe: negative token counts and a negative `cost_usd` were kept, and a day's spend
    read $-5.97 with "malformed rows 0"; 0.6 tokens were rounded to 1. Such rows are set aside with their reason,
    in a text log and in Parquet read in place alike, and `rollup` keeps the rows the store keeps."""
    from console import rollup_sources

    t0 = datetime(2026, 11, 20, 10)
    rows = [{"ts": f"{t0 + timedelta(seconds=30 * (k + 1)):%Y-%m-%dT%H:%M:%S}Z", "model": "chat", "version": "1",
             "request_id": f"g{k}", "prediction": "x", "latency_ms": 100.0, "input_tokens": 1000,
             "output_tokens": 100} for k in range(10)]
    for j, (rid, change, _) in enumerate(BAD_USAGE):
        rows.append({**rows[0], "ts": f"{t0 + timedelta(minutes=8, seconds=j):%Y-%m-%dT%H:%M:%S}Z",
                     "request_id": rid, **change})
    if fmt == "jsonl":
        (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        path = "preds.jsonl"
    else:
        frame = pl.DataFrame(rows, schema_overrides={"input_tokens": pl.Float64, "output_tokens": pl.Float64,
                                                     "cost_usd": pl.Float64})
        frame.write_parquet(tmp_path / "preds.parquet")
        path = "preds.parquet"
    config = tmp_path / "mlops-console.toml"
    config.write_text(f'[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "{path}"\n'
                      '[models.chat]\ntask = "llm"\n[models.chat.prices]\ninput_per_1m = 2.0\noutput_per_1m = 10.0\n')
    base = ["--config", str(config)]
    assert cli.main([*base, "cost", "chat", "--window", "2026-11-20", "--format", "json"]) == exit_codes.OK
    cost = json.loads(capsys.readouterr().out)
    assert cost["window_spend"]["requests"] == 10
    assert cost["window_spend"]["usd"] == pytest.approx(10 * (1000 * 2.0 + 100 * 10.0) / 1e6)
    assert cli.main([*base, "--at", "2026-11-20T12:00Z", "snapshot", "--format", "json"]) == exit_codes.OK
    snap = json.loads(capsys.readouterr().out)
    assert snap["counts"]["predictions"] == 10 and snap["counts"]["malformed"] == len(BAD_USAGE)
    if fmt == "jsonl":
        assert sorted(r["reason"] for r in snap["malformed_by"]) == sorted(why for _, _, why in BAD_USAGE)
    import pyarrow as pa

    kept = rollup_sources.conform(pa.Table.from_pylist(
        [{**r, "input_tokens": r["input_tokens"] * 1.0, "output_tokens": r["output_tokens"] * 1.0,
          "cost_usd": float(r.get("cost_usd", 0.0))} for r in rows]))
    assert sorted(kept.column("request_id").to_pylist()) == sorted(f"g{k}" for k in range(10))


@pytest.mark.parametrize("min_rows", [0, 10**9], ids=["rollups", "raw"])
def test_a_shadows_refusals_are_not_the_models(tmp_path, capsys, min_rows):
    """The refusal rule from rollups read `ts` and `refused` alone, so a shadow's mirrored answers counted: a
    shadow refusing every request fired "refusals" at 0.5 on a champion that refused none, where the raw path
    (served rows only, as every rate rule) said nothing."""
    rows, t = [], datetime(2026, 11, 20)
    while t < datetime(2026, 11, 21):
        for variant in ("champion", "shadow"):
            rows.append({"ts": f"{t + timedelta(seconds=30):%Y-%m-%dT%H:%M:%S}Z", "model": "chat",
                         "version": "1" if variant == "champion" else "2", "variant": variant,
                         "request_id": f"{variant}{len(rows)}", "prediction": "x", "latency_ms": 100,
                         "input_tokens": 10, "output_tokens": 10, "refused": variant == "shadow"})
        t += timedelta(minutes=1)
    (tmp_path / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "mlops-console.toml"
    config.write_text(f'[store]\npath = "store"\n[rollups]\nmin_rows = {min_rows}\n'
                      '[[logs]]\nkind = "predictions"\npath = "preds.jsonl"\n[models.chat]\ntask = "llm"\n'
                      '[[alerts]]\nname = "refusals"\nmetric = "refusal_rate"\nop = ">"\nthreshold = 0.1\n'
                      'window = "1h"\n')
    base = ["--config", str(config), "--at", "2026-11-20T23:00Z"]
    assert cli.main([*base, "snapshot", "--format", "json"]) in (exit_codes.OK, exit_codes.REFUSED)
    capsys.readouterr()
    code = cli.main([*base, "check", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    refusals = [i for i in out["incidents"] if i["rule"] == "refusals"]
    assert code == exit_codes.OK and not [i for i in refusals if i["state"] == "firing"], out
