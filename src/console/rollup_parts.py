"""The pieces a rule's window is made of over the hourly rollups (`rollup_rules`): a `Part` is the rows in (a, b],
a rollup hour's or a raw piece's at the history's ends, and a `Window` the parts of one evaluation. A rollup
hour's rows stamped on its first instant count in the hour before (`store_rollups.ON_HOUR`), so a union of parts
is the raw path's (lo, hi] window."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from console import store_rollups as ro
from console.analytics import sketches as sk
from console.rollup_drift import Current, floor_hour

HOUR = ro.HOUR
ENV = "production"  # the findings are production's
RATE, DRIFT = "rate", "drift"  # windows cut at the row (`RollupRules.windows`); a drift one's piece has features


def ceil_hour(t: datetime) -> datetime:
    f = floor_hour(t)
    return f if f == t else f + HOUR


@dataclass(eq=False)
class Part:
    """Rows in (a, b]. A rollup part is (h, h + 1h]: hour h's rows but those on its first instant, with the next
    hour's first-instant rows (`store_rollups.ON_HOUR`), so a union of parts is the raw path's (lo, hi] window; a
    raw piece is as read."""

    a: datetime
    b: datetime
    rows: int = 0
    errors: int = 0  # `served` rows' errors and latency: what the rate rules read (`health.served`)
    latency: sk.Dist | None = None
    labelled: int = 0
    correct: int = 0
    reg_n: int = 0
    reg_abs: float = 0.0
    reg_sq: float = 0.0
    raw: bool = False
    cur: Current | None = field(default=None, repr=False)  # drift summary, filled on demand
    kll: list | None = field(default=None, repr=False)  # the hour's latency sketches, merged on first use
    served: int = 0  # rows users were served (not a shadow's mirrored requests), the rate rules' count
    scored: int = 0  # labelled rows with a prediction: accuracy's count, as quality's (a row with none is not wrong)
    cut: bool = False  # the piece a window grown back was cut to at the row (`RollupRules._cut`)

    def dist(self) -> sk.Dist | None:
        """The latency distribution (a rollup hour's sketches are merged only when a window needs them: most
        windows' evaluations are kept from an earlier pass, `rule_memo`)."""
        if self.latency is None and self.kll:
            # the sketches' items unioned at once: the Dist of each first gave the same values and weights, but for
            # which of -0.0 and 0.0 stands for their run, so a union holding a zero is made as it was
            d = sk.Dist.union(self.kll)
            if d.values.size and (d.values == 0.0).any():
                d = sk.Dist.union([sk.Dist.of(b) for b in self.kll])
            self.latency = d
        return self.latency


@dataclass
class Window:
    lo: datetime  # the evaluation's (start, end], as shown
    hi: datetime
    parts: list[Part]
    own: int | None = None  # what it counted of its span before it was grown back (`RollupRules.windows`)
    span: timedelta | None = None  # that span

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def labelled(self) -> int:
        return sum(p.labelled for p in self.parts)

    @property
    def served(self) -> int:
        return sum(p.served for p in self.parts)

    @property
    def scored(self) -> int:
        return sum(p.scored for p in self.parts)


def _with_on_hour(df: pl.DataFrame) -> pl.DataFrame:
    """Rollup rows with `ON_HOUR` (a file written before it has none: read as the hour's rest; such an hour is
    rebuilt before the rules read it, `store_rollups.ADDED`)."""
    return df if ro.ON_HOUR in df.columns else df.with_columns(pl.lit(False).alias(ro.ON_HOUR))


def _part_hour() -> pl.Expr:
    """The rule part a rollup row counts in (`Part`): its hour, or for its first instant's rows the hour before."""
    return (pl.when(pl.col(ro.ON_HOUR).fill_null(False)).then(pl.col("hour") - HOUR).otherwise(pl.col("hour"))
            .alias("part"))


def _span(w: Window) -> tuple[datetime, datetime]:
    """(a, b] holding every row of a window's parts (its raw pieces' ends included)."""
    return (min(p.a for p in w.parts), max(p.b for p in w.parts)) if w.parts else (w.lo, w.hi)


_each_hour = ro._hours  # the hours [a, b), one at a time
