"""Keeps the demo alive: appends fresh predictions so panels move while someone watches.

The traffic split comes from the deployment log itself, read incrementally, so a promotion,
canary step or rollback made from the console shows up in the very next batch of rows.
"""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from console.config import parse_file
from console.demo import fleet as F
from console.demo.otlp_writer import write_otlp

SHARE = {F.FRAUD: .5, F.ETA: .3, F.LLM: .2}  # of the requested rate, per model (production)
LABEL_DELAY_S = {F.FRAUD: (20, 90), F.ETA: (10, 60)}  # accelerated so labels land during a session


class LiveWriter:
    """Appends predictions to logs/predictions/live.jsonl (the LLM's as OTLP spans to its trace log, when the
    config reads one) at a steady rate."""

    def __init__(self, config_path: Path, rate_per_s: float | None = None, seed: int = 11):
        """`rate_per_s` None: each model at the history's own rate for the hour of day (fleet.rate_per_s), so
        the planted incidents stay the story; a number: that many requests a second, shared by SHARE."""
        cfg = parse_file(Path(config_path))
        root = cfg.root
        self.rate_per_s = rate_per_s
        deployments = [s.path for s in cfg.logs if s.kind == "deployments" and "*" not in s.path]
        self.deployments_path = Path(deployments[0]) if deployments else root / "logs" / "deployments.jsonl"
        self.output_path = root / "logs" / "predictions" / "live.jsonl"
        # the LLM's rows go where the config reads OpenTelemetry spans (the demo's own log), else to output_path
        otlp = [s.path for s in cfg.logs if s.kind == "predictions" and s.format == "otlp" and "*" not in s.path]
        self.otlp_path = Path(otlp[0]) if otlp else None
        self.labels_path = root / "logs" / "labels.csv"
        self.models = [m for m in F.VERSIONS if not cfg.models or m in cfg.models]
        tour = root / "tour.json"
        built = json.loads(tour.read_text())["now"] if tour.is_file() else None
        self._moments = F.moments_of(F.as_utc(datetime.fromisoformat(built.replace("Z", "+00:00")))) \
            if built else None
        self._rng = np.random.default_rng(seed)
        self._offset, self._partial = 0, b""
        self.serving: dict[tuple[str, str], F.Serving] = {}
        self._pending: list[pl.DataFrame] = []  # labels not due yet: request_id, label, _due
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ the deployment log

    def poll_deployments(self) -> int:
        """Applies newly appended deployment events; a partial last line waits for its newline."""
        try:
            size = self.deployments_path.stat().st_size
        except FileNotFoundError:
            return 0
        if size < self._offset:  # replaced or truncated: start over
            self._offset, self._partial, self.serving = 0, b"", {}
        with open(self.deployments_path, "rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        applied = 0
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or not event.get("model"):
                continue
            key = (event["model"], event.get("environment") or "production")
            self.serving[key] = self.serving.get(key, F.Serving()).apply(event)
            applied += 1
        return applied

    # ------------------------------------------------------------------ one tick

    def write_batch(self, seconds: float = 1.0, now: datetime | None = None) -> int:
        """Appends the requests of the `seconds` before `now`; returns how many rows were written."""
        with self._lock:
            self.poll_deployments()
            now = F.as_utc(now) if now is not None else datetime.now(UTC)
            end = F.us(now)
            start = end - int(seconds * 1e6)
            moments = self._moments or F.moments_of(now)
            out = io.BytesIO()
            spans: list[dict] = []
            written = 0
            for model in self.models:
                for env in F.ENVIRONMENTS:
                    state = self.serving.get((model, env))
                    if state is None or state.champion is None:
                        continue
                    rate = F.rate_per_s(model, env, start) if self.rate_per_s is None else \
                        self.rate_per_s * SHARE[model] * (1 if env == "production" else F.STAGING_SHARE)
                    n = int(self._rng.poisson(rate * seconds))
                    if n == 0:
                        continue
                    ts = np.sort(self._rng.integers(start, end, n))
                    df, labels = F.generate_model(self._rng, model, ts, env, [(start - 1, state)], moments)
                    if model == F.LLM and self.otlp_path is not None:
                        spans.extend(df.to_dicts())
                    else:
                        df.write_ndjson(out)
                    written += len(df)
                    if labels is not None and env == "production":
                        self._pending.append(self._delay(model, labels, ts))
            if out.tell():
                with open(self.output_path, "ab") as fh:
                    fh.write(out.getvalue())
            if spans:
                write_otlp(spans, self.otlp_path, append=True, prompt=F.PROMPT)
            self._land_labels(end)
            return written

    def _delay(self, model: str, labels: pl.DataFrame, ts: np.ndarray) -> pl.DataFrame:
        lo, hi = LABEL_DELAY_S[model]
        due = ts + (self._rng.uniform(lo, hi, len(ts)) * 1e6).astype(np.int64)
        return labels.with_columns(_due=pl.Series(due))

    def _land_labels(self, now_us: int) -> None:
        if not self._pending:
            return
        pending = pl.concat(self._pending)
        due = pending.filter(pl.col("_due") <= now_us).sort("_due")
        rest = pending.filter(pl.col("_due") > now_us)
        self._pending = [rest] if len(rest) else []
        if len(due):
            ts = F._timestamps(due["_due"].to_numpy())
            rows = due.select("request_id", "label").with_columns(ts=ts)
            buf = io.BytesIO()
            rows.write_csv(buf, include_header=False)
            header = b"" if self.labels_path.exists() else b"request_id,label,ts\n"
            with open(self.labels_path, "ab") as fh:
                fh.write(header + buf.getvalue())

    # ------------------------------------------------------------------ the thread

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="demo-live-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(1.0):
            tick = time.monotonic()
            try:
                self.write_batch(min(tick - last, 10.0))
            except Exception:  # noqa: BLE001 - a bad tick (workspace gone, disk full) must not end the demo
                pass
            last = tick
