"""Time windows and buckets shared by the monitoring analytics.

Windows are written the way operators say them ("5m", "1h", "7d"); every function takes `now`
explicitly so tests and replays control the clock. Timestamps are naive UTC throughout.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

# The Overview's DRIFT cell's span (`Monitor._drift_status`), here so that its header and `snapshot` name it
# without importing the monitor: 6 h, where `drift` reads 24 h by default and `check` each rule's own window.
# With the rows a drift verdict needs at least (the rules read the last MIN_DRIFT_ROWS when a window holds fewer).
OVERVIEW_DRIFT_WINDOW = "6h"
MIN_DRIFT_ROWS = 500  # normed Wasserstein reads sampling noise as drift on a few hundred rows
MIN_BUCKET_ROWS = 100  # fewer rows than this in a window: its rate is noise, not evidence (the rules, the SLO panel)
HISTORY = "7d"  # the incident history before `--at` unless `--since` says otherwise
BEFORE_OLDEST = timedelta(days=30)  # how far before the oldest row a history may start (`history_start`)

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


def history_start(since: datetime | None, now: datetime, oldest: Callable[[], datetime | None]) -> datetime:
    """`since` (`--since`), else HISTORY before `now`; never more than BEFORE_OLDEST before the store's oldest row
    (`oldest`: its files' spans, asked only for a `since` that far back): every rule's windows and read-backs ran
    hour by hour from the `--since` asked, so `check --from 1970-01-01` on a month of rows did not end in minutes,
    for windows that hold no row. A `since` within that margin is kept as asked (and said so). Here, not on the
    Monitor: `check` answered from a kept answer says its history without importing the rules' libraries."""
    if since is None or since >= now:
        return now - parse_window(HISTORY)
    if since < now - BEFORE_OLDEST:
        try:
            first = oldest()
        except Exception:  # noqa: BLE001 - no bound known: the history asked for, as before
            first = None
        if first is not None and since < first - BEFORE_OLDEST:
            return min(first - BEFORE_OLDEST, now - parse_window(HISTORY))
    return since


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
    import polars as pl  # (here: the store reads windows' lengths without loading Polars)

    start, end = window_bounds(now, window)
    return df.filter((pl.col(ts) > start) & (pl.col(ts) <= end))


def between(df: pl.DataFrame, start: datetime, end: datetime, ts: str = "ts") -> pl.DataFrame:
    """Rows with start <= ts < end."""
    import polars as pl  # (here: the store reads windows' lengths without loading Polars)

    return df.filter((pl.col(ts) >= naive_utc(start)) & (pl.col(ts) < naive_utc(end)))


def bucket_expr(every: str | timedelta, ts: str = "ts") -> pl.Expr:
    """Start of the fixed-width bucket each timestamp falls in (epoch aligned)."""
    import polars as pl  # (here: the store reads windows' lengths without loading Polars)

    return pl.col(ts).dt.truncate(polars_every(every))


CHART_EVERY = ("1m", "5m", "10m", "30m", "1h", "3h", "6h", "12h")


def chart_every(span: str | timedelta, finest: str = "1m") -> str:
    """A window's chart bucket: the finest of CHART_EVERY (none finer than `finest`) that cuts it into at most
    48 buckets, else a day. Health and quality charts follow the window they are asked for; `finest="1h"` for
    a chart also summed from hourly rollup rows."""
    span = parse_window(span)
    sizes = CHART_EVERY[CHART_EVERY.index(finest):]
    return next((e for e in sizes if parse_window(e) * 48 >= span), "1d")


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
    if isinstance(value, datetime):  # every time is UTC, naive inside: JSON says so (a script read local time)
        return (value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value).isoformat() + "Z"
    if isinstance(value, date):
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


def plain_json(value: Any) -> Any:
    """Analytics results (dataclasses, Polars frames, lists of them) as plain JSON values; no NaN or Infinity.
    Polars is not imported for it: a frame can only come from a process that has it (a kept answer needs none)."""
    pl = sys.modules.get("polars")
    if pl is not None and isinstance(value, pl.DataFrame):
        return [to_jsonable(r) for r in value.to_dicts()]
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return to_jsonable(value.to_dict() if hasattr(value, "to_dict") else value)


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


EARLIEST, LATEST = datetime(1970, 1, 1), datetime(9000, 1, 1)  # what a view may end at: its windows stay in range
# The one wording of a time out of that range, whatever option or form carried it (`--window 9999-12` said "year
# 10000 is out of range", `--from 9999-12-01` "'9999-12-01' is out of range: a view ends between...", `--window
# 10000-01` "expected a window such as 5m")
OUT_OF_RANGE = f"out of range: a view lies between {EARLIEST.year} and {LATEST.year - 1}"


class OutOfRange(ValueError):
    """A time a view may not take (OUT_OF_RANGE); `_option` prefixes the option and the value."""


_MONTH = re.compile(r"^(\d{4,})-(\d{2})$")  # a 5-digit year is a period out of range, not a malformed duration
_WEEK = re.compile(r"^(\d{4,})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4,})-(\d{2})-(\d{2})$")


def _in_range(year: int) -> int:
    """`year`, or OutOfRange: datetime's own "year 10000 is out of range" named neither the option nor the
    range a view may take."""
    if not EARLIEST.year <= year < LATEST.year:
        raise OutOfRange(OUT_OF_RANGE)
    return year


def parse_period(text: str) -> tuple[datetime, datetime] | None:
    """A calendar period as [start, end): "2026-07" (month), "2026-W27" (ISO week), "2026-07-04" (day).
    None when `text` is not a period (it may then be a duration such as 30d)."""
    text = str(text).strip()
    if m := _MONTH.match(text):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise ValueError(f"no month {mo} in {text!r}")
        _in_range(y)
        return datetime(y, mo, 1), datetime(y + (mo == 12), mo % 12 + 1, 1)
    if m := _WEEK.match(text):
        y, w = _in_range(int(m.group(1))), int(m.group(2))
        if not 1 <= w <= datetime(y, 12, 28).isocalendar()[1]:  # 28 December is always in the year's last week
            raise ValueError(f"no ISO week {w} in {y}")
        start = datetime.fromisocalendar(y, w, 1)
        return start, start + timedelta(days=7)
    if m := _DAY.match(text):
        y = _in_range(int(m.group(1)))
        try:
            start = datetime(y, int(m.group(2)), int(m.group(3)))
        except ValueError as exc:
            raise ValueError(f"no such day ({exc})") from None
        return start, start + timedelta(days=1)
    return None


class TooFine(ValueError):
    """A time given finer than a microsecond, which every bound read silently truncated (`parse_time`)."""


_FINER = re.compile(r"\d{2}:\d{2}:\d{2}[.,]\d{6}(\d+)")  # the digits of a fraction past its sixth


def parse_time(text: str, *, exclusive_end: bool = False) -> datetime:
    """An ISO 8601 time (a trailing Z or an offset is converted to naive UTC); a bare date is its midnight.
    `exclusive_end` (`--to`, which the view stops before) may be LATEST itself: `--to 9000-01-01` is `--window
    8999-12`'s end."""
    digits = str(text).strip()
    if re.match(r"^\d{5,}-", digits):  # a year past 9999: out of range, not "expected an ISO time"
        raise OutOfRange(OUT_OF_RANGE)
    if digits.isdigit() and len(digits) >= 9:  # read as a basic ISO date it says "month must be in 1..12"
        ms = len(digits) >= 12
        seconds = int(digits) / 1000 if ms else int(digits)
        try:
            as_iso = f" (as epoch {'milliseconds' if ms else 'seconds'}: " + \
                datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") + ")"
        except (ValueError, OverflowError, OSError):
            as_iso = ""
        raise ValueError(f"a number, not an ISO time{as_iso}; expected an ISO time such as 2026-07-04T12:00Z "
                         "or 'latest'")
    finer = _FINER.search(digits)
    if finer and finer.group(1).strip("0"):
        raise TooFine("finer than a microsecond: give at most 6 decimal places (a row's time is kept to the "
                      "microsecond, its finer digits dropped, so no bound between two microseconds can tell which "
                      "rows at its microsecond are in)")
    try:
        t = naive_utc(datetime.fromisoformat(str(text).strip().replace("Z", "+00:00")))
    except (ValueError, OverflowError) as exc:  # malformed, or one that does not exist (30 February)
        why = "" if str(exc).startswith("Invalid isoformat") else \
            "a UTC offset is at most 23:59: " if str(exc).startswith("offset must be") else f"{exc}: "
        raise ValueError(f"{why}expected an ISO time such as 2026-07-04T12:00Z or 'latest', got {text!r}") from None
    # a view of year 1 overflowed its window's start (the TUI's `@` crashed on it)
    if not (EARLIEST < t <= LATEST if exclusive_end else EARLIEST <= t < LATEST):
        raise OutOfRange(OUT_OF_RANGE)
    return t


@dataclasses.dataclass(frozen=True)
class View:
    """What a read shows: the window (start, end] and the incident history since `since`. A calendar period
    and --from/--to are [first, next) as given: (first - 1 us, next - 1 us]."""

    end: datetime
    span: timedelta
    since: datetime

    @property
    def start(self) -> datetime:
        return self.end - self.span


def resolve_view(*, now: datetime, latest: datetime | None, at: str | None = None, window: str | None = None,
                 start: str | None = None, end: str | None = None, since: str | None = None,
                 default_window: str = "24h", history: str = "7d") -> View:
    """Turns the read options every command takes into one View.

    `at` is the end of the view (ISO, or "latest" for the newest row, default `now`); `window` is a duration
    ending there or a calendar period (which sets both ends); `start`/`end` give the range outright. The
    incident history runs from `since`, with no fixed limit; by default it covers the window asked for: from
    the start of a calendar period or of `--from/--to` (their incidents, not those of the week before their
    end), from `window` before the end for a duration of `history` or longer, else `history` before the end
    (a shorter duration keeps the rules' usual history: a 24 h rule evaluated on one hour of rows would not be
    the rule the operator configured).
    Every error names the option and the value it could not read (an operator may have typed several); an
    option given as an empty string is an error, not its default (a script's unset variable, `--at "$T"`).
    """
    for option, value in (("--at", at), ("--window", window), ("--from", start), ("--to", end), ("--since", since)):
        if value is not None and not str(value).strip():
            raise ValueError(f"{option} is empty: give a value or leave the option out")
    if at is not None and str(at).strip().lower() == "latest":
        end_t = latest if latest is not None else now
    else:
        end_t = _option("--at", at, parse_time) if at is not None else now
    span = None
    bounded = False  # a calendar period or --from/--to: the incident history is the window itself
    if window is not None:
        period = _option("--window", window, parse_period)
        if period and not (EARLIEST <= period[0] and period[1] <= LATEST):  # its ends overflowed later, unnamed
            raise ValueError(f"--window {str(window)!r}: {OUT_OF_RANGE}")  # 1970-W01 starts in 1969
        if period:
            if at is not None:
                raise ValueError("give either a calendar period as --window or --at, not both")
            start_t, end_t = period[0], period[1] - timedelta(microseconds=1)  # (start - 1us, end - 1us]
            span = period[1] - start_t
            bounded = True
        else:
            span = _option("--window", window, parse_window)
            if span > end_t - EARLIEST:  # said by name, not as "a time option is out of range (date value ...)"
                raise ValueError(f"--window {str(window)!r}: out of range: it reaches back before {EARLIEST.year}, "
                                 "where a view may start at the earliest")
    if start is not None or end is not None:
        if window is not None:
            raise ValueError("give either --window or --from/--to, not both")
        # [from, to), as a calendar period is read: --from 2026-07-01 --to 2026-08-01 is --window 2026-07, a row
        # at exactly --from is in, one at exactly --to is not (qa7: a row at 2026-07-01T00:00:00 was out of
        # --from 2026-07-01 and in --window 2026-07, both saying "from 2026-07-01T00:00:00Z"). Without --to the
        # view ends at --at (or now), which it holds, as every window does.
        us = timedelta(microseconds=1)
        last = _option("--to", end, lambda t: parse_time(t, exclusive_end=True)) - us if end is not None else end_t
        if start is None:
            raise ValueError("--to needs --from")
        if end is not None and at is not None:  # both say where the view ends: one was ignored without a word
            raise ValueError("give either --to or --at, not both (--from T --at U is the range from T to U)")
        first = _option("--from", start, parse_time)
        if first > last or (end is None and first == last):
            raise ValueError("--from must be before --to" if end is not None else
                             f"--from must be before the end of the view ({'--at' if at is not None else 'now'}: "
                             f"{last:%Y-%m-%dT%H:%M:%S}Z); give --to, or an --at after it")
        end_t, span = last, last - first + us
        bounded = True
    span = span or parse_window(default_window)
    if since is not None:
        since_t = _option("--since", since, parse_time)
    else:
        since_t = end_t - (span if bounded else max(parse_window(history), span))
    if since_t >= end_t:
        raise ValueError("--since must be before the end of the view")
    return View(end_t, span, since_t)


def _option(option: str, text: str, parse):
    """`parse(text)`, its error prefixed with the option and the value ("--window '2025-W53': ...")."""
    try:
        return parse(text)
    except (OverflowError, OutOfRange):  # 99999999999d, 9999-W52: past what a datetime holds ("Python int too...")
        raise ValueError(f"{option} {str(text)!r}: {OUT_OF_RANGE}") from None
    except ValueError as exc:
        reason = str(exc).removesuffix(f", got {str(text).strip()!r}").removesuffix(f", got {text!r}")
        if option != "--at":  # only --at takes 'latest'
            reason = reason.replace(" or 'latest'", "")
        raise ValueError(f"{option} {str(text)!r}: {reason}") from None


def format_span(span: str | timedelta) -> str:
    """A window as operators write it: 90m, 24h, 30d (the largest unit that divides it, a day as 24h); a span no unit divides
    (`--from T` alone ends at the wall clock) in the units it holds, largest first: "14d 6h 12m 3s", never a
    count of seconds an operator has to divide."""
    if isinstance(span, str):
        return span
    # to the nearest second: a calendar view ends 1 us before its next period, so `--since` a midnight made a
    # history of 4 days said as "3d 23h 59m 59s"
    seconds = round(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        # a day is said as operators ask for it, `24h` (`--window 24h` printed `window 1d`); two or more in days
        if seconds and seconds % size == 0 and not (unit == "d" and seconds < 2 * size):
            return f"{seconds // size}{unit}"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts)


def window_fields(end: datetime, span: timedelta) -> dict:
    """What a read command says of its window, in text and JSON alike: its length as operators write it
    (`format_span`) and its two ends (ISO, Z). The one place every read command formats its window.

    A window is (end - span, end]; "from" and "to" are its first and last instants, both in it, whatever way it
    was asked for: a calendar period (`resolve_view`: (start - 1 us, end - 1 us], "2026-07" is from
    2026-07-01T00:00:00Z to 2026-07-31T23:59:59.999999Z), `--from T` (from T), or a span ending at `--at` (`--window
    24h --at 00:00Z` is from 00:00:00.000001Z the day before: a row at exactly 00:00 that day is the previous
    window's). A span printed from its exclusive start looked like `--from` that start and counted one row
    fewer at it."""
    first = end - span + timedelta(microseconds=1)
    return {"window": format_span(span), "from": first.isoformat() + "Z", "to": end.isoformat() + "Z"}


def window_text(end: datetime, span: timedelta) -> str:
    """`window_fields` as one line of text: "window 14d 6h (2026-11-16T00:00:00Z to 2026-11-30T06:00:00Z)"."""
    w = window_fields(end, span)
    return f"window {w['window']} ({w['from']} to {w['to']})"
