"""A prompt suspect's traffic share is of the requests since the prompt appeared, so it tells a canary from a rollout.

Taken over the whole lookback (24 h plus the detection lag, mostly the old prompt), a prompt serving every request
since 20:00 read "26% of requests since 19:50", the 19:50 of the day before."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from console.analytics import incidents as inc

DETECTED = datetime(2026, 12, 5, 4, 10)


def _preds(new_share_every: int) -> pl.DataFrame:
    ts = [datetime(2026, 12, 3, 0, 0) + timedelta(minutes=10 * k) for k in range(6 * 52 + 2)]  # to 2026-12-05 04:10
    change = datetime(2026, 12, 4, 20, 0)
    prompts = ["p1" if t < change or k % new_share_every else "p2" for k, t in enumerate(ts)]
    return pl.DataFrame({"ts": ts, "model": "assistant", "prompt_version": prompts})


def test_a_full_rollout_reads_100_percent():
    [s] = inc.prompt_suspects(_preds(1), "assistant", DETECTED, timedelta(hours=32, minutes=20))
    assert s.ts == datetime(2026, 12, 4, 20, 0)
    assert s.detail == "prompt_version p2 first served (100% of requests since then)"  # 50 of the 50 since 20:00


def test_a_canary_reads_its_share():
    # from 20:00 to 04:10 (k from 264 to 313: 50 requests), p2 on every even k: 25 of 50
    [s] = inc.prompt_suspects(_preds(2), "assistant", DETECTED, timedelta(hours=32, minutes=20))
    assert s.detail == "prompt_version p2 first served (50% of requests since then)"
