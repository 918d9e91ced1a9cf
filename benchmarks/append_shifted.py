"""Appends a source log's last 10,000 rows to LOG, shifted later by K times their span, request ids made unique:
the new rows a live log gets between two runs. Used by bench_rules_live.sh and bench_rollup_append.sh.

    python benchmarks/append_shifted.py LOG K SOURCE
"""

import json
import sys
from collections import deque
from datetime import datetime, timedelta, timezone

log, k, source = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(source) as f:
    rows = [json.loads(x) for x in deque(f, 10000)]
ts = [datetime.fromisoformat(r["ts"].replace("Z", "")) for r in rows]
span = ts[-1] - ts[0] + timedelta(seconds=1)
with open(log, "a") as out:
    for r, t in zip(rows, ts):
        r["ts"] = (t + k * span).isoformat(timespec="microseconds") + "Z"
        r["request_id"] = f"{r['request_id']}-live{k}"
        out.write(json.dumps(r) + "\n")
if ts[-1] + k * span > datetime.now(timezone.utc).replace(tzinfo=None):  # past the store's clock-skew horizon: set aside, `now` stops moving
    print(f"WARNING: append {k} ends at {ts[-1] + k * span}Z, after the wall clock: its rows are clock skew; "
          "start a new WORK folder (or regenerate the fleet)", file=sys.stderr)
