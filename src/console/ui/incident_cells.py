"""An incident's cells as the tables show them (Overview, Incidents, the model page).

Apart from the model page's module because the Overview draws them in its first frame: that module brings the
analytics (Polars, NumPy) with it, an import on the event loop before the first paint, and a first import of Polars
on one thread while a worker makes its own (see `ui.libraries`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text

from console.ui.text import printable


def ts(v: datetime | None) -> str:
    return f"{v:%m-%d %H:%M}" if v else "-"


def onset(f) -> str:
    """An incident's onset in a table: "<07-10 12h" when it was breaching as far back as the rules look
    (`Finding.onset_before`), so it began before that hour (no wider than `ts`'s "07-10 12:00")."""
    return f"<{f.onset:%m-%d %H}h" if f.onset_before else ts(f.onset)


def lasted(f, until: datetime | None) -> str:
    """How long an incident has lasted up to `until` (its end, or the view's time): ">90d00h" when it began before
    its onset (`onset`)."""
    if until is None:
        return "-"
    return (">" if f.onset_before else "") + duration(until - f.onset)


def duration(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{mins:02d}m"
    return f"{mins}m"


def severity(sev: str) -> Text:
    s = (sev or "").lower()
    if s == "critical":
        return Text("CRIT", style="bold reverse")
    return Text(printable(s[:4]) or "-")
