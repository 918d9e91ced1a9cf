"""Time windows and buckets shared by the monitoring analytics.

Windows are written the way operators say them ("5m", "1h", "7d"); every function takes `now`
explicitly so tests and replays control the clock. Timestamps are naive UTC throughout.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import polars as pl

_WINDOW = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_window(text: str | timedelta) -> timedelta:
    """ "5m" -> 5 minutes; accepts s, m, h, d, w. A timedelta passes through."""
    if isinstance(text, timedelta):
        if text <= timedelta(0):
            raise ValueError(f"window must be positive, got {text}")
        return text
    m = _WINDOW.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"expected a window such as 5m, 1h, 6h, 24h or 7d, got {text!r}")
    return timedelta(**{_UNIT[m.group(2)]: int(m.group(1))})


def polars_every(text: str | timedelta) -> str:
    """The Polars duration string for a window (Polars spells minutes "m" and months "mo")."""
    seconds = int(parse_window(text).total_seconds())
    return f"{seconds}s"


def naive_utc(ts: datetime) -> datetime:
    """Aware datetimes are converted to UTC; naive ones are taken as UTC already."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts


def window_bounds(now: datetime, window: str | timedelta) -> tuple[datetime, datetime]:
    now = naive_utc(now)
    return now - parse_window(window), now


def in_window(df: pl.DataFrame, now: datetime, window: str | timedelta, ts: str = "ts") -> pl.DataFrame:
    """Rows with start < ts <= now, so adjacent windows never count a row twice."""
    start, end = window_bounds(now, window)
    return df.filter((pl.col(ts) > start) & (pl.col(ts) <= end))


def between(df: pl.DataFrame, start: datetime, end: datetime, ts: str = "ts") -> pl.DataFrame:
    """Rows with start <= ts < end."""
    return df.filter((pl.col(ts) >= naive_utc(start)) & (pl.col(ts) < naive_utc(end)))


def bucket_expr(every: str | timedelta, ts: str = "ts") -> pl.Expr:
    """Start of the fixed-width bucket each timestamp falls in (epoch aligned)."""
    return pl.col(ts).dt.truncate(polars_every(every))


def with_bucket(df: pl.DataFrame, every: str | timedelta, ts: str = "ts", name: str = "bucket") -> pl.DataFrame:
    return df.with_columns(bucket_expr(every, ts).alias(name))


def day_start(now: datetime) -> datetime:
    now = naive_utc(now)
    return datetime(now.year, now.month, now.day)


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """First instant of this UTC month and of the next."""
    now = naive_utc(now)
    start = datetime(now.year, now.month, 1)
    nxt = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1)
    return start, nxt


def to_jsonable(value: Any) -> Any:
    """Result dataclasses → plain JSON values (datetimes ISO 8601, non-finite floats None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


class JsonResult:
    """Mixin giving frozen result dataclasses a `to_dict()` for the JSON output."""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)


def opt_float(value: Any) -> float | None:
    """A Polars scalar as a float, with null/NaN as None."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
