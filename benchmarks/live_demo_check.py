"""The demo left running: does anything fire that was not planted? (issue 11's 15-minute check)

    PYTHONPATH=src python benchmarks/live_demo_check.py [--minutes 15] [--every 5] [--dir /tmp/live-demo]

Builds the demo at the wall clock, keeps its live writer appending for --minutes (as the TUI does while
it is open), and every --every minutes runs `check --format json` in a fresh process. Prints the firing
incidents each time and which appeared or disappeared since the build. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def firing(config: Path) -> set[tuple[str, str]]:
    out = subprocess.run([sys.executable, "-m", "console", "--config", str(config), "check", "--format", "json"],
                         capture_output=True, text=True, timeout=600)
    data = json.loads(out.stdout)
    return {(i["model"], i["rule"]) for i in data["incidents"] if i.get("firing")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--every", type=float, default=5)
    ap.add_argument("--dir", default="/tmp/live-demo")
    args = ap.parse_args()
    subprocess.run([sys.executable, "-m", "console", "demo", "--no-open", "--reset", "--dir", args.dir], check=True,
                   capture_output=True)
    config = Path(args.dir) / "mlops-console.toml"
    from console.demo.live import LiveWriter

    start = firing(config)
    print(f"built: {len(start)} firing: {sorted(start)}", flush=True)
    writer = LiveWriter(config)
    writer.start()
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < args.minutes * 60:
            time.sleep(min(args.every * 60, args.minutes * 60 - (time.monotonic() - t0)))
            now = firing(config)
            print(f"+{(time.monotonic() - t0) / 60:.1f} min: {len(now)} firing; new {sorted(now - start)}; "
                  f"gone {sorted(start - now)}", flush=True)
    finally:
        writer.stop()


if __name__ == "__main__":
    main()
