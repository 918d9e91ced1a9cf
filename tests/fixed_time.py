"""The one instant every demo-based test builds its workspace at, so no result depends on the day or
hour the suite runs (the demo is generated relative to `now`; which rule fires first depends on it)."""

from datetime import datetime

# 06:00 puts the demo's festival in daytime; at night its 3-hour drift buckets never reach 500 rows, which is
# issue 11's fault (drift buckets sized by the clock, not by evidence), not something a test should depend on.
DEMO_NOW = datetime(2026, 3, 10, 6, 0, 0)  # naive UTC, like Service's clock
